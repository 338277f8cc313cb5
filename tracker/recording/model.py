"""In-memory recording: per-placement samples plus the metadata a session needs.

The recording's timeline is the ``lumbar`` sensor's clock when that sensor is present,
else the single sensor's clock (DESIGN 4.3). Frames and units: docs/frames.md.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from tracker.samples import SensorSamples
from tracker.units import LUMBAR, PLACEMENTS


@dataclass
class DeviceInfo:
    """What is known about the sensor at one placement (None when unknown)."""

    model: str = "unknown"
    firmware: str | None = None
    protocol: str | None = None
    address: str | None = None
    sample_rate_hz: float | None = None
    acc_range_g: float | None = None
    gyro_range_dps: float | None = None

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DeviceInfo:
        known = {k: d[k] for k in cls.__dataclass_fields__ if k in d}
        return cls(**known)


@dataclass
class SessionNotes:
    """Notes the user attaches to a session."""

    exercise: str | None = None
    load_kg: float | None = None
    text: str | None = None

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SessionNotes:
        known = {k: d[k] for k in cls.__dataclass_fields__ if k in d}
        return cls(**known)


@dataclass(frozen=True)
class RawPacket:
    """One BLE notification as received: what a live session records, and what a
    recording gives back for re-decoding.

    ``host_time_s``: session clock when it arrived (seconds since the session opened,
    monotonic); ``device_time_s``: the device's own timestamp in the payload when the
    protocol has one (its own clock, as sent), else None.
    """

    placement: str
    protocol: str
    host_time_s: float
    device_time_s: float | None
    payload: bytes


@dataclass
class Gap:
    """A stretch without data from one placement (e.g. a BLE disconnect), sensor clock."""

    placement: str
    start_s: float
    end_s: float
    reason: str = ""


#: The creation time a recording carries when its date is not known (the Unix epoch:
#: simulated recordings, so that the same seed writes the same file).
UNKNOWN_CREATED_UTC = "1970-01-01T00:00:00Z"


@dataclass
class Recording:
    """Samples per placement, device info, notes and known gaps."""

    sensors: dict[str, SensorSamples]
    devices: dict[str, DeviceInfo] = field(default_factory=dict)
    notes: SessionNotes = field(default_factory=SessionNotes)
    gaps: list[Gap] = field(default_factory=list)
    created_utc: str | None = None
    #: What the reader mended or left out to make the data usable (repeated timestamps,
    #: small clock reversals, ...): one line each, shown with every analysis of it.
    input_notes: list[str] = field(default_factory=list)
    #: What the data was read from, as `tracker info` names it (a native recording says
    #: so itself): "samples CSV", or a phone app's export.
    source_format: str = "samples CSV"

    @property
    def recorded_utc(self) -> str | None:
        """When the recording was made, or None if that is not known."""
        return None if self.created_utc in (None, "", UNKNOWN_CREATED_UTC) else self.created_utc

    @property
    def placements(self) -> tuple[str, ...]:
        """Placements with data, in canonical order."""
        return tuple(p for p in PLACEMENTS if p in self.sensors)

    @property
    def timeline_placement(self) -> str:
        """The placement whose clock is the recording's timeline."""
        return LUMBAR if LUMBAR in self.sensors else self.placements[0]

    @property
    def is_dual(self) -> bool:
        return len(self.placements) == 2

    def duration_s(self) -> float:
        s = self.sensors[self.timeline_placement]
        return float(s.time_s[-1] - s.time_s[0]) if len(s) else 0.0

    def header_dict(self) -> dict[str, Any]:
        """Metadata as plain JSON-able data (the native format's header)."""
        return {
            "created_utc": self.created_utc,
            "devices": {p: asdict(d) for p, d in self.devices.items()},
            "notes": asdict(self.notes),
        }
