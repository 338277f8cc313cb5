"""The native recording format: append-only, crash-safe, keeps raw BLE payloads.

Byte layout: docs/native-format.md. Framing and damage detection live in
`tracker.recording.framing`; this module gives the records their meaning.

Samples are stored decoded (float64 m/s^2 and rad/s in the sensor frame of
docs/frames.md, seconds on the sensor's clock), so loading never needs a decoder; the
raw payloads are stored beside them so a recording can be re-decoded after a decoder fix.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import mmap
import os
import struct
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tracker.errors import CorruptRecordingError, InputError
from tracker.recording import framing
from tracker.recording.checks import all_finite, first_non_increasing
from tracker.recording.fileio import (
    OutputError,
    os_error_reason,
    read_input_buffer,
    replace_atomically,
)
from tracker.recording.model import DeviceInfo, Gap, RawPacket, Recording, SessionNotes
from tracker.recording.timestamps import MendedTimes, mend_notes, mend_samples
from tracker.samples import SensorSamples
from tracker.units import PLACEMENTS

#: Samples per samples record at most: bounds what one damaged record can take with it.
MAX_SAMPLES_PER_RECORD = 65536
#: Raw payload bytes per packets record at most (same reason).
_MAX_PACKET_BYTES_PER_RECORD = 1 << 20
#: JSON records (header, notes, gap) larger than this are refused unread: the writer's
#: are under 2 KB, and parsing tens of MB of JSON takes seconds and hundreds of MB.
MAX_JSON_RECORD_BYTES = 1 << 20
#: Deeper JSON nesting is refused: the writer's records nest 3 deep, and the parser
#: recurses once per level.
MAX_JSON_DEPTH = 64
#: Longest text field (device model, firmware, note, gap reason) read: far above any
#: real one (a BLE device name is at most 248 bytes), and short enough to show.
MAX_TEXT_CHARS = 65536
#: Gap records read at most: a link lost once a second for a day; more is not a session.
MAX_GAPS = 100_000
#: Packets in one packets record at most (the writer emits a record per MiB of payload).
MAX_PACKETS_PER_RECORD = 1 << 20
#: Pending bytes are handed to the OS beyond this size even between timed flushes.
_WRITE_THROUGH_BYTES = 1 << 20
_U32 = struct.Struct("<I")


def _now_utc() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


# --------------------------------------------------------------------------- payloads


def _str8(text: str) -> bytes:
    raw = text.encode("utf-8")
    if len(raw) > 255:
        raise InputError(f"name {text[:40]!r}... is longer than 255 bytes")
    return bytes([len(raw)]) + raw


class _Malformed(Exception):
    """A record whose CRC is right but whose content is not (a writer bug, a forgery)."""


def _read_str8(buf: memoryview, pos: int) -> tuple[str, int]:
    if pos >= len(buf):
        raise _Malformed("string runs past the record")
    n = buf[pos]
    end = pos + 1 + n
    if end > len(buf):
        raise _Malformed("string runs past the record")
    try:
        return bytes(buf[pos + 1 : end]).decode("utf-8"), end
    except UnicodeDecodeError as exc:
        raise _Malformed("string is not UTF-8") from exc


def _read_u32(buf: memoryview, pos: int) -> tuple[int, int]:
    if pos + 4 > len(buf):
        raise _Malformed("count runs past the record")
    return _U32.unpack_from(buf, pos)[0], pos + 4


def _encode_samples(placement: str, t: np.ndarray, acc: np.ndarray, gyro: np.ndarray) -> bytes:
    parts = [_str8(placement), _U32.pack(len(t))]
    parts += [np.ascontiguousarray(a, dtype="<f8").tobytes() for a in (t, acc, gyro)]
    return b"".join(parts)


def _decode_samples(buf: memoryview) -> tuple[str, np.ndarray, np.ndarray, np.ndarray]:
    placement, pos = _read_str8(buf, 0)
    n, pos = _read_u32(buf, pos)
    if n > MAX_SAMPLES_PER_RECORD:
        raise _Malformed(f"{n} samples in one record, more than {MAX_SAMPLES_PER_RECORD}")
    if len(buf) != pos + 56 * n:
        raise _Malformed(f"{n} samples need {pos + 56 * n} bytes, the record has {len(buf)}")
    t = np.frombuffer(buf, "<f8", n, pos)
    acc = np.frombuffer(buf, "<f8", 3 * n, pos + 8 * n).reshape(n, 3)
    gyro = np.frombuffer(buf, "<f8", 3 * n, pos + 32 * n).reshape(n, 3)
    return placement, t, acc, gyro


def _encode_packets(placement: str, protocol: str, packets: list[RawPacket]) -> bytes:
    host = np.array([p.host_time_s for p in packets], dtype="<f8")
    dev = np.array(
        [math.nan if p.device_time_s is None else p.device_time_s for p in packets], dtype="<f8"
    )
    lengths = np.array([len(p.payload) for p in packets], dtype="<u4")
    return b"".join(
        [
            _str8(placement),
            _str8(protocol),
            _U32.pack(len(packets)),
            host.tobytes(),
            dev.tobytes(),
            lengths.tobytes(),
            *(p.payload for p in packets),
        ]
    )


def _decode_packets(buf: memoryview) -> Iterator[RawPacket]:
    placement, pos = _read_str8(buf, 0)
    protocol, pos = _read_str8(buf, pos)
    n, pos = _read_u32(buf, pos)
    if n > MAX_PACKETS_PER_RECORD:
        raise _Malformed(f"{n} packets in one record, more than {MAX_PACKETS_PER_RECORD}")
    if pos + 20 * n > len(buf):
        raise _Malformed(f"{n} packets do not fit in the record")
    host = np.frombuffer(buf, "<f8", n, pos)
    dev = np.frombuffer(buf, "<f8", n, pos + 8 * n)
    lengths = np.frombuffer(buf, "<u4", n, pos + 16 * n)
    pos += 20 * n
    if pos + int(lengths.sum(dtype=np.int64)) != len(buf):
        raise _Malformed("packet lengths do not add up to the record size")
    for h, d, length in zip(host.tolist(), dev.tolist(), lengths.tolist(), strict=True):
        payload = bytes(buf[pos : pos + length])
        pos += length
        yield RawPacket(placement, protocol, h, None if math.isnan(d) else d, payload)


def _json_bytes(obj: object) -> bytes:
    try:
        return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()
    except (TypeError, ValueError) as exc:
        msg = f"cannot store metadata: {exc} (only JSON values, no NaN or infinity)"
        raise InputError(msg) from exc


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def _json_object(buf: memoryview) -> dict[str, Any]:
    if len(buf) > MAX_JSON_RECORD_BYTES:
        raise _Malformed(f"JSON payload of {len(buf)} bytes exceeds {MAX_JSON_RECORD_BYTES}")
    try:
        # NaN and Infinity are not JSON; the writer never writes them (allow_nan=False).
        obj = json.loads(bytes(buf).decode("utf-8"), parse_constant=_reject_constant)
    except RecursionError:
        raise _Malformed(f"JSON payload nests deeper than {MAX_JSON_DEPTH} levels") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise _Malformed(f"JSON payload does not parse: {exc}") from exc
    if not isinstance(obj, dict):
        raise _Malformed("JSON payload is not an object")
    if _json_depth(obj) > MAX_JSON_DEPTH:
        raise _Malformed(f"JSON payload nests deeper than {MAX_JSON_DEPTH} levels")
    return obj


def _json_depth(obj: object) -> int:
    """Nesting depth of parsed JSON, without recursion (a hostile file may nest deep)."""
    deepest = 0
    todo: list[tuple[Any, int]] = [(obj, 1)]  # (parsed JSON value, its depth)
    while todo:
        node, depth = todo.pop()
        deepest = max(deepest, depth)
        if depth > MAX_JSON_DEPTH:
            break
        children = node.values() if isinstance(node, dict) else node
        if isinstance(node, dict | list):
            todo.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    return deepest


def _text(obj: dict[str, Any], key: str, where: str, default: str | None = None) -> str | None:
    """``obj[key]`` as text: a string of at most `MAX_TEXT_CHARS`, or null."""
    value = obj.get(key, default)
    if value is None:
        return default
    if not isinstance(value, str):
        raise _Malformed(f"{where}.{key} is {_kind(value)}, not text")
    if len(value) > MAX_TEXT_CHARS:
        raise _Malformed(
            f"{where}.{key} is {len(value)} characters long (at most {MAX_TEXT_CHARS})"
        )
    return value


def _number(obj: dict[str, Any], key: str, where: str, *, positive: bool = False) -> float | None:
    """``obj[key]`` as a finite number (non-negative, or positive), or null."""
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Malformed(f"{where}.{key} is {_kind(value)}, not a number")
    try:
        number = float(value)
    except OverflowError:  # an integer too large for a float
        number = math.inf
    if not math.isfinite(number) or number < 0 or (positive and number == 0):
        want = "positive" if positive else "non-negative"
        raise _Malformed(f"{where}.{key} is {value!r}, not a finite {want} number")
    return number


def _kind(value: object) -> str:
    names = {str: "text", bool: "true/false", dict: "an object", list: "a list"}
    return names.get(type(value), "a number" if isinstance(value, int | float) else "null")


def _notes_from(obj: object) -> SessionNotes:
    if not isinstance(obj, dict):
        raise _Malformed(f"notes are {_kind(obj)}, not an object")
    return SessionNotes(
        exercise=_text(obj, "exercise", "notes"),
        load_kg=_number(obj, "load_kg", "notes"),
        text=_text(obj, "text", "notes"),
    )


def _devices_from(obj: object) -> dict[str, DeviceInfo]:
    """The header's devices; those of placements this reader does not know (a newer
    writer's) are left out, as unknown keys are."""
    if not isinstance(obj, dict):
        raise _Malformed(f"devices are {_kind(obj)}, not an object")
    out = {}
    for p, d in obj.items():
        where = f"devices.{p[:40]}"
        if not isinstance(d, dict):
            raise _Malformed(f"{where} is {_kind(d)}, not an object")
        if p not in PLACEMENTS:
            continue
        # (DeviceInfo's own types check these fields by name.)
        numbers: dict[str, Any] = {k: _number(d, k, where, positive=True) for k in _DEVICE_NUMBERS}
        texts: dict[str, Any] = {k: _text(d, k, where) for k in _DEVICE_TEXTS}
        out[p] = DeviceInfo(model=_text(d, "model", where, "unknown") or "", **texts, **numbers)
    return out


#: DeviceInfo fields read as optional text / as optional positive numbers.
_DEVICE_TEXTS = ("firmware", "protocol", "address")
_DEVICE_NUMBERS = ("sample_rate_hz", "acc_range_g", "gyro_range_dps")


def _created_from(value: object) -> str | None:
    """The header's creation time: ISO 8601 text, else unknown (None). Only the writer
    needs it to be right; a reader loses nothing by not knowing it."""
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        d = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        (d if d.tzinfo else d.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)
    except (ValueError, OverflowError):
        return None
    return value


def _gap_from(obj: dict[str, Any]) -> Gap:
    placement = obj.get("placement")
    if placement not in PLACEMENTS:
        raise _Malformed(f"gap placement is {str(placement)[:40]!r}, not one of {PLACEMENTS}")
    start_s, end_s = _time(obj, "start_s"), _time(obj, "end_s")
    if end_s < start_s:
        raise _Malformed(f"gap ends at {end_s} s, before it starts ({start_s} s)")
    return Gap(placement, start_s, end_s, _text(obj, "reason", "gap", "") or "")


def _time(obj: dict[str, Any], key: str) -> float:
    """A time in seconds (any sign), required."""
    value = obj.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Malformed(f"gap.{key} is {_kind(value)}, not a number")
    try:
        time_s = float(value)
    except OverflowError:  # an integer too large for a float
        time_s = math.inf
    if not math.isfinite(time_s):
        raise _Malformed(f"gap.{key} is not a finite number")
    return time_s


# ----------------------------------------------------------------------------- writer


class RecordingWriter:
    """Appends a session to a new native recording while it streams.

    Data is buffered and handed to the OS as soon as a placement's samples reach
    ``flush_interval_s`` of recording time past its last sample written, and flushed to
    the disk (written + fsync) once ``flush_interval_s`` of ``clock`` (wall) time has
    passed since the last flush, and on `close`. So a crash of the process loses less
    than that much recording at any replay speed (emulated sensors at ``--speed`` 10
    stream ten seconds of recording per wall second), and a power loss about that much
    wall time. The wall-clock check runs on every write and in `flush_if_due`: call that
    from a periodic task if writes can stall (a sensor away, no samples arriving).
    The file is opened for exclusive creation and only ever appended to: earlier bytes
    are never rewritten. Use as a context manager: leaving the block, even by Ctrl-C,
    closes the file cleanly with an end record.

    Disk errors raise `OutputError`; what was flushed before stays readable.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        devices: dict[str, DeviceInfo],
        notes: SessionNotes,
        created_utc: str | None = None,
        meta: dict[str, Any] | None = None,
        clock: Callable[[], float] = time.monotonic,
        flush_interval_s: float = 1.0,
    ) -> None:
        self.path = Path(path)
        for p in devices:
            _check_placement(p)
        header = {
            "created_utc": created_utc or _now_utc(),
            "devices": {p: asdict(d) for p, d in devices.items()},
            "notes": asdict(notes),
            "meta": meta or {},
        }
        header_bytes = _json_bytes(header)
        self._clock = clock
        self._flush_interval_s = flush_interval_s
        # (file offset of the first pending byte, pending bytes): one attribute, replaced
        # in one assignment, so Ctrl-C can never leave the two out of step.
        self._out: tuple[int, bytearray] = (0, bytearray())
        self._samples: dict[str, list[SensorSamples]] = {}
        self._n_buffered: dict[str, int] = {}
        self._last_time_s: dict[str, float] = {}
        # Per placement: the time of its newest sample handed to the OS (its first
        # sample's until then).
        self._saved_until_s: dict[str, float] = {}
        self._packets: dict[tuple[str, str], list[RawPacket]] = {}
        self._packet_bytes: dict[tuple[str, str], int] = {}
        self._events: list[bytes] = []
        # Samples records queued for the file, as (file offset of their end, placement,
        # samples), and the samples of those that reached it (`samples_on_disk`).
        self._queued: list[tuple[int, str, int]] = []
        self._on_disk: dict[str, int] = {}
        self._failed: OutputError | None = None
        self._closed = False
        try:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o644)
        except FileExistsError as exc:
            raise InputError(
                f"{self.path} already exists; a recording is never overwritten, choose a new name"
            ) from exc
        except OSError as exc:
            raise OutputError(f"cannot create {self.path}: {os_error_reason(exc)}") from exc
        self._out[1].extend(framing.encode_preamble())
        self._out[1].extend(framing.encode_record(framing.HEADER, header_bytes))
        self._last_flush = clock()
        try:
            self.flush()  # the header reaches the disk at once: even an early crash is readable
        except BaseException as exc:
            self._closed = True
            os.close(self._fd)
            if not isinstance(exc, OutputError):
                raise
            # Not even the header fits: the file would hold nothing, so it goes.
            with contextlib.suppress(OSError):
                os.unlink(self.path)
            cause = exc.__cause__
            reason = os_error_reason(cause) if isinstance(cause, OSError) else str(exc)
            raise OutputError(
                f"cannot create {self.path}: {reason}; nothing was recorded"
            ) from cause

    # -- context manager
    def __enter__(self) -> RecordingWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- writing
    def write_samples(self, block: SensorSamples) -> None:
        """Append decoded samples; each placement's times must keep increasing."""
        self._check_open()
        p = block.placement
        if len(block) == 0:
            return
        if not all_finite(block):
            raise InputError(f"{p} samples contain NaN or infinity; they cannot be recorded")
        bad = first_non_increasing(block.time_s)
        last = self._last_time_s.get(p)
        if bad is not None or (last is not None and block.time_s[0] <= last):
            raise InputError(
                f"{p} sample times must increase; got {block.time_s[bad or 0]:.6f} s after "
                f"{block.time_s[bad - 1] if bad else last:.6f} s"
            )
        self._last_time_s[p] = float(block.time_s[-1])
        self._samples.setdefault(p, []).append(block)
        self._n_buffered[p] = self._n_buffered.get(p, 0) + len(block)
        if self._n_buffered[p] >= MAX_SAMPLES_PER_RECORD:
            self._emit_samples(p, full_records_only=True)
        # What a crash now would lose of this placement, in recording time: everything
        # after its newest sample on disk (before its first flush: from its first sample).
        saved_until_s = self._saved_until_s.setdefault(p, float(block.time_s[0]))
        if self._last_time_s[p] - saved_until_s >= self._flush_interval_s:
            # Handed to the OS, not fsynced: a process crash is what loses recording
            # time; a power loss happens in wall time, which the wall-clock flush bounds.
            # (At --speed 25, an fsync per recording second would stall the event loop
            # 25 times a second.)
            self._hand_over()
        self._after_write()

    def write_packet(
        self,
        placement: str,
        protocol: str,
        host_time_s: float,
        device_time_s: float | None,
        payload: bytes,
    ) -> None:
        """Append one raw BLE payload with its arrival (host) and device timestamps."""
        self._check_open()
        _check_placement(placement)
        if not math.isfinite(host_time_s) or (
            device_time_s is not None and not math.isfinite(device_time_s)
        ):
            raise InputError("packet timestamps must be finite numbers")
        key = (placement, protocol)
        _str8(protocol)  # validates the length now rather than at flush time
        dev_s = None if device_time_s is None else float(device_time_s)
        self._packets.setdefault(key, []).append(
            RawPacket(placement, protocol, float(host_time_s), dev_s, bytes(payload))
        )
        self._packet_bytes[key] = self._packet_bytes.get(key, 0) + len(payload)
        if self._packet_bytes[key] >= _MAX_PACKET_BYTES_PER_RECORD:
            self._emit_packets(key)
        self._after_write()

    def write_raw(self, packet: RawPacket) -> None:
        """Append one `RawPacket` (as `write_packet`)."""
        self.write_packet(
            packet.placement,
            packet.protocol,
            packet.host_time_s,
            packet.device_time_s,
            packet.payload,
        )

    def write_gap(self, gap: Gap) -> None:
        """Record a stretch without data (e.g. a BLE disconnect) on that sensor's clock."""
        self._check_open()
        _check_placement(gap.placement)
        self._events.append(framing.encode_record(framing.GAP, _json_bytes(asdict(gap))))
        self._after_write()

    def update_notes(self, notes: SessionNotes) -> None:
        """Replace the session notes (the last update wins when reading)."""
        self._check_open()
        self._events.append(framing.encode_record(framing.NOTES, _json_bytes(asdict(notes))))
        self._after_write()

    def flush_if_due(self) -> None:
        """Flush when ``flush_interval_s`` has passed since the last flush."""
        if self._clock() - self._last_flush >= self._flush_interval_s:
            self.flush()

    def flush(self) -> None:
        """Write everything buffered and fsync it."""
        self._hand_over()
        self._sync()
        self._last_flush = self._clock()

    def _hand_over(self) -> None:
        """Write everything buffered to the OS, without waiting for the disk: from then
        on it survives a crash of this process, though not a power loss."""
        self._check_open()
        for p in PLACEMENTS:
            if self._samples.get(p):
                self._emit_samples(p, full_records_only=False)
        for key in list(self._packets):
            self._emit_packets(key)
        events, self._events = self._events, []
        self._out[1].extend(b"".join(events))
        self._write_pending()
        self._saved_until_s.update(self._last_time_s)

    def close(self) -> None:
        """Flush, append the end record and close. Safe to call more than once."""
        if self._closed:
            return
        try:
            if self._failed is None:
                self.flush()
                self._out[1].extend(framing.encode_record(framing.END, b""))
                self._write_pending()
                self._sync()
        finally:
            self._closed = True
            os.close(self._fd)

    @property
    def samples_on_disk(self) -> dict[str, int]:
        """Samples per placement in whole records that reached the file (were handed to
        the OS: a crash of this process keeps them). After a write error, exactly what
        a reader finds in the file."""
        return dict(self._on_disk)

    # -- internals
    def _check_open(self) -> None:
        if self._failed is not None:
            raise self._failed
        if self._closed:
            raise ValueError(f"recording {self.path} is closed")

    def _after_write(self) -> None:
        if len(self._out[1]) >= _WRITE_THROUGH_BYTES:
            self._write_pending()
        self.flush_if_due()

    def _emit_samples(self, p: str, *, full_records_only: bool) -> None:
        joined = SensorSamples.concat(self._samples[p])
        n_emit = len(joined)
        if full_records_only:
            n_emit -= n_emit % MAX_SAMPLES_PER_RECORD
        records = bytearray()
        queued = []
        end = self._out[0] + len(self._out[1])
        for i in range(0, n_emit, MAX_SAMPLES_PER_RECORD):
            part = joined.slice(i, min(i + MAX_SAMPLES_PER_RECORD, n_emit))
            payload = _encode_samples(p, part.time_s, part.acc_mps2, part.gyro_rad_s)
            records += framing.encode_record(framing.SAMPLES, payload)
            queued.append((end + len(records), p, len(part)))
        rest = joined.slice(n_emit, len(joined))
        # Take the samples out of the buffer before queueing their records: Ctrl-C in
        # between loses them, whereas the other order could record them twice, and
        # repeated times would make the whole file unreadable.
        self._samples[p] = [rest] if len(rest) else []
        self._n_buffered[p] = len(rest)
        self._out[1].extend(records)
        self._queued += queued

    def _emit_packets(self, key: tuple[str, str]) -> None:
        packets = self._packets.pop(key)
        self._packet_bytes.pop(key)
        self._out[1].extend(framing.encode_record(framing.PACKETS, _encode_packets(*key, packets)))

    def _write_pending(self) -> None:
        # What reached the file is read from its size (only this writer appends to it),
        # never counted: Ctrl-C can strike after os.write took bytes but before a count
        # is updated. A retry (in `close`) then appends exactly the rest, and the
        # interrupted record still ends up whole.
        base, pending = self._out
        try:
            while (done := os.fstat(self._fd).st_size - base) < len(pending):
                os.write(self._fd, pending[done:])
        except OSError as exc:
            # (a write can take part of a record before the disk fills up)
            with contextlib.suppress(OSError):
                self._count_on_disk(os.fstat(self._fd).st_size)
            self._fail(exc)
        self._out = (base + len(pending), bytearray())
        self._count_on_disk(base + len(pending))

    def _count_on_disk(self, file_size: int) -> None:
        """Count the queued samples records that end within ``file_size`` as on disk."""
        n_whole = 0
        for end, p, n in self._queued:
            if end > file_size:
                break
            self._on_disk[p] = self._on_disk.get(p, 0) + n
            n_whole += 1
        del self._queued[:n_whole]

    def _sync(self) -> None:
        try:
            os.fsync(self._fd)
        except OSError as exc:
            self._fail(exc)

    def _fail(self, exc: OSError) -> None:
        self._failed = OutputError(
            f"writing recording {self.path} failed: {os_error_reason(exc)}; "
            f"what was written before stays readable"
        )
        raise self._failed from exc


def _check_placement(p: str) -> None:
    if p not in PLACEMENTS:
        raise InputError(f"unknown placement {p!r}; valid placements: {', '.join(PLACEMENTS)}")


def write_native(recording: Recording, path: str | os.PathLike[str]) -> None:
    """Write ``recording`` as a native file, replacing ``path`` atomically.

    The output depends only on the recording, so write -> read -> write is byte-identical.
    Raw packets are not part of a `Recording` and so are not written.
    """
    if not any(len(s) for s in recording.sensors.values()):
        raise InputError(f"nothing to write to {path}: the recording has no samples")

    def write(tmp: Path) -> None:
        with RecordingWriter(
            tmp,
            devices=recording.devices,
            notes=recording.notes,
            created_utc=recording.created_utc,
            clock=lambda: 0.0,
            flush_interval_s=math.inf,
        ) as w:
            for p in recording.placements:
                w.write_samples(recording.sensors[p])
            for gap in recording.gaps:
                w.write_gap(gap)

    replace_atomically(path, write)


# ----------------------------------------------------------------------------- reader


@dataclass
class LostStretch:
    """Samples of one placement lost to damage, between its last and next intact sample."""

    placement: str
    after_s: float | None  # last intact sample before the damage (None: none before)
    before_s: float | None  # first intact sample after it (None: none after)
    samples: int | None  # estimated from the sensor's median sample period, when bounded

    def describe(self) -> str:
        if self.after_s is not None and self.before_s is not None:
            return (
                f"{self.placement} {self.before_s - self.after_s:.2f} s "
                f"(~{self.samples} samples, {self.after_s:.3f}-{self.before_s:.3f} s)"
            )
        if self.after_s is not None:
            return f"{self.placement} samples after {self.after_s:.3f} s"
        return f"{self.placement} samples before {self.before_s:.3f} s"


@dataclass
class DamagedRegion:
    start_byte: int
    end_byte: int
    header_lost: bool
    lost: list[LostStretch]

    def describe(self) -> str:
        what = [s.describe() for s in self.lost]
        if self.header_lost:
            what.insert(0, "the header (device info, notes)")
        lost = ", ".join(what) if what else "raw packets or notes only, no samples"
        return f"bytes {self.start_byte}-{self.end_byte} (lost: {lost})"


@dataclass
class ReadReport:
    """How a native file read: whether it was closed cleanly and what was skipped."""

    format_version: str
    clean_close: bool
    truncated_tail_bytes: int = 0
    damaged: list[DamagedRegion] = field(default_factory=list)
    trailing_bytes: int = 0  # after the end record; never written by the writer


@dataclass
class NativeRecording(Recording):
    """A `Recording` read from a native file, with the read report and free metadata."""

    report: ReadReport = field(default_factory=lambda: ReadReport("", False))
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class NativeInfo:
    """The header of a native file."""

    format_version: str
    created_utc: str | None
    devices: dict[str, DeviceInfo]
    notes: SessionNotes
    meta: dict[str, Any]


def _open_native(path: str | os.PathLike[str]) -> tuple[bytes | mmap.mmap, str]:
    raw = read_input_buffer(path)
    version = framing.decode_preamble(raw)
    if version is None:
        if not raw:
            raise InputError(f"{path} is empty; it is not a tracker recording")
        if framing.MAGIC.startswith(raw[: len(framing.MAGIC)]) and len(raw) < 16:
            raise InputError(f"{path} holds no samples: the recording was cut off at the start")
        raise InputError(
            f"{path} is not a tracker recording (no native-format signature); "
            f"a samples CSV is read with tracker convert / load_recording"
        )
    major, minor = version
    if major > framing.FORMAT_MAJOR:
        raise InputError(
            f"{path} is native format {major}.{minor}, newer than this tracker reads "
            f"({framing.FORMAT_MAJOR}.x); upgrade tracker to read it"
        )
    return raw, f"{major}.{minor}"


def _scan(raw: bytes | mmap.mmap, path: object) -> framing.Scan:
    try:
        return framing.scan(raw)
    except framing.TooManyRecords as exc:
        raise InputError(
            f"{path} holds {exc}, far more than a recording of 12 hours; it was not "
            f"written by a compatible tracker"
        ) from exc


@dataclass
class _Span:
    offset: int
    end: int
    first_s: float
    last_s: float


def _malformed(path: object, rec: framing.Record, exc: _Malformed) -> InputError:
    kind = framing.RECORD_NAMES.get(rec.record_type, str(rec.record_type))
    return InputError(
        f"{path}: malformed {kind} record at byte {rec.offset} ({exc}); "
        f"the file was not written by a compatible tracker"
    )


def read_native(path: str | os.PathLike[str], *, recover: bool = False) -> NativeRecording:
    """Read a native recording.

    A truncated tail (a crash or Ctrl-C while writing) is read back without error and
    noted in ``.report``. Damage in the middle raises `CorruptRecordingError` naming the
    byte range and the samples lost, unless ``recover`` is true: then the intact records
    before and after the damage are returned, the losses are listed in ``.report`` and
    added to ``.gaps``.
    """
    raw, version = _open_native(path)
    scan = _scan(raw, path)
    devices: dict[str, DeviceInfo] = {}
    notes = SessionNotes()
    created_utc: str | None = None
    meta: dict[str, Any] = {}
    gaps: list[Gap] = []
    blocks: dict[str, list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = {}
    spans: dict[str, list[_Span]] = {}
    for i, rec in enumerate(scan.records):
        try:
            if rec.record_type == framing.HEADER:
                if i != 0 or rec.offset != framing.PREAMBLE_LEN:
                    raise _Malformed("a header record after the first record")
                head = _json_object(rec.payload)
                created_utc = _created_from(head.get("created_utc"))
                devices = _devices_from(head.get("devices", {}))
                notes = _notes_from(head.get("notes", {}))
                meta_obj = head.get("meta", {})
                meta = meta_obj if isinstance(meta_obj, dict) else {}
            elif rec.record_type == framing.SAMPLES:
                p, t, acc, gyro = _decode_samples(rec.payload)
                if p not in PLACEMENTS:
                    raise _Malformed(f"unknown placement {p!r}")
                if len(t):
                    blocks.setdefault(p, []).append((t, acc, gyro))
                    spans.setdefault(p, []).append(_Span(rec.offset, rec.end, t[0], t[-1]))
            elif rec.record_type == framing.GAP:
                if len(gaps) >= MAX_GAPS:
                    raise _Malformed(f"more than {MAX_GAPS} gap records")
                gaps.append(_gap_from(_json_object(rec.payload)))
            elif rec.record_type == framing.NOTES:
                notes = _notes_from(_json_object(rec.payload))
            # PACKETS are for re-decoding (iter_packets); unknown types come from a newer
            # minor version and are skipped by design.
        except _Malformed as exc:
            raise _malformed(path, rec, exc) from exc

    sensors: dict[str, SensorSamples] = {}
    mended: dict[str, MendedTimes] = {}
    for p in PLACEMENTS:
        if p not in blocks:
            continue
        parts = blocks[p]
        samples = SensorSamples(
            p,
            np.concatenate([b[0] for b in parts]),
            np.concatenate([b[1] for b in parts]),
            np.concatenate([b[2] for b in parts]),
        )
        if not all_finite(samples):
            raise InputError(
                f"{path}: {p} samples are not finite; "
                f"the file was not written by a compatible tracker"
            )
        sensors[p], mended[p] = mend_samples(samples, source=str(path), where=_sample_of(p))

    report = ReadReport(version, scan.clean_close, trailing_bytes=scan.trailing_bytes)
    for d in scan.damage:
        if d.at_tail:
            report.truncated_tail_bytes = d.end - d.start
        else:
            report.damaged.append(_describe_damage(d, spans, sensors))
    recording = NativeRecording(
        sensors=sensors,
        devices=devices,
        notes=notes,
        gaps=gaps,
        created_utc=created_utc,
        report=report,
        meta=meta,
        input_notes=mend_notes(mended),
    )
    for region in report.damaged:
        for lost in region.lost:
            # An unbounded loss (no intact sample on one side) becomes a zero-length gap
            # at the known edge: where data stops or resumes is all that is known.
            start_s = lost.after_s if lost.after_s is not None else lost.before_s
            end_s = lost.before_s if lost.before_s is not None else lost.after_s
            assert start_s is not None and end_s is not None  # a stretch has a known side
            reason = f"damaged file bytes {region.start_byte}-{region.end_byte}"
            recording.gaps.append(Gap(lost.placement, float(start_s), float(end_s), reason))
    for region in report.damaged:
        # Shown with every analysis of the recording (and by `tracker info`).
        recording.input_notes.append(f"recovered around damaged {region.describe()}")
    if report.damaged and not recover:
        where = "; ".join(r.describe() for r in report.damaged)
        raise CorruptRecordingError(
            f"{path} is damaged at {where}; use --recover (recover=True) to read the intact parts",
            recovered=recording,
        )
    if not sensors:
        cut = f" (cut off after {len(raw)} bytes)" if not scan.clean_close else ""
        raise InputError(f"{path} holds no samples{cut}; nothing to analyse")
    return recording


def _sample_of(placement: str) -> Callable[[int], str]:
    """Names a sample of ``placement`` by its 0-based index, for input errors."""
    return lambda i: f"{placement} sample {i + 1}"


def _describe_damage(
    d: framing.Damage, spans: dict[str, list[_Span]], sensors: dict[str, SensorSamples]
) -> DamagedRegion:
    lost: list[LostStretch] = []
    for p, ps in spans.items():
        before = [s for s in ps if s.end <= d.start]
        after = [s for s in ps if s.offset >= d.end]
        t = sensors[p].time_s
        period_s = float(np.median(np.diff(t))) if len(t) > 1 else math.nan
        if before and after:
            after_s, before_s = before[-1].last_s, after[0].first_s
            n = round((before_s - after_s) / period_s) - 1 if math.isfinite(period_s) else 0
            if n > 0:
                lost.append(LostStretch(p, after_s, before_s, n))
        elif before:
            lost.append(LostStretch(p, before[-1].last_s, None, None))
        elif after:
            lost.append(LostStretch(p, None, after[0].first_s, None))
    return DamagedRegion(d.start, d.end, d.start == framing.PREAMBLE_LEN, lost)


def iter_packets(path: str | os.PathLike[str], *, recover: bool = False) -> Iterator[RawPacket]:
    """The raw BLE payloads of a native recording, in the order they were written.

    Damage in the middle raises `CorruptRecordingError` unless ``recover`` is true.
    """
    raw, _ = _open_native(path)
    scan = _scan(raw, path)
    middle = [d for d in scan.damage if not d.at_tail]
    if middle and not recover:
        where = ", ".join(f"bytes {d.start}-{d.end}" for d in middle)
        raise CorruptRecordingError(
            f"{path} is damaged at {where}; use --recover (recover=True) to read the intact parts"
        )
    for rec in scan.records:
        if rec.record_type == framing.PACKETS:
            try:
                packets = list(_decode_packets(rec.payload))
            except _Malformed as exc:
                raise _malformed(path, rec, exc) from exc
            yield from packets


def read_native_info(path: str | os.PathLike[str]) -> NativeInfo:
    """The header of a native recording (notes as written at the start of the session)."""
    raw, version = _open_native(path)
    scan = _scan(raw, path)
    first = scan.records[0] if scan.records else None
    if first is None or first.record_type != framing.HEADER or first.offset != framing.PREAMBLE_LEN:
        raise InputError(f"{path}: the header record is missing or damaged")
    try:
        head = _json_object(first.payload)
        meta = head.get("meta", {})
        return NativeInfo(
            version,
            _created_from(head.get("created_utc")),
            _devices_from(head.get("devices", {})),
            _notes_from(head.get("notes", {})),
            meta if isinstance(meta, dict) else {},
        )
    except _Malformed as exc:
        raise _malformed(path, first, exc) from exc
