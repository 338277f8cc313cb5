"""Hostile inputs at the file boundary: devices, FIFOs, pipes, directories, oversized
files, zip bombs and zip archives that are empty, cut off, encrypted or huge, and time
axes that claim absurd spans. Each is one `InputError` (or a correct result), fast."""

from __future__ import annotations

import os
import struct
import threading
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from tracker import limits
from tracker.cli import cli
from tracker.errors import InputError
from tracker.recording import fileio, phone_files
from tracker.recording.load import load_recording, save_recording
from tracker.recording.model import Recording
from tracker.recording.samples_csv import HEADER
from tracker.samples import SensorSamples

RATE_HZ = 100.0


def samples(n: int = 400, placement: str = "lumbar", t0_s: float = 0.0) -> SensorSamples:
    t = t0_s + np.arange(n) / RATE_HZ
    acc = np.column_stack([0.3 * np.sin(t), 0.2 * np.cos(t), 9.81 + 0 * t])
    gyro = np.column_stack([0.1 * np.sin(t), 0 * t, 0 * t])
    return SensorSamples(placement, t, acc, gyro)


@pytest.fixture
def good_csv(tmp_path: Path) -> Path:
    path = tmp_path / "good.csv"
    save_recording(Recording(sensors={"lumbar": samples()}), path)
    return path


def run_cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result
    return result.exit_code, result.stderr


def assert_one_error(args: list[str], expected: str) -> None:
    code, err = run_cli(*args)
    assert code == 1 and err.startswith("Error: ") and err.count("\n") == 1, err
    assert expected in err, err


# ------------------------------------------------------------------ files that never end


def test_a_device_is_refused_before_reading() -> None:
    started = time.monotonic()
    assert_one_error(["info", "/dev/zero"], "is a device, not a file")
    assert time.monotonic() - started < 2.0


def test_a_fifo_nobody_writes_to_is_given_up_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fileio, "STREAM_IDLE_TIMEOUT_S", 0.3)
    fifo = tmp_path / "in.csv"
    os.mkfifo(fifo)
    started = time.monotonic()
    assert_one_error(["info", str(fifo)], "nothing arrived through the pipe in 0.3 s")
    assert time.monotonic() - started < 3.0


def _feed(path: Path | int, data: bytes, delay_s: float = 0.05) -> threading.Thread:
    def write() -> None:
        time.sleep(delay_s)
        if isinstance(path, int):
            os.write(path, data)
            os.close(path)
        else:
            path.write_bytes(data)

    thread = threading.Thread(target=write)
    thread.start()
    return thread


def test_a_fifo_with_a_writer_reads_like_the_file(tmp_path: Path, good_csv: Path) -> None:
    fifo = tmp_path / "in.csv"
    os.mkfifo(fifo)
    feeder = _feed(fifo, good_csv.read_bytes())
    rec = load_recording(fifo)
    feeder.join()
    assert rec.sensors["lumbar"].equals(load_recording(good_csv).sensors["lumbar"])


@pytest.mark.parametrize("suffix", [".csv", ".trk"])
def test_a_pipe_given_as_dev_fd_reads_like_the_file(tmp_path: Path, suffix: str) -> None:
    """`tracker info <(cat rec.csv)`: the shell passes /dev/fd/N, a pipe read once."""
    path = tmp_path / f"good{suffix}"
    save_recording(Recording(sensors={"lumbar": samples()}), path)
    r, w = os.pipe()
    feeder = _feed(w, path.read_bytes())
    try:
        rec = load_recording(f"/dev/fd/{r}")
    finally:
        feeder.join()
        os.close(r)
    assert rec.sensors["lumbar"].equals(load_recording(path).sensors["lumbar"])


def test_a_stream_larger_than_the_limit_is_refused(
    monkeypatch: pytest.MonkeyPatch, good_csv: Path
) -> None:
    monkeypatch.setattr(fileio, "MAX_STREAM_BYTES", 1000)
    r, w = os.pipe()
    feeder = _feed(w, good_csv.read_bytes())
    try:
        with pytest.raises(InputError, match="more than 0 MiB arrived through the pipe"):
            load_recording(f"/dev/fd/{r}")
    finally:
        os.close(r)
        feeder.join()


def test_a_zip_through_a_pipe_is_refused_with_the_reason(tmp_path: Path) -> None:
    r, w = os.pipe()
    feeder = _feed(w, b"PK\x03\x04" + b"\0" * 100)
    try:
        with pytest.raises(InputError, match="zip archive, which cannot be read through a pipe"):
            load_recording(f"/dev/fd/{r}", placement="lumbar")
    finally:
        feeder.join()
        os.close(r)


def test_a_file_larger_than_the_limit_is_refused_unread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, good_csv: Path
) -> None:
    monkeypatch.setattr(fileio, "MAX_INPUT_BYTES", 1000)
    with pytest.raises(InputError, match=r"larger than the largest input read .*MAX_INPUT_BYTES"):
        load_recording(good_csv)
    big = tmp_path / "sparse.trk"
    with open(big, "wb") as f:  # sparse: costs no disk
        f.truncate(2000)
    with pytest.raises(InputError, match="MAX_INPUT_BYTES"):
        load_recording(big)


# ------------------------------------------------------------------ directories


def test_a_large_directory_is_refused_without_walking_it(tmp_path: Path) -> None:
    top = tmp_path / "tree"
    (top / "a").mkdir(parents=True)
    for i in range(phone_files.MAX_FOLDER_ENTRIES + 1):
        (top / "a" / f"{i}.txt").touch()
    started = time.monotonic()
    assert_one_error(["info", str(top)], "MAX_FOLDER_ENTRIES")
    assert time.monotonic() - started < 3.0
    code, err = run_cli("info", "/usr")
    assert (code == 1 and err.count("\n") == 1 and "directory" in err) or "folder" in err


def test_a_directory_that_is_no_export_says_so(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    assert_one_error(["info", str(tmp_path)], "is a directory holding no CSV tables")


# ------------------------------------------------------------------ zip archives


def _sensor_logger_zip(path: Path, gyro: bytes | None = None) -> Path:
    row = "".join(f"17000000000{i}0000000,0.{i},0.1,0.2,9.8\n" for i in range(5))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("TotalAcceleration.csv", "time,seconds_elapsed,x,y,z\n" + row)
        z.writestr("Gyroscope.csv", gyro or ("time,seconds_elapsed,x,y,z\n" + row).encode())
    return path


def test_a_zip_bomb_member_is_refused_by_its_declared_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(phone_files, "MAX_MEMBER_BYTES", 10_000)
    body = b"time,seconds_elapsed,x,y,z\n" + b"1,0.0,0.1,0.2,9.8\n" * 100_000
    path = _sensor_logger_zip(tmp_path / "bomb.zip", body)
    with pytest.raises(InputError, match=r"Gyroscope.csv inflates to 2 MiB, more .*MAX_MEMBER"):
        load_recording(path, placement="lumbar")


def test_a_zip_bomb_with_a_forged_size_is_stopped_while_inflating(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(phone_files, "MAX_MEMBER_BYTES", 10_000)
    body = b"time,seconds_elapsed,x,y,z\n" + b"1,0.0,0.1,0.2,9.8\n" * 100_000
    path = _sensor_logger_zip(tmp_path / "forged.zip", body)
    data = bytearray(path.read_bytes())
    # Claim 5000 bytes inflated in both the local and the central header of the member.
    for sig, size_at in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = next(i for i in _find_all(data, sig) if b"Gyroscope.csv" in data[i : i + 80])
        struct.pack_into("<I", data, at + size_at, 5000)
    path.write_bytes(bytes(data))
    with pytest.raises(InputError) as err:
        load_recording(path, placement="lumbar")
    assert "Gyroscope.csv" in str(err.value)


def _find_all(data: bytes | bytearray, sig: bytes) -> list[int]:
    out, at = [], data.find(sig)
    while at >= 0:
        out.append(at)
        at = data.find(sig, at + 1)
    return out


def test_a_zip_of_many_members_is_refused_fast(tmp_path: Path) -> None:
    path = tmp_path / "many.zip"
    with zipfile.ZipFile(path, "w") as z:
        for i in range(5000):
            z.writestr(f"t{i}.csv", "time,seconds_elapsed,x,y,z\n1,0,1,2,3\n")
    started = time.monotonic()
    assert_one_error(["info", str(path), "--placement", "lumbar"], "5000 entries")
    assert time.monotonic() - started < 3.0


def test_sniffing_a_zip_opens_it_once_per_importer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Linear, not quadratic: the archive is opened a bounded number of times however
    many tables it holds."""
    path = tmp_path / "tables.zip"
    with zipfile.ZipFile(path, "w") as z:
        for i in range(200):
            z.writestr(f"t{i}.csv", "a,b\n1,2\n")
    opened = []
    real = zipfile.ZipFile

    def counting(*args: object, **kwargs: object) -> zipfile.ZipFile:
        opened.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(phone_files.zipfile, "ZipFile", counting)
    with pytest.raises(InputError, match="not a Sensor Logger or phyphox export"):
        load_recording(path)
    assert len(opened) <= 8


def test_empty_truncated_and_encrypted_zips_name_the_cause(tmp_path: Path) -> None:
    empty = tmp_path / "empty.zip"
    with zipfile.ZipFile(empty, "w"):
        pass
    assert_one_error(["info", str(empty)], "zip archive holding no CSV tables")
    whole = _sensor_logger_zip(tmp_path / "whole.zip").read_bytes()
    cut = tmp_path / "cut.zip"
    cut.write_bytes(whole[: len(whole) // 2])
    for extra in ([], ["--placement", "lumbar"]):
        assert_one_error(["info", str(cut), *extra], "damaged or incomplete zip archive")
    locked = bytearray(whole)
    for sig, flags_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        for at in _find_all(locked, sig):
            locked[at + flags_at] |= 0x1
    enc = tmp_path / "enc.zip"
    enc.write_bytes(bytes(locked))
    assert_one_error(["info", str(enc), "--placement", "lumbar"], "is encrypted")


def test_placement_on_a_file_that_is_no_csv_names_the_real_problem(tmp_path: Path) -> None:
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x00\x01\x02binary")
    code, err = run_cli("info", str(junk), "--placement", "lumbar")
    assert code == 1 and "names the placement" not in err and "binary" in err, err


def test_placement_on_a_good_samples_csv_is_still_refused(good_csv: Path) -> None:
    assert_one_error(["info", str(good_csv), "--placement", "lumbar"], "names the placement")


# ------------------------------------------------------------------ time axis


def _csv_with_times(path: Path, time_s: np.ndarray) -> Path:
    s = samples(len(time_s))
    rows = [HEADER] + [
        f"{t:.6f},lumbar,{a[0]:.4f},{a[1]:.4f},{a[2]:.4f},{g[0]:.6f},{g[1]:.6f},{g[2]:.6f}"
        for t, a, g in zip(time_s, s.acc_mps2, s.gyro_rad_s, strict=True)
    ]
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.mark.parametrize(
    ("jump_to_s", "csv_match", "native_match"),
    [
        (1e7, r"lumbar time jumps from 3\.980 s .*MAX_CLOCK_JUMP_S", "MAX_CLOCK_JUMP_S"),
        # Beyond what a clock in seconds reads: refused as a time, naming the row.
        (
            1e15,
            r"line 401, column time_s: 1e\+15 is beyond what a sensor records",
            r"lumbar sample 400: lumbar time 1e\+15 s .*MAX_ABS_TIME_S",
        ),
    ],
)
def test_a_far_off_timestamp_is_an_error_at_load(
    tmp_path: Path, jump_to_s: float, csv_match: str, native_match: str
) -> None:
    t = np.arange(400) / RATE_HZ
    t[-1] = jump_to_s
    path = _csv_with_times(tmp_path / "jump.csv", t)
    with pytest.raises(InputError, match=csv_match):
        load_recording(path)
    native = tmp_path / "jump.trk"
    s = samples(400)
    s.time_s[-1] = jump_to_s
    save_recording(Recording(sensors={"lumbar": s}), native)
    with pytest.raises(InputError, match=native_match):
        load_recording(native)


def test_a_gap_within_the_limit_still_loads(tmp_path: Path) -> None:
    t = np.arange(400) / RATE_HZ
    t[200:] += limits.MAX_CLOCK_JUMP_S - 10.0
    assert len(load_recording(_csv_with_times(tmp_path / "gap.csv", t)).sensors["lumbar"]) == 400


def test_span_and_rate_limits(tmp_path: Path) -> None:
    hours = np.arange(15) * 3000.0  # steps within the jump limit, 11.7 h in all
    t = np.concatenate([np.arange(10) / RATE_HZ, 1.0 + hours])
    path = _csv_with_times(tmp_path / "long.csv", np.concatenate([t, t[-1] + 3000 + t[:10]]))
    with pytest.raises(InputError, match="MAX_RECORDING_SPAN_S"):
        load_recording(path)
    fast = _csv_with_times(tmp_path / "fast.csv", np.arange(400) * 1e-4)
    with pytest.raises(InputError, match="MAX_SAMPLE_RATE_HZ"):
        load_recording(fast)


@pytest.mark.parametrize("suffix", [".trk", ".csv"])
def test_values_beyond_any_sensor_range_are_one_error(tmp_path: Path, suffix: str) -> None:
    """1e308 would overflow every norm (numpy warnings on stderr) and wreck the
    calibration; in any format it is refused, naming the sample. (The samples CSV
    reader's own bounds meet such values first and name the line and column.)"""
    for column, value, limit in (
        ("acc_mps2", 1e308, "MAX_ABS_ACC_MPS2"),
        ("gyro_rad_s", -1e5, "MAX_ABS_GYRO_RAD_S"),
    ):
        s = samples()
        getattr(s, column)[100, 1] = value
        path = tmp_path / f"v{suffix}"
        save_recording(Recording(sensors={"lumbar": s}), path)
        code, err = run_cli("summary", str(path))
        assert code == 1 and err.startswith("Error: ") and err.count("\n") == 1, err
        if suffix == ".csv":
            assert "line 102, column " in err and "is beyond what a sensor records" in err
        else:
            assert "(sample 101) is beyond any sensor's range" in err and limit in err
