"""What the phone-app importers (Sensor Logger, phyphox) share.

* `Bundle`: the files of an export, whether the user gives the zip or the unpacked
  folder; members are found by file name, case-insensitively, in any sub-folder.
* `parse_table`: a text table with a header row, any delimiter (comma, tab, semicolon),
  a decimal comma when the delimiter is not a comma, columns looked up by header name.
* `resample_onto`: one stream's samples at another stream's times (the gyroscope at the
  accelerometer's times), never across a hole in the stream.
* `phone_recording`: the single-sensor `Recording` at the placement the user names.

Units and frames: docs/frames.md. Phones report specific force in m/s^2 and angular
velocity in rad/s in their own right-handed device frame, which is a sensor frame like
any other: the pipeline finds the mounting from the data.
"""

from __future__ import annotations

import csv
import io
import os
import re
import struct
import warnings
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from tracker.errors import InputError
from tracker.limits import MAX_READABLE_ABS_VALUE
from tracker.recording.checks import check_units
from tracker.recording.fileio import read_input_bytes, read_input_head
from tracker.recording.model import DeviceInfo, Recording
from tracker.recording.timestamps import MendedTimes, mend_notes, mend_timestamps
from tracker.samples import SensorSamples
from tracker.units import PLACEMENTS

ZIP_MAGIC = b"PK\x03\x04"
#: Fewer than this many merged samples cannot be a recording worth analysing.
MIN_SAMPLES = 2
#: A stream interval longer than this many median sample periods is a hole: samples of
#: the other stream inside it are dropped rather than filled by a straight line.
MAX_HOLE_PERIODS = 5.0
DELIMITERS = ("\t", ";", ",")
#: What reading a member of a damaged, encrypted or exotic zip can raise.
_ZIP_ERRORS = (
    OSError,
    EOFError,
    KeyError,
    RuntimeError,
    NotImplementedError,
    zipfile.BadZipFile,
    zlib.error,
    UnicodeDecodeError,  # an entry name flagged UTF-8 that is not
)


# ----------------------------------------------------------------------------- bundles

#: Entries of a zip archive at most (files and folders): a Sensor Logger export holds
#: about 20 files and a phyphox export a few; sniffing reads the head of every table.
MAX_ZIP_MEMBERS = 1000
#: Entries looked at in an export folder and its subfolders, and how deep (folders below
#: the one given): an unpacked export holds its tables at the top or one folder down, so
#: a larger tree (a home folder, /usr) is refused at once instead of walked.
MAX_FOLDER_ENTRIES = 1000
MAX_FOLDER_DEPTH = 2
#: Largest table read from an export, in bytes, inflated (128 MiB): a Sensor Logger table
#: of two hours at 100 Hz is about 50 MB; a larger member is a zip bomb or not a table.
MAX_MEMBER_BYTES = 128 << 20
#: The end of a zip archive searched for its end-of-central-directory record (its
#: fixed 22 bytes plus a comment of at most 65535 bytes).
_ZIP_TAIL_BYTES = 22 + 65535


@dataclass(frozen=True)
class Bundle:
    """The CSV files of an export: a zip archive or a folder (``members``: lower-case
    base name -> member name in the zip or path in the folder)."""

    path: Path
    members: dict[str, str]
    is_zip: bool

    def has(self, name: str) -> bool:
        return name.lower() in self.members

    def read(self, name: str) -> bytes:
        member = self.members.get(name.lower())
        if member is None:
            raise InputError(f"{self.path} has no {name}; {self.describe_contents()}")
        if not self.is_zip:
            return read_input_bytes(member)  # size limit; a FIFO or device is refused
        try:
            with zipfile.ZipFile(self.path) as z:
                return _read_member(z, z.getinfo(member), MAX_MEMBER_BYTES, self.where(name))
        except _ZIP_ERRORS as exc:
            raise InputError(f"{self.path}: cannot read {name} ({exc})") from exc

    def head(self, name: str, n_bytes: int = 4096) -> bytes:
        """The first ``n_bytes`` of a member (without reading the whole file)."""
        return self.heads(n_bytes, [name])[name.lower()]

    def heads(self, n_bytes: int = 4096, names: list[str] | None = None) -> dict[str, bytes]:
        """The first ``n_bytes`` of each member (default: all), the archive opened once."""
        wanted = self.csv_names() if names is None else [n.lower() for n in names]
        try:
            if not self.is_zip:
                return {n: read_input_head(self.members[n], n_bytes) for n in wanted}
            with zipfile.ZipFile(self.path) as z:
                return {
                    n: _read_member(z, z.getinfo(self.members[n]), n_bytes, self.where(n), True)
                    for n in wanted
                }
        except _ZIP_ERRORS as exc:
            raise InputError(f"{self.path}: cannot read its tables ({exc})") from exc

    def where(self, name: str) -> str:
        """How a member is named in messages."""
        return f"{self.path}/{name}" if not self.is_zip else f"{self.path}:{name}"

    def csv_names(self) -> list[str]:
        return sorted(self.members)

    def describe_contents(self) -> str:
        names = self.csv_names()
        shown = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
        return f"it holds {shown}" if names else "it holds no CSV files"


def _read_member(
    z: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int, where: str, head: bool = False
) -> bytes:
    """A member's bytes, inflating at most ``limit`` bytes (a head: the first ``limit``).
    The declared size is checked first and the inflated size while reading, as a
    forged header can understate it."""
    if info.flag_bits & 0x1:
        raise InputError(f"{where} is encrypted; export it again without a password")
    if not head and info.file_size > limit:
        raise InputError(
            f"{where} inflates to {info.file_size / 2**20:.0f} MiB, more than the largest "
            f"table read ({limit / 2**20:.0f} MiB, MAX_MEMBER_BYTES); is it an export?"
        )
    with z.open(info) as f:
        data = f.read(limit if head else limit + 1)
    if len(data) > limit:
        raise InputError(
            f"{where} inflates to more than the largest table read "
            f"({limit / 2**20:.0f} MiB, MAX_MEMBER_BYTES); is it an export?"
        )
    return data


def _zip_entries(path: Path) -> int | None:
    """The entry count an archive's end record declares (None: no end record found,
    or a ZIP64 archive, whose count is elsewhere), read before `zipfile` parses every
    entry of the central directory."""
    with open(path, "rb") as f:
        f.seek(0, os.SEEK_END)
        size = f.tell()
        f.seek(max(0, size - _ZIP_TAIL_BYTES))
        tail = f.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or at + 22 > len(tail):
        return None
    (entries,) = struct.unpack_from("<H", tail, at + 10)
    return None if entries == 0xFFFF else entries


def _folder_members(path: Path) -> dict[str, str]:
    """CSV files in ``path`` and its subfolders down to `MAX_FOLDER_DEPTH`, shallower
    first; more than `MAX_FOLDER_ENTRIES` entries is an `InputError`, found without
    walking the rest."""
    members: dict[str, str] = {}
    level = [path]
    seen = 0
    for depth in range(MAX_FOLDER_DEPTH + 1):
        below = []
        for folder in level:
            try:
                entries = sorted(os.scandir(folder), key=lambda e: e.name)
            except OSError as exc:
                raise InputError(f"cannot list {folder}: {exc.strerror or exc}") from exc
            seen += len(entries)
            if seen > MAX_FOLDER_ENTRIES:
                raise InputError(
                    f"{path} is a folder with more than {MAX_FOLDER_ENTRIES} entries "
                    f"(MAX_FOLDER_ENTRIES), not a phone-app export; give a recording file "
                    f"or the folder an export unpacked to"
                )
            for e in entries:
                if e.name.startswith("."):
                    continue
                if e.is_dir(follow_symlinks=False):
                    below.append(Path(e.path))
                elif e.name.lower().endswith(".csv") and e.is_file():
                    members.setdefault(e.name.lower(), e.path)
        if depth < MAX_FOLDER_DEPTH:
            level = below
    return members


def open_bundle(path: Path) -> Bundle:
    """The CSV members of the zip or folder ``path`` (the same base name twice: the
    shallower one wins, as the export's own files sit at its top)."""
    if path.is_dir():
        return Bundle(path, _folder_members(path), is_zip=False)
    try:
        declared = _zip_entries(path)
        if declared is not None and declared > MAX_ZIP_MEMBERS:
            raise _TooMany(declared)
        with zipfile.ZipFile(path) as z:
            infos = z.infolist()
    except _TooMany as exc:
        raise InputError(
            f"{path} is a zip archive of {exc.args[0]} entries, more than an export holds "
            f"({MAX_ZIP_MEMBERS}, MAX_ZIP_MEMBERS); give the export's own zip"
        ) from None
    except FileNotFoundError as exc:
        raise InputError(f"{path}: no such file; check the path") from exc
    except zipfile.BadZipFile as exc:
        raise InputError(
            f"{path} is a damaged or incomplete zip archive ({exc}: its table of contents "
            f"at the end is missing or broken, as when a copy is cut off); copy or export "
            f"it again"
        ) from exc
    except _ZIP_ERRORS as exc:
        raise InputError(f"{path} is not a readable zip archive ({exc})") from exc
    if len(infos) > MAX_ZIP_MEMBERS:
        raise InputError(
            f"{path} is a zip archive of {len(infos)} entries, more than an export holds "
            f"({MAX_ZIP_MEMBERS}, MAX_ZIP_MEMBERS); give the export's own zip"
        )
    members: dict[str, str] = {}
    # (not ZipInfo.is_dir(): it indexes the name's last character, and a damaged archive
    # can hold an entry with an empty name)
    names = [i.filename for i in infos if i.filename and not i.filename.endswith("/")]
    for n in sorted(names, key=lambda n: (n.count("/"), n)):
        base = n.rsplit("/", 1)[-1]
        if base.lower().endswith(".csv") and not base.startswith("."):
            members.setdefault(base.lower(), n)
    return Bundle(path, members, is_zip=True)


class _TooMany(Exception):
    """A zip archive declares more entries than `MAX_ZIP_MEMBERS`."""


def bundle_headers(path: Path, head: bytes) -> dict[str, str] | None:
    """Lower-case member name -> its first line, for an importer's ``sniff``; None when
    ``path`` is neither a folder nor a zip, empty when it cannot be read. Never raises
    (sniffing must not fail): a bundle that cannot be read is left to `export_problem`
    to explain."""
    if not (path.is_dir() or head.startswith(ZIP_MAGIC)):
        return None
    try:
        return {n: _first_line(h) for n, h in open_bundle(path).heads().items()}
    except (InputError, OSError, ValueError):
        return {}


def export_problem(path: Path) -> InputError:
    """Why the zip or folder ``path`` is not a phone-app export the importers read: the
    archive's own damage, encryption or size, or what it holds instead."""
    kind = "directory" if path.is_dir() else "zip archive"
    try:
        bundle = open_bundle(path)
        bundle.heads()  # a damaged or encrypted table
    except InputError as exc:
        return exc
    if not bundle.members:
        return InputError(
            f"{path} is a {kind} holding no CSV tables; give a recording file, or a "
            f"Sensor Logger or phyphox export"
        )
    return InputError(
        f"{path} is a {kind} but not a Sensor Logger or phyphox export (no table has their "
        f"columns; {bundle.describe_contents()}); give a recording file or such an export"
    )


def _first_line(data: bytes) -> str:
    text = data.decode("utf-8", errors="replace").lstrip("\ufeff")
    return text.split("\n", 1)[0].rstrip("\r")


def first_line(head: bytes) -> str:
    """The first line of a file's head, as text (for sniffing a single CSV)."""
    return _first_line(head)


# ----------------------------------------------------------------------------- tables


@dataclass(frozen=True)
class Table:
    """A parsed text table: header names in file order and one float column per name."""

    source: str
    names: tuple[str, ...]
    values: np.ndarray  # (rows, columns)

    def column(self, name: str) -> np.ndarray:
        return self.values[:, self.names.index(name)]

    def find(self, name: str) -> str | None:
        """The header that equals ``name`` ignoring case and surrounding space."""
        want = name.strip().lower()
        for n in self.names:
            if n.strip().lower() == want:
                return n
        return None

    def require(self, *names: str) -> list[str]:
        """The headers for ``names`` (case-insensitive), or an error naming what is missing."""
        found = [self.find(n) for n in names]
        missing = [n for n, f in zip(names, found, strict=True) if f is None]
        if missing:
            raise InputError(
                f"{self.source}: missing column{'s' if len(missing) > 1 else ''} "
                f"{', '.join(repr(m) for m in missing)}; the header has "
                f"{', '.join(repr(n) for n in self.names)}"
            )
        return [f for f in found if f is not None]


def sniff_delimiter(header: str) -> str:
    """The delimiter of a header line: tab or semicolon when present (a decimal-comma
    export must use one of them), else comma."""
    for d in DELIMITERS:
        if d in header:
            return d
    return ","


def _decode(data: bytes, source: str) -> str:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        # Spreadsheet programs on Windows save CSV as cp1252; "°" or "²" in a header
        # is then one byte. Latin-1 decodes any byte and keeps ASCII headers intact.
        text = data.decode("latin-1")
    return text.lstrip("\ufeff")


_VISIBLE = re.compile(rb"\S")


def parse_table(data: bytes, source: str) -> Table:
    """Parse a CSV/TSV table with a header row into floats.

    Empty cells and ``NaN`` become NaN (callers drop incomplete rows). A row with a
    wrong number of fields or a non-number raises `InputError` naming the line.
    """
    try:
        return _parse_table(data, source)
    except csv.Error as exc:  # malformed quoting the csv module cannot read
        raise InputError(f"{source} is not a valid CSV table ({exc})") from exc


def _parse_table(data: bytes, source: str) -> Table:
    # The body is parsed from the bytes as they are (numpy reads them in C): no decoded
    # copy and no list of lines, which for a table of tens of MB cost several times
    # its size. Only a table the fast path refuses is decoded, line by line.
    if b"\0" in data:
        raise InputError(f"{source} holds binary data, not a CSV table")
    if b"\n" not in data and b"\r" in data:  # old Mac line ends
        data = data.replace(b"\r", b"\n")
    nl = data.find(b"\n")
    header = _decode(data if nl < 0 else data[:nl], source).rstrip("\r")
    if not header.strip():
        raise InputError(f"{source} is empty; expected a header row and one row per sample")
    delimiter = sniff_delimiter(header)
    names = tuple(h.strip() for h in next(csv.reader([header], delimiter=delimiter)))
    if len(set(n.lower() for n in names)) != len(names):
        raise InputError(f"{source} line 1: a column name appears twice in {names}")
    body_at = len(data) if nl < 0 else nl + 1
    if _VISIBLE.search(data, body_at) is None:
        raise InputError(f"{source} has a header but no samples")
    decimal_comma = delimiter != ","
    values = _parse_fast(data, body_at, delimiter, decimal_comma, len(names))
    if values is None:
        body = _decode(data[body_at:], source)
        values = _parse_slow(_lines(body), delimiter, decimal_comma, len(names), source)
    return Table(source, names, values)


def _lines(text: str) -> Iterator[str]:
    """The lines of ``text``, one at a time (a list of them would double the memory)."""
    start = 0
    while start < len(text):
        end = text.find("\n", start)
        end = len(text) if end < 0 else end
        yield text[start:end].rstrip("\r")
        start = end + 1


def _parse_fast(
    data: bytes, body_at: int, delimiter: str, decimal_comma: bool, n_cols: int
) -> np.ndarray | None:
    if data.find(b'"', body_at) >= 0:
        return None  # quoted cells: let the csv module unquote them
    if decimal_comma:
        data = b"\n" + data[body_at:].replace(b",", b".")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            out = np.loadtxt(
                io.BytesIO(data),
                delimiter=delimiter,
                dtype=np.float64,
                comments=None,
                ndmin=2,
                skiprows=1,  # the header (or the line end put in its place)
                encoding="latin-1",
            )
    except (ValueError, UserWarning):
        return None
    return out if out.shape[1] == n_cols else None


def _parse_slow(
    body: Iterator[str], delimiter: str, decimal_comma: bool, n_cols: int, source: str
) -> np.ndarray:
    rows = []
    for lineno, fields in enumerate(csv.reader(body, delimiter=delimiter), start=2):
        if not fields or all(not f.strip() for f in fields):
            continue
        if len(fields) != n_cols:
            raise InputError(
                f"{source} line {lineno} has {len(fields)} fields, the header has {n_cols}"
            )
        row = []
        for f in fields:
            cell = f.strip()
            if decimal_comma:
                cell = cell.replace(",", ".")
            if cell == "":
                row.append(np.nan)
                continue
            try:
                row.append(float(cell))
            except ValueError:
                raise InputError(f"{source} line {lineno}: {f.strip()!r} is not a number") from None
        rows.append(row)
    if not rows:
        raise InputError(f"{source} has a header but no samples")
    return np.array(rows, dtype=np.float64)


# ----------------------------------------------------------------------------- streams


@dataclass(frozen=True)
class Stream:
    """One sensor stream: strictly increasing ``time_s`` and ``values`` (n, 3); ``mended``
    says what `mend_timestamps` did to the times in ``source``."""

    time_s: np.ndarray
    values: np.ndarray
    source: str = ""
    mended: MendedTimes | None = None


def make_stream(time_s: np.ndarray, values: np.ndarray, source: str) -> Stream:
    """Drop rows with missing values, then mend the times with ``sort``: phone apps write
    out-of-order rows (buffered sensor batches are flushed late) and repeated ones
    (Sensor Logger's own docs describe duplicated rows)."""
    t = np.asarray(time_s, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64).reshape(-1, 3)
    ok = np.isfinite(t) & np.isfinite(v).all(axis=1)
    row = np.flatnonzero(ok)
    t, v = t[ok], v[ok]
    wild = np.flatnonzero((np.abs(v) > MAX_READABLE_ABS_VALUE).any(axis=1))
    if len(wild):
        i = int(wild[0])
        raise InputError(
            f"{source} row {row[i] + 1}: {float(np.abs(v[i]).max()):g} is beyond what a "
            f"sensor records (at most {MAX_READABLE_ABS_VALUE:g} in size); check the export"
        )
    m = mend_timestamps(
        t, (v,), name=source, source=source, where=lambda i: f"row {row[i] + 1}", sort=True
    )
    t, v = m.time_s, m.take(v)
    if len(t) < MIN_SAMPLES:
        raise InputError(
            f"{source} has {len(t)} complete sample{'s' if len(t) != 1 else ''}; "
            f"a recording needs at least {MIN_SAMPLES}"
        )
    return Stream(t, v, source, m)


def resample_onto(target_s: np.ndarray, src: Stream) -> tuple[np.ndarray, np.ndarray]:
    """``src`` linearly interpolated at ``target_s``, and a mask of the target times it
    covers: inside its time span and not inside a hole longer than `MAX_HOLE_PERIODS`
    median periods (a straight line across a hole would invent motion)."""
    t = src.time_s
    period_s = float(np.median(np.diff(t)))
    inside = (target_s >= t[0]) & (target_s <= t[-1])
    k = np.clip(np.searchsorted(t, target_s, side="right") - 1, 0, len(t) - 2)
    exact = t[np.clip(np.searchsorted(t, target_s), 0, len(t) - 1)] == target_s
    span_ok = (t[k + 1] - t[k]) <= MAX_HOLE_PERIODS * period_s
    covered = inside & (span_ok | exact)
    out = np.column_stack([np.interp(target_s, t, src.values[:, j]) for j in range(3)])
    return out, covered


# ----------------------------------------------------------------------------- recording


def check_placement(placement: str | None, path: Path, app: str) -> str:
    if placement is None:
        raise InputError(
            f"{path} is a {app} export, which holds one sensor; say where it was worn "
            f"with --placement {' or --placement '.join(PLACEMENTS)}"
        )
    if placement not in PLACEMENTS:
        raise InputError(f"unknown placement {placement!r}; use one of {', '.join(PLACEMENTS)}")
    return placement


def utc_text(epoch_s: float) -> str | None:
    """``epoch_s`` as UTC text; None for a time no calendar holds (a damaged clock), so
    the recording's date is unknown rather than the file refused."""
    try:
        return datetime.fromtimestamp(epoch_s, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (ValueError, OverflowError, OSError):
        return None


def phone_recording(
    *,
    placement: str,
    time_s: np.ndarray,
    acc_mps2: np.ndarray,
    gyro_rad_s: np.ndarray,
    device: DeviceInfo,
    created_utc: str | None,
    source: str,
    acc_unit: str = "mps2",
    gyro_unit: str = "rad_s",
    streams: tuple[Stream, ...] = (),
    app: str,
) -> Recording:
    """A single-sensor `Recording`; raises when the data are evidently in other units.
    ``streams``: the streams it was made of, whose timestamp mends become its notes;
    ``app``: the phone app whose export it is."""
    if len(time_s) < MIN_SAMPLES:
        raise InputError(
            f"{source}: the accelerometer and gyroscope overlap in only {len(time_s)} "
            f"sample{'s' if len(time_s) != 1 else ''}; record both sensors together"
        )
    samples = SensorSamples(placement, time_s, acc_mps2, gyro_rad_s)
    check_units(samples, acc_unit=acc_unit, gyro_unit=gyro_unit, source=source)
    device.sample_rate_hz = round(1.0 / float(np.median(np.diff(time_s))), 3)
    notes = mend_notes({s.source: s.mended for s in streams if s.mended is not None})
    return Recording(
        sensors={placement: samples},
        devices={placement: device},
        created_utc=created_utc,
        input_notes=notes,
        source_format=f"{app} export",
    )
