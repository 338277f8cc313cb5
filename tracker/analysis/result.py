"""What an analysed session gives: `SessionResult`, shared by every sink.

The analysis of a whole recording (`tracker.app.offline.analyse_recording`) and a live
session (`tracker.app.live.run_live`) both end in a `SessionResult`; the summary, plots,
report, subtitles and history read it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tracker.analysis.events import CycleDecision, Event, Notice, RepMetrics, SetSummary
from tracker.analysis.pipeline import Pipeline
from tracker.analysis.settings import AnalysisSettings
from tracker.recording.model import Recording


@dataclass(frozen=True)
class Traces:
    """The session's timeline (docs/frames.md), one value per timeline sample: what the
    plots draw and a calibration recording measures."""

    time_s: np.ndarray
    hinge_deg: np.ndarray
    #: Lumbar flexion (NaN where not measured, and throughout with one sensor).
    lumbar_deg: np.ndarray

    @classmethod
    def empty(cls) -> Traces:
        return cls(np.zeros(0), np.zeros(0), np.zeros(0))


@dataclass
class SessionResult:
    placements: tuple[str, ...]
    settings: AnalysisSettings
    events: list[Event]
    reps: list[RepMetrics]
    sets: list[SetSummary]
    notices: list[str]
    duration_s: float
    #: The timeline arrays after the run (plots, calibration).
    traces: Traces = field(default_factory=Traces.empty)
    #: First sample time on the recording's timeline (what people read as 0:00).
    start_s: float | None = None
    #: Why each candidate movement was counted as a rep or not, in time order.
    decisions: tuple[CycleDecision, ...] = ()
    #: The analysis's notices as its events carried them (`Pipeline.notes`); `notices`
    #: holds their lines after what reading the input noted.
    notes: tuple[Notice, ...] = ()

    @property
    def dual(self) -> bool:
        return len(self.placements) == 2

    @classmethod
    def of(
        cls, pipe: Pipeline, events: list[Event], duration_s: float, start_s: float | None
    ) -> SessionResult:
        """The result of a pipeline that has been fed and finished."""
        tl = pipe.timeline
        return cls(
            placements=tuple(pipe.chains),
            settings=pipe.settings,
            events=events,
            reps=list(pipe.all_reps),
            sets=list(pipe.summaries),
            notices=list(pipe.notices),
            duration_s=duration_s,
            traces=Traces(tl.time_s.view, tl.hinge_deg.view, tl.lumbar_deg.view),
            start_s=start_s,
            decisions=tuple(pipe.decisions),
            notes=tuple(pipe.notes),
        )


def recording_start_s(recording: Recording) -> float:
    """The first sample's time on the recording's timeline."""
    s = recording.sensors[recording.timeline_placement]
    return float(s.time_s[0]) if len(s) else 0.0
