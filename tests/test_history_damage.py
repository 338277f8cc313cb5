"""A history database with a damaged page: found before anything is written to it, one
error line everywhere, and recovered from the copy kept after each good write."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_history import _rep, _session

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


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "data"
    monkeypatch.setenv("TRACKER_DATA_DIR", str(d))
    return d


def filled(db: Path, sessions: int = 15) -> Path:
    """A database of ``sessions`` sessions written as the tool writes (so with its
    backup), checkpointed into the main file."""
    for i in range(sessions):
        with opened(db) as conn:
            add_session(conn, _session(f"fp{i}", reps=[_rep(r) for r in range(1, 6)]))
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


def one_error(result) -> str:
    assert result.exit_code == 1 and result.exception is not None
    assert "Traceback" not in result.output
    err = result.stderr
    assert err.startswith("Error: ") and err.count("\n") == 1, err
    return err


def test_a_damaged_page_is_found_before_writing(tmp_path: Path) -> None:
    db = filled(tmp_path / "h.sqlite")
    damage_a_page(db)
    before = db.read_bytes()
    with pytest.raises(HistoryDamagedError, match=r"is damaged .*nothing was written"):
        with opened(db) as conn:
            add_session(conn, _session("new"))
    assert db.read_bytes() == before


def test_every_command_gives_one_line_and_writes_nothing(tmp_path: Path, recording_csv) -> None:
    db = filled(tmp_path / "h.sqlite", 5)
    damage_a_page(db)
    before = db.read_bytes()
    run = CliRunner().invoke
    err = one_error(run(cli, ["history", "--db", str(db)]))
    assert "is damaged" in err and f"tracker history restore --db {db}" in err
    one_error(run(cli, ["history", "add", str(recording_csv), "--db", str(db)]))
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
        add_session(conn, _session("after"))
    assert sessions_in(db) == 16


def test_without_a_backup_the_message_says_how_to_rebuild(tmp_path: Path) -> None:
    db = filled(tmp_path / "h.sqlite", 3)
    backup_path(db).unlink()
    damage_a_page(db)
    with pytest.raises(HistoryDamagedError, match=r"no backup copy.*add your recordings again"):
        connect(db)
    one_error(CliRunner().invoke(cli, ["history", "restore", "--db", str(db)]))


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
    from tracker.recording.load import save_recording
    from tracker.sim.config import SessionConfig, SetSpec
    from tracker.sim.simulate import simulate_session

    cfg = SessionConfig(seed=3, setup="lumbar", rate_hz=100.0, sets=(SetSpec("deadlift", 3),))
    path = tmp_path_factory.mktemp("hd") / "dl.csv"
    save_recording(simulate_session(cfg).recording, path)
    return path
