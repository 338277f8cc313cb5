"""The profile's shared vectors, run through the C packet code and the Python codec.

firmware_notes/vectors.txt is the vector source (our own profile has no vendor). The C
program firmware_notes/host_check.c is compiled here with the same strict flags as
`make -C firmware_notes check`, then both implementations are checked against the file
and against each other on generated and mutated packets. Hypothesis fuzzes the Python
decoders: only DecodeError may escape them.
"""

from __future__ import annotations

import random
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from decoder_helpers import only_decode_errors
from hypothesis import given, settings
from hypothesis import strategies as st

from tracker.devices import tracker_imu as ti
from tracker.devices.base import DecodeError

FIRMWARE = Path(__file__).resolve().parent.parent / "firmware_notes"
VECTORS = FIRMWARE / "vectors.txt"
STRICT_FLAGS = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-O1"]

# How each C result name shows in the Python DecodeError message.
ERROR_PATTERNS = {
    "truncated": r"truncated",
    "version": r"unsupported profile version",
    "range": r"reserved gyro range code",
    "rate": r"sample rate 0",
    "count": r"sample count 0",
    "oversized": r"oversized",
}


@dataclass
class Valid:
    name: str
    seq: int
    t0_us: int
    rate_qhz: int
    acc_code: int
    gyro_code: int
    samples: np.ndarray  # (n, 6) counts
    data: bytes


@dataclass
class Invalid:
    name: str
    error: str
    data: bytes


def _hex(token: str) -> bytes:
    return b"" if token == "-" else bytes.fromhex(token)


def load_vectors() -> tuple[list[Valid], list[Invalid], list[tuple[int, int, int]]]:
    valid: list[Valid] = []
    invalid: list[Invalid] = []
    batches: list[tuple[int, int, int]] = []
    for line in VECTORS.read_text().splitlines():
        tokens = line.split()
        if not tokens or tokens[0].startswith("#"):
            continue
        if tokens[0] == "valid":
            seq, t0, rate, acc, gyro, count = map(int, tokens[2:8])
            values = list(map(int, tokens[8 : 8 + 6 * count]))
            assert len(tokens) == 9 + 6 * count, tokens[1]
            samples = np.array(values, dtype=np.int64).reshape(count, 6)
            valid.append(Valid(tokens[1], seq, t0, rate, acc, gyro, samples, _hex(tokens[-1])))
        elif tokens[0] == "batch":
            payload, rate_qhz, expected = map(int, tokens[1:])
            batches.append((payload, rate_qhz, expected))
        else:
            assert tokens[0] == "invalid" and len(tokens) == 4, line
            invalid.append(Invalid(tokens[1], tokens[2], _hex(tokens[3])))
    return valid, invalid, batches


VALID, INVALID, BATCHES = load_vectors()


def python_kind(data: bytes) -> str:
    """'ok' or the C result name of the Python decoder's verdict on data."""
    try:
        ti.parse_data_packet(data)
    except DecodeError as exc:
        kinds = [k for k, pattern in ERROR_PATTERNS.items() if re.search(pattern, str(exc))]
        assert len(kinds) == 1, str(exc)
        return kinds[0]
    return "ok"


def python_fields_line(data: bytes) -> str:
    """Decoded fields in host_check's --decode output format."""
    p = ti.parse_data_packet(data)
    head = [
        p.seq,
        p.t0_us,
        p.rate_qhz,
        ti.ACC_RANGES_G.index(p.acc_range_g),
        ti.GYRO_RANGES_DPS.index(p.gyro_range_dps),
        len(p),
    ]
    body = np.hstack([p.acc_counts, p.gyro_counts]).ravel().tolist()
    return " ".join(map(str, head + body))


def python_encode(v: Valid) -> bytes:
    return ti.encode_data_packet(
        seq=v.seq,
        t0_us=v.t0_us,
        sample_rate_hz=v.rate_qhz / 4,
        acc_range_g=ti.ACC_RANGES_G[v.acc_code],
        gyro_range_dps=ti.GYRO_RANGES_DPS[v.gyro_code],
        acc_counts=v.samples[:, :3],
        gyro_counts=v.samples[:, 3:],
    )


# ---- the vector file itself ------------------------------------------------------------


def test_vector_file_covers_every_error_and_the_mtu_limits():
    assert {v.error for v in INVALID} == set(ERROR_PATTERNS)
    assert {expected for _, _, expected in BATCHES} >= {0, 1, 10, 19, 31}
    sizes = {len(v.data) for v in VALID}
    assert 20 in sizes  # one sample in ATT MTU 23
    assert 8 + 19 * 12 in sizes  # MTU 247 full
    assert ti.MAX_PACKET_SIZE in sizes
    assert {(v.acc_code, v.gyro_code) for v in VALID} >= {
        (a, g) for a in range(4) for g in range(5)
    }


@pytest.mark.parametrize("v", VALID, ids=lambda v: v.name)
def test_python_encodes_and_decodes_valid_vectors(v: Valid):
    assert python_encode(v) == v.data
    p = ti.parse_data_packet(v.data)
    assert (p.seq, p.t0_us, p.rate_qhz) == (v.seq, v.t0_us, v.rate_qhz)
    assert (p.acc_range_g, p.gyro_range_dps) == (
        ti.ACC_RANGES_G[v.acc_code],
        ti.GYRO_RANGES_DPS[v.gyro_code],
    )
    np.testing.assert_array_equal(p.acc_counts, v.samples[:, :3])
    np.testing.assert_array_equal(p.gyro_counts, v.samples[:, 3:])


@pytest.mark.parametrize("v", INVALID, ids=lambda v: v.name)
def test_python_rejects_invalid_vectors_for_the_stated_reason(v: Invalid):
    with pytest.raises(DecodeError):
        ti.decode_data_packet(v.data)
    assert python_kind(v.data) == v.error


@pytest.mark.parametrize(("payload", "rate_qhz", "expected"), BATCHES)
def test_python_samples_per_notification_follows_the_batch_vectors(payload, rate_qhz, expected):
    assert ti.samples_per_notification(payload, rate_qhz / 4) == expected


# ---- the C implementation --------------------------------------------------------------


def _c_compiler() -> str | None:
    for name in ("cc", "gcc", "clang"):
        path = shutil.which(name)
        if path:
            return path
    return None


@pytest.fixture(scope="module")
def host_check(tmp_path_factory: pytest.TempPathFactory) -> Path:
    compiler = _c_compiler()
    if compiler is None:
        pytest.fail("no C compiler (cc, gcc or clang) on PATH to build firmware_notes/host_check.c")
    exe = tmp_path_factory.mktemp("host_check") / "host_check"
    sources = [
        FIRMWARE / "host_check.c",
        FIRMWARE / "lumbar_imu" / "packet.c",
        FIRMWARE / "lumbar_imu" / "stream.c",
    ]
    subprocess.run(
        [compiler, *STRICT_FLAGS, "-o", str(exe), *map(str, sources)],
        check=True,
        capture_output=True,
        text=True,
    )
    return exe


def run_c(exe: Path, mode: str, lines: list[str]) -> list[str]:
    out = subprocess.run(
        [str(exe), mode], input="\n".join(lines) + "\n", capture_output=True, text=True, check=True
    )
    result = out.stdout.splitlines()
    assert len(result) == len(lines)
    return result


def test_c_checks_every_vector(host_check: Path):
    out = subprocess.run(
        [str(host_check), str(VECTORS)], capture_output=True, text=True, check=False
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.strip() == f"ok: {len(VALID) + len(INVALID) + len(BATCHES)} vectors"


def test_c_check_fails_on_a_wrong_vector(host_check: Path, tmp_path: Path):
    # The checker must be able to fail: flip one byte of one expected packet.
    v = VALID[0]
    bad = bytearray(v.data)
    bad[-1] ^= 0x01
    line = next(x for x in VECTORS.read_text().splitlines() if x.startswith(f"valid {v.name} "))
    wrong = tmp_path / "wrong.txt"
    wrong.write_text(line.rsplit(" ", 1)[0] + " " + bad.hex() + "\n")
    out = subprocess.run([str(host_check), str(wrong)], capture_output=True, text=True)
    assert out.returncode == 1
    assert "encode gave" in out.stderr


def _random_valid(rng: random.Random) -> Valid:
    n = rng.randint(1, ti.MAX_SAMPLES_PER_PACKET)
    samples = np.array(
        [[rng.randint(-32768, 32767) for _ in range(6)] for _ in range(n)], dtype=np.int64
    )
    v = Valid(
        "generated",
        rng.randrange(256),
        rng.randrange(1 << 32),
        rng.randint(1, ti.MAX_RATE_QHZ),
        rng.randrange(4),
        rng.randrange(5),
        samples,
        b"",
    )
    v.data = python_encode(v)
    return v


def _fields_line(v: Valid) -> str:
    head = [v.seq, v.t0_us, v.rate_qhz, v.acc_code, v.gyro_code, len(v.samples)]
    return " ".join(map(str, head + v.samples.ravel().tolist()))


def test_c_and_python_agree_on_generated_packets_both_ways(host_check: Path):
    rng = random.Random(5)
    packets = [_random_valid(rng) for _ in range(200)]
    # Python encoded -> C decodes to the same fields.
    decoded = run_c(host_check, "--decode", [v.data.hex() for v in packets])
    assert decoded == [_fields_line(v) for v in packets]
    # C encodes the same fields -> the bytes Python made.
    encoded = run_c(host_check, "--encode", [_fields_line(v) for v in packets])
    assert encoded == [v.data.hex() for v in packets]


def _mutations(rng: random.Random, data: bytes) -> bytes:
    b = bytearray(data)
    action = rng.randrange(5)
    if action == 0 and b:
        b[rng.randrange(len(b))] = rng.randrange(256)
    elif action == 1:
        del b[rng.randrange(len(b) + 1) :]
    elif action == 2:
        b += bytes(rng.randrange(256) for _ in range(rng.randint(1, 30)))
    elif action == 3:
        b[0] = rng.randrange(256)  # version and range codes
    else:
        b[6:8] = rng.randrange(1 << 16).to_bytes(2, "little")  # count and rate
    return bytes(b)


def test_c_and_python_give_the_same_verdict_on_mutated_bytes(host_check: Path):
    rng = random.Random(11)
    blobs = [_mutations(rng, _random_valid(rng).data) for _ in range(400)]
    blobs += [bytes(rng.randrange(256) for _ in range(rng.randrange(40))) for _ in range(100)]
    c_out = run_c(host_check, "--decode", [b.hex() or "-" for b in blobs])
    for blob, c_line in zip(blobs, c_out, strict=True):
        kind = python_kind(blob)
        if kind == "ok":
            assert c_line == python_fields_line(blob), blob.hex()
        else:
            assert c_line == f"error {kind}", blob.hex()


# ---- the firmware's sample buffer (lumbar_imu/stream.c) -----------------------------


def run_stream(exe: Path, script: list[str]) -> list[str]:
    out = subprocess.run(
        [str(exe), "--stream"],
        input="\n".join(script) + "\n",
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.splitlines()


def push(t_us: int, sample_id: int) -> str:
    # The sample's ax carries its index, so packets show which samples they hold.
    return f"push {t_us % (1 << 32)} {sample_id} 0 0 0 0 0"


def packets(lines: list[str]) -> list[tuple[int, int, list[int]]]:
    """(t0_us, rate_qhz, sample ids) of every packet the stream produced."""
    result = []
    for line in lines:
        if line in ("none",) or line.startswith("dropped"):
            continue
        fields = list(map(int, line.split()))
        count = fields[5]
        ids = fields[6 : 6 + 6 * count : 6]
        result.append((fields[1], fields[2], ids))
    return result


def status(lines: list[str]) -> dict[str, int]:
    words = next(x for x in reversed(lines) if x.startswith("dropped")).split()
    return {words[i]: int(words[i + 1]) for i in range(0, len(words), 2)}


def test_stream_batches_jittered_reads_and_averages_t0(host_check: Path):
    period_us = 1e6 / 104
    rng = random.Random(2)
    script = [f"reset {period_us}"]
    for i in range(200):
        script += [push(round(i * period_us + rng.uniform(0, 400)), i), "take 10"]
    script.append("status")
    lines = run_stream(host_check, script)
    got = packets(lines)
    assert [ids for _, _, ids in got] == [list(range(k, k + 10)) for k in range(0, 200, 10)]
    assert status(lines) == {"dropped": 0, "buffered": 0, "rate_qhz": 416}
    # t0 estimates the first sample's time (true time + mean read delay of 200 us) better
    # than a single read would (read delays spread over 0..400 us).
    errors = [t0 - (ids[0] * period_us + 200) for t0, _, ids in got]
    assert max(abs(e) for e in errors) < 120
    assert all(abs(rate - 416) <= 1 for _, rate, _ in got)


def test_stream_overflow_drops_the_oldest_and_counts_them(host_check: Path):
    script = ["reset 10000", *(push(i * 10_000, i) for i in range(300)), "status", "take 10"]
    lines = run_stream(host_check, script)
    assert status(lines[:-1]) == {"dropped": 44, "buffered": 256, "rate_qhz": 400}
    [(t0, _, ids)] = packets(lines)
    assert ids == list(range(44, 54)) and t0 == 440_000


def test_stream_never_sends_a_packet_across_a_gap(host_check: Path):
    # Samples 0-4, then the firmware misses 4 reads (a 50 ms hole), then 5 more.
    times = [0, 10_000, 20_000, 30_000, 40_000, 90_000, 100_000, 110_000, 120_000, 130_000]
    script = ["reset 10000"]
    for i, t in enumerate(times):
        script += [push(t, i), "take 10"]
    script.append("status")
    lines = run_stream(host_check, script)
    got = packets(lines)
    assert got == [(0, 400, [0, 1, 2, 3, 4])]  # cut at the gap, sent as soon as it showed
    assert status(lines) == {"dropped": 4, "buffered": 5, "rate_qhz": 400}


def test_stream_measures_the_sensor_rate_against_its_clock(host_check: Path):
    # Nominal 104 Hz, but the IMU's oscillator runs 6 % slow: 98 Hz.
    script = [f"reset {1e6 / 104}", *(push(round(i * 1e6 / 98), i) for i in range(600)), "status"]
    assert abs(status(run_stream(host_check, script))["rate_qhz"] - 392) <= 1


def test_stream_t0_is_right_across_the_micros_wrap(host_check: Path):
    start = (1 << 32) - 45_000
    script = ["reset 10000", *(push(start + i * 10_000, i) for i in range(10)), "take 10"]
    [(t0, _, ids)] = packets(run_stream(host_check, script))
    assert t0 == start and ids == list(range(10))


# ---- fuzzing the Python decoders -----------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_fuzz_data_decoder_random_bytes(data: bytes):
    only_decode_errors((ti.decode_data_packet,), data)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from([v.data for v in VALID]),
    st.integers(0, 10_000),
    st.integers(0, 255),
    st.integers(-20, 20),
)
def test_fuzz_data_decoder_mutated_vectors(data: bytes, pos: int, value: int, grow: int):
    b = bytearray(data)
    b[pos % len(b)] = value
    if grow < 0:
        del b[grow:]
    else:
        b += bytes(grow)
    try:
        packet = ti.decode_data_packet(bytes(b))
    except DecodeError:
        return
    # Whatever decodes is self-consistent.
    assert len(b) == ti.HEADER_SIZE + ti.SAMPLE_SIZE * len(packet)
    assert packet.acc_mps2 is not None and packet.acc_mps2.shape == (len(packet), 3)
    assert np.all(np.diff(packet.device_time_s) > 0)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=16))
def test_fuzz_control_decoders(data: bytes):
    only_decode_errors(
        (ti.decode_control_notification, ti.decode_command, ti.decode_battery_level), data
    )


# ---- the reference sketch -----------------------------------------------------------


@pytest.mark.parametrize(
    "board",
    [
        ["-DARDUINO_SEEED_XIAO_NRF52840_SENSE", "-DPIN_VBAT=32", "-DVBAT_ENABLE=14"],
        ["-DARDUINO_ARDUINO_NANO33BLE"],
    ],
    ids=["xiao_nrf52840_sense", "nano33ble_rev2"],
)
def test_sketch_passes_the_host_syntax_and_type_check(board: list[str]):
    # No ARM toolchain here: the sketch is compiled as C++ against declarations of the
    # Arduino APIs it uses (firmware_notes/sketch_check), as `make sketch-check` does.
    cxx = next((p for p in map(shutil.which, ("c++", "g++", "clang++")) if p), None)
    if cxx is None:
        pytest.fail("no C++ compiler (c++, g++ or clang++) on PATH for the sketch check")
    out = subprocess.run(
        [
            cxx,
            "-std=gnu++17",
            "-fsyntax-only",
            "-Wall",
            "-Wextra",
            "-Werror",
            f"-I{FIRMWARE / 'sketch_check'}",
            f"-I{FIRMWARE / 'lumbar_imu'}",
            *board,
            "-include",
            "Arduino.h",
            "-x",
            "c++",
            str(FIRMWARE / "lumbar_imu" / "lumbar_imu.ino"),
        ],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
