"""Batch export: many recordings into a folder in parallel processes, progress, --json;
the single export of the DESIGN contract unchanged."""

from __future__ import annotations

import io
import json
import os
import sqlite3
from pathlib import Path

import pytest
from cli_helpers import run

from tracker.analysis.settings import AnalysisSettings
from tracker.app.export import (
    POOL_MIN_INPUT_BYTES,
    ExportOptions,
    ExportOutcome,
    batch_outputs,
    default_jobs,
    expand_inputs,
    export_many,
    progress_line,
)
from tracker.cli.progress import Progress
from tracker.errors import InputError

RECORDINGS = Path(__file__).resolve().parents[1] / "recordings"
TRKS = sorted(RECORDINGS.glob("*.trk"))
LIMITS = ("--flexion-limit", "20", "--extension-limit", "4")


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    p = tmp_path / "in" / "broken.trk"
    p.parent.mkdir()
    p.write_bytes(b"TRK but not really\x00\x01\x02")
    return p


def test_batch_writes_every_good_file_like_the_single_export_and_reports_the_bad_one(
    tmp_path: Path, broken: Path
) -> None:
    assert len(TRKS) == 3
    out = tmp_path / "out"
    db = tmp_path / "history.sqlite"
    r = run("export", *TRKS, broken, "-o", f"{out}/", "--jobs", 2, "--db", db, *LIMITS, "--json")
    assert r.exit_code == 1, r.output
    assert "Traceback" not in r.output
    errors = [ln for ln in r.stderr.splitlines() if ln.startswith("Error: ")]
    assert errors == ["Error: 1 of 4 recordings failed (see above)"]
    failed = [ln for ln in r.stderr.splitlines() if ln.startswith("Failed: ")]
    assert len(failed) == 1 and str(broken) in failed[0]
    # Plain progress (stderr is not a terminal here): one line per file, no \r.
    steps = [ln for ln in r.stderr.splitlines() if ln.startswith("[")]
    assert sorted(s.split("]")[0] for s in steps) == ["[1/4", "[2/4", "[3/4", "[4/4"]
    assert "\r" not in r.stderr

    summary = json.loads(r.stdout)
    assert summary["written"] == 3 and summary["failed"] == 1
    files = summary["files"]
    assert [f["input"] for f in files] == [str(p) for p in [*TRKS, broken]]  # input order
    assert files[-1]["output"] is None and files[-1]["reps"] is None
    assert str(broken) in files[-1]["error"]
    for f, trk in zip(files[:3], TRKS, strict=True):
        assert f["error"] is None and f["reps"] > 0 and f["sets"] >= 1
        assert f["output"] == str(out / f"{trk.stem}.csv")
        # Byte for byte what the single export writes with the same options.
        single = tmp_path / f"single_{trk.stem}.csv"
        assert run("export", trk, "-o", single, "--no-history", *LIMITS).exit_code == 0
        text = Path(f["output"]).read_text()
        assert text == single.read_text()
        assert len(text.splitlines()) == f["reps"] + 1
    assert not (out / "broken.csv").exists()
    # Every good file went to the history, from two processes at once.
    with sqlite3.connect(db) as conn:
        sources = {row[0] for row in conn.execute("SELECT source FROM sessions")}
        n_reps = conn.execute("SELECT COUNT(*) FROM reps").fetchone()[0]
    assert sources == {str(p) for p in TRKS}
    assert n_reps == sum(f["reps"] for f in files[:3])


def test_single_export_contract_is_unchanged(tmp_path: Path, broken: Path) -> None:
    out = tmp_path / "reps.csv"
    r = run("export", TRKS[0], "-o", out, "--no-history")
    assert r.exit_code == 0, r.output
    assert out.is_file() and r.stdout == ""
    bad = run("export", broken, "-o", tmp_path / "bad.csv", "--no-history")
    assert bad.exit_code == 1
    lines = bad.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and str(broken) in lines[0]
    assert run("export", TRKS[0], "-o", out, "--exercise", "nope").exit_code == 2
    assert run("export", "-o", out).exit_code == 2  # RECORDING missing


def test_single_export_json(tmp_path: Path, broken: Path) -> None:
    out = tmp_path / "reps.csv"
    r = run("export", TRKS[0], "-o", out, "--no-history", "--json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["written"] == 1 and d["failed"] == 0
    (f,) = d["files"]
    assert f["output"] == str(out) and f["error"] is None
    assert f["reps"] == len(out.read_text().splitlines()) - 1
    bad = run("export", broken, "-o", tmp_path / "bad.csv", "--no-history", "--json")
    assert bad.exit_code == 1
    assert json.loads(bad.stdout)["files"][0]["error"].startswith(str(broken))
    assert [ln for ln in bad.stderr.splitlines() if ln.startswith("Error: ")] != []


def test_a_folder_of_recordings_and_an_existing_output_folder(tmp_path: Path) -> None:
    out = tmp_path / "existing"
    out.mkdir()
    r = run("export", RECORDINGS, "-o", out, "--no-history", "--jobs", 1)
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{p.stem}.csv" for p in TRKS)
    # One recording into an existing folder is a batch of one.
    solo = tmp_path / "solo"
    solo.mkdir()
    assert run("export", TRKS[0], "-o", solo, "--no-history").exit_code == 0
    assert (solo / f"{TRKS[0].stem}.csv").is_file()
    # So is one recording with -o naming a new folder by its trailing slash.
    r = run("export", TRKS[0], "-o", f"{tmp_path / 'new'}/", "--no-history", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["files"][0]["output"] == str(
        tmp_path / "new" / f"{TRKS[0].stem}.csv"
    )
    assert (tmp_path / "new" / f"{TRKS[0].stem}.csv").is_file()


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    two = (TRKS[0], TRKS[1])
    assert run("export", *two, "-o", tmp_path / "reps.csv", "--no-history").exit_code == 2
    a_file = tmp_path / "file"
    a_file.write_text("x")
    assert run("export", *two, "-o", a_file, "--no-history").exit_code == 2
    srt = run("export", *two, "-o", tmp_path / "o", "--srt", tmp_path / "s.srt")
    assert srt.exit_code == 2 and "--srt" in srt.output
    assert run("export", *two, "-o", tmp_path / "o", "--jobs", 0).exit_code == 2
    assert not (tmp_path / "o").exists()


def test_colliding_names_fail_before_writing(tmp_path: Path) -> None:
    twin = tmp_path / "other" / TRKS[0].name
    twin.parent.mkdir()
    twin.write_bytes(TRKS[0].read_bytes())
    out = tmp_path / "out"
    r = run("export", TRKS[0], twin, "-o", out, "--no-history")
    assert r.exit_code == 1
    assert r.output.count("Error: ") == 1 and "would both be exported" in r.output
    assert not out.exists()
    with pytest.raises(InputError, match="overwrite an input"):
        batch_outputs([tmp_path / "x.csv"], tmp_path)


def test_export_many_in_process_reports_progress_in_order(tmp_path: Path, broken: Path) -> None:
    seen: list[tuple[int, int, ExportOutcome]] = []
    sources = [broken, TRKS[0]]
    outcomes = export_many(
        sources,
        tmp_path / "o",
        ExportOptions(AnalysisSettings()),
        jobs=1,
        on_done=lambda d, t, o: seen.append((d, t, o)),
    )
    assert [o.source for o in outcomes] == sources
    assert [(d, t) for d, t, _ in seen] == [(1, 2), (2, 2)]
    assert not outcomes[0].ok and outcomes[1].ok
    assert progress_line(1, 2, outcomes[0]) == "[1/2] broken.trk: failed"
    assert progress_line(2, 2, outcomes[1]) == (
        f"[2/2] {TRKS[0].name}: {outcomes[1].sets} sets, {outcomes[1].reps} reps"
    )
    with pytest.raises(InputError, match="--jobs"):
        export_many(sources, tmp_path / "o", ExportOptions(AnalysisSettings()), jobs=0)


def test_expand_inputs_and_default_jobs(tmp_path: Path) -> None:
    assert expand_inputs([RECORDINGS]) == TRKS  # .truth.json and README.md are not inputs
    assert expand_inputs([TRKS[1], TRKS[0]]) == [TRKS[1], TRKS[0]]
    with pytest.raises(InputError, match="holds no recordings"):
        expand_inputs([tmp_path])
    # Small inputs run in this process; big ones get a worker per CPU (at most 8, one
    # per file).
    assert default_jobs(TRKS) == 1
    big = tmp_path / "big.trk"
    with open(big, "wb") as f:
        f.truncate(POOL_MIN_INPUT_BYTES)  # sparse: size without the disk space
    assert default_jobs([big]) == 1
    assert default_jobs([big, *TRKS]) == min(os.cpu_count() or 1, 8, 4)


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_redraws_one_line_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "60")
    tty = _Tty()
    p = Progress(tty)
    p.update("[1/2] long_name.trk: 9 reps in 2 sets")
    p.message("Failed: x")
    p.update("[2/2] b.trk: failed")
    p.close()
    text = tty.getvalue()
    assert text.startswith("\r[1/2] long_name.trk")
    assert "Failed: x\n" in text and text.endswith("\r[2/2] b.trk: failed\n")
    # The status line is wiped before a message, so nothing of it is left on the line.
    wipe = "\r" + " " * len("[1/2] long_name.trk: 9 reps in 2 sets") + "\r"
    assert wipe + "Failed: x" in text
    # Never wider than the terminal (a wrapped line could not be redrawn).
    narrow = _Tty()
    monkeypatch.setenv("COLUMNS", "20")
    Progress(narrow).update("[1/2] a_very_long_recording_name.trk: 9 reps in 2 sets")
    assert narrow.getvalue() == "\r[1/2] a_very_long_r"
    plain = io.StringIO()
    q = Progress(plain)
    q.update("[1/2] a")
    q.update("[2/2] b")
    q.close()
    assert plain.getvalue() == "[1/2] a\n[2/2] b\n"
