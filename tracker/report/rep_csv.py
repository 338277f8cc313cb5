"""Per-rep CSV (DESIGN 4.3): one row per rep, contract columns first, in this order.

Empty cells mean "not measurable with the sensors present" (lumbar columns with one
sensor). Booleans are ``true`` / ``false``. Angles in degrees, times in seconds on the
recording's timeline (docs/frames.md). Text cells are spreadsheet-safe (`csv_safe`).
"""

from __future__ import annotations

import os

from tracker.analysis.events import RepMetrics
from tracker.numbers import fixed
from tracker.recording.csv_safe import csv_text, safe_cell
from tracker.recording.fileio import replace_atomically

COLUMNS = (
    "set",
    "rep",
    "exercise",
    "start_s",
    "end_s",
    "duration_s",
    "hinge_depth_deg",
    "lumbar_flexion_deg",
    "lumbar_extension_deg",
    "flexion_under_load",
    "overextension",
    "lumbar_share",
    # Columns beyond the contract.
    "eccentric_s",
    "concentric_s",
    "peak_hip_extension_deg_s",
    "flexion_caution",
    "angles_approximate",
)


def _bool(x: bool | None) -> str:
    return "" if x is None else ("true" if x else "false")


def rep_row(r: RepMetrics) -> list[str]:
    return [
        str(r.set),
        str(r.rep),
        safe_cell(r.exercise),
        fixed(r.start_s, 3),
        fixed(r.end_s, 3),
        fixed(r.duration_s, 3),
        fixed(r.hinge_depth_deg, 1),
        fixed(r.lumbar_flexion_deg, 1),
        fixed(r.lumbar_extension_deg, 1),
        _bool(r.flexion_under_load),
        _bool(r.overextension),
        fixed(r.lumbar_share, 2),
        fixed(r.eccentric_s, 3),
        fixed(r.concentric_s, 3),
        fixed(r.peak_hip_extension_deg_s, 1),
        _bool(r.flexion_caution),
        _bool(r.angles_approximate),
    ]


def format_rep_csv(reps: list[RepMetrics]) -> str:
    return csv_text(COLUMNS, (rep_row(r) for r in reps))


def write_rep_csv(reps: list[RepMetrics], path: str | os.PathLike[str]) -> None:
    text = format_rep_csv(reps)
    replace_atomically(path, text)
