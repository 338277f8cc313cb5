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
import warnings
import zipfile
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from tracker.errors import InputError
from tracker.recording.checks import check_units
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
)


# ----------------------------------------------------------------------------- bundles


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
        try:
            if self.is_zip:
                with zipfile.ZipFile(self.path) as z:
                    return z.read(member)
            return Path(member).read_bytes()
        except _ZIP_ERRORS as exc:
            raise InputError(f"{self.path}: cannot read {name} ({exc})") from exc

    def head(self, name: str, n_bytes: int = 4096) -> bytes:
        """The first ``n_bytes`` of a member (without reading the whole file)."""
        member = self.members[name.lower()]
        try:
            if self.is_zip:
                with zipfile.ZipFile(self.path) as z, z.open(member) as f:
                    return f.read(n_bytes)
            with open(member, "rb") as f:
                return f.read(n_bytes)
        except _ZIP_ERRORS as exc:
            raise InputError(f"{self.path}: cannot read {name} ({exc})") from exc

    def where(self, name: str) -> str:
        """How a member is named in messages."""
        return f"{self.path}/{name}" if not self.is_zip else f"{self.path}:{name}"

    def csv_names(self) -> list[str]:
        return sorted(self.members)

    def describe_contents(self) -> str:
        names = self.csv_names()
        shown = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
        return f"it holds {shown}" if names else "it holds no CSV files"


def open_bundle(path: Path) -> Bundle:
    """The CSV members of the zip or folder ``path`` (the same base name twice: the
    shallower one wins, as the export's own files sit at its top)."""
    members: dict[str, str] = {}
    if path.is_dir():
        found = sorted(path.rglob("*"), key=lambda p: (len(p.parts), str(p)))
        for f in found:
            if f.is_file() and f.suffix.lower() == ".csv":
                members.setdefault(f.name.lower(), str(f))
        return Bundle(path, members, is_zip=False)
    try:
        with zipfile.ZipFile(path) as z:
            names = [i.filename for i in z.infolist() if not i.is_dir()]
    except FileNotFoundError as exc:
        raise InputError(f"{path}: no such file; check the path") from exc
    except _ZIP_ERRORS as exc:
        raise InputError(f"{path} is not a readable zip archive ({exc})") from exc
    for n in sorted(names, key=lambda n: (n.count("/"), n)):
        base = n.rsplit("/", 1)[-1]
        if base.lower().endswith(".csv") and not base.startswith("."):
            members.setdefault(base.lower(), n)
    return Bundle(path, members, is_zip=True)


def bundle_headers(path: Path, head: bytes) -> dict[str, str] | None:
    """Lower-case member name -> its first line, for an importer's ``sniff``; None when
    ``path`` is neither a folder nor a zip. Never raises (sniffing must not fail)."""
    try:
        if not (path.is_dir() or head.startswith(ZIP_MAGIC)):
            return None
        bundle = open_bundle(path)
        out = {}
        for name in bundle.csv_names():
            out[name] = _first_line(bundle.head(name))
        return out
    except (InputError, OSError, ValueError):
        return None


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
    if "\0" in text:
        raise InputError(f"{source} holds binary data, not a CSV table")
    return text.lstrip("\ufeff")


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
    text = _decode(data, source)
    lines = text.splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines or not lines[0].strip():
        raise InputError(f"{source} is empty; expected a header row and one row per sample")
    delimiter = sniff_delimiter(lines[0])
    names = tuple(h.strip() for h in next(csv.reader([lines[0]], delimiter=delimiter)))
    if len(set(n.lower() for n in names)) != len(names):
        raise InputError(f"{source} line 1: a column name appears twice in {names}")
    body = lines[1:]
    if not body:
        raise InputError(f"{source} has a header but no samples")
    decimal_comma = delimiter != ","
    values = _parse_fast(body, delimiter, decimal_comma, len(names))
    if values is None:
        values = _parse_slow(body, delimiter, decimal_comma, len(names), source)
    return Table(source, names, values)


def _parse_fast(
    body: list[str], delimiter: str, decimal_comma: bool, n_cols: int
) -> np.ndarray | None:
    joined = "\n".join(body)
    if '"' in joined:
        return None  # quoted cells: let the csv module unquote them
    if decimal_comma:
        joined = joined.replace(",", ".")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            out = np.loadtxt(
                io.StringIO(joined),
                delimiter=delimiter,
                dtype=np.float64,
                comments=None,
                ndmin=2,
            )
    except (ValueError, UserWarning):
        return None
    return out if out.shape[1] == n_cols else None


def _parse_slow(
    body: list[str], delimiter: str, decimal_comma: bool, n_cols: int, source: str
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


def utc_text(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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
) -> Recording:
    """A single-sensor `Recording`; raises when the data are evidently in other units.
    ``streams``: the streams it was made of, whose timestamp mends become its notes."""
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
    )
