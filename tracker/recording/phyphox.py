"""Import phyphox (RWTH Aachen) CSV exports as a recording.

phyphox writes one table per export set: ``"Time (s)","Acceleration x (m/s^2)",...`` for
"Acceleration with g" and ``"Time (s)","Gyroscope x (rad/s)",...`` for the gyroscope,
with independent time bases (seconds since the measurement started). The user may pick
comma, tab or semicolon as delimiter, and a decimal comma with the latter two. An export
is a zip of such tables, the folder it unpacks to, or one table holding both sensors.

Tables are recognised by their headers, never by file names (which are not documented):
every ``Acceleration x/y/z``, ``Linear Acceleration x/y/z`` or ``Gyroscope x/y/z``
column belongs to the nearest ``Time`` column to its left. Units come from the header
(``m/s^2`` or ``g``; ``rad/s`` or ``deg/s``); a header without a unit takes
``acc_unit`` / ``gyro_unit``.

The export's time reference (``meta/time.csv`` in phyphox's CSV zip; recognised by its
header ``"event","experiment time","system time","system time text"``) gives the
recording's date: "system time" is seconds since the Unix epoch at each start and pause
of the measurement (phyphox-android ``DataExport.java``, ``CsvFormat.export``; the iOS
app writes the same table). Without one, the date is unknown.

"Acceleration with g" is specific force in m/s^2 on both platforms (phyphox multiplies
iOS readings by -9.81 m/s^2 per g, giving Android's convention: +9.81 along the up axis
at rest, docs/frames.md). "Linear Acceleration" lacks gravity and cannot give the
sensor's inclination, so it is refused. The gyroscope is interpolated onto the
accelerometer's times.
"""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tracker.errors import InputError
from tracker.recording.fileio import read_input_bytes, read_input_head
from tracker.recording.model import DeviceInfo, Recording
from tracker.recording.phone_files import (
    Table,
    bundle_headers,
    check_placement,
    first_line,
    make_stream,
    open_bundle,
    parse_table,
    phone_recording,
    resample_onto,
    sniff_delimiter,
    utc_text,
)
from tracker.units import G_MPS2, RAD_PER_DEG

APP = "phyphox"
ACC = "acceleration"
LINEAR = "linear acceleration"
GYRO = "gyroscope"
#: The header of phyphox's time reference table (lower case, quotes stripped).
_TIME_REFERENCE = ("event", "experiment time", "system time", "system time text")
_TIME = re.compile(r"^time\s*(\((?P<unit>[^)]*)\))?$", re.IGNORECASE)
_DATA = re.compile(
    r"^(?P<kind>linear acceleration|acceleration|gyroscope)\s+(?P<axis>[xyz])"
    r"\s*(\((?P<unit>[^)]*)\))?$",
    re.IGNORECASE,
)
#: Unit text (lower case, spaces removed, "²" as "^2") -> factor to m/s^2 or rad/s, and
#: the unit name `check_units` knows.
_ACC_UNITS = {
    "m/s^2": (1.0, "mps2"),
    "m/s2": (1.0, "mps2"),
    "ms^-2": (1.0, "mps2"),
    "g": (G_MPS2, "g"),
}
_GYRO_UNITS = {
    "rad/s": (1.0, "rad_s"),
    "deg/s": (RAD_PER_DEG, "dps"),
    "°/s": (RAD_PER_DEG, "dps"),
    "dps": (RAD_PER_DEG, "dps"),
}
_OPTION_UNITS = {
    "mps2": (1.0, "mps2"),
    "g": (G_MPS2, "g"),
    "rad_s": (1.0, "rad_s"),
    "dps": (RAD_PER_DEG, "dps"),
}


def _header_names(line: str) -> list[str]:
    d = sniff_delimiter(line)
    return [c.strip().strip('"').strip() for c in line.split(d)]


def _is_phyphox_header(line: str) -> bool:
    names = _header_names(line)
    return (
        bool(names)
        and any(_TIME.match(n) and "(" in n for n in names)
        and any(_DATA.match(n) for n in names)
    )


def sniff(head: bytes, path: Path) -> bool:
    """A zip or folder with a phyphox sensor table, or one such table."""
    headers = bundle_headers(path, head)
    if headers is not None:
        return any(_is_phyphox_header(h) for h in headers.values())
    return _is_phyphox_header(first_line(head))


@dataclass(frozen=True)
class _Block:
    """One sensor's x, y, z columns with their time column, in one table."""

    kind: str
    table: Table
    time: str
    xyz: tuple[str, str, str]
    unit: str | None


def _blocks(table: Table) -> list[_Block]:
    out = []
    time_col: str | None = None
    found: dict[tuple[str | None, str], dict[str, tuple[str, str | None]]] = {}
    for name in table.names:
        if _TIME.match(name):
            time_col = name
            continue
        m = _DATA.match(name)
        if not m:
            continue  # "Absolute acceleration" and the like
        if time_col is None:
            raise InputError(f"{table.source}: column {name!r} has no Time column before it")
        key = (time_col, m["kind"].lower())
        found.setdefault(key, {})[m["axis"].lower()] = (name, m["unit"])
    for (time_col_, kind), axes in found.items():
        if set(axes) != {"x", "y", "z"}:
            missing = sorted({"x", "y", "z"} - set(axes))
            raise InputError(
                f"{table.source}: {kind} has no {', '.join(missing)} column; export all three axes"
            )
        units = {axes[a][1] for a in "xyz"}
        if len(units) > 1:
            raise InputError(f"{table.source}: the {kind} axes have different units {units}")
        assert time_col_ is not None
        out.append(
            _Block(kind, table, time_col_, (axes["x"][0], axes["y"][0], axes["z"][0]), units.pop())
        )
    return out


def _factor(block: _Block, option: str) -> tuple[float, str]:
    table = _GYRO_UNITS if block.kind == GYRO else _ACC_UNITS
    if block.unit is None:
        return _OPTION_UNITS[option]
    key = block.unit.replace(" ", "").replace("²", "^2").lower()
    if key not in table:
        raise InputError(
            f"{block.table.source}: unknown {block.kind} unit {block.unit!r}; "
            f"expected one of {', '.join(table)}"
        )
    return table[key]


def _is_time_reference(line: str) -> bool:
    return tuple(n.lower() for n in _header_names(line)[: len(_TIME_REFERENCE)]) == _TIME_REFERENCE


def _start_utc(text: str) -> str | None:
    """When the measurement started, as UTC text, from the time reference ``text``: the
    first START row's system time less its experiment time (sample times count from
    experiment time 0). None when no row gives one: the date is then unknown, which is no
    reason to refuse the samples."""
    lines = text.splitlines()
    if not lines:
        return None
    delimiter = sniff_delimiter(lines[0])
    try:
        rows = list(csv.reader(lines[1:], delimiter=delimiter))
    except csv.Error:  # (a field beyond the csv module's size limit)
        return None
    for row in rows:
        if len(row) < len(_TIME_REFERENCE) or row[0].strip().upper() != "START":
            continue
        try:
            # (with tab or semicolon as delimiter the export may use a decimal comma)
            experiment_s, system_s = (float(row[k].strip().replace(",", ".")) for k in (1, 2))
        except ValueError:
            return None
        if not (math.isfinite(experiment_s) and math.isfinite(system_s)):
            return None
        return utc_text(system_s - experiment_s)
    return None


def _tables(path: Path, head: bytes) -> tuple[list[Table], str | None]:
    """The sensor tables of the export at ``path`` and when it started (None: unknown)."""
    if path.is_dir() or head.startswith(b"PK"):
        bundle = open_bundle(path)
        out = []
        started = None
        for name, member_head in bundle.heads().items():
            line = first_line(member_head)
            if _is_phyphox_header(line):
                out.append(parse_table(bundle.read(name), bundle.where(name)))
            elif started is None and _is_time_reference(line):
                started = _start_utc(bundle.read(name).decode("utf-8", errors="replace"))
        if not out:
            raise InputError(f"{path} holds no phyphox sensor table ({bundle.describe_contents()})")
        return out, started
    return [parse_table(read_input_bytes(path), str(path))], None


def load(
    path: Path,
    *,
    acc_unit: str = "mps2",
    gyro_unit: str = "rad_s",
    placement: str | None = None,
) -> Recording:
    """Read a phyphox export (zip, folder or one table) as a one-sensor `Recording`."""
    path = Path(path)
    placement = check_placement(placement, path, APP)
    head = b"" if path.is_dir() else read_input_head(path, 4)
    blocks: dict[str, _Block] = {}
    tables, started_utc = _tables(path, head)
    for table in tables:
        for b in _blocks(table):
            blocks.setdefault(b.kind, b)
    if ACC not in blocks:
        if LINEAR in blocks:
            raise InputError(
                f"{path} holds linear acceleration (without g), which cannot give the "
                f"sensor's inclination; record with phyphox's 'Acceleration with g' "
                f"(or 'Acceleration/Gyroscope') experiment"
            )
        raise InputError(
            f"{path} has no 'Acceleration x/y/z' columns; export phyphox's 'Acceleration "
            f"with g' together with the gyroscope"
        )
    if GYRO not in blocks:
        raise InputError(
            f"{path} has no 'Gyroscope x/y/z' columns; the analysis needs the gyroscope: "
            f"record with both sensors and export both tables"
        )
    streams = {}
    units = {}
    for kind, option in ((ACC, acc_unit), (GYRO, gyro_unit)):
        b = blocks[kind]
        factor, units[kind] = _factor(b, option)
        # (an absurd value may overflow here: it becomes inf, a missing value)
        with np.errstate(over="ignore"):
            values = np.column_stack([b.table.column(c) for c in b.xyz]) * factor
        streams[kind] = make_stream(b.table.column(b.time), values, b.table.source)
    acc = streams[ACC]
    gyro_at, covered = resample_onto(acc.time_s, streams[GYRO])
    return phone_recording(
        placement=placement,
        time_s=acc.time_s[covered],
        acc_mps2=acc.values[covered],
        gyro_rad_s=gyro_at[covered],
        device=DeviceInfo(model=f"phone ({APP})", protocol="phyphox"),
        created_utc=started_utc,
        source=str(path),
        acc_unit=units[ACC],
        gyro_unit=units[GYRO],
        streams=tuple(streams.values()),
        app=APP,
    )
