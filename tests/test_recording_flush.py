"""When the native recording writer hands data to the disk: by recording time and by
wall time, whichever comes first, so a crash loses less than a second at any speed."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import numpy as np
import pytest

from tracker.recording import framing, native
from tracker.recording.fileio import OutputError
from tracker.recording.model import SessionNotes
from tracker.recording.native import RecordingWriter, read_native
from tracker.samples import SensorSamples

RATE_HZ = 100.0
#: Samples per block (one BLE notification's worth).
BLOCK = 5
FLUSH_INTERVAL_S = 1.0


class FakeClock:
    def __init__(self) -> None:
        self.now_s = 0.0

    def __call__(self) -> float:
        return self.now_s


def block(placement: str, start: int) -> SensorSamples:
    i = np.arange(start, start + BLOCK)
    t = i / RATE_HZ + (0.004 if placement == "sacrum" else 0.0)
    acc = np.column_stack([np.sin(i), np.cos(i), 9.81 + 0 * i])
    return SensorSamples(placement, t, acc, np.column_stack([0.01 * i, 0 * i, 0 * i]))


def sample_records(path: Path) -> int:
    scanned = framing.scan(path.read_bytes())
    return sum(r.record_type == framing.SAMPLES for r in scanned.records)


def on_disk_until_s(path: Path) -> dict[str, float]:
    """Newest sample time per placement that a reader finds in the file now."""
    return {p: float(s.time_s[-1]) for p, s in read_native(path).sensors.items() if len(s)}


def test_recording_time_bounds_what_a_crash_loses_when_the_wall_clock_stands_still(
    tmp_path: Path,
) -> None:
    # A frozen wall clock is a replay so fast that no wall-time flush ever falls due:
    # only the recording-time rule keeps the file current.
    path = tmp_path / "fast.trk"
    clock = FakeClock()
    with RecordingWriter(
        path, devices={}, notes=SessionNotes(), clock=clock, flush_interval_s=FLUSH_INTERVAL_S
    ) as w:
        w.write_samples(block("lumbar", 0))
        w.write_samples(block("sacrum", 0))
        w.flush()  # (so that the file reads back from the start)
        flushes_seen = set()
        for k in range(1, int(4 * RATE_HZ / BLOCK)):
            for p in ("lumbar", "sacrum"):
                b = block(p, k * BLOCK)
                w.write_samples(b)
                newest_s = float(b.time_s[-1])
                disk = on_disk_until_s(path)
                # A crash now loses what is after the newest sample on disk: less than
                # the interval of recording time, for each sensor.
                assert newest_s - disk[p] < FLUSH_INTERVAL_S
                flushes_seen.add((p, disk[p]))
        # Flushes came about once per second of recording (for 4 s, the first one
        # explicit), not at every block.
        assert 4 <= len(flushes_seen) / 2 <= 6


def test_wall_time_still_flushes_when_samples_stall(tmp_path: Path) -> None:
    path = tmp_path / "stall.trk"
    clock = FakeClock()
    with RecordingWriter(
        path, devices={}, notes=SessionNotes(), clock=clock, flush_interval_s=FLUSH_INTERVAL_S
    ) as w:
        w.write_samples(block("lumbar", 0))
        w.flush()
        w.write_samples(block("lumbar", BLOCK))  # 50 ms of recording: not due by that rule
        w.flush_if_due()
        assert on_disk_until_s(path)["lumbar"] == block("lumbar", 0).time_s[-1]
        clock.now_s = FLUSH_INTERVAL_S  # the sensor is away; a second of wall time passes
        w.flush_if_due()
        assert on_disk_until_s(path)["lumbar"] == block("lumbar", BLOCK).time_s[-1]


def test_the_first_samples_count_from_the_first_sample(tmp_path: Path) -> None:
    # Nothing of a placement is on disk yet: all of its samples would be lost.
    path = tmp_path / "first.trk"
    with RecordingWriter(
        path,
        devices={},
        notes=SessionNotes(),
        clock=FakeClock(),
        flush_interval_s=FLUSH_INTERVAL_S,
    ) as w:
        n_blocks = int(FLUSH_INTERVAL_S * RATE_HZ / BLOCK)  # blocks 0..n-1 span 0.99 s
        for k in range(n_blocks):
            w.write_samples(block("lumbar", k * BLOCK))
        assert sample_records(path) == 0
        w.write_samples(block("lumbar", n_blocks * BLOCK))  # reaches 1.04 s: due
        assert len(read_native(path).sensors["lumbar"]) == (n_blocks + 1) * BLOCK


def test_a_disk_too_full_for_the_header_leaves_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "none.trk"

    def full(fd: int, data: bytes) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(native.os, "write", full)
    with pytest.raises(OutputError) as caught:
        RecordingWriter(path, devices={}, notes=SessionNotes())
    monkeypatch.undo()
    assert str(caught.value) == (
        f"cannot create {path}: No space left on device (the disk is full); nothing was recorded"
    )
    assert not path.exists()


def test_samples_on_disk_count_whole_records_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "cut.trk"
    w = RecordingWriter(path, devices={}, notes=SessionNotes(), clock=FakeClock())
    header_bytes = path.stat().st_size
    w.write_samples(block("lumbar", 0))
    w.write_samples(block("sacrum", 0))
    w.flush()
    assert w.samples_on_disk == {"lumbar": BLOCK, "sacrum": BLOCK}
    record_bytes = (path.stat().st_size - header_bytes) // 2
    real_write = os.write
    # Bytes left: the next lumbar record fits, the sacrum one is cut short.
    room = [record_bytes + record_bytes // 2]

    def filling(fd: int, data: bytes) -> int:
        if room[0] <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        n = real_write(fd, bytes(data)[: room[0]])
        room[0] -= n
        return n

    w.write_samples(block("lumbar", BLOCK))
    w.write_samples(block("sacrum", BLOCK))
    monkeypatch.setattr(native.os, "write", filling)
    with pytest.raises(OutputError, match="the disk is full"):
        w.flush()
    w.close()
    monkeypatch.undo()
    kept = read_native(path)
    assert kept.report.truncated_tail_bytes > 0
    assert w.samples_on_disk == {p: len(s) for p, s in kept.sensors.items()}
    assert w.samples_on_disk == {"lumbar": 2 * BLOCK, "sacrum": BLOCK}
