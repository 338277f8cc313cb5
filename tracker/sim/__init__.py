"""Physics-based simulator of lifting sessions with ground truth.

`simulate_session(SessionConfig(...))` returns a `SimResult` with the recording (one or
two sensors), the truth (sets, reps, non-rep events, setup; `truth.to_json()`) and
noise-free signals for tests. Frames: docs/frames.md; truth: docs/truth-format.md.
"""

from tracker.sim.config import SETUPS, SessionConfig, SetSpec
from tracker.sim.exercises import FAULT_KINDS
from tracker.sim.presets import PRESETS, preset_session
from tracker.sim.simulate import SensorTruthSignals, SimResult, simulate_session
from tracker.sim.tiers import TIERS, Imperfections
from tracker.sim.truth import Truth

__all__ = [
    "FAULT_KINDS",
    "PRESETS",
    "SETUPS",
    "TIERS",
    "Imperfections",
    "SensorTruthSignals",
    "SessionConfig",
    "SetSpec",
    "SimResult",
    "Truth",
    "preset_session",
    "simulate_session",
]
