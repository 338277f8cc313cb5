"""Plain-text description of a recording, as `tracker info` shows it."""

from __future__ import annotations

import numpy as np

from tracker.recording.model import DeviceInfo, Recording, SessionNotes
from tracker.recording.native import NativeRecording
from tracker.samples import SensorSamples

_MAX_GAPS_LISTED = 10


def measured_rate_hz(samples: SensorSamples) -> float | None:
    """Median sample rate from the timestamps (None with fewer than two samples)."""
    if len(samples) < 2:
        return None
    return float(1.0 / np.median(np.diff(samples.time_s)))


def _device(d: DeviceInfo) -> str:
    parts = [d.model]
    if d.firmware:
        parts.append(f"firmware {d.firmware}")
    if d.protocol:
        parts.append(f"protocol {d.protocol}")
    if d.address:
        parts.append(d.address)
    if d.sample_rate_hz is not None:
        parts.append(f"{d.sample_rate_hz:g} Hz nominal")
    if d.acc_range_g is not None:
        parts.append(f"±{d.acc_range_g:g} g")
    if d.gyro_range_dps is not None:
        parts.append(f"±{d.gyro_range_dps:g} deg/s")
    return ", ".join(parts)


def _notes(n: SessionNotes) -> str:
    parts = []
    if n.exercise:
        parts.append(f"exercise {n.exercise}")
    if n.load_kg is not None:
        parts.append(f"load {n.load_kg:g} kg")
    if n.text:
        parts.append(repr(n.text))
    return ", ".join(parts) if parts else "none"


def describe(recording: Recording) -> list[str]:
    """Lines describing placements, samples, rates, devices, notes, gaps, file state, and
    what the reader mended (``input_notes``)."""
    lines = []
    if isinstance(recording, NativeRecording):
        r = recording.report
        state = "closed cleanly" if r.clean_close else "not closed (writer stopped early)"
        if r.truncated_tail_bytes:
            state += f", truncated tail of {r.truncated_tail_bytes} bytes ignored"
        lines.append(f"format: native recording {r.format_version}, {state}")
        for region in r.damaged:
            lines.append(f"damaged: {region.describe()}")
    else:
        lines.append(f"format: {recording.source_format}")
    lines.append(f"created: {recording.recorded_utc or 'unknown'}")
    if recording.placements:
        lines.append(
            f"duration: {recording.duration_s():.3f} s "
            f"({recording.timeline_placement} clock, the recording's timeline)"
        )
    for p in recording.placements:
        s = recording.sensors[p]
        rate = measured_rate_hz(s)
        rate_text = f", {rate:.2f} Hz measured" if rate is not None else ""
        lines.append(f"{p}: {len(s)} samples, {s.time_s[0]:.6f} to {s.time_s[-1]:.6f} s{rate_text}")
        if p in recording.devices:
            lines.append(f"{p} device: {_device(recording.devices[p])}")
    lines.append(f"notes: {_notes(recording.notes)}")
    lines.append(f"gaps: {len(recording.gaps)}")
    for g in recording.gaps[:_MAX_GAPS_LISTED]:
        reason = f" ({g.reason})" if g.reason else ""
        lines.append(f"  {g.placement} {g.start_s:.3f} to {g.end_s:.3f} s{reason}")
    if len(recording.gaps) > _MAX_GAPS_LISTED:
        lines.append(f"  ... and {len(recording.gaps) - _MAX_GAPS_LISTED} more")
    lines.extend(f"input: {note}" for note in recording.input_notes)
    return lines
