"""Per-exercise trends by ISO week from the history database.

For each exercise and ISO week (of the session's recording date, UTC): sessions, reps,
the share of flagged reps (flexion under load or over-extension; only reps where flags
are measurable, i.e. two sensors, count), the peak and mean rep lumbar flexion (degrees
beyond standing neutral, docs/frames.md; two sensors only), the mean hinge depth and the
mean rep duration (tempo). Empty cells mean "not measurable in that week".
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from datetime import datetime

from tracker.numbers import fixed
from tracker.recording.csv_safe import csv_text, safe_cell
from tracker.recording.fileio import replace_atomically

CSV_COLUMNS = (
    "exercise",
    "week",
    "sessions",
    "reps",
    "flagged_pct",
    "peak_flexion_deg",
    "mean_flexion_deg",
    "mean_depth_deg",
    "mean_rep_s",
)


@dataclass(frozen=True)
class WeekTrend:
    exercise: str
    #: ISO week, e.g. ``2026-W07``.
    week: str
    sessions: int
    reps: int
    #: Percent of reps with a flag, among reps where flags are measurable (None: none).
    flagged_pct: float | None
    peak_flexion_deg: float | None
    mean_flexion_deg: float | None
    mean_depth_deg: float
    mean_rep_s: float


def iso_week(utc_text: str) -> str:
    d = datetime.fromisoformat(utc_text.replace("Z", "+00:00"))
    year, week, _ = d.isocalendar()
    return f"{year}-W{week:02d}"


def _mean(xs: list[float]) -> float | None:
    return sum(xs) / len(xs) if xs else None


def weekly_trends(conn: sqlite3.Connection, exercise: str | None = None) -> list[WeekTrend]:
    """Trends per (exercise, week), sorted by exercise then week; ``exercise`` filters."""
    query = (
        "SELECT r.exercise, s.recorded_utc, s.id, r.flexion_under_load, r.overextension, "
        "r.lumbar_flexion_deg, r.hinge_depth_deg, r.end_s - r.start_s "
        "FROM reps r JOIN sessions s ON s.id = r.session_id"
    )
    params: tuple[str, ...] = ()
    if exercise is not None:
        query += " WHERE r.exercise = ?"
        params = (exercise,)
    groups: dict[tuple[str, str], list[tuple]] = {}
    for row in conn.execute(query, params):
        groups.setdefault((row[0], iso_week(row[1])), []).append(row)
    out = []
    for (ex, week), rows in sorted(groups.items()):
        measurable = [r for r in rows if r[3] is not None or r[4] is not None]
        flagged = [r for r in measurable if r[3] or r[4]]
        flexion = [r[5] for r in rows if r[5] is not None]
        out.append(
            WeekTrend(
                exercise=ex,
                week=week,
                sessions=len({r[2] for r in rows}),
                reps=len(rows),
                flagged_pct=100.0 * len(flagged) / len(measurable) if measurable else None,
                peak_flexion_deg=max(flexion) if flexion else None,
                mean_flexion_deg=_mean(flexion),
                mean_depth_deg=float(_mean([r[6] for r in rows]) or 0.0),
                mean_rep_s=float(_mean([r[7] for r in rows]) or 0.0),
            )
        )
    return out


def _cells(t: WeekTrend) -> list[str]:
    return [
        safe_cell(t.exercise),
        t.week,
        str(t.sessions),
        str(t.reps),
        fixed(t.flagged_pct, 1),
        fixed(t.peak_flexion_deg, 1),
        fixed(t.mean_flexion_deg, 1),
        fixed(t.mean_depth_deg, 1),
        fixed(t.mean_rep_s, 2),
    ]


def format_trends_csv(trends: list[WeekTrend]) -> str:
    return csv_text(CSV_COLUMNS, (_cells(t) for t in trends))


def write_trends_csv(trends: list[WeekTrend], path: str | os.PathLike[str]) -> None:
    text = format_trends_csv(trends)
    replace_atomically(path, text)


def format_trends(trends: list[WeekTrend]) -> str:
    """A plain-text table per exercise, for the terminal."""
    if not trends:
        return "No sessions in the history yet (add one with `tracker history add RECORDING`)."
    head = ("week", "sessions", "reps", "flagged", "peak flex", "mean flex", "depth", "rep s")
    lines: list[str] = []
    for ex in dict.fromkeys(t.exercise for t in trends):
        if lines:
            lines.append("")
        lines.append(ex)
        lines.append("  " + "  ".join(f"{h:>9}" for h in head))
        for t in (t for t in trends if t.exercise == ex):
            cells = (
                t.week,
                str(t.sessions),
                str(t.reps),
                "-" if t.flagged_pct is None else f"{t.flagged_pct:.0f}%",
                "-" if t.peak_flexion_deg is None else f"{t.peak_flexion_deg:.0f} deg",
                "-" if t.mean_flexion_deg is None else f"{t.mean_flexion_deg:.0f} deg",
                f"{t.mean_depth_deg:.0f} deg",
                f"{t.mean_rep_s:.2f}",
            )
            lines.append("  " + "  ".join(f"{c:>9}" for c in cells))
    return "\n".join(lines)
