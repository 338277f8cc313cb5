"""Movella DOT codec: hand-checked vectors, round trips, fuzzing.

Neither the vendor's specification nor its example central publishes a captured
notification, so the vectors are SYNTHETIC: written out by hand from the byte layout of
the "Movella DOT BLE Service Specification" (document XD0506P, Rev. C, July 2023),
Table 7 (device control), Table 13 (measurement control) and Tables 15 / 17 (rate
quantities: u32 us, acc f32 x3 m/s^2, gyro f32 x3 deg/s), with float32 values that are
exact in binary so each byte can be checked by eye. The start bytes also match what
the vendor's example central writes (github.com/xsens/xsens_dot_server, bleHandler.js
``enableSensor``: ``[0x01, 0x01, payload id]``).
"""

from __future__ import annotations

import struct

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracker.devices import movella_dot as dot
from tracker.devices.base import DecodeError, DecodeReason
from tracker.errors import InputError
from tracker.units import RAD_PER_DEG

fuzz = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
roundtrip = settings(max_examples=150, deadline=None)


def h(text: str) -> bytes:
    return bytes.fromhex(text)


# t = 1 000 000 us (0x000F4240); acc (0.5, -1.0, 9.75) m/s^2 = 3F000000 BF800000 411C0000;
# gyro (90, -45, 0) deg/s = 42B40000 C2340000 00000000.
RATE_QUANTITIES_ONE = h(
    "40 42 0F 00  00 00 00 3F  00 00 80 BF  00 00 1C 41  00 00 B4 42  00 00 34 C2  00 00 00 00"
)


def test_uuids_follow_the_base_uuid():
    assert dot.MEASUREMENT_SERVICE_UUID == "15172000-4947-11e9-8646-d663bd873d93"
    assert dot.MEASUREMENT_CONTROL_UUID == "15172001-4947-11e9-8646-d663bd873d93"
    assert dot.MEDIUM_PAYLOAD_UUID == "15172003-4947-11e9-8646-d663bd873d93"
    assert dot.DEVICE_CONTROL_UUID == "15171002-4947-11e9-8646-d663bd873d93"
    # the vendor's example central spells it without dashes
    assert dot.MEASUREMENT_CONTROL_UUID.replace("-", "") == "15172001494711e98646d663bd873d93"
    assert dot.COMPANY_ID == 2182
    with pytest.raises(InputError):
        dot.dot_uuid(0x10000)


def test_rate_quantities_vector():
    assert len(RATE_QUANTITIES_ONE) == dot.RATE_QUANTITIES_BYTES == 28
    packet = dot.decode_rate_quantities(RATE_QUANTITIES_ONE)
    assert len(packet) == 1 and packet.seq is None
    assert packet.device_time_s.tolist() == [1.0]
    assert packet.acc_mps2.tolist() == [[0.5, -1.0, 9.75]]
    np.testing.assert_allclose(packet.gyro_rad_s, [[np.pi / 2, -np.pi / 4, 0.0]], rtol=1e-15)
    gyro = np.array([90.0, -45.0, 0.0]) * RAD_PER_DEG
    assert dot.encode_rate_quantities(1_000_000, [0.5, -1.0, 9.75], gyro) == RATE_QUANTITIES_ONE


def test_offsets_match_the_vendor_central():
    # dot_server bleHandler.js: timestamp readUInt32LE(0), getAcceleration(data, 4),
    # getAngularVelocity(data, 16) (mode 20, whose first 28 bytes are mode 21's layout).
    payload = dot.encode_rate_quantities(
        123, [1.25, 2.5, -3.0], np.array([10.0, 20.0, 30.0]) * RAD_PER_DEG
    )
    assert struct.unpack_from("<I", payload, 0) == (123,)
    assert struct.unpack_from("<3f", payload, 4) == (1.25, 2.5, -3.0)
    assert struct.unpack_from("<3f", payload, 16) == pytest.approx((10.0, 20.0, 30.0))


def test_zero_padding_of_the_40_byte_characteristic_is_accepted():
    padded = RATE_QUANTITIES_ONE + bytes(12)
    assert dot.decode_rate_quantities(padded).acc_mps2.tolist() == [[0.5, -1.0, 9.75]]
    with pytest.raises(DecodeError) as info:
        dot.decode_rate_quantities(RATE_QUANTITIES_ONE + b"\x01" + bytes(3))
    assert info.value.reason is DecodeReason.OVERSIZED
    with pytest.raises(DecodeError) as info:
        dot.decode_rate_quantities(padded + b"\x00")
    assert info.value.reason is DecodeReason.OVERSIZED


def test_truncated_and_non_finite_payloads():
    for n in range(len(RATE_QUANTITIES_ONE)):
        with pytest.raises(DecodeError) as info:
            dot.decode_rate_quantities(RATE_QUANTITIES_ONE[:n])
        assert info.value.reason is DecodeReason.TRUNCATED
    for bits in ("00 00 C0 7F", "00 00 80 7F", "01 00 80 FF"):  # NaN, +inf, sNaN
        bad = RATE_QUANTITIES_ONE[:8] + h(bits) + RATE_QUANTITIES_ONE[12:]
        with pytest.raises(DecodeError, match="NaN or infinite"):
            dot.decode_rate_quantities(bad)


def test_measurement_control_vectors():
    assert dot.encode_start() == h("01 01 15")  # payload mode 21, rate quantities
    assert dot.encode_stop() == h("01 00 15")
    assert dot.encode_start(dot.PayloadMode.EXTENDED_QUATERNION) == h("01 01 02")
    control = dot.decode_measurement_control(h("01 01 15"))
    assert control.start and control.payload_mode == dot.PayloadMode.RATE_QUANTITIES
    assert not dot.decode_measurement_control(h("01 00 14")).start


@pytest.mark.parametrize(
    "data, message",
    [
        (h("01 01"), "2 bytes"),
        (h("01 01 15 00"), "4 bytes"),
        (h("02 01 15"), "control type 2"),
        (h("01 02 15"), "action 2"),
    ],
)
def test_malformed_measurement_control(data, message):
    with pytest.raises(DecodeError, match=message):
        dot.decode_measurement_control(data)


def test_output_rate_write_vector():
    # Table 7: visit index b4 (0x10) = output rate; the rate is u16 at offset 24
    # (1 visit + 1 identify + 1 power + 4 power-saving + 1 tag length + 16 tag = 24).
    write = dot.encode_set_output_rate(30)
    assert write == h("10") + bytes(23) + h("1E 00") + bytes(6)
    control = dot.decode_device_control(write)
    assert control.visit_index == dot.VisitIndex.OUTPUT_RATE
    assert control.output_rate_hz == 30
    for bad in (0, 5, 100, 120):  # 120 Hz is for recording only
        with pytest.raises(InputError, match="streams at"):
            dot.encode_set_output_rate(bad)


def test_device_control_read_round_trip_with_tag():
    value = dot.DeviceControl(dot.VisitIndex(0), output_rate_hz=60, filter_profile=1, tag="L1")
    raw = dot.encode_device_control(value)
    assert raw[7:10] == h("02") + b"L1" and raw[26] == 1
    assert dot.decode_device_control(raw) == value
    with pytest.raises(DecodeError) as info:
        dot.decode_device_control(raw[:31])
    assert info.value.reason is DecodeReason.TRUNCATED
    with pytest.raises(DecodeError, match="tag length"):
        dot.decode_device_control(raw[:7] + b"\x11" + raw[8:])
    with pytest.raises(InputError):
        dot.encode_device_control(dot.DeviceControl(dot.VisitIndex(0), 60, tag="x" * 17))


def test_timestamp_wrap_is_unwrapped():
    # 2^32 us = 4294.967296 s = 71.6 min
    dec = dot.RateQuantitiesDecoder()
    z = np.zeros(3)
    period_us = 16_667
    first = dot.TIMESTAMP_MODULUS_US - 2 * period_us
    times = []
    for k in range(5):
        ts = (first + k * period_us) % dot.TIMESTAMP_MODULUS_US
        times.append(dec.feed(dot.encode_rate_quantities(ts, z, z)).device_time_s[0])
    np.testing.assert_allclose(np.diff(times), period_us * 1e-6, rtol=1e-9)
    assert times[-1] > dot.TIMESTAMP_MODULUS_US * 1e-6


def test_a_late_packet_from_before_the_wrap_keeps_its_time():
    u = dot.TimestampUnwrapper()
    top = dot.TIMESTAMP_MODULUS_US
    assert u.unwrap(top - 100) == top - 100
    assert u.unwrap(50) == top + 50
    assert u.unwrap(top - 60) == top - 60  # arrived late: before the wrap, not 71 min on
    assert u.unwrap(90) == top + 90


# --- round trips --------------------------------------------------------------------------

f32 = st.floats(-1e4, 1e4, width=32)


@roundtrip
@given(st.integers(0, 2**32 - 1), st.lists(f32, min_size=6, max_size=6), st.integers(0, 12))
def test_encode_decode_round_trip(ts_us, values, pad):
    acc = np.array(values[:3])
    gyro_dps = np.array(values[3:])
    payload = dot.encode_rate_quantities(ts_us, acc, gyro_dps * RAD_PER_DEG) + bytes(pad)
    packet = dot.decode_rate_quantities(payload)
    assert packet.device_time_s.tolist() == [ts_us / 1e6]
    np.testing.assert_array_equal(packet.acc_mps2[0], acc)
    np.testing.assert_allclose(packet.gyro_rad_s[0] / RAD_PER_DEG, gyro_dps, rtol=1e-6, atol=1e-6)


@roundtrip
@given(st.sampled_from(dot.LIVE_OUTPUT_RATES_HZ))
def test_output_rate_round_trip(rate):
    assert dot.decode_device_control(dot.encode_set_output_rate(rate)).output_rate_hz == rate


@roundtrip
@given(st.integers(0, 2**32 - 1), st.lists(st.integers(1, 200_000), min_size=1, max_size=40))
def test_unwrapped_time_follows_every_forward_step(start, steps):
    u = dot.TimestampUnwrapper()
    t = start
    got = [u.unwrap(t)]
    for step in steps:
        t += step
        got.append(u.unwrap(t % dot.TIMESTAMP_MODULUS_US))
    assert np.diff(got).tolist() == steps


# --- fuzzing ------------------------------------------------------------------------------


def _only_decode_errors(payload: bytes) -> None:
    for decode in (
        dot.decode_rate_quantities,
        dot.decode_measurement_control,
        dot.decode_device_control,
        dot.payload_timestamp_us,
        lambda b: dot.RateQuantitiesDecoder().feed(b),
    ):
        try:
            decode(payload)
        except DecodeError:
            pass


@fuzz
@given(st.binary(max_size=80))
def test_fuzz_random_bytes(payload):
    _only_decode_errors(payload)


@fuzz
@given(
    st.sampled_from(
        [RATE_QUANTITIES_ONE, dot.encode_set_output_rate(60), h("01 01 15"), bytes(40)]
    ),
    st.lists(st.tuples(st.integers(0, 100), st.integers(0, 255)), max_size=4),
    st.integers(0, 40),
    st.binary(max_size=20),
)
def test_fuzz_mutated_payloads(seed, flips, cut, tail):
    b = bytearray(seed)
    for pos, val in flips:
        b[pos % len(b)] = val
    _only_decode_errors(bytes(b))
    _only_decode_errors(bytes(b[:cut]) + tail)


def test_gaps_between_one_sample_packets_are_found_from_the_steps():
    # A DOT sends one sample per notification: the period comes from the steps between
    # packets, and a step that is itself a gap does not teach the period.
    from tracker.devices.stream_tracking import TimestampGapTracker

    period_s = 1 / 60
    tracker = TimestampGapTracker()
    times = [k * period_s for k in [*range(20), *range(24, 40), *range(41, 50)]]
    missing = [tracker.update(t, t, 1) for t in times]
    assert missing[20] == 4  # samples 20-23 lost
    assert missing[36] == 1  # sample 40 lost
    assert sum(missing) == 5
    assert tracker.period_s == pytest.approx(period_s)
