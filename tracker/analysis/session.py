"""Analyse a whole recording through the streaming pipeline.

Offline analysis feeds the recording in time-ordered blocks through exactly the code the
live path uses, so an export and a live session of the same data give the same reps.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from tracker.analysis.events import Event, RepMetrics, SetSummary
from tracker.analysis.pipeline import Pipeline
from tracker.analysis.settings import AnalysisSettings
from tracker.errors import AnalysisError
from tracker.recording.model import Recording
from tracker.samples import SensorSamples


@dataclass
class SessionResult:
    placements: tuple[str, ...]
    settings: AnalysisSettings
    events: list[Event]
    reps: list[RepMetrics]
    sets: list[SetSummary]
    notices: list[str]
    duration_s: float
    #: The pipeline after the run, with its timeline arrays (plots, calibration).
    pipeline: Pipeline
    #: First sample time on the recording's timeline (what people read as 0:00).
    start_s: float | None = None

    @property
    def dual(self) -> bool:
        return len(self.placements) == 2


def iter_blocks(recording: Recording, block_s: float) -> Iterator[SensorSamples]:
    """Blocks of ``block_s`` seconds per sensor, interleaved in time order as a live
    stream would deliver them (each sensor on its own clock)."""
    if block_s <= 0:
        raise ValueError("block_s must be positive")
    edges: dict[str, np.ndarray] = {}
    for p, s in recording.sensors.items():
        if len(s) == 0:
            continue
        t0 = float(s.time_s[0])
        k = np.floor((s.time_s - t0) / block_s).astype(np.int64)
        cuts = np.flatnonzero(np.diff(k)) + 1
        edges[p] = np.concatenate([[0], cuts, [len(s)]])
    order = []
    for p, e in edges.items():
        s = recording.sensors[p]
        for a, b in itertools.pairwise(e):
            order.append((float(s.time_s[b - 1]), p, int(a), int(b)))
    order.sort(key=lambda x: (x[0], x[1]))
    for _, p, a, b in order:
        yield recording.sensors[p].slice(a, b)


def analyse_recording(
    recording: Recording, settings: AnalysisSettings, block_s: float | None = None
) -> SessionResult:
    """Run the pipeline over a recording; ``block_s`` None feeds each sensor in one block."""
    placements = recording.placements
    if not placements:
        raise AnalysisError("the recording holds no samples")
    pipe = Pipeline(placements, settings)
    events: list[Event] = []
    if block_s is None:
        blocks: Iterator[SensorSamples] | list[SensorSamples] = [
            recording.sensors[p] for p in placements
        ]
    else:
        blocks = iter_blocks(recording, block_s)
    for b in blocks:
        events.extend(pipe.feed(b))
    events.extend(pipe.finish())
    return SessionResult(
        placements=placements,
        settings=settings,
        events=events,
        reps=list(pipe.all_reps),
        sets=list(pipe.summaries),
        notices=list(pipe.notices),
        duration_s=recording.duration_s(),
        pipeline=pipe,
        start_s=recording_start_s(recording),
    )


def recording_start_s(recording: Recording) -> float:
    """The first sample's time on the recording's timeline."""
    s = recording.sensors[recording.timeline_placement]
    return float(s.time_s[0]) if len(s) else 0.0
