"""A history database with a damaged page: found before anything is written to it, one
error line everywhere, and recovered from the copy kept after each good write."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from cli_helpers import one_line_error
from click.testing import CliRunner
from history_testdata import stored_rep, stored_session
from recording_testdata import simulated_csv

import tracker.cli.history  # noqa: F401  (registers the `history` command)
from tracker.cli import cli
from tracker.errors import InputError
from tracker.history.db import (
    BACKUP_SUFFIX,
    DAMAGED_SUFFIX,
    HistoryDamagedError,
    backup_path,
    connect,
    opened,
    restore_backup,
)
from tracker.history.store import add_session
from tracker.sim.config import SessionConfig, SetSpec

pytestmark = pytest.mark.usefixtures("data_dir")


def filled(db: Path, sessions: int = 15) -> Path:
    """A database of ``sessions`` sessions written as the tool writes (so with its
    backup), checkpointed into the main file."""
    for i in range(sessions):
        with opened(db) as conn:
            add_session(conn, stored_session(f"fp{i}", reps=[stored_rep(r) for r in range(1, 6)]))
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return db


def damage_a_page(db: Path, page: int = 3) -> None:
    """Overwrite the cells of one b-tree page, keeping its page header."""
    data = bytearray(db.read_bytes())
    size = int.from_bytes(data[16:18], "big")
    start = (page - 1) * size + 12
    data[start : start + 200] = b"\xab" * 200
    db.write_bytes(bytes(data))


def sessions_in(db: Path) -> int:
    conn = connect(db)
    try:
        return conn.execute("SELECT COUNT(*) FROM sessions").fetchone()[0]
    finally:
        conn.close()


def test_a_damaged_page_is_found_before_writing(tmp_path: Path) -> None:
    db = filled(tmp_path / "h.sqlite")
    damage_a_page(db)
    before = db.read_bytes()
    with pytest.raises(HistoryDamagedError, match=r"is damaged .*nothing was written"):
        with opened(db) as conn:
            add_session(conn, stored_session("new"))
    assert db.read_bytes() == before


def test_every_command_gives_one_line_and_writes_nothing(tmp_path: Path, recording_csv) -> None:
    db = filled(tmp_path / "h.sqlite", 5)
    damage_a_page(db)
    before = db.read_bytes()
    run = CliRunner().invoke
    err = one_line_error(run(cli, ["history", "--db", str(db)]))
    assert "is damaged" in err and f"tracker history restore --db {db}" in err
    one_line_error(run(cli, ["history", "add", str(recording_csv), "--db", str(db)]))
    out = tmp_path / "reps.csv"
    r = run(cli, ["export", str(recording_csv), "-o", str(out), "--db", str(db)])
    assert r.exit_code == 0 and out.exists() and "Warning: history not updated" in r.stderr
    assert "is damaged" in r.stderr and "Traceback" not in r.output
    assert db.read_bytes() == before


def test_restore_puts_back_every_session_written_before_the_damage(tmp_path: Path) -> None:
    db = filled(tmp_path / "h.sqlite")
    assert backup_path(db) == tmp_path / f"h.sqlite{BACKUP_SUFFIX}"
    damage_a_page(db)
    r = CliRunner().invoke(cli, ["history", "restore", "--db", str(db)])
    assert r.exit_code == 0, r.output
    assert sessions_in(db) == 15
    assert (tmp_path / f"h.sqlite{DAMAGED_SUFFIX}").exists()
    with opened(db) as conn:  # writable again
        add_session(conn, stored_session("after"))
    assert sessions_in(db) == 16


def test_without_a_backup_the_message_says_how_to_rebuild(tmp_path: Path) -> None:
    db = filled(tmp_path / "h.sqlite", 3)
    backup_path(db).unlink()
    damage_a_page(db)
    with pytest.raises(HistoryDamagedError, match=r"no backup copy.*add your recordings again"):
        connect(db)
    one_line_error(CliRunner().invoke(cli, ["history", "restore", "--db", str(db)]))


def test_a_damaged_backup_is_not_restored(tmp_path: Path) -> None:
    db = filled(tmp_path / "h.sqlite", 5)
    damage_a_page(db)
    damage_a_page(backup_path(db))
    before = db.read_bytes()
    with pytest.raises(InputError, match="damaged too; nothing was changed"):
        restore_backup(db)
    assert db.read_bytes() == before


@pytest.fixture(scope="module")
def recording_csv(tmp_path_factory):
    return simulated_csv(
        tmp_path_factory.mktemp("hd") / "dl.csv",
        SessionConfig(seed=3, setup="lumbar", rate_hz=100.0, sets=(SetSpec("deadlift", 3),)),
    )
