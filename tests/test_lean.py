"""The lean reps are found on with two sensors: the pelvis's tilt plus lumbar rounding."""

from __future__ import annotations

import numpy as np

from tracker.analysis.segmentation import Cycle, RepSegmenter
from tracker.analysis.settings import SegmentationSettings
from tracker.analysis.turning import TurningPointTracker
from tracker.signal.timeline import held, lean_deg

PERIOD_S = 0.02


def _ramp(a_deg: float, b_deg: float, duration_s: float) -> np.ndarray:
    """From ``a_deg`` to ``b_deg`` along a half cosine (still at both ends)."""
    n = round(duration_s / PERIOD_S)
    return a_deg + (b_deg - a_deg) * (1 - np.cos(np.linspace(0.0, np.pi, n, endpoint=False))) / 2


def _hold(value_deg: float, duration_s: float) -> np.ndarray:
    return np.full(round(duration_s / PERIOD_S), value_deg)


def test_the_lean_adds_rounding_but_not_extension():
    hinge = np.array([10.0, 10.0, 0.0, -15.0, 5.0])
    lam = np.array([30.0, -8.0, np.nan, 27.0, 0.0])
    hinge_rate = np.full(5, 1.0)
    lumbar_rate = np.full(5, 2.0)
    lean, rate = lean_deg(hinge, hinge_rate, lam, lumbar_rate)
    # Rounded: 10 + 30; over-extended: the pelvis alone; not measured: the pelvis alone;
    # seated (pelvis back, lumbar slumped): -15 + 27.
    assert lean.tolist() == [40.0, 10.0, 0.0, 12.0, 5.0]
    # Where rounding is added, the lean turns with the lumbar sensor.
    assert rate.tolist() == [2.0, 1.0, 1.0, 2.0, 1.0]


def _feed(lean: np.ndarray, hinge: np.ndarray) -> tuple[list[Cycle], RepSegmenter]:
    s = SegmentationSettings()
    seg = RepSegmenter(s, PERIOD_S, lean_has_lumbar=True)
    rate = np.gradient(lean, PERIOD_S)
    vert = np.zeros(len(lean))
    tracker = TurningPointTracker(
        s.hysteresis_deg, round(s.settle_s / PERIOD_S), s.still_rate_deg_s
    )
    reps: list[Cycle] = []
    for i in range(len(lean)):
        if (tp := tracker.update(i, float(lean[i]), float(rate[i]))) is not None:
            reps += seg.add_turn(tp, rate, lean, vert, now=i, hinge=hinge)[0]
    if (tp := seg.end_turn(lean, len(lean))) is not None:
        reps += seg.add_turn(tp, rate, lean, vert, now=len(lean) - 1, hinge=hinge)[0]
    seg.note_unjudged()
    return reps, seg


def test_reps_rounded_over_a_pelvis_that_barely_tilts_are_counted():
    # Five RDLs done by rounding the back: the pelvis tilts 8 deg (under a rep's size),
    # the lumbar spine flexes 35 deg. On the lean each is a 43 deg rep.
    pelvis, lumbar = [_hold(0.0, 2.0)], [_hold(0.0, 2.0)]
    for _ in range(5):
        pelvis += [_ramp(0.0, 8.0, 1.2), _hold(8.0, 0.3), _ramp(8.0, 0.0, 1.2), _hold(0.0, 1.0)]
        lumbar += [_ramp(0.0, 35.0, 1.2), _hold(35.0, 0.3), _ramp(35.0, 0.0, 1.2), _hold(0.0, 1.0)]
    pelvis.append(_hold(0.0, 3.0))
    lumbar.append(_hold(0.0, 3.0))
    hinge, lam = np.concatenate(pelvis), np.concatenate(lumbar)
    rate = np.gradient(hinge, PERIOD_S)
    lean, _ = lean_deg(hinge, rate, lam, np.gradient(hinge + lam, PERIOD_S))
    reps, _ = _feed(lean, hinge)
    assert len(reps) == 5
    assert all(round(c.p.value) == 43 for c in reps)
    on_pelvis, _ = _feed(hinge, hinge)
    assert on_pelvis == []  # the pelvis alone never moves a rep's size


def test_sitting_down_is_no_rep_though_the_lean_ends_near_standing():
    # Stand, lean 35 deg forward to sit down, sit (pelvis tilted back 15 deg, lumbar
    # spine slumped 22 deg: the lean reads 7 deg, near standing); twice, standing up
    # in between. The pelvis ends 15 deg from where it started: no rep.
    pelvis = [_hold(0.0, 3.0)]
    lumbar = [_hold(0.0, 3.0)]
    for _ in range(2):
        pelvis += [_ramp(0.0, 30.0, 0.8), _ramp(30.0, -15.0, 0.8), _hold(-15.0, 5.0)]
        lumbar += [_ramp(0.0, 5.0, 0.8), _ramp(5.0, 22.0, 0.8), _hold(22.0, 5.0)]
        pelvis += [_ramp(-15.0, 30.0, 0.8), _ramp(30.0, 0.0, 0.8), _hold(0.0, 3.0)]
        lumbar += [_ramp(22.0, 5.0, 0.8), _ramp(5.0, 0.0, 0.8), _hold(0.0, 3.0)]
    hinge, lam = np.concatenate(pelvis), np.concatenate(lumbar)
    rate = np.gradient(hinge, PERIOD_S)
    lean, _ = lean_deg(hinge, rate, lam, np.gradient(hinge + lam, PERIOD_S))
    reps, seg = _feed(lean, hinge)
    assert reps == []
    reasons = [v.reason for v in seg.take_verdicts()]
    assert any(r.startswith("the pelvis ended 15 deg from where it started") for r in reasons)


def test_lost_lumbar_data_keep_the_rounding_the_lean_last_had():
    values = np.array([1.0, 2.0, 14.0, -3.0, 5.0])
    lost = np.array([False, False, True, True, False])
    assert held(values, lost, 0.0).tolist() == [1.0, 2.0, 2.0, 2.0, 5.0]
    # Lost from the first sample: the value carried from before.
    assert held(values, ~lost, 7.0).tolist() == [7.0, 7.0, 14.0, -3.0, -3.0]


def test_streaming_equals_batch_across_lost_lumbar_data():
    # A hard-tier pair (packets lost in bursts): the lean's held rounding carries
    # across blocks, so blocks of any size give the batch's reps.
    from recording_testdata import random_blocks

    from tracker.analysis.pipeline import Pipeline
    from tracker.analysis.settings import AnalysisSettings
    from tracker.app.offline import analyse_recording
    from tracker.sim import SessionConfig, SetSpec, simulate_session

    sets = (SetSpec("deadlift", 6, {"flexion": None}), SetSpec("deadlift", 5))
    rec = simulate_session(
        SessionConfig(seed=8009, sets=sets, rate_hz=119.0, setup="dual", tier="hard")
    ).recording
    batch = Pipeline(rec.placements, AnalysisSettings())
    for p in rec.placements:
        batch.feed(rec.sensors[p])
    batch.finish()
    lost = batch.timeline.unreliable.view
    assert lost.any() and not lost.all()  # there are holes to carry the lean across

    def key(reps):
        return [(r.start_s, r.end_s, r.hinge_depth_deg, r.lumbar_flexion_deg) for r in reps]

    assert len(batch.all_reps) >= 10
    live = analyse_recording(rec, AnalysisSettings(), block_s=0.05)
    assert key(live.reps) == key(batch.all_reps)
    pipe = Pipeline(rec.placements, AnalysisSettings())
    for b in random_blocks(rec, 8009):
        pipe.feed(b)
    pipe.finish()
    assert key(pipe.all_reps) == key(batch.all_reps)
