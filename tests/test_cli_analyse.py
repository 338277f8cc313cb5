"""export, summary, replay and calibrate through the CLI: contract columns, exit codes,
one-line errors."""

import csv
import json
from pathlib import Path

import pytest
from cli_helpers import run
from recording_testdata import CALIBRATION_SESSION

from tracker.recording.load import load_recording, save_recording
from tracker.recording.model import Recording
from tracker.sim import simulate_session

RECORDINGS = Path(__file__).resolve().parents[1] / "recordings"
CONTRACT = (
    "set,rep,exercise,start_s,end_s,duration_s,hinge_depth_deg,lumbar_flexion_deg,"
    "lumbar_extension_deg,flexion_under_load,overextension,lumbar_share"
).split(",")


def _error_line(result) -> str:
    text = result.output.strip()
    assert "Traceback" not in text
    lines = [ln for ln in text.splitlines() if ln.startswith("Error: ")]
    assert len(lines) == 1, text
    return lines[0]


def _rows(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_export_writes_the_contract_columns_in_order(tmp_path):
    out = tmp_path / "reps.csv"
    r = run("export", RECORDINGS / "swing_dual.trk", "-o", out, "--no-history")
    assert r.exit_code == 0, r.output
    header = out.read_text().splitlines()[0].split(",")
    assert header[: len(CONTRACT)] == CONTRACT
    rows = _rows(out)
    assert len(rows) >= 20
    assert {r["flexion_under_load"] for r in rows} <= {"true", "false"}
    assert all(float(r["end_s"]) > float(r["start_s"]) for r in rows)
    assert [int(r["rep"]) for r in rows if r["set"] == "1"][:3] == [1, 2, 3]


def test_export_of_a_samples_csv_equals_export_of_the_native_recording(tmp_path):
    csv_path = tmp_path / "swing.csv"
    save_recording(load_recording(RECORDINGS / "swing_dual.trk"), csv_path)
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    assert run("export", RECORDINGS / "swing_dual.trk", "-o", a, "--no-history").exit_code == 0
    assert run("export", csv_path, "-o", b, "--no-history").exit_code == 0
    ra, rb = _rows(a), _rows(b)
    assert len(ra) == len(rb)
    for x, y in zip(ra, rb, strict=True):
        assert x["flexion_under_load"] == y["flexion_under_load"]
        assert float(x["lumbar_flexion_deg"]) == pytest.approx(
            float(y["lumbar_flexion_deg"]), abs=0.2
        )


def test_single_sensor_export_leaves_lumbar_cells_empty(tmp_path):
    out = tmp_path / "reps.csv"
    assert (
        run("export", RECORDINGS / "deadlift_single.trk", "-o", out, "--no-history").exit_code == 0
    )
    rows = _rows(out)
    assert rows
    for r in rows:
        for col in (
            "lumbar_flexion_deg",
            "lumbar_extension_deg",
            "flexion_under_load",
            "overextension",
            "lumbar_share",
        ):
            assert r[col] == ""
        assert r["hinge_depth_deg"] != ""


def test_limits_and_exercise_options(tmp_path):
    base, strict = tmp_path / "a.csv", tmp_path / "b.csv"
    rec = RECORDINGS / "swing_dual.trk"
    assert run("export", rec, "-o", base, "--no-history").exit_code == 0
    r = run(
        "export",
        rec,
        "-o",
        strict,
        "--no-history",
        "--flexion-limit",
        "15",
        "--extension-limit",
        "30",
        "--exercise",
        "romanian_deadlift",
    )
    assert r.exit_code == 0, r.output
    a, b = _rows(base), _rows(strict)
    assert sum(x["flexion_under_load"] == "true" for x in b) > sum(
        x["flexion_under_load"] == "true" for x in a
    )
    assert all(x["overextension"] == "false" for x in b)
    assert {x["exercise"] for x in b} == {"romanian_deadlift"}


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b"", "empty"),
        (b"time_s,sensor,acc_x,acc_y,acc_z,gyro_x,gyro_y,gyro_z\n", "no samples"),
        (b"\x00\x01\x02garbage\xff\xfe", "not"),
    ],
)
def test_export_bad_input_is_one_line_and_exit_1(tmp_path, content, needle):
    bad = tmp_path / "bad.csv"
    bad.write_bytes(content)
    r = run("export", bad, "-o", tmp_path / "out.csv", "--no-history")
    assert r.exit_code == 1
    assert needle in _error_line(r).lower()
    assert not (tmp_path / "out.csv").exists()


def test_export_usage_errors_exit_2(tmp_path):
    rec = RECORDINGS / "swing_dual.trk"
    assert run("export", rec).exit_code == 2  # no -o
    assert run("export", rec, "-o", tmp_path / "x.csv", "--exercise", "curl").exit_code == 2
    assert run("export", rec, "-o", tmp_path / "x.csv", "--flexion-limit", "-3").exit_code == 2


def test_export_without_standing_phase_counts_reps_with_approximate_angles(tmp_path):
    rec = load_recording(RECORDINGS / "swing_dual.trk")
    truth = json.loads((RECORDINGS / "swing_dual.truth.json").read_text())
    t0 = truth["sets"][0]["start_s"] + 1.0
    # Keep only 9 s from the middle of the first set: never still.
    cut = {}
    for p, s in rec.sensors.items():
        i, j = (int(x) for x in s.time_s.searchsorted([t0, t0 + 9.0]))
        cut[p] = s.slice(i, j)
    path = tmp_path / "moving.trk"
    save_recording(Recording(cut), path)
    r = run("export", path, "-o", tmp_path / "out.csv", "--no-history")
    assert r.exit_code == 0
    assert "approximate" in r.output
    rows = (tmp_path / "out.csv").read_text().splitlines()
    header = rows[0].split(",")
    assert len(rows) > 3
    col = header.index("angles_approximate")
    assert all(row.split(",")[col] == "true" for row in rows[1:])


def test_summary_json(tmp_path):
    r = run("summary", RECORDINGS / "swing_dual.trk", "--json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    assert d["lumbar_flexion_measured"] is True
    assert d["totals"]["sets"] == len(d["sets"]) >= 2
    assert d["totals"]["reps"] == sum(s["reps"] for s in d["sets"])
    assert any(s["flagged"] for s in d["sets"])


def test_summary_text_names_flagged_reps_and_the_caveat():
    r = run("summary", RECORDINGS / "squat_buttwink.trk")
    assert r.exit_code == 0
    assert "flagged: rep" in r.output
    assert "not injury predictions" in r.output


def test_replay_prints_events_then_the_summary():
    r = run("replay", RECORDINGS / "squat_buttwink.trk", "--fast")
    assert r.exit_code == 0, r.output
    assert "set 1 started" in r.output
    assert "set 1 rep 6" in r.output
    assert "CUE lumbar flexion" in r.output
    assert r.output.index("set 1 rep 1") < r.output.index("Total:")


def test_calibrate_saves_a_profile_that_export_uses(tmp_path):
    sim = simulate_session(CALIBRATION_SESSION)
    cal = tmp_path / "cal.trk"
    save_recording(sim.recording, cal)
    profile = tmp_path / "profile.json"
    r = run("calibrate", cal, "--profile", profile)
    assert r.exit_code == 0, r.output
    saved = json.loads(profile.read_text())
    true_max = max(x["lumbar_flexion_deg"] for x in json.loads(sim.truth.to_json())["reps"])
    assert saved["max_flexion_deg"] == pytest.approx(true_max, abs=4.0)
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    rec = RECORDINGS / "swing_dual.trk"
    assert run("export", rec, "-o", a, "--no-history", "--no-profile").exit_code == 0
    assert run("export", rec, "-o", b, "--no-history", "--profile", profile).exit_code == 0
    limit = 0.7 * saved["max_flexion_deg"]
    for row in _rows(b):
        assert (row["flexion_under_load"] == "true") == (float(row["lumbar_flexion_deg"]) > limit)


def test_calibrate_needs_two_sensors(tmp_path):
    r = run("calibrate", RECORDINGS / "deadlift_single.trk", "--profile", tmp_path / "p.json")
    assert r.exit_code == 1
    assert "both sensors" in _error_line(r)


def test_a_broken_profile_is_a_clear_error(tmp_path):
    p = tmp_path / "p.json"
    p.write_text("{not json")
    r = run(
        "export",
        RECORDINGS / "swing_dual.trk",
        "-o",
        tmp_path / "o.csv",
        "--no-history",
        "--profile",
        p,
    )
    assert r.exit_code == 1
    assert "calibrate" in _error_line(r)


def test_summary_explain_gives_a_verdict_for_every_counted_rep_and_the_dropped_movements():
    r = run("summary", RECORDINGS / "swing_dual.trk", "--json", "--explain")
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    moves = d["explain"]["movements"]
    counted = [m for m in moves if m["verdict"] == "rep"]
    assert len(counted) == d["totals"]["reps"]
    reps = [x for s in d["sets"] for x in s["rep_details"]]
    assert [(round(x["start_s"], 3), round(x["end_s"], 3)) for x in reps] == [
        (m["start_s"], m["end_s"]) for m in counted
    ]
    # The walk-up and the put-downs around the sets are judged, and each says why.
    others = [m for m in moves if m["verdict"] != "rep"]
    assert others and all(m["reason"] for m in others)
    assert [e["set"] for e in d["explain"]["set_evidence"]] == [s["set"] for s in d["sets"]]


def test_summary_explain_as_text_lists_movements_in_time_order():
    r = run("summary", RECORDINGS / "swing_dual.trk", "--explain")
    assert r.exit_code == 0, r.output
    why = r.output.split("Why:\n", 1)[1].splitlines()
    assert why[0].startswith("  set 1 kettlebell_swing: ")
    moves = [ln for ln in why if ln.startswith("  0:") or ln.startswith("  1:")]
    assert sum(" counted: " in ln for ln in moves) == 22
    assert moves == sorted(moves)


def test_replay_explain_follows_the_summary():
    r = run("replay", RECORDINGS / "swing_dual.trk", "--fast", "--explain")
    assert r.exit_code == 0, r.output
    assert "\nWhy:\n" in r.output and " dropped: " in r.output
