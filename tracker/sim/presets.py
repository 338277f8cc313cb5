"""Named scenarios (the bundled demo recordings) and sessions built from CLI options."""

from __future__ import annotations

import dataclasses
from typing import Any

from tracker.errors import InputError
from tracker.sim.config import SessionConfig, SetSpec, with_faults
from tracker.sim.tiers import Imperfections
from tracker.units import EXERCISES, LUMBAR, SACRUM


def _swing_dual(seed: int) -> SessionConfig:
    return SessionConfig(
        seed=seed,
        setup="dual",
        rate_hz={LUMBAR: 104.0, SACRUM: 104.0},
        sets=(
            SetSpec("kettlebell_swing", 10, {"overextension": (4,)}, load_kg=16.0),
            SetSpec("kettlebell_swing", 12, {"flexion": (7, 10, 12)}, load_kg=20.0),
        ),
        rest_s=(35.0, 50.0),
    )


def _deadlift_single(seed: int) -> SessionConfig:
    return SessionConfig(
        seed=seed,
        setup="lumbar",
        rate_hz=52.0,
        sets=(
            SetSpec("deadlift", 5, load_kg=80.0),
            SetSpec("deadlift", 5, {"flexion": (5,)}, load_kg=100.0),
        ),
        rest_s=(40.0, 60.0),
    )


def _squat_buttwink(seed: int) -> SessionConfig:
    return SessionConfig(
        seed=seed,
        setup="dual",
        rate_hz={LUMBAR: 208.0, SACRUM: 104.0},
        sets=(SetSpec("squat", 6, {"butt_wink": (4, 5, 6)}, load_kg=60.0),),
        rest_s=(30.0, 40.0),
    )


def _mixed(seed: int) -> SessionConfig:
    return SessionConfig(
        seed=seed,
        setup="dual",
        rate_hz={LUMBAR: 104.0, SACRUM: 208.0},
        sets=tuple(
            SetSpec(ex, 6, {"flexion": None} if ex != "hip_thrust" else {"overextension": None})
            for ex in EXERCISES
        ),
        rest_s=(20.0, 40.0),
        tier="hard",
    )


PRESETS = {
    "swing_dual": _swing_dual,
    "deadlift_single": _deadlift_single,
    "squat_buttwink": _squat_buttwink,
    "mixed": _mixed,
}


def preset_session(name: str, seed: int) -> SessionConfig:
    """The named scenario with ``seed``; `PRESETS` lists the names."""
    try:
        return PRESETS[name](seed)
    except KeyError:
        raise InputError(f"unknown preset {name!r}; use one of {', '.join(PRESETS)}") from None


def custom_session(
    *,
    seed: int,
    exercises: tuple[str, ...],
    sets_per_exercise: int,
    reps: int,
    faults: tuple[str, ...],
    rate_hz: float,
    standing_s: float,
    rest_mean_s: float,
) -> SessionConfig:
    """A session of ``sets_per_exercise`` sets of each exercise, the same faults in every
    set (`config.parse_fault` texts), rests drawn within ±30% of ``rest_mean_s``."""
    sets = tuple(
        with_faults(ex, reps, list(faults)) for ex in exercises for _ in range(sets_per_exercise)
    )
    return SessionConfig(
        seed=seed,
        sets=sets,
        rate_hz=rate_hz,
        standing_s=standing_s,
        rest_s=(0.7 * rest_mean_s, 1.3 * rest_mean_s),
    )


def adjusted(
    config: SessionConfig,
    *,
    setup: str | None = None,
    tier: str | None = None,
    rate_hz: float | None = None,
    sacrum_rate_hz: float | None = None,
    clean: bool = False,
) -> SessionConfig:
    """``config`` with the given settings replaced (None keeps the config's own)."""
    changes: dict[str, Any] = {}  # (SessionConfig checks the fields by name)
    if setup is not None:
        changes["setup"] = setup
    if tier is not None:
        changes["tier"] = tier
    if clean:
        changes["imperfections"] = Imperfections.none()
    config = dataclasses.replace(config, **changes)
    if rate_hz is not None or sacrum_rate_hz is not None:
        base = rate_hz if rate_hz is not None else config.rate_of(config.placements[0])
        rates = {p: base for p in config.placements}
        if sacrum_rate_hz is not None and SACRUM in rates:
            rates[SACRUM] = sacrum_rate_hz
        config = dataclasses.replace(config, rate_hz=rates)
    return config
