"""Record framing of the native recording format (docs/native-format.md).

A native file is a 16-byte preamble followed by framed records. Each frame is a
16-byte header (sync marker, record type, payload length, CRC32) and its payload, so
a reader can check every record and, after damage, find the next intact one by
searching for the sync marker. This module knows nothing about what the payloads mean.
"""

from __future__ import annotations

import mmap
import struct
import zlib
from dataclasses import dataclass

#: PNG-style magic: the high-bit byte, CR LF, Ctrl-Z and LF reveal 7-bit or newline
#: mangling by transfer tools, and Ctrl-Z stops a DOS `type` from dumping binary.
MAGIC = b"\x89TRK\r\n\x1a\n"
FORMAT_MAJOR = 1
FORMAT_MINOR = 0
_PREAMBLE = struct.Struct("<8sHH4x")
PREAMBLE_LEN = _PREAMBLE.size  # 16

SYNC = b"\xa5TK\x5a"
_FRAME = struct.Struct("<4sBBHII")  # sync, type, flags, header check, payload length, crc32
_CHECKED = struct.Struct("<BBI")  # the header fields covered by the header check
FRAME_HEADER_LEN = _FRAME.size  # 16
#: Upper bound on one payload. Writers stay far below it (a samples record holds at
#: most 65 536 samples, 3.7 MB); a larger length field can only be damage.
MAX_PAYLOAD_LEN = 64 * 1024 * 1024
#: Records read from one file at most. The live writer appends about 4 a second (a
#: samples and a packets record per sensor), so 12 hours make ~175,000; each record
#: costs the reader ~10 us and ~300 bytes, and a file of millions of tiny records is
#: forged (it would take minutes).
MAX_RECORDS = 300_000

# Record types.
HEADER = 1
SAMPLES = 2
PACKETS = 3
GAP = 4
NOTES = 5
END = 6
RECORD_NAMES = {
    HEADER: "header",
    SAMPLES: "samples",
    PACKETS: "packets",
    GAP: "gap",
    NOTES: "notes",
    END: "end",
}


def encode_preamble() -> bytes:
    return _PREAMBLE.pack(MAGIC, FORMAT_MAJOR, FORMAT_MINOR)


def decode_preamble(data: bytes | mmap.mmap) -> tuple[int, int] | None:
    """(major, minor) when ``data`` starts with a complete preamble, else None."""
    if len(data) < PREAMBLE_LEN or data[: len(MAGIC)] != MAGIC:
        return None
    _, major, minor = _PREAMBLE.unpack_from(data, 0)
    return major, minor


def _header_check(record_type: int, flags: int, length: int) -> int:
    # A 16-bit check of type, flags and length lets the reader reject a damaged length
    # field, and most false sync markers met while resyncing, without reading (and
    # CRC-ing) the payload they claim: resyncing stays linear in the file size.
    return zlib.crc32(_CHECKED.pack(record_type, flags, length)) & 0xFFFF


def encode_record(record_type: int, payload: bytes) -> bytes:
    """One framed record: header then payload."""
    if len(payload) > MAX_PAYLOAD_LEN:
        raise ValueError(f"record payload of {len(payload)} bytes exceeds {MAX_PAYLOAD_LEN}")
    check = _header_check(record_type, 0, len(payload))
    return _FRAME.pack(SYNC, record_type, 0, check, len(payload), zlib.crc32(payload)) + payload


@dataclass(frozen=True)
class Record:
    offset: int  # byte offset of the frame header in the file
    record_type: int
    payload: memoryview

    @property
    def end(self) -> int:
        return self.offset + FRAME_HEADER_LEN + len(self.payload)


@dataclass(frozen=True)
class Damage:
    """Bytes ``[start, end)`` that hold no intact record.

    ``at_tail`` is true when no intact record follows: a crash while writing (or a cut
    copy) leaves exactly that, so readers accept it as a truncated tail.
    """

    start: int
    end: int
    at_tail: bool


@dataclass
class Scan:
    records: list[Record]
    damage: list[Damage]
    clean_close: bool  # an end record was reached
    trailing_bytes: int  # bytes after the end record (never written by the writer)


def _record_at(data: memoryview, pos: int) -> Record | None:
    """The intact record starting at ``pos``, or None."""
    if len(data) - pos < FRAME_HEADER_LEN:
        return None
    sync, rtype, flags, check, length, crc = _FRAME.unpack_from(data, pos)
    if sync != SYNC or check != _header_check(rtype, flags, length):
        return None
    start = pos + FRAME_HEADER_LEN
    if flags != 0 or length > MAX_PAYLOAD_LEN or start + length > len(data):
        return None
    payload = data[start : start + length]
    if zlib.crc32(payload) != crc:
        return None
    return Record(pos, rtype, payload)


def _next_intact(data: memoryview, raw: bytes | mmap.mmap, pos: int) -> int | None:
    while True:
        pos = raw.find(SYNC, pos)
        if pos < 0:
            return None
        if _record_at(data, pos) is not None:
            return pos
        pos += 1


class TooManyRecords(ValueError):
    """A file holds more than `MAX_RECORDS` records."""


def scan(raw: bytes | mmap.mmap) -> Scan:
    """Split a file's bytes (after a valid preamble) into intact records and damage.
    Raises `TooManyRecords` past `MAX_RECORDS`."""
    data = memoryview(raw)
    records: list[Record] = []
    damage: list[Damage] = []
    pos = PREAMBLE_LEN
    while pos < len(data):
        rec = _record_at(data, pos)
        if rec is not None:
            if len(records) >= MAX_RECORDS:
                raise TooManyRecords(f"more than {MAX_RECORDS} records (MAX_RECORDS)")
            records.append(rec)
            pos = rec.end
            if rec.record_type == END:
                return Scan(records, damage, True, len(data) - pos)
            continue
        nxt = _next_intact(data, raw, pos + 1)
        if nxt is None:
            damage.append(Damage(pos, len(data), at_tail=True))
            break
        damage.append(Damage(pos, nxt, at_tail=False))
        pos = nxt
    return Scan(records, damage, False, 0)
