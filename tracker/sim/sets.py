"""One set from start to finish: set-up, reps, finish (not reps), per exercise.

Set-ups and finishes: swings hike the bell from the floor and park it; deadlifts hinge
down to the bar and stand up without it after the last rep; RDLs and pull-throughs pick
the weight up and put it down; squats and good mornings unrack, step back, step in and
rerack; hip thrusts sit down and lean back onto the bench and get up; wall hinges step to
the wall. Angles in radians on the channels, degrees in the forms (docs/frames.md).
"""

from __future__ import annotations

import numpy as np

from tracker.sim import activities as act
from tracker.sim.exercises import RepForm, SetForm, rep_from_bottom, rep_from_top
from tracker.sim.plan import EventPlan, RepPlan
from tracker.sim.tracks import Timeline
from tracker.units import RAD_PER_DEG


def _bottom_pose(
    tl: Timeline, sf: SetForm, duration_s: float, lam_deg: float, theta_deg: float | None = None
) -> None:
    tl.to(
        duration_s,
        theta_p=(sf.theta_bottom if theta_deg is None else theta_deg) * RAD_PER_DEG,
        lam=lam_deg * RAD_PER_DEG,
        hx=sf.hjc_bottom[0],
        hz=sf.hjc_bottom[1],
    )


def perform_set(
    tl: Timeline, rng: np.random.Generator, set_index: int, sf: SetForm
) -> tuple[list[RepPlan], list[EventPlan]]:
    """Set-up, the reps, and the finish of one set, from the cursor."""
    ex, st = sf.exercise, sf.style
    reps: list[RepPlan] = []
    events: list[EventPlan] = []
    r = RAD_PER_DEG

    def add_rep(i: int, form: RepForm, start: float, end: float) -> None:
        reps.append(RepPlan(set_index, i, ex, start, end, list(form.faults), form.borderline))

    if st.rest == "top":
        # Getting into position with the weight.
        if ex == "kettlebell_swing":
            t0 = tl.now_s
            _bottom_pose(
                tl, sf, rng.uniform(1.0, 1.5), rng.uniform(10.0, 22.0), sf.theta_bottom * 0.8
            )
            tl.wait(rng.uniform(0.8, 2.0))  # grip, brace
            # Hike: the bell goes back between the legs, then the first drive to the top.
            tl.to(0.45, theta_p=sf.theta_bottom * r, hx=sf.hjc_bottom[0], hz=sf.hjc_bottom[1])
            tl.to(
                0.5,
                theta_p=sf.theta_top * r,
                lam=sf.lam_top * r,
                hx=sf.hjc_top[0],
                hz=sf.hjc_top[1],
            )
            events.append(EventPlan("set_up", t0, tl.now_s, set_index, "hike"))
            tl.wait(0.15)
        elif ex in ("romanian_deadlift", "cable_pull_through"):
            events.append(act.bend_down_up(tl, rng, "pick_up", set_index=set_index))
            if ex == "cable_pull_through":
                events.append(act.walk(tl, rng, rng.uniform(1.5, 2.5), turn=False))
            tl.wait(rng.uniform(0.8, 2.0))
        elif ex in ("good_morning", "squat"):
            events.append(act.dip(tl, rng, "unrack", set_index))
            events.append(act.walk(tl, rng, rng.uniform(1.5, 2.5), turn=False, backwards=True))
            tl.wait(rng.uniform(0.8, 2.0))
        else:  # wall_hip_hinge: step to the wall
            events.append(act.walk(tl, rng, rng.uniform(1.5, 2.5), turn=False))
            tl.wait(rng.uniform(0.8, 2.0))
        # Settle into the lockout posture of this set.
        tl.to(0.4, theta_p=sf.theta_top * r, lam=sf.lam_top * r, hx=sf.hjc_top[0], hz=sf.hjc_top[1])
        for i in range(1, sf.n_reps + 1):
            form = sf.rep(i)
            start, end = rep_from_top(tl, rng, form, ex == "kettlebell_swing")
            add_rep(i, form, start, end)
            # Pause at the top: an over-extended lockout relaxes back towards neutral here.
            hold = form.hold_top_s if i < sf.n_reps else max(0.3, form.hold_top_s)
            if i < sf.n_reps and ex != "kettlebell_swing" and rng.random() < 0.1:
                hold += rng.uniform(1.5, 4.0)  # a breather in the rest position mid-set
            tl.to(hold, lam=sf.lam_top * r)
        if ex == "kettlebell_swing":
            t0 = tl.now_s
            # Park: one more backswing, then the bell goes to the floor in front.
            tl.to(
                0.55,
                theta_p=sf.theta_bottom * r,
                lam=sf.lam_peak * r,
                hx=sf.hjc_bottom[0],
                hz=sf.hjc_bottom[1],
            )
            tl.to(0.6, theta_p=0.8 * sf.theta_bottom * r, lam=0.8 * sf.lam_peak * r)
            tl.wait(rng.uniform(0.3, 0.8))
            tl.to(rng.uniform(0.9, 1.4), theta_p=0.0, lam=0.0, hx=0.0, hz=0.0)
            events.append(EventPlan("put_down", t0, tl.now_s, set_index, "park"))
        elif ex in ("romanian_deadlift",):
            tl.wait(rng.uniform(0.3, 1.0))
            events.append(act.bend_down_up(tl, rng, "put_down", set_index=set_index))
        elif ex == "cable_pull_through":
            tl.wait(rng.uniform(0.3, 1.0))
            events.append(act.walk(tl, rng, rng.uniform(1.5, 2.5), turn=False, backwards=True))
            events.append(act.bend_down_up(tl, rng, "put_down", set_index=set_index))
        elif ex in ("good_morning", "squat"):
            tl.wait(rng.uniform(0.3, 1.0))
            events.append(act.walk(tl, rng, rng.uniform(1.5, 2.5), turn=False))
            events.append(act.dip(tl, rng, "rerack", set_index))
        else:
            tl.to(rng.uniform(0.5, 1.0), lam=0.0, theta_p=0.0, hx=0.0, hz=0.0)
    else:
        lam_setup = float(np.clip(sf.lam_peak * rng.uniform(0.4, 0.7), 3.0, 15.0))
        t0 = tl.now_s
        if ex == "deadlift":
            # Set-up hinge to the bar, then grip and brace in the bottom position.
            _bottom_pose(tl, sf, rng.uniform(1.2, 2.0), lam_setup)
            tl.wait(rng.uniform(1.0, 2.5))
            events.append(EventPlan("set_up", t0, tl.now_s, set_index, "hinge to the bar"))
        else:  # hip_thrust: sit down on the floor, lean back onto the bench
            tl.to(rng.uniform(1.2, 1.8), theta_p=25.0 * r, lam=15.0 * r, hx=-0.15, hz=-0.55)
            tl.to(rng.uniform(0.8, 1.2), theta_p=5.0 * r, lam=10.0 * r, hx=-0.05, hz=-0.68)
            _bottom_pose(tl, sf, rng.uniform(1.0, 1.6), lam_setup)
            tl.wait(rng.uniform(1.0, 2.5))
            events.append(EventPlan("get_down", t0, tl.now_s, set_index, "onto the bench"))
        for i in range(1, sf.n_reps + 1):
            form = sf.rep(i)
            start, end = rep_from_bottom(tl, rng, form, lam_setup)
            add_rep(i, form, start, end)
            extra = rng.uniform(1.0, 3.0) if rng.random() < 0.1 else 0.0  # re-grip, reset
            tl.wait(form.hold_bottom_s + extra)
        t0 = tl.now_s
        if ex == "deadlift":
            tl.to(rng.uniform(0.8, 1.4), theta_p=0.0, lam=0.0, hx=0.0, hz=0.0)
            events.append(EventPlan("release", t0, tl.now_s, set_index, "stand up without the bar"))
        else:
            tl.to(rng.uniform(1.0, 1.5), theta_p=10.0 * r, lam=12.0 * r, hx=-0.05, hz=-0.62)
            tl.to(rng.uniform(1.2, 1.8), theta_p=30.0 * r, lam=15.0 * r, hx=-0.12, hz=-0.40)
            tl.to(rng.uniform(1.0, 1.5), theta_p=0.0, lam=0.0, hx=0.0, hz=0.0)
            events.append(EventPlan("get_up", t0, tl.now_s, set_index, "from the bench"))
    for e in events:  # steps into and out of position belong to the set too
        e.set_index = set_index
    return reps, events
