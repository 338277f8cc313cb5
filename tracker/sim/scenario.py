"""Scenario builder: lays a whole session out as knots on a `Timeline`.

Standing still first, then each set with its set-up and finish (`exercises.perform_set`),
rests between sets (standing, shifting, walking, bending down), standing at the end.
Returns the `SessionPlan`: what was intended, on the simulation clock.
"""

from __future__ import annotations

import numpy as np

from tracker.sim import activities as act
from tracker.sim.config import SessionConfig, SetSpec
from tracker.sim.daily import daily_plan
from tracker.sim.exercises import SetForm
from tracker.sim.plan import EventPlan, SessionPlan, SetPlan
from tracker.sim.sets import perform_set
from tracker.sim.streams import stream
from tracker.sim.tracks import Timeline


def _fault_reps(spec: SetSpec, rng: np.random.Generator) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for kind, reps in spec.faults.items():
        if kind == "creep":
            continue
        if reps is None:
            k = max(1, round(spec.reps / 3))
            reps = tuple(sorted(int(r) + 1 for r in rng.choice(spec.reps, size=k, replace=False)))
        out[kind] = sorted(set(reps))
    return out


def build_plan(config: SessionConfig, tl: Timeline) -> SessionPlan:
    """Lay the whole session out on the timeline."""
    if config.daily:
        return daily_plan(config, tl)
    rng = stream(config.seed, "plan")
    # How evenly each set's reps repeat: a stream of its own, so the plan is unchanged.
    form_rng = stream(config.seed, "form")
    plan = SessionPlan()
    if config.lead_in_walk_s:
        plan.events.append(act.walk(tl, rng, config.lead_in_walk_s))
    plan.events.append(act.stand(tl, rng, config.standing_s))
    for idx, spec in enumerate(config.sets, 1):
        fault_reps = _fault_reps(spec, rng)
        creep = 0.0
        if "creep" in spec.faults:
            creep = spec.creep_deg if spec.creep_deg is not None else float(rng.uniform(12.0, 16.0))
        plan.sets.append(SetPlan(idx, spec.exercise, spec.load_kg, fault_reps, creep))
        tl.wait(rng.uniform(0.8, 2.0))
        reps, events = perform_set(
            tl, rng, idx, SetForm(spec.exercise, spec.reps, rng, fault_reps, creep, form_rng)
        )
        plan.reps.extend(reps)
        plan.events.extend(events)
        if idx < len(config.sets):
            plan.events.extend(_rest(tl, rng, config))
    plan.events.append(act.stand(tl, rng, config.end_standing_s))
    return plan


def _rest(tl: Timeline, rng: np.random.Generator, config: SessionConfig) -> list[EventPlan]:
    """Rest between sets: standing, shifting, walking, bending down and sitting, in random
    order."""
    total = rng.uniform(*config.rest_s)
    end = tl.now_s + total
    events: list[EventPlan] = []
    acts = list(config.rest_activities) or ["stand"]
    # Relative frequency: mostly standing and walking about, now and then a bend.
    share = {"stand": 0.3, "shift": 0.25, "walk": 0.3, "bend": 0.08, "sit": 0.07}
    weight = np.array([share[a] for a in acts])
    while end - tl.now_s > 2.0:
        left = end - tl.now_s
        kind = acts[int(rng.choice(len(acts), p=weight / weight.sum()))]
        if kind == "walk" and left >= 5.0:
            events.append(act.walk(tl, rng, min(left, rng.uniform(5.0, 16.0))))
        elif kind == "shift" and left >= 3.0:
            events.append(act.shift(tl, rng, min(left, rng.uniform(3.0, 8.0))))
        elif kind == "sit" and left >= 8.0:
            events.append(act.sit(tl, rng, min(left, rng.uniform(8.0, 25.0))))
        elif kind == "bend" and left >= 5.0:
            # Picking something up (a plate, a towel, the bell to move it): not a rep.
            events.append(act.bend_down_up(tl, rng, str(rng.choice(["pick_up", "put_down"]))))
        else:
            events.append(act.stand(tl, rng, min(left, rng.uniform(2.0, 10.0))))
        tl.wait(rng.uniform(0.0, 0.5))
    return events
