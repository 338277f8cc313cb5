"""One line of text per pipeline event (replay, ``live --quiet``).

Every line starts with the time since the recording started (``m:ss.ss``), the clock the
summary's set times use, never a sensor's own clock, and lines come in time order. The
pipeline reports some events about an earlier moment (a sensor's standing phase, a gap
known once the sensor is back) after later ones: such a line is stamped with the latest
time shown so far and names its own moment in its text. A rep line names where the rep
ran, since a rep is confirmed a little after it ends (sometimes with the next one).
"""

from __future__ import annotations

from tracker.analysis.events import (
    CalibrationDone,
    Event,
    FlagRaised,
    Notice,
    RepCompleted,
    SetEnded,
    SetStarted,
)
from tracker.report.words import plural

#: Event lines print hundredths of a second: a moment this much earlier than its line's
#: stamp reads as a different time, so the line names it.
_SHOWN_RESOLUTION_S = 0.005


def clock_text(t_s: float) -> str:
    """``m:ss.ss``: seconds since the recording started, as every event line starts."""
    sign = "-" if t_s < 0 else ""
    t = abs(t_s)
    return f"{sign}{int(t // 60)}:{t % 60:05.2f}"


class EventLines:
    """The lines of one session's events, in the order they are reported.

    ``start_s``: the first sample's time on the recording's timeline (what people read
    as 0:00; `tracker.analysis.result.recording_start_s`, or in a live session its
    main sensor's first sample). It may be set later, before the first line. `advance`
    tells where the stream is (the newest sample's time on the timeline, when known); a
    line is stamped with the latest of that, its event's time and the stamps before it,
    so stamps never go back.
    """

    def __init__(self, start_s: float | None = None) -> None:
        self.start_s = start_s
        self._now_s: float | None = None

    def advance(self, t_s: float) -> None:
        """The stream has reached ``t_s`` (timeline seconds)."""
        self._now_s = t_s if self._now_s is None else max(self._now_s, t_s)

    def since_start(self, t_s: float) -> str:
        """``t_s`` (timeline seconds) as time since the recording started (on the
        timeline itself while the start is not known)."""
        return clock_text(t_s - self.start_s if self.start_s is not None else t_s)

    def stamp(self, t_s: float | None = None) -> str:
        """The stamp of a line reported now about the moment ``t_s`` (None: now)."""
        if t_s is not None:
            self.advance(t_s)
        if self._now_s is None:
            return clock_text(0.0)
        return self.since_start(self._now_s)

    def line(self, e: Event) -> str:
        """The event's line, stamped with the time it was reported."""
        stamp = self.stamp(e.time_s)
        return f"{stamp}  {self._text(e)}"

    def _earlier(self, t_s: float) -> bool:
        return self._now_s is not None and self._now_s - t_s > _SHOWN_RESOLUTION_S

    def _text(self, e: Event) -> str:
        if isinstance(e, CalibrationDone):
            until = f" until {self.since_start(e.time_s)}" if self._earlier(e.time_s) else ""
            extra = f" ({'; '.join(e.warnings)})" if e.warnings else ""
            return f"calibrated {e.placement} sensor, {e.standing_s:.1f} s standing{until}{extra}"
        if isinstance(e, SetStarted):
            at = f" at {self.since_start(e.time_s)}" if self._earlier(e.time_s) else ""
            return f"set {e.set} started{at}: {e.exercise}"
        if isinstance(e, RepCompleted):
            return self._rep(e)
        if isinstance(e, FlagRaised):
            if e.kind == "creep":
                return f"CUE flexion creep in set {e.set}: +{e.value_deg:.0f} deg by rep {e.rep}"
            what = "lumbar flexion" if e.kind == "flexion" else "over-extension"
            return f"CUE {what} {e.value_deg:.0f} deg (limit {e.limit_deg:.0f})"
        if isinstance(e, SetEnded):
            s = e.summary
            return f"set {s.set} ended: {plural(len(s.reps), 'rep')} of {s.exercise}"
        if isinstance(e, Notice):
            at = f" (at {self.since_start(e.time_s)})" if self._earlier(e.time_s) else ""
            return f"note: {e.message}{at}"
        raise TypeError(type(e))

    def _rep(self, e: RepCompleted) -> str:
        m = e.metrics
        span = f"{self.since_start(m.start_s)}-{self.since_start(m.end_s)}"
        text = f"set {m.set} rep {m.rep} ({span}): {m.duration_s:.2f} s"
        text += f", depth {m.hinge_depth_deg:.0f} deg"
        if m.lumbar_flexion_deg is not None:
            text += f", lumbar flexion {m.lumbar_flexion_deg:.0f} deg"
            if m.lumbar_extension_deg is not None:
                text += f", extension {m.lumbar_extension_deg:.0f} deg"
            flags = (("FLEXION", m.flexion_under_load), ("OVER-EXTENSION", m.overextension))
            marks = [name for name, on in flags if on]
            if marks:
                text += "  <- " + ", ".join(marks)
        return text
