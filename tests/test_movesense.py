"""Movesense GSP protocol: vendor-derived vectors, round trips, fuzzing.

No Movesense source publishes a captured IMU6 notification, so the data vector below is
SYNTHETIC: built from the vendor's IMU API (MSFW imu.yaml: u32 ms first-sample timestamp,
m/s^2 and dps float arrays) and checked against the byte offsets the vendor's own bleak
client reads. Command and result bytes are quoted from the vendor's firmware sample and
client. Sources:
MSFW = github.com/JonasPrimbs/movesense-ble-ecg-firmware@6534c14974a2a77576f0e1136a6077ad0103de35.
"""

from __future__ import annotations

import struct

import numpy as np
import pytest
from decoder_helpers import flipped, fuzz, h, only_decode_errors, roundtrip
from hypothesis import given
from hypothesis import strategies as st

from tracker.devices import movesense as ms
from tracker.devices.base import DecodeError
from tracker.errors import InputError
from tracker.units import RAD_PER_DEG

# SYNTHETIC (devices.md 2.3): ref 99, t = 1000 ms, acc (0, 0, 9.775) m/s^2, gyro 0 dps
IMU6_ONE = h(
    "02 63 E8 03 00 00 00 00 00 00 00 00 00 00 66 66 1C 41 00 00 00 00 00 00 00 00 00 00 00 00"
)


def test_synthetic_imu6_vector():
    msg = ms.decode_notification(IMU6_ONE)
    assert msg == ms.DataPart(ref=99, part=1, body=IMU6_ONE[2:])
    packet = ms.decode_data(IMU6_ONE, sample_rate_hz=104)
    assert len(packet) == 1 and packet.seq is None
    assert packet.device_time_s.tolist() == [1.0]
    np.testing.assert_allclose(packet.acc_mps2, [[0, 0, 9.775]], rtol=1e-7)
    np.testing.assert_array_equal(packet.gyro_rad_s, np.zeros((1, 3)))


def test_layout_matches_the_vendor_clients_offsets():
    # MSFW:samples/gatt_sensordata_app/python_client/movesense_sensor_data.py reads
    # get_uint_32(2), get_float_32(6), (10), (14): timestamp and the first sample's acc.
    acc = np.array([[0.5, -9.5, 1.25], [0.25, -9.75, 1.0]])
    gyro = np.array([[10.0, -20.0, 30.0], [1.0, 2.0, 3.0]]) * RAD_PER_DEG
    (note,) = ms.encode_data(99, 123456, acc, gyro)
    assert struct.unpack_from("<I", note, 2)[0] == 123456
    assert struct.unpack_from("<3f", note, 6) == (0.5, -9.5, 1.25)
    # all acc first, then all gyro in deg/s (imu.yaml IMU6Data; ArrayAcc then ArrayGyro)
    assert struct.unpack_from("<3f", note, 6 + 2 * 12) == (10.0, -20.0, 30.0)
    packet = ms.decode_data(note, sample_rate_hz=208)
    np.testing.assert_allclose(packet.device_time_s, [123.456, 123.456 + 1 / 208])
    np.testing.assert_allclose(packet.acc_mps2, acc)
    np.testing.assert_allclose(packet.gyro_rad_s, gyro, rtol=1e-6)


def test_command_vectors():
    # devices.md 2.2: subscribe /Meas/IMU6/52 with ref 0x63
    sub = ms.encode_subscribe_imu6(99, sample_rate_hz=52)
    assert sub == h("01 63 2F 4D 65 61 73 2F 49 4D 55 36 2F 35 32")
    cmd = ms.decode_command(sub)
    assert (cmd.command, cmd.ref, cmd.path, cmd.imu6_rate_hz()) == (1, 99, "/Meas/IMU6/52", 52)
    # MSFW python client: bytearray([1, 99]) + "/Meas/Acc/13"; unsubscribe [2, 99]
    assert ms.encode_subscribe(99, "/Meas/Acc/13") == bytes([1, 99]) + b"/Meas/Acc/13"
    assert ms.decode_command(bytes([1, 99]) + b"/Meas/Acc/13").imu6_rate_hz() is None
    assert ms.encode_unsubscribe(99) == bytes([2, 99])
    assert ms.encode_hello(7) == h("00 07")


def test_command_result_vectors():
    # MSFW GATTSensorDataClient.cpp: HELLO -> {1, ref, 'H','e','l','l','o'}
    hello = ms.decode_notification(bytes([1, 5]) + b"Hello")
    assert hello == ms.CommandResult(5, hello=True) and hello.ok
    assert ms.encode_hello_response(5) == bytes([1, 5]) + b"Hello"
    # no free subscription slot -> {1, ref, 0x01, 0xFB} (507, written big-endian)
    full = ms.decode_notification(h("01 63 01 FB"))
    assert full == ms.CommandResult(99, status=507) and not full.ok
    assert ms.encode_command_result(99, 507) == h("01 63 01 FB")
    # forks write the status little-endian: 200 = C8 00
    assert ms.decode_notification(h("01 63 C8 00")).status == 200


def test_samples_follow_the_first_sample_timestamp():
    n = 8
    acc = np.tile([0.0, 0.0, 9.81], (n, 1))
    notes = ms.encode_data(3, 5000, acc, np.zeros((n, 3)))
    assert len(notes) == 2  # 4 + 8 x 24 = 196 B do not fit the firmware's 158-byte buffer
    dec = ms.Imu6StreamDecoder(3, sample_rate_hz=208)
    assert dec.feed(notes[0]) == []
    (packet,) = dec.feed(notes[1])
    np.testing.assert_allclose(packet.device_time_s, 5.0 + np.arange(n) / 208)


def test_reassembly_releases_a_full_final_part_at_the_next_message():
    size = 2 + 28  # 28 = 4 + 24: a one-sample message exactly fills a notification
    r = ms.DataReassembler(size)
    a = ms.encode_data(9, 1, np.ones((1, 3)), np.zeros((1, 3)), notification_bytes=size)
    b = ms.encode_data(9, 2, np.ones((1, 3)), np.zeros((1, 3)), notification_bytes=size)
    assert len(a) == 1 and len(a[0]) == size
    assert r.feed(a[0]) == []  # might be continued
    done = r.feed(b[0])
    assert done == [(9, a[0][2:])]


def test_reassembly_errors():
    r = ms.DataReassembler()
    with pytest.raises(DecodeError, match="without part 1"):
        r.feed(h("03 01 00 00"))
    assert r.feed(h("01 01 01 FB")) == []  # command results pass through


def test_timestamp_wrap_is_unwrapped():
    dec = ms.Imu6StreamDecoder(1, sample_rate_hz=100)
    z = np.zeros((1, 3))
    (p1,) = dec.feed(ms.encode_data(1, 2**32 - 5, z, z)[0])
    (p2,) = dec.feed(ms.encode_data(1, 5, z, z)[0])
    assert p2.device_time_s[0] - p1.device_time_s[0] == pytest.approx(0.010)


def test_other_subscriptions_are_ignored_by_a_stream_decoder():
    dec = ms.Imu6StreamDecoder(1, sample_rate_hz=100)
    assert dec.feed(IMU6_ONE) == []


# --- round trips --------------------------------------------------------------------------

f32 = st.floats(-1e4, 1e4, width=32)


@roundtrip
@given(
    st.integers(1, 20),
    st.integers(0, 2**32 - 1),
    st.integers(1, 255),
    st.integers(60, 512),
    st.data(),
)
def test_encode_reassemble_decode_round_trip(n, ts_ms, ref, note_bytes, data):
    acc = np.array(data.draw(st.lists(f32, min_size=3 * n, max_size=3 * n))).reshape(n, 3)
    gyro_dps = np.array(data.draw(st.lists(f32, min_size=3 * n, max_size=3 * n))).reshape(n, 3)
    if 4 + 24 * n > 3 * (note_bytes - 2):
        with pytest.raises(InputError):
            ms.encode_data(ref, ts_ms, acc, gyro_dps * RAD_PER_DEG, notification_bytes=note_bytes)
        return
    notes = ms.encode_data(ref, ts_ms, acc, gyro_dps * RAD_PER_DEG, notification_bytes=note_bytes)
    assert all(len(x) <= note_bytes for x in notes)
    r = ms.DataReassembler(note_bytes)
    done = [m for x in notes for m in r.feed(x)]
    # a message whose last part is exactly full is released by the next message
    if not done:
        done = r.feed(ms.encode_data(ref, 0, acc[:1], acc[:1])[0])[:1]
    ((got_ref, body),) = done
    packet = ms.decode_imu6(body, sample_rate_hz=52)
    assert got_ref == ref
    np.testing.assert_array_equal(packet.acc_mps2, acc)
    np.testing.assert_allclose(packet.gyro_rad_s / RAD_PER_DEG, gyro_dps, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(packet.device_time_s, ts_ms / 1000 + np.arange(n) / 52)


@roundtrip
@given(st.integers(1, 255), st.integers(1, 5000))
def test_subscribe_round_trip(ref, rate):
    cmd = ms.decode_command(ms.encode_subscribe_imu6(ref, sample_rate_hz=rate))
    assert (cmd.ref, cmd.imu6_rate_hz()) == (ref, rate)


# --- fuzzing ------------------------------------------------------------------------------


DECODERS = (
    ms.decode_notification,
    ms.decode_command,
    lambda b: ms.decode_data(b, sample_rate_hz=104),
    lambda b: ms.decode_imu6(b, sample_rate_hz=208),
)


@fuzz
@given(st.binary(max_size=600))
def test_fuzz_random_bytes(payload):
    only_decode_errors(DECODERS, payload)


@fuzz
@given(
    st.sampled_from(
        [IMU6_ONE, h("01 63 01 FB"), h("01 63 2F 4D 65 61 73 2F 49 4D 55 36 2F 35 32")]
    ),
    st.lists(st.tuples(st.integers(0, 100), st.integers(0, 255)), max_size=4),
    st.integers(0, 60),
    st.binary(max_size=60),
)
def test_fuzz_mutated_payloads(seed, flips, cut, tail):
    b = flipped(seed, flips)
    only_decode_errors(DECODERS, b)
    only_decode_errors(DECODERS, b[:cut] + tail)


@fuzz
@given(st.lists(st.binary(max_size=200), max_size=8), st.integers(3, 200))
def test_fuzz_reassembler_sequences(notes, size):
    r = ms.DataReassembler(size)
    for n in notes:
        try:
            for _, body in r.feed(n):
                try:
                    ms.decode_imu6(body, sample_rate_hz=104)
                except DecodeError:
                    pass
        except DecodeError:
            pass


def test_truncated_and_oversized_payloads():
    for n in range(len(IMU6_ONE)):
        with pytest.raises(DecodeError):
            ms.decode_data(IMU6_ONE[:n], sample_rate_hz=104)
    with pytest.raises(DecodeError, match="longer than any attribute"):
        ms.decode_data(IMU6_ONE[:6] + bytes(24 * 22), sample_rate_hz=104)
    with pytest.raises(DecodeError, match="NaN"):
        ms.decode_data(IMU6_ONE[:6] + h("00 00 C0 7F") + IMU6_ONE[10:], sample_rate_hz=104)


@pytest.mark.parametrize("rate", [0, -5, float("nan")])
def test_sample_rate_is_validated(rate):
    with pytest.raises(InputError):
        ms.decode_data(IMU6_ONE, sample_rate_hz=rate)


@pytest.mark.parametrize(
    "data, message",
    [
        (h("01 00 2F 41"), "reference 0"),
        (h("07 01"), "unknown Movesense command"),
        (h("01 01 41 42"), "does not start with /"),
        (h("01 01 2F FF"), "not ASCII"),
        (h("00 01 00"), "takes no data"),
    ],
)
def test_malformed_commands(data, message):
    with pytest.raises(DecodeError, match=message):
        ms.decode_command(data)
