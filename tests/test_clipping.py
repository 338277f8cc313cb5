"""Samples at a sensor's range limit: detected, taken out, reported."""

import dataclasses
import json

import numpy as np
import pytest

import tracker.signal.clipping as clipping
from tracker.analysis.settings import AnalysisSettings
from tracker.app.offline import analyse_recording
from tracker.samples import SensorSamples
from tracker.sim import SessionConfig, SetSpec, simulate_session
from tracker.units import RAD_PER_DEG


def _clip_gyro(s: SensorSamples, limit_rad_s: float) -> SensorSamples:
    g = np.clip(s.gyro_rad_s, -limit_rad_s, limit_rad_s)
    return SensorSamples(s.placement, s.time_s, s.acc_mps2, g)


def _flexion_mae(result, truth) -> float:
    errs = []
    for r in result.reps:
        t = min(truth["reps"], key=lambda t: abs(t["start_s"] - r.start_s))
        errs.append(abs(r.lumbar_flexion_deg - t["lumbar_flexion_deg"]))
    return float(np.mean(errs))


@pytest.mark.parametrize("seed", [1, 2])
def test_swings_past_the_gyro_range_are_counted_measured_and_reported(seed, monkeypatch):
    sim = simulate_session(
        SessionConfig(
            seed=seed, sets=(SetSpec("kettlebell_swing", 10),), rate_hz=104.0, tier="easy"
        )
    )
    truth = json.loads(sim.truth.to_json())
    plain = analyse_recording(sim.recording, AnalysisSettings())
    assert not [n for n in plain.notices if "range limit" in n]
    # A gyro set to +-150 deg/s: the fastest fifth of a swing is flat-topped.
    limit = 150.0 * RAD_PER_DEG
    sensors = {p: _clip_gyro(s, limit) for p, s in sim.recording.sensors.items()}
    rec = dataclasses.replace(sim.recording, sensors=sensors)
    result = analyse_recording(rec, AnalysisSettings())
    assert len(result.reps) == 10
    assert any("gyroscope at its range limit (±150 deg/s)" in n for n in result.notices)
    filtered = _flexion_mae(result, truth)
    # The filter's recovery after clipped holes does not depend on how data arrives.
    streamed = analyse_recording(rec, AnalysisSettings(), block_s=0.37)
    assert streamed.reps == result.reps
    monkeypatch.setattr(clipping.ClipFilter, "drop_clipped", lambda self, block: block)
    unfiltered = _flexion_mae(analyse_recording(rec, AnalysisSettings()), truth)
    assert filtered < 2.5
    assert filtered < 0.6 * unfiltered


def test_clip_detection_does_not_depend_on_block_boundaries():
    rng = np.random.default_rng(5)
    n = 400
    gyro = np.clip(rng.normal(0.0, 1.5, (n, 3)), -4.0, 4.0)  # a +-4 rad/s range
    gyro[100:130, 1] = 4.0  # flat at the limit
    gyro[300:303, 2] = -4.0  # three samples only: kept
    acc = rng.normal(0.0, 1.0, (n, 3))
    s = SensorSamples("lumbar", np.arange(n) * 0.01, acc, gyro)
    whole = clipping.ClipFilter().drop_clipped(s)
    f = clipping.ClipFilter()
    cuts = np.sort(rng.choice(np.arange(1, n), 40, replace=False))
    parts = [f.drop_clipped(s.slice(a, b)) for a, b in zip([0, *cuts], [*cuts, n], strict=True)]
    joined = SensorSamples.concat(parts)
    assert np.array_equal(joined.time_s, whole.time_s)
    assert len(whole) == n - 27  # the first three samples of a flat stretch are kept
    assert f.clipped_samples == 27 and f.clipped_gyro and not f.clipped_acc
