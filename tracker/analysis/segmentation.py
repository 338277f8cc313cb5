"""Sets and reps from the turning points of the hinge angle.

Vocabulary (angles in docs/frames.md):

* a *half-cycle* joins two consecutive turning points; it is a movement when its
  amplitude reaches ``min_rep_amplitude_deg`` and its motion time (from leaving one
  turning point to arriving at the next) is at most ``max_half_rep_s``; smaller
  reversals (a butt-wink wiggle, gait sway) are merged away;
* a *chain* is a run of movements; a chain of three movements or more is a *set*, so a
  single pick-up, put-down or set-up hinge never is;
* the *rest extreme* of a set is where each rep starts and ends: the top (minimum hinge
  angle) for swings, RDLs, good mornings, pull-throughs, squats and wall hinges; the
  bottom (maximum) for deadlifts from the floor and hip thrusts;
* a *rep* is rest -> peak -> rest, from leaving the rest position to arriving back at
  it, so a pause at rest belongs to neither rep. A cycle whose peak holds a long pause
  while the set's other peaks do not (gripping the bell before the hike, parking it) is
  a set-up or put-down, not a rep.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np

from tracker.analysis.settings import SegmentationSettings
from tracker.analysis.turning import TurningPoint


@dataclass
class Turn:
    """A turning point with the still stretch around it (timeline sample indices)."""

    tp: TurningPoint
    arrive: int
    leave: int | None = None
    #: Stretch around the turn where the angle stays near its value (pauses, grips).
    near_start: int | None = None
    near_end: int | None = None

    @property
    def is_max(self) -> bool:
        return self.tp.is_max

    @property
    def value(self) -> float:
        return self.tp.value_deg

    def dwell(self) -> int:
        """Samples spent near the turn's angle (known once the next turn arrived)."""
        if self.near_start is None or self.near_end is None:
            return 0
        return self.near_end - self.near_start

    @property
    def settled(self) -> bool:
        return self.near_end is not None


@dataclass
class Cycle:
    """Candidate rep: rest -> peak -> rest turns."""

    a: Turn
    p: Turn
    b: Turn


@dataclass
class OpenSet:
    rest_is_max: bool
    exercise: str
    turns: list[Turn]
    #: Index into ``turns`` of the next rest turn that may start a rep.
    next_rest: int
    #: Reps swung rather than ground (kettlebell swing): very regular tempo.
    ballistic: bool = False
    reps: list[Cycle] = field(default_factory=list)


class RepSegmenter:
    """Turns -> sets and reps. Reads the timeline's hinge and rate arrays."""

    def __init__(
        self, settings: SegmentationSettings, period_s: float, rest_is_max: bool | None = None
    ) -> None:
        self.s = settings
        #: Forced rest extreme (the user named the exercise), None to decide per set.
        self.forced_rest_is_max = rest_is_max
        self.period_s = period_s
        self.chain: list[Turn] = []
        self.open: OpenSet | None = None

    # -- boundaries ------------------------------------------------------------------
    @staticmethod
    def _near_band_deg(amplitude: float) -> float:
        return max(4.0, 0.12 * amplitude)

    def _half_cycle(self, h: np.ndarray, rate: np.ndarray, last: Turn, turn: Turn) -> None:
        """Boundaries of the movement last -> turn.

        The angle leaves a band around ``last`` at ``near_end`` and enters the band
        around ``turn`` at ``near_start`` (pauses and grips are the time inside a band).
        The movement itself starts at the last still sample before ``near_end`` (the
        onset) and ends at the first still sample after ``near_start``; "still" is
        relative to the movement's peak rate, so slow grinds and fast swings are cut
        at the same point of their velocity profile.
        """
        a, b = last.tp.index, turn.tp.index
        band = self._near_band_deg(abs(turn.value - last.value))
        seg = h[a : b + 1]
        away = np.flatnonzero(np.abs(seg - last.value) >= band)
        last.near_end = a + (int(away[0]) if len(away) else len(seg) - 1)
        away = np.flatnonzero(np.abs(seg - turn.value) >= band)
        turn.near_start = a + (int(away[-1]) + 1 if len(away) else 0)
        if last.near_start is None:
            last.near_start = a
        r = np.abs(rate[a : b + 1])
        thr = max(5.0, 0.08 * float(r.max()))
        still = np.flatnonzero(r[: last.near_end - a + 1] < thr)
        last.leave = a + (int(still[-1]) if len(still) else 0)
        still = np.flatnonzero(r[turn.near_start - a :] < thr)
        turn.arrive = turn.near_start + (int(still[0]) if len(still) else b - turn.near_start)

    # -- chain -----------------------------------------------------------------------
    def add_turn(
        self, tp: TurningPoint, rate: np.ndarray, h: np.ndarray
    ) -> tuple[list[Cycle], bool]:
        """Add a confirmed turning point; return (new reps of the open set, set ended)."""
        ended = False
        if self.chain:
            last = self.chain[-1]
            if last.is_max == tp.is_max:
                # Same kind (merged wiggle): keep the more extreme one.
                if (tp.value_deg > last.value) == tp.is_max and tp.value_deg != last.value:
                    replaced = Turn(tp, tp.index)
                    if len(self.chain) > 1:
                        self._half_cycle(h, rate, self.chain[-2], replaced)
                    self.chain[-1] = replaced
                return [], False
            amplitude = abs(tp.value_deg - last.value)
            if amplitude < self.s.min_rep_amplitude_deg:
                if len(self.chain) == 1:
                    # No movement yet: the latest turn is the best anchor for one.
                    self.chain = [Turn(tp, tp.index)]
                return [], False  # a wiggle inside a movement: ignore it
            turn = Turn(tp, tp.index)
            self._half_cycle(h, rate, last, turn)
            motion_s = (turn.arrive - last.leave) * self.period_s
            if motion_s > self.s.max_half_rep_s:
                ended = self.close_set()
                self.chain = [turn]
                return [], ended
            self.chain.append(turn)
        else:
            self.chain.append(Turn(tp, tp.index))
        return self._update_set(), ended

    def close_set(self) -> bool:
        was_open = self.open is not None
        self.open = None
        if self.chain:
            self.chain = self.chain[-1:]
        return was_open

    def _update_set(self) -> list[Cycle]:
        if self.open is None:
            # Five turns (two movements past the first): enough to tell where the reps
            # rest and what a typical peak of this set looks like.
            if len(self.chain) < 5:
                return []
            rest_is_max = self.forced_rest_is_max
            if rest_is_max is None:
                rest_is_max = self.decide_rest_is_max(self.chain)
            first = next(i for i, t in enumerate(self.chain) if t.is_max == rest_is_max)
            ballistic = self.is_ballistic(self.chain)
            self.open = OpenSet(rest_is_max, "", self.chain, first, ballistic)
        o = self.open
        o.turns = self.chain
        new: list[Cycle] = []
        while o.next_rest + 2 < len(o.turns):
            a, p, b = o.turns[o.next_rest : o.next_rest + 3]
            o.next_rest += 2
            if self._is_setup_or_put_down(o, a, p, b):
                continue
            cyc = Cycle(a, p, b)
            o.reps.append(cyc)
            new.append(cyc)
        return new

    def _is_setup_or_put_down(self, o: OpenSet, a: Turn, p: Turn, b: Turn) -> bool:
        """A hinge that prepares or ends the set (gripping, hiking, parking, taking the
        weight from or to the floor) rather than a rep.

        Compared with the set's other peaks, it pauses much longer at its peak (or
        somewhat longer and at another depth), or, in a swung set whose tempo is regular,
        it moves much slower.
        """
        dt = self.period_s
        others = [t for t in o.turns if t.is_max == p.is_max and t is not p and t.settled]
        if not others:
            return False
        mine = p.dwell() * dt
        dwell = float(np.median([t.dwell() for t in others])) * dt
        depth = float(np.median([t.value for t in others]))
        rest = float(np.median([t.value for t in o.turns if t.is_max != p.is_max]))
        amplitude = abs(depth - rest)
        if mine >= 0.6:
            if mine > 2.0 * dwell + 0.3:
                return True
            if mine > 1.3 * dwell + 0.2 and abs(p.value - depth) > max(6.0, 0.12 * amplitude):
                return True
        if o.ballistic and a.leave is not None and p.leave is not None:
            cycles = [c for c in o.reps] or [
                Cycle(x, y, z)
                for x, y, z in zip(o.turns[:-2], o.turns[1:-1], o.turns[2:], strict=False)
                if y.is_max == p.is_max
                and y is not p
                and x.leave is not None
                and y.leave is not None
            ]
            if cycles:
                typ_out = float(np.median([c.p.arrive - c.a.leave for c in cycles])) * dt
                typ_back = float(np.median([c.b.arrive - c.p.leave for c in cycles])) * dt
                out_s = (p.arrive - a.leave) * dt
                back_s = (b.arrive - p.leave) * dt
                return out_s > 2.0 * typ_out + 0.5 or back_s > 2.0 * typ_back + 0.5
        return False

    def _ballistic(self, a: Turn, b: Turn) -> bool:
        """A big excursion covered in well under a second: a swing, not a grind."""
        if a.leave is None:
            return False
        return (b.arrive - a.leave) * self.period_s < 0.7 and abs(b.value - a.value) >= 25.0

    def is_ballistic(self, turns: list[Turn]) -> bool:
        motion = [
            (b.arrive - a.leave) * self.period_s
            for a, b in itertools.pairwise(turns)
            if a.leave is not None
        ]
        if not motion:
            return False
        return float(np.median(motion)) < 0.85 or self._ballistic(turns[-2], turns[-1])

    def decide_rest_is_max(self, turns: list[Turn]) -> bool:
        """Where does the lifter rest between reps: bottom (max hinge) or top (min)?"""
        values = np.array([t.value for t in turns])
        if np.median(values) < -30.0:
            return True  # lying back (hip thrust): rest at the bottom, the higher angle
        if self.is_ballistic(turns):
            return False  # swung: reps turn at the top
        # Grinds: the lifter pauses where the weight rests. Ignore the first turn's
        # dwell (that is the rest before the set).
        max_dwell = [t.dwell() for t in turns[1:] if t.is_max and t.settled]
        min_dwell = [t.dwell() for t in turns[1:] if not t.is_max and t.settled]
        if not max_dwell or not min_dwell:
            return False
        return float(np.median(max_dwell)) > float(np.median(min_dwell))
