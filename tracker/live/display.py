"""What the live display shows, as plain data, and its text (no terminal I/O here).

`LiveStatus` is updated from pipeline events, cues, link events and stream counters;
`status_lines` renders it as a few lines that a terminal front end redraws in place.
Angles are degrees from standing neutral (docs/frames.md); times are seconds, shown as
time since the recording started (as event lines and the summary show them) next to
the wall time the session has run (they differ when emulated sensors run at --speed).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tracker.analysis.events import (
    CalibrationDone,
    Event,
    RepCompleted,
    RepMetrics,
    SetEnded,
    SetStarted,
)
from tracker.devices.ble import LinkEvent
from tracker.devices.stream_tracking import StreamStats
from tracker.live.cues import Cue
from tracker.report.event_lines import clock_text

_LINK_TEXT = {
    "connected": "streaming",
    "reconnected": "streaming",
    "disconnected": "DISCONNECTED, reconnecting",
    "reconnect_failed": "DISCONNECTED, reconnecting",
    "gave_up": "LOST (gave up reconnecting)",
    "finished": "finished",
    "failed": "FAILED",
}


@dataclass
class SensorStatus:
    """One sensor's link and stream counters."""

    link: str = "connecting"
    battery_percent: int | None = None
    packets: int = 0
    lost_packets: int = 0
    lost_samples: int = 0
    malformed: int = 0
    disconnects: int = 0

    @property
    def loss_percent(self) -> float:
        """Packets lost (by sequence counter) out of those sent, in percent."""
        sent = self.packets + self.lost_packets
        return 100.0 * self.lost_packets / sent if sent else 0.0


@dataclass
class LiveStatus:
    """Everything the live display shows."""

    recording_path: str = ""
    #: Wall time since the session opened.
    elapsed_s: float = 0.0
    #: The recording's first sample (main sensor) on its timeline, once it arrived.
    recording_start_s: float | None = None
    #: The newest sample's time on the recording's timeline.
    newest_s: float | None = None
    calibrated: list[str] = field(default_factory=list)
    set_no: int = 0
    exercise: str = ""
    in_set: bool = False
    reps_in_set: int = 0
    total_reps: int = 0
    last_rep: RepMetrics | None = None
    last_cue: Cue | None = None
    #: Wall time since the session opened when the last cue was given.
    last_cue_at_s: float = 0.0
    cues_given: int = 0
    sensors: dict[str, SensorStatus] = field(default_factory=dict)

    def advance(self, t_s: float) -> None:
        """A sample at ``t_s`` (recording timeline) arrived."""
        self.newest_s = t_s if self.newest_s is None else max(self.newest_s, t_s)

    def since_start(self, t_s: float | None) -> float:
        """``t_s`` on the recording's timeline as seconds since the recording started."""
        if t_s is None or self.recording_start_s is None:
            return 0.0
        return t_s - self.recording_start_s

    def apply_event(self, event: Event) -> None:
        if isinstance(event, CalibrationDone):
            if event.placement not in self.calibrated:
                self.calibrated.append(event.placement)
        elif isinstance(event, SetStarted):
            self.set_no, self.exercise, self.in_set, self.reps_in_set = (
                event.set,
                event.exercise,
                True,
                0,
            )
        elif isinstance(event, RepCompleted):
            self.last_rep = event.metrics
            self.reps_in_set = event.metrics.rep
            self.total_reps += 1
        elif isinstance(event, SetEnded):
            self.in_set = False

    def apply_cue(self, cue: Cue, at_s: float) -> None:
        self.last_cue = cue
        self.last_cue_at_s = at_s
        self.cues_given += 1

    def apply_link(self, event: LinkEvent) -> None:
        sensor = self.sensors.setdefault(event.placement, SensorStatus())
        sensor.link = _LINK_TEXT.get(event.event, event.event)

    def apply_stats(
        self, stats: dict[str, StreamStats], battery_percent: dict[str, int | None]
    ) -> None:
        for p, s in stats.items():
            sensor = self.sensors.setdefault(p, SensorStatus())
            sensor.packets = s.packets
            sensor.lost_packets = s.lost_packets
            sensor.lost_samples = s.lost_samples_estimate
            sensor.malformed = s.malformed
            sensor.disconnects = s.disconnects
            sensor.battery_percent = battery_percent.get(p)


def rep_text(m: RepMetrics) -> str:
    """The last rep's depth, flexion and tempo on one line."""
    text = f"depth {m.hinge_depth_deg:.0f} deg"
    if m.lumbar_flexion_deg is not None:
        text += f", lumbar flexion {m.lumbar_flexion_deg:.0f} deg"
    if m.lumbar_extension_deg is not None:
        text += f", extension {m.lumbar_extension_deg:.0f} deg"
    text += f", tempo {m.eccentric_s:.1f} s down / {m.concentric_s:.1f} s up"
    flags = (("FLEXION", m.flexion_under_load), ("OVER-EXTENSION", m.overextension))
    marks = [name for name, on in flags if on]
    if marks:
        text += "  <- " + ", ".join(marks)
    return text


def status_lines(status: LiveStatus) -> list[str]:
    """The live display: a fixed number of lines for a given set of sensors."""
    lines = [
        f"tracker live  {clock_text(status.since_start(status.newest_s))} recorded "
        f"({clock_text(status.elapsed_s)} wall time)  recording to {status.recording_path}"
    ]
    if status.set_no == 0:
        waiting = "calibrating: stand still, then hinge" if not status.calibrated else "ready"
        lines.append(f"no set yet ({waiting}); reps so far {status.total_reps}")
    else:
        state = "in progress" if status.in_set else "ended, resting"
        lines.append(
            f"set {status.set_no} ({status.exercise}, {state}): {status.reps_in_set} reps"
            f"   total {status.total_reps}"
        )
    last = status.last_rep
    lines.append("last rep: " + (rep_text(last) if last is not None else "-"))
    for p, s in status.sensors.items():
        battery = "-" if s.battery_percent is None else f"{s.battery_percent}%"
        lines.append(
            f"{p:<7} {s.link}; battery {battery}; packet loss {s.loss_percent:.1f}% "
            f"({s.lost_packets} lost, {s.malformed} malformed); drops {s.disconnects}"
        )
    cue = status.last_cue
    if cue is None:
        lines.append("last cue: none")
    else:
        when = clock_text(status.since_start(cue.time_s))
        lines.append(f"last cue: {cue.text} at {when} ({clock_text(status.last_cue_at_s)} wall)")
    return lines
