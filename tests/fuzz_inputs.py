"""Structure-aware fuzz inputs for every decoder, and the targets that feed them in.

Shared by the default test run (tests/test_fuzz_*.py, a few thousand cases) and the long
run (bench/fuzz.py, a million). Each case is one seeded `random.Random`: a generator
builds a valid input with the project's own encoders and writers (native records with
correct checksums, samples CSV, Sensor Logger and phyphox exports, BLE payloads of each
protocol, a phyphox remote-access session's answers), then breaks it where the format
has structure (a JSON header field of the wrong type, a sample count that does not
match the bytes, a delta block 64 bits wide, records out of order, ...) and, on top of
that, sometimes flips, cuts or splices bytes.

A target calls the real entry points: files through `load_recording` and what the CLI
does next (`describe` for ``info``, `save_recording` for ``convert``); BLE payloads
through the session's own per-payload step (`SensorLink._process`) after a start
handshake against a fake device that answers with (possibly hostile) responses. A
`TrackerError` is the expected outcome of a bad input; anything else, or an output that
breaks what the next stage relies on (`InvariantError`), is a finding.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import io
import json
import math
import random
import shutil
import struct
import warnings
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from tracker.devices import host_protocols as hp
from tracker.devices import movella_dot as dot
from tracker.devices import movesense as ms
from tracker.devices import polar_pmd as pmd
from tracker.devices import tracker_imu as imu
from tracker.devices.base import DecodedPacket
from tracker.devices.kinds import StreamConfig
from tracker.devices.phyphox_emulator import phyphox_number
from tracker.errors import CorruptRecordingError, TrackerError
from tracker.recording import framing, native
from tracker.recording.describe import describe
from tracker.recording.load import load_recording, save_recording
from tracker.recording.model import DeviceInfo, SessionNotes
from tracker.recording.native import RawPacket, iter_packets, read_native_info
from tracker.recording.samples_csv import COLUMNS
from tracker.units import G_MPS2, PLACEMENTS


class InvariantError(Exception):
    """An entry point returned something the next stage cannot use (not a project error)."""


@dataclass
class Case:
    """One fuzz case: its random source, a scratch folder, and the inputs it produced
    (kept so a failing case can be written out as a reproducer)."""

    rng: random.Random
    workdir: Path
    inputs: dict[str, bytes | list[str]] = field(default_factory=dict)
    #: Per-case stream state of the BLE generators (device clock, sequence counter).
    state: dict[str, int] = field(default_factory=dict)
    _np: np.random.Generator | None = None

    def np_rng(self) -> np.random.Generator:
        """The case's numpy generator (seeded from ``rng`` at the first call)."""
        if self._np is None:
            self._np = np.random.default_rng(self.rng.getrandbits(64))
        return self._np


def case_rng(seed: int, target: str, index: int) -> random.Random:
    """The random source of case ``index`` of ``target`` in a run seeded ``seed``.

    A string seed is hashed with SHA-512 by `random.Random`, so a case is the same in
    every process and every run: (seed, target, index) reproduces it."""
    return random.Random(f"{seed}/{target}/{index}")


# --------------------------------------------------------------------------- mutations

#: Integers at the edges of the widths the formats use.
INTERESTING_INTS = (
    0,
    1,
    2,
    3,
    7,
    8,
    31,
    32,
    127,
    128,
    255,
    256,
    0x7FFF,
    0x8000,
    0xFFFF,
    0x10000,
    0x7FFFFFFF,
    0x80000000,
    0xFFFFFFFF,
    1 << 32,
    (1 << 63) - 1,
    1 << 63,
    (1 << 64) - 1,
    -1,
    -2,
    -128,
    -32768,
)

#: Text that a number field may hold instead of a number.
EXTREME_TOKENS = (
    "1e308",
    "-1e308",
    "1.7976931348623157e308",
    "1e309",
    "-1e309",
    "nan",
    "NaN",
    "-nan",
    "inf",
    "-inf",
    "Infinity",
    "0",
    "-0",
    "-0.0",
    "1e-320",
    "4.9e-324",
    "9" * 400,
    "1" + "0" * 5000,
    "",
    " ",
    "1_000",
    "\u0661\u0662",  # Arabic-Indic digits, which float() accepts
    "0x10",
    "1e",
    "--1",
    "+",
    ".",
    "1,5",
    '"1.5"',
    "\t",
    "1e7",
    "1e15",
    "-1e15",
    "12345678901234567890",
    "\x00",
    "\x1b[31m",
    "\u00e9",
)

#: JSON values of every type, for a field that expects one in particular.
HOSTILE_JSON = (
    None,
    True,
    False,
    0,
    -1,
    1.5,
    1e308,
    -1e308,
    "text",
    "",
    "\x1b]0;title\x07",
    "x" * 3000,
    [],
    [1, 2],
    {},
    {"a": 1},
    {"model": {"model": []}},
    [[[]]],
)

#: Raw JSON text no encoder writes: NaN and infinity, huge and deep values.
RAW_JSON = (
    "NaN",
    "Infinity",
    "-Infinity",
    "1e999",
    "-1e999",
    "1" * 5000,
    "1" * 200,
    "0.000000000000000000000000000001e-400",
    '"\\ud800"',
    '"\\u0000"',
)


def deep_json(rng: random.Random) -> str:
    depth = rng.choice((50, 500, 990, 1000, 5000, 100_000, 200_000))
    opener, closer = rng.choice((("[", "]"), ('{"a":', "}")))
    return opener * depth + "1" + closer * depth


def mutate_bytes(rng: random.Random, data: bytes, other: bytes | None = None) -> bytes:
    """Flip, set, cut, insert, duplicate or splice bytes, 1 to 16 times."""
    out = bytearray(data)
    for _ in range(rng.choice((1, 1, 1, 2, 2, 3, 4, 16))):
        if not out:
            out += rng.randbytes(rng.randrange(1, 16))
            continue
        i = rng.randrange(len(out))
        op = rng.randrange(9)
        if op == 0:
            out[i] ^= 1 << rng.randrange(8)
        elif op == 1:
            out[i] = rng.choice((0x00, 0xFF, 0x7F, 0x80, 0x01, 0x0A, 0x0D, 0x2C, 0x22))
        elif op == 2:
            del out[i : i + rng.randrange(1, 64)]
        elif op == 3:
            out[i:i] = rng.randbytes(rng.randrange(1, 32))
        elif op == 4:
            j = rng.randrange(len(out))
            out[i:i] = out[j : j + rng.randrange(1, 256)]
        elif op == 5:
            del out[i:]
        elif op == 6 and other:
            k = rng.randrange(len(other) + 1)
            out = out[:i] + bytearray(other[k:])
        elif op == 7:
            width = rng.choice((1, 2, 4, 8))
            value = rng.choice(INTERESTING_INTS) % (1 << (8 * width))
            out[i : i + width] = value.to_bytes(width, rng.choice(("little", "big")))
        else:
            j = rng.randrange(len(out))
            out[i], out[j] = out[j], out[i]
    return bytes(out)


def maybe_mutate(rng: random.Random, data: bytes, p: float, other: bytes | None = None) -> bytes:
    return mutate_bytes(rng, data, other) if rng.random() < p else data


# --------------------------------------------------------------------------- motion


#: Standing still this long before the first hinge lets the analysis calibrate the
#: mounting (docs: "Standing still for 3 s at the start helps").
STILL_START_S = 3.0


def imu_motion(
    g: np.random.Generator, n: int, rate_hz: float, t0_s: float = 0.0, still_s: float = 0.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``n`` plausible samples: gravity plus a slow hinge (after ``still_s`` of standing
    still), times with a little jitter."""
    t = t0_s + np.arange(n) / rate_hz + g.uniform(0, 0.2 / rate_hz, n)
    moving = (t - t0_s) >= still_s
    phase = 2 * np.pi * 0.7 * (t - t0_s - still_s)
    tilt = np.where(moving, 0.6 * (1 - np.cos(phase)), 0.0)
    acc = np.column_stack(
        [G_MPS2 * np.sin(tilt), G_MPS2 * np.cos(tilt), 0.3 * np.sin(phase) * moving]
    ) + g.normal(0, 0.05, (n, 3))
    rate = np.where(moving, 0.6 * 2 * np.pi * 0.7 * np.sin(phase), 0.0)
    gyro = np.column_stack([rate, 0.02 * moving, 0.01 * moving])
    gyro += g.normal(0, 0.01, (n, 3))
    return t, acc, gyro


def _long(case: Case) -> bool:
    """A long recording that starts standing (the analysis targets want one)."""
    return bool(case.state.get("long"))


# --------------------------------------------------------------------------- text tables


def format_column(values: np.ndarray, spec: str) -> list[str]:
    """Each value as text (``%`` format ``spec``), formatted in one C-level call."""
    n = len(values)
    return ((spec + "\x00") * n % tuple(values.tolist())).split("\x00")[:n]


@dataclass
class TextTable:
    """A CSV-like table as strings, broken cell by cell before it is serialised."""

    header: list[str]
    rows: list[list[str]]
    delimiter: str = ","
    #: A valid row, to add back when the mutations removed them all.
    rows_template: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.rows and not self.rows_template:
            self.rows_template = list(self.rows[0])

    def to_bytes(self, rng: random.Random) -> bytes:
        d = self.delimiter
        r = rng.random()
        newline = "\n" if r < 0.85 else "\r\n" if r < 0.997 else "\r"
        lines = [d.join(self.header)] + [d.join(r) for r in self.rows]
        text = newline.join(lines) + (newline if rng.random() < 0.8 else "")
        if rng.random() < 0.05:
            text = "\ufeff" + text
        encoding = "utf-8"
        r = rng.random()
        if r < 0.02:
            encoding = "utf-16"
        elif r < 0.04:
            encoding = "latin-1"
        return text.encode(encoding, errors="replace")


def mutate_table(rng: random.Random, t: TextTable, time_cols: tuple[int, ...] = (0,)) -> None:
    """Break a table where a reader looks: cells, field counts, order, header, size."""
    rows = t.rows
    for _ in range(rng.choice((1, 1, 1, 1, 2, 3, 6))):
        op = rng.randrange(17)
        if not rows:
            rows.append(list(t.rows_template) if t.rows_template else ["0"])
            continue
        r = rng.randrange(len(rows))
        if op <= 2:  # one cell holds something else
            row = rows[r]
            if row:
                row[rng.randrange(len(row))] = rng.choice(EXTREME_TOKENS)
        elif op == 3:  # a row with a field too few or too many
            if rng.random() < 0.5 and rows[r]:
                rows[r].pop(rng.randrange(len(rows[r])))
            else:
                rows[r].insert(rng.randrange(len(rows[r]) + 1), rng.choice(("1", "", "x")))
        elif op == 4:  # every row has the same wrong number of fields
            cut = rng.random() < 0.5
            for row in rows:
                if cut and row:
                    row.pop()
                else:
                    row.append("0")
        elif op == 5:
            rows.insert(r, list(rows[r]))  # a repeated row
        elif op == 6:
            j = rng.randrange(len(rows))
            rows[r], rows[j] = rows[j], rows[r]
        elif op == 7:
            del rows[r : r + rng.randrange(1, 50)]
        elif op == 8:  # a clock jump (1e7 s, 1e15 s) or reversal in a time column
            c = rng.choice(time_cols)
            jump = rng.choice((1e3, 1e7, 1e15, -1e3, -1e7, 1e300, -0.001))
            for row in rows[r:]:
                if c < len(row):
                    with contextlib.suppress(ValueError):
                        row[c] = repr(float(row[c].replace(",", ".")) + jump)
        elif op == 9:  # header: a column lost, doubled, renamed or added
            h = t.header
            k = rng.randrange(len(h)) if h else 0
            choice = rng.randrange(4)
            if choice == 0 and h:
                h.pop(k)
            elif choice == 1 and h:
                h.insert(k, h[k])
            elif choice == 2 and h:
                h[k] = rng.choice((h[k].upper(), f" {h[k]} ", h[k][:-1], f'"{h[k]}"', ""))
            else:
                h.append(rng.choice(("extra", "time_s", "", "acc_x ")))
        elif op == 10:  # a wide header
            # 20 000 columns are rare: the header check is quadratic in the width.
            width = rng.choice((50, 500, 2000)) if rng.random() < 0.997 else 20000
            t.header.extend(f"c{i}" for i in range(width))
        elif op == 11:
            t.delimiter = rng.choice((";", "\t", " ", "|"))
        elif op == 12:  # quoted cells
            for row in rows[r : r + 20]:
                row[:] = [f'"{c}"' for c in row]
        elif op == 13:  # blank, comment and junk lines
            rows.insert(r, rng.choice(([""], ["# comment"], [" "], ["\x00\x00"], ['"'])))
        elif op == 14:  # the file ends inside a row
            del rows[r + 1 :]
            if rows[r]:
                cell = rows[r][-1]
                rows[r][-1] = cell[: rng.randrange(len(cell) + 1)]
                del rows[r][rng.randrange(len(rows[r])) + 1 :]
        elif op == 15:  # many rows of one value: long, flat or repeated timestamps
            rows.extend([list(rows[r]) for _ in range(rng.choice((10, 200, 2000)))])
        else:
            rows.clear()


# --------------------------------------------------------------------------- samples CSV


def samples_csv(case: Case) -> bytes:
    rng, g = case.rng, case.np_rng()
    placements = rng.choice((("lumbar",), ("sacrum",), ("lumbar", "sacrum")))
    rate = rng.choice((50.0, 100.0, 104.0, 208.0))
    n = rng.choice((2, 3, 10, 60, 150, 300)) if not _long(case) else rng.choice((1500, 3000))
    parts = []
    for p in placements:
        t0_s = rng.choice((0.0, -1.5, 1234.5, 0.02))
        t, acc, gyro = imu_motion(g, n, rate, t0_s, STILL_START_S if _long(case) else 0.0)
        if rng.random() < 0.1:
            acc /= G_MPS2  # written in g
        if rng.random() < 0.1:
            gyro *= 57.29577951308232  # written in deg/s
        parts.append((t, [p] * n, np.column_stack([acc, gyro])))
    t = np.concatenate([x[0] for x in parts])
    order = np.argsort(t, kind="stable")
    sensors = [s for x in parts for s in x[1]]
    values = np.concatenate([x[2] for x in parts])[order]
    header = list(COLUMNS)
    if rng.random() < 0.15:
        rng.shuffle(header)
    if rng.random() < 0.1:
        header.insert(rng.randrange(len(header) + 1), "temperature_c")
    fmt = rng.choice(("%.6f", "%.4f", "%.17g", "%.3e", "%.9g"))
    columns = {
        "time_s": format_column(t[order], "%.6f"),
        "sensor": [sensors[i] for i in order.tolist()],
        "temperature_c": ["21.5"] * len(t),
    }
    for k, c in enumerate(COLUMNS[2:]):
        columns[c] = format_column(values[:, k], fmt)
    table_rows = [list(r) for r in zip(*(columns[h] for h in header), strict=True)]
    table = TextTable(header, table_rows)
    if rng.random() < 0.7:
        mutate_table(rng, table, time_cols=(header.index("time_s"),))
    data = table.to_bytes(rng)
    return maybe_mutate(rng, data, 0.15)


# --------------------------------------------------------------------------- phone exports

#: Epoch nanoseconds of an export in 2024.
_EPOCH_NS = 1_710_000_000_000_000_000


def _sensor_logger_member(
    rng: random.Random, g: np.random.Generator, start_s: float, rate: float, values: np.ndarray
) -> TextTable:
    n = len(values)
    cols = ["time", "seconds_elapsed", "z", "y", "x"]
    if rng.random() < 0.2:
        rng.shuffle(cols)
    if rng.random() < 0.05:
        cols.remove(rng.choice(("time", "seconds_elapsed")))
    elapsed = start_s + np.arange(n) / rate + g.uniform(0, 0.1 / rate, n)
    cells = {
        "time": format_column(_EPOCH_NS + (elapsed * 1e9).astype(np.int64), "%d"),
        "seconds_elapsed": format_column(elapsed, "%.17g"),
        "x": format_column(values[:, 0], "%.17g"),
        "y": format_column(values[:, 1], "%.17g"),
        "z": format_column(values[:, 2], "%.17g"),
    }
    rows = [list(r) for r in zip(*(cells[c] for c in cols), strict=True)]
    return TextTable(cols, rows)


def _bundle_bytes(rng: random.Random, members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    method = rng.choice((zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED))
    prefix = rng.choice(("", "", "export/", "a/b/", "__MACOSX/"))
    with zipfile.ZipFile(buf, "w", method) as z:
        for name, data in members.items():
            z.writestr(prefix + name, data)
        if rng.random() < 0.05:
            z.writestr("notes.txt", b"x")
        if rng.random() < 0.002:  # many members (each sniffed and read)
            for i in range(rng.choice((20, 150))):
                z.writestr(f"junk/{i}.csv", b"a,b\n1,2\n")
    return buf.getvalue()


@dataclass
class PhoneExport:
    """An export as members (name -> bytes); ``single`` when it is one table file."""

    members: dict[str, bytes]
    single: bool = False


def sensor_logger_export(case: Case) -> PhoneExport:
    rng, g = case.rng, case.np_rng()
    n = rng.choice((2, 5, 40, 150, 300))
    rate = rng.choice((50.0, 100.0, 200.0))
    _, acc, gyro = imu_motion(g, n, rate)
    start_s = rng.choice((0.0, -0.5, 3.0))
    members = {"Gyroscope.csv": _sensor_logger_member(rng, g, start_s, rate, gyro)}
    platform = rng.choice(("android", "ios", "ios"))
    if platform == "android":
        members["TotalAcceleration.csv"] = _sensor_logger_member(rng, g, start_s, rate, acc)
    else:
        gravity = acc * 0.98
        members["Accelerometer.csv"] = _sensor_logger_member(
            rng, g, start_s, rate, -(acc - gravity)
        )
        members["Gravity.csv"] = _sensor_logger_member(rng, g, start_s, rate, -gravity)
    meta = TextTable(
        ["version", "device name", "recording time", "platform", "appVersion", "standardisation"],
        [["3", "Pixel\x1b[2J 7", "2024-03-09", platform, "1.30", rng.choice(("true", "false"))]],
    )
    if rng.random() < 0.9:
        members["Metadata.csv"] = meta
    for name, table in list(members.items()):
        if rng.random() < 0.5:
            mutate_table(rng, table, time_cols=(0, 1))
        if rng.random() < 0.03:
            del members[name]
    out = {name: maybe_mutate(rng, t.to_bytes(rng), 0.08) for name, t in members.items()}
    if rng.random() < 0.05:
        renamed = {}
        for name, data in out.items():
            renamed[rng.choice((name.lower(), name.upper(), "." + name, name + ".bak"))] = data
        out = renamed
    if rng.random() < 0.04:  # one member only: the importer says to give the whole export
        name = rng.choice(sorted(out))
        return PhoneExport({name: out[name]}, single=True)
    return PhoneExport(out)


_PHYPHOX_ACC = ("Acceleration", "m/s^2")
_PHYPHOX_GYRO = ("Gyroscope", "rad/s")


def _phyphox_table(
    rng: random.Random,
    blocks: list[tuple[str, str | None, np.ndarray, np.ndarray]],
    delimiter: str,
    shared_time: bool = False,
) -> TextTable:
    """Columns ``Time (s)`` then x/y/z per block (one ``Time`` for all when
    ``shared_time``); decimal comma unless comma-delimited."""
    header: list[str] = []
    columns: list[np.ndarray] = []
    for k, (kind, unit, t, v) in enumerate(blocks):
        if k == 0 or not shared_time:
            header.append('"Time (s)"')
            columns.append(t)
        for k, axis in enumerate("xyz"):
            header.append(f'"{kind} {axis}' + (f" ({unit})" if unit is not None else "") + '"')
            columns.append(v[:, k])
    n = min(len(c) for c in columns)
    comma = delimiter != "," and rng.random() < 0.7
    text = [format_column(c[:n], "%.9E") for c in columns]
    if comma:
        text = [[x.replace(".", ",") for x in c] for c in text]
    rows = [list(r) for r in zip(*text, strict=True)]
    return TextTable(header, rows, delimiter)


def phyphox_export(case: Case) -> PhoneExport:
    rng, g = case.rng, case.np_rng()
    n = rng.choice((2, 5, 40, 150, 300))
    rate = rng.choice((100.0, 200.0, 400.0))
    t, acc, gyro = imu_motion(g, n, rate)
    t_gyro = t + rng.choice((0.0, 0.001, 0.5))
    acc_kind, acc_unit = _PHYPHOX_ACC
    gyro_kind, gyro_unit = _PHYPHOX_GYRO
    if rng.random() < 0.1:
        acc_unit, acc = "g", acc / G_MPS2
    if rng.random() < 0.1:
        gyro_unit, gyro = rng.choice(("deg/s", "°/s")), gyro * 57.29577951308232
    if rng.random() < 0.05:
        acc_unit = rng.choice((None, "furlong/fortnight", "", "m/s²"))
    if rng.random() < 0.03:
        acc_kind = "Linear Acceleration"
    delimiter = rng.choice((",", ",", "\t", ";"))
    acc_block = (acc_kind, acc_unit, t, acc)
    gyro_block = (gyro_kind, gyro_unit, t_gyro, gyro)
    if rng.random() < 0.4:
        # One table of both sensors: on one time base, or each with its own Time column.
        shared = rng.random() < 0.6
        if shared:
            gyro_block = (gyro_kind, gyro_unit, t, gyro)
        blocks = [acc_block, gyro_block]
        tables = {"Raw Data.csv": _phyphox_table(rng, blocks, delimiter, shared)}
    else:
        tables = {
            "Accelerometer.csv": _phyphox_table(rng, [acc_block], delimiter),
            "Gyroscope.csv": _phyphox_table(rng, [gyro_block], delimiter),
        }
    for table in tables.values():
        if rng.random() < 0.5:
            mutate_table(rng, table, time_cols=(0,))
    out = {name: maybe_mutate(rng, t.to_bytes(rng), 0.08) for name, t in tables.items()}
    if len(out) == 1 and rng.random() < 0.6:
        return PhoneExport(out, single=True)
    return PhoneExport(out)


def write_phone_export(case: Case, export: PhoneExport) -> Path:
    """The export on disk as the user would give it: one file, a zip, or a folder."""
    rng = case.rng
    if export.single:
        (name, data), *_ = export.members.items()
        path = case.workdir / name
        path.write_bytes(data)
        case.inputs[name] = data
        return path
    if rng.random() < 0.15:
        folder = case.workdir / "export"
        for name, data in export.members.items():
            sub = folder / rng.choice(("", "", "inner"))
            sub.mkdir(parents=True, exist_ok=True)
            (sub / name).write_bytes(data)
            case.inputs[f"export/{name}"] = data
        return folder
    data = _bundle_bytes(rng, export.members)
    data = maybe_mutate(rng, data, 0.15)
    path = case.workdir / rng.choice(("export.zip", "export.csv", "export"))
    path.write_bytes(data)
    case.inputs[path.name] = data
    return path


# --------------------------------------------------------------------------- native format


@dataclass(frozen=True)
class RawJson:
    """JSON text inserted as is (what no encoder would write)."""

    text: str


def dump_json(obj: object) -> str:
    """JSON with `RawJson` pieces; NaN and infinity written as Python's json writes them."""
    if isinstance(obj, RawJson):
        return obj.text
    if isinstance(obj, dict):
        return "{" + ",".join(f"{json.dumps(str(k))}:{dump_json(v)}" for k, v in obj.items()) + "}"
    if isinstance(obj, list):
        return "[" + ",".join(dump_json(v) for v in obj) + "]"
    return json.dumps(obj)


def _hostile_value(rng: random.Random) -> object:
    r = rng.random()
    if r < 0.6:
        return copy.deepcopy(rng.choice(HOSTILE_JSON))  # _break_json may edit it later
    if r < 0.85:
        return RawJson(rng.choice(RAW_JSON))
    return RawJson(deep_json(rng))


def _break_json(rng: random.Random, obj: dict) -> None:
    """Replace one value somewhere in ``obj`` (or add a key) with a hostile value."""
    node: dict = obj
    while True:
        keys = list(node)
        if not keys or rng.random() < 0.15:
            node[rng.choice(("extra", "model", "0", ""))] = _hostile_value(rng)
            return
        k = rng.choice(keys)
        if isinstance(node[k], dict) and node[k] and rng.random() < 0.7:
            node = node[k]
            continue
        node[k] = _hostile_value(rng)
        return


def _json_payload(rng: random.Random, obj: dict) -> bytes:
    r = rng.random()
    if r < 0.35:
        for _ in range(rng.choice((1, 1, 2, 4))):
            _break_json(rng, obj)
    elif r < 0.38:
        return RawJson(
            rng.choice((*RAW_JSON, "[1,2]", '"s"', "null", "", "{", "\xff"))
        ).text.encode("utf-8", errors="surrogatepass")
    elif r < 0.40:
        return deep_json(rng).encode()
    elif r < 0.41:
        return b"\xff\xfe" + json.dumps(obj).encode()
    return dump_json(obj).encode("utf-8", errors="surrogatepass")


def _header_obj(rng: random.Random, placements: tuple[str, ...]) -> dict:
    devices = {}
    for p in placements:
        d = DeviceInfo(
            model=rng.choice(("LTRK1A2B", "Polar Sense 1A2B3C4D", "Movesense 1744")),
            firmware=rng.choice((None, "1.2.0")),
            protocol=rng.choice((None, "tracker_imu", "polar_pmd", "movesense")),
            address=rng.choice((None, "AA:BB:CC:DD:EE:FF")),
            sample_rate_hz=rng.choice((None, 104.0, 208.0)),
            acc_range_g=rng.choice((None, 8.0, 16.0)),
            gyro_range_dps=rng.choice((None, 1000.0, 2000.0)),
        )
        devices[p] = asdict(d)
    notes = asdict(
        SessionNotes(
            exercise=rng.choice((None, "deadlift", "kettlebell_swing", "unknown", "bogus")),
            load_kg=rng.choice((None, 0.0, 24.0, 100.5)),
            text=rng.choice((None, "", "heavy day", "\x1b[31mred\x1b[0m")),
        )
    )
    return {
        "created_utc": rng.choice(("2024-03-09T10:00:00Z", None, "yesterday")),
        "devices": devices,
        "notes": notes,
        "meta": rng.choice(({}, {"source": "fuzz"}, {"k": [1, 2]})),
    }


def _str8_raw(rng: random.Random, text: str) -> bytes:
    r = rng.random()
    if r < 0.9:
        raw = text.encode()
    elif r < 0.93:
        raw = b"\xff\xfe"
    elif r < 0.96:
        raw = rng.choice((b"", b"LUMBAR", b"lumbar\x00", b"hip", b"x" * 255))
    else:  # a length that runs past the record
        return bytes([255]) + text.encode()
    return bytes([len(raw)]) + raw


def _samples_payload(
    rng: random.Random, placement: str, t: np.ndarray, acc: np.ndarray, gyro: np.ndarray
) -> bytes:
    t, acc, gyro = t.copy(), acc.copy(), gyro.copy()
    n = len(t)
    if rng.random() < 0.15 and n:  # hostile values
        arr = rng.choice((t, acc, gyro))
        flat = arr.reshape(-1)
        value = rng.choice(
            (math.nan, math.inf, -math.inf, 1e308, -1e308, 5e-324, 1e15, -1e15, 1e7, 0.0)
        )
        if rng.random() < 0.5:
            flat[rng.randrange(len(flat))] = value
        else:
            flat[rng.randrange(len(flat)) :] = value
    if rng.random() < 0.05 and n > 1:  # times out of order
        i = rng.randrange(n - 1)
        t[i], t[i + 1] = t[i + 1], t[i]
    if rng.random() < 0.9:
        count = n
    else:
        count = rng.choice((0, n + 1, max(0, n - 1), 0xFFFFFFFF, 1 << 31, n * 2))
    body = b"".join(np.ascontiguousarray(a, dtype="<f8").tobytes() for a in (t, acc, gyro))
    if count == n and rng.random() < 0.7:
        return native._encode_samples(placement, t, acc, gyro)
    return _str8_raw(rng, placement) + struct.pack("<I", count) + body


def _packets_payload(rng: random.Random, placement: str) -> bytes:
    n = rng.choice((0, 1, 3, 10))
    packets = [
        RawPacket(
            placement,
            rng.choice(("tracker_imu", "polar_pmd", "movesense")),
            0.01 * i,
            rng.choice((None, 12.5 + 0.01 * i)),
            rng.randbytes(rng.randrange(0, 40)),
        )
        for i in range(n)
    ]
    if rng.random() < 0.8:
        return native._encode_packets(placement, packets[0].protocol if packets else "x", packets)
    claimed = rng.choice((0xFFFFFFFF, n + 1, 1 << 28))
    return _str8_raw(rng, placement) + _str8_raw(rng, "tracker_imu") + struct.pack("<I", claimed)


def native_records(case: Case) -> list[tuple[int, bytes]]:
    """A recording's records (type, payload), valid and then broken in its content."""
    rng, g = case.rng, case.np_rng()
    placements = rng.choice((("lumbar",), ("sacrum",), ("lumbar", "sacrum")))
    header = _header_obj(rng, placements)
    records: list[tuple[int, bytes]] = [(framing.HEADER, _json_payload(rng, header))]
    rate = rng.choice((52.0, 104.0, 208.0))
    for p in placements:
        n_total = rng.choice((2, 10, 100, 400)) if not _long(case) else rng.choice((1500, 3000))
        t0_s = rng.choice((0.0, 100.0, -5.0))
        t, acc, gyro = imu_motion(g, n_total, rate, t0_s, STILL_START_S if _long(case) else 0.0)
        cuts = sorted(rng.sample(range(1, n_total), min(n_total - 1, rng.randrange(0, 4))))
        for a, b in zip([0, *cuts], [*cuts, n_total], strict=True):
            records.append((framing.SAMPLES, _samples_payload(rng, p, t[a:b], acc[a:b], gyro[a:b])))
        if rng.random() < 0.3:
            records.append((framing.PACKETS, _packets_payload(rng, p)))
        if rng.random() < 0.3:
            gap = {"placement": p, "start_s": 0.5, "end_s": 0.7, "reason": "disconnected"}
            records.append((framing.GAP, _json_payload(rng, gap)))
    if rng.random() < 0.3:
        notes = {"exercise": "squat", "load_kg": 60.0, "text": "later"}
        records.append((framing.NOTES, _json_payload(rng, notes)))
    if rng.random() < 0.85:
        records.append((framing.END, b""))
    # Order and kind of records: what no writer does.
    r = rng.random()
    if r < 0.05:
        rng.shuffle(records)
    elif r < 0.10 and len(records) > 2:
        i, j = rng.randrange(len(records)), rng.randrange(len(records))
        records[i], records[j] = records[j], records[i]
    elif r < 0.13:
        records.insert(rng.randrange(1, len(records) + 1), records[0])  # a second header
    elif r < 0.16:
        records.pop(0)
    elif r < 0.19:
        records.insert(rng.randrange(len(records) + 1), (rng.choice((0, 7, 99, 255)), b"?"))
    elif r < 0.21:
        records.insert(rng.randrange(1, len(records) + 1), (framing.END, b"tail"))
    elif r < 0.23:
        records[0] = (framing.HEADER, b"")
    return records


def native_file(case: Case) -> bytes:
    rng = case.rng
    preamble = framing.encode_preamble()
    r = rng.random()
    if r < 0.02:
        preamble = struct.pack("<8sHH4x", framing.MAGIC, rng.choice((2, 0xFFFF)), 0)
    elif r < 0.04:
        preamble = struct.pack("<8sHH4x", framing.MAGIC, 1, rng.choice((1, 0xFFFF)))
    elif r < 0.05:
        preamble = preamble[: rng.randrange(len(preamble))]
    data = preamble + b"".join(framing.encode_record(t, p) for t, p in native_records(case))
    if rng.random() < 0.25:
        data = mutate_bytes(rng, data)
    return data


# --------------------------------------------------------------------------- file targets


def _fresh_workdir(workdir: Path) -> None:
    for child in workdir.iterdir():
        if child.is_dir():
            shutil.rmtree(child)
        else:
            child.unlink()


def check_recording(rec: object) -> None:
    """What the analysis and the writers rely on in a loaded recording."""
    sensors = rec.sensors  # type: ignore[attr-defined]
    if not sensors:
        raise InvariantError("a recording without samples was returned")
    for p, s in sensors.items():
        if p not in PLACEMENTS or s.placement != p:
            raise InvariantError(f"samples under placement {p!r} ({s.placement!r})")
        if len(s) == 0:
            raise InvariantError(f"{p}: an empty sensor was returned")
        if not (
            np.isfinite(s.time_s).all()
            and np.isfinite(s.acc_mps2).all()
            and np.isfinite(s.gyro_rad_s).all()
        ):
            raise InvariantError(f"{p}: non-finite samples were returned")
        if len(s) > 1 and not (np.diff(s.time_s) > 0).all():
            raise InvariantError(f"{p}: sample times do not increase")


def read_like_the_cli(case: Case, path: Path, *, placement: str | None) -> None:
    """What ``tracker info`` and ``tracker convert`` do with a file, in process."""
    rng = case.rng
    units = ("mps2", "rad_s")
    if rng.random() < 0.06:  # units declared for a text import (refused for the others)
        units = rng.choice((("g", "rad_s"), ("mps2", "dps"), ("g", "dps")))
    recover = rng.random() < 0.5
    try:
        rec = load_recording(
            path, recover=recover, acc_unit=units[0], gyro_unit=units[1], placement=placement
        )
    except CorruptRecordingError as exc:
        if exc.recovered is not None:
            describe(exc.recovered)  # type: ignore[arg-type]
        raise
    check_recording(rec)
    describe(rec)
    if rng.random() < 0.15:  # convert, then read the result back
        out = case.workdir / rng.choice(("out.csv", "out.trk"))
        save_recording(rec, out)
        again = load_recording(out)
        check_recording(again)
        describe(again)


def target_native(case: Case) -> None:
    data = native_file(case)
    path = case.workdir / case.rng.choice(("rec.trk", "rec.csv", "rec"))
    path.write_bytes(data)
    case.inputs[path.name] = data
    r = case.rng.random()
    if r < 0.1:
        read_native_info(path)
    elif r < 0.2:
        for _ in iter_packets(path, recover=case.rng.random() < 0.5):
            pass
    else:
        read_like_the_cli(case, path, placement=None)


def target_samples_csv(case: Case) -> None:
    data = samples_csv(case)
    path = case.workdir / case.rng.choice(("samples.csv", "samples.txt", "samples"))
    path.write_bytes(data)
    case.inputs[path.name] = data
    read_like_the_cli(case, path, placement=None)


def _phone_target(make: Callable[[Case], PhoneExport]) -> Callable[[Case], None]:
    def run(case: Case) -> None:
        path = write_phone_export(case, make(case))
        placement = case.rng.choice(("lumbar", "sacrum") * 10 + (None, "hip"))
        read_like_the_cli(case, path, placement=placement)

    return run


target_sensor_logger = _phone_target(sensor_logger_export)
target_phyphox = _phone_target(phyphox_export)


def target_export(case: Case) -> None:
    """What ``tracker export RECORDING -o OUT.csv`` does: load, analyse, write the reps."""
    from tracker.analysis.settings import AnalysisSettings
    from tracker.app.export import ExportOptions, export_recording

    rng = case.rng
    case.state["long"] = 1
    data = native_file(case) if rng.random() < 0.5 else samples_csv(case)
    path = case.workdir / "recording"
    path.write_bytes(data)
    case.inputs[path.name] = data
    export_recording(path, case.workdir / "reps.csv", ExportOptions(AnalysisSettings()))


# --------------------------------------------------------------------------- BLE harness


class FakeDevice:
    """The `GattIO` a protocol starts against: answers commands with ``respond(data)``
    (a list of (characteristic, notification)), reads with ``read(char)``."""

    def __init__(
        self,
        respond: Callable[[bytes], list[tuple[str, bytes]]],
        read: Callable[[str], bytes],
        mtu: int,
    ) -> None:
        self._respond = respond
        self._read = read
        self._mtu = mtu
        self.callbacks: dict[str, Callable[[bytes], None]] = {}
        self.writes: list[bytes] = []

    async def write(self, char_uuid: str, data: bytes, *, response: bool) -> None:
        self.writes.append(bytes(data))
        for char, note in self._respond(bytes(data)):
            if char in self.callbacks:
                self.callbacks[char](note)

    async def read(self, char_uuid: str) -> bytes:
        return self._read(char_uuid)

    async def subscribe(self, char_uuid: str, callback: Callable[[bytes], None]) -> None:
        self.callbacks[char_uuid] = callback

    def mtu(self) -> int:
        return self._mtu


@contextlib.contextmanager
def _unanswered_commands_fail_at_once() -> Iterator[None]:
    # A command whose answer was garbled or never came times out; without a radio there
    # is nothing to wait for, so the timeout is immediate (an answer given during the
    # write is already queued and still read).
    saved = hp.COMMAND_TIMEOUT_S
    hp.COMMAND_TIMEOUT_S = 0.0
    try:
        yield
    finally:
        hp.COMMAND_TIMEOUT_S = saved


def _answers(
    case: Case, answer: list[tuple[str, bytes]], p_break: float
) -> list[tuple[str, bytes]]:
    """A device's answers to one command, sometimes lost, doubled or damaged."""
    rng = case.rng
    if rng.random() >= p_break:
        return answer
    r = rng.random()
    if r < 0.15:
        return []
    if r < 0.25:
        return answer + answer
    return [(c, mutate_bytes(rng, note)) for c, note in answer]


def _check_packet(packet: DecodedPacket) -> None:
    t = np.asarray(packet.device_time_s)
    n = len(t)
    if t.ndim != 1 or not np.issubdtype(t.dtype, np.floating) or not np.isfinite(t).all():
        raise InvariantError(f"decoded times are not finite floats: {t!r}")
    if n > 1 and not (np.diff(t) > 0).all():
        raise InvariantError("decoded sample times do not increase within a packet")
    for name in ("acc_mps2", "gyro_rad_s"):
        v = getattr(packet, name)
        if v is None:
            continue
        v = np.asarray(v)
        if v.shape != (n, 3) or not np.isfinite(v).all():
            raise InvariantError(f"decoded {name} has shape {v.shape} or non-finite values")


class _CheckedProtocol:
    """Wraps a protocol so that the session's own error handling cannot hide a decoder
    raising something other than its decode error, or returning unusable packets."""

    def __init__(self, protocol: hp.HostProtocol) -> None:
        self._p = protocol
        self.seq_modulus = protocol.seq_modulus
        self.escaped: BaseException | None = None

    def payload_time_s(self, payload: bytes) -> float | None:
        value = self._p.payload_time_s(payload)
        if value is not None and not math.isfinite(value):
            raise InvariantError(f"payload time {value!r}")
        return value

    def decode(self, char_uuid: str, payload: bytes) -> list[DecodedPacket]:
        try:
            packets = self._p.decode(char_uuid, payload)
        except TrackerError:
            raise
        except BaseException as exc:
            self.escaped = exc
            raise
        for packet in packets:
            _check_packet(packet)
        return packets

    def reset(self) -> None:
        self._p.reset()


def _new_link(loop: asyncio.AbstractEventLoop, kind: str):  # -> SensorLink
    from tracker.devices.ble import SensorLink  # imports bleak: only for the BLE targets

    async def make():
        return SensorLink("lumbar", "fuzz", emit=lambda _item: None, kind=kind)

    return loop.run_until_complete(make())


def run_stream(
    case: Case,
    kind: str,
    protocol: hp.HostProtocol,
    device: FakeDevice,
    config: StreamConfig,
    payloads: Callable[[], Iterator[tuple[str, bytes]]],
) -> None:
    """Start ``protocol`` against ``device``, feed the payloads through the session's
    per-payload step, then stop. Every payload is also kept in ``case.inputs``."""
    loop = asyncio.new_event_loop()
    try:
        _run_stream(case, loop, kind, protocol, device, config, payloads)
    finally:
        loop.close()


def _run_stream(
    case: Case,
    loop: asyncio.AbstractEventLoop,
    kind: str,
    protocol: hp.HostProtocol,
    device: FakeDevice,
    config: StreamConfig,
    payloads: Callable[[], Iterator[tuple[str, bytes]]],
) -> None:
    rng = case.rng
    received: list[tuple[str, bytes]] = []
    with _unanswered_commands_fail_at_once():
        try:
            loop.run_until_complete(
                protocol.start(device, config, lambda c, p: received.append((c, p)))
            )
        except TrackerError:
            if rng.random() < 0.7:
                raise
            # A session can still get data after a failed start (the device streams on).
    link = _new_link(loop, kind)
    checked = _CheckedProtocol(protocol)
    link._protocol = checked  # the link's decode step, without a connection
    link._seq.modulus = protocol.seq_modulus
    notes: list[str] = []
    case.inputs["notifications"] = notes
    arrival_s = link._origin_s
    received.clear()
    for char, payload in payloads():
        notes.append(f"{char[:8]} {payload.hex()}")
        arrival_s += rng.choice((0.0, 0.01, 0.02, 0.1, 5.0))
        # Delivered as bleak does: to the protocol's subscription callback, which hands
        # data to the session (``received``) and keeps control answers and events itself.
        if char in device.callbacks:
            device.callbacks[char](payload)
        while received:
            data_char, data = received.pop(0)
            block = link._process(arrival_s, data_char, data)
            if checked.escaped is not None:
                raise checked.escaped
            if block is not None:
                check_recording(type("R", (), {"sensors": {"lumbar": block}})())
        if rng.random() < 0.02:
            protocol.reset()  # a reconnect
    with _unanswered_commands_fail_at_once():
        loop.run_until_complete(protocol.stop(device))


def _config(rng: random.Random) -> StreamConfig:
    if rng.random() < 0.85:
        return StreamConfig(sample_rate_hz=rng.choice((None, None, 104.0, 208.0, 52.0)))
    return StreamConfig(
        sample_rate_hz=rng.choice((None, 0.1, 1e9, -5.0, math.nan, 26.0, 1000.0)),
        acc_range_g=rng.choice((None, 2.0, 8.0, 3.0, 16.0)),
        gyro_range_dps=rng.choice((None, 2000.0, 250.0, 7.0)),
    )


def _mtu(rng: random.Random) -> int:
    return rng.choice((23, 27, 31, 65, 100, 161, 185, 247, 247, 517))


# --------------------------------------------------------------------------- tracker_imu


def _imu_data(case: Case, rate_hz: float, acc_g: int, gyro_dps: int, per: int) -> bytes:
    """One data packet: valid from the encoder, then broken in its fields."""
    rng = case.rng
    n = max(1, min(imu.MAX_SAMPLES_PER_PACKET, per + rng.choice((0, 0, 0, -1, 1, 10))))
    counts = case.np_rng().integers(-32768, 32768, (n, 6), dtype=np.int64)
    t0_us = case.state["t_us"] % imu.DEVICE_CLOCK_WRAP_US
    case.state["t_us"] += int(n * 1e6 / rate_hz) + rng.choice((0, 0, 0, 10, -5000, 1 << 31))
    case.state["seq"] = (case.state["seq"] + rng.choice((1, 1, 1, 1, 2, 0, 200))) % 256
    payload = bytearray(
        imu.encode_data_packet(
            seq=case.state["seq"],
            t0_us=t0_us,
            sample_rate_hz=rate_hz,
            acc_range_g=acc_g,
            gyro_range_dps=gyro_dps,
            acc_counts=counts[:, :3],
            gyro_counts=counts[:, 3:],
        )
    )
    r = rng.random()
    if r < 0.05:  # count field says otherwise
        rc = int.from_bytes(payload[6:8], "little") & imu.MAX_RATE_QHZ
        payload[6:8] = (rc | rng.randrange(32) << 11).to_bytes(2, "little")
    elif r < 0.08:  # rate field at its edges
        rc = int.from_bytes(payload[6:8], "little") & ~imu.MAX_RATE_QHZ
        payload[6:8] = (rc | rng.choice((0, 1, imu.MAX_RATE_QHZ))).to_bytes(2, "little")
    elif r < 0.10:  # version and range bits
        payload[0] = rng.randrange(256)
    elif r < 0.13:
        payload = payload[: rng.randrange(len(payload) + 1)]
    elif r < 0.15:
        payload += rng.randbytes(rng.choice((1, 12, 200)))
    return maybe_mutate(rng, bytes(payload), 0.1)


def _imu_control_note(rng: random.Random) -> bytes:
    options = [
        imu.encode_overflow_event(rng.choice((0, 5, 0xFFFFFFFF))),
        imu.encode_stream_stopped_event(rng.choice(list(imu.StopReason))),
        bytes((imu.EVENT_MARKER, rng.randrange(256))) + rng.randbytes(rng.randrange(6)),
        bytes((imu.RESPONSE_MARKER, rng.randrange(256), rng.randrange(256)))
        + rng.randbytes(rng.randrange(12)),
        rng.randbytes(rng.randrange(4)),
    ]
    return maybe_mutate(rng, rng.choice(options), 0.2)


def _imu_responder(case: Case, state: dict) -> Callable[[bytes], list[tuple[str, bytes]]]:
    rng = case.rng
    cp = imu.CONTROL_CHAR_UUID

    def respond(data: bytes) -> list[tuple[str, bytes]]:
        try:
            cmd = imu.decode_command(data)
        except imu.CommandError as exc:
            return [(cp, imu.encode_response(exc.opcode, exc.status))]
        op = cmd.opcode
        if rng.random() < 0.05:  # the answer to another command, or a refusal
            op = rng.choice(list(imu.Opcode))
        if rng.random() < 0.03:
            return [(cp, imu.encode_response(op, rng.choice(list(imu.Status)[1:])))]
        if cmd.sample_rate_hz is not None:
            state["rate"] = cmd.sample_rate_hz
        if cmd.acc_range_g is not None:
            state["acc"], state["gyro"] = cmd.acc_range_g, cmd.gyro_range_dps
        per = imu.samples_per_notification(_mtu_of(state) - 3, state["rate"])
        state["per"] = per
        value: object = None
        if op is imu.Opcode.START:
            value = imu.StreamConfig(state["rate"], state["acc"], state["gyro"], per)
        elif op is imu.Opcode.SET_RATE:
            value = state["rate"]
        elif op is imu.Opcode.SET_RANGE:
            value = (state["acc"], state["gyro"])
        elif op is imu.Opcode.GET_STATUS:
            value = imu.DeviceStatus(False, state["rate"], state["acc"], state["gyro"], per, 0)
        note = imu.encode_response(op, imu.Status.OK, value)  # type: ignore[arg-type]
        return _answers(case, [(cp, note)], 0.1)

    return respond


def _mtu_of(state: dict) -> int:
    return state["mtu"]


def target_tracker_imu(case: Case) -> None:
    rng = case.rng
    mtu = _mtu(rng)
    state = {"rate": rng.choice((52.0, 104.0, 208.0, 416.0)), "acc": 8, "gyro": 1000, "mtu": mtu}
    device = FakeDevice(_imu_responder(case, state), lambda _c: b"", max(mtu, 23))
    case.state["t_us"] = rng.choice((0, 1 << 20, imu.DEVICE_CLOCK_WRAP_US - 30000))
    case.state["seq"] = rng.randrange(256)
    protocol = hp.TrackerImuProtocol()

    def payloads() -> Iterator[tuple[str, bytes]]:
        for _ in range(rng.choice((1, 3, 8, 25))):
            if rng.random() < 0.08:
                yield imu.CONTROL_CHAR_UUID, _imu_control_note(rng)
                continue
            if rng.random() < 0.03:
                with contextlib.suppress(TrackerError):
                    imu.decode_battery_level(rng.randbytes(rng.randrange(3)))
            yield (
                imu.DATA_CHAR_UUID,
                _imu_data(case, state["rate"], state["acc"], state["gyro"], state.get("per", 4)),
            )

    run_stream(case, imu.PROTOCOL_NAME, protocol, device, _config(rng), payloads)


# --------------------------------------------------------------------------- polar_pmd


def _hostile_settings(rng: random.Random) -> bytes:
    """A settings TLV list no device should send."""
    out = bytearray()
    for _ in range(rng.choice((1, 2, 4))):
        type_id = rng.choice((0, 1, 2, 3, 4, 5, 5, 6, 7, 0xFF))
        count = rng.choice((0, 1, 2, 255))
        width = {0: 2, 1: 2, 2: 2, 3: 4, 4: 1, 5: 4, 6: 16}.get(type_id, 2)
        out += bytes((type_id, count))
        if type_id == 5:
            factor = rng.choice(
                (math.nan, math.inf, 0.0, -0.0, 1e-45, 3.4e38, -1.0, 1.0, 0.5, 1e-30)
            )
            out += struct.pack("<f", factor) * count
        else:
            value = rng.choice(INTERESTING_INTS) % (1 << (8 * width))
            out += value.to_bytes(width, "little") * rng.choice((count, max(0, count - 1)))
    return bytes(out)


def _pmd_settings_answer(rng: random.Random, op: int, mtype: int, params: bytes) -> list[bytes]:
    if rng.random() < 0.1:
        params = _hostile_settings(rng)
    if rng.random() < 0.15 and len(params) > 2:  # split over several notifications
        cut = rng.randrange(1, len(params))
        return [
            pmd.encode_response(op, mtype, 0, params[:cut], more=True),
            pmd.encode_response(op, mtype, 0, params[cut:], more=rng.random() < 0.1),
        ]
    return [pmd.encode_response(op, mtype, 0, params)]


def _pmd_responder(case: Case, state: dict) -> Callable[[bytes], list[tuple[str, bytes]]]:
    rng = case.rng
    cp = pmd.PMD_CONTROL_POINT_UUID
    available = dict(pmd.VERITY_SENSE_SDK_MODE_SETTINGS)

    def respond(data: bytes) -> list[tuple[str, bytes]]:
        cmd = pmd.decode_command(data)
        op, mtype = cmd.op, cmd.measurement_type or 0
        if rng.random() < 0.04:
            op, mtype = rng.randrange(8), rng.randrange(16)
        if rng.random() < 0.03:
            status = rng.choice((1, 3, 5, 6, 8, 200))
            return [(cp, pmd.encode_response(op, mtype, status))]
        if op in (1, 4) and mtype in available:
            notes = _pmd_settings_answer(rng, op, mtype, pmd.encode_settings(available[mtype]))
        elif op == 2 and mtype in (pmd.MeasurementType.ACC, pmd.MeasurementType.GYRO):
            if cmd.settings.sample_rates_hz:
                state["rate"] = cmd.settings.sample_rates_hz[0]
            factor = rng.choice((None, 1.0, 0.01, 2.44e-4, 1e30, 1e-30))
            state.setdefault("factor", {})[mtype] = factor
            params = pmd.encode_settings(pmd.PmdSettings(factor=factor))
            if rng.random() < 0.05:
                params = _hostile_settings(rng)
            notes = [pmd.encode_response(op, mtype, 0, params)]
        else:
            notes = [pmd.encode_response(op, mtype, 0)]
        return _answers(case, [(cp, n) for n in notes], 0.08)

    return respond


def _pmd_features(rng: random.Random) -> bytes:
    types = {pmd.MeasurementType.ACC, pmd.MeasurementType.GYRO, pmd.MeasurementType.SDK_MODE}
    if rng.random() < 0.05:
        types.discard(rng.choice(sorted(types)))
    data = pmd.encode_features(types)
    return maybe_mutate(rng, data, 0.05)


def _delta_blocks(rng: random.Random, value_bytes: int) -> bytes:
    """A compressed frame's content with delta blocks of extreme widths and counts."""
    out = bytearray(rng.randbytes(3 * value_bytes))
    for _ in range(rng.choice((1, 1, 2, 5))):
        bits = rng.choice((0, 1, 2, 7, 8, 15, 16, 17, 31, 32, 33, 64, 128, 255))
        count = rng.choice((0, 1, 2, 10, 50, 255))
        nbytes = (bits * count * 3 + 7) // 8
        if rng.random() < 0.2:
            nbytes = max(0, nbytes + rng.choice((-1, 1, -nbytes)))
        out += bytes((bits, count)) + rng.randbytes(min(nbytes, 600))
    return bytes(out)


def _pmd_frame(case: Case, mtype: int, state: dict, t_ns: int) -> bytes:
    rng = case.rng
    frame_types = pmd.SUPPORTED_FRAME_TYPES[pmd.MeasurementType(mtype)]
    frame_type = rng.choice(frame_types)
    factor = state.get("factor", {}).get(mtype)
    r = rng.random()
    if r < 0.12:  # hand-built compressed content
        fmt_bytes = {0x80: 2, 0x81: 2 if mtype == pmd.MeasurementType.ACC else 4}
        frame_type = rng.choice((0x80, 0x81))
        head = bytes((mtype,)) + t_ns.to_bytes(8, "little") + bytes((frame_type,))
        return (head + _delta_blocks(rng, fmt_bytes[frame_type]))[: pmd.MAX_PAYLOAD_BYTES + 4]
    if r < 0.16:  # frame and measurement types nobody decodes
        head = bytes((rng.choice((0, 1, 3, 6, 63, 0xC2, mtype)),)) + t_ns.to_bytes(8, "little")
        return head + bytes((rng.choice((0x03, 0x7F, 0xFF, 0x82, 0x01)),)) + rng.randbytes(30)
    n = rng.choice((1, 2, 10, 20, 36))
    values = (
        case.np_rng().normal(0, 5, (n, 3))
        if mtype == pmd.MeasurementType.GYRO
        else (case.np_rng().normal(0, 2, (n, 3)) + np.array([0, G_MPS2, 0]))
    )
    if rng.random() < 0.05:
        values[rng.randrange(n)] = rng.choice((1e30, -1e30, 3e38))
    try:
        frame = pmd.encode_data(mtype, t_ns, frame_type, values, factor=factor)
    except TrackerError:  # too many samples for one frame, or a factor that cannot encode
        frame = bytes((mtype,)) + t_ns.to_bytes(8, "little") + bytes((frame_type,))
    if rng.random() < 0.06:
        frame = frame[: rng.randrange(len(frame) + 1)]
    return maybe_mutate(rng, frame, 0.1)


def target_polar_pmd(case: Case) -> None:
    rng = case.rng
    mtu = _mtu(rng)
    state: dict = {"rate": 208, "mtu": mtu}
    features = _pmd_features(rng)

    def read(_char: str) -> bytes:
        return features

    device = FakeDevice(_pmd_responder(case, state), read, mtu)
    protocol = hp.PolarPmdProtocol()
    t_ns = rng.choice((0, 1, 7_500_000_000_000_000_00, (1 << 64) - 1_000_000_000))

    def payloads() -> Iterator[tuple[str, bytes]]:
        nonlocal t_ns
        for _ in range(rng.choice((1, 3, 8, 25))):
            if rng.random() < 0.05:
                note = rng.choice(
                    (
                        pmd.encode_measurement_stopped([2, 5]),
                        bytes((0xF0,)) + rng.randbytes(rng.randrange(8)),
                        rng.randbytes(rng.randrange(5)),
                    )
                )
                yield pmd.PMD_CONTROL_POINT_UUID, note
                continue
            step_ns = rng.choice((0, 1, 10**8, 10**8, 10**8, 10**9, -(10**9), 1 << 62))
            t_ns = min(max(0, t_ns + step_ns), (1 << 64) - 1)
            mtype = rng.choice((pmd.MeasurementType.ACC, pmd.MeasurementType.GYRO))
            yield pmd.PMD_DATA_UUID, _pmd_frame(case, mtype, state, t_ns)

    run_stream(case, "polar_pmd", protocol, device, _config(rng), payloads)


# --------------------------------------------------------------------------- movesense


def _ms_responder(case: Case) -> Callable[[bytes], list[tuple[str, bytes]]]:
    rng = case.rng
    data = ms.GSP_DATA_UUID

    def respond(cmd_bytes: bytes) -> list[tuple[str, bytes]]:
        cmd = ms.decode_command(cmd_bytes)
        if cmd.command == ms.Command.HELLO:
            note = ms.encode_hello_response(cmd.ref)
        else:
            status = 200 if rng.random() < 0.95 else rng.choice((404, 501, 507, 100, 599))
            note = ms.encode_command_result(cmd.ref, status)
        if rng.random() < 0.04:
            note = bytes((1, rng.randrange(256))) + rng.choice(
                (b"", b"\x00", b"\xff\xff", b"Hell", b"\x01\xf4\x00")
            )
        return _answers(case, [(data, note)], 0.06)

    return respond


def _ms_message(case: Case, state: dict) -> list[bytes]:
    rng = case.rng
    n = rng.choice((1, 2, 4, 8, 13))
    g = case.np_rng()
    acc = g.normal(0, 2, (n, 3)) + np.array([0, 0, G_MPS2])
    gyro = g.normal(0, 1, (n, 3))
    if rng.random() < 0.04:
        acc[rng.randrange(n), rng.randrange(3)] = rng.choice((math.nan, math.inf, 3.4e38))
    ts = state["ts_ms"] % (1 << 32)
    state["ts_ms"] += int(n * 1000 / state["rate"]) + rng.choice((0, 0, 0, 1, -3000, 1 << 31))
    ref = 2 if rng.random() < 0.95 else rng.choice((1, 3, 255))
    try:
        parts = ms.encode_data(ref, ts, acc, gyro, notification_bytes=state["note_bytes"])
    except TrackerError:
        parts = ms.encode_data(ref, ts, acc[:1], gyro[:1], notification_bytes=158)
    r = rng.random()
    if r < 0.05 and len(parts) > 1:
        parts = parts[1:]  # the first part lost
    elif r < 0.08:
        rng.shuffle(parts)
    elif r < 0.11:
        parts = [p[: rng.randrange(len(p) + 1)] for p in parts]
    elif r < 0.13:
        parts = [bytes((rng.choice((2, 3, 4, 5, 0)), 2)) + rng.randbytes(rng.randrange(600))]
    return [maybe_mutate(rng, p, 0.08) for p in parts]


def target_movesense(case: Case) -> None:
    rng = case.rng
    mtu = _mtu(rng)
    device = FakeDevice(_ms_responder(case), lambda _c: b"", mtu)
    protocol = hp.MovesenseGspProtocol()
    config = _config(rng)
    if rng.random() < 0.9:
        config = StreamConfig(sample_rate_hz=config.sample_rate_hz)
    state = {
        "ts_ms": rng.choice((0, 123456, (1 << 32) - 500)),
        "rate": 208,
        "note_bytes": min(ms.FIRMWARE_NOTIFICATION_BYTES, mtu - 3),
    }

    def payloads() -> Iterator[tuple[str, bytes]]:
        for _ in range(rng.choice((1, 3, 8, 20))):
            for part in _ms_message(case, state):
                yield ms.GSP_DATA_UUID, part

    run_stream(case, "movesense", protocol, device, config, payloads)


# --------------------------------------------------------------------------- movella_dot


def _dot_device(case: Case) -> FakeDevice:
    """A DOT's two controls: writes applied (sometimes not), reads sometimes damaged."""
    rng = case.rng
    state = {
        "measurement": dot.encode_measurement_control(
            rng.choice((dot.Action.STOP, dot.Action.STOP, dot.Action.START)),
            rng.choice((21, 21, 2, 0, 255)),
        ),
        "control": dot.encode_device_control(
            dot.DeviceControl(dot.VisitIndex(0), rng.choice((60, 60, 30, 0, 120, 0xFFFF)))
        ),
    }

    def respond(data: bytes) -> list[tuple[str, bytes]]:
        if rng.random() < 0.9:  # a DOT may keep its old value
            key = "measurement" if len(data) == dot.MEASUREMENT_CONTROL_BYTES else "control"
            state[key] = data
        return []

    def read(char: str) -> bytes:
        key = "measurement" if char == dot.MEASUREMENT_CONTROL_UUID else "control"
        return maybe_mutate(rng, state[key], 0.08)

    return FakeDevice(respond, read, _mtu(rng))


def _dot_payload(case: Case, state: dict) -> bytes:
    rng = case.rng
    g = case.np_rng()
    acc = g.normal(0, 2, 3) + np.array([0, 0, G_MPS2])
    gyro = g.normal(0, 1, 3)
    if rng.random() < 0.04:
        acc[rng.randrange(3)] = rng.choice((math.nan, math.inf, 3.4e38))
    ts = state["t_us"] % dot.TIMESTAMP_MODULUS_US
    state["t_us"] += 16_667 + rng.choice((0, 0, 0, 1, -40_000, 1 << 31, 5_000_000))
    try:
        payload = dot.encode_rate_quantities(ts, acc, gyro)
    except TrackerError:
        payload = dot.encode_rate_quantities(ts, np.zeros(3), np.zeros(3))
    r = rng.random()
    if r < 0.05:
        payload += bytes(rng.randrange(13))  # the 40-byte characteristic's padding
    elif r < 0.08:
        payload = payload[: rng.randrange(len(payload))]
    elif r < 0.1:
        payload = rng.randbytes(rng.choice((16, 20, 32, 36, 40, 44, 63)))
    return maybe_mutate(rng, payload, 0.08)


def target_movella_dot(case: Case) -> None:
    rng = case.rng
    device = _dot_device(case)
    protocol = hp.MovellaDotProtocol()
    config = _config(rng)
    if rng.random() < 0.6:
        config = StreamConfig(sample_rate_hz=rng.choice((None, 60.0, 30.0, 12.0, 1.0)))
    state = {"t_us": rng.choice((0, 123_456_789, dot.TIMESTAMP_MODULUS_US - 50_000))}

    def payloads() -> Iterator[tuple[str, bytes]]:
        for _ in range(rng.choice((1, 3, 8, 25))):
            yield dot.MEDIUM_PAYLOAD_UUID, _dot_payload(case, state)

    run_stream(case, "movella_dot", protocol, device, config, payloads)


# --------------------------------------------------------------------------- phyphox remote


def _phyphox_answers(case: Case) -> list[tuple[str, dict | list]]:
    """A session's answers as phyphox serves them: /config, /time, then /get polls of
    an accelerometer and a 5x faster gyroscope (its numbers as phyphox prints them)."""
    from tracker.devices.phyphox_emulator import BUFFERS

    rng = case.rng
    rate = rng.choice((50.0, 100.0, 416.0))
    names = [n for s in (BUFFERS.acc, BUFFERS.gyro) for n in (s.time, *s.values)]
    config = {
        "title": "t",
        "buffers": [{"name": n, "size": 0} for n in names],
        "inputs": [
            {"source": src, "outputs": [{"x": s.x}, {"y": s.y}, {"z": s.z}, {"t": s.time}]}
            for src, s in (("accelerometer", BUFFERS.acc), ("gyroscope", BUFFERS.gyro))
        ],
        "export": [],
    }
    start = rng.choice((0.0, 12.5, 3600.0))
    time = [{"event": "START", "experimentTime": start, "systemTime": 1.7e9 + start}]
    answers: list[tuple[str, dict | list]] = [("/config", config), ("/time", time)]
    t = start
    for _ in range(rng.randrange(1, 8)):
        n = rng.randrange(0, 12)
        acc_t = t + np.arange(1, n + 1) / rate
        gyro_t = t + np.arange(1, 5 * n + 1) / (5 * rate)
        buffers = {}
        for times, sensor in ((acc_t, BUFFERS.acc), (gyro_t, BUFFERS.gyro)):
            values = case.np_rng().normal(0, 5, (len(times), 3))
            cols = [times, *values.T]
            for name, col in zip((sensor.time, *sensor.values), cols, strict=True):
                # (rounded to the 8 digits phyphox prints)
                digits = [float(phyphox_number(float(v))) for v in col]
                buffers[name] = {"size": 0, "updateMode": "partial", "buffer": digits}
        status = {"session": "s1", "measuring": True, "timedRun": False, "countDown": 0}
        answers.append(("/get", {"buffer": buffers, "status": status}))
        t = float(acc_t[-1]) if n else t
    return answers


def target_phyphox_remote(case: Case) -> None:
    """What `tracker live --lumbar phone:phyphox@HOST` does with the phone's answers:
    the session's decoding state (`PhyphoxAssembler`), answer by answer."""
    from tracker.devices.phyphox_remote import PhyphoxAssembler

    rng = case.rng
    state = PhyphoxAssembler("lumbar")
    answers = _phyphox_answers(case)
    # One answer hostile in most cases; as in the session, a refused /time or /get is
    # skipped and the answers after it must still decode.
    hostile = rng.randrange(len(answers)) if rng.random() < 0.8 else -1
    refused: TrackerError | None = None
    for i, (path, obj) in enumerate(answers):
        body = dump_json(obj).encode()
        if i == hostile:
            body = _json_payload(rng, obj) if isinstance(obj, dict) else body
            body = maybe_mutate(rng, body, 0.3)
        case.inputs[f"{i}{path}"] = body
        if path == "/config":
            state.config(body)  # (the session does not open without it)
            continue
        try:
            state.time(body) if path == "/time" else state.get(body)
        except TrackerError as exc:
            refused = refused or exc
        while (block := state.take()) is not None:
            _check_phone_block(block)
    while (block := state.take(final=True)) is not None:
        _check_phone_block(block)
    if refused is not None:
        raise refused


def _check_phone_block(block: object) -> None:
    t = block.time_s  # type: ignore[attr-defined]
    values = (block.acc_mps2, block.gyro_rad_s)  # type: ignore[attr-defined]
    if not (np.isfinite(t).all() and all(np.isfinite(v).all() for v in values)):
        raise InvariantError("a phyphox block with non-finite samples")
    if len(t) > 1 and not (np.diff(t) > 0).all():
        raise InvariantError("a phyphox block whose times do not increase")


# --------------------------------------------------------------------------- device side


def target_device_commands(case: Case) -> None:
    """What an emulated peripheral parses: the central's command writes, each protocol."""
    rng = case.rng
    which = rng.randrange(4)
    if which == 0:
        valid = rng.choice(
            (
                imu.encode_start(rng.choice((20, 244, 0xFFFF))),
                imu.encode_stop(),
                imu.encode_set_rate(rng.choice((0.25, 104.0, 511.75))),
                imu.encode_set_range(rng.choice((2, 16)), rng.choice((125, 2000))),
                imu.encode_identify(rng.choice((1, 60))),
                imu.encode_get_status(),
            )
        )
        data = maybe_mutate(rng, valid, 0.7)
        case.inputs["command"] = data
        imu.decode_command(data)
    elif which == 1:
        valid = rng.choice(
            (
                pmd.encode_get_settings(rng.choice((2, 5)), sdk_mode=rng.random() < 0.5),
                pmd.encode_start(2, sample_rate_hz=208, resolution_bits=16, range_=8, channels=3),
                pmd.encode_stop(5),
                pmd.encode_sdk_mode(rng.random() < 0.5),
                bytes((2, 2)) + _hostile_settings(rng),
            )
        )
        data = maybe_mutate(rng, valid, 0.6)
        case.inputs["command"] = data
        cmd = pmd.decode_command(data)
        pmd.encode_response(cmd.op, cmd.measurement_type or 0, 0, pmd.encode_settings(cmd.settings))
    elif which == 3:
        valid = rng.choice(
            (
                dot.encode_start(),
                dot.encode_stop(rng.choice((21, 2))),
                dot.encode_set_output_rate(rng.choice(dot.LIVE_OUTPUT_RATES_HZ)),
                dot.encode_device_control(dot.DeviceControl(dot.VisitIndex(0x3F), 60, 1, "L1")),
            )
        )
        data = maybe_mutate(rng, valid, 0.6)
        case.inputs["command"] = data
        if len(data) == dot.MEASUREMENT_CONTROL_BYTES:
            dot.decode_measurement_control(data)
        else:
            dot.decode_device_control(data)
    else:
        valid = rng.choice(
            (
                ms.encode_hello(rng.randrange(1, 256)),
                ms.encode_subscribe_imu6(2, sample_rate_hz=rng.choice((13, 208, 1666))),
                ms.encode_subscribe(3, "/Meas/IMU6/" + rng.choice(("", "0", "x", "99999999999"))),
                ms.encode_unsubscribe(2),
            )
        )
        data = maybe_mutate(rng, valid, 0.6)
        case.inputs["command"] = data
        ms.decode_command(data).imu6_rate_hz()


# --------------------------------------------------------------------------- registry

#: name -> (run one case, share of a run's cases). File targets cost a file write and a
#: full read each; BLE targets a start handshake and up to 60 notifications.
TARGETS: dict[str, tuple[Callable[[Case], None], float]] = {
    "native": (target_native, 0.24),
    "samples_csv": (target_samples_csv, 0.13),
    "sensor_logger": (target_sensor_logger, 0.09),
    "phyphox": (target_phyphox, 0.09),
    "phyphox_remote": (target_phyphox_remote, 0.05),
    "tracker_imu": (target_tracker_imu, 0.11),
    "polar_pmd": (target_polar_pmd, 0.09),
    "movesense": (target_movesense, 0.11),
    "movella_dot": (target_movella_dot, 0.09),
    "device_commands": (target_device_commands, 0.14),
    # The whole analysis per case: a hundred times dearer than a read, so few cases.
    "export": (target_export, 0.002),
}


def new_case(target: str, seed: int, index: int, workdir: Path) -> Case:
    """Case ``index`` of ``target`` in a run seeded ``seed``, in an emptied ``workdir``."""
    workdir.mkdir(parents=True, exist_ok=True)
    _fresh_workdir(workdir)
    return Case(case_rng(seed, target, index), workdir)


def run_case(target: str, case: Case) -> None:
    """Feed one case to its target; raises whatever the entry points raised."""
    TARGETS[target][0](case)


def run_guarded(target: str, case: Case) -> BaseException | None:
    """Feed ``case`` to ``target``; the exception it ended with (None: no error).
    A `TrackerError` is the expected outcome of a bad input; any other is a finding."""
    try:
        # A warning reaches the user's terminal as an extra stderr line (numpy's
        # RuntimeWarning on 1e308, ...): a finding like an exception, and the default
        # test run treats it so too.
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            run_case(target, case)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # (a library's panic, e.g. pyo3's, is no Exception)
        return exc
    return None


def run_checked(
    target: str, seed: int, index: int, workdir: Path
) -> tuple[Case, BaseException | None]:
    """Case ``index`` of ``target`` (run seeded ``seed``), run; see `run_guarded`."""
    case = new_case(target, seed, index, workdir)
    return case, run_guarded(target, case)
