"""Fit the set-opening model (`tracker/analysis/opening.py`) on labelled movement pairs.

    python bench/fit_opening.py [--seed-base N ...] [--data DIR ...] [--jobs N]
                                [--write] [--l2 LAMBDA]

Runs the analysis over simulated sessions (`bench/accuracy.py`'s suite from each
``--seed-base``; keep clear of 1000, the accuracy draw, and 13000, the fresh check) and
over folders of recordings with truth (``--data``), and records every pair of
consecutive movements that is compared to decide whether a set opens (before a set, and
the movements just before a set once it opens). A pair is labelled "opens a set" when
both movements match reps of one true set (IoU >= 0.5). Fits an L2-regularised logistic
regression on the standardised features (Newton's method, plain numpy), prints per
source: pairs, share labelled positive, accuracy in-sample and when that source is left
out of the fit; with ``--write``, stores the model in
``tracker/analysis/opening_model.json``, naming what it was fitted on.
"""

from __future__ import annotations

import argparse
import json
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import astuple
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import truth_score as ts  # noqa: E402
from accuracy import config, suite  # noqa: E402

from tracker.analysis import segmentation  # noqa: E402
from tracker.analysis.opening import PairFeatures  # noqa: E402
from tracker.analysis.session import analyse_recording, with_noted_exercise  # noqa: E402
from tracker.analysis.settings import AnalysisSettings  # noqa: E402
from tracker.recording.load import load_recording  # noqa: E402
from tracker.sim import simulate_session  # noqa: E402

MODEL_PATH = ROOT / "tracker" / "analysis" / "opening_model.json"
#: Overlap (intersection over union) at which a movement is a true rep, as the scorer's.
MATCH_IOU = 0.5


def _recorded_pairs(recording, settings) -> tuple[list[tuple], object]:
    """Analyse and return (pairs compared, result); a pair is (c1 span, c2 span,
    features, whether the analysis that ran opened a set on it)."""
    pairs: list[tuple] = []
    original = segmentation.RepSegmenter._pair_against

    def recording_pair_against(self, c1, c2, swung):
        span = lambda c: (c.a.leave if c.a.leave is not None else c.a.arrive, c.b.arrive)  # noqa: E731
        why = original(self, c1, c2, swung)
        pairs.append((span(c1), span(c2), self.pair_features(c1, c2), why is None))
        return why

    segmentation.RepSegmenter._pair_against = recording_pair_against
    try:
        result = analyse_recording(recording, settings)
    finally:
        segmentation.RepSegmenter._pair_against = original
    return pairs, result


def _iou(a: tuple[float, float], b: tuple[float, float]) -> float:
    inter = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    union = max(a[1], b[1]) - min(a[0], b[0])
    return inter / union if union > 0 else 0.0


def _labelled(pairs, result, truth: dict) -> list[tuple[tuple, int, bool]]:
    t = result.pipeline.timeline.time_s.view
    reps = [(k, (r["start_s"], r["end_s"])) for k, s in enumerate(truth["sets"]) for r in s["reps"]]

    def set_of(span: tuple[int, int]) -> int | None:
        times = (float(t[span[0]]), float(t[span[1]]))
        best = max(reps, key=lambda kr: _iou(times, kr[1]), default=None)
        if best is None or _iou(times, best[1]) < MATCH_IOU:
            return None
        return best[0]

    out = []
    for s1, s2, f, opened in pairs:
        k1, k2 = set_of(s1), set_of(s2)
        out.append((astuple(f), int(k1 is not None and k1 == k2), opened))
    return out


def _sim_case(case) -> list[tuple[tuple, int, bool]]:
    sim = simulate_session(config(*case))
    truth = ts.from_sim_truth(json.loads(sim.truth.to_json()), case[3])
    pairs, result = _recorded_pairs(sim.recording, AnalysisSettings())
    return _labelled(pairs, result, truth)


def _data_case(truth_path: Path) -> list[tuple[tuple, int, bool]]:
    truth = json.loads(truth_path.read_text())
    rec = load_recording(truth_path.with_name(truth_path.name.removesuffix(".truth.json") + ".csv"))
    pairs, result = _recorded_pairs(rec, with_noted_exercise(rec, AnalysisSettings()))
    return _labelled(pairs, result, truth)


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
    mean, scale, w, b = model
    p = 1.0 / (1.0 + np.exp(-np.clip(((x - mean) / scale) @ w + b, -50, 50)))
    return float(np.mean((p >= 0.5) == (y == 1))) if len(y) else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed-base", type=int, action="append", default=None)
    ap.add_argument("--data", type=Path, action="append", default=[])
    ap.add_argument(
        "--check",
        type=Path,
        action="append",
        default=[],
        help="folder of recordings with truth to score the model on, not fitted on",
    )
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--l2", type=float, default=1.0)
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    seed_bases = args.seed_base or [3000, 5000]
    sources: dict[str, list[tuple[tuple, int, bool]]] = {}
    with ProcessPoolExecutor(args.jobs) as pool:
        for base in seed_bases:
            rows = [r for rs in pool.map(_sim_case, suite(False, base)) for r in rs]
            sources[f"own simulator, suite from seed {base}"] = rows
        checks: dict[str, list[tuple[tuple, int, bool]]] = {}
        for folder in [*args.data, *args.check]:
            truths = sorted(folder.glob("*.truth.json"))
            rows = [r for rs in pool.map(_data_case, truths) for r in rs]
            into = sources if folder in args.data else checks
            into[f"{folder.name} ({len(truths)} recordings)"] = rows
    every = sources | checks
    xs = {k: np.array([r[0] for r in v], dtype=float) for k, v in every.items()}
    ys = {k: np.array([r[1] for r in v], dtype=float) for k, v in every.items()}
    ran = {k: np.array([r[2] for r in v], dtype=bool) for k, v in every.items()}
    x_all = np.concatenate([xs[k] for k in sources])
    y_all = np.concatenate([ys[k] for k in sources])
    model = fit(x_all, y_all, args.l2)
    print(f"{len(y_all)} pairs, {y_all.mean():.1%} open a set")
    for k in sources:
        others = [o for o in sources if o != k]
        held = (
            fit(
                np.concatenate([xs[o] for o in others]),
                np.concatenate([ys[o] for o in others]),
                args.l2,
            )
            if others
            else model
        )
        print(
            f"  {k}: {len(ys[k])} pairs, {ys[k].mean():.1%} positive, accuracy in-sample "
            f"{accuracy(xs[k], ys[k], model):.1%}, "
            f"with it left out {accuracy(xs[k], ys[k], held):.1%}"
            f"; the analysis that ran {np.mean(ran[k] == (ys[k] == 1)):.1%}"
        )
    for k in checks:
        print(
            f"  {k} (not fitted on): {len(ys[k])} pairs, {ys[k].mean():.1%} positive, "
            f"accuracy {accuracy(xs[k], ys[k], model):.1%}; the analysis that ran "
            f"{np.mean(ran[k] == (ys[k] == 1)):.1%}"
        )
    mean, scale, w, b = model
    print("feature                     weight (per standard deviation)")
    for name, wi in zip(PairFeatures.names(), w, strict=True):
        print(f"  {name:26s} {wi:+.2f}")
    print(f"  {'bias':26s} {b:+.2f}")
    if args.write:
        doc = {
            "version": 1,
            "features": list(PairFeatures.names()),
            "mean": [round(float(v), 6) for v in mean],
            "scale": [round(float(v), 6) for v in scale],
            "weights": [round(float(v), 6) for v in w],
            "bias": round(b, 6),
            "fitted_on": "; ".join(f"{k}: {len(ys[k])} pairs" for k in sources)
            + f"; L2 {args.l2:g}",
        }
        MODEL_PATH.write_text(json.dumps(doc, indent=1) + "\n")
        print(f"wrote {MODEL_PATH.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
