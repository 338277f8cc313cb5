"""The gait detector on signals built by hand, and gait kept out of sets end to end."""

from __future__ import annotations

import numpy as np
import pytest
from recording_testdata import random_blocks

from tracker.analysis.gait import (
    LOOKBACK_S,
    MAX_GAIT_EXCURSION_DEG,
    MAX_PLANTED_ACC_SD_MPS2,
    MIN_GAIT_ACC_PER_DEG,
    GaitDetector,
    feet_off_floor,
)
from tracker.analysis.pipeline import Pipeline
from tracker.analysis.settings import AnalysisSettings
from tracker.app.offline import analyse_recording
from tracker.sim import SessionConfig, SetSpec, simulate_session
from tracker.sim.daily import Bout

RATE_HZ = 100.0
PERIOD_S = 1.0 / RATE_HZ


def _walking(seconds: float, step_hz: float, sd_mps2: float, seed: int = 0) -> np.ndarray:
    """Vertical acceleration of walking: a bounce per step with a heel strike at each
    contact, a little left-right difference and sensor noise, scaled to ``sd_mps2``."""
    rng = np.random.default_rng(seed)
    t = np.arange(round(seconds * RATE_HZ)) * PERIOD_S
    u = step_hz * t
    d = (u + 0.5) % 1.0 - 0.5
    x = np.cos(2 * np.pi * (u - 0.1)) + 1.5 * np.exp(-0.5 * (d / (0.03 * step_hz)) ** 2)
    x *= 1.0 + 0.1 * np.cos(np.pi * u)
    x = x - x.mean()
    x = x / x.std() * sd_mps2
    return x + rng.normal(0.0, 0.05 * sd_mps2, len(x))


def _swings(reps: int, rep_s: float, sd_mps2: float) -> np.ndarray:
    """Vertical acceleration of a swing set: the hips rise and fall twice a rep, gently,
    in step with the hinge (a smooth second harmonic of the rep and a fundamental)."""
    t = np.arange(round(reps * rep_s * RATE_HZ)) * PERIOD_S
    w = 2 * np.pi / rep_s
    x = np.cos(2 * w * t) + 0.4 * np.sin(w * t)
    return x / x.std() * sd_mps2


def test_a_walk_is_gait_at_every_cadence():
    for step_hz in (1.4, 1.8, 2.2, 2.8, 3.2):
        det = GaitDetector(PERIOD_S)
        v = _walking(6.0, step_hz, 2.5)
        # A stride-long candidate: two steps, after the look-back.
        stride = round(2.0 / step_hz * RATE_HZ)
        start = round(3.0 * RATE_HZ)
        assert det.in_gait(v, start, start + stride, 15.0), step_hz


def test_a_swing_set_is_not_gait():
    for rep_s in (0.9, 1.2, 1.6):
        det = GaitDetector(PERIOD_S)
        v = _swings(8, rep_s, 1.8)
        n = round(rep_s * RATE_HZ)
        for k in range(1, 7):
            assert not det.in_gait(v, k * n, (k + 1) * n, 40.0), (rep_s, k)


def test_slow_movement_is_not_gait():
    """A deadlift's hips rise and fall over seconds: the autocorrelation falls with the
    lag instead of coming back at a step's."""
    det = GaitDetector(PERIOD_S)
    t = np.arange(round(12 * RATE_HZ)) * PERIOD_S
    v = 2.0 * np.sin(2 * np.pi * t / 3.0)
    assert not det.in_gait(v, 300, 600, 15.0)


def test_the_evidence_rows_change_the_verdict():
    """Each condition decides on its own: weak shaking, a wide excursion, or shaking too
    small for the excursion turn a walk's stride into no gait."""
    start, stop = 300, 410

    def gait(sd_mps2: float, excursion_deg: float) -> bool:
        # One detector per signal: verdicts are cached by span (timeline samples never
        # change once written).
        v = _walking(6.0, 1.8, sd_mps2)
        return GaitDetector(PERIOD_S).in_gait(v, start, stop, excursion_deg)

    assert gait(2.5, 15.0)
    assert not gait(0.2, 12.0)  # sway, not steps
    assert gait(8.0, MAX_GAIT_EXCURSION_DEG - 1)
    assert not gait(8.0, MAX_GAIT_EXCURSION_DEG + 1)
    excursion = 30.0
    assert not gait(0.8 * MIN_GAIT_ACC_PER_DEG * excursion, excursion)
    assert gait(1.2 * MIN_GAIT_ACC_PER_DEG * excursion, excursion)
    assert not GaitDetector(PERIOD_S).in_gait(None, start, stop, 15.0)


def test_a_swing_straight_after_walking_is_not_gait():
    """The look-back before a set's first rep may reach into the walk to the bell."""
    det = GaitDetector(PERIOD_S)
    walk = _walking(4.0, 1.9, 2.5)
    stand = np.zeros(round(0.3 * RATE_HZ))
    swings = _swings(6, 1.2, 1.8)
    v = np.concatenate([walk, stand, swings])
    first = len(walk) + len(stand)
    n = round(1.2 * RATE_HZ)
    assert LOOKBACK_S * RATE_HZ > len(stand)  # the window does reach into the walk
    for k in range(5):
        assert not det.in_gait(v, first + k * n, first + (k + 1) * n, 40.0), k


def test_a_walk_with_lost_data_is_gait():
    """A burst of lost packets bridged by interpolation leaves a spike in the vertical
    acceleration; left out, the steps around it still repeat."""
    v = _walking(6.0, 2.8, 8.0)
    lost = np.zeros(len(v), dtype=bool)
    lost[330:345] = True
    v[330:345] = np.linspace(-40.0, 40.0, 15)
    start, stop = 300, 372
    assert not GaitDetector(PERIOD_S).in_gait(v, start, stop, 30.0)
    assert GaitDetector(PERIOD_S).in_gait(v, start, stop, 30.0, lost)


def test_a_flight_of_stairs_long_as_a_deadlift_is_gait():
    """Leaning into a flight and straightening at its top makes one long cycle: most of
    its windows are steps."""
    det = GaitDetector(PERIOD_S)
    v = np.concatenate([np.zeros(100), _walking(8.0, 1.7, 2.5), np.zeros(100)])
    assert det.in_gait(v, 100, 100 + 800, 15.0)


def test_a_swing_set_after_walking_keeps_all_its_reps():
    cfg = SessionConfig(
        seed=31,
        sets=(SetSpec("kettlebell_swing", 10),),
        rate_hz=100.0,
        setup="sacrum",
        tier="easy",
        lead_in_walk_s=20.0,
        standing_s=1.0,
    )
    sim = simulate_session(cfg)
    result = analyse_recording(sim.recording, AnalysisSettings())
    assert len(result.reps) == 10


def _pouch_session(seed: int, tier: str, *bouts: Bout):
    """A session of daily life with a phone in a loose belt pouch at the sacrum."""
    cfg = SessionConfig(
        seed=seed,
        sets=(),
        daily=bouts,
        rate_hz=100.0,
        setup="sacrum",
        tier=tier,
        loose_mounting=True,
    )
    return simulate_session(cfg)


@pytest.fixture(scope="module")
def pouch_walk():
    """Brisk walking with a phone in a loose belt pouch: without the gait check the
    pouch's swing counts a rep every stride."""
    walk = Bout("walk_brisk", 40.0)
    return _pouch_session(14012, "medium", walk, Bout("stand", 5.0), walk)


def test_a_pouch_walk_counts_no_reps(pouch_walk, monkeypatch):
    result = analyse_recording(pouch_walk.recording, AnalysisSettings())
    assert result.reps == [] and result.sets == []
    # The case is a real one: the angle alone would count reps.
    monkeypatch.setattr(GaitDetector, "in_gait", lambda *args: False)
    assert len(analyse_recording(pouch_walk.recording, AnalysisSettings()).reps) >= 10


def test_gait_checks_stream_as_in_batch(pouch_walk, monkeypatch):
    """Fed in random small blocks or in one, the gait verdicts and the result agree."""
    calls: dict[str, list] = {"batch": [], "stream": []}
    real = GaitDetector.in_gait
    mode = "batch"

    def spy(self, vert, start, stop, excursion, unreliable=None):
        verdict = real(self, vert, start, stop, excursion, unreliable)
        calls[mode].append((start, stop, excursion, verdict))
        return verdict

    monkeypatch.setattr(GaitDetector, "in_gait", spy)
    rec = pouch_walk.recording
    batch = Pipeline(rec.placements, AnalysisSettings())
    for p in rec.placements:
        batch.feed(rec.sensors[p])
    batch.finish()
    mode = "stream"
    stream = Pipeline(rec.placements, AnalysisSettings())
    for b in random_blocks(rec, seed=5):
        stream.feed(b)
    stream.finish()
    assert any(v for *_, v in calls["batch"])
    assert sorted(set(calls["stream"])) == sorted(set(calls["batch"]))
    assert stream.all_reps == batch.all_reps


def test_shaking_harder_than_planted_feet_allow_is_told_without_steps():
    # A swing's hips (SD 4.5 m/s^2, the most seen on lifting reps) stay on the floor;
    # shaking at 1.5 g SD, even with no step rhythm at all, leaves it.
    rng = np.random.default_rng(4)
    assert not feet_off_floor(_swings(4, 1.0, 4.5), 0, 400)
    hard = rng.normal(0.0, 1.5 * MAX_PLANTED_ACC_SD_MPS2, 400)
    assert feet_off_floor(hard, 0, 400)
    # Samples lost or clipped are left out; with under half the cycle left there is no
    # verdict, with just over half there is.
    unreliable = np.zeros(400, dtype=bool)
    unreliable[:210] = True
    assert not feet_off_floor(hard, 0, 400, unreliable)
    unreliable[190:210] = False
    assert feet_off_floor(hard, 0, 400, unreliable)
    assert not feet_off_floor(None, 0, 400)


def test_jogging_with_a_rattling_pouch_counts_no_reps(monkeypatch):
    # A phone rattling in a loose pouch while jogging: the steps stop repeating
    # exactly (so the step check misses some strides) and the accelerometer clips, but
    # the hips shake at 1.4-2.8 g SD.
    stand = Bout("stand", 3.0)
    rec = _pouch_session(14107, "hard", stand, Bout("jog", 106.0), stand).recording
    assert analyse_recording(rec, AnalysisSettings()).reps == []
    monkeypatch.setattr("tracker.analysis.segmentation.feet_off_floor", lambda *args: False)
    assert len(analyse_recording(rec, AnalysisSettings()).reps) >= 2
