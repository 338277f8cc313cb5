"""The tracker IMU profile codec (tracker/devices/tracker_imu.py) against its spec.

The spec is firmware_notes/README.md and its C mirror firmware_notes/lumbar_imu/packet.h;
tests here pin scaling, timing, batching, control messages and battery, and check that
the README and packet.h state the same numbers as the Python constants.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tracker.devices import tracker_imu as ti
from tracker.devices.base import DecodeError
from tracker.units import G_MPS2

FIRMWARE = Path(__file__).resolve().parent.parent / "firmware_notes"
README = (FIRMWARE / "README.md").read_text()
PACKET_H = (FIRMWARE / "lumbar_imu" / "packet.h").read_text()


def one_packet(**overrides) -> bytes:
    fields = dict(
        seq=0,
        t0_us=0,
        sample_rate_hz=100.0,
        acc_range_g=4,
        gyro_range_dps=2000,
        acc_counts=np.zeros((1, 3), dtype=np.int16),
        gyro_counts=np.zeros((1, 3), dtype=np.int16),
    )
    fields.update(overrides)
    return ti.encode_data_packet(**fields)


# ---- GATT and spec consistency -----------------------------------------------------------


def test_custom_uuids_share_one_random_base():
    custom = [ti.SERVICE_UUID, ti.DATA_CHAR_UUID, ti.CONTROL_CHAR_UUID]
    assert uuid.UUID(ti.UUID_BASE).version == 4
    assert all(u[:4] + u[8:] == ti.UUID_BASE[:4] + ti.UUID_BASE[8:] for u in custom)
    parsed = [uuid.UUID(u) for u in custom]
    assert all(str(p) == u for p, u in zip(parsed, custom, strict=True))  # lower-case, canonical
    assert all(p.version == 4 for p in parsed)
    assert {u[:4] + u[8:] for u in custom} == {custom[0][:4] + custom[0][8:]}
    assert [u[4:8] for u in custom] == ["0001", "0002", "0003"]


def test_gatt_profile_lists_every_uuid_once_with_bleak_property_names():
    uuids = [s.uuid for s in ti.GATT_PROFILE] + [
        c.uuid for s in ti.GATT_PROFILE for c in s.characteristics
    ]
    assert len(uuids) == len(set(uuids)) == 9
    props = {c.name: c.properties for s in ti.GATT_PROFILE for c in s.characteristics}
    assert props["data"] == ("notify",)
    assert props["control"] == ("write", "notify")
    assert props["battery_level"] == ("read", "notify")


def test_readme_states_the_uuids_of_the_code():
    stated = {
        u.lower()
        for u in re.findall(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}", README)
    }
    custom = {ti.SERVICE_UUID, ti.DATA_CHAR_UUID, ti.CONTROL_CHAR_UUID}
    assert custom <= stated
    # No stale custom UUID in the spec: every UUID on our base is one of ours.
    assert {u for u in stated if u.endswith(ti.UUID_BASE[8:])} == custom | {ti.UUID_BASE}
    for short in ("180F", "2A19", "180A", "2A29", "2A24", "2A26"):
        assert f"0x{short}" in README


def _define(name: str) -> int:
    m = re.search(rf"#define {name} (0x[0-9A-Fa-f]+|\d+)u\b", PACKET_H)
    assert m, name
    return int(m.group(1), 0)


def test_packet_h_constants_equal_python_constants():
    assert _define("LTP_PROTOCOL_VERSION") == ti.PROTOCOL_VERSION
    assert _define("LTP_HEADER_SIZE") == ti.HEADER_SIZE
    assert _define("LTP_SAMPLE_SIZE") == ti.SAMPLE_SIZE
    assert _define("LTP_MAX_SAMPLES") == ti.MAX_SAMPLES_PER_PACKET
    assert _define("LTP_MAX_RATE_QHZ") == ti.MAX_RATE_QHZ
    assert _define("LTP_RATE_UNITS_PER_HZ") == ti.RATE_UNITS_PER_HZ
    assert _define("LTP_ACC_CODE_COUNT") == len(ti.ACC_RANGES_G)
    assert _define("LTP_GYRO_CODE_COUNT") == len(ti.GYRO_RANGES_DPS)
    assert _define("LTP_RESPONSE") == ti.RESPONSE_MARKER
    assert _define("LTP_EVENT") == ti.EVENT_MARKER
    for op in ti.Opcode:
        assert _define(f"LTP_OP_{op.name}") == op.value
    for status in ti.Status:
        assert _define(f"LTP_STATUS_{status.name}") == status.value
    for event in ti.EventCode:
        assert _define(f"LTP_EVENT_{event.name}") == event.value
    for reason in ti.StopReason:
        assert _define(f"LTP_STOP_REASON_{reason.name}") == reason.value


def test_readme_worked_example_is_the_encoded_bytes():
    m = re.search(r"<!-- example-bytes -->\s*```\s*([0-9a-f ]+?)\s*```", README)
    assert m, "README lost its worked example"
    stated = bytes.fromhex(m.group(1).replace(" ", ""))
    assert stated == ti.encode_data_packet(
        seq=7,
        t0_us=1_000_000,
        sample_rate_hz=104.0,
        acc_range_g=4,
        gyro_range_dps=2000,
        acc_counts=np.array([[0, 0, 8192]]),
        gyro_counts=np.array([[0, 0, 655]]),
    )


# ---- data packets -------------------------------------------------------------------


def test_header_is_8_bytes_so_one_sample_fits_mtu_23():
    assert len(one_packet()) == 20 == 23 - 3
    assert ti.max_samples_per_notification(23) == 1
    assert ti.max_samples_per_notification(22) == 0
    assert ti.max_samples_per_notification(247) == 19
    assert ti.max_samples_per_notification(517) == ti.MAX_SAMPLES_PER_PACKET == 31


@pytest.mark.parametrize(
    ("payload", "rate_hz", "expected"),
    [
        (244, 104.0, 10),
        (244, 52.0, 5),
        (244, 208.0, 19),
        (244, 416.0, 19),
        (20, 104.0, 1),
        (244, 5.0, 1),
        (100, 100.0, 7),
    ],
)
def test_samples_per_notification_caps_at_100_ms_and_the_payload(payload, rate_hz, expected):
    assert ti.samples_per_notification(payload, rate_hz) == expected


def test_scaling_to_si_units():
    counts = np.array([[16384, -16384, 8192]])
    for acc_g, expected_g in ((2, (1.0, -1.0, 0.5)), (4, (2.0, -2.0, 1.0)), (16, (8.0, -8.0, 4.0))):
        p = ti.decode_data_packet(one_packet(acc_range_g=acc_g, acc_counts=counts))
        np.testing.assert_allclose(p.acc_mps2[0], np.array(expected_g) * G_MPS2, rtol=1e-12)
    gyro = np.array([[32767, -32768, 16384]])
    p = ti.decode_data_packet(one_packet(gyro_range_dps=125, gyro_counts=gyro))
    np.testing.assert_allclose(
        p.gyro_rad_s[0], np.deg2rad([125 * 32767 / 32768, -125.0, 62.5]), rtol=1e-12
    )


def test_device_time_of_each_sample_is_t0_plus_i_over_rate():
    n = 5
    p = ti.decode_data_packet(
        one_packet(
            t0_us=4_000_000_000,
            sample_rate_hz=99.75,
            acc_counts=np.zeros((n, 3), dtype=np.int16),
            gyro_counts=np.zeros((n, 3), dtype=np.int16),
            seq=200,
        )
    )
    np.testing.assert_allclose(p.device_time_s, 4000.0 + np.arange(n) / 99.75, rtol=0, atol=1e-9)
    assert p.seq == 200


def test_rate_resolution_is_a_quarter_hertz():
    assert ti.parse_data_packet(one_packet(sample_rate_hz=99.84)).sample_rate_hz == 99.75
    assert ti.parse_data_packet(one_packet(sample_rate_hz=511.75)).rate_qhz == 2047
    for bad in (0.1, 512.0, float("nan")):
        with pytest.raises(ValueError, match="sample rate"):
            one_packet(sample_rate_hz=bad)


def test_encoder_refuses_what_the_format_cannot_carry():
    with pytest.raises(ValueError, match="range"):
        one_packet(acc_range_g=3)
    with pytest.raises(ValueError, match="range"):
        one_packet(gyro_range_dps=245)
    with pytest.raises(ValueError, match=r"1\.\.31 samples"):
        one_packet(acc_counts=np.zeros((32, 3), int), gyro_counts=np.zeros((32, 3), int))
    with pytest.raises(ValueError, match="int16"):
        one_packet(acc_counts=np.array([[0, 0, 40000]]))
    with pytest.raises(ValueError, match="seq"):
        one_packet(seq=256)
    with pytest.raises(ValueError, match="t0_us"):
        one_packet(t0_us=1 << 32)


def test_decoder_messages_name_the_fault():
    data = one_packet()
    with pytest.raises(DecodeError, match="truncated: 19 bytes for 1 samples"):
        ti.decode_data_packet(data[:-1])
    with pytest.raises(DecodeError, match=r"version 2.*update"):
        ti.decode_data_packet(bytes([(2 << 5) | data[0] & 0x1F]) + data[1:])
    with pytest.raises(DecodeError, match="oversized"):
        ti.decode_data_packet(data + b"\0")


@settings(max_examples=150, deadline=None)
@given(
    n=st.integers(1, 31),
    seq=st.integers(0, 255),
    t0_us=st.integers(0, 2**32 - 1),
    rate_qhz=st.integers(1, 2047),
    acc_g=st.sampled_from(ti.ACC_RANGES_G),
    gyro_dps=st.sampled_from(ti.GYRO_RANGES_DPS),
    data=st.data(),
)
def test_encode_parse_round_trip(n, seq, t0_us, rate_qhz, acc_g, gyro_dps, data):
    counts = data.draw(hnp.arrays(np.int16, (n, 6)))
    payload = ti.encode_data_packet(
        seq=seq,
        t0_us=t0_us,
        sample_rate_hz=rate_qhz / 4,
        acc_range_g=acc_g,
        gyro_range_dps=gyro_dps,
        acc_counts=counts[:, :3],
        gyro_counts=counts[:, 3:],
    )
    assert len(payload) == 8 + 12 * n
    p = ti.parse_data_packet(payload)
    assert (p.seq, p.t0_us, p.rate_qhz, p.acc_range_g, p.gyro_range_dps) == (
        seq,
        t0_us,
        rate_qhz,
        acc_g,
        gyro_dps,
    )
    np.testing.assert_array_equal(np.hstack([p.acc_counts, p.gyro_counts]), counts)


def test_quantize_rounds_and_saturates_like_the_firmware():
    acc = np.array([[0.0, G_MPS2, 100 * G_MPS2]])
    gyro = np.array([[np.deg2rad(1000.0), -np.deg2rad(5000.0), 1e-6]])
    acc_c, gyro_c = ti.quantize(acc, gyro, acc_range_g=4, gyro_range_dps=2000)
    np.testing.assert_array_equal(acc_c, [[0, 8192, 32767]])
    np.testing.assert_array_equal(gyro_c, [[16384, -32768, 0]])
    assert acc_c.dtype == gyro_c.dtype == np.int16
    # Quantisation error of a decoded sample is at most half a count.
    rng = np.random.default_rng(3)
    acc = rng.uniform(-3, 3, (20, 3)) * G_MPS2
    gyro = rng.uniform(-30, 30, (20, 3))
    acc_c, gyro_c = ti.quantize(acc, gyro, acc_range_g=4, gyro_range_dps=2000)
    p = ti.decode_data_packet(one_packet(acc_counts=acc_c, gyro_counts=gyro_c))
    assert np.abs(p.acc_mps2 - acc).max() <= ti.acc_mps2_per_count(4) / 2 + 1e-12
    assert np.abs(p.gyro_rad_s - gyro).max() <= ti.gyro_rad_s_per_count(2000) / 2 + 1e-12


# ---- device clock ---------------------------------------------------------------------


def test_unwrap_t0_us_across_the_wrap_and_backwards_jitter():
    wrap = 1 << 32
    assert ti.unwrap_t0_us(5, None) == 5
    assert ti.unwrap_t0_us(1_000, wrap - 1_000) == wrap + 1_000
    assert ti.unwrap_t0_us(wrap - 1_000, wrap + 1_000) == wrap - 1_000  # late packet
    assert ti.unwrap_t0_us(3 * wrap // 4, wrap + 10) == wrap - wrap // 4  # nearest


def test_clock_unwrapper_keeps_a_stream_monotonic_over_the_wrap():
    rate_hz, n = 100.0, 10
    start_us = (1 << 32) - 250_000  # 0.25 s before the wrap
    unwrapper = ti.DeviceClockUnwrapper()
    times = []
    for k in range(6):
        t0 = start_us + k * 100_000
        payload = one_packet(
            t0_us=t0 % (1 << 32),
            sample_rate_hz=rate_hz,
            acc_counts=np.zeros((n, 3), np.int16),
            gyro_counts=np.zeros((n, 3), np.int16),
        )
        times.append(unwrapper.unwrap(ti.decode_data_packet(payload)).device_time_s)
    t = np.concatenate(times)
    np.testing.assert_allclose(np.diff(t), 0.01, atol=1e-9)
    assert t[0] == pytest.approx(start_us * 1e-6)


# ---- control characteristic -----------------------------------------------------------


def test_command_bytes():
    assert ti.encode_start(244) == bytes.fromhex("01f400")
    assert ti.encode_stop() == b"\x02"
    assert ti.encode_set_rate(104.0) == bytes.fromhex("03a001")
    assert ti.encode_set_range(16, 500) == bytes.fromhex("040302")
    assert ti.encode_identify(5) == bytes.fromhex("0505")
    assert ti.encode_get_status() == b"\x06"


@pytest.mark.parametrize(
    "payload",
    [
        ti.encode_start(20),
        ti.encode_stop(),
        ti.encode_set_rate(0.25),
        ti.encode_set_range(2, 125),
        ti.encode_identify(60),
        ti.encode_get_status(),
    ],
)
def test_commands_round_trip_through_the_device_parser(payload):
    cmd = ti.decode_command(payload)
    assert cmd.opcode == payload[0]


def test_device_parser_answers_bad_commands_with_the_right_status():
    cases = [
        (b"", ti.Status.INVALID_LENGTH),
        (b"\x09", ti.Status.UNKNOWN_OPCODE),
        (b"\x01\xf4", ti.Status.INVALID_LENGTH),
        (b"\x02\x00", ti.Status.INVALID_LENGTH),
        (bytes.fromhex("011300"), ti.Status.INVALID_PARAMETER),  # 19 B: no sample fits
        (bytes.fromhex("030000"), ti.Status.INVALID_PARAMETER),
        (bytes.fromhex("030008"), ti.Status.INVALID_PARAMETER),  # 2048 quarter-Hz
        (bytes.fromhex("040400"), ti.Status.INVALID_PARAMETER),
        (bytes.fromhex("040005"), ti.Status.INVALID_PARAMETER),
        (bytes.fromhex("0500"), ti.Status.INVALID_PARAMETER),
        (bytes.fromhex("053d"), ti.Status.INVALID_PARAMETER),
    ]
    for payload, status in cases:
        with pytest.raises(ti.CommandError) as info:
            ti.decode_command(payload)
        assert info.value.status is status, payload.hex()
        assert isinstance(info.value, DecodeError)


def test_decoded_command_values():
    assert ti.decode_command(bytes.fromhex("01f400")).max_payload_bytes == 244
    assert ti.decode_command(bytes.fromhex("038f01")).sample_rate_hz == 99.75
    cmd = ti.decode_command(bytes.fromhex("040104"))
    assert (cmd.acc_range_g, cmd.gyro_range_dps) == (4, 2000)
    assert ti.decode_command(bytes.fromhex("050a")).identify_s == 10


def test_responses_round_trip_and_have_the_spec_bytes():
    config = ti.StreamConfig(104.0, 4, 2000, 10)
    start = ti.encode_response(ti.Opcode.START, ti.Status.OK, config)
    assert start == bytes.fromhex("f00100a00101040a")
    status = ti.DeviceStatus(True, 104.0, 4, 2000, 10, 70_000)
    get = ti.encode_response(ti.Opcode.GET_STATUS, ti.Status.OK, status)
    assert get == bytes.fromhex("f0060001a00101040a70110100")
    cases = [
        (start, config),
        (get, status),
        (ti.encode_response(ti.Opcode.SET_RATE, ti.Status.OK, 99.84), 99.75),
        (ti.encode_response(ti.Opcode.SET_RANGE, ti.Status.OK, (8, 500)), (8, 500)),
        (ti.encode_response(ti.Opcode.STOP, ti.Status.OK), None),
        (ti.encode_response(ti.Opcode.IDENTIFY, ti.Status.OK), None),
    ]
    for payload, value in cases:
        r = ti.decode_control_notification(payload)
        assert isinstance(r, ti.Response) and r.status is ti.Status.OK
        assert r.value == value
    refused = ti.encode_response(ti.Opcode.SET_RATE, ti.Status.INVALID_STATE)
    assert refused == bytes.fromhex("f00304")
    assert ti.decode_control_notification(refused) == ti.Response(
        ti.Opcode.SET_RATE, ti.Status.INVALID_STATE
    )
    unknown = ti.decode_control_notification(bytes.fromhex("f07701"))
    assert unknown.opcode == 0x77 and unknown.status is ti.Status.UNKNOWN_OPCODE
    with pytest.raises(ValueError, match="START"):
        ti.encode_response(ti.Opcode.START, ti.Status.OK, None)


def test_events():
    overflow = ti.encode_overflow_event(1234)
    assert overflow == bytes.fromhex("e001d2040000")
    assert ti.decode_control_notification(overflow) == ti.Event(
        ti.EventCode.OVERFLOW, dropped_samples=1234
    )
    stopped = ti.encode_stream_stopped_event(ti.StopReason.LOW_BATTERY)
    assert stopped == bytes.fromhex("e00201")
    assert ti.decode_control_notification(stopped).reason is ti.StopReason.LOW_BATTERY


@pytest.mark.parametrize(
    "payload",
    [
        "",
        "f0",
        "f001",
        "f00100",
        "f0010001",
        "f00600",
        "f099ff",
        "e0",
        "e001d204",
        "e00209",
        "e003",
        "a0010203",
        "f0020001",
        "f0060002a00101040a00000000",
    ],
)
def test_malformed_control_notifications_raise_decode_error(payload):
    with pytest.raises(DecodeError):
        ti.decode_control_notification(bytes.fromhex(payload))


def test_battery_level():
    assert ti.decode_battery_level(ti.encode_battery_level(87)) == 87
    for bad in (b"", b"\x65", b"\x10\x10"):
        with pytest.raises(DecodeError, match="battery"):
            ti.decode_battery_level(bad)
    with pytest.raises(ValueError):
        ti.encode_battery_level(101)
