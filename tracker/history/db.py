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

import contextlib
import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from tracker.errors import InputError
from tracker.paths import data_dir

DB_NAME = "history.sqlite"
#: How long a writer waits for another to finish before giving up.
BUSY_TIMEOUT_S = 30.0
#: The copy of the database made before each write, and the name a damaged database is
#: kept under when that copy is restored.
BACKUP_SUFFIX = ".bak"
DAMAGED_SUFFIX = ".damaged"


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


class HistoryDamagedError(InputError):
    """The history database fails SQLite's integrity check: nothing is written to it."""


def backup_path(path: Path) -> Path:
    """Where the copy made before each write is kept: beside the database."""
    return path.with_name(path.name + BACKUP_SUFFIX)


def _damaged(p: Path, why: str, untouched: bool = True) -> HistoryDamagedError:
    fix = (
        f"restore the copy made after the last good write with `tracker history restore"
        f"{'' if p == default_db_path() else f' --db {p}'}`"
        if backup_path(p).exists()
        else "there is no backup copy"
    )
    why = " ".join(why.split())  # SQLite's report spans lines
    return HistoryDamagedError(
        f"the history database {p} is damaged ({why})"
        f"{'; nothing was written to it' if untouched else ' after this write'}. To "
        f"recover, {fix}, or move it away and add your recordings again (`tracker export "
        f"FOLDER -o OUT/` or `tracker history add RECORDING` adds each to a new database)"
    )


def _check_integrity(conn: sqlite3.Connection, p: Path, untouched: bool = True) -> None:
    """`PRAGMA quick_check` (every page and index of the file, in O(size)); raises
    `HistoryDamagedError` naming the first problem found."""
    try:
        rows = conn.execute("PRAGMA quick_check(1)").fetchall()
    except sqlite3.DatabaseError as exc:
        if getattr(exc, "sqlite_errorname", "") == "SQLITE_NOTADB":
            raise InputError(
                f"{p} is not a usable history database ({exc}): it is some other file; "
                f"give another --db or move it away"
            ) from exc
        raise _damaged(p, str(exc), untouched) from exc
    if rows != [("ok",)]:
        why = str(rows[0][0]) if rows else "no result from the integrity check"
        raise _damaged(p, why, untouched)


def _copy_database(conn: sqlite3.Connection, dest: Path) -> None:
    """A consistent copy of ``conn``'s database at ``dest``, replaced atomically."""
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}-{os.urandom(4).hex()}.tmp")
    try:
        copy = sqlite3.connect(tmp)
        try:
            conn.backup(copy)
            # One self-contained file (the copied header would keep it in WAL mode).
            copy.execute("PRAGMA journal_mode = DELETE")
        finally:
            copy.close()
        os.replace(tmp, dest)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def connect(path: Path | None = None, *, migrate_to: int = SCHEMA_VERSION) -> sqlite3.Connection:
    """Open (creating if needed) the history database at ``path`` (default
    `default_db_path`), migrated to the current schema.

    An existing database is checked first (`PRAGMA quick_check`): a damaged one raises
    `HistoryDamagedError`, for reading too, and is never written to (see `opened` for
    the copy kept after each write).
    """
    p = Path(path) if path is not None else default_db_path()
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create the folder of {p}: {exc.strerror or exc}") from exc
    existed = p.exists() and p.stat().st_size > 0
    try:
        conn = sqlite3.connect(p, timeout=BUSY_TIMEOUT_S, isolation_level=None)
    except sqlite3.Error as exc:
        raise InputError(f"cannot open the history database {p}: {exc}") from exc
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        if existed:
            _check_integrity(conn, p)
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA journal_mode = WAL")
        migrate(conn, migrate_to)
    except sqlite3.OperationalError as exc:
        conn.close()
        raise InputError(f"the history database {p} is not available ({exc}); try again") from exc
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise _damaged(p, str(exc)) from exc
    except BaseException:
        conn.close()
        raise
    return conn


@contextmanager
def opened(path: Path | None = None, *, write: bool = True) -> Iterator[sqlite3.Connection]:
    """`connect`, closed on exit; every database error becomes a one-line `InputError`
    (damage found only while reading or writing, too).

    With ``write``, once the block has succeeded the database is checked again and
    copied to `backup_path` (SQLite's backup API: a consistent snapshot), so a database
    damaged later is restored with everything written until then (`restore_backup`).
    """
    p = Path(path) if path is not None else default_db_path()
    conn = connect(p)
    try:
        yield conn
        if write:
            _check_integrity(conn, p, untouched=False)
            try:
                _copy_database(conn, backup_path(p))
            except OSError as exc:
                raise InputError(
                    f"the history was updated, but its backup copy could not be written "
                    f"({exc.strerror or exc})"
                ) from exc
    except sqlite3.OperationalError as exc:
        raise InputError(f"the history database is not available ({exc}); try again") from exc
    except sqlite3.DatabaseError as exc:  # a damaged page that quick_check did not reach
        raise _damaged(p, str(exc)) from exc
    finally:
        conn.close()


def restore_backup(path: Path | None = None) -> Path:
    """Put the copy made before the last write back in place of a damaged database,
    which is kept beside it with `DAMAGED_SUFFIX` (and its WAL files); returns where."""
    p = Path(path) if path is not None else default_db_path()
    bak = backup_path(p)
    if not bak.exists():
        raise InputError(f"there is no backup of {p} ({bak} does not exist)")
    try:
        src = sqlite3.connect(f"file:{bak}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise InputError(f"cannot open the backup {bak}: {exc}") from exc
    try:
        try:
            _check_integrity(src, bak)
        except HistoryDamagedError as exc:
            raise InputError(f"the backup {bak} is damaged too; nothing was changed") from exc
        kept = p.with_name(p.name + DAMAGED_SUFFIX)
        for suffix in ("", "-wal", "-shm"):
            old = Path(f"{p}{suffix}")
            if old.exists():
                os.replace(old, Path(f"{kept}{suffix}"))
        _copy_database(src, p)
    except OSError as exc:
        raise InputError(f"cannot restore {p} from {bak}: {exc.strerror or exc}") from exc
    finally:
        src.close()
    return kept
