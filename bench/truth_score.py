"""Score reported reps against recordings that come with their truth.

The truth is the evaluation format that recordings from outside the project use
(``NAME.csv`` beside ``NAME.truth.json``): ``sensors``, ``tier``, ``sets`` of
``{exercise, start_s, end_s, reps: [{start_s, end_s, peak_lumbar_flexion_deg,
peak_lumbar_extension_deg}]}`` and ``events`` of ``{type, start_s, end_s}``, every time on
the recording's timeline. `from_sim_truth` turns the truth of our own simulator
(docs/truth-format.md) into it, so every source is judged by one set of definitions:

- **reps**: true and reported reps are paired one to one by a Hungarian assignment on
  temporal IoU; pairs under `MIN_IOU` are dropped. Precision, recall, F1; mean start and
  end error (s);
- **sets**: reported sets are reps sharing a ``set`` number, paired with the true sets on
  span IoU >= `MIN_IOU`; a true set's count is exact / within one when its paired set has
  that many reps (an unpaired set counts 0); a recording's set count is exact when it has
  as many sets as the truth;
- **angles and flags** (dual-sensor recordings): MAE of the reported peak flexion and
  extension over paired reps; rep-level flag precision/recall/F1 with the truth flags
  recomputed from the true peaks and the limits used (a flagged true rep not found is a
  miss, a flagged extra rep a false alarm);
- **exercise**: paired reps whose label is the truth's;
- **false reps by context**: unpaired reported reps, by the non-rep event they overlap
  for more than half their length, else ``within_set`` or ``other``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

#: Reps (and sets) overlapping less than this (intersection over union) are not a pair:
#: a reported rep that covers under a third of the true one's span and its surroundings
#: is a different movement.
MIN_IOU = 0.3


@dataclass(frozen=True)
class Reported:
    """One reported rep, as the per-rep CSV gives it."""

    set: int
    exercise: str
    start_s: float
    end_s: float
    flexion_deg: float | None = None
    extension_deg: float | None = None
    flag_flexion: bool | None = None
    flag_extension: bool | None = None


def from_rep_metrics(reps: Iterable) -> list[Reported]:
    """`Reported` rows from the analysis's `RepMetrics`."""
    return [
        Reported(
            r.set,
            r.exercise,
            r.start_s,
            r.end_s,
            r.lumbar_flexion_deg,
            r.lumbar_extension_deg,
            r.flexion_under_load,
            r.overextension,
        )
        for r in reps
    ]


def from_sim_truth(truth: dict, tier: str) -> dict:
    """Our simulator's truth (docs/truth-format.md) in the evaluation format."""
    sets = []
    for s in truth["sets"]:
        reps = [r for r in truth["reps"] if r["set"] == s["set"]]
        sets.append(
            {
                "exercise": s["exercise"],
                "start_s": s["start_s"],
                "end_s": s["end_s"],
                "reps": [
                    {
                        "start_s": r["start_s"],
                        "end_s": r["end_s"],
                        "peak_lumbar_flexion_deg": r["lumbar_flexion_deg"],
                        "peak_lumbar_extension_deg": r["lumbar_extension_deg"],
                    }
                    for r in reps
                ],
            }
        )
    events = [
        {"type": e["kind"], "start_s": e["start_s"], "end_s": e["end_s"]}
        for e in truth["events"]
        if e["kind"] != "stand"
    ]
    return {"sensors": sorted(truth["setup"]), "tier": tier, "sets": sets, "events": events}


def setup_name(truth: dict) -> str:
    sensors = set(truth["sensors"])
    if sensors == {"lumbar", "sacrum"}:
        return "dual"
    return f"{next(iter(sensors))}_only"


def _iou(a: tuple[float, float], b: tuple[float, float]) -> float:
    inter = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    union = max(a[1], b[1]) - min(a[0], b[0])
    return inter / union if union > 0 else 0.0


def pair(
    true_iv: Sequence[tuple[float, float]], got_iv: Sequence[tuple[float, float]]
) -> list[tuple[int, int]]:
    """One-to-one pairs (true index, reported index) maximising the summed IoU."""
    if not true_iv or not got_iv:
        return []
    m = np.array([[_iou(a, b) for b in got_iv] for a in true_iv])
    rows, cols = linear_sum_assignment(-m)
    return [(int(i), int(j)) for i, j in zip(rows, cols, strict=True) if m[i, j] >= MIN_IOU]


@dataclass
class Tally:
    """Counts over one or more recordings; `figures` turns them into the table's columns."""

    recordings: int = 0
    failed: int = 0
    dual: int = 0
    reps_true: int = 0
    reps_got: int = 0
    reps_paired: int = 0
    labels_ok: int = 0
    sets_true: int = 0
    sets_got: int = 0
    set_count_exact: int = 0
    count_exact: int = 0
    count_within_1: int = 0
    start_err_s: list[float] = field(default_factory=list)
    end_err_s: list[float] = field(default_factory=list)
    flexion_err_deg: list[float] = field(default_factory=list)
    extension_err_deg: list[float] = field(default_factory=list)
    flags: dict[str, list[int]] = field(
        default_factory=lambda: {"flexion": [0, 0, 0], "extension": [0, 0, 0]}
    )
    false_reps: dict[str, int] = field(default_factory=dict)
    #: "true -> recognised" exercise of paired reps: count.
    confusion: dict[str, int] = field(default_factory=dict)

    def merge(self, o: Tally) -> None:
        for k, v in vars(o).items():
            mine = getattr(self, k)
            if isinstance(v, list):
                mine.extend(v)
            elif k == "flags":
                for name, counts in v.items():
                    mine[name] = [a + b for a, b in zip(mine[name], counts, strict=True)]
            elif isinstance(v, dict):
                for name, n in v.items():
                    mine[name] = mine.get(name, 0) + n
            else:
                setattr(self, k, mine + v)

    def figures(self) -> dict[str, float | None]:
        def pct(a: int, b: int) -> float | None:
            return None if b == 0 else 100.0 * a / b

        def mean(x: list[float]) -> float | None:
            return float(np.mean(x)) if x else None

        out: dict[str, float | None] = {
            "exact_pct": pct(self.count_exact, self.sets_true),
            "within_1_pct": pct(self.count_within_1, self.sets_true),
            "set_count_exact_pct": pct(self.set_count_exact, self.recordings),
            "exercise_pct": pct(self.labels_ok, self.reps_paired),
            "start_err_s": mean(self.start_err_s),
            "end_err_s": mean(self.end_err_s),
            "flexion_mae_deg": mean(self.flexion_err_deg),
            "extension_mae_deg": mean(self.extension_err_deg),
        }
        out.update(prf("rep", self.reps_paired, self.reps_got, self.reps_true))
        for name, (tp, fp, fn) in self.flags.items():
            out.update(prf(f"{name}_flag", tp, tp + fp, tp + fn) if self.dual else {})
        return out


def prf(prefix: str, paired: int, got: int, true: int) -> dict[str, float | None]:
    """Precision, recall and F1 (%) of ``paired`` hits among ``got`` reported and
    ``true`` real ones; all None when there was nothing to find and nothing reported."""
    if got == 0 and true == 0:
        return {f"{prefix}_p": None, f"{prefix}_r": None, f"{prefix}_f1": None}
    p = paired / got if got else 0.0
    r = paired / true if true else 1.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return {f"{prefix}_p": 100 * p, f"{prefix}_r": 100 * r, f"{prefix}_f1": 100 * f1}


def evaluate(
    truth: dict,
    got: Sequence[Reported] | None,
    flexion_limit_deg: float,
    extension_limit_deg: float,
) -> Tally:
    """The counts of one recording; ``got`` None when the analysis failed on it (every
    true rep then counts as missed)."""
    t = Tally(recordings=1, failed=int(got is None), dual=int(setup_name(truth) == "dual"))
    got = list(got or [])
    true = [(si, r) for si, s in enumerate(truth["sets"]) for r in s["reps"]]
    pairs = pair([(r["start_s"], r["end_s"]) for _, r in true], [(g.start_s, g.end_s) for g in got])
    of_true = dict(pairs)
    paired_got = {j for _, j in pairs}
    t.reps_true, t.reps_got, t.reps_paired = len(true), len(got), len(pairs)
    for i, j in pairs:
        (si, r), g = true[i], got[j]
        t.start_err_s.append(abs(g.start_s - r["start_s"]))
        t.end_err_s.append(abs(g.end_s - r["end_s"]))
        t.labels_ok += int(g.exercise == truth["sets"][si]["exercise"])
        key = f"{truth['sets'][si]['exercise']} -> {g.exercise}"
        t.confusion[key] = t.confusion.get(key, 0) + 1
    # Sets.
    groups: dict[int, list[Reported]] = {}
    for g in got:
        groups.setdefault(g.set, []).append(g)
    got_sets = [
        (min(g.start_s for g in v), max(g.end_s for g in v), len(v)) for v in groups.values()
    ]
    true_sets = [(s["start_s"], s["end_s"], len(s["reps"])) for s in truth["sets"]]
    set_pairs = dict(pair([s[:2] for s in true_sets], [s[:2] for s in got_sets]))
    t.sets_true, t.sets_got = len(true_sets), len(got_sets)
    t.set_count_exact = int(len(true_sets) == len(got_sets))
    for i, s in enumerate(true_sets):
        n = got_sets[set_pairs[i]][2] if i in set_pairs else 0
        t.count_exact += int(n == s[2])
        t.count_within_1 += int(abs(n - s[2]) <= 1)
    # Reps where there was none.
    for j, g in enumerate(got):
        if j in paired_got:
            continue
        context = None
        for ev in truth.get("events", []):
            overlap = max(0.0, min(g.end_s, ev["end_s"]) - max(g.start_s, ev["start_s"]))
            if overlap > 0.5 * (g.end_s - g.start_s) and ev["type"] != "stand":
                context = ev["type"]
        if context is None:
            inside = any(s["start_s"] <= g.start_s <= s["end_s"] for s in truth["sets"])
            context = "within_set" if inside else "other"
        t.false_reps[context] = t.false_reps.get(context, 0) + 1
    if not t.dual:
        return t
    for i, j in pairs:
        r, g = true[i][1], got[j]
        if g.flexion_deg is not None:
            t.flexion_err_deg.append(abs(g.flexion_deg - r["peak_lumbar_flexion_deg"]))
        if g.extension_deg is not None:
            t.extension_err_deg.append(abs(g.extension_deg - r["peak_lumbar_extension_deg"]))
    for name, key, limit, attr in (
        ("flexion", "peak_lumbar_flexion_deg", flexion_limit_deg, "flag_flexion"),
        ("extension", "peak_lumbar_extension_deg", extension_limit_deg, "flag_extension"),
    ):
        counts = t.flags[name]  # true positives, false positives, false negatives
        for i, (_, r) in enumerate(true):
            flagged = bool(getattr(got[of_true[i]], attr)) if i in of_true else False
            real = r[key] > limit
            counts[0] += int(real and flagged)
            counts[1] += int(flagged and not real)
            counts[2] += int(real and not flagged)
        counts[1] += sum(1 for j, g in enumerate(got) if j not in paired_got and getattr(g, attr))
    return t


COLUMNS = (
    ("recs", "recordings", "d"),
    ("fail", "failed", "d"),
    ("sets", "sets_true", "d"),
    ("cnt=%", "exact_pct", ".1f"),
    ("cnt±1%", "within_1_pct", ".1f"),
    ("setcnt%", "set_count_exact_pct", ".1f"),
    ("repP", "rep_p", ".1f"),
    ("repR", "rep_r", ".1f"),
    ("repF1", "rep_f1", ".1f"),
    ("st_err", "start_err_s", ".2f"),
    ("en_err", "end_err_s", ".2f"),
    ("flxMAE", "flexion_mae_deg", ".2f"),
    ("extMAE", "extension_mae_deg", ".2f"),
    ("flxF1", "flexion_flag_f1", ".1f"),
    ("extF1", "extension_flag_f1", ".1f"),
    ("exAcc", "exercise_pct", ".1f"),
)


def table(groups: dict[str, Tally]) -> str:
    """One row per group, the columns of `COLUMNS`."""
    width = max(18, *(len(k) + 1 for k in groups))
    lines = ["group".ljust(width) + " ".join(h.rjust(7) for h, _, _ in COLUMNS)]
    for name, tally in groups.items():
        f = tally.figures() | {k: getattr(tally, k) for k in ("recordings", "failed", "sets_true")}
        cells = []
        for _, key, spec in COLUMNS:
            v = f.get(key)
            cells.append(("-" if v is None else format(v, spec)).rjust(7))
        lines.append(name.ljust(width) + " ".join(cells))
    return "\n".join(lines)
