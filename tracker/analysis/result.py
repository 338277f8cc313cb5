"""What an analysed session gives: `SessionResult`, shared by every sink.

The analysis of a whole recording (`tracker.app.offline.analyse_recording`) and a live
session (`tracker.app.live.run_live`) both end in a `SessionResult`; the summary, plots,
report, subtitles and history read it.
"""

from __future__ import annotations

from dataclasses import dataclass

from tracker.analysis.events import CycleDecision, Event, RepMetrics, SetSummary
from tracker.analysis.pipeline import Pipeline
from tracker.analysis.settings import AnalysisSettings
from tracker.recording.model import Recording


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
    #: Why each candidate movement was counted as a rep or not, in time order.
    decisions: tuple[CycleDecision, ...] = ()

    @property
    def dual(self) -> bool:
        return len(self.placements) == 2

    @classmethod
    def of(
        cls, pipe: Pipeline, events: list[Event], duration_s: float, start_s: float | None
    ) -> SessionResult:
        """The result of a pipeline that has been fed and finished."""
        return cls(
            placements=tuple(pipe.chains),
            settings=pipe.settings,
            events=events,
            reps=list(pipe.all_reps),
            sets=list(pipe.summaries),
            notices=list(pipe.notices),
            duration_s=duration_s,
            pipeline=pipe,
            start_s=start_s,
            decisions=tuple(pipe.decisions),
        )


def recording_start_s(recording: Recording) -> float:
    """The first sample's time on the recording's timeline."""
    s = recording.sensors[recording.timeline_placement]
    return float(s.time_s[0]) if len(s) else 0.0
