"""Named scenarios (the bundled demo recordings and quick CLI runs)."""

from __future__ import annotations

from tracker.errors import InputError
from tracker.sim.config import SessionConfig, SetSpec
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
