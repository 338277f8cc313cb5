"""Adding analysed sessions to the history database.

A session is keyed by a fingerprint of its recording's samples, so adding the same
recording twice (by `export`, `history add` or `live`) keeps one session, updated with
the latest analysis (limits may have changed). Units as everywhere: degrees, seconds
(docs/frames.md).
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from tracker.analysis.events import RepMetrics, SetSummary
from tracker.analysis.result import SessionResult
from tracker.errors import TrackerError
from tracker.history.db import opened, write_transaction
from tracker.recording.model import Recording


@dataclass(frozen=True)
class SessionData:
    """Everything the history keeps of one session."""

    fingerprint: str
    source: str
    recorded_utc: str
    placements: tuple[str, ...]
    duration_s: float
    flexion_limit_deg: float
    extension_limit_deg: float
    reps: tuple[RepMetrics, ...]
    sets: tuple[SetSummary, ...] = ()
    load_kg: float | None = None
    note: str | None = None


def fingerprint(recording: Recording) -> str:
    """SHA-256 of the recording's samples (placements, times, values), hex."""
    h = hashlib.sha256()
    for p in recording.placements:
        s = recording.sensors[p]
        h.update(p.encode() + b"\0" + len(s).to_bytes(8, "little"))
        for a in (s.time_s, s.acc_mps2, s.gyro_rad_s):
            # The array's own bytes (C order, as tobytes() gives), hashed without a copy.
            h.update(np.ascontiguousarray(a).data)
    return h.hexdigest()


def _utc(d: datetime) -> str:
    return d.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _recorded_utc(recording: Recording, source: str) -> str:
    """When the session was recorded: the recording's own date (if it knows it: not the
    epoch a simulated recording carries), else the file's modification time, else now."""
    if recording.recorded_utc:
        try:
            d = datetime.fromisoformat(recording.recorded_utc.replace("Z", "+00:00"))
            return _utc(d if d.tzinfo else d.replace(tzinfo=UTC))
        except (ValueError, OverflowError):  # not a date, or out of range in UTC
            pass
    try:
        return _utc(datetime.fromtimestamp(os.stat(source).st_mtime, UTC))
    except (OSError, ValueError):
        return _utc(datetime.now(UTC))


def session_data(result: SessionResult, recording: Recording, source: str) -> SessionData:
    return SessionData(
        fingerprint=fingerprint(recording),
        source=source,
        recorded_utc=_recorded_utc(recording, source),
        placements=tuple(result.placements),
        duration_s=float(result.duration_s),
        flexion_limit_deg=result.settings.flexion_limit_deg,
        extension_limit_deg=result.settings.extension_limit_deg,
        reps=tuple(result.reps),
        sets=tuple(result.sets),
        load_kg=recording.notes.load_kg,
        note=recording.notes.text,
    )


def _flag(x: bool | None) -> int | None:
    return None if x is None else int(x)


def add_session(conn: sqlite3.Connection, data: SessionData) -> tuple[int, bool]:
    """Insert or update ``data`` in one transaction; returns (session id, newly added)."""
    now = _utc(datetime.now(UTC))
    with write_transaction(conn):
        row = conn.execute(
            "SELECT id FROM sessions WHERE fingerprint = ?", (data.fingerprint,)
        ).fetchone()
        fields = (
            data.source,
            data.recorded_utc,
            ",".join(data.placements),
            data.duration_s,
            data.load_kg,
            data.note,
            data.flexion_limit_deg,
            data.extension_limit_deg,
        )
        if row is None:
            cur = conn.execute(
                "INSERT INTO sessions (source, recorded_utc, placements, duration_s, load_kg, "
                "note, flexion_limit_deg, extension_limit_deg, fingerprint, added_utc) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*fields, data.fingerprint, now),
            )
            session_id, new = int(cur.lastrowid or 0), True
        else:
            session_id, new = int(row[0]), False
            conn.execute(
                "UPDATE sessions SET source = ?, recorded_utc = ?, placements = ?, "
                "duration_s = ?, load_kg = ?, note = ?, flexion_limit_deg = ?, "
                "extension_limit_deg = ? WHERE id = ?",
                (*fields, session_id),
            )
            conn.execute("DELETE FROM reps WHERE session_id = ?", (session_id,))
            conn.execute("DELETE FROM sets WHERE session_id = ?", (session_id,))
        conn.executemany(
            "INSERT INTO reps VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    session_id,
                    r.set,
                    r.rep,
                    r.exercise,
                    r.start_s,
                    r.end_s,
                    r.hinge_depth_deg,
                    r.lumbar_flexion_deg,
                    r.lumbar_extension_deg,
                    _flag(r.flexion_under_load),
                    _flag(r.overextension),
                    r.lumbar_share,
                    r.eccentric_s,
                    r.concentric_s,
                    r.peak_hip_extension_deg_s,
                    _flag(r.flexion_caution),
                )
                for r in data.reps
            ],
        )
        conn.executemany(
            "INSERT INTO sets VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    session_id,
                    s.set,
                    s.exercise,
                    s.start_s,
                    s.end_s,
                    s.creep_rep,
                    s.creep_deg,
                    s.time_over_flexion_limit_s,
                )
                for s in data.sets
            ],
        )
    return session_id, new


def record_session(
    db_path: str | os.PathLike[str] | None,
    result: SessionResult,
    source: str | os.PathLike[str],
    *,
    recording: Recording | None = None,
) -> tuple[int, bool]:
    """Add an analysed session to the history (one call for `live`, `export`, `history add`).

    ``db_path`` None uses the default database. ``source`` is the recording's path (shown
    in the history); when ``recording`` is not given it is loaded from ``source`` to
    fingerprint its samples. Returns (session id, True when new, False when the same
    recording was already there and was updated).
    """
    if recording is None:
        from tracker.recording.load import load_recording

        recording = load_recording(source)
    # The absolute path, so the history says which file it was from any folder.
    where = Path(source).resolve() if Path(source).exists() else Path(source)
    data = session_data(result, recording, str(where))
    with opened(Path(db_path) if db_path is not None else None) as conn:
        return add_session(conn, data)


def try_record_session(
    db_path: str | os.PathLike[str] | None,
    result: SessionResult,
    source: str | os.PathLike[str],
    *,
    recording: Recording | None = None,
) -> str | None:
    """`record_session`, returning the error message instead of raising it: callers have
    written the session's files already, so a history that cannot be updated is a
    warning, not a failure."""
    try:
        record_session(db_path, result, source, recording=recording)
    except TrackerError as exc:
        return str(exc)
    return None
