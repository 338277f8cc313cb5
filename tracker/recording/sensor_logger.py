"""Import Sensor Logger exports (Kelvin Choi's app, Android and iOS) as a recording.

An export is a zip of CSV files, or the folder it unpacks to. Each motion file has the
columns ``time`` (UTC Unix epoch, nanoseconds), ``seconds_elapsed`` (seconds since the
user tapped Start; may be negative) and ``x``, ``y``, ``z``, in an order that is not
documented, so columns are found by header name.

Specific force (what an IMU measures, +9.81 m/s^2 along the up axis at rest,
docs/frames.md) is built from the files as follows:

* ``TotalAcceleration.csv`` (Android only): already specific force in m/s^2; used as is.
* ``Accelerometer.csv`` (without gravity) + ``Gravity.csv``, both m/s^2: Android's
  convention is specific force, so f = acc + gravity. iOS reports the opposite sign on
  all three axes (gravity points along -z when the phone lies flat, screen up), so on
  iOS f = -(acc + gravity) -- unless the app's "Standardise Units & Frames" setting was
  on, which converts iOS values to the Android convention. ``Metadata.csv`` names the
  platform and that setting.
* ``Gyroscope.csv``: rad/s, same right-handed convention on both platforms.

The gyroscope (and gravity) are interpolated onto the accelerometer's timestamps. The
timeline is seconds since Start, so a video started with the recording lines up.
Sources: the app's UNITS.md, COORDINATES.md and CROSSPLATFORM.md in
github.com/tszheichoi/awesome-sensor-logger@b10f5c53f0be49a5892ee05fb3725aa2e3113d27.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from tracker.errors import InputError
from tracker.recording.fileio import read_input_head
from tracker.recording.model import DeviceInfo, Recording
from tracker.recording.phone_files import (
    ZIP_MAGIC,
    Bundle,
    Stream,
    Table,
    bundle_headers,
    check_placement,
    first_line,
    make_stream,
    open_bundle,
    parse_table,
    phone_recording,
    resample_onto,
    utc_text,
)

APP = "Sensor Logger"
TOTAL = "TotalAcceleration.csv"
ACCELEROMETER = "Accelerometer.csv"
GRAVITY = "Gravity.csv"
GYROSCOPE = "Gyroscope.csv"
METADATA = "Metadata.csv"
NS_PER_S = 1e9


def _is_sensor_logger_header(line: str) -> bool:
    cols = {c.strip().strip('"').lower() for c in line.replace(";", ",").split(",")}
    return "seconds_elapsed" in cols


def sniff(head: bytes, path: Path) -> bool:
    """A zip or folder holding a CSV with Sensor Logger's columns, or a single Sensor
    Logger CSV (claimed so that the error can say what to give instead)."""
    headers = bundle_headers(path, head)
    if headers is not None:
        return any(_is_sensor_logger_header(h) for h in headers.values())
    return _is_sensor_logger_header(first_line(head))


def _is_zip(path: Path) -> bool:
    return read_input_head(path, len(ZIP_MAGIC)) == ZIP_MAGIC


def _metadata(bundle: Bundle) -> dict[str, str]:
    """First row of ``Metadata.csv`` as lower-case column -> value ({} if absent)."""
    if not bundle.has(METADATA):
        return {}
    text = bundle.read(METADATA).decode("utf-8", errors="replace").lstrip("\ufeff")
    try:
        rows = list(csv.reader(text.splitlines()))
    except csv.Error as exc:
        raise InputError(f"{bundle.where(METADATA)} is not a valid CSV table ({exc})") from exc
    if len(rows) < 2:
        return {}
    return {k.strip().lower(): v.strip() for k, v in zip(rows[0], rows[1], strict=False)}


def _platform(meta: dict[str, str]) -> str | None:
    value = meta.get("platform", "").lower()
    if "ios" in value:
        return "ios"
    if "android" in value:
        return "android"
    return None


def _standardised(meta: dict[str, str]) -> bool:
    for key in ("standardisation", "standardization", "standardise units & frames"):
        if key in meta:
            return meta[key].strip().lower() in ("true", "1", "yes", "on", "enabled")
    return False


def _read_xyz(bundle: Bundle, name: str, start_ns: float | None) -> tuple[Stream, float | None]:
    """A motion file as a stream on the seconds-since-Start timeline, and the Start
    instant in epoch nanoseconds (None when the file has no ``time`` column)."""
    where = bundle.where(name)
    table = parse_table(bundle.read(name), where)
    x, y, z = table.require("x", "y", "z")
    values = np.column_stack([table.column(x), table.column(y), table.column(z)])
    time_col = table.find("time")
    elapsed_col = table.find("seconds_elapsed")
    if time_col is None and elapsed_col is None:
        raise InputError(
            f"{where}: missing column 'time' (and 'seconds_elapsed'); the header has "
            f"{', '.join(repr(n) for n in table.names)}"
        )
    if time_col is not None:
        # (absurd times may overflow here: they become inf and are refused when mended)
        with np.errstate(over="ignore", invalid="ignore"):
            time_s, start_ns = _seconds(table, table.column(time_col), elapsed_col, start_ns)
    else:
        assert elapsed_col is not None  # (one of the two is there, checked above)
        time_s = table.column(elapsed_col)
    return make_stream(time_s, values, where), start_ns


def _seconds(
    table: Table, t_ns: np.ndarray, elapsed_col: str | None, start_ns: float | None
) -> tuple[np.ndarray, float]:
    """Seconds since the session's start of epoch-nanosecond times ``t_ns``, and that
    start (found from the elapsed-seconds column when not given). Epoch nanoseconds as
    float64 resolve 256 ns, far below a 10 ms sample period."""
    if start_ns is None:
        if elapsed_col is not None:
            elapsed_s = table.column(elapsed_col)
            ok = np.isfinite(t_ns) & np.isfinite(elapsed_s)
            if ok.any():
                start_ns = float(np.median(t_ns[ok] - elapsed_s[ok] * NS_PER_S))
        if start_ns is None:
            finite = t_ns[np.isfinite(t_ns)]
            start_ns = float(finite[0]) if len(finite) else 0.0
    return (t_ns - start_ns) / NS_PER_S, start_ns


def load(
    path: Path,
    *,
    acc_unit: str = "mps2",
    gyro_unit: str = "rad_s",
    placement: str | None = None,
) -> Recording:
    """Read a Sensor Logger zip or folder as a one-sensor `Recording` at ``placement``."""
    path = Path(path)
    if not path.is_dir() and not _is_zip(path):
        raise InputError(
            f"{path} is one file of a {APP} export; give the zip, or the folder holding "
            f"{GYROSCOPE} and {TOTAL} (Android) or {ACCELEROMETER} + {GRAVITY} (iOS)"
        )
    if acc_unit != "mps2" or gyro_unit != "rad_s":
        raise InputError(
            f"{path} is a {APP} export, which is always in m/s^2 and rad/s; "
            f"drop --acc-unit / --gyro-unit"
        )
    placement = check_placement(placement, path, APP)
    bundle = open_bundle(path)
    if not bundle.has(GYROSCOPE):
        raise InputError(
            f"{path} has no {GYROSCOPE}; turn on the gyroscope in {APP} and record again "
            f"({bundle.describe_contents()})"
        )
    meta = _metadata(bundle)
    platform = _platform(meta)
    read: list[Stream] = []  # every stream read, for the notes on mended timestamps
    if bundle.has(TOTAL):
        acc, start_ns = _read_xyz(bundle, TOTAL, None)
        read.append(acc)
        convention = "total acceleration"
    elif bundle.has(ACCELEROMETER) and bundle.has(GRAVITY):
        lin, start_ns = _read_xyz(bundle, ACCELEROMETER, None)
        grav, _ = _read_xyz(bundle, GRAVITY, start_ns)
        read += [lin, grav]
        if platform is None:
            raise InputError(
                f"{path}: cannot tell whether it was recorded on iOS or Android (their "
                f"accelerometer signs differ) because {METADATA} is missing or has no "
                f"'platform' column; give the complete export"
            )
        g_at, covered = resample_onto(lin.time_s, grav)
        total = lin.values[covered] + g_at[covered]
        if platform == "ios" and not _standardised(meta):
            total = -total
            convention = "iOS, sign flipped to specific force"
        else:
            convention = f"{platform}, accelerometer + gravity"
        acc = Stream(lin.time_s[covered], total)
    else:
        raise InputError(
            f"{path} has neither {TOTAL} (Android) nor {ACCELEROMETER} with {GRAVITY} "
            f"(iOS); turn on the accelerometer and gravity in {APP} and record again "
            f"({bundle.describe_contents()})"
        )
    gyro, _ = _read_xyz(bundle, GYROSCOPE, start_ns)
    read.append(gyro)
    gyro_at, covered = resample_onto(acc.time_s, gyro)
    device = DeviceInfo(
        model=meta.get("device name") or meta.get("devicename") or f"phone ({APP})",
        firmware=meta.get("appversion") or meta.get("version") or None,
        protocol=f"sensor_logger ({convention})",
    )
    created = None if start_ns is None else utc_text(start_ns / NS_PER_S)
    return phone_recording(
        placement=placement,
        time_s=acc.time_s[covered],
        acc_mps2=acc.values[covered],
        gyro_rad_s=gyro_at[covered],
        device=device,
        created_utc=created,
        source=str(path),
        streams=tuple(read),
        app=APP,
    )
