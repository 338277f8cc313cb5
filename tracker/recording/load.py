"""Load any supported recording by path, save by extension.

The reader is chosen by the file's content (the native signature), not its name, so a
renamed file still loads. Other importers (phone apps, ...) plug in with
`register_importer`; they are asked, in registration order, after the native format
and before the samples CSV, which takes every remaining file and explains what is wrong.
A file that opens with the samples CSV header is a samples CSV: no importer is asked.

Each reader is imported when a file of its format is read (the native reader for a
native recording, the phone importers for a file that might be a phone export): a
command that reads one recording then loads only the code for that format.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tracker.errors import InputError
from tracker.limits import time_axis_problem, value_problem
from tracker.recording import framing
from tracker.recording.fileio import holding_streams, is_stream, read_input_head
from tracker.recording.model import Recording
from tracker.recording.samples_csv import HEADER, read_samples_csv, write_samples_csv

#: Bytes handed to an importer's ``sniff`` to decide whether it reads a file.
SNIFF_BYTES = 4096
NATIVE_SUFFIX = ".trk"
CSV_SUFFIX = ".csv"
#: How a zip archive starts: a member, an empty archive, a split archive.
_ZIP_SIGNATURES = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
#: How a samples CSV starts (after a byte-order mark, if any): no phone export does.
_SAMPLES_CSV_START = HEADER.encode()
_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class Importer:
    """A reader for another file format.

    ``sniff(head, path)`` gets the first `SNIFF_BYTES` bytes (empty for a folder) and says
    whether this importer reads the file; ``load(path, acc_unit=..., gyro_unit=...,
    placement=...)`` returns a `Recording` in m/s^2 and rad/s (docs/frames.md) or raises
    an `InputError`. ``placement`` is passed only when the user gave one: where the
    single sensor of a format that does not say so itself (a phone export) was worn.
    """

    name: str
    sniff: Callable[[bytes, Path], bool]
    load: Callable[..., Recording]


_IMPORTERS: list[Importer] = []


def register_importer(importer: Importer) -> None:
    """Add an importer (a later registration with the same name replaces the earlier)."""
    _IMPORTERS[:] = [i for i in _IMPORTERS if i.name != importer.name]
    _IMPORTERS.append(importer)


def _no_placement(p: Path, placement: str | None) -> None:
    if placement is not None:
        raise InputError(
            f"{p} names the placement of its sensors itself; --placement applies only to "
            f"phone-app exports (Sensor Logger, phyphox)"
        )


def load_recording(
    path: str | os.PathLike[str],
    *,
    recover: bool = False,
    acc_unit: str = "mps2",
    gyro_unit: str = "rad_s",
    placement: str | None = None,
) -> Recording:
    """Read a native recording, a samples CSV, or a registered format (phone exports).

    ``acc_unit`` / ``gyro_unit`` declare the units of a text import (g, deg/s); a native
    recording always holds m/s^2 and rad/s. ``recover`` reads the intact parts of a
    damaged native recording (see `read_native`); other formats have no use for it.
    ``placement`` (``lumbar`` / ``sacrum``) says where the one sensor of a phone export
    was worn; native recordings and samples CSV name their placements themselves.

    A pipe or FIFO (``<(command)``, ``/dev/stdin``) is read once, whole, then as a file
    (native or samples CSV; a zip needs a real file). Every recording's time axis
    and values are checked against `tracker.limits` whatever its format.
    """
    p = Path(path)
    with holding_streams():
        recording = _load(p, recover, acc_unit, gyro_unit, placement)
    for s in recording.sensors.values():
        problem = time_axis_problem(s.time_s) or value_problem(s.acc_mps2, s.gyro_rad_s, s.time_s)
        if problem is not None:
            raise InputError(f"{p}: {s.placement} {problem}")
    return recording


def _load(
    p: Path, recover: bool, acc_unit: str, gyro_unit: str, placement: str | None
) -> Recording:
    folder = p.is_dir()
    # Refuses a missing file, a device or an oversized file before anything opens it.
    head = b"" if folder else read_input_head(p, SNIFF_BYTES)
    if head.startswith(framing.MAGIC):
        _no_placement(p, placement)
        if acc_unit != "mps2" or gyro_unit != "rad_s":
            raise InputError(
                f"{p} is a native recording, stored in m/s^2 and rad/s; "
                f"--acc-unit / --gyro-unit apply only to samples CSV"
            )
        from tracker.recording.native import read_native

        return read_native(p, recover=recover)
    if head.removeprefix(_BOM).startswith(_SAMPLES_CSV_START):
        return _read_csv(p, acc_unit, gyro_unit, placement)
    if not folder and head.startswith(_ZIP_SIGNATURES) and is_stream(p):
        raise InputError(
            f"{p} is a zip archive, which cannot be read through a pipe; give its path"
        )
    for importer in _IMPORTERS:
        if importer.sniff(head, p):
            # ``placement`` only when given, so importers of formats that name their
            # placements keep the plain (path, acc_unit, gyro_unit) signature.
            where = {} if placement is None else {"placement": placement}
            return importer.load(p, acc_unit=acc_unit, gyro_unit=gyro_unit, **where)
    if folder or head.startswith(_ZIP_SIGNATURES):
        # No importer took it: say what is wrong with it rather than call it a bad CSV.
        from tracker.recording.phone_files import export_problem

        raise export_problem(p)
    return _read_csv(p, acc_unit, gyro_unit, placement)


def _read_csv(p: Path, acc_unit: str, gyro_unit: str, placement: str | None) -> Recording:
    recording = read_samples_csv(p, acc_unit=acc_unit, gyro_unit=gyro_unit)
    _no_placement(p, placement)  # after reading: a file that is no CSV says so first
    return recording


def save_recording(recording: Recording, path: str | os.PathLike[str]) -> None:
    """Write ``recording`` by extension: ``.csv`` samples CSV, ``.trk`` native.

    The file is replaced atomically: an interrupted save leaves any earlier file intact.
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix == CSV_SUFFIX:
        write_samples_csv(recording, p)
    elif suffix == NATIVE_SUFFIX:
        from tracker.recording.native import write_native

        write_native(recording, p)
    else:
        raise InputError(
            f"cannot tell the format of {p} from its extension; "
            f"name it {CSV_SUFFIX} (samples CSV) or {NATIVE_SUFFIX} (native recording)"
        )


def _on_first_use(module: str, function: str) -> Callable[..., Any]:
    """``tracker.recording.<module>.<function>``, its module imported at the first call
    (typed as what the function returns: the module is not imported to check it)."""

    def call(*args: Any, **kwargs: Any) -> Any:
        return getattr(importlib.import_module(f"tracker.recording.{module}"), function)(
            *args, **kwargs
        )

    return call


def _register_builtin_importers() -> None:
    # The phone-app readers (zip, csv, their tables) are imported when a file that is not
    # a native recording is opened: loading a native recording never needs them.
    for module in ("sensor_logger", "phyphox"):
        register_importer(
            Importer(module, _on_first_use(module, "sniff"), _on_first_use(module, "load"))
        )


_register_builtin_importers()
