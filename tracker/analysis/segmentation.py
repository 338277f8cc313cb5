"""Sets and reps from the turning points of the hinge angle.

Vocabulary (angles in docs/frames.md; the full recipe with figures in docs/analysis.md):

* a *half-cycle* joins two consecutive turning points; it is a movement when its
  amplitude reaches ``min_rep_amplitude_deg`` and its motion time (from leaving one
  turning point to arriving at the next) is at most ``max_half_rep_s``; smaller
  reversals (a butt-wink wiggle, gait sway) are merged away, and a rest between two
  turns of the same kind (standing between bumps while walking about) becomes a turn;
* a *rep* is rest -> peak -> rest, from leaving the rest position to arriving back at
  it (so a pause at rest belongs to neither rep); it reaches a rep's size both ways,
  returns to where it started and lasts at most ``max_rep_s``;
* a *set* opens on two reps in a row that are alike by the opening model
  (`tracker.analysis.models`), with at most a breather between them and no sitting or
  walking in it, so a single pick-up, a sit-down, walking or shifting never opens one;
  a first movement that holds its turn much longer than the second is a pick-up; once a
  set opens, the one or two movements just before it are judged again against its
  first reps (a first rep often differs from the second); it ends after
  ``set_timeout_s`` without a movement (sway too small for a rep does not count) or
  on a movement too slow to be part of a rep;
* the *rest extreme* of a set is where each rep starts and ends: the top (minimum hinge
  angle) for swings, RDLs, good mornings, pull-throughs, squats and wall hinges; the
  bottom (maximum) for deadlifts from the floor and hip thrusts. It follows from the
  exercise, which `tracker.analysis.exercises.classify` decides from the features of
  the opening turns (`RepSegmenter.set_features`), so the two never disagree;
* a later cycle that is *odd* next to the set's reps (a longer pause at the bottom or
  the hips dropping further, and one more sign, or three of those and: a longer rest
  before it, another depth, another lowering time; or a much longer pause at the
  bottom, no pause where the reps pause, a turn a whole rep away from theirs, or, in a
  swung set, a much slower movement) is a put-down or park: held, up to two in a row,
  until the set goes on (reps after all) or ends (dropped); three alike in a row are
  another set's reps, and the search for a set starts again at the first;
* an upright turn through which the hips turn up (the bottom of a squat whose pelvis
  tucks under) is no rest;
* a cycle during which the hips shake at step frequency (walking, stairs, jogging) is
  no rep;
* a quick bump out of a rest that then goes on past the rest (the back rounding as a
  deadlift breaks from the floor, seen by a lone lumbar sensor) is part of the movement
  out of the rest, not a turn of its own.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np

from tracker.analysis.exercises import (
    HIPS_MOVE,
    HIPS_REVERSAL_MPS2,
    LYING_BACK_DEG,
    SetDecision,
    SetFeatures,
    classify,
    named,
)
from tracker.analysis.gait import GaitDetector, feet_off_floor
from tracker.analysis.models import YES_PROBABILITY, PairFeatures, model
from tracker.analysis.settings import SegmentationSettings
from tracker.analysis.stats import median
from tracker.analysis.turning import TurningPoint

#: Height of a lumbar sensor (L1-L3) above the hip joints (m), for a lone lumbar sensor.
LUMBAR_SENSOR_RADIUS_M = 0.25
#: Drop of the hips in a hip hinge with soft knees (m); more means the knees bend.
HINGE_HIP_DROP_M = 0.10
#: A movement that comes back from a turn by less than this share of the movement into
#: it, and settles still there, was an overshoot of the rest: at a pull-through's or a
#: swing's lockout the lifter leans back past standing (15-20 deg, the hips snapped
#: through) and comes back upright. A rep's next half comes back by nearly all of it.
OVERSHOOT_SHARE = 0.5
#: How far from its start a rep may end and still have returned to its rest: at least
#: this many degrees (a standing rest varies by a few degrees rep to rep) ...
MIN_RETURN_DEG = 10.0
#: ... or this share of the rep's amplitude, deep reps varying more in where they end.
RETURN_SHARE = 0.3
#: The share for a rest bent over the weight (a deadlift's bar on the floor): where
#: standing stacks the joints in one posture, the lifter sets up at the bar anew each
#: rep, the hips higher or lower with the knees taking up the difference, so the rest's
#: hinge angle varies more (up to a third of the pull). Sitting down or lying back still
#: ends much further off: half the amplitude and more.
BENT_REST_RETURN_SHARE = 0.4
#: A rep resting bent over the weight may end short of where it started, less bent, if
#: it comes back down at least this share of the way it went up: setting the bar down
#: on the floor, the lifter bends the knees more and the hips less than at the pull, so
#: the hinge angle stops 20-30 deg short of the rest it left (the last rep of a set, before
#: standing up to leave the bar). Sitting or lying down ends at or past standing instead.
BENT_REST_SET_DOWN_SHARE = 0.5
#: Lumbar flexion at rest between two cycles beyond that of the rest before them that
#: means sitting down, or, after a rest flexed this much beyond standing's zero, short of
#: it that means getting up (deg). Seated and slumped it is 18-30°; standing between
#: reps, the spine rests near neutral, or extended after an over-extended lockout.
SEATED_LUMBAR_DEG = 12.0
#: Walking in a rest: vertical acceleration of the hips with a standard deviation over
#: this (m/s^2) in some stretch of this length (s). Measured on the simulated suites
#: (draws 1000-3000): walks after a pick-up 1.46-2.81; rests between reps of a set at most
#: 0.94 (a bar set down on the floor), standing 0.02-0.15.
WALK_SD_MPS2 = 1.2
WALK_WINDOW_S = 1.5
#: Extra lumbar flexion of a rounded rep over a good one (deg), as a lone lumbar sensor
#: sees it on top of the hinge.
LUMBAR_ROUNDING_DEG = 20.0
#: Extra drop of the hips (beyond what a deeper hinge explains) on the way down that
#: marks a cycle as reaching for the floor (`RepSegmenter._drops_lower`). Rep to rep,
#: hinges (hips at one height) vary by less: 5% of the reps of RDLs, good mornings, wall
#: hinges and pull-throughs in the simulated suite lie 0.02-0.05 m below their set's
#: median; putting the bar or handle down lies 0.04-0.4 m below it.
ODD_DROP_M = 0.06
#: A set resting at the bottom whose reps pause at their turn, the lockout, for at least
#: `PAUSED_TURN_S` (median): a cycle pausing there for less than `SKIPPED_PAUSE_SHARE`
#: of that is not one of its reps (in sets resting standing, where the turn is the
#: bottom, 7 reps of both simulators and 1 other movement skipped the pause). Of
#: the cycles judged against a set in draws 1000-4000 of the simulated suite, 1 of 2,338
#: reps and 62 of 291 other movements (mostly getting up after hip thrusts, letting go
#: of a deadlift bar) did that; at 40% it was 2 reps, and a pick-up and put-down pair
#: was split off as a set of its own. A last rep with a short lockout (dropping the bar)
#: keeps more than a fifth of the set's pause.
PAUSED_TURN_S = 0.3
SKIPPED_PAUSE_SHARE = 0.2


@dataclass(frozen=True)
class Beyond:
    """A quantity "clearly" beyond a typical one: over ``factor`` times it plus
    ``margin`` (in its unit), so that short typical values (a touch-and-go rep's
    0.0-0.1 s pause) still leave room for the `HOLD_RESOLUTION_S` of measuring them."""

    factor: float
    margin: float

    def exceeded(self, value: float, typical: float) -> bool:
        return value > self.factor * typical + self.margin


# How `RepSegmenter._odd` tells picking the weight up or putting it down from a rep of
# the set it is judged against, sign by sign. All were set by hand on draws 1000-3000 of
# this project's simulator, none fitted on data it did not make; the independent
# simulator and real squats (`bench/accuracy.py --data`) judge them.
#: A longer stillness at the turn (s): gripping or letting go of the weight.
ODD_PAUSE_S = Beyond(1.6, 0.15)
#: A longer rest next to the cycle than between the reps (s): setting the grip, bracing.
ODD_REST_S = Beyond(1.6, 0.3)
#: A turn at another depth than the reps' (the floor): beyond this many degrees or this
#: share of the reps' amplitude, whichever is more (deep reps vary more in depth).
ODD_DEPTH_DEG = 8.0
ODD_DEPTH_SHARE = 0.15
#: ... except in sets whose reps move the hips up and down (squats, deadlifts from the
#: floor, hip thrusts), when the cycle moved them as far as the reps do, to within this
#: share: there the hips' travel is the rep's depth, and the hinge angle at the turn
#: varies with how upright the lifter stays (a pelvis tilting 35 deg in one squat and
#: 15 in the next, the hips going as low). A weight set down or picked up from the floor
#: moves the hips another way (the drop measured over a descent is good to ~0.05 m).
SAME_HIP_TRAVEL_SHARE = 0.25
#: A stillness at the turn that alone marks the cycle (s): holding the weight still on
#: the floor far longer than any rep.
ODD_LONG_PAUSE_S = Beyond(3.0, 0.5)
#: A swing's half out or back this much slower than the reps' (s): a swing set's tempo
#: is regular, the bell's hike and park are not.
ODD_SWUNG_SLOW_S = Beyond(2.0, 0.5)
#: The way down of a rep takes this share of the reps' typical one, at least and at most:
#: lowering a weight to the floor or a slow stretch takes another tempo than the set's
#: controlled eccentric.
ODD_DOWN_SHARES = (0.7, 1.6)
#: Signs that make a cycle odd: fewer when one of them touches the weight (a longer
#: pause at the turn, or the hips dropping to reach the floor). Depth, tempo and the
#: rest before vary from rep to rep (uneven depth, tired last reps going shallower and
#: faster), and two of them alone mark reps about as often as put-downs.
ODD_SIGNS = 3
ODD_SIGNS_TOUCHING = 2
# How `RepSegmenter._pick_up_before` tells picking the weight up before a set (s), set
# by hand on this project's simulator like the signs above.
#: Held still at the bottom to grip, beyond the hold at the bottom of the next rep.
PICK_UP_GRIP_S = Beyond(2.0, 0.3)
#: Standing to set up after it, beyond the rest after the next rep ...
PICK_UP_SET_UP_S = Beyond(2.0, 0.7)
#: ... together with a grip hold beyond this.
PICK_UP_SET_UP_GRIP_S = Beyond(1.5, 0.2)
#: The rest between the first two reps of a set is a breather: at most this long (s) or
#: this many times the first rep's duration, whichever is longer (sitting down between
#: two stand-ups, or standing about between two pick-ups, is not a set).
BREATHER_S = 6.0
BREATHER_REPS = 1.5
# How alike two doubtful cycles in a row must be to be another set's reps
# (`RepSegmenter._similar`), leniently: a rounded rep reaches further than a good one,
# fatigue slows reps. Set by hand on this project's simulator.
#: The larger amplitude at most this many times the smaller.
SIMILAR_AMPLITUDE_RATIO = 1.8
#: Turning within this many degrees of each other, or this share of the smaller
#: amplitude, whichever is more (plus the lumbar rounding a lone lumbar sensor adds).
SIMILAR_TURN_DEG = 12.0
SIMILAR_TURN_SHARE = 0.45
#: The longer cycle at most this many times the shorter.
SIMILAR_DURATION_RATIO = 2.2
#: The longer pause at the turn not beyond the shorter by this (s).
SIMILAR_PAUSE_S = Beyond(2.5, 0.5)
#: The angle is back near a turn's level within this many degrees or this share of the
#: movement from it, whichever is more (`RepSegmenter._half_cycle`: only the final
#: approach from there is the movement).
NEAR_BAND_DEG = 4.0
NEAR_BAND_SHARE = 0.12
#: A movement's ends are where its rate falls below this share of its peak rate, so slow
#: grinds and fast swings are cut at the same point of their velocity profile, and never
#: below this rate (deg/s): standing sway and sensor noise move the angle by a few.
STILL_RATE_SHARE = 0.08
STILL_RATE_FLOOR_DEG_S = 5.0
#: A set-up at a bar on the floor (`RepSegmenter._set_up_hold`): held still at a bottom
#: for at least this long (s: gripping and bracing) and beyond the later bottoms' holds.
SET_UP_HOLD_S = 2.0
SET_UP_HOLD_BEYOND_S = Beyond(2.0, 0.5)
#: A cycle turning a whole rep's amplitude, and at least this much (deg), away from where
#: the reps turn is another movement (`RepSegmenter._displaced`).
DISPLACED_MIN_DEG = 20.0
#: An upright turn of the angle is no rest when the hips turn from going down to going up
#: around it: the mean vertical acceleration over `BOTTOM_WINDOW_S` either side of it
#: (the change of vertical velocity across the window over its length) above
#: `HIPS_BOTTOM_MPS2`. At the bottom of a squat whose pelvis tucks under (butt wink) the
#: trunk angle turns back up while the hips reverse from ~0.5 m/s down to ~0.5 m/s up
#: (1.7 m/s^2 over 0.6 s); standing at a top, the hips are still or slowing their rise
#: (0 or less, plus tilt error: 2 deg of error give 0.34).
HIPS_BOTTOM_MPS2 = 1.0
BOTTOM_WINDOW_S = 0.3
#: An upright turn further than the rest before it is the bottom of a squat (not a
#: deeper rest) only once the hips have come down at least this far from that rest (m):
#: a partial squat lowers them 0.15-0.2 m, a full one 0.3-0.5 m, while the bounce of a
#: jog or a stride, which turns the hips up at every footstrike, is 3-8 cm.
SQUAT_TUCK_DROP_M = 0.15
#: How finely a stillness is measured (s): a still stretch is cut at a share of the
#: movement's peak rate, a few samples either way.
HOLD_RESOLUTION_S = 0.1
#: Cycles passed over before a set opens that are kept to be judged again against its
#: reps once it does (`RepSegmenter._lead_in`): a set's first reps, one or two.
LEAD_IN_KEPT = 2
#: Why a movement is sitting down or getting up by `RepSegmenter._seated_between`.
SITTING_DOWN = (
    "the lumbar spine rested more or less flexed after it than before: sitting down or getting up"
)
#: Why a movement is a pick-up by `RepSegmenter._pick_up_before`.
PICKING_UP = "held still at a turn much longer than the movement after it: picking up"
#: Doubtful cycles in a row kept until the set goes on (then they were reps) or ends:
#: two, as a set's tired or uneven reps can differ from the rest two in a row.
HELD_KEPT = 2
#: Doubtful cycles in a row, alike, that end a set and start the search for one at the
#: first of them (two are often a put-down and another bend; a set has more reps).
ODD_RUN_NEW_SET = 3


@dataclass
class Turn:
    """A turning point with the still stretch around it (timeline sample indices)."""

    tp: TurningPoint
    arrive: int
    leave: int | None = None
    #: Put in at the end of a rest that the angle left the same way (`_plateau_end`).
    at_plateau: bool = False

    @property
    def is_max(self) -> bool:
        return self.tp.is_max

    @property
    def value(self) -> float:
        return self.tp.value_deg


@dataclass
class Cycle:
    """Candidate rep: rest -> peak -> rest turns."""

    a: Turn
    p: Turn
    b: Turn


def _left(t: Turn) -> int:
    """Where the angle left ``t``, for a turn already left (the reps a cycle is compared
    with have left their rest and peak turns: they are filtered so)."""
    assert t.leave is not None
    return t.leave


@dataclass(frozen=True)
class Verdict:
    """Why a candidate cycle was counted or not: its span (timeline sample indices,
    leaving its start to arriving at its end), ``rep`` / ``dropped`` / ``no set``, and
    the evidence that decided it, in words."""

    start: int
    end: int
    verdict: str
    reason: str


@dataclass
class OpenSet:
    rest_is_max: bool
    turns: list[Turn]
    #: Index into ``turns`` of the next rest turn that may start a rep.
    next_rest: int
    #: The exercise and rest position, with the evidence for them.
    decision: SetDecision
    reps: list[Cycle] = field(default_factory=list)
    #: A doubtful last cycle, kept until the set goes on or ends, and why it is doubtful.
    #: Doubtful cycles in a row (at most `HELD_KEPT`), kept until the set goes on or
    #: ends, each with why it is doubtful.
    held: list[tuple[Cycle, str]] = field(default_factory=list)
    #: The latest doubtful cycles in a row, each like the one before.
    odd_run: list[Cycle] = field(default_factory=list)
    #: The rest turn of the first of the two cycles that opened the set.
    first: Turn | None = None


class RepSegmenter:
    """Turns -> sets and reps. Reads the timeline's lean, the hinge angle and its rate."""

    def __init__(
        self,
        settings: SegmentationSettings,
        period_s: float,
        exercise: str | None = None,
        hinge_radius_m: float = 0.0,
        lean_has_lumbar: bool = False,
    ) -> None:
        self.s = settings
        #: The exercise the user named (its rest position follows), None to decide per set.
        self.forced = None if exercise is None else named(exercise)
        self.period_s = period_s
        self._gait = GaitDetector(period_s)
        self.chain: list[Turn] = []
        self.open: OpenSet | None = None
        #: Set by `_update_set` when it finds the open set had ended before a cycle.
        self.set_ended_early = False
        #: Timeline index at which the last turn was confirmed (`add_turn`'s ``now``).
        self._last_turn_at = 0
        self._vert: np.ndarray | None = None
        #: `_knee_drop_m` of the open set's cycles, by (start, bottom) index: its reps
        #: are compared with every later cycle.
        self._knee_drops: dict[tuple[int, int], float | None] = {}
        self._lumbar: np.ndarray | None = None
        self._unreliable: np.ndarray | None = None
        self._hinge: np.ndarray | None = None
        #: Height of the hinge sensor above the hip joint (m): a pure hinge about the
        #: hips lowers it by radius * (1 - cos(incline)). About 0 for the sacrum.
        self.hinge_radius_m = hinge_radius_m
        #: Cycles passed over while no set was open, the latest last (`_lead_in`).
        self._passed_over: list[Cycle] = []
        #: Upright turns of the angle passed over as the bottom of a squat
        #: (`_hips_turn_up`), by timeline index: the movement goes on through them.
        self._squat_bottoms: list[int] = []
        #: Verdicts on candidate cycles since the caller last took them (`take_verdicts`).
        self.verdicts: list[Verdict] = []
        #: An angle that includes lumbar flexion (a lone lumbar sensor's, or the lean
        #: of two sensors) can reach this much further in one rep than in the next when
        #: the back rounds in it.
        self._rounding_deg = LUMBAR_ROUNDING_DEG if lean_has_lumbar else 0.0

    # -- boundaries ------------------------------------------------------------------
    @staticmethod
    def _near_band_deg(amplitude: float) -> float:
        return max(NEAR_BAND_DEG, NEAR_BAND_SHARE * amplitude)

    def _half_cycle(self, h: np.ndarray, rate: np.ndarray, last: Turn, turn: Turn) -> None:
        """Boundaries of the movement last -> turn.

        ``leave`` and ``arrive`` bound the movement itself: it runs from the last still
        sample before its fastest point to the first still sample after it. "Still" is
        relative to that peak rate, so slow grinds and fast swings are cut at the same
        point of their velocity profile. Only the final approach counts (after the angle
        was last near ``last``'s value): walking about in between is not the movement.
        Through the bottom of a squat where the angle turned back (`_squat_bottoms`),
        the arrival comes after it, on the way up from the last extreme after it: the
        angle still at that bottom is not the rest. From a rest to a peak through such
        a bottom (with the hips `SQUAT_TUCK_DROP_M` down there), the rest is left on the
        first lean and the peak reached on the way up out of the bottom.
        """
        a, b = last.tp.index, turn.tp.index
        band = self._near_band_deg(abs(turn.value - last.value))
        seg = h[a : b + 1]
        r = np.abs(rate[a : b + 1])
        # (a bottom passed over lies between a peak and the rest after it)
        bottoms = [k - a for k in self._squat_bottoms if a < k < b] if last.is_max else []
        bottom = max(bottoms, default=None)
        near = np.flatnonzero(np.abs(seg - last.value) < band)
        if bottom is not None:
            near = near[near < bottom]  # leaving ``last`` is on the way into the bottom
        tucks = [k - a for k in self._squat_bottoms if a < k < b] if not last.is_max else []
        tucks = [k for k in tucks if self._lowered_m(a, a + k) >= SQUAT_TUCK_DROP_M]
        if bottom is None and tucks:
            # From a rest to a peak through the bottom of a squat (the trunk leaned
            # forward on the way down, tucked under at the bottom, leaned again on the
            # way up): on the way into the bottom the angle passes the rest's level
            # again, but the rest was left where the angle first left its level.
            away = np.flatnonzero(np.abs(seg[: min(tucks)] - last.value) >= band)
            near = near[near < (int(away[0]) if len(away) else min(tucks))]
        final = int(near[-1]) if len(near) else 0
        end = len(seg) if bottom is None else bottom + 1
        if bottom is None and tucks:
            # Leaving: the fastest point of the first lean, before it turns for the tuck.
            end = final + int(np.argmax(seg[final : min(tucks) + 1])) + 1
        fastest = final + int(np.argmax(r[final:end]))
        thr = max(STILL_RATE_FLOOR_DEG_S, STILL_RATE_SHARE * float(r[fastest]))
        still = np.flatnonzero(r[: fastest + 1] < thr)
        last.leave = a + (int(still[-1]) if len(still) else 0)
        if bottom is None and tucks:
            # Arriving: on the way up out of the last tuck.
            fastest = max(tucks) + int(np.argmax(r[max(tucks) :]))
            thr = max(STILL_RATE_FLOOR_DEG_S, STILL_RATE_SHARE * float(r[fastest]))
        if bottom is not None:
            after = seg[bottom:]
            final = bottom + int(np.argmax(after))
            fastest = final + int(np.argmax(r[final:]))
            thr = max(STILL_RATE_FLOOR_DEG_S, STILL_RATE_SHARE * float(r[fastest]))
        still = np.flatnonzero(r[fastest:] < thr)
        turn.arrive = a + fastest + (int(still[0]) if len(still) else b - a - fastest)

    # -- chain -----------------------------------------------------------------------
    def add_turn(
        self,
        tp: TurningPoint,
        rate: np.ndarray,
        h: np.ndarray,
        vert: np.ndarray | None = None,
        lumbar: np.ndarray | None = None,
        unreliable: np.ndarray | None = None,
        now: int | None = None,
        hinge: np.ndarray | None = None,
    ) -> tuple[list[Cycle], bool]:
        """Add a confirmed turning point; return (new reps of the open set, set ended).

        ``h`` is the angle the turns come from (the timeline's lean), ``rate`` the rate
        a movement's boundaries are found on (the hinge's); ``hinge`` is the hinge angle,
        when it differs from ``h`` (two sensors), for the features the exercise is told
        by (`set_features`) and for a rep's return to its start. ``vert`` is the hinge
        sensor's vertical acceleration (m/s^2, gravity removed), used to tell
        knee-dominant lifts (deadlift, squat) from hip hinges and the bottom of a squat
        from standing; ``lumbar`` is lumbar flexion (deg, NaN where not measured; not
        trusted where ``unreliable``), used to tell sitting. ``now`` is the index at
        which the turn was confirmed: nothing after it is read, so a
        stream fed in blocks decides as the whole recording does."""
        self._vert = vert if vert is None or now is None else vert[: now + 1]
        # A set times out counting from the last turn that began or ended a movement:
        # reversals merged away below (gait sway, a wiggle on the way, a rest's extreme
        # moved by a few degrees) are no movement of the set's.
        kept_at = self._last_turn_at
        self._last_turn_at = tp.index if now is None else now
        self._lumbar = lumbar
        self._unreliable = unreliable
        self._hinge = hinge
        ended = False
        self.set_ended_early = False
        if self.chain:
            last = self.chain[-1]
            if last.is_max == tp.is_max:
                further = (tp.value_deg > last.value) == tp.is_max and tp.value_deg != last.value
                if not further:
                    self._last_turn_at = kept_at
                    return [], False
                if (
                    not tp.is_max
                    and self._hips_turn_up(tp.index)
                    and self._lowered_m(last.tp.index, tp.index) >= SQUAT_TUCK_DROP_M
                ):
                    # Further upright than the rest before it, but with the hips lowered
                    # and turning up there: the pelvis tucking under at the bottom of a
                    # squat whose trunk leaned less than a rep's size on the way down.
                    # The rest stays.
                    self._note_squat_bottom(tp.index)
                    return [], False
                plateau = self._plateau_end(h, last, tp)
                # A rest the movement into ``tp`` left from, if later than ``last``
                # and any rest at ``last``.
                anchor = self._rest_before(h, tp)
                if anchor is not None and anchor.tp.index <= (
                    last.tp.index if plateau is None else plateau
                ):
                    anchor = None
                if plateau is not None and anchor is None and not self._back_at_start(last, tp):
                    # The angle rested at ``last`` and then moved on the same way (lying
                    # back onto the bench, then thrusting): the rest is a turn of both
                    # kinds, so a rep can start from it.
                    # Its value is the level rested at, not the edge of the stay.
                    level = float(np.median(h[last.tp.index : plateau + 1]))
                    start = Turn(
                        TurningPoint(plateau, level, not tp.is_max), plateau, at_plateau=True
                    )
                    self._half_cycle(h, rate, last, start)
                    self.chain.append(start)
                    turn = Turn(tp, tp.index)
                    self._half_cycle(h, rate, start, turn)
                    self.chain.append(turn)
                    new = self._update_set()
                    return new, self.set_ended_early
                # The angle went back to a resting level after ``last`` (standing
                # between two bumps while walking about) and this movement left it:
                # the rest is a turn, so the first rep keeps its start.
                if anchor is not None:
                    turn = Turn(tp, tp.index)
                    if len(self.chain) == 1:
                        self.chain = [anchor]
                    else:
                        self._half_cycle(h, rate, last, anchor)
                        self.chain.append(anchor)
                    self._half_cycle(h, rate, anchor, turn)
                    self.chain.append(turn)
                    new = self._update_set()
                    return new, self.set_ended_early
                # A wiggle on the way: keep the more extreme turn (no new movement, so
                # no later timeout either).
                self._last_turn_at = kept_at
                replaced = Turn(tp, tp.index)
                if len(self.chain) > 1:
                    self._half_cycle(h, rate, self.chain[-2], replaced)
                self.chain[-1] = replaced
                if self.open is None or len(self.open.turns) <= self.open.next_rest + 2:
                    return [], False
                # A cycle that waited for its end to move on (`_end_may_move_on`) is
                # judged now that it has.
                new = self._update_set()
                return new, self.set_ended_early
            if not tp.is_max and self._hips_turn_up(tp.index):
                # The angle turned back towards upright at the bottom of a squat (the
                # pelvis tucking under): one movement down and up, not a rest.
                self._note_squat_bottom(tp.index)
                return [], False
            if self._settled_rebound(last, tp):
                # The angle overshot its rest (leaning back past standing at a lockout)
                # and settled back: the movement into ``last`` ended at this still
                # rest, which is the turn its rep ends at and the next one starts from.
                rest = Turn(TurningPoint(tp.index, tp.value_deg, last.is_max), tp.index)
                self._half_cycle(h, rate, self.chain[-2], rest)
                rest.arrive = max(rest.arrive, tp.index)
                self.chain[-1] = rest
                new = self._update_set()
                return new, self.set_ended_early
            amplitude = abs(tp.value_deg - last.value)
            if amplitude < self.s.min_rep_amplitude_deg:
                if len(self.chain) == 1:
                    # No movement yet: the latest turn is the best anchor for one.
                    self.chain = [Turn(tp, tp.index)]
                else:
                    self._last_turn_at = kept_at
                return [], False  # a wiggle inside a movement: ignore it
            if self._bump_leaving_rest(tp):
                # The angle left a rest with a quick bump the same way (the back rounding
                # as a deadlift breaks from the floor, seen by a lone lumbar sensor) and
                # then went on past the rest: one movement from the rest, not two.
                o = self.open
                if o is None or len(self.chain) < 4 or self.chain[-3].is_max == o.rest_is_max:
                    del self.chain[-2:]
                else:
                    # The stay was a pause on the way to a rep's peak (a hip thrust
                    # paused on the way up): the turns either side of it are one peak,
                    # the further of the two.
                    peak = self.chain[-1]
                    del self.chain[-3:]
                    self._half_cycle(h, rate, self.chain[-1], peak)
                    self.chain.append(peak)
                last = self.chain[-1]
                if o is not None and o.next_rest >= len(self.chain):
                    # The set had judged (and dropped) the movement into the rest just
                    # taken out: it is judged again, ending where this one does.
                    o.next_rest -= 2
            turn = Turn(tp, tp.index)
            self._half_cycle(h, rate, last, turn)
            assert last.leave is not None  # set by _half_cycle
            motion_s = (turn.arrive - last.leave) * self.period_s
            if motion_s > self.s.max_half_rep_s:
                # Too slow to be part of a rep: the earlier turn is stale (walking or
                # shifting came in between). Start afresh from where this movement left
                # its resting level, so the first rep of a new set keeps its start.
                ended = self.close_set()
                anchor = self._rest_before(h, tp)
                turn = Turn(tp, tp.index)
                if anchor is None:
                    self.chain = [turn]
                    return [], ended
                self._half_cycle(h, rate, anchor, turn)
                self.chain = [anchor, turn]
                return [], ended
            self.chain.append(turn)
        else:
            self.chain.append(Turn(tp, tp.index))
        new = self._update_set()
        return new, ended or self.set_ended_early

    def _back_at_start(self, last: Turn, tp: TurningPoint) -> bool:
        """``tp``, at the open set's rest extreme like ``last``, lies back at the rest the
        cycle into ``last`` started from (within a rep's return tolerance), and ``last``
        does not: the pause at ``last`` was on the way back (a squat's sticking point,
        the pelvis holding tucked while the hips rise), not a rest to move on from."""
        o = self.open
        if o is None or o.rest_is_max != tp.is_max or len(self.chain) < 3:
            return False  # (only back at a set's rest: `tp` ends one of its cycles)
        start, peak = self.chain[-3].value, self.chain[-2].value
        tol = self._return_tolerance_deg(abs(peak - start))
        return abs(tp.value_deg - start) <= tol < abs(last.value - start)

    def _settled_rebound(self, last: Turn, tp: TurningPoint) -> bool:
        """``tp`` is where the angle settled still (the turn was confirmed by the pause)
        after coming back from ``last`` towards the rest the movement into ``last``
        started from, by less than `OVERSHOOT_SHARE` of that movement, from beyond that
        rest: the movement overshot its rest and came back to it."""
        if not tp.settled or len(self.chain) < 3:
            return False
        start = self.chain[-3].value
        into = abs(last.value - self.chain[-2].value)
        beyond = (start - last.value) * (1.0 if tp.is_max else -1.0)
        return (
            abs(tp.value_deg - last.value) < OVERSHOOT_SHARE * into
            and beyond > 0.0
            and abs(tp.value_deg - start) < beyond
        )

    def _bump_leaving_rest(self, tp: TurningPoint) -> bool:
        """The turn before last was put in at the end of a rest, and ``tp`` lies beyond
        that rest, away from the last turn, by a rep's size and by more than the last
        turn rose above the rest: the rest -> last turn stretch was a blip on the way out
        of the rest (lying back onto a bench and thrusting comes back to the rest)."""
        if len(self.chain) < 3 or not self.chain[-2].at_plateau:
            return False
        o = self.open
        rest_turn = self.chain[-2]
        if o is not None and (
            any(c.b is rest_turn for c in o.reps) or any(c.b is rest_turn for c, _ in o.held)
        ):
            return False  # the movement into the rest is a rep (or held as one): keep it
        rest = rest_turn.value
        beyond = tp.value_deg - rest if tp.is_max else rest - tp.value_deg
        bump = abs(self.chain[-1].value - rest)
        return beyond >= max(self.s.min_rep_amplitude_deg, bump)

    def _plateau_end(self, h: np.ndarray, last: Turn, tp: TurningPoint) -> int | None:
        """End of a rest at ``last`` before the angle moved on towards ``tp``, if the
        angle stayed near ``last`` for at least ``settle_s`` and then moved a rep's worth."""
        if abs(tp.value_deg - last.value) < self.s.min_rep_amplitude_deg:
            return None
        band = self._near_band_deg(abs(tp.value_deg - last.value))
        seg = h[last.tp.index : tp.index + 1]
        away = np.flatnonzero(np.abs(seg - last.value) >= band)
        if not len(away):
            return None
        end = last.tp.index + int(away[0]) - 1
        # The stay counts from the arrival near the extreme, which can come late in a
        # pause (the angle creeping while the lifter braces).
        first = min(last.arrive, last.tp.index)
        before = np.flatnonzero(np.abs(h[first : last.tp.index + 1] - last.value) >= band)
        if len(before):
            first += int(before[-1]) + 1
        if (end - first) * self.period_s < self.s.settle_s:
            return None
        return end

    def _rest_before(self, h: np.ndarray, tp: TurningPoint) -> Turn | None:
        """A turn at the resting level the movement into ``tp`` started from."""
        n = round(self.s.max_half_rep_s / self.period_s)
        lo = max(0, tp.index - n)
        w = h[lo : tp.index + 1]
        if len(w) < 2:
            return None
        rest = float(w.min() if tp.is_max else w.max())
        if abs(tp.value_deg - rest) < self.s.min_rep_amplitude_deg:
            return None
        band = self._near_band_deg(abs(tp.value_deg - rest))
        near = np.flatnonzero(np.abs(w - rest) < band)
        # The turn lies at the extreme of the last stay near that level, where the
        # movement set off: the edge of the band can come a third of a second into it.
        gaps = np.flatnonzero(np.diff(near) > 1)
        first = int(near[gaps[-1] + 1] if len(gaps) else near[0])
        stay = w[first : int(near[-1]) + 1]
        i = lo + first + int(np.argmin(stay) if tp.is_max else np.argmax(stay))
        if tp.is_max and self._hips_turn_up(i):
            return None  # the bottom of a squat, not a rest (`_hips_turn_up`)
        return Turn(TurningPoint(i, float(h[i]), not tp.is_max), i)

    def _hips_turn_up(self, index: int) -> bool:
        """Do the hips turn from going down to going up around ``index``
        (`HIPS_BOTTOM_MPS2`)? Then an upright turn of the angle there is the bottom of a
        squat, not standing."""
        if self._vert is None:
            return False
        w = round(BOTTOM_WINDOW_S / self.period_s)
        v = self._vert[max(0, index - w) : index + w + 1]
        v = v[np.isfinite(v)]
        return len(v) > w and float(np.mean(v)) > HIPS_BOTTOM_MPS2

    def end_turn(self, h: np.ndarray, n: int) -> TurningPoint | None:
        """The turn that ends the recording's last movement, if the recording stopped
        on the way back to the open set's rest (before the angle settled there or turned
        again): the furthest sample of that movement. The turning-point tracker waits
        for a pause or a reversal to be sure no further sample follows; at the end of
        the recording none can. Whether it closes a rep is judged like any other turn."""
        o = self.open
        if o is None or not self.chain or self.chain[-1].is_max == o.rest_is_max:
            return None
        last = self.chain[-1]
        tail = h[last.tp.index + 1 : n]
        if not len(tail) or not np.isfinite(tail).any():
            return None
        k = int(np.nanargmax(tail) if o.rest_is_max else np.nanargmin(tail))
        value = float(tail[k])
        if abs(value - last.value) < self.s.min_rep_amplitude_deg:
            return None
        return TurningPoint(last.tp.index + 1 + k, value, o.rest_is_max)

    def _note_squat_bottom(self, index: int) -> None:
        """Keep ``index`` as the bottom of a squat the movement goes on through."""
        first = self.chain[0].tp.index
        self._squat_bottoms = [k for k in self._squat_bottoms if k >= first]
        self._squat_bottoms.append(index)

    def open_until(self) -> int | None:
        """The last timeline index at which the open set is still open if no turn comes:
        ``set_timeout_s`` after the confirmation of the last turn that began or ended a
        movement (`add_turn`); a set times out on the first sample past it, and the
        caller then calls `close_set`. None with no set open. A turn that does come
        after a longer rest finds the set ended before it by the same limit
        (`_update_set`)."""
        if self.open is None:
            return None
        return self._last_turn_at + round(self.s.set_timeout_s / self.period_s)

    def take_verdicts(self) -> list[Verdict]:
        """The verdicts reached since the last call (a later verdict on the same span
        supersedes an earlier one: cycles are judged again when a set search restarts)."""
        out, self.verdicts = self.verdicts, []
        return out

    def _decide(self, c: Cycle, verdict: str, reason: str) -> None:
        start = c.a.leave if c.a.leave is not None else c.a.arrive
        self.verdicts.append(Verdict(start, c.b.arrive, verdict, reason))

    def note_unjudged(self) -> None:
        """At the end of the recording: a verdict on each movement still waiting for
        one (too few for a set, or the last one, never confirmed)."""
        o = self.open
        if o is None:
            if len(self.chain) < 3:
                return
            rest_is_max = (self.forced or classify(self.set_features(self.chain))).rest_is_max
            first = next((k for k, t in enumerate(self.chain) if t.is_max == rest_is_max), 0)
            verdict, default = "no set", "no similar movement after it; a set opens on two"
        else:
            first = o.next_rest
            verdict, default = "dropped", "the recording ended before it could be confirmed"
        for k in range(first, len(self.chain) - 2, 2):
            c = Cycle(*self.chain[k : k + 3])
            self._decide(c, verdict, self._shape_problem(c) or default)

    def close_set(self) -> bool:
        was_open = self.open is not None
        if self.open is not None:
            for cyc, why in self.open.held:
                self._decide(cyc, "dropped", f"{why}, and the set ended after it")
        self.open = None
        if self.chain:
            self.chain = self.chain[-1:]
        return was_open

    def _update_set(self) -> list[Cycle]:
        new: list[Cycle] = []
        while self.open is None:
            # A set starts with two similar reps in a row: a pick-up, a sit-down or a
            # stretch before it differs from the reps (periodicity is what sets a set
            # apart from moving about). Six turns give the first two cycles whatever
            # extreme the reps rest at.
            if len(self.chain) < 6 or self.chain[-2].at_plateau:
                return []  # too few turns, or a bump out of a rest still undecided
            decision = self.forced or classify(self.set_features(self.chain))
            rest_is_max = decision.rest_is_max
            i = next(k for k, t in enumerate(self.chain) if t.is_max == rest_is_max)
            if i + 4 >= len(self.chain):
                return []
            c1 = Cycle(*self.chain[i : i + 3])
            c2 = Cycle(*self.chain[i + 2 : i + 5])
            if (why := self._not_opening(c1, c2, rest_is_max)) is not None:
                self._decide(c1, "no set", why)
                self._passed_over = [*self._passed_over[-LEAD_IN_KEPT + 1 :], c1]
                self.chain = self.chain[i + 1 :]
                continue
            self.open = OpenSet(rest_is_max, self.chain, i, decision, first=c1.a)
            self._knee_drops.clear()
            new = self._lead_in(c1, c2)
            self.open.reps.extend(new)
        o = self.open
        o.turns = self.chain
        while o.next_rest + 2 < len(o.turns):
            a, p, b = o.turns[o.next_rest : o.next_rest + 3]
            if p.at_plateau and b is o.turns[-1]:
                break  # a bump leaving the rest, or a rep: the next turn tells
            if o.reps and self._still_s(a) > self.s.set_timeout_s:
                # A rest longer than a set allows before this cycle: the set had ended
                # (it was only confirmed after the rest, by the turn of this cycle). Its
                # reps so far go out first; then the search for a set starts again here.
                if new:
                    break
                return self._restart_at(o.next_rest)
            if self._end_may_move_on(Cycle(a, p, b)):
                break
            o.next_rest += 2
            cyc = Cycle(a, p, b)
            verdict, why = self._judge(o, cyc)
            if verdict == "dropped":
                self._decide(cyc, verdict, why)
            if verdict == "hold":
                similar = bool(o.odd_run) and self._similar(o.odd_run[-1], cyc)
                o.odd_run = [*o.odd_run, cyc] if similar else [cyc]
            else:
                o.odd_run = []
            if len(o.odd_run) >= ODD_RUN_NEW_SET:
                # Cycles in a row unlike the set's reps but like each other: reps of
                # another set (a "set" taken from two bends before it, say, and then the
                # real one). The set ended before the first of them; the search for a
                # set starts again there (after this call's reps go out).
                if new:
                    o.next_rest -= 2
                    o.odd_run = o.odd_run[:-1]
                    break
                return self._restart_at(self.chain.index(o.odd_run[0].a))
            # Doubtful cycles followed by a rep were reps after all; followed by one
            # that is no rep at all, or by more doubtful ones than are kept, the set had
            # ended (put down, then moved on).
            if verdict == "hold" and len(o.held) == HELD_KEPT:
                first, first_why = o.held.pop(0)
                self._decide(first, "dropped", f"{first_why}, and no rep followed")
            if verdict == "rep":
                for held, held_why in o.held:
                    o.reps.append(held)
                    new.append(held)
                    self._decide(held, "rep", f"{held_why}, but a rep followed")
                o.held = []
                o.reps.append(cyc)
                new.append(cyc)
                self._decide(cyc, "rep", why)
            elif verdict == "hold":
                o.held.append((cyc, why))
            else:
                for held, held_why in o.held:
                    self._decide(held, "dropped", f"{held_why}, and no rep followed")
                o.held = []
        return new

    def _lead_in(self, c1: Cycle, c2: Cycle) -> list[Cycle]:
        """Reps just before the two that opened the set, passed over while the set was
        not yet open: the first rep of a set often differs from the second (the first
        after unracking or from a dead stop goes deeper or slower), which two similar
        reps in a row cannot show, but next to the set's reps it is one of them."""
        lead: list[Cycle] = []
        first = c1
        for cand in reversed(self._passed_over):
            if cand.b is not first.a:
                continue  # not the movement right before (or of the other kind)
            why = self._shape_problem(cand)
            if why is None and not self._rest_between_reps(cand):
                why = "rested longer than a breather after it"
            seated = self.open is not None and not self.open.rest_is_max
            if why is None and (
                self._walked_between(cand) or (seated and self._seated_between(cand))
            ):
                why = "walked or sat after it"
            if why is None and self._pick_up_before(cand, first):
                why = PICKING_UP
            if why is None:
                why = self._unlike_opening(cand, c1, c2)
            if why is not None:
                break
            self._decide(
                cand, "rep", "the set's first rep: unlike the second, but like the set's reps"
            )
            lead.insert(0, cand)
            first = cand
        self._passed_over = []
        return lead

    def _unlike_opening(self, cand: Cycle, c1: Cycle, c2: Cycle) -> str | None:
        """Why ``cand``, just before the two reps that opened a set, is not one of its
        reps, judged as any later cycle is against the set's reps (`_odd`), with the
        rest after it standing for the rest before (before a first rep, the lifter
        stood for as long as they liked); None if it is one of them."""
        assert self.open is not None
        if odd := self._odd_in(self.open, cand, [c1, c2], [c1.b], cand.b):
            return f"unlike the set's reps ({'; '.join(odd)})"
        return None

    def _not_opening(self, c1: Cycle, c2: Cycle, rest_is_max: bool) -> str | None:
        """Why ``c1`` followed by ``c2`` does not open a set (None if they do)."""
        if (why := self._shape_problem(c1)) is not None:
            return why
        if (why := self._shape_problem(c2)) is not None:
            return f"the movement after it is no rep ({why})"
        if not self._rest_between_reps(c1):
            return f"rested {self._still_s(c1.b):.1f} s after it, more than a breather"
        if not rest_is_max and self._seated_between(c1):
            return SITTING_DOWN
        if self._walked_between(c1):
            return "walked after it"
        return self._pair_against(c1, c2)

    def _pair_against(self, c1: Cycle, c2: Cycle) -> str | None:
        """Why ``c1`` and the ``c2`` after it are not two reps of one set, by how they
        compare (`tracker.analysis.models`; None if they are)."""
        if self._pick_up_before(c1, c2):
            return PICKING_UP
        m = model("opening")
        f = self.pair_features(c1, c2)
        p = m.probability(f)
        if p >= YES_PROBABILITY:
            return None
        return f"unlike the movement after it (chance of a set {p:.2f}: {m.against(f)})"

    def pair_features(self, c1: Cycle, c2: Cycle) -> PairFeatures:
        """How ``c1`` compares with the ``c2`` after it (`tracker.analysis.models`);
        both rep-shaped."""
        dt = self.period_s

        def amplitude(c: Cycle) -> float:
            return max(min(abs(c.p.value - c.a.value), abs(c.p.value - c.b.value)), 1.0)

        def duration(c: Cycle) -> float:
            return max((c.b.arrive - (c.a.leave or c.a.arrive)) * dt, dt)

        def down(c: Cycle) -> float:
            # Resting at the bottom (deadlifts), the way down is the second half.
            if c.a.is_max:
                return max((c.b.arrive - (c.p.leave or c.p.arrive)) * dt, dt)
            return max((c.p.arrive - (c.a.leave or c.a.arrive)) * dt, dt)

        a1, a2 = amplitude(c1), amplitude(c2)
        k1, k2 = self._knee_drop_m(c1), self._knee_drop_m(c2)
        return PairFeatures(
            amplitude_log_ratio=abs(math.log(a1 / a2)),
            turn_gap_share=abs(c1.p.value - c2.p.value) / min(a1, a2),
            duration_log_ratio=abs(math.log(duration(c1) / duration(c2))),
            turn_hold_gap_s=self._still_s(c1.p) - self._still_s(c2.p),
            turn_hold_log_ratio=math.log(
                (self._still_s(c1.p) + HOLD_RESOLUTION_S)
                / (self._still_s(c2.p) + HOLD_RESOLUTION_S)
            ),
            rest_after_share=self._still_s(c1.b) / duration(c1),
            rest_after_gap_s=self._still_s(c1.b) - self._still_s(c2.b),
            down_log_ratio=math.log(down(c1) / down(c2)),
            knee_drop_gap_m=0.0 if k1 is None or k2 is None else k1 - k2,
            amplitude_deg=a1,
        )

    def _end_may_move_on(self, c: Cycle) -> bool:
        """``c`` is not rep-shaped but ends at the chain's last turn, which a further
        turn of its kind still replaces until the angle turns back by a rep's size
        (`add_turn`, "a wiggle on the way"): judge it once the next turn is in. The
        pelvis tucking under at the bottom of a squat turns the angle back by more than
        the hysteresis and then on to the top, so a cycle judged at that bump would end
        half-way up."""
        return c.b is self.chain[-1] and not self._is_rep_shaped(c)

    def _restart_at(self, k: int) -> list[Cycle]:
        """The open set ended before turn ``k`` of the chain: look for a set from there."""
        self.set_ended_early = True
        self.open = None
        self.chain = self.chain[k:]
        return self._update_set()

    def _is_rep_shaped(self, c: Cycle) -> bool:
        return self._shape_problem(c) is None

    def _shape_problem(self, c: Cycle) -> str | None:
        """Why ``c`` is not rep-shaped (None if it is): both halves a rep's size, back
        where it started, within a rep's duration."""
        smallest = min(abs(c.p.value - c.a.value), abs(c.p.value - c.b.value))
        if smallest < self.s.min_rep_amplitude_deg:
            return (
                f"moved {smallest:.0f} deg one way; a rep moves at least "
                f"{self.s.min_rep_amplitude_deg:.0f} deg each way"
            )
        if c.a.leave is None:
            return "no still start"
        largest = max(abs(c.p.value - c.a.value), abs(c.p.value - c.b.value))
        if self._gait.in_gait(self._vert, c.a.leave, c.b.arrive + 1, largest, self._unreliable):
            return "walking, stairs or jogging: the hips shook at step frequency throughout"
        if feet_off_floor(self._vert, c.a.leave, c.b.arrive + 1, self._unreliable):
            return "running or jumping: the hips shook harder than planted feet allow"
        # A rep returns to its rest position; sitting down, lying back or walking off
        # ends somewhere else.
        tol = self._return_tolerance_deg(smallest, bent_rest=not c.p.is_max)
        moved = abs(c.a.value - c.b.value)
        # The pelvis too: seated, it tilts back while the lumbar spine slumps, so the
        # lean (which adds the slump) can end near standing. Not lying back: on a bench
        # the pelvis's rest between hip thrusts varies by more than a standing rest's.
        h = self._hinge
        pelvis = 0.0
        if h is not None and (start := float(h[c.a.tp.index])) > LYING_BACK_DEG:
            pelvis = abs(start - float(h[c.b.tp.index]))
        if max(moved, pelvis) > tol and not (self._fuller_rest(c) or self._set_down(c)):
            what = "ended" if moved >= pelvis else "the pelvis ended"
            return (
                f"{what} {max(moved, pelvis):.0f} deg from where it started; "
                f"a rep returns within {tol:.0f} deg"
            )
        took_s = (c.b.arrive - c.a.leave) * self.period_s
        if took_s > self.s.max_rep_s:
            return f"took {took_s:.1f} s; a rep takes at most {self.s.max_rep_s:.0f} s"
        return None

    def _fuller_rest(self, c: Cycle) -> bool:
        """One end of ``c`` is a touch-and-go reversal (left again before it was still
        for ``settle_s``) and the other lies beyond it, further into the rest: reps done
        back to back turn short of the full rest posture, while the first rep of a set
        leaves from it and the last returns to it. Sitting down or lying back ends in a
        still rest elsewhere, never in a reversal short of the start."""
        toward_rest = -1.0 if c.p.is_max else 1.0  # the rest lies below a peak at a max
        for rev, full in ((c.b, c.a), (c.a, c.b)):
            if (
                rev.leave is not None
                and self._still_s(rev) < self.s.settle_s
                and (full.value - rev.value) * toward_rest > 0.0
                and self._turned_back(rev)
            ):
                return True
        return False

    @staticmethod
    def _set_down(c: Cycle) -> bool:
        """A rep resting bent over the weight that ends less bent than it started, but
        back down at least `BENT_REST_SET_DOWN_SHARE` of the way: the bar set down."""
        if c.p.is_max or c.b.value >= c.a.value:
            return False  # rests upright, or ends further bent than it started
        return c.b.value - c.p.value >= BENT_REST_SET_DOWN_SHARE * (c.a.value - c.p.value)

    def _turned_back(self, t: Turn) -> bool:
        """The angle left ``t`` back the way it came: the next turn is not one put in at
        the end of a rest at ``t`` (`_plateau_end`). A pause on the way that the angle
        then left in the same direction (putting a bell down after the last swing) is no
        reversal."""
        k = next((j for j, u in enumerate(self.chain) if u is t), None)
        if k is None or k + 1 >= len(self.chain):
            return False
        return not self.chain[k + 1].at_plateau

    def _seated_between(self, c1: Cycle) -> bool:
        """Did the lifter rest between two upright-resting cycles with the lumbar spine
        clearly more flexed than in the rest before them, or clearly less after a seated
        rest? That is sitting down onto a bench (or getting up from it), not standing
        between two reps: standing, the spine rests near neutral or extended, seated it
        rests flexed, and a rep returns to the posture it started from."""
        if self._lumbar is None or c1.a.leave is None or c1.b.leave is None:
            return False
        before = self._trusted_lumbar(c1.a.arrive, c1.a.leave + 1)
        between = self._trusted_lumbar(c1.b.arrive, c1.b.leave + 1)
        if not (np.isfinite(before).any() and np.isfinite(between).any()):
            return False
        rest_before, rest_after = float(np.nanmedian(before)), float(np.nanmedian(between))
        if rest_after - rest_before > SEATED_LUMBAR_DEG:
            return True  # sat down
        # Got up: the rest before was seated (flexed beyond standing's zero by as much)
        # and the one after is not; an over-extended lockout rests a little extended,
        # which is no getting up.
        return rest_before > SEATED_LUMBAR_DEG and rest_before - rest_after > SEATED_LUMBAR_DEG

    def _walked_between(self, c1: Cycle) -> bool:
        """Did the lifter walk in the rest after ``c1``? Steps shake the hips up and
        down by several m/s^2 at about 2 Hz; between two reps of a set nobody walks,
        but after picking the weight (or a cable handle) up one often does."""
        if self._vert is None or c1.b.leave is None:
            return False
        v = self._vert[c1.b.arrive : c1.b.leave + 1]
        v = v[np.isfinite(v)]
        w = round(WALK_WINDOW_S / self.period_s)
        if len(v) < w:
            return False
        # The most shaken stretch: standard deviation in sliding windows (a steady offset
        # from a slightly wrong inclination is no shaking, and a bar touching the floor
        # is one jolt, not steps).
        s1 = np.concatenate(([0.0], np.cumsum(v)))
        s2 = np.concatenate(([0.0], np.cumsum(v * v)))
        mean = (s1[w:] - s1[:-w]) / w
        var = (s2[w:] - s2[:-w]) / w - mean * mean
        return float(var.max()) > WALK_SD_MPS2**2

    def _trusted_lumbar(self, a: int, b: int) -> np.ndarray:
        assert self._lumbar is not None
        lam = self._lumbar[a:b]
        if self._unreliable is not None:
            lam = np.where(self._unreliable[a:b], np.nan, lam)
        return lam

    def _pick_up_before(self, c1: Cycle, c2: Cycle) -> bool:
        """Picking the weight up (from the floor, a rack, the cable) before a set: the
        lifter holds still at the bottom to grip, clearly longer than at the bottom of
        the rep that follows, or grips and then stands to set up much longer than
        between reps."""
        grip_c1, grip_c2 = self._still_s(c1.p), self._still_s(c2.p)
        if PICK_UP_GRIP_S.exceeded(grip_c1, grip_c2):
            return True
        if c2.b.leave is None:
            return False  # the rest after the next rep is not over yet
        settle = PICK_UP_SET_UP_S.exceeded(self._still_s(c1.b), self._still_s(c2.b))
        return settle and PICK_UP_SET_UP_GRIP_S.exceeded(grip_c1, grip_c2)

    def _rest_between_reps(self, c1: Cycle) -> bool:
        """The pause between the first two reps is a breather at most (sitting down
        between two stand-ups, or standing about between two pick-ups, is not a set)."""
        assert c1.a.leave is not None  # a cycle's first two turns have been left
        rep_s = (c1.b.arrive - c1.a.leave) * self.period_s
        return self._still_s(c1.b) <= max(BREATHER_S, BREATHER_REPS * rep_s)

    def _similar(self, c1: Cycle, c2: Cycle) -> bool:
        """Two cycles alike enough to be consecutive reps of one exercise (doubtful
        cycles in a row that are alike are another set's reps)."""
        if c2.a.leave is None or c2.p.leave is None or c1.p.leave is None:
            return False
        amp1 = abs(c1.p.value - c1.a.value)
        amp2 = abs(c2.p.value - c2.a.value)
        if max(amp1, amp2) > SIMILAR_AMPLITUDE_RATIO * min(amp1, amp2):
            return False
        turns_within = max(SIMILAR_TURN_DEG, SIMILAR_TURN_SHARE * min(amp1, amp2))
        if abs(c1.p.value - c2.p.value) > turns_within + self._rounding_deg:
            return False
        assert c1.a.leave is not None  # (c1.p was left, so c1.a was)
        d1 = c1.b.arrive - c1.a.leave
        d2 = c2.b.arrive - c2.a.leave
        if max(d1, d2) > SIMILAR_DURATION_RATIO * min(d1, d2):
            return False
        s1, s2 = self._still_s(c1.p), self._still_s(c2.p)
        return not SIMILAR_PAUSE_S.exceeded(max(s1, s2), min(s1, s2))

    def _still_s(self, t: Turn) -> float:
        return (t.leave - t.arrive) * self.period_s if t.leave is not None else 0.0

    def _judge(self, o: OpenSet, c: Cycle) -> tuple[str, str]:
        """(``rep``, ``dropped`` (not rep-shaped) or ``hold`` (decide later), why).

        A cycle unlike the set's reps (`_odd`) is held until the set either goes on
        (then it was a rep) or ends (then it was putting the weight down)."""
        if (why := self._shape_problem(c)) is not None:
            return "dropped", why
        if c.a is o.first:
            # The first of the two similar cycles that opened the set.
            return "rep", f"opened a {o.decision.exercise.replace('_', ' ')} set"
        rest_ref = [r.b for r in o.reps[:-1]] + [r.a for r in o.reps[1:]]
        if odd := self._odd_in(o, c, o.reps, rest_ref, c.a):
            return "hold", f"unlike the set's reps ({'; '.join(odd)})"
        return "rep", "like the set's reps"

    def _odd_in(
        self, o: OpenSet, c: Cycle, reps: list[Cycle], rest_ref: list[Turn], rest_mine: Turn
    ) -> list[str]:
        """`_odd` for a cycle judged against the set ``o``, by its exercise."""
        exercise = o.decision.exercise
        swung = exercise == "kettlebell_swing"
        return self._odd(c, reps, rest_ref, rest_mine, swung, hips_level=exercise not in HIPS_MOVE)

    def _odd(
        self,
        c: Cycle,
        reps: list[Cycle],
        rest_ref: list[Turn],
        rest_mine: Turn,
        swung: bool,
        hips_level: bool,
    ) -> list[str]:
        """Is ``c`` picking the weight up or putting it down rather than one of ``reps``?
        What gives it away, in words (empty if nothing does).

        Both look like a rep from the back. What gives them away, compared with the
        reps: a longer stillness at the bottom (gripping, releasing), a longer rest
        between them and the reps (``rest_mine`` against ``rest_ref``: setting the grip,
        bracing), another depth (the floor), another tempo on the way down, in a swung
        set, whose tempo is regular, a much slower movement, and where the reps keep
        the hips at one height (``hips_level``: hinges), hips dropping further on the
        way down (bending the knees to reach the floor). The longer stillness or the
        drop of the hips and one more sign, or three signs without them, make it odd;
        so does a very long stillness at the bottom, or turning a whole rep's amplitude
        away from where the reps turn (getting up from the floor after hip thrusts), or
        no pause at the turn where the reps all pause.
        """
        dt = self.period_s
        ref = [r for r in reps if r.p.leave is not None and r.a.leave is not None]
        if not ref:
            return []
        peak_still = median([self._still_s(r.p) for r in ref])
        depth = median([r.p.value for r in ref])
        amplitude = median([abs(r.p.value - r.a.value) for r in ref])
        mine_still = self._still_s(c.p)
        votes: list[str] = []
        strong: list[str] = []
        paused_s = f"paused {mine_still:.1f} s at the turn, the reps {peak_still:.1f} s"
        paused_longer = ODD_PAUSE_S.exceeded(mine_still, peak_still)
        dropped = False
        if paused_longer:
            votes.append(paused_s)
        rest_ref = [t for t in rest_ref if t.leave is not None]
        if rest_ref and rest_mine.leave is not None:
            rest_still = median([self._still_s(t) for t in rest_ref])
            if ODD_REST_S.exceeded(mine := self._still_s(rest_mine), rest_still):
                votes.append(f"rested {mine:.1f} s next to it, the reps {rest_still:.1f} s")
        if abs(c.p.value - depth) > max(ODD_DEPTH_DEG, ODD_DEPTH_SHARE * amplitude) and not (
            not hips_level and self._same_hip_travel(c, ref)
        ):
            votes.append(f"turned at {c.p.value:.0f} deg, the reps at {depth:.0f} deg")
        if ODD_LONG_PAUSE_S.exceeded(mine_still, peak_still):
            strong.append(paused_s)
        # No pause at the lockout where every rep locks out (standing up from a deadlift
        # bar or off the floor after hip thrusts, having let go of the weight): only in
        # sets resting at the bottom, whose turn is the lockout. In sets resting
        # standing the turn is the bottom, and a rep that skips the pause there is a
        # touch-and-go rep (a tired last one); putting the weight down pauses longer.
        # A pause is the body still (`_still_pause_s`): at the bottom of a squat the
        # trunk angle can hold for half a second while the hips turn round, a hold whose
        # length varies rep to rep.
        paused = median([self._still_pause_s(r.p) for r in ref])
        if c.a.is_max and paused >= PAUSED_TURN_S and mine_still < SKIPPED_PAUSE_SHARE * paused:
            strong.append(f"no pause at the turn, where the reps pause {paused:.1f} s")
        if self._displaced(c, depth, amplitude):
            strong.append(f"turned at {c.p.value:.0f} deg, a whole rep from the reps' {depth:.0f}")
        if c.p.leave is not None and c.a.leave is not None:
            typ_out = median([r.p.arrive - _left(r.a) for r in ref]) * dt
            out_s = (c.p.arrive - c.a.leave) * dt
            if swung:
                typ_back = median([r.b.arrive - _left(r.p) for r in ref]) * dt
                back_s = (c.b.arrive - c.p.leave) * dt
                if ODD_SWUNG_SLOW_S.exceeded(out_s, typ_out) or ODD_SWUNG_SLOW_S.exceeded(
                    back_s, typ_back
                ):
                    strong.append(
                        f"swung out and back in {out_s:.1f} + {back_s:.1f} s, "
                        f"the reps {typ_out:.1f} + {typ_back:.1f} s"
                    )
            else:
                # Another tempo on the way down: lowering a weight to the floor is not
                # the set's controlled eccentric (nor is a slow stretch). Resting at the
                # bottom (deadlifts), the way down is the second half.
                # Only against reps whose way down has its rest end at the same level: a
                # rep from full standing goes further down, and longer, than one from a
                # touch-and-go reversal short of it (`_fuller_rest`).
                tol = self._return_tolerance_deg(amplitude)
                if c.a.is_max:
                    alike = [r for r in ref if abs(r.b.value - c.b.value) <= tol]
                    typ_down = median([r.b.arrive - _left(r.p) for r in alike or ref]) * dt
                    down_s = (c.b.arrive - c.p.leave) * dt
                else:
                    alike = [r for r in ref if abs(r.a.value - c.a.value) <= tol]
                    typ_down = median([r.p.arrive - _left(r.a) for r in alike or ref]) * dt
                    down_s = out_s
                if alike:
                    faster, slower = ODD_DOWN_SHARES
                    if not faster * typ_down <= down_s <= slower * typ_down:
                        votes.append(f"went down in {down_s:.1f} s, the reps in {typ_down:.1f} s")
                    if hips_level and self._drops_lower(c, alike):
                        dropped = True
                        votes.append("the hips dropped further than in the reps")
        if strong:
            return strong
        # (`ODD_SIGNS`: gripping or letting go of the weight holds the body still at the
        # turn; reaching the floor drops the hips)
        needed = ODD_SIGNS_TOUCHING if paused_longer or dropped else ODD_SIGNS
        return votes if len(votes) >= needed else []

    @staticmethod
    def _return_tolerance_deg(amplitude_deg: float, *, bent_rest: bool = False) -> float:
        """How far from its start a rep of this amplitude may end and still have
        returned: rest postures vary rep to rep by a few degrees, more in deep reps, and
        more still in a rest bent over the weight (``bent_rest``)."""
        share = BENT_REST_RETURN_SHARE if bent_rest else RETURN_SHARE
        return max(MIN_RETURN_DEG, share * amplitude_deg)

    @staticmethod
    def _displaced(c: Cycle, depth_deg: float, amplitude_deg: float) -> bool:
        """Turning a whole rep's amplitude away from where the reps turn: another
        movement altogether (getting up from the floor after hip thrusts)."""
        return abs(c.p.value - depth_deg) > max(amplitude_deg, DISPLACED_MIN_DEG)

    def _drops_lower(self, c: Cycle, ref: list[Cycle]) -> bool:
        """On the way down, the hips drop clearly further than in the reps, beyond what
        a deeper hinge explains: the knees bend to reach the floor (putting an RDL bar
        or a cable handle down)."""
        mine = self._knee_drop_m(c)
        drops = [d for r in ref if (d := self._knee_drop_m(r)) is not None]
        if mine is None or not drops:
            return False
        typical = median(drops)
        # Only where the reps keep the hips at one height (hinges; not squats or
        # deadlifts from the floor, whose hips drop every rep by a varying amount, nor
        # hip thrusts, which raise them).
        return abs(typical) <= HINGE_HIP_DROP_M and mine < typical - ODD_DROP_M

    def _same_hip_travel(self, c: Cycle, ref: list[Cycle]) -> bool:
        """Out of its rest ``c`` moved the hips as far as the reps ``ref`` did, which
        moved them clearly more than a hinge does (`SAME_HIP_TRAVEL_SHARE`)."""
        mine = self._cycle_travel_m(c)
        travels = [d for r in ref if (d := self._cycle_travel_m(r)) is not None]
        if mine is None or not travels:
            return False
        typical = median(travels)
        return typical > HINGE_HIP_DROP_M and abs(mine - typical) <= SAME_HIP_TRAVEL_SHARE * typical

    def _cycle_travel_m(self, c: Cycle) -> float | None:
        """Vertical travel of the hinge sensor over ``c``, still at both ends and back at
        the same height (m): the hips' whole way down and up, wherever the hinge angle
        turns or holds on the way."""
        if c.a.leave is None:
            return None
        return self._travel_m(c.a.leave, c.b.arrive)

    def _travel_m(self, a: int, b: int) -> float | None:
        """Peak-to-peak vertical travel of the hinge sensor from index a to b (m), by
        double integration, the lifter still and at the same height at both ends (so
        velocity and height are detrended to zero there); None without usable data."""
        if self._vert is None or b - a < 4:
            return None
        acc = self._vert[a : b + 1]
        if not np.isfinite(acc).all():
            return None
        v = np.cumsum(acc) * self.period_s
        v -= np.linspace(0.0, v[-1], len(v))
        z = np.cumsum(v) * self.period_s
        z -= np.linspace(0.0, z[-1], len(z))
        return float(np.ptp(z))

    def _knee_drop_m(self, c: Cycle) -> float | None:
        """Drop of the hinge sensor on the way down (m, + up) less the drop that the
        hinge itself causes by turning the sensor about the hips."""
        if c.a.leave is None:
            return None
        key = (c.a.leave, c.p.arrive)
        if key not in self._knee_drops:
            d = self.drop_m(c.a.leave, c.p.arrive)
            if d is not None:
                incline_rad = np.radians(min(abs(c.p.value - c.a.value), 90.0))
                d += self.hinge_radius_m * (1.0 - np.cos(incline_rad))
            self._knee_drops[key] = d
        return self._knee_drops[key]

    def _lowered_m(self, a: int, b: int) -> float:
        """How far the hips came down from index a to b (m, 0 without a measure)."""
        d = self.drop_m(a, b)
        return 0.0 if d is None else -d

    def drop_m(self, a: int, b: int) -> float | None:
        """Vertical displacement of the hinge sensor from index a to b (m, + up), by
        double integration with zero velocity at both ends (the lifter is still there)."""
        if self._vert is None or b - a < 4:
            return None
        acc = self._vert[a : b + 1]
        v = np.cumsum(acc) * self.period_s
        v -= np.linspace(0.0, v[-1], len(v))
        z = np.cumsum(v) * self.period_s
        return float(z[-1] - z[0])

    def _set_up_hold(self, turns: list[Turn]) -> bool:
        """A long still hold at a bottom before the reps: setting up at a bar on the
        floor (grip, brace), as a deadlift starts; squats start standing."""
        maxes = [t for t in turns if t.is_max and t.leave is not None]
        for k in range(len(maxes) - 1):
            hold = self._still_s(maxes[k])
            later = median([self._still_s(t) for t in maxes[k + 1 :]])
            if hold >= SET_UP_HOLD_S and SET_UP_HOLD_BEYOND_S.exceeded(hold, later):
                return True
        return False

    # -- what the opening turns show (for `exercises.classify`) ------------------------
    def set_features(self, turns: list[Turn]) -> SetFeatures:
        """Features of a set's opening turns, computed once for the exercise decision."""
        mins = [t for t in turns if not t.is_max]
        maxes = [t for t in turns if t.is_max]
        hinge = self._hinge

        def angle(t: Turn) -> float:
            # The hinge angle at the turn: the exercise's angles are the hinge's.
            return t.value if hinge is None else float(hinge[t.tp.index])

        excursion = max(median([angle(t) for t in maxes]) - median([angle(t) for t in mins]), 1.0)
        lean_excursion = max(
            median([t.value for t in maxes]) - median([t.value for t in mins]), 1.0
        )
        rates = [
            abs(b.value - a.value) / max((b.arrive - a.leave) * self.period_s, self.period_s)
            for a, b in itertools.pairwise(turns)
            if a.leave is not None
        ]
        rep_s = [
            (b.arrive - a.leave) * self.period_s
            for a, b in itertools.pairwise(mins)
            if a.leave is not None
        ]
        # Pauses past the first turn: rests before a set (standing, setting up) are long;
        # the pauses inside it tell where the lifter rests between reps.
        bottoms = [t for t in maxes if t is not turns[0] and t.leave is not None]
        tops = [t for t in mins if t is not turns[0] and t.leave is not None]
        trunk = (
            max(min(self._still_s(t) for t in bottoms), min(self._still_s(t) for t in tops))
            if bottoms and tops
            else None
        )
        return SetFeatures(
            median_angle_deg=median([angle(t) for t in turns]),
            excursion_deg=excursion,
            lean_excursion_deg=lean_excursion,
            hip_travel_m=self.hip_travel_m(turns, excursion),
            descent_drop_m=self.descent_drop_m(turns, excursion),
            mean_rate_deg_s=median(rates) if rates else None,
            bottom_pause_s=min(map(self._still_pause_s, bottoms)) if bottoms else None,
            top_pause_s=min(map(self._still_pause_s, tops)) if tops else None,
            trunk_pause_s=trunk,
            set_up_hold=self._set_up_hold(turns),
            rep_s=median(rep_s) if rep_s else None,
            trunk_sensor=self.hinge_radius_m > 0.0,
        )

    def _still_pause_s(self, t: Turn) -> float:
        """How long the lifter rests at a turn: the still stretch of the hinge angle,
        unless the hips reverse through it (`HIPS_REVERSAL_MPS2`), then 0. At the
        bottom of a squat the trunk angle can plateau while the hips turn round."""
        still_s = self._still_s(t)
        if self._vert is None or t.leave is None or t.leave - t.arrive < 2:
            return still_s
        v = self._vert[t.arrive : t.leave + 1]
        v = v[np.isfinite(v)]
        if not len(v):
            return still_s
        # Up is + : out of a bottom the hips go up, out of a top down.
        reversal = float(np.mean(v)) if t.is_max else -float(np.mean(v))
        return 0.0 if reversal >= HIPS_REVERSAL_MPS2 else still_s

    def hip_travel_m(self, turns: list[Turn], excursion_deg: float) -> float | None:
        """Median vertical travel of the hinge sensor over the moving part of each cycle
        (leaving a turn to arriving at the next turn of the same kind), less what
        turning about the hips lowers the sensor (m).

        The lifter is still at both ends of that stretch and back at the same height,
        so velocity and height are detrended to zero at both ends of the double
        integral; either kind of turn works, so no rest position is assumed."""
        if self._vert is None:
            return None
        max_n = round(self.s.max_rep_s / self.period_s)
        travel = []
        for kind in (False, True):
            same = [t for t in turns if t.is_max == kind]
            for a, b in itertools.pairwise(same):
                if a.leave is None or b.arrive - a.leave > max_n:
                    continue
                if (d := self._travel_m(a.leave, b.arrive)) is not None:
                    travel.append(d)
        if not travel:
            return None
        incline_rad = np.radians(min(excursion_deg, 90.0))
        return median(travel) - self.hinge_radius_m * (1.0 - np.cos(incline_rad))

    def descent_drop_m(self, turns: list[Turn], excursion_deg: float) -> float | None:
        """Median drop of the hinge sensor from leaving a top (still) to arriving at the
        next bottom, less what turning about the hips lowers it (m, + down)."""
        drops = [
            -d
            for a, b in itertools.pairwise(turns)
            if not a.is_max and b.is_max and a.leave is not None
            if (d := self.drop_m(a.leave, b.arrive)) is not None
        ]
        if not drops:
            return None
        incline_rad = np.radians(min(excursion_deg, 90.0))
        return median(drops) - self.hinge_radius_m * (1.0 - np.cos(incline_rad))
