"""Samples CSV (DESIGN 4.1): the interchange format for raw IMU samples.

```
time_s,sensor,acc_x,acc_y,acc_z,gyro_x,gyro_y,gyro_z
0.000000,lumbar,0.1200,9.7900,0.3100,0.0010,-0.0020,0.0000
```

One row per sample per sensor; ``sensor`` is a placement; rows of different sensors may
interleave; each sensor's rows are in time order. Time in seconds on that sensor's clock,
acceleration (specific force) in m/s^2 and angular velocity in rad/s, both in the sensor
frame of docs/frames.md. Details and validation rules: docs/samples-csv.md.

Reading is fast because the common case never loops over rows in Python: polars parses
the file in bulk (in native code, on every core), numpy copies each sensor's rows into
its arrays, and the checks are vectorised. Only when the bulk parse fails or finds
something odd does a row-by-row parser run, whose job is to name the first bad line.
polars is imported when a file is parsed, not with this module (importing it takes a
fifth of a second, which the export of a native recording, or writing a samples CSV,
need not pay).
"""

from __future__ import annotations

import csv
import difflib
import functools
import io
import mmap
import os
import re
from array import array
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tracker.errors import InputError
from tracker.limits import MAX_ABS_TIME_S, MAX_READABLE_ABS_VALUE
from tracker.recording import framing
from tracker.recording.checks import ACC_UNITS, GYRO_UNITS, check_units, first_non_increasing
from tracker.recording.fileio import read_input_buffer, replace_atomically
from tracker.recording.model import Recording
from tracker.recording.timestamps import MendedTimes, mend_notes, mend_timestamps
from tracker.samples import SensorSamples
from tracker.units import G_MPS2, PLACEMENTS, RAD_PER_DEG

if TYPE_CHECKING:
    import polars as pl

COLUMNS: tuple[str, ...] = (
    "time_s",
    "sensor",
    "acc_x",
    "acc_y",
    "acc_z",
    "gyro_x",
    "gyro_y",
    "gyro_z",
)
HEADER = ",".join(COLUMNS)
_NUMERIC = tuple(c for c in COLUMNS if c != "sensor")
#: Fewer than two samples give no sample period; the analysis needs far more and says so.
MIN_SAMPLES_PER_SENSOR = 2
_ROWS_PER_CHUNK = 20000


# ----------------------------------------------------------------------------- writing


def _format_times(time_s: np.ndarray) -> np.ndarray:
    """The times as written (``%.6f``) and read back: the order the file will have."""
    text = ("%.6f\n" * len(time_s)) % tuple(time_s.tolist())
    return np.array(text.split(), dtype=np.float64)


def write_samples_csv(recording: Recording, path: str | os.PathLike[str]) -> None:
    """Write ``recording``'s samples as a samples CSV, replacing ``path`` atomically.

    Fixed format (time ``%.6f``, acc ``%.4f``, gyro ``%.6f``) and row order (time as
    written, ties ``lumbar`` first), so write -> read -> write is byte-identical.
    Notes, devices and gaps are not part of the format and are not written.
    """
    placements = [p for p in recording.placements if len(recording.sensors[p])]
    if not placements:
        raise InputError(f"nothing to write to {path}: the recording has no samples")
    keys, codes, values = [], [], []
    for code, p in enumerate(placements):
        s = recording.sensors[p]
        written_s = _format_times(s.time_s)
        bad = first_non_increasing(written_s)
        if bad is not None:
            raise InputError(
                f"cannot write {p} samples at {s.time_s[bad - 1]:.7f} s and "
                f"{s.time_s[bad]:.7f} s: the samples CSV resolves time to 1 microsecond"
            )
        keys.append(written_s)
        codes.append(np.full(len(s), code))
        values.append(np.column_stack([s.time_s, s.acc_mps2, s.gyro_rad_s]))
    key = np.concatenate(keys)
    sensor_code = np.concatenate(codes)
    order = np.lexsort((sensor_code, key))  # by written time, then lumbar before sacrum
    table = np.concatenate(values)[order]
    sensor_code = sensor_code[order]
    row_formats = [f"%.6f,{p},%.4f,%.4f,%.4f,%.6f,%.6f,%.6f\n" for p in placements]

    def write(tmp: Path) -> None:
        with open(tmp, "x", encoding="ascii", newline="\n") as f:
            f.write(HEADER + "\n")
            for i in range(0, len(table), _ROWS_PER_CHUNK):
                chunk = table[i : i + _ROWS_PER_CHUNK]
                chunk_codes = sensor_code[i : i + _ROWS_PER_CHUNK].tolist()
                fmt = "".join([row_formats[c] for c in chunk_codes])
                f.write(fmt % tuple(chunk.ravel().tolist()))
            f.flush()
            os.fsync(f.fileno())

    replace_atomically(path, write)


# ----------------------------------------------------------------------------- reading

#: A samples CSV has 8 columns and exporters add a few; a first line wider than this is
#: not a samples CSV header, and refusing it at once keeps the column check bounded.
MAX_HEADER_FIELDS = 1000
#: 1000 column names of 60 characters; a longer first line is not a header either.
MAX_HEADER_BYTES = 64 * 1024

# A search stops at the first visible byte, in place; strip() would copy the whole file.
_VISIBLE = re.compile(rb"\S")
_OTHER_DELIMITERS = {";": "';'", "\t": "tabs", "|": "'|'"}


def _expected() -> str:
    return f"the first line must be: {HEADER}"


def _check_encoding(head: bytes, path: object) -> None:
    """Name the encodings a spreadsheet may save in, before anything reads text."""
    if head.startswith(framing.MAGIC):
        raise InputError(
            f"{path} is a native tracker recording, not a samples CSV; "
            f"read it with load_recording / tracker convert"
        )
    if head.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        raise InputError(f"{path} is UTF-32 text; save it as UTF-8 (the format is UTF-8)")
    even, odd = head[0:64:2], head[1:64:2]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or (
        len(head) >= 4 and (set(even) == {0} or set(odd) == {0})
    ):
        raise InputError(f"{path} is UTF-16 text; save it as UTF-8 (the format is UTF-8)")


def _decode_text(data: bytes, path: object) -> str:
    nul = data.find(b"\0")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{path} is not a samples CSV (nor a tracker recording): it holds binary data "
            f"(byte {exc.start} is not UTF-8 text); give a CSV file whose first line is {HEADER}"
        ) from exc
    if nul >= 0:
        raise InputError(
            f"{path} is not a samples CSV (nor a tracker recording): it holds binary data "
            f"(a NUL byte at byte {nul}); give a CSV file whose first line is {HEADER}"
        )
    return text


def _too_wide(path: object, n_fields: str) -> InputError:
    return InputError(
        f"{path} line 1 has {n_fields} fields; a samples CSV header has at most "
        f"{MAX_HEADER_FIELDS}; {_expected()}"
    )


def _header_columns(line: str, path: object) -> list[str]:
    n_fields = line.count(",") + 1
    if n_fields > MAX_HEADER_FIELDS:
        raise _too_wide(path, str(n_fields))
    if n_fields == 1:
        for delimiter, name in _OTHER_DELIMITERS.items():
            if line.count(delimiter) >= 2:
                raise InputError(
                    f"{path} line 1: fields are separated by {name}; the format uses ','; "
                    f"save the file with ',' between fields ({_expected()})"
                )
    try:
        names = next(csv.reader([line]), [""])
    except csv.Error:  # a stray quote or carriage return: read the names as they stand
        names = line.split(",")
    cols = [c.strip() for c in names] or [""]
    try:
        float(cols[0])
        looks_like_data = True
    except ValueError:
        looks_like_data = False
    if looks_like_data:
        raise InputError(f"{path} line 1 is data, not a header; {_expected()}")
    dupes = sorted(c for c, k in Counter(cols).items() if c and k > 1)
    if dupes:
        raise InputError(f"{path} line 1: column {dupes[0]!r} appears twice; {_expected()}")
    present = set(cols)
    missing = [c for c in COLUMNS if c not in present]
    if missing:
        unknown = [c for c in cols if c not in COLUMNS][:MAX_HEADER_FIELDS]
        hints = []
        for m in missing:
            close = difflib.get_close_matches(m, unknown, n=1, cutoff=0.6)
            hints.append(f"{m} (found {close[0]!r}: misspelt?)" if close else m)
        raise InputError(
            f"{path} line 1: missing column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(hints)}; {_expected()} (extra columns are ignored)"
        )
    return cols


@dataclass
class _Rows:
    """One sensor's rows as read: values in `COLUMNS` order, and ``line_of(i)``, the file
    line of row ``i`` (asked only for a message)."""

    time_s: np.ndarray
    acc: np.ndarray
    gyro: np.ndarray
    line_of: Callable[[int], int]


def read_samples_csv(
    path: str | os.PathLike[str],
    *,
    acc_unit: str = "mps2",
    gyro_unit: str = "rad_s",
    min_samples: int = MIN_SAMPLES_PER_SENSOR,
) -> Recording:
    """Read a samples CSV into a `Recording` (m/s^2 and rad/s, sensor frame).

    ``acc_unit="g"`` / ``gyro_unit="dps"`` convert a file written in g or deg/s. Extra
    columns are ignored when every required column is present. Repeated timestamps and
    small backward steps are mended (`tracker.recording.timestamps`) and noted in
    ``input_notes``. Every problem raises `InputError` (`UnitError` for evident unit
    mistakes) with one line naming the problem, where it is (line number) and the fix.
    Works on pipes and other streams that can be read only once.
    """
    if acc_unit not in ACC_UNITS:
        raise InputError(f"unknown acc unit {acc_unit!r}; choose one of {', '.join(ACC_UNITS)}")
    if gyro_unit not in GYRO_UNITS:
        raise InputError(f"unknown gyro unit {gyro_unit!r}; choose one of {', '.join(GYRO_UNITS)}")
    data = read_input_buffer(path)
    head = data[:MAX_HEADER_BYTES]
    _check_encoding(head, path)
    start = 3 if head.startswith(b"\xef\xbb\xbf") else 0  # a BOM, as spreadsheets write
    if _VISIBLE.search(data, start) is None:
        raise InputError(f"{path} is empty; {_expected()}, then one row per sample")
    nl = head.find(b"\n", start)
    if nl < 0 and len(data) > MAX_HEADER_BYTES:
        if head.count(b",") >= MAX_HEADER_FIELDS:
            raise _too_wide(path, f"more than {head.count(b',')}")
        raise InputError(
            f"{path} line 1 is longer than {MAX_HEADER_BYTES} bytes: not a header; {_expected()}"
        )
    header_bytes = head[start:] if nl < 0 else head[start:nl]
    cols = _header_columns(_decode_text(header_bytes, path).rstrip("\r"), path)
    if nl < 0 or _VISIBLE.search(data, nl + 1) is None:
        raise InputError(f"{path} has a header but no samples; add one row per sample")

    # A regular file is handed to the parser by name (it maps the file itself); a pipe's
    # bytes, which cannot be read twice, are handed over as they are.
    source = path if isinstance(data, mmap.mmap) else data[start:]
    rows = _parse_fast(source, cols)
    if rows is None:
        if data.find(b"\0") >= 0:
            _decode_text(data[start:], path)  # binary content: says so
        suspect = _first_suspect_row(source, cols)
        if suspect is not None:
            # That line alone, with its number, names what is wrong without walking the
            # whole file; if it passes after all, the whole file is walked below.
            line = _line_text(data, start, suspect + 2)
            _parse_slow(header_bytes.decode() + "\n" + line, cols, path, start_line=suspect + 2)
        rows = _parse_slow(_decode_text(data[start:], path), cols, path)
    if not rows:  # (only blank or empty-quoted lines after the header)
        raise InputError(f"{path} has a header but no samples; add one row per sample")

    sensors: dict[str, SensorSamples] = {}
    mended: dict[str, MendedTimes] = {}
    for p, r in rows.items():
        sensors[p], mended[p] = _sensor(p, r, path, acc_unit, gyro_unit, min_samples)
    return Recording(sensors=sensors, input_notes=mend_notes(mended))


def _sensor(
    p: str, r: _Rows, path: object, acc_unit: str, gyro_unit: str, min_samples: int
) -> tuple[SensorSamples, MendedTimes]:
    def line(i: int) -> str:
        return f"line {r.line_of(i)}"

    acc_scale = G_MPS2 if acc_unit == "g" else 1.0
    gyro_scale = RAD_PER_DEG if gyro_unit == "dps" else 1.0
    # The bounds in the file's units, so the common case is one pass and no conversion.
    bounds = [
        (r.time_s[:, None], MAX_ABS_TIME_S, 1.0, "s", _NUMERIC[:1]),
        (r.acc, MAX_READABLE_ABS_VALUE, acc_scale, "m/s^2", _NUMERIC[1:4]),
        (r.gyro, MAX_READABLE_ABS_VALUE, gyro_scale, "rad/s", _NUMERIC[4:]),
    ]
    for values, limit, scale, unit, names in bounds:
        if values.min() >= -limit / scale and values.max() <= limit / scale:
            continue  # (NaN fails both)
        row, col = (int(k[0]) for k in np.nonzero(~(np.abs(values) <= limit / scale)))
        value = float(values[row, col])
        if not np.isfinite(value):
            raise InputError(
                f"{path} {line(row)}, column {names[col]}: '{value!r}' is not a finite "
                f"number; remove the row or fill in a value"
            )
        raise InputError(
            f"{path} {line(row)}, column {names[col]}: {value:g} is beyond what a sensor "
            f"records (at most {limit:g} {unit} in size); check the file and its units"
        )
    acc = r.acc * acc_scale if acc_scale != 1.0 else r.acc
    gyro = r.gyro * gyro_scale if gyro_scale != 1.0 else r.gyro
    m = mend_timestamps(r.time_s, (acc, gyro), name=p, source=str(path), where=line)
    if len(m.time_s) < min_samples:
        n = len(m.time_s)
        raise InputError(
            f"{path} has only {n} {p} sample{'s' if n > 1 else ''}; "
            f"a sensor needs at least {min_samples}; record longer or remove its rows"
        )
    samples = SensorSamples(p, m.time_s, m.take(acc), m.take(gyro))
    check_units(samples, acc_unit=acc_unit, gyro_unit=gyro_unit, source=str(path))
    return samples, m


def _schema(cols: list[str], sensor_codes: bool) -> dict[str, Any]:
    """The parser's schema: columns named by position (``column_1`` ...: a file may
    order them any way), numbers as float64, extra columns as text (they are not read),
    and ``sensor`` as text or, with ``sensor_codes``, as an enumeration of the
    placements: the parser then keeps one small code per row instead of a string, and
    splitting by sensor compares codes."""
    import polars as pl

    types: dict[str, pl.DataType | type[pl.DataType]] = {c: pl.Float64 for c in _NUMERIC}
    types["sensor"] = pl.Enum(PLACEMENTS) if sensor_codes else pl.String
    return {f"column_{i + 1}": types.get(c, pl.String) for i, c in enumerate(cols)}


def _read_columns(source: object, cols: list[str], schema: dict[str, Any]) -> pl.DataFrame:
    """The format's columns of every data row, by the parser; raises what the parser
    raises."""
    import polars as pl

    return pl.read_csv(
        # (a path or the file's bytes; polars declares narrower types than it reads)
        source,  # type: ignore[arg-type]
        has_header=False,
        # Quotes are not special to the bulk parser: a quoted value then fails to parse
        # and the file goes to the row-by-row parser, which reads quotes as CSV does
        # (quoting is rare in sensor logs; and the bulk parser's quote handling panics
        # on a file cut inside a quoted field).
        quote_char=None,
        skip_lines=1,
        schema=schema,
        columns=[cols.index(c) for c in COLUMNS],
        null_values=None,
        encoding="utf8",
    )


def _parse_fast(source: object, cols: list[str]) -> dict[str, _Rows] | None:
    """Each sensor's rows, parsed in bulk; None when anything is off (the slow parser
    then names the first bad line)."""
    import polars as pl

    name = {c: f"column_{cols.index(c) + 1}" for c in COLUMNS}
    sensor = pl.col(name["sensor"])
    try:
        try:
            table = _read_columns(source, cols, _schema(cols, sensor_codes=True))
        except pl.exceptions.ComputeError:
            # A sensor name padded with spaces (which the format allows) is not one of
            # the enumeration's; read the names as text and strip them. An unknown
            # name fails the strict cast below (and the slow parser names its line).
            table = _read_columns(source, cols, _schema(cols, sensor_codes=False))
            table = table.with_columns(sensor.str.strip_chars().cast(pl.Enum(PLACEMENTS)))
        lines = None  # row i is on line i + 2 (the header is line 1)
        if sum(table.null_count().row(0)):
            # Blank lines read as rows of nulls and are fine; a row with some nulls is short.
            nulls = table.select(pl.all().is_null()).to_numpy()
            blank = nulls.all(axis=1)
            if not np.array_equal(blank, nulls.any(axis=1)):
                return None
            table = table.filter(pl.Series(~blank))
            lines = np.flatnonzero(~blank) + 2
    except (pl.exceptions.PolarsError, pl.exceptions.PanicException, ValueError, OSError):
        # (a panic in the parser's own code on odd input derives from BaseException only)
        return None
    codes = table.get_column(name["sensor"]).to_physical()
    counts = [int((codes == code).sum()) for code in range(len(PLACEMENTS))]

    def line_of(code: int, i: int) -> int:
        # Asked only for a message: the row's place in the file is found then.
        shared = counts[code] < len(codes)  # (other sensors have rows too)
        row = int(np.flatnonzero(codes.to_numpy() == code)[i]) if shared else i
        return row + 2 if lines is None else int(lines[row])

    arrays = _by_sensor(codes, [table.get_column(name[c]) for c in _NUMERIC], counts)
    return {
        PLACEMENTS[code]: _Rows(*arrays[code], functools.partial(line_of, code)) for code in arrays
    }


def _by_sensor(
    codes: pl.Series, columns: list[pl.Series], counts: list[int]
) -> dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Each sensor's (time, acc, gyro) arrays, keyed by sensor code, from the parsed
    ``codes`` and ``columns`` (time, acc x y z, gyro x y z).

    Every value is copied once, from the chunks the parser wrote (read in place) into
    its sensor's final array, by plain fancy indexing. The copy is bound by memory:
    measured on a 1-hour dual-sensor file, joining the chunks first costs a third more,
    and np.take into the strided columns of acc and gyro, or threads, gain nothing.
    """
    chunks = [column.get_chunks() for column in [codes, *columns]]
    if len({tuple(len(chunk) for chunk in cs) for cs in chunks}) > 1:
        chunks = [[column.rechunk()] for column in [codes, *columns]]  # (unlike chunks)
    arrays = {
        code: (np.empty(n), np.empty((n, 3)), np.empty((n, 3)))
        for code, n in enumerate(counts)
        if n
    }
    targets = {code: (t, *acc.T, *gyro.T) for code, (t, acc, gyro) in arrays.items()}
    filled = dict.fromkeys(arrays, 0)
    for k, code_chunk in enumerate(chunks[0]):
        sensor_codes = code_chunk.to_numpy()
        values = [cs[k].to_numpy() for cs in chunks[1:]]
        for code, target in targets.items():
            rows = np.flatnonzero(sensor_codes == code)
            start = filled[code]
            filled[code] = start + len(rows)
            for quantity, value in zip(target, values, strict=True):
                quantity[start : start + len(rows)] = value[rows]
    return arrays


def _line_text(data: bytes | mmap.mmap, start: int, lineno: int) -> str:
    """Line ``lineno`` (1-based) of ``data[start:]``, found without splitting the file."""
    ends = np.flatnonzero(np.frombuffer(data, dtype=np.uint8)[start:] == ord("\n")) + start
    first = start if lineno == 1 else int(ends[lineno - 2]) + 1
    last = int(ends[lineno - 1]) if lineno - 1 < len(ends) else len(data)
    return bytes(data[first:last]).decode("utf-8", errors="replace")


def _first_suspect_row(source: object, cols: list[str]) -> int | None:
    """The first data row (0-based) that has a missing field, an unknown sensor or a
    value that is not a number, found in bulk; None when the file cannot be parsed even
    as text (the row-by-row parser then walks it all)."""
    import polars as pl

    schema = {f"column_{i + 1}": pl.String for i in range(len(cols))}
    try:
        table = _read_columns(source, cols, schema)
        checks = [~pl.col(f"column_{cols.index('sensor') + 1}").str.strip_chars().is_in(PLACEMENTS)]
        for c in _NUMERIC:
            value = pl.col(f"column_{cols.index(c) + 1}").str.strip_chars()
            checks.append(value.cast(pl.Float64, strict=False).is_null())
        blank = pl.all_horizontal(pl.all().is_null())  # a blank line is no suspect
        suspect = pl.any_horizontal(checks).fill_null(True) & ~blank
        bad = table.select(suspect).to_series().to_numpy()
    except (pl.exceptions.PolarsError, pl.exceptions.PanicException, ValueError, OSError):
        # (a panic in the parser's own code on odd input derives from BaseException only)
        return None
    suspects = np.flatnonzero(bad)
    return int(suspects[0]) if len(suspects) else None


def _parse_slow(
    text: str, cols: list[str], path: object, *, start_line: int = 2
) -> dict[str, _Rows]:
    """Parse row by row from line ``start_line`` on, raising on the first bad line with
    its number."""
    index = [cols.index(c) for c in COLUMNS]
    found: dict[str, tuple[array[int], array[float]]] = {}
    reader = csv.reader(io.StringIO(text, newline=""))
    next(reader, None)  # the header, checked already (or the lines before start_line)
    lineno = start_line - 1
    while True:
        try:
            fields = next(reader, None)
        except csv.Error as exc:
            raise InputError(
                f"{path} line {lineno + 1}: {exc}; write one row per line, values "
                f"separated by ',' (quotes only around whole values)"
            ) from None
        if fields is None:
            break
        first, lineno = lineno + 1, reader.line_num + start_line - 2
        if not any(f.strip() for f in fields):
            continue  # a blank line
        where = f"{path} line {first}"
        if len(fields) != len(cols):
            raise InputError(
                f"{where} has {len(fields)} field{'s' if len(fields) != 1 else ''}, the header "
                f"has {len(cols)}; every row needs one value per column"
            )
        sensor = fields[index[1]].strip()
        if sensor not in PLACEMENTS:
            raise InputError(
                f"{where}: unknown sensor {sensor!r}; valid sensors: {', '.join(PLACEMENTS)}"
            )
        lines, values = found.setdefault(sensor, (array("q"), array("d")))
        for c, k in zip(COLUMNS, index, strict=True):
            if c == "sensor":
                continue
            raw = fields[k].strip()
            try:
                if "_" in raw:  # Python reads 1_000 as a number; no CSV writer means it
                    raise ValueError(raw)
                value = float(raw)
            except ValueError:
                raise InputError(
                    f"{where}, column {c}: {raw!r} is not a number; fix or remove the row"
                ) from None
            if not np.isfinite(value):
                raise InputError(
                    f"{where}, column {c}: {raw!r} is not a finite number; "
                    f"remove the row or fill in a value"
                )
            values.append(value)
        lines.append(first)
    rows = {}
    for p in PLACEMENTS:
        if p in found:
            lines, values = found[p]
            table = np.frombuffer(values, dtype=np.float64).reshape(-1, len(_NUMERIC))
            rows[p] = _Rows(
                table[:, 0].copy(), table[:, 1:4].copy(), table[:, 4:7].copy(), lines.__getitem__
            )
    return rows
