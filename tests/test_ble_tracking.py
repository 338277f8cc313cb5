"""Pure stream bookkeeping: sequence gaps, timestamp gaps, device -> session clock, and
why a payload was refused."""

from __future__ import annotations

import pickle
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracker.devices.base import DecodeError, DecodeReason
from tracker.devices.host_protocols import AccGyroPairer
from tracker.devices.stream_tracking import ClockMapper, SequenceTracker, TimestampGapTracker


def test_uint16_sequence_gaps_across_the_wrap() -> None:
    # ble-testing.md: drops {65510, 65511, 65535, 0, 5, 40..44} injected across the wrap.
    dropped = {65510, 65511, 65535, 0, 5, *range(40, 45)}
    sent = [s % 65536 for s in range(65500, 65536 + 60) if s % 65536 not in dropped]
    tracker = SequenceTracker()
    losses = [tracker.update(s) for s in sent]
    assert sum(losses) == len(dropped) == 10
    gaps = [(sent[i - 1] + 1, n) for i, n in enumerate(losses) if n]
    assert gaps == [(65510, 2), (65535, 2), (5, 1), (40, 5)]


def test_duplicates_and_late_packets_are_not_losses() -> None:
    tracker = SequenceTracker(256)
    assert [tracker.update(s) for s in (250, 251, 251, 249, 253, 2)] == [0, 0, 0, 0, 1, 4]
    tracker.reset()
    assert tracker.update(100) == 0  # after a reconnect the counter starts afresh


@settings(max_examples=50, deadline=None)
@given(
    modulus=st.sampled_from([256, 65536]),
    start=st.integers(0, 65535),
    steps=st.lists(st.integers(1, 100), min_size=1, max_size=60),
)
def test_lost_count_equals_skipped_numbers(modulus: int, start: int, steps: list[int]) -> None:
    tracker = SequenceTracker(modulus)
    seq = start % modulus
    tracker.update(seq)
    lost = 0
    for step in steps:
        seq = (seq + step) % modulus
        lost += tracker.update(seq)
    assert lost == sum(steps) - len(steps)


def test_timestamp_gaps_are_measured_in_periods() -> None:
    tracker = TimestampGapTracker()
    period = 0.01
    assert tracker.update(0.0, 0.09, 10) == 0
    assert tracker.update(0.10, 0.19, 10) == 0
    assert tracker.update(0.30, 0.39, 10) == 10  # 0.20 .. 0.29 missing
    assert tracker.period_s == pytest.approx(period)
    tracker.reset()
    assert tracker.update(5.0, 5.09, 10) == 0  # no gap across a reset


def test_clock_mapper_anchors_once_and_reanchors_after_a_reboot() -> None:
    clock = ClockMapper(speed=1.0)
    offset = clock.map((100.0,), host_arrival_s=2.0)
    assert offset == pytest.approx(-98.0)
    assert clock.map((101.0,), host_arrival_s=3.05) == offset  # latency does not move it
    assert clock.offset_error_s == pytest.approx(0.05)
    assert clock.map((3.0,), host_arrival_s=4.0) == pytest.approx(1.0)  # clock went back
    assert clock.reanchors == 1
    fast = ClockMapper(speed=20.0)
    assert fast.map((10.0,), host_arrival_s=1.0) == pytest.approx(10.0)
    with pytest.raises(ValueError):
        ClockMapper(speed=0.0)


def test_pairer_interpolates_gyro_and_drops_acc_inside_gyro_holes() -> None:
    rate = 100.0
    t = np.arange(40) / rate
    pairer = AccGyroPairer(rate)
    acc = np.column_stack([t, 2 * t, 3 * t])
    gyro = np.column_stack([-t, t**2, np.ones_like(t)])
    hole = (t >= 0.2) & (t < 0.25)  # one lost gyro frame
    pairer.add_acc(t[:20], acc[:20])
    assert pairer.pop() is None  # no gyro yet
    pairer.add_gyro(t[:20], gyro[:20])
    first = pairer.pop()
    assert first is not None and np.array_equal(first.device_time_s, t[:20])
    np.testing.assert_allclose(first.gyro_rad_s, gyro[:20])
    pairer.add_acc(t[20:], acc[20:])
    pairer.add_gyro(t[20:][~hole[20:]], gyro[20:][~hole[20:]])
    second = pairer.pop()
    assert second is not None
    np.testing.assert_array_equal(second.device_time_s, t[20:][~hole[20:]])
    np.testing.assert_allclose(second.acc_mps2, acc[20:][~hole[20:]])
    assert pairer.dropped == 5


# --- decode failures carry their reason -------------------------------------------------


def _imu_packet() -> bytes:
    from tracker.devices import tracker_imu as imu

    counts = np.zeros((4, 3), dtype=np.int16)
    return imu.encode_data_packet(
        seq=1,
        t0_us=1000,
        sample_rate_hz=100.0,
        acc_range_g=8,
        gyro_range_dps=2000,
        acc_counts=counts,
        gyro_counts=counts,
    )


def _decoders() -> dict[str, Callable[[bytes], object]]:
    from tracker.devices import movesense as ms
    from tracker.devices import polar_pmd as pmd
    from tracker.devices import tracker_imu as imu

    return {
        "tracker_imu": imu.decode_data_packet,
        "polar_pmd": lambda p: pmd.decode_data(p, sample_rate_hz=52, factor=1.0),
        "movesense": lambda p: ms.decode_data(p, sample_rate_hz=104),
    }


@pytest.mark.parametrize(
    "kind, payload, reason",
    [
        ("tracker_imu", _imu_packet()[:-3], DecodeReason.TRUNCATED),
        ("tracker_imu", b"", DecodeReason.TRUNCATED),
        ("tracker_imu", _imu_packet() + bytes(13), DecodeReason.OVERSIZED),
        ("tracker_imu", bytes([0xE0]) + _imu_packet()[1:], DecodeReason.INVALID),  # version 7
        ("polar_pmd", bytes.fromhex("02 00 00 00 00"), DecodeReason.TRUNCATED),
        (
            "polar_pmd",
            bytes.fromhex("02 00 00 00 00 00 00 00 00 01") + bytes(600),
            DecodeReason.OVERSIZED,
        ),
        (
            "polar_pmd",
            bytes.fromhex("01 00 00 00 00 00 00 00 00 00 00 00 00"),
            DecodeReason.INVALID,
        ),
        ("movesense", b"\x02", DecodeReason.TRUNCATED),
        ("movesense", b"\x02\x01" + bytes(600), DecodeReason.OVERSIZED),
    ],
)
def test_a_decode_failure_says_why_as_data(kind: str, payload: bytes, reason: DecodeReason) -> None:
    with pytest.raises(DecodeError) as caught:
        _decoders()[kind](payload)
    assert caught.value.reason is reason


def test_a_decode_error_keeps_its_reason_through_pickle() -> None:
    # (Errors cross process pools in batch work.)
    error = DecodeError("cut off", DecodeReason.TRUNCATED)
    back = pickle.loads(pickle.dumps(error))
    assert (str(back), back.reason) == ("cut off", DecodeReason.TRUNCATED)
    assert DecodeError("bad field").reason is DecodeReason.INVALID
