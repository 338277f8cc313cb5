"""Configuration of a simulated session (what to simulate, not how)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from tracker.errors import InputError
from tracker.sim.exercises import FAULT_KINDS
from tracker.sim.gait import GAIT_STYLES
from tracker.sim.tiers import TIERS, Imperfections
from tracker.units import EXERCISES, LUMBAR, PLACEMENTS, SACRUM

SETUPS: dict[str, tuple[str, ...]] = {
    "dual": (LUMBAR, SACRUM),
    "lumbar": (LUMBAR,),
    "sacrum": (SACRUM,),
}
REST_ACTIVITIES: tuple[str, ...] = ("stand", "shift", "walk", "bend", "sit")
MIN_RATE_HZ = 10.0
MAX_RATE_HZ = 500.0


@dataclass(frozen=True)
class SetSpec:
    """One set: exercise id, rep count and the faults to put in.

    ``faults`` maps a fault kind (`FAULT_KINDS`) to the 1-based reps that get it, or to
    ``None`` for a seeded random choice of about a third of the reps. ``creep`` needs no
    reps: peak flexion rises over the whole set by ``creep_deg`` (random 12-16° if None).
    """

    exercise: str
    reps: int
    faults: Mapping[str, tuple[int, ...] | None] = field(default_factory=dict)
    creep_deg: float | None = None
    load_kg: float | None = None


#: Bout kinds: the gait styles, the existing walk, sitting, a pick-up, fidgeting, standing.
BOUT_KINDS: tuple[str, ...] = (*GAIT_STYLES, "walk", "sit", "pick_up", "shift", "stand")
#: Stairs are counted in steps, everything else in seconds.
STAIRS: tuple[str, ...] = ("stairs_up", "stairs_down")
#: Longest bout (s) and flight (steps): long enough for any realistic daily stretch.
MAX_BOUT_S = 1800.0
MAX_FLIGHT_STEPS = 60


@dataclass(frozen=True)
class Bout:
    """One daily-life activity: ``kind`` (`BOUT_KINDS`) for ``amount`` seconds, or
    ``amount`` steps on stairs; for ``sit``, the time seated between sitting down and
    standing up; a ``pick_up`` takes as long as it takes (``amount`` is ignored)."""

    kind: str
    amount: float = 0.0

    def validate(self, index: int) -> None:
        if self.kind not in BOUT_KINDS:
            raise InputError(
                f"daily bout {index}: unknown activity {self.kind!r}; use {', '.join(BOUT_KINDS)}"
            )
        if self.kind in STAIRS:
            if not (float(self.amount).is_integer() and 1 <= self.amount <= MAX_FLIGHT_STEPS):
                raise InputError(
                    f"daily bout {index}: {self.kind} takes 1-{MAX_FLIGHT_STEPS} whole steps, "
                    f"not {self.amount!r}"
                )
        elif self.kind != "pick_up" and not 2.0 <= self.amount <= MAX_BOUT_S:
            raise InputError(
                f"daily bout {index}: {self.kind} for {self.amount!r} s; use 2-{MAX_BOUT_S:g} s"
            )


@dataclass(frozen=True)
class SessionConfig:
    """A whole session. ``rate_hz`` is required: one rate for all sensors or one per placement.

    ``mounting`` overrides the drawn mounting rotation of a placement with a 3x3 matrix
    ``R_mount`` (body -> sensor: ``v_sensor = R_mount @ v_body``, docs/frames.md).
    """

    seed: int
    sets: tuple[SetSpec, ...]
    rate_hz: float | Mapping[str, float]
    setup: str = "dual"
    tier: str = "medium"
    imperfections: Imperfections = field(default_factory=Imperfections)
    standing_s: float = 3.0
    #: Walking before the first standing (s; 0 = none): a recording started on the way
    #: to the bar.
    lead_in_walk_s: float = 0.0
    rest_s: tuple[float, float] = (30.0, 75.0)
    rest_activities: tuple[str, ...] = REST_ACTIVITIES
    end_standing_s: float = 3.0
    mounting: Mapping[str, np.ndarray] | None = None
    internal_rate_hz: float = 1000.0
    #: A daily-life session instead of sets (`tracker.sim.daily`): these bouts in order.
    daily: tuple[Bout, ...] = ()
    #: Sensors worn loosely, as a phone in a belt pouch (`daily.pouch_tissue`).
    loose_mounting: bool = False

    @property
    def placements(self) -> tuple[str, ...]:
        return SETUPS[self.setup]

    def rate_of(self, placement: str) -> float:
        if isinstance(self.rate_hz, Mapping):
            return float(self.rate_hz[placement])
        return float(self.rate_hz)

    def validate(self) -> None:
        """Raise `InputError` naming the first bad value and what is allowed."""
        if not isinstance(self.seed, int) or self.seed < 0:
            raise InputError(f"seed {self.seed!r} must be a whole number >= 0")
        if self.setup not in SETUPS:
            raise InputError(f"unknown setup {self.setup!r}; use one of {', '.join(SETUPS)}")
        if self.tier not in TIERS:
            raise InputError(f"unknown tier {self.tier!r}; use one of {', '.join(TIERS)}")
        if not self.sets and not self.daily:
            raise InputError("a session needs at least one set (or daily-life bouts)")
        if self.sets and self.daily:
            raise InputError("a daily-life session has no sets: give sets or daily bouts")
        for i, bout in enumerate(self.daily, 1):
            bout.validate(i)
        for p in self.placements:
            if isinstance(self.rate_hz, Mapping) and p not in self.rate_hz:
                raise InputError(f"no sample rate given for the {p} sensor")
            r = self.rate_of(p)
            if not MIN_RATE_HZ <= r <= MAX_RATE_HZ:
                raise InputError(
                    f"sample rate {r:g} Hz for {p} is out of range; "
                    f"use {MIN_RATE_HZ:g}-{MAX_RATE_HZ:g} Hz"
                )
        if self.internal_rate_hz < 2.5 * max(self.rate_of(p) for p in self.placements):
            raise InputError("internal_rate_hz must be at least 2.5 times the output rate")
        if not 0.1 <= self.standing_s <= 60.0:
            raise InputError(f"standing_s {self.standing_s:g} out of range; use 0.1-60 s")
        if not (self.lead_in_walk_s == 0.0 or 5.0 <= self.lead_in_walk_s <= 600.0):
            raise InputError(f"lead_in_walk_s {self.lead_in_walk_s:g}: use 0 or 5-600 s")
        if not 0.0 <= self.rest_s[0] <= self.rest_s[1]:
            raise InputError(f"rest_s {self.rest_s} must be (min, max) with 0 <= min <= max")
        for a in self.rest_activities:
            if a not in REST_ACTIVITIES:
                raise InputError(f"unknown rest activity {a!r}; use {', '.join(REST_ACTIVITIES)}")
        for p in PLACEMENTS:
            if self.mounting and p in self.mounting:
                m = np.asarray(self.mounting[p], dtype=float)
                if (
                    m.shape != (3, 3)
                    or not np.allclose(m @ m.T, np.eye(3), atol=1e-6)
                    or np.linalg.det(m) < 0
                ):
                    raise InputError(f"mounting of {p} is not a 3x3 rotation matrix")
        for i, s in enumerate(self.sets, 1):
            if s.exercise not in EXERCISES:
                raise InputError(
                    f"set {i}: unknown exercise {s.exercise!r}; use one of {', '.join(EXERCISES)}"
                )
            if not 1 <= s.reps <= 100:
                raise InputError(f"set {i}: {s.reps} reps; use 1-100")
            for kind, reps in s.faults.items():
                if kind not in FAULT_KINDS:
                    raise InputError(
                        f"set {i}: unknown fault {kind!r}; use {', '.join(FAULT_KINDS)}"
                    )
                if kind == "butt_wink" and s.exercise != "squat":
                    raise InputError(f"set {i}: butt_wink is a squat fault, not {s.exercise}")
                for r in reps or ():
                    if not 1 <= r <= s.reps:
                        raise InputError(
                            f"set {i}: fault {kind} on rep {r}, but the set has {s.reps} reps"
                        )


def parse_fault(text: str) -> tuple[str, tuple[int, ...] | None, float | None]:
    """Parse ``KIND[:REPS]`` (REPS: ``2,5``, ``all`` or omitted for a random third of the
    reps) or ``creep[:DEG]`` into (kind, reps or None, creep degrees or None)."""
    kind, _, arg = text.strip().partition(":")
    kind = kind.strip().replace("-", "_")
    if kind not in FAULT_KINDS:
        raise InputError(f"unknown fault {kind!r} in {text!r}; use one of {', '.join(FAULT_KINDS)}")
    arg = arg.strip()
    if kind == "creep":
        if not arg:
            return kind, None, None
        try:
            return kind, None, float(arg)
        except ValueError:
            raise InputError(f"creep takes degrees, e.g. creep:14, not {arg!r}") from None
    if not arg:
        return kind, None, None
    if arg == "all":
        return kind, (), None  # resolved to every rep by `with_faults`
    try:
        reps = tuple(int(x) for x in arg.split(","))
    except ValueError:
        raise InputError(f"fault reps must be numbers like {kind}:2,5, not {arg!r}") from None
    return kind, reps, None


def with_faults(
    exercise: str, reps: int, faults: list[str], load_kg: float | None = None
) -> SetSpec:
    """A `SetSpec` from fault texts (`parse_fault`); faults that do not apply to the
    exercise (butt wink outside squats) are left out, and rep numbers past the set's end
    are dropped."""
    table: dict[str, tuple[int, ...] | None] = {}
    creep: float | None = None
    for text in faults:
        kind, which, deg = parse_fault(text)
        if kind == "butt_wink" and exercise != "squat":
            continue
        if kind == "creep":
            creep = deg
        if which == ():
            which = tuple(range(1, reps + 1))
        elif which is not None:
            which = tuple(r for r in which if 1 <= r <= reps)
        table[kind] = which
    return SetSpec(exercise, reps, table, creep, load_kg)
