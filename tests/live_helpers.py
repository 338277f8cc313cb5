"""Shared pieces of the live-session tests: a short simulated dual-sensor source."""

from __future__ import annotations

from pathlib import Path

from tracker.recording.load import save_recording
from tracker.sim import SessionConfig, SetSpec, simulate_session

#: Fast enough to keep each streamed session near one second, slow enough to stay paced.
SPEED = 25.0
#: One set of six swings: rep 3 flexes past the limit, rep 5 over-extends.
SOURCE_CONFIG = SessionConfig(
    seed=3,
    sets=(SetSpec("kettlebell_swing", 6, {"flexion": (3,), "overextension": (5,)}),),
    rate_hz=104.0,
    rest_s=(5.0, 5.0),
    end_standing_s=2.0,
)


def write_source(directory: Path) -> Path:
    """The simulated session saved as a native recording in ``directory``."""
    path = directory / "source.trk"
    save_recording(simulate_session(SOURCE_CONFIG).recording, path)
    return path
