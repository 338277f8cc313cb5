"""Daily-life sessions: no lifting at all, only what people do between lifts and all day.

A daily-life session (`SessionConfig.daily`) is standing still (``standing_s``, as
short as 0.1 s: a recording started on the move), then each `Bout` in order, half of
them followed by a short standing moment, then standing at the end. Bouts are
the locomotion of `tracker.sim.gait` (slow, normal and brisk walking, stairs up and
down, jogging forward and on the spot), sitting down / staying seated / standing up,
single pick-up bends and weight shifting. None of it is a rep; the truth has no sets.

A phone worn in a belt pouch (`SessionConfig.loose_mounting`) sits less firmly than a
clipped sensor: it rocks in the pouch at a few Hz, several times more per unit of
acceleration than skin over bone, and the thigh beside it pushes it round as the leg
swings, once per stride (`Pouch`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tracker.sim import activities as act
from tracker.sim import rotations as rot
from tracker.sim.body import SegmentMotion
from tracker.sim.config import STAIRS, Bout, SessionConfig
from tracker.sim.gait import GAIT_STYLES, locomotion
from tracker.sim.plan import EventPlan, SessionPlan
from tracker.sim.streams import stream
from tracker.sim.tissue import TissueParams
from tracker.sim.tracks import Timeline


def daily_plan(config: SessionConfig, tl: Timeline) -> SessionPlan:
    """Lay a daily-life session out on the timeline (no sets, no reps)."""
    rng = stream(config.seed, "plan")
    plan = SessionPlan()
    plan.events.append(act.stand(tl, rng, config.standing_s))
    for bout in config.daily:
        plan.events.extend(_bout(tl, rng, bout))
        # Now and then a moment's standing between activities (a door, a look round);
        # otherwise straight on to the next.
        if rng.random() < 0.5:
            plan.events.append(act.stand(tl, rng, rng.uniform(1.0, 4.0)))
    plan.events.append(act.stand(tl, rng, config.end_standing_s))
    return plan


def _bout(tl: Timeline, rng: np.random.Generator, bout: Bout) -> list[EventPlan]:
    k = bout.kind
    if k in STAIRS:
        return [locomotion(tl, rng, k, steps=int(bout.amount))]
    if k in GAIT_STYLES:
        return [locomotion(tl, rng, k, duration_s=bout.amount)]
    if k == "walk":
        return [act.walk(tl, rng, bout.amount)]
    if k == "sit":
        down = act.stand_to_sit(tl, rng)
        t0 = tl.now_s
        tl.wait(bout.amount)
        seated = EventPlan("sitting", t0, tl.now_s)
        return [down, seated, act.sit_to_stand(tl, rng)]
    if k == "pick_up":
        return [act.bend_down_up(tl, rng, "pick_up")]
    if k == "shift":
        return [act.shift(tl, rng, bout.amount)]
    return [act.stand(tl, rng, bout.amount)]


@dataclass(frozen=True)
class Pouch:
    """A phone in a belt pouch at the side of the waist.

    It rocks in the pouch (``tissue``: a softer, lighter damped mount than skin) and
    the thigh next to it pushes it round the belt's axis as the leg swings: the
    pouch turns about the body's medio-lateral axis by ``thigh_coupling`` times the
    thigh's flexion (the ``thigh`` channel, rad), pivoting at the belt ``drop_m``
    above the phone's centre.
    """

    tissue: TissueParams
    thigh_coupling: float
    drop_m: float

    def as_dict(self) -> dict[str, object]:
        return {
            "tissue": self.tissue.as_dict(),
            "thigh_coupling": self.thigh_coupling,
            "drop_m": self.drop_m,
        }

    def rock(self, seg: SegmentMotion, thigh_rad: np.ndarray) -> SegmentMotion:
        """The sensor's motion: the segment's, turned about its medio-lateral axis at
        the belt. The inclination (the truth) stays the segment's."""
        turn = rot.rot_y(self.thigh_coupling * thigh_rad)
        r = rot.matmul(seg.rotation, turn)
        below = np.array([0.0, 0.0, -self.drop_m])
        offset = rot.apply(r, below) - rot.apply(seg.rotation, below)
        return SegmentMotion(r, seg.position_m + offset, seg.inclination_rad)


def pouch(rng: np.random.Generator) -> Pouch:
    """Draw a belt pouch: rocks at 5-10 Hz, damped by fabric and body (damping ratio
    0.25-0.5: it does not ring like a bell), 0.2-0.5 degrees per m/s^2
    of fore-aft force (a clipped sensor: ~0.05), slides a few mm; the thigh turns it
    by 15-50% of its own swing; the phone hangs 3-7 cm below the belt."""
    tissue = TissueParams(
        freq_hz=rng.uniform(5.0, 10.0),
        damping=rng.uniform(0.25, 0.5),
        rot_gain_rad_per_mps2=rng.uniform(0.004, 0.009),
        rot_gain_rad_per_rad_s2=rng.uniform(2.0e-4, 6.0e-4),
        trans_gain=rng.uniform(1.0, 2.0),
    )
    return Pouch(tissue, rng.uniform(0.15, 0.5), rng.uniform(0.03, 0.07))
