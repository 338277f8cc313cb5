"""Offline analysis: a whole recording through the streaming pipeline.

The recording is fed in time-ordered blocks through exactly the code the live path
uses, so an export and a live session of the same data give the same reps. This is the
use case behind ``tracker export``, ``summary``, ``replay``, ``plot`` and ``report``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace

import numpy as np

from tracker.analysis.events import Event
from tracker.analysis.pipeline import Pipeline
from tracker.analysis.result import SessionResult, recording_start_s
from tracker.analysis.settings import AnalysisSettings
from tracker.errors import AnalysisError
from tracker.recording.model import Recording
from tracker.samples import SensorSamples
from tracker.signal.calibration import UnusableSensorError
from tracker.units import EXERCISES


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
    recording: Recording,
    settings: AnalysisSettings,
    block_s: float | None = None,
    *,
    pace: Callable[[Iterator[SensorSamples]], Iterable[SensorSamples]] | None = None,
    on_event: Callable[[Event], None] | None = None,
) -> SessionResult:
    """Run the pipeline over a recording.

    ``block_s`` None feeds each sensor in one block; otherwise blocks of that length are
    fed in time order, as a live stream would deliver them, through ``pace`` when given
    (a replay paces them at the source edge: `tracker.devices.playback.paced`).
    ``on_event`` gets every event as it is emitted.
    """
    placements = recording.placements
    if not placements:
        raise AnalysisError("the recording holds no samples")
    try:
        return _analyse(recording, settings, block_s, pace, on_event)
    except UnusableSensorError as exc:
        if len(placements) < 2:
            raise
        # One sensor of the pair is unusable: the other one alone still counts reps.
        rest = replace(
            recording, sensors={p: s for p, s in recording.sensors.items() if p != exc.placement}
        )
        result = _analyse(rest, settings, block_s, pace, on_event)
        result.notices.insert(len(recording.input_notes), f"{exc}; analysed the other sensor alone")
        return result


def _analyse(
    recording: Recording,
    settings: AnalysisSettings,
    block_s: float | None,
    pace: Callable[[Iterator[SensorSamples]], Iterable[SensorSamples]] | None,
    on_event: Callable[[Event], None] | None,
) -> SessionResult:
    placements = recording.placements
    pipe = Pipeline(placements, settings)
    events: list[Event] = []

    def emit(new: list[Event]) -> None:
        events.extend(new)
        if on_event is not None:
            for e in new:
                on_event(e)

    if block_s is None:
        blocks: Iterable[SensorSamples] = [recording.sensors[p] for p in placements]
    else:
        blocks = iter_blocks(recording, block_s)
        if pace is not None:
            blocks = pace(blocks)
    t_first = recording_start_s(recording)
    for b in blocks:
        emit(pipe.feed(b))
    emit(pipe.finish())
    result = SessionResult.of(pipe, events, recording.duration_s(), t_first)
    result.notices[:0] = recording.input_notes
    return result


def with_noted_exercise(recording: Recording, settings: AnalysisSettings) -> AnalysisSettings:
    """``settings`` with the exercise noted in the recording when none is forced."""
    noted = recording.notes.exercise
    if settings.exercise is None and noted in EXERCISES:
        return replace(settings, exercise=noted)
    return settings
