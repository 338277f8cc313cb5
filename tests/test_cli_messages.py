"""Messages that must say the truth: --recover where a message offers it, what became
of the output on a full disk, escaped control characters, read-only outputs."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import pytest
from cli_helpers import one_line_error, run

import tracker.cli.live  # noqa: F401  (registers `scan`)
from tracker.cli import terminal_safe
from tracker.devices import ble
from tracker.devices.ble import FoundDevice
from tracker.recording import framing
from tracker.recording.load import save_recording
from tracker.recording.model import DeviceInfo, SessionNotes
from tracker.recording.native import RecordingWriter
from tracker.sim.config import SessionConfig, SetSpec
from tracker.sim.simulate import simulate_session


@pytest.fixture(autouse=True)
def no_history(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACKER_DATA_DIR", str(tmp_path / "data"))


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory):
    cfg = SessionConfig(
        seed=5, setup="dual", rate_hz=100.0, sets=(SetSpec("deadlift", 4),), rest_s=(4.0, 4.0)
    )
    return simulate_session(cfg).recording


@pytest.fixture
def damaged_trk(tmp_path: Path, session) -> Path:
    """A native recording streamed in small records with one record damaged mid-file."""
    path = tmp_path / "dmg.trk"
    with RecordingWriter(path, devices={}, notes=SessionNotes(), flush_interval_s=0.0) as w:
        for i in range(0, len(session.sensors["lumbar"]), 100):
            for p in session.placements:
                w.write_samples(session.sensors[p].slice(i, i + 100))
    data = bytearray(path.read_bytes())
    records = framing.scan(bytes(data)).records
    middle = records[len(records) // 2]
    data[middle.offset + 40] ^= 0xFF
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("command", ["export", "summary", "report", "plot", "replay"])
def test_every_command_that_says_use_recover_has_it(
    command: str, damaged_trk: Path, tmp_path: Path
) -> None:
    out = {"export": "r.csv", "report": "r.html", "plot": "r.png"}.get(command)
    args = [command, str(damaged_trk)] + (["-o", str(tmp_path / out)] if out else [])
    args += ["--fast"] if command == "replay" else []
    err = one_line_error(run(*args, "--no-history") if command == "export" else run(*args))
    assert "use --recover" in err
    result = run(*args, "--recover")
    assert result.exit_code == 0, result.output
    assert "recovered around damaged bytes" in result.output


def test_convert_on_a_full_disk_names_the_output_and_says_what_became_of_it(
    tmp_path: Path, session, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "in.csv"
    save_recording(session, src)
    real_write = os.write
    calls = {"n": 0}

    def full(fd: int, data) -> int:
        calls["n"] += 1
        if calls["n"] > 2:  # the preamble and header go in, then the disk is full
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(fd, data)

    monkeypatch.setattr("tracker.recording.native.os.write", full)
    out = tmp_path / "out.trk"
    err = one_line_error(run("convert", str(src), str(out)))
    full_disk = "No space left on device (the disk is full); nothing was written"
    assert f"cannot write {out}: {full_disk}" in err
    assert ".tmp" not in err and "stays readable" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "in.csv"] or not out.exists()
    assert not any(p.name.endswith(".tmp") for p in tmp_path.iterdir())
    out.write_bytes(b"old")
    calls["n"] = 0
    err = one_line_error(run("convert", str(src), str(out), "--force"))
    assert f"{out} is unchanged" in err and out.read_bytes() == b"old"


def test_a_full_disk_writing_csv_says_the_same(
    tmp_path: Path, session, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "in.trk"
    save_recording(session, src)

    def no_space(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr("tracker.recording.samples_csv.os.fsync", no_space)
    out = tmp_path / "out.csv"
    err = one_line_error(run("convert", str(src), str(out)))
    full_disk = "No space left on device (the disk is full); nothing was written"
    assert f"cannot write {out}: {full_disk}" in err


def test_control_characters_from_a_file_are_escaped(tmp_path: Path, session) -> None:
    path = tmp_path / "evil.trk"
    evil = "X\x1b]0;owned\x07\x1b[2J\u202egnp.exe\nline"
    devices = {"lumbar": DeviceInfo(model=evil, firmware="\x9b31m")}
    with RecordingWriter(path, devices=devices, notes=SessionNotes(text=evil)) as w:
        w.write_samples(session.sensors["lumbar"].slice(0, 500))
    result = run("info", str(path))
    assert result.exit_code == 0, result.output
    for c in ("\x1b", "\x07", "\x9b", "\u202e"):
        assert c not in result.stdout
    assert "X\\x1b]0;owned\\x07\\x1b[2J\\u202egnp.exe" in result.stdout
    weird = tmp_path / "a\x1b[31mb.csv"
    err = one_line_error(run("info", str(weird)))
    assert "\x1b" not in err and "a\\x1b[31mb.csv" in err


def test_scan_escapes_advertised_names(monkeypatch: pytest.MonkeyPatch) -> None:
    async def fake_scan(timeout_s, *, transport=None, include_unsupported=False):
        return [FoundDevice("tracker_imu", "LTRK\x1b[2J\r\x07", "C0:00:00:00:00:07", -48)]

    monkeypatch.setattr(ble, "scan", fake_scan)
    result = run("scan", "--timeout", "1")
    assert result.exit_code == 0 and "\x1b" not in result.stdout and "\r" not in result.stdout
    assert "LTRK\\x1b[2J\\r\\x07" in result.stdout


def test_terminal_safe_keeps_ordinary_text() -> None:
    assert (
        terminal_safe("Polar Sense 1A2B · ±8 g, 9.81 m/s²") == "Polar Sense 1A2B · ±8 g, 9.81 m/s²"
    )


def test_no_command_replaces_a_read_only_output(tmp_path: Path, session) -> None:
    src = tmp_path / "in.csv"
    save_recording(session, src)
    for args, out in (
        (["export", str(src), "--no-history", "-o"], tmp_path / "reps.csv"),
        (["convert", str(src), "--force"], tmp_path / "copy.trk"),
    ):
        out.write_bytes(b"keep me")
        out.chmod(stat.S_IRUSR | stat.S_IRGRP)
        err = one_line_error(run(*args, str(out)))
        assert "is read-only" in err and out.read_bytes() == b"keep me"
        out.chmod(stat.S_IRUSR | stat.S_IWUSR)
        assert run(*args, str(out)).exit_code == 0 and out.read_bytes() != b"keep me"
