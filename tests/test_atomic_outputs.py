"""Every output file is replaced atomically: when the disk fills up in the middle of
writing it, the earlier file stays as it was, no temporary file is left behind, and the
command says so in one line and exits 1."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import run
from process_helpers import file_size_limit
from recording_testdata import CALIBRATION_SESSION

from tracker.recording import fileio
from tracker.recording.fileio import OutputError, replace_atomically
from tracker.recording.load import save_recording
from tracker.sim import simulate_session

#: Bytes of a new file that fit before the disk is full.
ROOM_BYTES = 100
OLD = b"the earlier, good file\n"


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    sim = simulate_session(CALIBRATION_SESSION)
    path = tmp_path_factory.mktemp("atomic") / "session.trk"
    save_recording(sim.recording, path)
    return path


def temporary_files(folder: Path, of: str = "") -> list[Path]:
    """Hidden files in ``folder`` (those of the file named ``of``, if given)."""
    return [p for p in folder.iterdir() if p.name.startswith(f".{of}")]


def fill_disk(monkeypatch: pytest.MonkeyPatch, out: Path) -> None:
    """Writes to a temporary file for ``out`` hit a full disk after `ROOM_BYTES`: the
    write that crosses it is cut short, the next fails with ENOSPC."""
    real_write = os.write

    def write(fd: int, data: bytes) -> int:
        inode = os.fstat(fd).st_ino
        if any(p.stat().st_ino == inode for p in temporary_files(out.parent, out.name)):
            room = ROOM_BYTES - os.fstat(fd).st_size
            if room <= 0:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return real_write(fd, bytes(data)[:room])
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", write)


#: (output file name, the command that writes it; {rec}: the recording, {out}: the file)
OUTPUTS = {
    "per-rep CSV": ("reps.csv", ["export", "{rec}", "-o", "{out}", "--no-profile"]),
    "subtitles": ("reps.srt", ["export", "{rec}", "-o", "{dir}/r.csv", "--srt", "{out}"]),
    "HTML report": ("report.html", ["report", "{rec}", "-o", "{out}", "--no-profile"]),
    "PNG plot": ("plot.png", ["plot", "{rec}", "-o", "{out}", "--no-profile"]),
    "profile": ("profile.json", ["calibrate", "{rec}", "--profile", "{out}"]),
    "converted recording": ("copy.trk", ["convert", "{rec}", "{out}", "--force"]),
}


@pytest.mark.parametrize("kind", OUTPUTS)
def test_a_full_disk_keeps_the_earlier_file(
    kind: str, recording: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name, template = OUTPUTS[kind]
    out = tmp_path / name
    args = [a.format(rec=recording, out=out, dir=tmp_path) for a in template]
    # The command works, and its file is larger than what fits below.
    good = run(*args)
    assert good.exit_code == 0, good.output
    assert out.stat().st_size > ROOM_BYTES
    out.write_bytes(OLD)
    fill_disk(monkeypatch, out)
    result = run(*args)
    monkeypatch.undo()
    assert result.exit_code == 1, result.output
    assert result.stderr.splitlines()[-1] == (
        f"Error: cannot write {out}: No space left on device (the disk is full); {out} is unchanged"
    )
    assert result.stderr.count("Error: ") == 1 and "Traceback" not in result.output
    assert out.read_bytes() == OLD
    assert temporary_files(tmp_path) == []


def test_trends_csv_keeps_the_earlier_file(
    recording: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db, out = tmp_path / "history.sqlite", tmp_path / "trends.csv"
    assert run("history", "--db", db, "add", recording, "--no-profile").exit_code == 0
    out.write_bytes(OLD)
    real_write = os.write

    def write(fd: int, data: bytes) -> int:  # (the trends are a few hundred bytes)
        if any(p.stat().st_ino == os.fstat(fd).st_ino for p in temporary_files(tmp_path)):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", write)
    result = run("history", "--db", db, "--csv", out)
    monkeypatch.undo()
    assert result.exit_code == 1, result.output
    assert result.stderr.splitlines()[-1] == (
        f"Error: cannot write {out}: No space left on device (the disk is full); {out} is unchanged"
    )
    assert out.read_bytes() == OLD
    assert temporary_files(tmp_path) == []


#: A file size limit below the size of the samples CSV of the recording.
FILE_SIZE_LIMIT_BYTES = 64 * 1024


def test_a_file_size_limit_in_a_real_process_keeps_the_earlier_csv(
    recording: Path, tmp_path: Path
) -> None:
    # No monkeypatch: the operating system itself refuses the write.
    out = tmp_path / "samples.csv"
    out.write_bytes(OLD)
    done = subprocess.run(
        [sys.executable, "-m", "tracker", "convert", str(recording), str(out), "--force"],
        capture_output=True,
        text=True,
        preexec_fn=file_size_limit(FILE_SIZE_LIMIT_BYTES),
        timeout=120,
    )
    assert done.returncode == 1, done.stderr
    assert done.stderr == (
        f"Error: cannot write {out}: File too large (the file would exceed the largest file "
        f"size allowed here); {out} is unchanged\n"
    )
    assert out.read_bytes() == OLD
    assert temporary_files(tmp_path) == []


def test_a_new_file_that_cannot_be_written_is_not_left_behind(tmp_path: Path) -> None:
    out = tmp_path / "new.txt"

    def fail_midway(tmp: Path) -> None:
        tmp.write_bytes(b"half")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with pytest.raises(OutputError) as caught:
        replace_atomically(out, fail_midway)
    assert str(caught.value) == (
        f"cannot write {out}: No space left on device (the disk is full); nothing was written"
    )
    assert list(tmp_path.iterdir()) == []


def test_the_new_file_is_synced_before_it_replaces_the_old(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "f.txt"
    out.write_bytes(OLD)
    order: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(fileio.os, "fsync", lambda fd: (order.append("fsync"), real_fsync(fd)))
    monkeypatch.setattr(
        fileio.os, "replace", lambda a, b: (order.append("replace"), real_replace(a, b))
    )
    replace_atomically(out, "new text")
    monkeypatch.undo()
    assert out.read_text() == "new text"
    # The file's data, then the rename, then the folder (the rename made durable).
    assert order == ["fsync", "replace", "fsync"]
