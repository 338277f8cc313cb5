"""`tracker convert` and `tracker info`, including every bad input, through click."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import assert_one_line_error, run
from recording_testdata import BAD_CSV_CASES, EXAMPLE_CSV

from tracker.recording import framing
from tracker.recording.load import save_recording
from tracker.recording.model import UNKNOWN_CREATED_UTC, DeviceInfo, Gap, Recording, SessionNotes
from tracker.recording.native import RecordingWriter
from tracker.recording.samples_csv import write_samples_csv
from tracker.samples import SensorSamples


@pytest.fixture
def csv_file(tmp_path: Path) -> Path:
    p = tmp_path / "s.csv"
    p.write_text(EXAMPLE_CSV)
    return p


def live_recording(path: Path, *, close: bool = True) -> None:
    clock_s = [0.0]
    w = RecordingWriter(
        path,
        devices={"lumbar": DeviceInfo(model="XIAO", firmware="1.0", sample_rate_hz=100.0)},
        notes=SessionNotes(exercise="kettlebell_swing", load_kg=24.0),
        clock=lambda: clock_s[0],
    )
    for k in range(20):
        t = (np.arange(10) + 10 * k) / 100.0
        acc = np.tile([0.0, 0.0, 9.81], (10, 1))
        w.write_samples(SensorSamples("lumbar", t, acc, np.zeros((10, 3))))
        clock_s[0] += 0.25
    w.write_gap(Gap("lumbar", 2.0, 2.5, "BLE disconnect"))
    if close:
        w.close()


def test_convert_csv_to_native_with_notes_and_back(tmp_path: Path, csv_file: Path) -> None:
    trk = tmp_path / "s.trk"
    result = run(
        "convert", csv_file, trk, "--exercise", "deadlift", "--load-kg", "60", "--note", "x"
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"Wrote {trk}: lumbar 2 samples, sacrum 2 samples")
    info = run("info", trk)
    assert info.exit_code == 0
    assert "notes: exercise deadlift, load 60 kg, 'x'" in info.stdout
    assert "format: native recording 1.0, closed cleanly" in info.stdout
    back = tmp_path / "back.csv"
    assert run("convert", trk, back).exit_code == 0
    assert back.read_text() == EXAMPLE_CSV
    csv_info = run("info", back).stdout
    assert "format: samples CSV" in csv_info and "lumbar: 2 samples" in csv_info


def test_convert_units_on_import(tmp_path: Path) -> None:
    n = 200
    t = np.arange(n) / 100
    gyro = np.zeros((n, 3))
    gyro[:, 1] = 200 * np.sin(t * 5)  # deg/s
    acc = np.tile([0.0, 0.0, 1.0], (n, 1))  # g
    src = tmp_path / "g.csv"
    write_samples_csv(Recording(sensors={"lumbar": SensorSamples("lumbar", t, acc, gyro)}), src)
    result = run("convert", src, tmp_path / "o.trk", "--acc-unit", "g", "--gyro-unit", "dps")
    assert result.exit_code == 0, result.output


def test_info_shows_devices_rates_gaps_and_truncated_tail(tmp_path: Path) -> None:
    path = tmp_path / "live.trk"
    live_recording(path)
    data = path.read_bytes()
    path.write_bytes(data[:-30])  # a crash: the end record and part of the last one gone
    result = run("info", path)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "not closed (writer stopped early), truncated tail of" in out
    assert "lumbar device: XIAO, firmware 1.0, 100 Hz nominal" in out
    assert "100.00 Hz measured" in out
    assert "notes: exercise kettlebell_swing, load 24 kg" in out
    assert "lumbar 2.000 to 2.500 s (BLE disconnect)" not in out  # the gap record was cut off
    conv = run("convert", path, tmp_path / "o.csv")
    assert conv.exit_code == 0
    assert conv.stderr.startswith("warning: the recording was not closed cleanly")


def test_info_lists_gaps(tmp_path: Path) -> None:
    path = tmp_path / "live.trk"
    live_recording(path)
    result = run("info", path)
    assert "gaps: 1" in result.stdout
    assert "lumbar 2.000 to 2.500 s (BLE disconnect)" in result.stdout


@pytest.mark.parametrize(("content", "expected"), BAD_CSV_CASES)
@pytest.mark.parametrize("command", ["convert", "info"])
def test_every_bad_samples_csv_is_one_error_line(
    tmp_path: Path, command: str, content: str | bytes, expected: str
) -> None:
    src = tmp_path / "bad.csv"
    src.write_bytes(content.encode() if isinstance(content, str) else content)
    args = [src, tmp_path / "out.trk"] if command == "convert" else [src]
    assert_one_line_error(run(command, *args), expected)
    assert not (tmp_path / "out.trk").exists()


def test_unit_mistakes_through_the_cli(tmp_path: Path) -> None:
    n = 100
    t = np.arange(n) / 100
    in_g = Recording(
        sensors={
            "lumbar": SensorSamples("lumbar", t, np.tile([0, 0, 1.0], (n, 1)), np.zeros((n, 3)))
        }
    )
    write_samples_csv(in_g, tmp_path / "g.csv")
    assert_one_line_error(run("convert", tmp_path / "g.csv", tmp_path / "o.trk"), "--acc-unit g")
    gyro = np.zeros((n, 3))
    gyro[:, 2] = 300 * np.sin(t * 6)
    in_dps = Recording(
        sensors={"lumbar": SensorSamples("lumbar", t, np.tile([0, 0, 9.8], (n, 1)), gyro)}
    )
    write_samples_csv(in_dps, tmp_path / "d.csv")
    assert_one_line_error(run("info", tmp_path / "d.csv"), "--gyro-unit dps")


def test_file_problems_through_the_cli(tmp_path: Path, csv_file: Path) -> None:
    assert_one_line_error(run("info", tmp_path / "missing.csv"), "no such file")
    assert_one_line_error(run("convert", tmp_path, tmp_path / "o.csv"), "is a directory")
    existing = tmp_path / "exists.trk"
    existing.write_bytes(b"keep me")
    assert_one_line_error(run("convert", csv_file, existing), "already exists; use --force")
    assert existing.read_bytes() == b"keep me"
    assert run("convert", csv_file, existing, "--force").exit_code == 0
    assert_one_line_error(run("convert", csv_file, csv_file, "--force"), "is the input file")
    assert_one_line_error(run("convert", csv_file, tmp_path / "o.txt"), "name it .csv")
    assert_one_line_error(
        run("convert", existing, tmp_path / "o.csv", "--acc-unit", "g"), "apply only to samples CSV"
    )
    assert_one_line_error(run("convert", csv_file, tmp_path / "nodir" / "o.csv"), "cannot write")


def test_native_problems_through_the_cli(tmp_path: Path) -> None:
    path = tmp_path / "live.trk"
    live_recording(path)
    data = bytearray(path.read_bytes())
    samples = [r for r in framing.scan(bytes(data)).records if r.record_type == framing.SAMPLES]
    data[samples[1].offset + 60] ^= 0x10
    bad = tmp_path / "bad.trk"
    bad.write_bytes(bytes(data))
    assert_one_line_error(run("info", bad), "use --recover")
    assert_one_line_error(run("convert", bad, tmp_path / "o.csv"), "lumbar 0.")
    ok = run("convert", bad, tmp_path / "o.csv", "--recover")
    assert ok.exit_code == 0 and ok.stderr.startswith("warning: recovered around damaged bytes")
    assert "damaged: bytes" in run("info", bad, "--recover").stdout
    newer = tmp_path / "newer.trk"
    newer.write_bytes(framing.MAGIC + struct.pack("<HH4x", 3, 1) + bytes(data[16:]))
    assert_one_line_error(run("info", newer), "newer than this tracker reads")
    garbage = tmp_path / "garbage.trk"
    garbage.write_bytes(bytes(range(256)) * 4)
    assert_one_line_error(
        run("info", garbage), "not a samples CSV (nor a tracker recording): it holds binary data"
    )


def test_usage_errors_exit_2(csv_file: Path, tmp_path: Path) -> None:
    assert run("convert", csv_file, tmp_path / "o.trk", "--exercise", "curl").exit_code == 2
    assert run("convert", csv_file, tmp_path / "o.trk", "--load-kg", "-5").exit_code == 2
    assert run("convert", csv_file).exit_code == 2


def test_help_texts() -> None:
    for command in ("convert", "info"):
        result = run(command, "--help")
        assert result.exit_code == 0 and len(result.stdout) > 200


def test_info_says_an_unknown_date_is_unknown(tmp_path: Path) -> None:
    samples = SensorSamples("lumbar", np.arange(3) / 100, np.zeros((3, 3)), np.zeros((3, 3)))
    for created, shown in (
        (UNKNOWN_CREATED_UTC, "unknown"),  # a simulated recording: not 1970
        ("2026-03-01T09:30:00Z", "2026-03-01T09:30:00Z"),
    ):
        path = tmp_path / "d.trk"
        save_recording(Recording(sensors={"lumbar": samples}, created_utc=created), path)
        assert f"created: {shown}\n" in run("info", path).stdout
    csv = tmp_path / "d.csv"
    write_samples_csv(Recording(sensors={"lumbar": samples}), csv)
    assert "created: unknown\n" in run("info", csv).stdout
