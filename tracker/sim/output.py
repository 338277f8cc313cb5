"""Writing a simulated session: the recording (format by extension) and its truth JSON."""

from __future__ import annotations

import os
from pathlib import Path

from tracker.recording.fileio import replace_atomically
from tracker.recording.load import save_recording
from tracker.sim.simulate import SimResult


def default_truth_path(recording_path: str | os.PathLike[str]) -> Path:
    """``session.csv`` -> ``session.truth.json`` next to it."""
    p = Path(recording_path)
    return p.with_name(p.stem + ".truth.json")


def save_result(
    result: SimResult,
    recording_path: str | os.PathLike[str],
    truth_path: str | os.PathLike[str] | None,
) -> None:
    """Write the recording (``.csv`` samples CSV, ``.trk`` native) and, unless
    ``truth_path`` is None, the truth JSON; both replaced atomically."""
    save_recording(result.recording, recording_path)
    if truth_path is None:
        return
    replace_atomically(truth_path, result.truth.to_json())
