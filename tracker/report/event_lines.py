"""One line of text per pipeline event (replay, ``live --quiet``)."""

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


def clock_text(t_s: float) -> str:
    """``mm:ss.ss`` on the recording's timeline, as every event line starts."""
    sign = "-" if t_s < 0 else ""
    t = abs(t_s)
    return f"{sign}{int(t // 60):02d}:{t % 60:05.2f}"


def event_line(e: Event) -> str:
    t = clock_text(e.time_s)
    if isinstance(e, CalibrationDone):
        extra = f" ({'; '.join(e.warnings)})" if e.warnings else ""
        return f"{t}  calibrated {e.placement} sensor, {e.standing_s:.1f} s standing{extra}"
    if isinstance(e, SetStarted):
        return f"{t}  set {e.set} started: {e.exercise}"
    if isinstance(e, RepCompleted):
        m = e.metrics
        text = (
            f"{t}  set {m.set} rep {m.rep}: {m.duration_s:.2f} s, depth {m.hinge_depth_deg:.0f} deg"
        )
        if m.lumbar_flexion_deg is not None:
            text += f", lumbar flexion {m.lumbar_flexion_deg:.0f} deg"
            if m.lumbar_extension_deg is not None:
                text += f", extension {m.lumbar_extension_deg:.0f} deg"
            marks = [
                n
                for n, on in (
                    ("FLEXION", m.flexion_under_load),
                    ("OVER-EXTENSION", m.overextension),
                )
                if on
            ]
            if marks:
                text += "  <- " + ", ".join(marks)
        return text
    if isinstance(e, FlagRaised):
        if e.kind == "creep":
            return f"{t}  CUE flexion creep in set {e.set}: +{e.value_deg:.0f} deg by rep {e.rep}"
        what = "lumbar flexion" if e.kind == "flexion" else "over-extension"
        return f"{t}  CUE {what} {e.value_deg:.0f} deg (limit {e.limit_deg:.0f})"
    if isinstance(e, SetEnded):
        s = e.summary
        return f"{t}  set {s.set} ended: {plural(len(s.reps), 'rep')} of {s.exercise}"
    if isinstance(e, Notice):
        return f"{t}  note: {e.message}"
    raise TypeError(type(e))
