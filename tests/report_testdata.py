"""Small simulated sessions, analysed, for the plot and report tests (seeded, ~1 s)."""

from __future__ import annotations

from dataclasses import dataclass

from tracker.analysis.result import SessionResult
from tracker.analysis.settings import AnalysisSettings
from tracker.app.offline import analyse_recording
from tracker.recording.model import Recording
from tracker.sim import SessionConfig, SetSpec, simulate_session


@dataclass
class Analysed:
    recording: Recording
    result: SessionResult


def small_session(setup: str, seed: int = 3) -> Analysed:
    """Two short sets of swings: a flexion fault in set 1, an over-extension in set 2."""
    config = SessionConfig(
        seed=seed,
        setup=setup,
        rate_hz=52.0,
        sets=(
            SetSpec("kettlebell_swing", 5, {"flexion": (3,)}),
            SetSpec("kettlebell_swing", 4, {"overextension": (2,)}),
        ),
        rest_s=(6.0, 8.0),
        rest_activities=("stand",),
    )
    recording = simulate_session(config).recording
    return Analysed(recording, analyse_recording(recording, AnalysisSettings()))
