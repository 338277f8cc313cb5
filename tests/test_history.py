"""History database: schema migrations, idempotent adds, concurrent writers, weekly trends,
and the `history` / `export` commands. No test touches the real user data directory."""

from __future__ import annotations

import csv
import dataclasses
import io
import os
import subprocess
import sys
import textwrap
import threading
import time

import pytest
from click.testing import CliRunner
from history_testdata import stored_rep, stored_session
from recording_testdata import swings_csv
from report_testdata import small_session

import tracker.cli.history  # noqa: F401  (registers the `history` command)
from tracker.cli import cli
from tracker.errors import InputError
from tracker.history import connect, default_db_path, weekly_trends
from tracker.history.db import SCHEMA_VERSION, schema_version
from tracker.history.store import add_session, session_data
from tracker.history.trends import format_trends_csv

pytestmark = pytest.mark.usefixtures("data_dir")


def test_default_db_is_in_the_data_dir(data_dir):
    assert default_db_path() == data_dir / "history.sqlite"
    conn = connect()
    conn.close()
    assert (data_dir / "history.sqlite").exists()


def test_migrations_from_v1_keep_data(tmp_path):
    db = tmp_path / "h.sqlite"
    conn = connect(db, migrate_to=1)
    assert schema_version(conn) == 1
    assert "sets" not in {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    conn.execute(
        "INSERT INTO sessions VALUES (1, 'fp', 'old.trk', '2026-01-05T10:00:00Z', "
        "'2026-01-05T10:00:00Z', 'lumbar', 30.0, NULL, NULL, 36.0, 10.0)"
    )
    conn.execute(
        "INSERT INTO reps VALUES (1, 1, 1, 'squat', 1.0, 3.0, 80.0, NULL, NULL, NULL, NULL, "
        "NULL, 1.0, 1.0, 90.0, NULL)"
    )
    conn.close()
    conn = connect(db)
    assert schema_version(conn) == SCHEMA_VERSION == 2
    versions = [r[0] for r in conn.execute("SELECT version FROM schema_version ORDER BY 1")]
    assert versions == [1, 2]
    (t,) = weekly_trends(conn)
    assert (t.exercise, t.week, t.reps, t.flagged_pct, t.mean_depth_deg) == (
        "squat",
        "2026-W02",
        1,
        None,
        80.0,
    )
    assert conn.execute("SELECT COUNT(*) FROM sets").fetchone()[0] == 0
    conn.close()


def test_newer_schema_and_garbage_files_are_refused(tmp_path):
    db = tmp_path / "h.sqlite"
    conn = connect(db)
    conn.execute("INSERT INTO schema_version VALUES (99, 'future')")
    conn.close()
    with pytest.raises(InputError, match="schema version 99, newer than this tracker"):
        connect(db)
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not a database" * 100)
    with pytest.raises(InputError, match="is not a usable history database"):
        connect(junk)


def test_add_is_idempotent_and_updates(tmp_path):
    conn = connect(tmp_path / "h.sqlite")
    sid, new = add_session(conn, stored_session("abc"))
    assert new
    sid2, new2 = add_session(conn, stored_session("abc", reps=[stored_rep(1, flagged=True)]))
    assert (sid2, new2) == (sid, False)
    assert conn.execute("SELECT COUNT(*) FROM sessions").fetchone()[0] == 1
    assert conn.execute("SELECT COUNT(*), SUM(flexion_under_load) FROM reps").fetchone() == (1, 1)
    conn.close()


def test_weekly_trends_values_and_csv(tmp_path):
    conn = connect(tmp_path / "h.sqlite")
    add_session(
        conn,
        stored_session(
            "a",
            "2026-02-09T08:00:00Z",
            [stored_rep(1, flex=30.0), stored_rep(2, flex=40.0, flagged=True)],
        ),
    )
    add_session(
        conn,
        stored_session(
            "b",
            "2026-02-15T20:00:00Z",  # Sunday: same ISO week
            [stored_rep(1, flex=10.0, depth=50.0, dur=3.0)],
        ),
    )
    add_session(conn, stored_session("c", "2026-02-16T08:00:00Z", [stored_rep(1, flex=20.0)]))
    add_session(
        conn, stored_session("d", "2026-02-16T09:00:00Z", [stored_rep(1, "=evil()", flex=5.0)])
    )
    trends = weekly_trends(conn)
    assert [(t.exercise, t.week) for t in trends] == [
        ("=evil()", "2026-W08"),
        ("deadlift", "2026-W07"),
        ("deadlift", "2026-W08"),
    ]
    w7 = trends[1]
    assert (w7.sessions, w7.reps) == (2, 3)
    assert w7.flagged_pct == pytest.approx(100 / 3)
    assert w7.peak_flexion_deg == 40.0
    assert w7.mean_flexion_deg == pytest.approx(80 / 3)
    assert w7.mean_depth_deg == pytest.approx(170 / 3)
    assert w7.mean_rep_s == pytest.approx(7 / 3)
    assert [t.week for t in weekly_trends(conn, "deadlift")] == ["2026-W07", "2026-W08"]
    rows = list(csv.reader(io.StringIO(format_trends_csv(trends))))
    assert rows[0] == [
        "exercise",
        "week",
        "sessions",
        "reps",
        "flagged_pct",
        "peak_flexion_deg",
        "mean_flexion_deg",
        "mean_depth_deg",
        "mean_rep_s",
    ]
    assert rows[1][0] == "'=evil()"  # spreadsheet-safe
    assert rows[2] == ["deadlift", "2026-W07", "2", "3", "33.3", "40.0", "26.7", "56.7", "2.33"]
    conn.close()


_WRITER = textwrap.dedent(
    """
    import sys
    from tracker.analysis.events import RepMetrics
    from tracker.history import connect
    from tracker.history.store import SessionData, add_session

    import pathlib, time
    db, tag, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    conn = connect(db)
    folder = pathlib.Path(db).parent
    (folder / f"ready-{tag}").touch()
    while not (folder / "go").exists():  # start together with the other writers
        time.sleep(0.001)
    start = time.time()
    for i in range(n):
        if i == n // 2:  # halfway, wait for every writer to be halfway too
            (folder / f"half-{tag}").touch()
            deadline = time.monotonic() + 60
            while len(list(folder.glob("half-*"))) < 4:
                if time.monotonic() > deadline:
                    sys.exit("the other writers never got halfway")
                time.sleep(0.001)
        for fp in (f"{tag}-{i}", "shared"):
            reps = tuple(RepMetrics(1, k, "deadlift", k, k + 2.0, 60.0, 20.0, 0.0, False, False,
                                    0.3, 1.0, 1.0, 150.0) for k in range(1, 6))
            add_session(conn, SessionData(fp, "x", "2026-02-10T09:00:00Z", ("lumbar",), 60.0,
                                          36.0, 10.0, reps))
    print(start, time.time())
    conn.close()
    """
)


def test_two_processes_and_threads_write_at_once(tmp_path):
    db = tmp_path / "h.sqlite"  # created by the writers themselves, concurrently
    n = 60
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(db), tag, str(n)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for tag in ("p1", "p2")
    ]
    errors: list[BaseException] = []
    windows: list[tuple[float, float]] = []
    go = threading.Event()

    def thread_writer(tag):
        try:
            conn = connect(db)
            go.wait(60)
            start = time.time()
            for i in range(n):
                if i == n // 2:  # halfway, wait for every writer to be halfway too
                    (tmp_path / f"half-{tag}").touch()
                    deadline = time.monotonic() + 60
                    while len(list(tmp_path.glob("half-*"))) < 4:
                        assert time.monotonic() < deadline
                        time.sleep(0.001)
                add_session(conn, stored_session(f"{tag}-{i}"))
                add_session(
                    conn, stored_session("shared", reps=[stored_rep(k) for k in range(1, 6)])
                )
            windows.append((start, time.time()))
            conn.close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=thread_writer, args=(f"t{j}",)) for j in range(2)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 60
    while not all((tmp_path / f"ready-{tag}").exists() for tag in ("p1", "p2")):
        assert time.monotonic() < deadline and all(p.poll() is None for p in procs)
        time.sleep(0.005)
    (tmp_path / "go").touch()
    go.set()
    for t in threads:
        t.join()
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err.decode()
        a, b = out.split()
        windows.append((float(a), float(b)))
    assert not errors, [repr(e) for e in errors]
    conn = connect(db)
    assert conn.execute("SELECT COUNT(*) FROM sessions").fetchone()[0] == 4 * n + 1
    # Every session has exactly its own reps: no half-written or doubled session.
    counts = dict(
        conn.execute(
            "SELECT s.fingerprint, COUNT(r.rep_no) FROM sessions s "
            "LEFT JOIN reps r ON r.session_id = s.id GROUP BY s.id"
        ).fetchall()
    )
    assert counts.pop("shared") == 5
    assert set(counts.values()) == {2, 5}
    # The four writers really wrote at the same time (they wait for each other halfway,
    # so a writer starved of CPU cannot finish before another starts).
    assert len(windows) == 4
    assert max(a for a, _ in windows) < min(b for _, b in windows), windows
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


@pytest.fixture(scope="module")
def recording_csv(tmp_path_factory):
    return swings_csv(tmp_path_factory.mktemp("hist"))


def test_export_fills_history_once_and_history_shows_it(recording_csv, tmp_path, data_dir):
    run = CliRunner().invoke
    for _ in range(2):
        r = run(cli, ["export", str(recording_csv), "-o", str(tmp_path / "r.csv")])
        assert r.exit_code == 0, r.output
    r = run(cli, ["history", "add", str(recording_csv)])
    assert r.exit_code == 0, r.output
    assert r.output.startswith("Updated session 1: 1 set, 5 reps")
    conn = connect(data_dir / "history.sqlite")
    assert conn.execute("SELECT COUNT(*) FROM sessions").fetchone()[0] == 1
    conn.close()
    out = tmp_path / "trends.csv"
    r = run(cli, ["history", "--exercise", "kettlebell_swing", "--csv", str(out)])
    assert r.exit_code == 0, r.output
    assert "kettlebell_swing" in r.output and "20%" in r.output
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert len(rows) == 1 and rows[0]["reps"] == "5" and rows[0]["flagged_pct"] == "20.0"
    r = run(cli, ["history", "--exercise", "deadlift"])
    assert r.exit_code == 0 and "No sessions" in r.output


def test_export_no_history_and_explicit_db(recording_csv, tmp_path, data_dir):
    run = CliRunner().invoke
    r = run(cli, ["export", str(recording_csv), "-o", str(tmp_path / "r.csv"), "--no-history"])
    assert r.exit_code == 0, r.output
    assert not (data_dir / "history.sqlite").exists()
    db = tmp_path / "mine.sqlite"
    r = run(cli, ["export", str(recording_csv), "-o", str(tmp_path / "r.csv"), "--db", str(db)])
    assert r.exit_code == 0, r.output
    assert db.exists() and not (data_dir / "history.sqlite").exists()
    r = run(cli, ["history", "--db", str(db), "add", str(recording_csv)])
    assert r.exit_code == 0 and "Updated session 1" in r.output


def test_broken_database_is_one_error_line(recording_csv, tmp_path):
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"x" * 4096)
    r = CliRunner().invoke(cli, ["history", "--db", str(bad)])
    assert r.exit_code == 1
    assert r.output.startswith("Error: ") and r.output.count("\n") == 1
    # export still writes its CSV and only warns.
    out = tmp_path / "r.csv"
    r = CliRunner().invoke(cli, ["export", str(recording_csv), "-o", str(out), "--db", str(bad)])
    assert r.exit_code == 0 and out.exists()
    assert "Warning: history not updated" in r.output


def test_every_history_command_has_help():
    for args in (["history", "--help"], ["history", "add", "--help"]):
        r = CliRunner().invoke(cli, args)
        assert r.exit_code == 0 and len(r.output) > 100


def test_a_session_of_unknown_date_is_dated_by_its_file_not_the_epoch(tmp_path) -> None:
    a = small_session("lumbar")  # simulated: its recording carries the epoch as its date
    source = tmp_path / "sim.trk"
    source.write_bytes(b"")
    os.utime(source, (1_772_357_400, 1_772_357_400))  # 2026-03-01T09:30:00Z
    assert session_data(a.result, a.recording, str(source)).recorded_utc == ("2026-03-01T09:30:00Z")
    dated = dataclasses.replace(a.recording, created_utc="2025-01-02T03:04:05Z")
    assert session_data(a.result, dated, str(source)).recorded_utc == "2025-01-02T03:04:05Z"
