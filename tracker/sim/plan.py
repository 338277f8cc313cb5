"""What the scenario builder intended: reps, sets and non-rep events on the simulation clock.

Times here are seconds of simulation time (0 = first sample instant); `truth.py` turns the
plan plus the rendered trajectories into the published truth on the recording timeline.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class RepPlan:
    set_index: int  # 1-based
    rep: int  # 1-based within the set
    exercise: str
    start_s: float  # leaves the rest position
    end_s: float  # back in the rest position
    faults: list[str] = field(default_factory=list)
    borderline: bool = False


@dataclass
class EventPlan:
    kind: str  # stand, shift, walk, pick_up, put_down, set_up, release, get_down, get_up, ...
    start_s: float
    end_s: float
    set_index: int | None = None  # the set this event prepares or closes, if any
    detail: str = ""


@dataclass
class SetPlan:
    set_index: int
    exercise: str
    load_kg: float | None
    intended_faults: dict[str, list[int]] = field(default_factory=dict)
    creep_deg: float = 0.0


@dataclass
class SessionPlan:
    sets: list[SetPlan] = field(default_factory=list)
    reps: list[RepPlan] = field(default_factory=list)
    events: list[EventPlan] = field(default_factory=list)
