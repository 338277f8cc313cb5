"""`tracker simulate` through click's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tracker.cli import cli
from tracker.recording.load import load_recording


def _run(*args: str) -> object:
    return CliRunner().invoke(cli, ["simulate", *args])


def test_simulate_writes_samples_and_truth(tmp_path: Path) -> None:
    out = tmp_path / "dl.csv"
    res = _run("-o", str(out), "--exercise", "deadlift", "--sets", "1", "--reps", "3",
               "--rest-s", "5", "--setup", "lumbar", "--rate-hz", "52", "--faults", "flexion:2",
               "--seed", "4")  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "Wrote" in res.output
    truth = json.loads((tmp_path / "dl.truth.json").read_text())
    assert [r["rep"] for r in truth["reps"]] == [1, 2, 3]
    assert [r["flexion_under_load"] for r in truth["reps"]] == [False, True, False]
    assert truth["config"]["setup"] == "lumbar"
    rec = load_recording(out)
    assert rec.placements == ("lumbar",)


def test_simulate_preset_native_with_explicit_truth_path(tmp_path: Path) -> None:
    out = tmp_path / "swing.trk"
    truth = tmp_path / "t.json"
    res = _run("-o", str(out), "--preset", "squat_buttwink", "--truth", str(truth),
               "--tier", "easy", "--sacrum-rate-hz", "52")  # fmt: skip
    assert res.exit_code == 0, res.output
    d = json.loads(truth.read_text())
    assert d["config"]["tier"] == "easy"
    assert d["config"]["rate_hz"] == {"lumbar": 208.0, "sacrum": 52.0}
    assert any("butt_wink" in r["faults"] for r in d["reps"])
    assert load_recording(out).is_dual


def test_no_truth_flag(tmp_path: Path) -> None:
    out = tmp_path / "s.csv"
    res = _run("-o", str(out), "--reps", "2", "--sets", "1", "--no-truth", "--clean")
    assert res.exit_code == 0, res.output
    assert out.exists() and not (tmp_path / "s.truth.json").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--faults", "rounding"], "Error: unknown fault 'rounding'"),
        (["--faults", "flexion:two"], "Error: fault reps must be numbers"),
        (["--preset", "nope"], "Error: unknown preset 'nope'"),
        (["--reps", "2"], "Error: cannot tell the format"),
    ],
)
def test_bad_options_exit_1_with_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    out = tmp_path / ("x.txt" if "format" in message else "x.csv")
    res = _run("-o", str(out), "--reps", "2", "--sets", "1", *args)
    assert res.exit_code == 1
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(message), res.output
    assert "Traceback" not in res.output
    assert not out.exists()


def test_help_and_usage_errors() -> None:
    res = CliRunner().invoke(cli, ["simulate", "--help"])
    assert res.exit_code == 0 and "--exercise" in res.output and "truth" in res.output
    assert _run("--tier", "brutal", "-o", "x.csv").exit_code == 2
    assert _run().exit_code == 2  # -o is required


def test_preset_refuses_options_it_would_ignore(tmp_path: Path) -> None:
    res = _run("-o", str(tmp_path / "p.csv"), "--preset", "mixed", "--reps", "3")
    assert res.exit_code == 2
    assert "drop --reps" in res.output
