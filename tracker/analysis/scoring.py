"""Score an analysis against simulator truth (benchmarks and accuracy tests).

Matching: a detected rep matches the truth rep it overlaps most (intersection over union
at least ``min_iou``), one to one. Sets match by overlap of their spans. Truth format:
docs/truth-format.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tracker.analysis.result import SessionResult

#: Non-rep activities during which no rep may be counted.
NON_REP_KINDS = frozenset(
    {"walk", "shift", "pick_up", "put_down", "set_up", "release", "get_down", "get_up"}
)


def _iou(a0: float, a1: float, b0: float, b1: float) -> float:
    inter = max(0.0, min(a1, b1) - max(a0, b0))
    union = max(a1, b1) - min(a0, b0)
    return inter / union if union > 0 else 0.0


@dataclass
class Score:
    """Counts and errors; add scores of many recordings with `merge`."""

    sets_true: int = 0
    sets_found: int = 0
    sets_matched: int = 0
    count_exact: int = 0
    count_within1: int = 0
    reps_true: int = 0
    reps_found: int = 0
    reps_matched: int = 0
    boundary_err_pct: list[float] = field(default_factory=list)
    flexion_err_deg: list[float] = field(default_factory=list)
    extension_err_deg: list[float] = field(default_factory=list)
    flags_true: int = 0
    flags_found: int = 0
    flags_hit: int = 0
    exercise_right: int = 0
    exercise_total: int = 0
    reps_in_non_rep_activity: int = 0
    confusion: dict[tuple[str, str], int] = field(default_factory=dict)

    def merge(self, o: Score) -> None:
        for k, v in vars(o).items():
            if isinstance(v, list):
                getattr(self, k).extend(v)
            elif isinstance(v, dict):
                for kk, vv in v.items():
                    self.confusion[kk] = self.confusion.get(kk, 0) + vv
            else:
                setattr(self, k, getattr(self, k) + v)

    def figures(self) -> dict[str, float | None]:
        def ratio(a: int, b: int) -> float | None:
            return a / b if b else None

        def med(x: list[float]) -> float | None:
            return float(np.median(x)) if x else None

        def mae(x: list[float]) -> float | None:
            return float(np.mean(np.abs(x))) if x else None

        return {
            "exact_count": ratio(self.count_exact, self.sets_true),
            "within_1": ratio(self.count_within1, self.sets_true),
            "rep_precision": ratio(self.reps_matched, self.reps_found),
            "rep_recall": ratio(self.reps_matched, self.reps_true),
            "boundary_err_pct_median": med(self.boundary_err_pct),
            "flexion_mae_deg": mae(self.flexion_err_deg),
            "extension_mae_deg": mae(self.extension_err_deg),
            "flag_precision": ratio(self.flags_hit, self.flags_found),
            "flag_recall": ratio(self.flags_hit, self.flags_true),
            "set_precision": ratio(self.sets_matched, self.sets_found),
            "set_recall": ratio(self.sets_matched, self.sets_true),
            "exercise_accuracy": ratio(self.exercise_right, self.exercise_total),
            "reps_in_non_rep_activity": float(self.reps_in_non_rep_activity),
        }


def score(result: SessionResult, truth: dict[str, Any], min_iou: float = 0.3) -> Score:
    sc = Score()
    t_reps = truth["reps"]
    t_sets = truth["sets"]
    reps = result.reps
    sc.sets_true = len(t_sets)
    sc.sets_found = len(result.sets)
    sc.reps_true = len(t_reps)
    sc.reps_found = len(reps)
    # Reps: greedy one-to-one by IoU.
    pairs = sorted(
        (
            (_iou(r.start_s, r.end_s, t["start_s"], t["end_s"]), i, j)
            for i, r in enumerate(reps)
            for j, t in enumerate(t_reps)
            if r.end_s > t["start_s"] and r.start_s < t["end_s"]
        ),
        reverse=True,
    )
    used_d: set[int] = set()
    used_t: set[int] = set()
    matched: list[tuple[int, int]] = []
    for iou, i, j in pairs:
        if iou < min_iou or i in used_d or j in used_t:
            continue
        used_d.add(i)
        used_t.add(j)
        matched.append((i, j))
    sc.reps_matched = len(matched)
    for i, j in matched:
        r, t = reps[i], t_reps[j]
        dur = t["end_s"] - t["start_s"]
        sc.boundary_err_pct.append(100 * abs(r.start_s - t["start_s"]) / dur)
        sc.boundary_err_pct.append(100 * abs(r.end_s - t["end_s"]) / dur)
        if r.lumbar_flexion_deg is not None:
            sc.flexion_err_deg.append(r.lumbar_flexion_deg - t["lumbar_flexion_deg"])
        if r.lumbar_extension_deg is not None:
            sc.extension_err_deg.append(r.lumbar_extension_deg - t["lumbar_extension_deg"])
    if result.dual:
        t_flag = {j for j, t in enumerate(t_reps) if t["flexion_under_load"] or t["overextension"]}
        d_flag = {i for i, r in enumerate(reps) if r.flexion_under_load or r.overextension}
        sc.flags_true = len(t_flag)
        sc.flags_found = len(d_flag)
        for i, j in matched:
            r, t = reps[i], t_reps[j]
            if i in d_flag and j in t_flag:
                sc.flags_hit += 1
    # Sets: per truth set, the detected reps matched to its reps.
    by_set: dict[int, list[int]] = {}
    for i, j in matched:
        by_set.setdefault(t_reps[j]["set"], []).append(i)
    for ts in t_sets:
        n = 0
        found_sets = set()
        for r in reps:
            mid = 0.5 * (r.start_s + r.end_s)
            if ts["start_s"] - 0.5 <= mid <= ts["end_s"] + 0.5:
                n += 1
                found_sets.add(r.set)
        diff = abs(n - ts["reps"])
        sc.count_exact += diff == 0
        sc.count_within1 += diff <= 1
        best = [
            s for s in result.sets if _iou(s.start_s, s.end_s, ts["start_s"], ts["end_s"]) > 0.5
        ]
        if best:
            sc.sets_matched += 1
            sc.exercise_total += 1
            ex = best[0].exercise
            sc.exercise_right += ex == ts["exercise"]
            key = (ts["exercise"], ex)
            sc.confusion[key] = sc.confusion.get(key, 0) + 1
    # Reps counted during walking, pick-ups and other non-rep activity.
    for i, r in enumerate(reps):
        if i in used_d:
            continue
        mid = 0.5 * (r.start_s + r.end_s)
        for e in truth["events"]:
            if e["kind"] in NON_REP_KINDS and e["start_s"] - 0.5 <= mid <= e["end_s"] + 0.5:
                sc.reps_in_non_rep_activity += 1
                break
    return sc
