"""Native recording: round trips, crash safety, damage detection and recovery, fuzzing."""

from __future__ import annotations

import datetime
import errno
import itertools
import os
import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from recording_testdata import assert_same_samples, metadata, recordings

from tracker.errors import CorruptRecordingError, InputError
from tracker.recording import fileio, framing
from tracker.recording.fileio import OutputError
from tracker.recording.model import DeviceInfo, Gap, Recording, SessionNotes
from tracker.recording.native import (
    RawPacket,
    RecordingWriter,
    iter_packets,
    read_native,
    read_native_info,
    write_native,
)
from tracker.samples import SensorSamples

RATE_HZ = 100.0
BLOCK = 10  # samples per write_samples call: one BLE packet's worth
PROPERTY = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
FUZZ = settings(
    max_examples=120,
    deadline=datetime.timedelta(seconds=5),
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
DEVICES = {
    "lumbar": DeviceInfo(model="XIAO nRF52840 Sense", firmware="1.2.0", sample_rate_hz=100.0),
    "sacrum": DeviceInfo(model="Movesense", protocol="movesense", acc_range_g=8.0),
}
NOTES = SessionNotes(exercise="deadlift", load_kg=100.0, text="first session")


@pytest.fixture(autouse=True, params=["read", "mapped"])
def input_buffer(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test twice: files read into memory, and files memory-mapped (as large
    recordings are), which must behave the same, damage and truncation included."""
    if request.param == "mapped":
        monkeypatch.setattr(fileio, "MAP_MIN_BYTES", 1)


class FakeClock:
    def __init__(self) -> None:
        self.now_s = 0.0

    def __call__(self) -> float:
        return self.now_s


def block(placement: str, start: int, n: int = BLOCK) -> SensorSamples:
    i = np.arange(start, start + n)
    t = i / RATE_HZ + (0.003 if placement == "sacrum" else 0.0)
    acc = np.column_stack([np.sin(i), np.cos(i), 9.81 + 0 * i])
    gyro = np.column_stack([0.1 * i, -0.2 * i, 0 * i])
    return SensorSamples(placement, t, acc, gyro)


def stream(path: Path, seconds: int, clock_per_block_s: float = 0.1) -> dict[str, SensorSamples]:
    """Stream both sensors for ``seconds`` of data; return what was written.

    The fake clock advances ``clock_per_block_s`` per block: 0.1 s is real time (a flush
    every 10 blocks); 1 s flushes every block, making small records.
    """
    clock = FakeClock()
    written: dict[str, list[SensorSamples]] = {"lumbar": [], "sacrum": []}
    with RecordingWriter(path, devices=DEVICES, notes=NOTES, clock=clock) as w:
        for k in range(int(seconds * RATE_HZ / BLOCK)):
            clock.now_s = k * clock_per_block_s
            for p in ("lumbar", "sacrum"):
                b = block(p, k * BLOCK)
                w.write_samples(b)
                w.write_packet(p, "tracker_imu", clock.now_s, b.time_s[0], bytes([k % 256]) * 7)
                written[p].append(b)
    return {p: SensorSamples.concat(bs) for p, bs in written.items()}


def sample_records(path: Path) -> list[framing.Record]:
    return [r for r in framing.scan(path.read_bytes()).records if r.record_type == framing.SAMPLES]


# ------------------------------------------------------------------ round trips


def test_streamed_recording_reads_back_exactly(tmp_path: Path) -> None:
    path = tmp_path / "s.trk"
    written = stream(path, 3)
    rec = read_native(path)
    for p in ("lumbar", "sacrum"):
        assert rec.sensors[p].equals(written[p])
    assert rec.devices == DEVICES
    assert rec.notes == NOTES
    assert rec.report.clean_close and rec.report.truncated_tail_bytes == 0
    assert rec.report.format_version == "1.0"
    assert rec.created_utc is not None and rec.created_utc.endswith("Z")


def test_packets_gaps_and_notes_updates(tmp_path: Path) -> None:
    path = tmp_path / "p.trk"
    with RecordingWriter(path, devices={}, notes=SessionNotes(), meta={"app": "test"}) as w:
        w.write_samples(block("lumbar", 0))
        w.write_packet("lumbar", "polar_pmd", 10.5, None, b"\x01\x02")
        w.write_packet("sacrum", "movesense", 10.6, 123.25, b"")
        w.write_packet("lumbar", "polar_pmd", 10.7, 3.0, b"\xff" * 300)
        w.write_gap(Gap("lumbar", 0.1, 0.4, "BLE disconnect"))
        w.update_notes(SessionNotes(exercise="squat"))
        w.update_notes(SessionNotes(exercise="kettlebell_swing", load_kg=24.0))
    packets = list(iter_packets(path))
    by_placement = {p: [x for x in packets if x.placement == p] for p in ("lumbar", "sacrum")}
    assert by_placement["lumbar"] == [
        RawPacket("lumbar", "polar_pmd", 10.5, None, b"\x01\x02"),
        RawPacket("lumbar", "polar_pmd", 10.7, 3.0, b"\xff" * 300),
    ]
    assert by_placement["sacrum"] == [RawPacket("sacrum", "movesense", 10.6, 123.25, b"")]
    rec = read_native(path)
    assert rec.gaps == [Gap("lumbar", 0.1, 0.4, "BLE disconnect")]
    assert rec.notes == SessionNotes(exercise="kettlebell_swing", load_kg=24.0)
    assert rec.meta == {"app": "test"}
    info = read_native_info(path)
    assert info.notes == SessionNotes() and info.meta == {"app": "test"}


@PROPERTY
@given(rec=recordings(), meta=metadata())
def test_write_read_write_is_exact_and_byte_identical(
    tmp_path: Path, rec: Recording, meta: tuple[dict[str, DeviceInfo], SessionNotes]
) -> None:
    rec.devices, rec.notes = meta
    rec.gaps = [Gap(rec.placements[0], -1.5, 2.25, "test")]
    a, b = tmp_path / "a.trk", tmp_path / "b.trk"
    write_native(rec, a)
    back = read_native(a)
    assert_same_samples(rec, back)
    assert back.devices == rec.devices and back.notes == rec.notes and back.gaps == rec.gaps
    write_native(back, b)
    assert a.read_bytes() == b.read_bytes()


@PROPERTY
@given(rec=recordings(), cuts=st.lists(st.integers(1, 40), max_size=8), clock_step=st.floats(0, 1))
def test_any_blocking_and_flush_timing_reads_back_the_same(
    tmp_path: Path, rec: Recording, cuts: list[int], clock_step: float
) -> None:
    path = tmp_path / "w.trk"
    path.unlink(missing_ok=True)
    clock = FakeClock()
    with RecordingWriter(path, devices={}, notes=SessionNotes(), clock=clock) as w:
        for p in rec.placements:
            s = rec.sensors[p]
            edges = sorted({0, len(s), *(c for c in cuts if c < len(s))})
            for i, j in itertools.pairwise(edges):
                clock.now_s += clock_step
                w.write_samples(s.slice(i, j))
    assert_same_samples(rec, read_native(path))


def test_long_blocks_are_split_into_bounded_records(tmp_path: Path) -> None:
    n = 150_000
    t = np.arange(n) / 200.0
    rec = Recording(
        sensors={"lumbar": SensorSamples("lumbar", t, np.ones((n, 3)), np.zeros((n, 3)))}
    )
    write_native(rec, tmp_path / "l.trk")
    sizes = [struct.unpack_from("<I", r.payload, 7)[0] for r in sample_records(tmp_path / "l.trk")]
    assert sizes == [65536, 65536, n - 2 * 65536]
    assert_same_samples(rec, read_native(tmp_path / "l.trk"))


# ------------------------------------------------------------------ writer behaviour


def test_writer_flushes_to_disk_within_one_second(tmp_path: Path) -> None:
    path = tmp_path / "f.trk"
    clock = FakeClock()
    w = RecordingWriter(path, devices={}, notes=SessionNotes(), clock=clock)
    w.write_samples(block("lumbar", 0))
    clock.now_s = 0.99
    w.write_samples(block("lumbar", 10))
    assert sample_records(path) == []  # buffered: only the header is on disk
    clock.now_s = 1.0
    w.write_samples(block("lumbar", 20))
    on_disk = read_native(path)  # the writer is still open: no end record yet
    snapshot = path.read_bytes()
    assert len(on_disk.sensors["lumbar"]) == 30
    assert not on_disk.report.clean_close
    clock.now_s = 1.5
    w.write_samples(block("lumbar", 30))
    clock.now_s = 2.0
    w.flush_if_due()  # a periodic task flushes even when no more data comes
    assert len(read_native(path).sensors["lumbar"]) == 40
    w.close()
    assert read_native(path).report.clean_close
    assert path.read_bytes().startswith(snapshot)  # append-only: nothing rewritten


def test_ctrl_c_inside_the_block_leaves_a_cleanly_closed_file(tmp_path: Path) -> None:
    path = tmp_path / "k.trk"
    with pytest.raises(KeyboardInterrupt):
        with RecordingWriter(path, devices={}, notes=SessionNotes(), clock=FakeClock()) as w:
            w.write_samples(block("lumbar", 0))
            raise KeyboardInterrupt
    rec = read_native(path)
    assert rec.report.clean_close and len(rec.sensors["lumbar"]) == BLOCK


def test_ctrl_c_during_a_partial_write_still_closes_cleanly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "k2.trk"
    real_write = os.write
    calls = {"n": 0}

    def half_then_interrupt(fd: int, data: bytes) -> int:
        calls["n"] += 1
        if calls["n"] == 1:
            real_write(fd, bytes(data[: len(data) // 2]))
            raise KeyboardInterrupt
        return real_write(fd, data)

    with pytest.raises(KeyboardInterrupt):
        with RecordingWriter(path, devices={}, notes=SessionNotes(), clock=FakeClock()) as w:
            w.write_samples(block("lumbar", 0))
            monkeypatch.setattr("tracker.recording.native.os.write", half_then_interrupt)
            w.flush()
    rec = read_native(path)
    assert rec.report.clean_close and len(rec.sensors["lumbar"]) == BLOCK


def test_disk_full_raises_and_keeps_flushed_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "d.trk"
    clock = FakeClock()
    w = RecordingWriter(path, devices={}, notes=SessionNotes(), clock=clock)
    w.write_samples(block("lumbar", 0))
    w.flush()

    def full(fd: int, data: bytes) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr("tracker.recording.native.os.write", full)
    w.write_samples(block("lumbar", 10))
    clock.now_s = 5.0
    with pytest.raises(OutputError, match="No space left on device"):
        w.write_samples(block("lumbar", 20))
    with pytest.raises(OutputError):  # the writer stays failed
        w.write_samples(block("lumbar", 30))
    w.close()
    monkeypatch.undo()
    assert len(read_native(path).sensors["lumbar"]) == BLOCK


def test_writer_never_overwrites_and_rejects_bad_data(tmp_path: Path) -> None:
    path = tmp_path / "e.trk"
    path.write_bytes(b"precious")
    with pytest.raises(InputError, match="already exists"):
        RecordingWriter(path, devices={}, notes=SessionNotes())
    assert path.read_bytes() == b"precious"
    with RecordingWriter(tmp_path / "n.trk", devices={}, notes=SessionNotes()) as w:
        w.write_samples(block("lumbar", 10))
        with pytest.raises(InputError, match="must increase"):
            w.write_samples(block("lumbar", 5))
        bad = block("lumbar", 20)
        bad.acc_mps2[3, 1] = np.nan
        with pytest.raises(InputError, match="NaN"):
            w.write_samples(bad)
        with pytest.raises(InputError, match="unknown placement 'thorax'"):
            w.write_packet("thorax", "x", 0.0, None, b"")
        with pytest.raises(InputError, match="finite"):
            w.write_packet("lumbar", "x", float("nan"), None, b"")
    with pytest.raises(InputError, match="unknown placement"):
        RecordingWriter(tmp_path / "m.trk", devices={"neck": DeviceInfo()}, notes=SessionNotes())


# ------------------------------------------------------------------ crash safety


def test_truncation_at_every_byte_of_the_last_records_reads_a_prefix(tmp_path: Path) -> None:
    path = tmp_path / "t.trk"
    written = stream(path, 2, clock_per_block_s=1.0)
    data = path.read_bytes()
    records = framing.scan(data).records
    assert records[-1].record_type == framing.END
    cut_from = records[-6].offset  # the last samples, packets and end records
    cut = tmp_path / "cut.trk"
    for size in range(cut_from, len(data) + 1):
        cut.write_bytes(data[:size])
        rec = read_native(cut)
        intact_end = max(r.end for r in records if r.end <= size)
        assert rec.report.truncated_tail_bytes == size - intact_end
        assert rec.report.clean_close == (size == len(data))
        for p, s in rec.sensors.items():
            n = len(s)
            assert n > 0 and s.equals(written[p].slice(0, n))


def test_cut_off_before_any_samples_is_a_clear_input_error(tmp_path: Path) -> None:
    path = tmp_path / "h.trk"
    stream(path, 1)
    data = path.read_bytes()
    first_samples = sample_records(path)[0].offset
    for size in (5, 16, 40, first_samples + 3):
        (tmp_path / "c.trk").write_bytes(data[:size])
        with pytest.raises(InputError, match="holds no samples"):
            read_native(tmp_path / "c.trk")


# ------------------------------------------------------------------ damage in the middle


def damaged_copy(tmp_path: Path, mutate: str) -> tuple[Path, framing.Record, dict]:
    path = tmp_path / "m.trk"
    path.unlink(missing_ok=True)
    written = stream(path, 5)
    data = bytearray(path.read_bytes())
    victim = [r for r in sample_records(path) if r.payload.tobytes()[1:7] == b"lumbar"][2]
    if mutate == "flip":
        data[victim.offset + 100] ^= 0x40
    elif mutate == "length":
        data[victim.offset + 9] ^= 0x01
    elif mutate == "insert":
        data[victim.offset : victim.offset] = os.urandom(37)
    bad = tmp_path / f"bad-{mutate}.trk"
    bad.write_bytes(bytes(data))
    return bad, victim, written


@pytest.mark.parametrize("mutate", ["flip", "length"])
def test_corrupt_middle_names_what_was_lost_and_recover_reads_around_it(
    tmp_path: Path, mutate: str
) -> None:
    bad, victim, written = damaged_copy(tmp_path, mutate)
    with pytest.raises(CorruptRecordingError) as info:
        read_native(bad)
    msg = str(info.value)
    assert f"bytes {victim.offset}-{victim.end}" in msg
    assert "lumbar" in msg and "samples" in msg and "--recover" in msg
    n_victim = struct.unpack_from("<I", victim.payload, 7)[0]
    assert f"~{n_victim} samples" in msg
    rec = read_native(bad, recover=True)
    assert info.value.recovered is not None
    lumbar = rec.sensors["lumbar"]
    assert len(lumbar) == len(written["lumbar"]) - n_victim
    assert rec.sensors["sacrum"].equals(written["sacrum"])
    lost_times = set(np.frombuffer(victim.payload, "<f8", n_victim, 11).tolist())
    assert not lost_times & set(lumbar.time_s.tolist())
    assert [g.placement for g in rec.gaps] == ["lumbar"]
    assert rec.gaps[0].start_s < min(lost_times) and rec.gaps[0].end_s > max(lost_times)
    assert rec.report.damaged[0].lost[0].samples == n_victim


def test_garbage_inserted_in_the_middle_is_resynced(tmp_path: Path) -> None:
    bad, _, written = damaged_copy(tmp_path, "insert")
    with pytest.raises(CorruptRecordingError, match="raw packets or notes only"):
        read_native(bad)
    rec = read_native(bad, recover=True)
    # Only the inserted bytes were damage: every sample is still there.
    assert rec.sensors["lumbar"].equals(written["lumbar"])
    assert rec.report.damaged[0].end_byte - rec.report.damaged[0].start_byte == 37
    assert "no samples" in rec.report.damaged[0].describe()


def test_damaged_header_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "hd.trk"
    written = stream(path, 2)
    data = bytearray(path.read_bytes())
    data[framing.PREAMBLE_LEN + 20] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptRecordingError, match="the header"):
        read_native(path)
    rec = read_native(path, recover=True)
    assert rec.devices == {} and rec.sensors["lumbar"].equals(written["lumbar"])
    with pytest.raises(InputError, match="header record is missing or damaged"):
        read_native_info(path)


def test_packets_of_a_damaged_file_need_recover(tmp_path: Path) -> None:
    bad, _, _ = damaged_copy(tmp_path, "flip")
    with pytest.raises(CorruptRecordingError, match="--recover"):
        list(iter_packets(bad))
    assert len(list(iter_packets(bad, recover=True))) == 2 * 5 * RATE_HZ / BLOCK


# ------------------------------------------------------------------ not a recording


def test_not_a_recording_empty_and_newer_version(tmp_path: Path) -> None:
    p = tmp_path / "x.trk"
    p.write_text("time_s,sensor\n")
    with pytest.raises(InputError, match="is not a tracker recording"):
        read_native(p)
    p.write_bytes(b"")
    with pytest.raises(InputError, match="is empty"):
        read_native(p)
    p.write_bytes(framing.MAGIC + struct.pack("<HH4x", 2, 0) + b"\0" * 50)
    with pytest.raises(InputError, match=r"format 2\.0, newer than this tracker reads"):
        read_native(p)
    with pytest.raises(InputError, match="no such file"):
        read_native(tmp_path / "missing.trk")


def test_unknown_record_types_from_newer_minor_versions_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "u.trk"
    written = stream(path, 1)
    data = path.read_bytes()
    end = framing.scan(data).records[-1]
    extra = framing.encode_record(99, b"something new")
    path.write_bytes(data[: end.offset] + extra + data[end.offset :])
    rec = read_native(path)
    assert rec.report.clean_close and rec.sensors["sacrum"].equals(written["sacrum"])


# ------------------------------------------------------------------ fuzzing


def _read_any(path: Path, recover: bool) -> None:
    try:
        rec = read_native(path, recover=recover)
    except InputError:
        return
    for s in rec.sensors.values():
        assert np.all(np.diff(s.time_s) > 0)


@FUZZ
@given(data=st.binary(max_size=400), with_magic=st.booleans(), recover=st.booleans())
def test_fuzz_random_bytes_only_raise_input_errors(
    tmp_path: Path, data: bytes, with_magic: bool, recover: bool
) -> None:
    p = tmp_path / "r.trk"
    p.write_bytes(framing.encode_preamble() + data if with_magic else data)
    _read_any(p, recover)


@pytest.fixture(scope="module")
def valid_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("v") / "v.trk"
    stream(path, 1)
    return path.read_bytes()


@FUZZ
@given(
    edits=st.lists(
        st.tuples(
            st.sampled_from(["flip", "insert", "delete"]),
            st.integers(0),
            st.binary(min_size=1, max_size=8),
        ),
        min_size=1,
        max_size=4,
    ),
    recover=st.booleans(),
)
def test_fuzz_mutated_files_only_raise_input_errors(
    tmp_path: Path, valid_bytes: bytes, edits: list[tuple[str, int, bytes]], recover: bool
) -> None:
    data = bytearray(valid_bytes)
    for kind, pos, chunk in edits:
        pos %= len(data) + 1
        if kind == "flip" and pos < len(data):
            data[pos] ^= chunk[0] or 1
        elif kind == "insert":
            data[pos:pos] = chunk
        else:
            del data[pos : pos + len(chunk)]
    p = tmp_path / "m.trk"
    p.write_bytes(bytes(data))
    _read_any(p, recover)
    try:
        list(iter_packets(p, recover=recover))
    except InputError:
        pass


def test_short_writes_by_the_os_are_completed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_write = os.write
    monkeypatch.setattr(
        "tracker.recording.native.os.write", lambda fd, data: real_write(fd, bytes(data[:5]))
    )
    written = stream(tmp_path / "s.trk", 1)
    monkeypatch.undo()
    rec = read_native(tmp_path / "s.trk")
    assert rec.report.clean_close and rec.sensors["lumbar"].equals(written["lumbar"])
