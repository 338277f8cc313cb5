"""`tracker live` and `tracker scan` through click, with emulated sensors (no radio)."""

from __future__ import annotations

import csv
import errno
import os
import re
import signal
from pathlib import Path

import pytest
from ble_helpers import NoAdapterScanner
from cli_helpers import assert_one_line_error, run
from click.testing import Result
from live_helpers import SPEED, VIRTUAL_ASYNCIO, write_source

import tracker.cli.live as live_cli
from tracker.devices import ble
from tracker.devices.ble import BleTransport, FoundDevice
from tracker.recording import native
from tracker.recording.native import read_native, read_native_info


@pytest.fixture(autouse=True)
def virtual_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """`tracker live` runs its sessions on a virtual clock: emulated sensors play at
    --speed without the test waiting for them (tests.live_helpers.VirtualClockLoop)."""
    monkeypatch.setattr(live_cli, "asyncio", VIRTUAL_ASYNCIO)


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_source(tmp_path_factory.mktemp("cli_live"))


def live(source: Path, *extra: str | Path) -> Result:
    return run(
        "live",
        "--lumbar",
        f"emulator:{source}",
        "--sacrum",
        f"emulator:{source}",
        "--speed",
        str(SPEED),
        "--no-profile",
        *extra,
    )


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def test_live_recording_exports_like_the_source(source: Path, tmp_path: Path) -> None:
    out = tmp_path / "live.trk"
    result = live(source, "-o", out, "--quiet")
    assert result.exit_code == 0, result.output
    from_live, from_source = tmp_path / "live.csv", tmp_path / "source.csv"
    for rec, csv_path in ((out, from_live), (source, from_source)):
        exported = run("export", rec, "-o", csv_path, "--no-profile")
        assert exported.exit_code == 0, exported.output
    got, want = read_rows(from_live), read_rows(from_source)
    assert len(got) == len(want) == 6
    key = ("set", "rep", "exercise", "flexion_under_load", "overextension")
    assert [[r[k] for k in key] for r in got] == [[r[k] for k in key] for r in want]
    assert [r["flexion_under_load"] for r in want].count("true") == 1
    assert [r["overextension"] for r in want].count("true") == 1
    # Emulated sensors resample and quantise the source: metrics agree to a fraction of
    # a degree; times agree after removing the (constant) offset of the stream's clock.
    offset_s = float(got[0]["start_s"]) - float(want[0]["start_s"])
    for g, w in zip(got, want, strict=True):
        for k in ("hinge_depth_deg", "lumbar_flexion_deg", "lumbar_extension_deg"):
            assert float(g[k]) == pytest.approx(float(w[k]), abs=1.0), k
        assert float(g["lumbar_share"]) == pytest.approx(float(w["lumbar_share"]), abs=0.03)
        for k in ("start_s", "end_s"):
            assert float(g[k]) - offset_s == pytest.approx(float(w[k]), abs=0.03), k


def test_quiet_prints_event_lines_cues_and_the_summary(source: Path, tmp_path: Path) -> None:
    result = live(source, "-o", tmp_path / "q.trk", "--quiet", "--cue", "none")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    (calibrated,) = [line for line in lines if "calibrated lumbar sensor, 3.9 s standing" in line]
    # Reported a while after the standing phase (stamped then): the line says when it was.
    stamp, until = re.fullmatch(
        r"0:(\d\d\.\d\d)  .* standing until 0:(\d\d\.\d\d)", calibrated
    ).groups()
    assert 3.5 < float(until) < float(stamp)
    reps = [line for line in lines if " set 1 rep " in line]
    assert len(reps) == 6
    assert "depth" in reps[0] and "lumbar flexion" in reps[0]
    assert reps[2].endswith("<- FLEXION") and reps[4].endswith("<- OVER-EXTENSION")
    cues = [line for line in lines if "  CUE " in line]
    assert cues and "lumbar flexion" in cues[0]
    assert "\a" not in result.stdout  # --cue none
    assert any(line.endswith("set 1 ended: 6 reps of kettlebell_swing") for line in lines)
    assert "Total: 1 set, 6 reps, 2 flagged" in result.stdout
    assert f"Recording to {tmp_path / 'q.trk'}" in result.stderr
    assert "Stopped (the streams ended)." in result.stderr


def test_cue_after_rep_rings_the_bell_once_per_flagged_rep(source: Path, tmp_path: Path) -> None:
    result = live(source, "-o", tmp_path / "b.trk", "--quiet", "--cue-after-rep")
    assert result.exit_code == 0, result.output
    cues = [line for line in result.stdout.splitlines() if "  CUE " in line]
    assert [c.split("CUE ")[1] for c in cues] == [
        "lumbar flexion 46 deg (rep 3)",
        "over-extension 16 deg (rep 5)",
    ]
    assert result.stdout.count("\a") == 2


def test_speech_without_a_speech_program_falls_back_to_the_bell(
    source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(live_cli, "find_speech_command", lambda: None)
    result = live(source, "-o", tmp_path / "s.trk", "--quiet", "--cue", "speech")
    assert result.exit_code == 0, result.output
    assert "Note: no text-to-speech program found" in result.stderr
    assert result.stdout.count("\a") == result.stdout.count("  CUE ") > 0


def test_max_cues_per_set_bounds_the_cues(source: Path, tmp_path: Path) -> None:
    result = live(source, "-o", tmp_path / "m.trk", "--quiet", "--max-cues-per-set", "1")
    assert result.exit_code == 0, result.output
    assert result.stdout.count("  CUE ") == 1
    assert "held back by the bound" in result.stderr


def test_duration_and_the_default_output_name(
    source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = run(
        "live", "--lumbar", f"emulator:{source}", "--duration", "0.3", "--no-profile", "--quiet"
    )
    assert result.exit_code == 0, result.output
    (written,) = tmp_path.glob("session-*.trk")
    assert f"Recording to {written.name}" in result.stderr
    assert "Stopped (the duration was reached)." in result.stderr
    assert "No summary: " in result.stderr
    assert read_native(written).report.clean_close


def test_ctrl_c_closes_the_recording_and_prints_the_summary(
    source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    killed = []

    def status_then_interrupt(self, status) -> None:
        if status.elapsed_s > 0.5 and not killed:
            killed.append(status.elapsed_s)
            os.kill(os.getpid(), signal.SIGINT)  # the user presses Ctrl-C while streaming

    monkeypatch.setattr(live_cli._TerminalSink, "status", status_then_interrupt)
    out = tmp_path / "c.trk"
    result = run("live", "--lumbar", f"emulator:{source}", "-o", out, "--no-profile", "--quiet")
    assert result.exit_code == 0, result.output
    assert killed and "Stopped (Ctrl-C). Saved " in result.stderr
    recorded = read_native(out)
    assert recorded.report.clean_close and len(recorded.sensors["lumbar"]) > 0


def fill_disk_after(monkeypatch: pytest.MonkeyPatch, path: Path, free_bytes: int) -> None:
    """Writes to ``path`` behave as on a disk with ``free_bytes`` free: the write that
    crosses the limit is cut short, the next one fails with ENOSPC."""
    real_write = os.write

    def write(fd: int, data: bytes) -> int:
        if path.exists() and os.fstat(fd).st_ino == path.stat().st_ino:
            room = free_bytes - os.fstat(fd).st_size
            if room <= 0:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return real_write(fd, bytes(data[:room]))
        return real_write(fd, data)

    monkeypatch.setattr(native.os, "write", write)


def test_disk_full_says_what_is_on_disk_summarises_only_that_and_exits_1(
    source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "full.trk"
    # One sensor, and about half of its session fits (its raw packets take room too, the
    # source holds two sensors' samples): the disk fills in the middle of the set.
    fill_disk_after(monkeypatch, out, free_bytes=len(source.read_bytes()) * 2 // 5)
    result = run(
        "live",
        "--lumbar",
        f"emulator:{source}",
        "--speed",
        str(SPEED),
        "--no-profile",
        "-o",
        out,
        "--quiet",
    )
    monkeypatch.undo()
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert result.stderr.splitlines()[-1] == (
        f"Error: writing recording {out} failed: No space left on device (the disk is full); "
        "what was written before stays readable"
    )
    kept = read_native(out)
    assert not kept.report.clean_close
    n_saved = len(kept.sensors["lumbar"])
    assert 0 < n_saved < 2000
    assert (
        f"Stopped (the disk is full). {out} holds {n_saved} lumbar samples, all that "
        "reached the disk; the summary covers only those."
    ) in result.stderr
    # The summary printed is that of the file: what `tracker summary` says of it.
    summary = run("summary", out, "--no-profile")
    assert summary.exit_code == 0, summary.output
    assert "Total: 1 set, " in summary.stdout and "Total: 1 set, 6 reps" not in summary.stdout
    assert result.stdout.endswith("\n" + summary.stdout)


def test_disk_full_before_any_sample_is_saved(
    source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "header_only.trk"
    real_write = os.write
    calls = []

    def write(fd: int, data: bytes) -> int:
        if out.exists() and os.fstat(fd).st_ino == out.stat().st_ino:
            calls.append(fd)
            if len(calls) > 1:  # only the header fits
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(fd, data)

    monkeypatch.setattr(native.os, "write", write)
    result = live(source, "-o", out, "--quiet")
    monkeypatch.undo()
    assert result.exit_code == 1, result.output
    assert f"{out} holds 0 lumbar samples, 0 sacrum samples" in result.stderr
    assert "No summary: no samples reached the disk" in result.stderr
    assert result.stderr.splitlines()[-1].startswith("Error: writing recording ")
    # What reached the disk (here only the header) still reads.
    assert read_native_info(out).devices["lumbar"].protocol == "tracker_imu"


def test_demo_streams_the_bundled_recording(
    source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    name = Path("recordings") / "test_demo.trk"
    monkeypatch.setattr(live_cli, "DEMO_RECORDING", name)
    missing = run("live", "--demo")
    assert_one_line_error(missing, "the demo recording recordings/test_demo.trk is missing")
    (tmp_path / "recordings").mkdir()
    (tmp_path / name).write_bytes(source.read_bytes())
    # As the README's quick start runs it.
    result = run("live", "--demo", "--speed", "10", "-o", "d.trk", "--no-profile", "-q")
    assert result.exit_code == 0, result.output
    assert "Total: 1 set, 6 reps" in result.stdout


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--lumbar", "emulator:fitbit:x.csv"], "unknown device kind 'fitbit'; supported kinds: "),
        (["--lumbar", "emulator:missing.trk"], "missing.trk: no such file"),
        (["--sacrum", "emulator:"], "names no recording"),
    ],
)
def test_bad_devices_are_one_line_errors(
    args: list[str], expected: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert_one_line_error(run("live", "-o", "x.trk", *args), expected)
    assert not (tmp_path / "x.trk").exists()


def test_no_device_is_a_usage_error() -> None:
    result = run("live")
    assert result.exit_code == 2 and "--lumbar and/or --sacrum" in result.stderr


def test_no_adapter_is_one_line_for_scan_and_live() -> None:
    obj = {"ble_transport": BleTransport(scanner_backend=NoAdapterScanner)}
    assert_one_line_error(run("scan", "--timeout", "0.1", obj=obj), "systemctl start bluetooth")
    assert_one_line_error(
        run("live", "--lumbar", "LTRK0001", obj=obj), "Bluetooth is not available"
    )


def test_scan_lists_kind_name_address_rssi(monkeypatch: pytest.MonkeyPatch) -> None:
    async def fake_scan(timeout_s, *, transport=None, include_unsupported=False):
        assert timeout_s == 2.0 and not include_unsupported
        return [
            FoundDevice("tracker_imu", "LTRK0007", "C0:00:00:00:00:07", -48),
            FoundDevice("polar_pmd", "Polar Sense 1A2B3C4D", "A0:9E:1A:00:00:01", None),
        ]

    monkeypatch.setattr(ble, "scan", fake_scan)
    result = run("scan", "--timeout", "2")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "KIND         NAME                  ADDRESS            RSSI",
        "tracker_imu  LTRK0007              C0:00:00:00:00:07  -48 dBm",
        "polar_pmd    Polar Sense 1A2B3C4D  A0:9E:1A:00:00:01  -",
    ]

    async def nothing(timeout_s, *, transport=None, include_unsupported=False):
        return []

    monkeypatch.setattr(ble, "scan", nothing)
    assert run("scan").stdout.startswith("No supported devices found in 5 s (supported: ")


def test_live_adds_the_session_to_the_history(source: Path, tmp_path: Path) -> None:
    import sqlite3

    db = tmp_path / "history.sqlite"
    result = live(source, "-o", tmp_path / "h.trk", "--quiet", "--cue", "none", "--db", db)
    assert result.exit_code == 0, result.output
    with sqlite3.connect(db) as conn:
        (n_sessions,) = conn.execute("SELECT COUNT(*) FROM sessions").fetchone()
    assert n_sessions == 1
    skipped = live(
        source,
        "-o",
        tmp_path / "n.trk",
        "--quiet",
        "--no-history",
        "--db",
        tmp_path / "other.sqlite",
    )
    assert skipped.exit_code == 0
    assert not (tmp_path / "other.sqlite").exists()


def test_phone_port_is_where_the_phone_receiver_listens(source: Path, tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run(
            "live",
            "--lumbar",
            f"emulator:sensorlogger:{source}",
            "--phone-port",
            port,
            "-o",
            tmp_path / "s.trk",
            "--no-profile",
            "--no-history",
        )
    # The emulated phone would take any free port; told this one, which is taken, the
    # receiver says so in one line.
    assert_one_line_error(result, f"cannot listen on port {port} for the phone")
    assert "--phone-port" in result.stderr


def test_phone_port_without_a_phone_is_a_usage_error(source: Path) -> None:
    result = run("live", "--lumbar", f"emulator:{source}", "--phone-port", 9000)
    assert result.exit_code == 2
    assert "--phone-port is for a phone DEVICE" in result.stderr
