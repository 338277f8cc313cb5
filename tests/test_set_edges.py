"""Reps the set rules must not lose: the first and the last of a set, where a recording
begins or ends with them, a first rep unlike the second, and squats whose trunk holds at
the bottom while the hips turn."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

from tracker.analysis.events import SetEnded
from tracker.analysis.segmentation import SQUAT_TUCK_DROP_M, Cycle, RepSegmenter, Turn
from tracker.analysis.settings import AnalysisSettings, SegmentationSettings
from tracker.analysis.turning import TurningPoint, TurningPointTracker
from tracker.app.offline import analyse_recording
from tracker.sim import SessionConfig, SetSpec, simulate_session
from tracker.sim.edits import crop

PERIOD_S = 0.02


def _ramp(a_deg: float, b_deg: float, duration_s: float) -> np.ndarray:
    """From ``a_deg`` to ``b_deg`` along a half cosine (still at both ends)."""
    n = round(duration_s / PERIOD_S)
    return a_deg + (b_deg - a_deg) * (1 - np.cos(np.linspace(0.0, np.pi, n, endpoint=False))) / 2


def _touch_and_go_squats(n_reps: int, reversal_deg: float, stand_after_s: float) -> np.ndarray:
    """Hinge angle of reps done back to back: standing still at 0, each rep down to
    40 deg and up again, turning at ``reversal_deg`` between reps without a pause, the
    last one back to standing."""
    parts = [np.zeros(round(1.0 / PERIOD_S))]
    level = 0.0
    for k in range(n_reps):
        top = 0.0 if k == n_reps - 1 else reversal_deg
        parts += [_ramp(level, 40.0, 1.0), np.full(round(0.2 / PERIOD_S), 40.0)]
        parts.append(_ramp(40.0, top, 1.0))
        level = top
    parts.append(np.zeros(max(1, round(stand_after_s / PERIOD_S))))
    return np.concatenate(parts)


def _reps(h: np.ndarray, exercise: str | None = None, vert: np.ndarray | None = None) -> int:
    """Reps the segmenter finds in the hinge angle ``h``, fed as the pipeline feeds it
    (turning points, then the end of the recording); ``exercise`` as the user names it;
    ``vert`` the vertical acceleration of the hips (m/s^2), if given."""
    s = SegmentationSettings()
    seg = RepSegmenter(s, PERIOD_S, exercise)
    rate = np.gradient(h, PERIOD_S)
    tracker = TurningPointTracker(
        s.hysteresis_deg, round(s.settle_s / PERIOD_S), s.still_rate_deg_s
    )
    reps = 0
    for i in range(len(h)):
        if (tp := tracker.update(i, float(h[i]), float(rate[i]))) is not None:
            # As the pipeline does, an upright turn is added once the samples that tell
            # a squat's bottom from standing are in (here: all of them).
            reps += len(seg.add_turn(tp, rate, h, vert, now=len(h) - 1)[0])
    if (tp := seg.end_turn(h, len(h))) is not None:
        reps += len(seg.add_turn(tp, rate, h, vert, now=len(h) - 1)[0])
    return reps


def _butt_wink_squats(
    n_reps: int, tuck_deg: float = 24.0, untuck_deg: float = 40.0
) -> tuple[np.ndarray, np.ndarray]:
    """Hinge angle and vertical hip acceleration of squats whose pelvis tucks under at
    the bottom: the angle goes 0 -> 40 deg, back to ``tuck_deg`` as the hips reach the
    bottom 0.5 m down, on to ``untuck_deg`` and back to standing, while the hips go down
    and up along half cosines (``tuck_deg`` 40: no tuck)."""
    half_s = 1.2
    still = np.zeros(round(1.0 / PERIOD_S))
    h = [still]
    for _ in range(n_reps):
        h += [_ramp(0.0, 40.0, 0.8), _ramp(40.0, tuck_deg, 0.4), _ramp(tuck_deg, untuck_deg, 0.4)]
        h += [_ramp(untuck_deg, 0.0, 0.8), np.zeros(round(0.5 / PERIOD_S))]
    h.append(np.zeros(round(2.0 / PERIOD_S)))
    n_half = round(half_s / PERIOD_S)
    t = np.arange(2 * n_half) * PERIOD_S
    # z = -0.25 (1 - cos(pi t / half)) over down and up: its second derivative.
    rep_acc = -0.25 * (np.pi / half_s) ** 2 * np.cos(np.pi * t / half_s)
    acc = [np.zeros(len(still))]
    for _ in range(n_reps):
        acc += [rep_acc, np.zeros(round(0.5 / PERIOD_S))]
    acc.append(np.zeros(round(2.0 / PERIOD_S)))
    return np.concatenate(h), np.concatenate(acc)


def test_a_squat_whose_pelvis_tucks_under_at_the_bottom_is_one_rep():
    # The trunk angle turns back towards upright at the bottom, but the hips turn from
    # going down to going up there: a bottom, not standing between two reps.
    h, vert = _butt_wink_squats(6)
    assert len(h) == len(vert)
    assert _reps(h, vert=vert) == 6
    # Without the hips' motion the turn at the bottom looks like a rest: the squats
    # are miscounted (as two half-reps each).
    assert _reps(h) != 6


def test_a_squat_whose_angle_dips_to_the_rest_level_at_the_bottom_ends_standing():
    # A tuck under at the bottom that brings the trunk angle back to near standing's
    # (6 deg), the trunk leaning less on the way up (30 deg) than down: the rep still
    # ends when the lifter stands, after the way up, not at the bottom, where the angle
    # was still near the rest level.
    h, vert = _butt_wink_squats(6, tuck_deg=6.0, untuck_deg=30.0)
    s = SegmentationSettings()
    seg = RepSegmenter(s, PERIOD_S)
    rate = np.gradient(h, PERIOD_S)
    tracker = TurningPointTracker(
        s.hysteresis_deg, round(s.settle_s / PERIOD_S), s.still_rate_deg_s
    )
    reps = []
    for i in range(len(h)):
        if (tp := tracker.update(i, float(h[i]), float(rate[i]))) is not None:
            reps += seg.add_turn(tp, rate, h, vert, now=len(h) - 1)[0]
    if (tp := seg.end_turn(h, len(h))) is not None:
        reps += seg.add_turn(tp, rate, h, vert, now=len(h) - 1)[0]
    rep_s, rest_s = 2.4, 0.5  # down, tuck, untuck, up; standing between reps
    expected = [(1.0 + k * (rep_s + rest_s), 1.0 + k * (rep_s + rest_s) + rep_s) for k in range(6)]
    got = [(c.a.leave * PERIOD_S, c.b.arrive * PERIOD_S) for c in reps]
    assert len(got) == 6
    for (start_s, end_s), (true_start_s, true_end_s) in zip(got, expected, strict=True):
        assert abs(start_s - true_start_s) < 0.2
        assert abs(end_s - true_end_s) < 0.2


def test_standing_between_squats_stays_a_rest_with_the_hips_measured():
    # Arriving at standing the hips slow their rise (acceleration down): a rest.
    h, vert = _butt_wink_squats(6, tuck_deg=40.0)
    assert _reps(h, vert=vert) == 6


def _overshooting_hinges(n_reps: int, overshoot_deg: float) -> np.ndarray:
    """Hinge angle of hinges whose lockout overshoots standing: standing still at 0,
    each rep down to 65 deg, up past standing to ``-overshoot_deg`` (leaning back, the
    hips snapped through), back to 1 deg and settling to standing over 0.8 s."""
    h = [np.zeros(round(1.0 / PERIOD_S))]
    for _ in range(n_reps):
        h += [_ramp(0.0, 65.0, 1.2), _ramp(65.0, -overshoot_deg, 1.0)]
        h += [_ramp(-overshoot_deg, 1.0, 0.5), np.linspace(1.0, 0.0, round(0.8 / PERIOD_S))]
    h.append(np.zeros(round(2.0 / PERIOD_S)))
    return np.concatenate(h)


@pytest.mark.parametrize("overshoot_deg", [12.0, 19.0])
def test_a_lockout_that_overshoots_standing_and_settles_back_ends_the_rep(
    overshoot_deg, monkeypatch
):
    # Leaning 12-19 deg back past standing at each lockout and settling back upright:
    # the rep ends at the settled rest, so each ends where it started.
    h = _overshooting_hinges(6, overshoot_deg)
    assert _reps(h) == 6
    # Taking the overshoot for the rest, a rep "ends 20 deg from where it started".
    monkeypatch.setattr("tracker.analysis.segmentation.OVERSHOOT_SHARE", 0.0)
    assert _reps(h) < 6


def _squats_pausing_on_the_way_up(n_plain: int, n_paused: int) -> np.ndarray:
    """Hinge angle of squats, standing still at 0 for 1 s between them, each down to
    34 deg: ``n_plain`` straight back up, then ``n_paused`` quickly back to 13 deg (the
    pelvis untucking), held there for 0.6 s while the hips rise, then up to standing."""
    stand = np.zeros(round(1.0 / PERIOD_S))
    h = [stand]
    for k in range(n_plain + n_paused):
        h.append(_ramp(0.0, 34.0, 1.0))
        if k < n_plain:
            h.append(_ramp(34.0, 0.0, 1.1))
        else:
            h += [_ramp(34.0, 13.0, 0.3), np.full(round(0.6 / PERIOD_S), 13.0)]
            h.append(_ramp(13.0, 0.0, 0.8))
        h.append(stand)
    h.append(stand)
    return np.concatenate(h)


def test_a_pause_on_the_way_back_to_standing_is_no_rest(monkeypatch):
    # Once a squat set is open, a hold at 13 deg on the way up lies outside the 10 deg a
    # rep returns within, but the angle then goes on back to where the rep started: one
    # rep, not a rep that "ended 13 deg from where it started" and a rest.
    h = _squats_pausing_on_the_way_up(2, 4)
    assert _reps(h) == 6
    monkeypatch.setattr(RepSegmenter, "_back_at_start", lambda self, last, tp: False)
    assert _reps(h) < 6


@pytest.mark.parametrize("reversal_deg", [14.0, 16.0])
def test_back_to_back_reps_turning_short_of_standing_keep_the_first_and_last(reversal_deg):
    # The first rep leaves full standing and ends at a quick turn 14-16 deg short of
    # it; the last leaves such a turn and ends standing. Both are reps.
    assert _reps(_touch_and_go_squats(10, reversal_deg, stand_after_s=2.0)) == 10


def test_a_rep_ending_where_the_recording_ends_is_counted():
    # The recording stops as the lifter arrives back standing, before the settle time.
    assert _reps(_touch_and_go_squats(8, 16.0, stand_after_s=0.1)) == 8


def test_sitting_down_after_standing_is_not_a_rep():
    # Standing, leaning forward to sit, then sitting still half-upright: it ends still
    # at another level, not at a quick turn, so it is no rep (the set's reps are).
    h = _touch_and_go_squats(6, 0.0, stand_after_s=2.0)
    sit = np.concatenate([_ramp(0.0, 40.0, 1.0), _ramp(40.0, 20.0, 1.0), np.full(250, 20.0)])
    assert _reps(np.concatenate([h, sit])) == 6


@pytest.mark.parametrize("seed", [9101, 9102, 9104])
def test_a_squat_set_cropped_to_its_reps_counts_every_rep(seed):
    # The recording starts 0.5 s before the first squat and stops 0.3 s after the last:
    # no standing before it to take as a rest turn, no settle time after it.
    sim = simulate_session(
        SessionConfig(
            seed=seed, sets=(SetSpec("squat", 8),), rate_hz=100.0, setup="lumbar", tier="easy"
        )
    )
    reps = json.loads(sim.truth.to_json())["reps"]
    rec = crop(sim.recording, reps[0]["start_s"] - 0.5, reps[-1]["end_s"] + 0.3)
    result = analyse_recording(rec, AnalysisSettings())
    assert len(result.reps) == 8


def _squat_cycle(
    start: int, hold_n: int, *, rest_deg: float = 0.0, turn_deg: float = 40.0
) -> Cycle:
    """Resting 0.4 s at ``rest_deg``, 1.6 s to ``turn_deg``, ``hold_n`` samples there,
    1.4 s back (sample indices, 0.04 s a sample): a squat, or with the rest at the
    larger angle a deadlift from the floor, whose turn is the lockout."""
    down = turn_deg > rest_deg
    a = Turn(TurningPoint(start, rest_deg, not down), start, start + 10)
    p = Turn(TurningPoint(start + 50, turn_deg, down), start + 50, start + 50 + hold_n)
    b = Turn(TurningPoint(start + 85 + hold_n, rest_deg, not down), start + 85 + hold_n)
    return Cycle(a, p, b)


def test_a_rep_skipping_the_pause_at_its_turn_is_odd_only_at_a_lockout():
    # The set's reps hold 0.52 s at their turn; this one only 0.04 s. At the bottom of
    # squats that is a touch-and-go rep, whether the whole body rests there or only the
    # trunk angle holds while the hips turn round; at the lockout of deadlifts from the
    # floor, with the whole body still, it is standing up without the bar.
    seg = RepSegmenter(SegmentationSettings(), 0.04)

    def odd(rest_deg: float, turn_deg: float, hips_turn: bool) -> list[str]:
        reps = [_squat_cycle(k, 13, rest_deg=rest_deg, turn_deg=turn_deg) for k in (0, 110)]
        mine = _squat_cycle(220, 1, rest_deg=rest_deg, turn_deg=turn_deg)
        seg._vert = np.zeros(400)
        if hips_turn:
            for r in reps:
                seg._vert[r.p.arrive : r.p.leave + 1] = 1.0  # up: out of the bottom
        return seg._odd(mine, reps, [reps[0].b, reps[1].a], mine.a, swung=False, hips_level=False)

    assert not odd(0.0, 40.0, hips_turn=True)
    assert not odd(0.0, 40.0, hips_turn=False)
    assert odd(40.0, 0.0, hips_turn=False) == ["no pause at the turn, where the reps pause 0.5 s"]


def test_squats_whose_pelvis_tucks_under_at_the_bottom_count_every_rep():
    # Butt wink: at the bottom the pelvis tucks under and the trunk angle turns back by
    # more than the hysteresis (50 -> 34 deg) and again, by less than a rep (-> 42.5
    # deg), before the way up. The turn at 34 deg is replaced by the top once the angle
    # gets there; a cycle judged at it would end half-way up. (Named a squat: without
    # the hips' motion a long hold at the bottom would say the reps rest there.)
    parts = [np.zeros(round(1.0 / PERIOD_S))]
    for _ in range(8):
        parts += [_ramp(0.0, 50.0, 1.0), _ramp(50.0, 34.0, 0.5), _ramp(34.0, 42.5, 0.3)]
        parts.append(_ramp(42.5, 0.0, 1.0))
    parts.append(np.zeros(round(2.0 / PERIOD_S)))
    assert _reps(np.concatenate(parts), "squat") == 8


def test_a_rep_from_a_reversal_is_not_judged_on_the_way_down_of_one_from_standing():
    # The set's first rep left standing (0 deg) and took 1.6 s down with the hips level;
    # this one leaves a touch-and-go reversal 15 deg up, so its way down is shorter
    # (0.8 s) and, measured from there, drops the hips 0.1 m. Neither is a sign of
    # another movement: the two ways down start at different levels.
    period_s = 0.04
    seg = RepSegmenter(SegmentationSettings(), period_s)
    a1 = Turn(TurningPoint(0, 0.0, False), 0, 10)
    first = Cycle(
        a1, Turn(TurningPoint(50, 40.0, True), 50, 55), Turn(TurningPoint(80, 15.0, False), 80, 81)
    )
    mine = Cycle(
        first.b,
        Turn(TurningPoint(101, 40.0, True), 101, 106),
        Turn(TurningPoint(130, 15.0, False), 130),
    )
    vert = np.zeros(200)
    vert[81:91], vert[91:101] = -0.625, 0.625  # hips down 0.1 m over the 0.8 s down
    seg._vert = vert
    assert seg.drop_m(81, 101) == pytest.approx(-0.1, abs=0.02)
    assert not seg._odd(mine, [first], [], mine.a, swung=False, hips_level=True)
    # From the same level, the same shorter and lower way down is another movement.
    level = Cycle(Turn(TurningPoint(60, 15.0, False), 60, 81), mine.p, mine.b)
    assert seg._odd(
        level,
        [Cycle(Turn(TurningPoint(0, 15.0, False), 0, 10), first.p, first.b)],
        [],
        level.a,
        swung=False,
        hips_level=True,
    )


def test_a_first_rep_unlike_the_second_is_judged_as_one_of_the_set(monkeypatch):
    # The first hip thrust of the first set differs from the second by more than the
    # opening model allows; next to the set's reps it shows none of the signs of a
    # pick-up or a put-down, so it is the set's first rep.
    sets = (
        SetSpec("hip_thrust", 6, {"overextension": None}),
        SetSpec("hip_thrust", 8, {"overextension": None}),
    )
    sim = simulate_session(
        SessionConfig(seed=1035, sets=sets, rate_hz=52.0, setup="sacrum", tier="medium")
    )
    truth = json.loads(sim.truth.to_json())["reps"]
    result = analyse_recording(sim.recording, AnalysisSettings())
    assert [len(s.reps) for s in result.sets] == [6, 8]
    first = result.reps[0]
    assert abs(first.start_s - truth[0]["start_s"]) < 0.2
    assert any(d.reason.startswith("the set's first rep") for d in result.decisions)
    # Compared with the second rep alone (by the opening model once more), it is lost.
    monkeypatch.setattr(
        RepSegmenter, "_unlike_opening", lambda self, cand, c1, c2: self._pair_against(cand, c1)
    )
    without = analyse_recording(sim.recording, AnalysisSettings())
    assert [len(s.reps) for s in without.sets] == [5, 8]


def test_getting_up_from_a_seat_is_told_from_an_over_extended_lockout():
    # Lumbar flexion at the rest before a cycle and at the rest after it. Seated, the
    # spine rests flexed (here 22 deg); standing it is near 0, over-extended at lockout
    # -14 deg.
    seg = RepSegmenter(SegmentationSettings(), 0.04)

    def seated(before_deg: float, after_deg: float) -> bool:
        c = _squat_cycle(0, 13)
        seg._lumbar = np.zeros(200)
        seg._lumbar[c.a.arrive : c.a.leave + 1] = before_deg
        c.b.leave = c.b.arrive + 20
        seg._lumbar[c.b.arrive : c.b.leave + 1] = after_deg
        return seg._seated_between(c)

    assert seated(0.0, 22.0)  # sat down
    assert seated(22.0, 0.0)  # got up
    assert not seated(0.0, -14.0)  # a rep ending in an over-extended lockout
    assert not seated(2.0, 6.0)


def _hinges(holds_s: list[float], depths_deg: list[float]) -> np.ndarray:
    """Hinge angle of reps from standing (0.6 s still between them), each 1.2 s down to
    its depth, held there for its hold, 1.0 s up."""
    parts = [np.zeros(round(2.0 / PERIOD_S))]
    for hold_s, depth_deg in zip(holds_s, depths_deg, strict=True):
        parts += [_ramp(0.0, depth_deg, 1.2), np.full(round(hold_s / PERIOD_S), depth_deg)]
        parts += [_ramp(depth_deg, 0.0, 1.0), np.zeros(round(0.6 / PERIOD_S))]
    parts.append(np.zeros(round(3.0 / PERIOD_S)))
    return np.concatenate(parts)


def test_two_reps_in_a_row_unlike_the_set_are_reps_when_the_set_goes_on():
    # Reps 4 and 5 of 8 hold 1.2 s at the bottom, where the others hold 0.2 s, and go
    # 15 deg less deep (a rest-pause in the hole, tired reps): each is doubtful next to
    # the set's reps, and the reps after them show that the set went on.
    holds = [0.2, 0.2, 0.2, 1.2, 1.2, 0.2, 0.2, 0.2]
    depths = [60.0, 60.0, 60.0, 45.0, 45.0, 60.0, 60.0, 60.0]
    assert _reps(_hinges(holds, depths), "romanian_deadlift") == 8
    # Two such movements at the end of a set are put-downs: the set ended with them.
    assert _reps(_hinges(holds[:5], depths[:5]), "romanian_deadlift") == 3


def _floor_deadlifts(bottoms_deg: list[float]) -> np.ndarray:
    """Hinge angle of deadlifts from the floor: standing still at 0, bending to the bar
    at ``bottoms_deg[0]`` and setting up for 2 s; each rep pulls to standing (a 0.4 s
    lockout) and lowers the bar to the next bottom, resting there 1.5 s; after the last,
    standing up from the bar."""
    still = lambda deg, s: np.full(round(s / PERIOD_S), deg)  # noqa: E731
    h = [still(0.0, 1.0), _ramp(0.0, bottoms_deg[0], 1.0), still(bottoms_deg[0], 2.0)]
    for here, there in itertools.pairwise(bottoms_deg):
        h += [_ramp(here, 0.0, 1.0), still(0.0, 0.4), _ramp(0.0, there, 1.0), still(there, 1.5)]
    h += [_ramp(bottoms_deg[-1], 0.0, 1.0), still(0.0, 2.0)]
    return np.concatenate(h)


def test_deadlifts_resting_on_the_floor_at_uneven_depths_count_every_rep(monkeypatch):
    # The bar goes back to the floor each rep, but the lifter sets the hips a little
    # higher or lower each time: the rest between reps varies by up to 13 deg here
    # (a rep from 53 deg to standing and down to 40). Each is a rep.
    h = _floor_deadlifts([48.0, 53.0, 40.0, 46.0, 52.0, 42.0, 47.0])
    assert _reps(h) == 6
    # Held to a standing rest's return tolerance, the rep ending 13 deg from its start
    # is no rep.
    # (the rep ends less bent than it started, so the set-down allowance is taken away
    # too: it alone would accept a rep ending 13 deg short of 53)
    monkeypatch.setattr("tracker.analysis.segmentation.BENT_REST_RETURN_SHARE", 0.3)
    monkeypatch.setattr("tracker.analysis.segmentation.BENT_REST_SET_DOWN_SHARE", 1.0)
    assert _reps(h) < 6


def test_the_last_deadlift_set_down_less_bent_is_a_rep(monkeypatch):
    # The last rep sets the bar down with the knees bent more: the hinge angle stops at
    # 27 deg where the rep left 50 (23 deg short, beyond a bent rest's return tolerance),
    # still more than half the way back down. Then the lifter stands up from the bar.
    h = _floor_deadlifts([48.0, 50.0, 47.0, 50.0, 27.0])
    assert _reps(h) == 4
    # Without the allowance for a set-down, the last rep is dropped ...
    monkeypatch.setattr("tracker.analysis.segmentation.BENT_REST_SET_DOWN_SHARE", 1.0)
    assert _reps(h) == 3
    # ... and with it, a movement coming back down less than half the way still is.
    monkeypatch.undo()
    assert _reps(_floor_deadlifts([48.0, 50.0, 47.0, 50.0, 20.0])) == 3


def test_a_set_ends_its_timeout_after_the_last_turn_however_the_stream_is_cut():
    # Two sets; after the second the lifter puts the weight down and stands still. The
    # set ends `set_timeout_s` after its last turn (the put-down's return to standing,
    # confirmed a moment after it), in a live-sized stream exactly as in one batch.
    sim = simulate_session(
        SessionConfig(
            seed=5, sets=(SetSpec("romanian_deadlift", 5),) * 2, rate_hz=100.0, tier="easy"
        )
    )
    timeout_s = SegmentationSettings().set_timeout_s
    ends = []
    for block_s in (None, 0.05):
        result = analyse_recording(sim.recording, AnalysisSettings(), block_s=block_s)
        ended = [e for e in result.events if isinstance(e, SetEnded)]
        assert len(ended) == 2
        ends.append([e.time_s for e in ended])
        last = ended[-1]
        wait_s = last.time_s - last.summary.reps[-1].end_s
        assert timeout_s <= wait_s <= timeout_s + 0.5
    assert ends[0] == ends[1]


def test_an_open_set_stays_open_for_its_timeout_after_the_last_turn():
    seg = RepSegmenter(SegmentationSettings(), PERIOD_S)
    assert seg.open_until() is None  # no set open: nothing times out
    h, vert = _butt_wink_squats(4, tuck_deg=40.0)  # plain squats
    rate = np.gradient(h, PERIOD_S)
    s = SegmentationSettings()
    tracker = TurningPointTracker(
        s.hysteresis_deg, round(s.settle_s / PERIOD_S), s.still_rate_deg_s
    )
    confirmed = None
    for i in range(len(h)):
        if (tp := tracker.update(i, float(h[i]), float(rate[i]))) is not None:
            seg.add_turn(tp, rate, h, vert, now=i)
            confirmed = i
    assert seg.open is not None and confirmed is not None
    assert seg.open_until() == confirmed + round(s.set_timeout_s / PERIOD_S)


def _shallow_lean_squats(n_reps: int) -> tuple[np.ndarray, np.ndarray, list[tuple[float, float]]]:
    """Hinge angle, vertical hip acceleration and the (start, end) of each rep (s) of
    squats whose trunk leans only 10 deg on the way down, tucks under to 3 deg past
    standing as the hips reach the bottom 0.45 m down, leans 40 deg on the way up and
    returns to standing: the bottom is the most upright moment of the rep."""
    half_s, rest_s = 1.2, 0.8
    still = np.zeros(round(3.0 / PERIOD_S))
    h, spans, t0 = [still], [], len(still) * PERIOD_S
    for _ in range(n_reps):
        h += [_ramp(0.0, 10.0, 0.5), _ramp(10.0, -3.0, 0.7)]
        h += [_ramp(-3.0, 40.0, 0.6), _ramp(40.0, 0.0, 0.6), np.zeros(round(rest_s / PERIOD_S))]
        spans.append((t0, t0 + 2 * half_s))
        t0 += 2 * half_s + rest_s
    h.append(np.zeros(round(2.0 / PERIOD_S)))
    n_half = round(half_s / PERIOD_S)
    t = np.arange(2 * n_half) * PERIOD_S
    rep_acc = -0.225 * (np.pi / half_s) ** 2 * np.cos(np.pi * t / half_s)
    acc = [np.zeros(len(still))]
    for _ in range(n_reps):
        acc += [rep_acc, np.zeros(round(rest_s / PERIOD_S))]
    acc.append(np.zeros(round(2.0 / PERIOD_S)))
    return np.concatenate(h), np.concatenate(acc), spans


def test_squats_whose_trunk_is_most_upright_at_the_bottom_rest_standing():
    # The tuck at the bottom is further upright than standing, but the hips are 0.45 m
    # down and turning up there: it is no deeper rest, and each rep runs from standing
    # to standing (not from one bottom to the next).
    h, vert, spans = _shallow_lean_squats(5)
    s = SegmentationSettings()
    seg = RepSegmenter(s, PERIOD_S)
    rate = np.gradient(h, PERIOD_S)
    tracker = TurningPointTracker(
        s.hysteresis_deg, round(s.settle_s / PERIOD_S), s.still_rate_deg_s
    )
    reps = []
    for i in range(len(h)):
        if (tp := tracker.update(i, float(h[i]), float(rate[i]))) is not None:
            reps += seg.add_turn(tp, rate, h, vert, now=len(h) - 1)[0]
    if (tp := seg.end_turn(h, len(h))) is not None:
        reps += seg.add_turn(tp, rate, h, vert, now=len(h) - 1)[0]
    # (The first rep is lost another way: from the recording's first turn, a lean
    # smaller than a rep replaces the standing start of the chain, then the deeper
    # lean replaces it. Every later rep is found.)
    assert len(reps) == len(spans) - 1
    for c, (start_s, end_s) in zip(reps, spans[1:], strict=True):
        assert abs(c.a.leave * PERIOD_S - start_s) <= 0.2
        assert abs(c.b.arrive * PERIOD_S - end_s) <= 0.2


def test_a_bounce_of_the_hips_lowers_them_too_little_for_a_squat():
    # Jogging in place, or a loose pouch: the hips bounce 5 cm at 2.8 steps a second.
    # However the hips turn up at a trough, it is no squat's bottom.
    step_s, depth_m = 0.36, 0.05
    t = np.arange(round(10.0 / PERIOD_S)) * PERIOD_S
    vert = -depth_m / 2 * (2 * np.pi / step_s) ** 2 * np.cos(2 * np.pi * t / step_s)
    seg = RepSegmenter(SegmentationSettings(), PERIOD_S)
    seg._vert = vert
    top, trough = round(5 * step_s / PERIOD_S), round(5.5 * step_s / PERIOD_S)
    assert seg._lowered_m(top, trough) == pytest.approx(depth_m, abs=0.02)
    assert seg._lowered_m(top, trough) < SQUAT_TUCK_DROP_M
    # A squat's 0.45 m does count.
    _, squat_vert, _ = _shallow_lean_squats(1)
    seg._vert = squat_vert
    assert seg._lowered_m(round(3.0 / PERIOD_S), round(4.2 / PERIOD_S)) >= SQUAT_TUCK_DROP_M


def test_sway_too_small_for_a_rep_does_not_keep_a_set_open():
    # Four squats, then 12 s of swaying +-5 deg (walking off, shifting about): each
    # reversal is a turning point of the angle, but none moves a rep's size, so the set
    # times out counting from its last rep's turn, as if the lifter had stood still.
    h_reps, vert_reps = _butt_wink_squats(4, tuck_deg=40.0)  # plain squats
    t = np.arange(round(12.0 / PERIOD_S)) * PERIOD_S
    sway = 5.0 * np.sin(2 * np.pi * 0.7 * t)
    h = np.concatenate([h_reps, sway])
    vert = np.concatenate([vert_reps, np.zeros(len(sway))])
    rate = np.gradient(h, PERIOD_S)
    s = SegmentationSettings()
    seg = RepSegmenter(s, PERIOD_S)
    tracker = TurningPointTracker(
        s.hysteresis_deg, round(s.settle_s / PERIOD_S), s.still_rate_deg_s
    )
    last_rep_turn, sway_turns = None, 0
    for i in range(len(h)):
        if (tp := tracker.update(i, float(h[i]), float(rate[i]))) is not None:
            seg.add_turn(tp, rate, h, vert, now=i)
            if tp.index < len(h_reps):
                last_rep_turn = i
            else:
                sway_turns += 1
    assert sway_turns >= 10  # the sway does reverse, many times
    assert seg.open is not None and last_rep_turn is not None
    assert seg.open_until() == last_rep_turn + round(s.set_timeout_s / PERIOD_S)


def test_a_thrust_that_pauses_on_the_way_up_is_one_rep_to_its_top():
    # Hip thrusts rest at the bottom (-50 deg, lying back); the third pauses 0.6 s on
    # the way up (-72 deg) before going on to its top (-92 deg). That pause is no rest:
    # every thrust is one rep, the third's peak at its top, and every movement has its
    # verdict.
    parts = [np.full(round(2.0 / PERIOD_S), -50.0)]
    for k in range(5):
        if k == 2:
            parts += [_ramp(-50.0, -72.0, 0.5), np.full(round(0.6 / PERIOD_S), -72.0)]
            parts += [_ramp(-72.0, -92.0, 0.5)]
        else:
            parts.append(_ramp(-50.0, -90.0, 1.0))
        parts += [np.full(round(0.3 / PERIOD_S), parts[-1][-1]), _ramp(parts[-1][-1], -50.0, 1.0)]
        parts.append(np.full(round(0.8 / PERIOD_S), -50.0))
    parts.append(np.full(round(3.0 / PERIOD_S), -50.0))
    h = np.concatenate(parts)
    rate = np.gradient(h, PERIOD_S)
    s = SegmentationSettings()
    seg = RepSegmenter(s, PERIOD_S, "hip_thrust")
    tracker = TurningPointTracker(
        s.hysteresis_deg, round(s.settle_s / PERIOD_S), s.still_rate_deg_s
    )
    reps: list[Cycle] = []
    for i in range(len(h)):
        if (tp := tracker.update(i, float(h[i]), float(rate[i]))) is not None:
            reps += seg.add_turn(tp, rate, h, np.zeros(len(h)), now=i)[0]
    if (tp := seg.end_turn(h, len(h))) is not None:
        reps += seg.add_turn(tp, rate, h, np.zeros(len(h)), now=len(h) - 1)[0]
    seg.note_unjudged()
    assert [round(c.p.value) for c in reps] == [-90, -90, -92, -90, -90]
    counted = [(v.start, v.end) for v in seg.take_verdicts() if v.verdict == "rep"]
    spans = [(c.a.leave if c.a.leave is not None else c.a.arrive, c.b.arrive) for c in reps]
    assert counted == spans
