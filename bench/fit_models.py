"""Fit the models of the set rules (`tracker/analysis/models.py`) on labelled movements.

    python bench/fit_models.py [--seed-base N ...] [--data DIR ...] [--check DIR ...]
                               [--jobs N] [--write] [--l2 LAMBDA]

Runs the analysis over simulated sessions (`bench/accuracy.py`'s suite from each
``--seed-base``; keep clear of 1000, the accuracy draw, and 13000, the fresh check) and
over folders of recordings with truth (``--data`` to fit on, ``--check`` to score on
only), and records what the set rules compare: for ``opening``, every pair of
consecutive movements compared to decide whether a set opens, labelled yes when both
match reps of one true set.

A match is an overlap (intersection over union) of at least 0.5, as the scorer's. Fits
an L2-regularised logistic regression per model on the standardised features (Newton's
method, plain numpy) and prints per source: cases, share labelled yes, accuracy
in-sample, with that source left out of the fit, and of the analysis that ran. With
``--write`` stores each model beside `tracker/analysis/models.py`, naming what it was
fitted on, and rewrites its table in docs/analysis.md (between ``<!-- NAME-model -->``
markers).
"""

from __future__ import annotations

import argparse
import json
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import astuple, fields
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import truth_score as ts  # noqa: E402
from accuracy import config, suite  # noqa: E402

from tracker.analysis import segmentation  # noqa: E402
from tracker.analysis.models import MODEL_FILES  # noqa: E402
from tracker.analysis.settings import AnalysisSettings  # noqa: E402
from tracker.app.offline import analyse_recording, with_noted_exercise  # noqa: E402
from tracker.recording.load import load_recording  # noqa: E402
from tracker.sim import simulate_session  # noqa: E402

#: Overlap (intersection over union) at which a movement is a true rep, as the scorer's.
MATCH_IOU = 0.5

Case = tuple[tuple[float, ...], int, bool]  # features, label, what the analysis decided


def _span(c) -> tuple[int, int]:
    return (c.a.leave if c.a.leave is not None else c.a.arrive, c.b.arrive)


def _recorded(recording, settings) -> tuple[dict[str, list], object]:
    """Analyse; return what the set rules compared, per model, and the result. An
    opening case is (span 1, span 2, features, opened)."""
    seen: dict[str, list] = {"opening": []}
    seg = segmentation.RepSegmenter
    pair_against = seg._pair_against

    def recording_pair_against(self, c1, c2):
        why = pair_against(self, c1, c2)
        seen["opening"].append((_span(c1), _span(c2), self.pair_features(c1, c2), why is None))
        return why

    seg._pair_against = recording_pair_against
    try:
        result = analyse_recording(recording, settings)
    finally:
        seg._pair_against = pair_against
    return seen, result


def _iou(a: tuple[float, float], b: tuple[float, float]) -> float:
    inter = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    union = max(a[1], b[1]) - min(a[0], b[0])
    return inter / union if union > 0 else 0.0


def _labelled(seen: dict[str, list], result, truth: dict) -> dict[str, list[Case]]:
    t = result.traces.time_s
    reps = [(k, (r["start_s"], r["end_s"])) for k, s in enumerate(truth["sets"]) for r in s["reps"]]

    def set_of(span: tuple[int, int]) -> int | None:
        times = (float(t[span[0]]), float(t[span[1]]))
        best = max(reps, key=lambda kr: _iou(times, kr[1]), default=None)
        if best is None or _iou(times, best[1]) < MATCH_IOU:
            return None
        return best[0]

    opening = []
    for s1, s2, f, opened in seen["opening"]:
        k1, k2 = set_of(s1), set_of(s2)
        opening.append((astuple(f), int(k1 is not None and k1 == k2), opened))
    return {"opening": opening}


def _sim_case(case) -> dict[str, list[Case]]:
    sim = simulate_session(config(*case))
    truth = ts.from_sim_truth(json.loads(sim.truth.to_json()), case[3])
    seen, result = _recorded(sim.recording, AnalysisSettings())
    return _labelled(seen, result, truth)


def _data_case(truth_path: Path) -> dict[str, list[Case]]:
    truth = json.loads(truth_path.read_text())
    rec = load_recording(truth_path.with_name(truth_path.name.removesuffix(".truth.json") + ".csv"))
    seen, result = _recorded(rec, with_noted_exercise(rec, AnalysisSettings()))
    return _labelled(seen, result, truth)


def fit(
    x: np.ndarray, y: np.ndarray, l2: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """(mean, scale, weights, bias) of an L2-regularised logistic regression."""
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale == 0] = 1.0
    z = np.column_stack([np.ones(len(x)), (x - mean) / scale])
    beta = np.zeros(z.shape[1])
    penalty = np.full(z.shape[1], l2)
    penalty[0] = 0.0  # the bias is not shrunk
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-np.clip(z @ beta, -50, 50)))
        grad = z.T @ (p - y) + penalty * beta
        hess = (z * (p * (1 - p))[:, None]).T @ z + np.diag(penalty)
        step = np.linalg.solve(hess, grad)
        beta -= step
        if np.max(np.abs(step)) < 1e-9:
            break
    return mean, scale, beta[1:], float(beta[0])


def accuracy(x, y, model) -> float:
    if not len(y):
        return float("nan")
    mean, scale, w, b = model
    p = 1.0 / (1.0 + np.exp(-np.clip(((x - mean) / scale) @ w + b, -50, 50)))
    return float(np.mean((p >= 0.5) == (y == 1)))


def report_and_fit(name: str, sources: dict, checks: dict, l2: float) -> tuple:
    every = sources | checks
    xs = {k: np.array([c[0] for c in v[name]], dtype=float) for k, v in every.items()}
    ys = {k: np.array([c[1] for c in v[name]], dtype=float) for k, v in every.items()}
    ran = {k: np.array([c[2] for c in v[name]], dtype=bool) for k, v in every.items()}
    x_all = np.concatenate([xs[k] for k in sources])
    y_all = np.concatenate([ys[k] for k in sources])
    model = fit(x_all, y_all, l2)
    print(f"{name}: {len(y_all)} cases, {y_all.mean():.1%} yes")
    for k in every:
        others = [o for o in sources if o != k]
        line = f"  {k}: {len(ys[k])} cases, {ys[k].mean():.1%} yes, accuracy "
        if k in sources:
            held = model
            if others:
                x_o = np.concatenate([xs[o] for o in others])
                held = fit(x_o, np.concatenate([ys[o] for o in others]), l2)
            line += f"in-sample {accuracy(xs[k], ys[k], model):.1%}, "
            line += f"with it left out {accuracy(xs[k], ys[k], held):.1%}"
        else:
            line += f"{accuracy(xs[k], ys[k], model):.1%} (not fitted on)"
        line += f"; the analysis that ran {np.mean(ran[k] == (ys[k] == 1)):.1%}"
        print(line)
    _mean, _scale, w, b = model
    names = [f.name for f in fields(MODEL_FILES[name][1])]
    print("  feature                     weight (per standard deviation)")
    for n, wi in zip(names, w, strict=True):
        print(f"    {n:26s} {wi:+.2f}")
    print(f"    {'bias':26s} {b:+.2f}")
    fitted_on = "; ".join(f"{k}: {len(ys[k])} cases" for k in sources) + f"; L2 {l2:g}"
    return names, model, fitted_on


#: Why each feature tells, for the tables in docs/analysis.md (one line each).
WHY = {
    "opening": {
        "amplitude_log_ratio": "one moving much further than the other",
        "turn_gap_share": "turning at another angle, for their size (the floor)",
        "duration_log_ratio": "one taking much longer (a stretch, a sit-down)",
        "turn_hold_gap_s": "the first holding its turn longer: gripping a weight",
        "turn_hold_log_ratio": "the same, as a ratio",
        "rest_after_share": "a long stillness after the first: setting up",
        "rest_after_gap_s": "the same against the second's (overlaps the share)",
        "down_log_ratio": "the first lowering slower or faster: a first rep from a dead stop",
        "knee_drop_gap_m": "the first dropping the hips further: reaching for the floor",
        "amplitude_deg": "how deep the first one goes",
    },
}
DOCS = ROOT / "docs" / "analysis.md"


def docs_table(name: str, doc: dict) -> str:
    """The table of model ``name`` for docs/analysis.md, from its file's contents."""
    lines = ["| feature | weight | mean | scale | why |", "|---|---|---|---|---|"]
    for n, w, m, sc in zip(doc["features"], doc["weights"], doc["mean"], doc["scale"], strict=True):
        lines.append(f"| `{n}` | {w:+.2f} | {m:.3g} | {sc:.3g} | {WHY[name][n]} |")
    lines.append(f"| bias | {doc['bias']:+.2f} | | | |")
    return "\n".join(lines)


def update_docs(name: str, doc: dict) -> None:
    """Replace the table between the ``<!-- NAME-model -->`` markers in the docs."""
    text = DOCS.read_text()
    start, end = f"<!-- {name}-model -->", f"<!-- /{name}-model -->"
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    indent = head[head.rfind("\n") + 1 :]
    table = "\n".join(indent + line for line in docs_table(name, doc).splitlines())
    DOCS.write_text(f"{head}{start}\n{table}\n{indent}{end}{tail}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed-base", type=int, action="append", default=None)
    ap.add_argument("--data", type=Path, action="append", default=[])
    ap.add_argument(
        "--check",
        type=Path,
        action="append",
        default=[],
        help="folder of recordings with truth to score the models on, not fitted on",
    )
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--l2", type=float, default=1.0)
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    sources: dict[str, dict[str, list[Case]]] = {}
    checks: dict[str, dict[str, list[Case]]] = {}

    def merged(parts) -> dict[str, list[Case]]:
        out: dict[str, list[Case]] = {name: [] for name in MODEL_FILES}
        for part in parts:
            for k, v in part.items():
                out[k].extend(v)
        return out

    with ProcessPoolExecutor(args.jobs) as pool:
        for base in args.seed_base or [3000, 5000, 7000]:
            parts = pool.map(_sim_case, suite(False, base))
            sources[f"own simulator, suite from seed {base}"] = merged(parts)
        for folder in [*args.data, *args.check]:
            truths = sorted(folder.glob("*.truth.json"))
            into = sources if folder in args.data else checks
            into[f"{folder.name} ({len(truths)} recordings)"] = merged(pool.map(_data_case, truths))
    for name, (file, _) in MODEL_FILES.items():
        names, (mean, scale, w, b), fitted_on = report_and_fit(name, sources, checks, args.l2)
        if args.write:
            doc = {
                "version": 1,
                "features": names,
                "mean": [round(float(v), 6) for v in mean],
                "scale": [round(float(v), 6) for v in scale],
                "weights": [round(float(v), 6) for v in w],
                "bias": round(b, 6),
                "fitted_on": fitted_on,
            }
            path = ROOT / "tracker" / "analysis" / file
            path.write_text(json.dumps(doc, indent=1) + "\n")
            update_docs(name, doc)
            print(f"  wrote {path.relative_to(ROOT)} and its table in docs/analysis.md")


if __name__ == "__main__":
    main()
