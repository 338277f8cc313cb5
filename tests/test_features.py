"""What the segmenter measures of movements, on synthetic cycles of known depth, tempo,
pauses and hip travel: the set features the exercise is decided from
(`RepSegmenter.set_features`) and the pair features a set opens on
(`RepSegmenter.pair_features`)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tracker.analysis.segmentation import Cycle, RepSegmenter, Turn
from tracker.analysis.settings import SegmentationSettings
from tracker.analysis.turning import TurningPoint, TurningPointTracker

PERIOD_S = 0.02
#: How closely a still stretch is found: the turning-point tracker calls the angle still
#: once its rate has stayed low for a few samples, and moving once it has risen, so
#: either end of a pause is found to a few samples.
STILL_TOL_S = 0.12


def _ramp(a_deg: float, b_deg: float, duration_s: float) -> np.ndarray:
    """From ``a_deg`` to ``b_deg`` along a half cosine (still at both ends)."""
    n = round(duration_s / PERIOD_S)
    return a_deg + (b_deg - a_deg) * (1 - np.cos(np.linspace(0.0, np.pi, n, endpoint=False))) / 2


def _set(
    n_reps: int,
    depth_deg: float,
    down_s: float,
    bottom_s: float,
    up_s: float,
    top_s: float,
    hip_drop_m: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Hinge angle and vertical hip acceleration (m/s^2) of reps from standing at 0 deg:
    down to ``depth_deg`` in ``down_s``, still ``bottom_s``, up in ``up_s``, still
    ``top_s`` between reps; the hips go down ``hip_drop_m`` and back with the angle
    (knees bending: 0 for a hinge)."""
    h, z = [np.zeros(round(2.0 / PERIOD_S))], [np.zeros(round(2.0 / PERIOD_S))]
    for _ in range(n_reps):
        h += [_ramp(0.0, depth_deg, down_s), np.full(round(bottom_s / PERIOD_S), depth_deg)]
        h += [_ramp(depth_deg, 0.0, up_s), np.zeros(round(top_s / PERIOD_S))]
        z += [_ramp(0.0, -hip_drop_m, down_s), np.full(round(bottom_s / PERIOD_S), -hip_drop_m)]
        z += [_ramp(-hip_drop_m, 0.0, up_s), np.zeros(round(top_s / PERIOD_S))]
    height = np.concatenate(z)
    return np.concatenate(h), np.gradient(np.gradient(height, PERIOD_S), PERIOD_S)


def _features(h: np.ndarray, vert: np.ndarray):
    """The set features of every turn of ``h`` (all confirmed, as at a set's opening)."""
    s = SegmentationSettings()
    seg = RepSegmenter(s, PERIOD_S)
    rate = np.gradient(h, PERIOD_S)
    tracker = TurningPointTracker(
        s.hysteresis_deg, round(s.settle_s / PERIOD_S), s.still_rate_deg_s
    )
    for i in range(len(h)):
        if (tp := tracker.update(i, float(h[i]), float(rate[i]))) is not None:
            seg.add_turn(tp, rate, h, vert, now=len(h) - 1)
    # The set has opened on its first reps; its turns are what the exercise is told from.
    assert seg.open is not None
    return seg.set_features(seg.open.turns)


def test_a_hinge_set_measures_its_depth_tempo_and_pauses():
    h, vert = _set(5, depth_deg=60.0, down_s=1.5, bottom_s=0.4, up_s=1.5, top_s=1.0)
    f = _features(h, vert)
    assert f.excursion_deg == pytest.approx(60.0, abs=1.0)
    # Each half moves 60 deg in 1.5 s (leaving one still turn to arriving at the next).
    assert f.mean_rate_deg_s == pytest.approx(40.0, rel=0.1)
    # Leaving the top to arriving back at it: down, bottom pause, up.
    assert f.rep_s == pytest.approx(1.5 + 0.4 + 1.5, abs=2 * STILL_TOL_S)
    assert f.bottom_pause_s == pytest.approx(0.4, abs=STILL_TOL_S)
    assert f.top_pause_s == pytest.approx(1.0, abs=STILL_TOL_S)
    # Knees straight: the hips keep their height.
    assert f.hip_travel_m == pytest.approx(0.0, abs=0.01)
    assert f.descent_drop_m == pytest.approx(0.0, abs=0.01)
    assert not f.set_up_hold and not f.trunk_sensor


@pytest.mark.parametrize(
    ("change", "feature", "expected"),
    [
        ({"depth_deg": 35.0}, "excursion_deg", 35.0),
        ({"down_s": 0.75, "up_s": 0.75}, "mean_rate_deg_s", 80.0),
        ({"down_s": 2.5, "up_s": 2.5}, "rep_s", 2.5 + 0.4 + 2.5),
        ({"bottom_s": 1.2}, "bottom_pause_s", 1.2),
        ({"top_s": 2.0}, "top_pause_s", 2.0),
    ],
)
def test_each_feature_follows_what_it_measures(change, feature, expected):
    reps = {"depth_deg": 60.0, "down_s": 1.5, "bottom_s": 0.4, "up_s": 1.5, "top_s": 1.0}
    f = _features(*_set(5, **(reps | change)))
    assert getattr(f, feature) == pytest.approx(expected, rel=0.1, abs=2 * STILL_TOL_S)


def test_knees_bending_show_as_hip_travel_beyond_the_hinge():
    # A squat's hips go 0.4 m down and back up each rep (the trunk leaning 35 deg).
    h, vert = _set(5, depth_deg=35.0, down_s=1.2, bottom_s=0.2, up_s=1.2, top_s=1.0, hip_drop_m=0.4)
    f = _features(h, vert)
    # Peak to peak over a cycle, and the drop on the way down: 0.4 m each, to the few
    # centimetres that doubly integrating one stretch's acceleration is off by (the
    # drop reads 5 cm low: the angle is found leaving the top a few samples after the
    # hips start down, and the estimate takes them to be still there).
    assert f.hip_travel_m == pytest.approx(0.4, abs=0.05)
    assert f.descent_drop_m == pytest.approx(0.4, abs=0.06)


def _cycle(start: int, amplitude_deg: float, move_n: int, hold_n: int, rest_n: int) -> Cycle:
    """A rest of ``rest_n`` samples at 0 deg, ``move_n`` samples to ``amplitude_deg``,
    held ``hold_n`` samples, ``move_n`` back, and ``rest_n`` still after."""
    a = Turn(TurningPoint(start, 0.0, False), start, start + rest_n)
    turn = start + rest_n + move_n
    p = Turn(TurningPoint(turn, amplitude_deg, True), turn, turn + hold_n)
    end = turn + hold_n + move_n
    return Cycle(a, p, Turn(TurningPoint(end, 0.0, False), end, end + rest_n))


def test_pair_features_compare_two_movements_by_size_time_and_holds():
    seg = RepSegmenter(SegmentationSettings(), PERIOD_S)
    seg._vert = None  # no vertical measure: no knee drop to compare
    # A pick-up to the floor (90 deg, 2 s each way, gripping 1.5 s, standing 3 s after),
    # then a rep (60 deg, 1 s each way, 0.2 s at the turn, 1 s after).
    first = _cycle(0, 90.0, 100, 75, 150)
    second = _cycle(first.b.arrive, 60.0, 50, 10, 50)
    f = seg.pair_features(first, second)
    assert f.amplitude_log_ratio == pytest.approx(math.log(90.0 / 60.0))
    assert f.turn_gap_share == pytest.approx(30.0 / 60.0)
    assert f.duration_log_ratio == pytest.approx(math.log((2 * 100 + 75) / (2 * 50 + 10)))
    assert f.turn_hold_gap_s == pytest.approx(1.5 - 0.2)
    assert f.rest_after_share == pytest.approx(3.0 / ((2 * 100 + 75) * PERIOD_S))
    assert f.rest_after_gap_s == pytest.approx(3.0 - 1.0)
    assert f.down_log_ratio == pytest.approx(math.log(2.0 / 1.0))
    assert f.knee_drop_gap_m == 0.0
    assert f.amplitude_deg == pytest.approx(90.0)
    # Two alike movements differ in nothing.
    twin = seg.pair_features(second, _cycle(second.b.arrive, 60.0, 50, 10, 50))
    assert twin.amplitude_log_ratio == twin.duration_log_ratio == twin.turn_hold_gap_s == 0.0
