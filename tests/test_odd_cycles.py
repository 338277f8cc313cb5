"""The signs that make a cycle odd next to a set's reps (`RepSegmenter._odd`): depth and
tempo vary from rep to rep, so as a pair they do not; a longer pause at the turn or the
hips dropping to the floor (touching the weight) and one more sign do, and so do any
three."""

from __future__ import annotations

import numpy as np

from tracker.analysis.segmentation import Cycle, RepSegmenter, Turn
from tracker.analysis.settings import SegmentationSettings
from tracker.analysis.turning import TurningPoint

PERIOD_S = 0.04


def _hinge(
    start: int,
    *,
    rest_n: int = 15,
    down_n: int = 50,
    depth_deg: float = 60.0,
    hold_n: int = 10,
    up_n: int = 40,
) -> Cycle:
    """Standing ``rest_n`` samples at 0 deg, ``down_n`` samples down to ``depth_deg``,
    ``hold_n`` samples still there, ``up_n`` samples up (0.04 s a sample)."""
    a = Turn(TurningPoint(start, 0.0, False), start, start + rest_n)
    bottom = start + rest_n + down_n
    p = Turn(TurningPoint(bottom, depth_deg, True), bottom, bottom + hold_n)
    end = bottom + hold_n + up_n
    return Cycle(a, p, Turn(TurningPoint(end, 0.0, False), end, end + rest_n))


def _judged(mine: Cycle, *, hips_level: bool = True, vert: np.ndarray | None = None) -> list[str]:
    seg = RepSegmenter(SegmentationSettings(), PERIOD_S)
    seg._vert = np.zeros(2000) if vert is None else vert
    reps = [_hinge(0), _hinge(115), _hinge(230)]
    rest_ref = [reps[0].b, reps[1].b]
    return seg._odd(mine, reps, rest_ref, mine.a, swung=False, hips_level=hips_level)


def test_a_shallower_quicker_rep_is_one_of_the_set():
    # 40 deg instead of 60 and 1.0 s down instead of 2.0 s: a tired last rep.
    assert _judged(_hinge(345, depth_deg=40.0, down_n=25)) == []


def test_the_same_movement_pausing_at_the_bottom_is_odd():
    # ... holding 1.2 s at the bottom, where the reps hold 0.4 s: letting go of the bar.
    odd = _judged(_hinge(345, depth_deg=40.0, down_n=25, hold_n=30))
    assert len(odd) == 3 and odd[0].startswith("paused 1.2 s at the turn")


def test_a_pause_with_one_more_sign_is_odd_and_alone_is_not():
    assert _judged(_hinge(345, hold_n=30)) == []
    assert len(_judged(_hinge(345, hold_n=30, depth_deg=40.0))) == 2


def test_three_signs_without_a_pause_are_odd():
    # Shallower, quicker and after a rest of 2.4 s where the reps rest 0.6 s.
    odd = _judged(_hinge(345, rest_n=60, depth_deg=40.0, down_n=25))
    assert len(odd) == 3 and any(s.startswith("rested 2.4 s") for s in odd)


def _dropping(mine: Cycle, drop_m: float) -> np.ndarray:
    """Vertical acceleration lowering the hips by ``drop_m`` on ``mine``'s way down."""
    vert = np.zeros(2000)
    a, b = mine.a.leave, mine.p.arrive
    assert a is not None
    half = (b - a) // 2
    dur_s = 2 * half * PERIOD_S
    acc = 4.0 * drop_m / dur_s**2
    vert[a : a + half], vert[a + half : a + 2 * half] = -acc, acc
    return vert


def test_hips_dropping_to_the_floor_and_a_quicker_way_down_are_odd_in_a_hinge_only():
    # The same depth, 1.0 s down instead of 2.0 s, and the hips 0.2 s lower: the knees
    # bend to put the bar on the floor. In a squat the hips drop every rep anyway.
    mine = _hinge(345, down_n=25)
    vert = _dropping(mine, 0.2)
    odd = _judged(mine, vert=vert)
    assert "the hips dropped further than in the reps" in odd and len(odd) == 2
    assert _judged(mine, vert=vert, hips_level=False) == []


def _squatting(cycles: list[Cycle], travel_m: list[float]) -> np.ndarray:
    """Vertical acceleration taking the hips down and back up by ``travel_m`` over each
    cycle's movement (leaving its start to arriving at its end), along a cosine."""
    vert = np.zeros(2000)
    for c, travel in zip(cycles, travel_m, strict=True):
        a, b = c.a.leave, c.b.arrive
        assert a is not None
        t = np.arange(b - a + 1) * PERIOD_S
        w = 2 * np.pi / (t[-1] + PERIOD_S)
        vert[a : b + 1] = -travel / 2 * w**2 * np.cos(w * t)
    return vert


def test_in_a_set_moving_the_hips_a_turn_at_another_angle_with_the_hips_as_low_is_no_sign():
    # Squats: the hips go 0.4 m down and up every rep. One turns at 20 deg where the
    # reps turn at 60 (the pelvis tilting less) and holds the turn 1.2 s: a longer pause
    # and another depth would make it odd, but its hips go as low as the reps', so the
    # pause is the one sign left, and one is not enough.
    reps = [_hinge(0), _hinge(115), _hinge(230)]
    mine = _hinge(345, depth_deg=20.0, hold_n=30)
    same = _squatting([*reps, mine], [0.4, 0.4, 0.4, 0.38])
    assert _judged(mine, vert=same, hips_level=False) == []
    # Hips going far less low than the reps': another depth after all.
    shallower = _squatting([*reps, mine], [0.4, 0.4, 0.4, 0.2])
    assert len(_judged(mine, vert=shallower, hips_level=False)) == 2
    # In a hinge (the hips at one height) the angle is the depth, whatever the hips do.
    assert len(_judged(mine, vert=same)) == 2
