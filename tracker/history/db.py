"""The history database: one SQLite file, a versioned schema, safe concurrent writers.

* Location: ``data_dir()/history.sqlite`` (``TRACKER_DATA_DIR`` overrides the data
  directory; commands take ``--db``).
* Schema version: the ``schema_version`` table holds one row per applied migration;
  `MIGRATIONS` lists them in order and `migrate` applies the missing ones in one write
  transaction, so two commands opening a new database at once migrate it once.
* Concurrency: WAL journal (readers never block the writer), a busy timeout (a second
  writer waits instead of failing), and every write in ``BEGIN IMMEDIATE`` so two writers
  never deadlock upgrading a read lock.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from tracker.analysis.profile import data_dir
from tracker.errors import InputError

DB_NAME = "history.sqlite"
#: How long a writer waits for another to finish before giving up.
BUSY_TIMEOUT_S = 30.0


def default_db_path() -> Path:
    return data_dir() / DB_NAME


def _v1(conn: sqlite3.Connection) -> None:
    conn.execute(
        """CREATE TABLE sessions (
            id INTEGER PRIMARY KEY,
            fingerprint TEXT NOT NULL UNIQUE,
            source TEXT NOT NULL,
            recorded_utc TEXT NOT NULL,
            added_utc TEXT NOT NULL,
            placements TEXT NOT NULL,
            duration_s REAL NOT NULL,
            load_kg REAL,
            note TEXT,
            flexion_limit_deg REAL NOT NULL,
            extension_limit_deg REAL NOT NULL
        )"""
    )
    conn.execute(
        """CREATE TABLE reps (
            session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            set_no INTEGER NOT NULL,
            rep_no INTEGER NOT NULL,
            exercise TEXT NOT NULL,
            start_s REAL NOT NULL,
            end_s REAL NOT NULL,
            hinge_depth_deg REAL NOT NULL,
            lumbar_flexion_deg REAL,
            lumbar_extension_deg REAL,
            flexion_under_load INTEGER,
            overextension INTEGER,
            lumbar_share REAL,
            eccentric_s REAL NOT NULL,
            concentric_s REAL NOT NULL,
            peak_hip_extension_deg_s REAL NOT NULL,
            flexion_caution INTEGER,
            PRIMARY KEY (session_id, set_no, rep_no)
        )"""
    )


def _v2(conn: sqlite3.Connection) -> None:
    # Per-set results (creep) and an index for the per-exercise trend query.
    conn.execute(
        """CREATE TABLE sets (
            session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            set_no INTEGER NOT NULL,
            exercise TEXT NOT NULL,
            start_s REAL NOT NULL,
            end_s REAL NOT NULL,
            creep_rep INTEGER,
            creep_deg REAL,
            time_over_flexion_limit_s REAL,
            PRIMARY KEY (session_id, set_no)
        )"""
    )
    conn.execute("CREATE INDEX reps_by_exercise ON reps (exercise)")


#: Migration ``i`` takes the schema from version ``i`` to ``i + 1``. Append, never edit.
MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (_v1, _v2)
SCHEMA_VERSION = len(MIGRATIONS)


@contextmanager
def write_transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``; rolled back on any exception."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def schema_version(conn: sqlite3.Connection) -> int:
    row = conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
    ).fetchone()
    if row is None:
        return 0
    return int(conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version").fetchone()[0])


def migrate(conn: sqlite3.Connection, target: int = SCHEMA_VERSION) -> int:
    """Apply the missing migrations up to ``target``; returns the version reached."""
    with write_transaction(conn):
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_version "
            "(version INTEGER PRIMARY KEY, applied_utc TEXT NOT NULL)"
        )
        current = schema_version(conn)
        if current > SCHEMA_VERSION:
            raise InputError(
                f"the history database has schema version {current}, newer than this "
                f"tracker knows ({SCHEMA_VERSION}); update tracker or use another --db"
            )
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        for version in range(current, target):
            MIGRATIONS[version](conn)
            conn.execute("INSERT INTO schema_version VALUES (?, ?)", (version + 1, now))
        return max(current, target)


def connect(path: Path | None = None, *, migrate_to: int = SCHEMA_VERSION) -> sqlite3.Connection:
    """Open (creating if needed) the history database at ``path`` (default
    `default_db_path`), migrated to the current schema."""
    p = Path(path) if path is not None else default_db_path()
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create the folder of {p}: {exc.strerror or exc}") from exc
    try:
        conn = sqlite3.connect(p, timeout=BUSY_TIMEOUT_S, isolation_level=None)
    except sqlite3.Error as exc:
        raise InputError(f"cannot open the history database {p}: {exc}") from exc
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA journal_mode = WAL")
        migrate(conn, migrate_to)
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise InputError(
            f"{p} is not a usable history database ({exc}); give another --db or move it away"
        ) from exc
    except BaseException:
        conn.close()
        raise
    return conn


@contextmanager
def opened(path: Path | None = None) -> Iterator[sqlite3.Connection]:
    """`connect`, closed on exit; database errors become one-line `InputError`s."""
    conn = connect(path)
    try:
        yield conn
    except sqlite3.OperationalError as exc:
        raise InputError(f"the history database is not available ({exc}); try again") from exc
    finally:
        conn.close()
