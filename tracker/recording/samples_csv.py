"""Samples CSV (DESIGN 4.1): the interchange format for raw IMU samples.

```
time_s,sensor,acc_x,acc_y,acc_z,gyro_x,gyro_y,gyro_z
0.000000,lumbar,0.1200,9.7900,0.3100,0.0010,-0.0020,0.0000
```

One row per sample per sensor; ``sensor`` is a placement; rows of different sensors may
interleave; each sensor's rows are in time order. Time in seconds on that sensor's clock,
acceleration (specific force) in m/s^2 and angular velocity in rad/s, both in the sensor
frame of docs/frames.md. Details and validation rules: docs/samples-csv.md.

Reading is fast because the common case never loops in Python: the sensor names are
replaced by numbers as bytes and `np.loadtxt` parses the rest in C. Only when that
fails or a vectorised check finds a problem does a line-by-line parser run, whose job is
to name the first bad line.
"""

from __future__ import annotations

import difflib
import io
import os
import re
import warnings
from pathlib import Path

import numpy as np

from tracker.errors import InputError
from tracker.recording import framing
from tracker.recording.checks import ACC_UNITS, GYRO_UNITS, check_units, first_non_increasing
from tracker.recording.fileio import read_input_bytes, replace_atomically
from tracker.recording.model import Recording
from tracker.samples import SensorSamples
from tracker.units import G_MPS2, PLACEMENTS, RAD_PER_DEG

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
# Numbers that stand in for the sensor names in the fast path. A file that already holds
# them anywhere takes the slow path, so numbers in its sensor column are never mistaken
# for names.
_SENSOR_CODES = {p: 1e300 * (i + 1) for i, p in enumerate(PLACEMENTS)}
_CODE_MARK = b"e+300"
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
    code = np.concatenate(codes)
    order = np.lexsort((code, key))  # by written time, then lumbar before sacrum
    table = np.concatenate(values)[order]
    code = code[order]
    row_formats = [f"%.6f,{p},%.4f,%.4f,%.4f,%.6f,%.6f,%.6f\n" for p in placements]

    def write(tmp: Path) -> None:
        with open(tmp, "x", encoding="ascii", newline="\n") as f:
            f.write(HEADER + "\n")
            for i in range(0, len(table), _ROWS_PER_CHUNK):
                chunk = table[i : i + _ROWS_PER_CHUNK]
                fmt = "".join([row_formats[c] for c in code[i : i + _ROWS_PER_CHUNK].tolist()])
                f.write(fmt % tuple(chunk.ravel().tolist()))
            f.flush()
            os.fsync(f.fileno())

    replace_atomically(path, write)


# ----------------------------------------------------------------------------- reading


def _blank(data: bytes) -> bool:
    # A search stops at the first visible byte; strip() would copy the whole file.
    return re.search(rb"\S", data) is None


def _expected() -> str:
    return f"the first line must be: {HEADER}"


def _decode_text(data: bytes, path: object) -> None:
    if data.startswith(framing.MAGIC):
        raise InputError(
            f"{path} is a native tracker recording, not a samples CSV; "
            f"read it with load_recording / tracker convert"
        )
    nul = data.find(b"\0")
    try:
        data.decode("utf-8")
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


def _header_columns(line: str, path: object) -> list[str]:
    cols = [c.strip() for c in line.split(",")]
    try:
        float(cols[0])
        looks_like_data = True
    except ValueError:
        looks_like_data = False
    if looks_like_data:
        raise InputError(f"{path} line 1 is data, not a header; {_expected()}")
    dupes = sorted({c for c in cols if c and cols.count(c) > 1})
    if dupes:
        raise InputError(f"{path} line 1: column {dupes[0]!r} appears twice; {_expected()}")
    missing = [c for c in COLUMNS if c not in cols]
    if missing:
        unknown = [c for c in cols if c not in COLUMNS]
        hints = []
        for m in missing:
            close = difflib.get_close_matches(m, unknown, n=1, cutoff=0.6)
            hints.append(f"{m} (found {close[0]!r}: misspelt?)" if close else m)
        raise InputError(
            f"{path} line 1: missing column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(hints)}; {_expected()} (extra columns are ignored)"
        )
    return cols


def read_samples_csv(
    path: str | os.PathLike[str],
    *,
    acc_unit: str = "mps2",
    gyro_unit: str = "rad_s",
    min_samples: int = MIN_SAMPLES_PER_SENSOR,
) -> Recording:
    """Read a samples CSV into a `Recording` (m/s^2 and rad/s, sensor frame).

    ``acc_unit="g"`` / ``gyro_unit="dps"`` convert a file written in g or deg/s. Extra
    columns are ignored when every required column is present. Every problem raises
    `InputError` (`UnitError` for evident unit mistakes) with one line naming the
    problem, where it is (line number) and the fix.
    """
    if acc_unit not in ACC_UNITS:
        raise InputError(f"unknown acc unit {acc_unit!r}; choose one of {', '.join(ACC_UNITS)}")
    if gyro_unit not in GYRO_UNITS:
        raise InputError(f"unknown gyro unit {gyro_unit!r}; choose one of {', '.join(GYRO_UNITS)}")
    data = read_input_bytes(path)
    if data.startswith(b"\xef\xbb\xbf"):  # a UTF-8 byte order mark, as spreadsheets write
        data = data[3:]
    if _blank(data):
        raise InputError(f"{path} is empty; {_expected()}, then one row per sample")
    _decode_text(data, path)
    if b"\r" in data:
        data = data.replace(b"\r\n", b"\n")
    nl = data.find(b"\n")
    header_line = data.decode("utf-8") if nl < 0 else data[:nl].decode("utf-8")
    cols = _header_columns(header_line, path)
    body = b"" if nl < 0 else data[nl + 1 :]
    if _blank(body):
        raise InputError(f"{path} has a header but no samples; add one row per sample")

    table = _parse_fast(body, cols)
    if table is None:
        table = _parse_slow(body.decode("utf-8"), cols, path)
    sensors: dict[str, SensorSamples] = {}
    for p in PLACEMENTS:
        rows = table[table[:, 1] == _SENSOR_CODES[p]]
        if len(rows) == 0:
            continue
        if len(rows) < min_samples:
            raise InputError(
                f"{path} has only {len(rows)} {p} sample{'s' if len(rows) > 1 else ''}; "
                f"a sensor needs at least {min_samples}; record longer or remove its rows"
            )
        acc = rows[:, 2:5] * G_MPS2 if acc_unit == "g" else rows[:, 2:5]
        gyro = rows[:, 5:8] * RAD_PER_DEG if gyro_unit == "dps" else rows[:, 5:8]
        samples = SensorSamples(p, rows[:, 0], acc, gyro)
        check_units(samples, acc_unit=acc_unit, gyro_unit=gyro_unit, source=str(path))
        sensors[p] = samples
    return Recording(sensors=sensors)


def _parse_fast(body: bytes, cols: list[str]) -> np.ndarray | None:
    """Rows as floats in `COLUMNS` order (sensor as its code), or None to go the slow way."""
    k = cols.index("sensor")
    last = len(cols) - 1
    # Bound the replacement by the delimiters around the sensor column so that names
    # never match inside other fields; anything it misses fails below and goes slow.
    prefix = b"\n" if k == 0 else b","
    suffix = b"\n" if k == last else b","
    if _CODE_MARK in body:
        return None  # the stand-in numbers already occur: they could pass for names
    text = b"\n" + body + (b"" if body.endswith(b"\n") else b"\n")
    for p, code in _SENSOR_CODES.items():
        text = text.replace(prefix + p.encode() + suffix, prefix + repr(code).encode() + suffix)
    usecols = [cols.index(c) for c in COLUMNS]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            table = np.loadtxt(
                io.BytesIO(text),
                delimiter=",",
                dtype=np.float64,
                comments=None,
                ndmin=2,
                # Without extra columns loadtxt checks that every row has all fields.
                usecols=None if len(cols) == len(COLUMNS) else usecols,
            )
    except (ValueError, UserWarning):
        return None
    if len(cols) == len(COLUMNS):
        table = table[:, usecols]
    known = np.isin(table[:, 1], list(_SENSOR_CODES.values()))
    if not known.all() or not np.isfinite(table).all():
        return None
    for code in _SENSOR_CODES.values():
        if first_non_increasing(table[table[:, 1] == code, 0]) is not None:
            return None
    return table


def _parse_slow(text: str, cols: list[str], path: object) -> np.ndarray:
    """Parse line by line, raising on the first bad line with its number."""
    index = {c: cols.index(c) for c in COLUMNS}
    rows: list[list[float]] = []
    last: dict[str, tuple[float, int]] = {}
    for lineno, line in enumerate(text.split("\n"), start=2):
        if not line.strip():
            continue
        fields = line.split(",")
        where = f"{path} line {lineno}"
        if len(fields) != len(cols):
            raise InputError(
                f"{where} has {len(fields)} fields, the header has {len(cols)}; "
                f"every row needs one value per column"
            )
        sensor = fields[index["sensor"]].strip()
        if sensor not in PLACEMENTS:
            raise InputError(
                f"{where}: unknown sensor {sensor!r}; valid sensors: {', '.join(PLACEMENTS)}"
            )
        row = [0.0] * len(COLUMNS)
        row[1] = _SENSOR_CODES[sensor]
        for j, c in enumerate(COLUMNS):
            if c == "sensor":
                continue
            raw = fields[index[c]].strip()
            try:
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
            row[j] = value
        t = row[0]
        if sensor in last:
            prev_t, prev_line = last[sensor]
            if t == prev_t:
                raise InputError(
                    f"{where}: duplicate {sensor} timestamp {_raw_time(fields, index)} s "
                    f"(also on line {prev_line}); remove the repeated row"
                )
            if t < prev_t:
                raise InputError(
                    f"{where}: {sensor} time goes backwards ({_raw_time(fields, index)} s after "
                    f"{prev_t!r} s on line {prev_line}); sort each sensor's rows by time_s"
                )
        last[sensor] = (t, lineno)
        rows.append(row)
    # The fast path refused this file; if nothing here did, its quirks were harmless
    # (say, a sensor name it could not substitute) and this parse is the result.
    return np.array(rows, dtype=np.float64).reshape(-1, len(COLUMNS))


def _raw_time(fields: list[str], index: dict[str, int]) -> str:
    return fields[index["time_s"]].strip()
