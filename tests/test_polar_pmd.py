"""Polar PMD protocol: vendor test vectors, encode/decode round trips, fuzzing.

Vectors come from Polar's own SDK unit tests (polarofficial/polar-ble-sdk@8fb5311c, cited
per vector) and, where marked, from user reports in Polar's issue tracker.
"""

from __future__ import annotations

import json
import math
import struct
import time
from pathlib import Path

import numpy as np
import pytest
from decoder_helpers import flipped, fuzz, h, only_decode_errors, roundtrip
from hypothesis import given
from hypothesis import strategies as st

from tracker.devices import polar_pmd as pmd
from tracker.devices.base import DecodeError
from tracker.errors import DeviceError, InputError
from tracker.units import G_MPS2, RAD_PER_DEG

SDK = "polarofficial/polar-ble-sdk@8fb5311c8f63fd58fdd03df1b46cbb2e8f05209e"
SDK_TESTS = (
    "sources/Android/android-communications/library/src/test/java/com/polar/"
    "androidcommunications/api/ble/model/gatt/client/pmd"
)
VECTORS = json.loads((Path(__file__).parent / "vectors" / "polar_pmd_frames.json").read_text())
MG = G_MPS2 / 1000.0


def vector(name: str) -> bytes:
    v = VECTORS[name]
    return h(v["header"]) + h(v["content"])


# --- vendor vectors: data frames ----------------------------------------------------------


def test_acc_raw_type1_vector():
    # SDK:.../model/AccDataTest.kt "process acc raw data frame type 1" (H10-style int16 mG)
    payload = vector("acc_raw_type1")
    header, raw = pmd.decode_raw(payload)
    assert (header.measurement_type, header.timestamp_ns, header.frame_type) == (2, 2 * 10**9, 1)
    assert len(raw) == 36  # content bytes / 2 bytes / 3 channels, as the test asserts
    assert raw[0].tolist() == [-9, -1, 999]
    assert raw[1].tolist() == [-8, -2, 997]

    packet = pmd.decode_data(payload, sample_rate_hz=52, factor=1.0)
    assert packet.gyro_rad_s is None and packet.seq is None
    np.testing.assert_allclose(packet.acc_mps2[0], np.array([-9, -1, 999]) * MG)
    np.testing.assert_allclose(packet.acc_mps2[1], np.array([-8, -2, 997]) * MG)
    # last sample carries the frame timestamp; earlier ones are 1/52 s apart
    assert packet.device_time_s[-1] == pytest.approx(2.0, abs=1e-12)
    np.testing.assert_allclose(np.diff(packet.device_time_s), 1 / 52, rtol=1e-9)


def test_acc_raw_frames_ignore_factor_like_the_sdk():
    payload = vector("acc_raw_type1")
    a = pmd.decode_data(payload, sample_rate_hz=52, factor=None)
    b = pmd.decode_data(payload, sample_rate_hz=52, factor=0.5)
    np.testing.assert_array_equal(a.acc_mps2, b.acc_mps2)


def test_acc_compressed_type1_vector():
    # SDK:.../model/AccDataTest.kt "process acc compressed data type 1". Its comment says
    # "0xFFF1 = -22"; its assertion (and two's complement) says -15.
    payload = h("02 65 00 00 00 00 00 00 00 81 F1 FF 14 00 F0 03 06 01 7B 0F 08")
    header, raw = pmd.decode_raw(payload)
    assert header.timestamp_ns == 101 and header.compressed
    assert raw.tolist() == [[-15, 20, 1008], [-20, 17, 1008]]
    packet = pmd.decode_data(payload, sample_rate_hz=52, factor=1.0)
    np.testing.assert_allclose(packet.acc_mps2, raw * MG)
    assert packet.device_time_s[-1] == pytest.approx(101e-9, abs=1e-15)


def test_acc_compressed_type1_factor_scales():
    payload = h("02 65 00 00 00 00 00 00 00 81 F1 FF 14 00 F0 03 06 01 7B 0F 08")
    packet = pmd.decode_data(payload, sample_rate_hz=52, factor=0.5)
    np.testing.assert_allclose(packet.acc_mps2[0], np.array([-15, 20, 1008]) * 0.5 * MG)


def test_acc_compressed_type0_vector():
    # SDK:.../model/AccDataTest.kt "process acc compressed data type 0": 1 reference +
    # 56 samples with 10-bit deltas, values in g x factor (factor 2.44e-4 as float32).
    payload = vector("acc_compressed_type0")
    header, raw = pmd.decode_raw(payload)
    assert header.frame_type == 0x80 and header.timestamp_ns == 2 * 10**9
    assert len(raw) == 57
    assert raw[0].tolist() == [1905, 27376, -29282]
    assert raw[1].tolist() == [1905 + 190, 27376 - 105, -29282 - 85]

    factor = struct.unpack("<f", struct.pack("<f", 2.44e-4))[0]
    # Polar's test has no sample rate and a previous timestamp of 100 ns, so its period
    # comes from the timestamps: (2e9 - 100) / 57 ns. A nominal rate within the tolerance
    # of that period makes our rule take the measured period too.
    period_ns = (2 * 10**9 - 100) / 57
    packet = pmd.decode_data(
        payload, sample_rate_hz=1e9 / period_ns * 1.05, factor=factor, previous_timestamp_ns=100
    )
    mg = packet.acc_mps2 / MG
    # The test asserts (factor * raw * 1000f).toInt() computed in float32.
    expected = np.trunc(np.float32(factor) * raw.astype(np.float32) * np.float32(1000.0))
    np.testing.assert_allclose(mg, expected, atol=1.0)
    assert np.trunc(mg[0]).tolist() == [464, 6679, -7144]
    assert np.abs(mg).max() <= 8 * 1000  # the test's "data in range" check (±8 g)
    t_ns = packet.device_time_s * 1e9
    assert t_ns[0] == pytest.approx(round(100 + period_ns), abs=1.0)
    assert t_ns[-1] == pytest.approx(2e9, abs=1e-3)


def test_gyro_compressed_type0_vector():
    # SDK:.../model/GyrDataTest.kt "process gyro compressed data type 0" (deg/s, factor 1)
    payload = h("05 FF FF FF FF FF FF FF 7F 80 EA FF 08 00 0D 00 03 01 DF 00")
    header, raw = pmd.decode_raw(payload)
    assert header.timestamp_ns == 9223372036854775807
    assert raw.tolist() == [[-22, 8, 13], [-23, 11, 16]]
    packet = pmd.decode_data(payload, sample_rate_hz=52, factor=1.0)
    assert packet.acc_mps2 is None
    np.testing.assert_allclose(packet.gyro_rad_s, raw * RAD_PER_DEG)
    assert packet.device_time_s[-1] == pytest.approx(9223372036854775807e-9)


GYRO_FLOAT = h(
    "05 00 94 35 77 00 00 00 00 81 00 00 80 3F 00 00 20 41 00 00 A0 41 1C 01 "
    "00 00 A0 01 00 00 08 CD CC EC 0D"
)


def _f32(bits: int) -> float:
    return struct.unpack("<f", struct.pack("<I", bits & 0xFFFFFFFF))[0]


@pytest.mark.parametrize("factor", [1.0, 0.5])
def test_gyro_compressed_type1_float_vector(factor):
    # SDK:.../model/GyrDataTest.kt "process gyro compressed data type 1" (factor 1.0) and
    # "... with factor" (0.5): float32 references, 28-bit deltas added to the bit patterns.
    _, raw = pmd.decode_raw(GYRO_FLOAT)
    expected = np.array(
        [
            [1.0, 10.0, 20.0],
            [
                _f32(0x3F800000 + 0x1A00000),
                _f32(0x41200000 + 0x0800000),
                _f32(0x41A00000 + 0xFDECCCCD),
            ],
        ]
    )
    np.testing.assert_array_equal(raw, expected)
    packet = pmd.decode_data(
        GYRO_FLOAT, sample_rate_hz=52, factor=factor, previous_timestamp_ns=100
    )
    np.testing.assert_allclose(packet.gyro_rad_s, expected * factor * RAD_PER_DEG, rtol=1e-7)
    assert packet.device_time_s[-1] == pytest.approx(2.0, abs=1e-12)


def test_verity_capture_header_from_issue_443():
    # User capture (not Polar-authored): https://github.com/polarofficial/polar-ble-sdk/issues/443
    # Only the first 18 bytes are published, so the full frame is truncated.
    capture = h("02 00 41 6F C4 12 45 93 0A 81 EE 02 1F FE 82 FF 08 0A")
    header = pmd.decode_data_header(capture)
    assert header.timestamp_ns == 762028708863099136
    assert header.measurement_type == pmd.MeasurementType.ACC
    assert header.compressed and header.frame_type == 0x81
    with pytest.raises(DecodeError, match="truncated"):
        pmd.decode_raw(capture)
    # the reference sample alone is a valid one-sample frame
    _, raw = pmd.decode_raw(capture[:16])
    assert raw.tolist() == [[750, -481, -126]]


# --- vendor vectors: timestamps -----------------------------------------------------------


def test_sample_times_from_rate():
    # SDK:.../model/PmdTimeStampUtilsTest.kt "samples time stamps based on frequency"
    t = pmd.sample_times_ns(10 * 10**9, 10, sample_rate_hz=1, previous_timestamp_ns=None)
    assert t.tolist() == [i * 1e9 for i in range(1, 11)]
    # "... only one sample"
    t = pmd.sample_times_ns(10**9, 1, sample_rate_hz=1, previous_timestamp_ns=None)
    assert t.tolist() == [1e9]


def test_sample_times_from_previous_timestamp():
    # SDK:.../model/PmdTimeStampUtilsTest.kt "based on previous time stamp test 1"
    t = pmd.sample_times_ns(11 * 10**9, 10, sample_rate_hz=1, previous_timestamp_ns=10**9)
    assert t.tolist() == [i * 1e9 for i in range(2, 12)]


def test_measured_period_tracks_a_device_running_slower_than_its_setting():
    # "52 Hz" that really runs at 50 Hz (PR #725 disputes 52 vs 50): measured period wins.
    t = pmd.sample_times_ns(
        10**9 + 10 * 20_000_000, 10, sample_rate_hz=52, previous_timestamp_ns=10**9
    )
    np.testing.assert_allclose(np.diff(t), 20_000_000)
    assert t[0] == 10**9 + 20_000_000


def test_lost_frame_leaves_a_gap_instead_of_stretching_samples():
    # previous frame of 10 samples at 50 Hz was lost: 20 periods since the last one seen
    t = pmd.sample_times_ns(
        10**9 + 20 * 20_000_000, 10, sample_rate_hz=50, previous_timestamp_ns=10**9
    )
    np.testing.assert_allclose(np.diff(t), 20_000_000)
    assert t[-1] == 10**9 + 20 * 20_000_000
    assert t[0] - 10**9 == pytest.approx(11 * 20_000_000)  # the gap stays visible


def test_clock_going_backwards_falls_back_to_the_rate():
    t = pmd.sample_times_ns(5 * 10**9, 3, sample_rate_hz=10, previous_timestamp_ns=6 * 10**9)
    assert t.tolist() == [4.8e9, 4.9e9, 5e9]


@pytest.mark.parametrize("rate", [0, -1, math.nan, math.inf])
def test_sample_rate_must_be_positive(rate):
    with pytest.raises(InputError):
        pmd.sample_times_ns(10**9, 3, sample_rate_hz=rate, previous_timestamp_ns=None)


def test_stream_decoder_gives_continuous_times_across_frames():
    rate = 52
    period_ns = round(1e9 / rate)
    rng = np.random.default_rng(1)
    dec = pmd.PmdStreamDecoder(pmd.MeasurementType.ACC, sample_rate_hz=rate, factor=1.0)
    times = []
    t_last = 700_000_000 * 10**9
    for n in (5, 7, 3, 9):
        t_last += n * period_ns
        raw = rng.integers(-2000, 2000, size=(n, 3))
        times.append(dec.decode(pmd.encode_raw(2, t_last, 0x81, raw)).device_time_s)
    all_t = np.concatenate(times)
    # float64 seconds since 2000 resolve 2**-23 s (0.12 us) at today's dates
    np.testing.assert_allclose(np.diff(all_t), period_ns / 1e9, rtol=0, atol=2.5e-7)
    with pytest.raises(DecodeError, match="GYRO"):
        dec.decode(GYRO_FLOAT)


# --- vendor vectors: control point --------------------------------------------------------


def test_settings_response_vector():
    # SDK:.../pmd/PmdSettingTest.kt testPmdSettingsWithRange
    s = pmd.decode_settings(h("00 01 34 00 01 01 10 00 02 04 F5 00 F4 01 E8 03 D0 07 04 01 03"))
    assert s.sample_rates_hz == (52,)
    assert s.resolutions_bits == (16,)
    assert s.ranges == (245, 500, 1000, 2000)
    assert s.channels == (3,)
    assert s.ranges_milliunit == () and s.factor is None


def test_settings_range_milliunit_vector():
    # SDK:.../pmd/PmdSettingTest.kt testPmdSettingWithRangeMilliUnit (values are signed)
    s = pmd.decode_settings(h("03 02 FF FF FF FF FF 00 00 00 01 01 0E 00"))
    assert s.ranges_milliunit == (-1, 255)
    assert s.resolutions_bits == (14,)


def test_cp_response_success_vector():
    # SDK:.../pmd/BlePmdClientControlPointResponseTest.kt "success ... acc stream settings"
    r = pmd.decode_control_point(h("F0 01 02 00 00 FF FF FF"))
    assert isinstance(r, pmd.ControlPointResponse)
    assert r.op == pmd.ControlPointOp.GET_MEASUREMENT_SETTINGS
    assert r.measurement_type == pmd.MeasurementType.ACC
    assert r.ok and r.status_name == "SUCCESS" and not r.more
    assert r.params == h("FF FF FF")


def test_cp_response_failure_vector():
    # SDK:.../pmd/BlePmdClientControlPointResponseTest.kt "failing ... mag stream settings"
    r = pmd.decode_control_point(h("F0 01 06 07 00"))
    assert r.measurement_type == pmd.MeasurementType.MAG
    assert not r.ok and r.status_name == "INVALID_RESOLUTION"
    assert not r.more and r.params == b""
    with pytest.raises(DeviceError, match=r"GET_MEASUREMENT_SETTINGS for MAG: INVALID_RESOLUTION"):
        pmd.ensure_success(r)


def test_verity_start_request_and_response_from_issue_443():
    # User report: https://github.com/polarofficial/polar-ble-sdk/issues/443
    request = pmd.encode_start(
        pmd.MeasurementType.ACC, sample_rate_hz=52, resolution_bits=16, range_=8, channels=3
    )
    assert request == h("02 02 00 01 34 00 01 01 10 00 02 01 08 00 04 01 03")
    cmd = pmd.decode_command(request)
    assert cmd.op == pmd.ControlPointOp.REQUEST_MEASUREMENT_START
    assert cmd.measurement_type == pmd.MeasurementType.ACC and not cmd.offline
    assert cmd.settings == pmd.PmdSettings(
        sample_rates_hz=(52,), resolutions_bits=(16,), ranges=(8,), channels=(3,)
    )
    response = pmd.decode_control_point(h("F0 02 02 00 00"))
    assert pmd.ensure_success(response).settings().factor is None


def test_start_response_factor_is_float32():
    params = bytes([pmd.SettingType.FACTOR, 1]) + struct.pack("<f", 2.44e-4)
    r = pmd.decode_control_point(pmd.encode_response(2, 2, 0, params))
    assert r.settings().factor == pytest.approx(2.44e-4, rel=1e-7)


def test_fixed_commands():
    assert pmd.encode_get_settings(pmd.MeasurementType.GYRO) == h("01 05")
    assert pmd.encode_get_settings(pmd.MeasurementType.ACC, sdk_mode=True) == h("04 02")
    assert pmd.encode_stop(pmd.MeasurementType.ACC) == h("03 02")
    assert pmd.encode_sdk_mode(True) == h("02 09")
    assert pmd.encode_sdk_mode(False) == h("03 09")
    # H10: no CHANNELS setting (bleakheart's default start: 200 Hz, 16 bit, ±2 g)
    assert pmd.encode_start(2, sample_rate_hz=200, resolution_bits=16, range_=2) == h(
        "02 02 00 01 C8 00 01 01 10 00 02 01 02 00"
    )


def test_measurement_stopped_notification():
    n = pmd.decode_control_point(h("01 02 05"))
    assert n == pmd.MeasurementStopped((2, 5))
    assert pmd.encode_measurement_stopped([2, 5]) == h("01 02 05")


def test_features_as_bleakheart_reports_them():
    # bit i of the bitmap after 0x0F = measurement type i (SDK PmdMeasurementType.fromByteArray)
    assert pmd.decode_features(h("0F 05 00")) == {pmd.MeasurementType.ECG, pmd.MeasurementType.ACC}
    verity = pmd.decode_features(h("0F 6E 02"))
    assert verity == {
        pmd.MeasurementType.PPG,
        pmd.MeasurementType.ACC,
        pmd.MeasurementType.PPI,
        pmd.MeasurementType.GYRO,
        pmd.MeasurementType.MAG,
        pmd.MeasurementType.SDK_MODE,
    }
    assert pmd.encode_features(verity) == h("0F 6E 02")
    # devices.md 1.2: data[2] bit 5 = OFFLINE_RECORDING, bit 6 = OFFLINE_HR
    assert pmd.decode_features(h("0F 00 60")) == {
        pmd.MeasurementType.OFFLINE_RECORDING,
        pmd.MeasurementType.OFFLINE_HR,
    }


@roundtrip
@given(st.sets(st.sampled_from(list(pmd.MeasurementType))), st.sets(st.integers(15, 255)))
def test_features_round_trip(types, unknown):
    assert pmd.decode_features(pmd.encode_features(types | unknown)) == types


def test_join_responses():
    a = pmd.decode_control_point(pmd.encode_response(1, 2, 0, h("00 01"), more=True))
    b = pmd.decode_control_point(pmd.encode_response(1, 2, 0, h("34 00")))
    joined = pmd.join_responses([a, b])
    assert joined.params == h("00 01 34 00") and not joined.more
    assert joined.settings().sample_rates_hz == (52,)
    with pytest.raises(DecodeError):
        pmd.join_responses([b, a])
    with pytest.raises(DecodeError):
        pmd.join_responses([a, pmd.decode_control_point(pmd.encode_response(1, 5, 0, b""))])


# --- round trips --------------------------------------------------------------------------


INT_FORMATS = [
    (2, 0x00, 8),
    (2, 0x01, 16),
    (2, 0x02, 24),
    (2, 0x80, 16),
    (2, 0x81, 16),
    (5, 0x80, 16),
]


@st.composite
def int_frames(draw):
    mtype, ftype, bits = draw(st.sampled_from(INT_FORMATS))
    compressed = bool(ftype & 0x80)
    lim = 1 << (bits - 1)
    if compressed:
        # a random walk with a random step size so block widths vary from 1 to 17 bits
        n = draw(st.integers(1, 60))
        step = 1 << draw(st.integers(0, 16))
        ref = draw(st.lists(st.integers(-lim, lim - 1), min_size=3, max_size=3))
        steps = draw(
            st.lists(st.integers(-step, step - 1), min_size=3 * (n - 1), max_size=3 * (n - 1))
        )
        raw = np.array(ref + steps, dtype=np.int64).reshape(n, 3)
        raw = np.clip(np.cumsum(raw, axis=0), -lim, lim - 1)
    else:
        n = draw(st.integers(1, 480 // (bits // 8 * 3)))
        raw = np.array(
            draw(st.lists(st.integers(-lim, lim - 1), min_size=3 * n, max_size=3 * n))
        ).reshape(n, 3)
    return mtype, ftype, raw


@st.composite
def splits(draw, n_deltas):
    """Random delta-block lengths (1..255 each) summing to n_deltas."""
    out = []
    left = n_deltas
    while left:
        k = draw(st.integers(1, min(255, left)))
        out.append(k)
        left -= k
    return out


@roundtrip
@given(int_frames(), st.integers(0, 2**64 - 1), st.data())
def test_int_frames_round_trip(frame, timestamp_ns, data):
    mtype, ftype, raw = frame
    kwargs = {}
    if ftype & 0x80 and len(raw) > 1:
        blocks = data.draw(splits(len(raw) - 1))
        extra = data.draw(st.lists(st.integers(0, 15), min_size=len(blocks), max_size=len(blocks)))
        minimal = []
        for i, k in enumerate(blocks):
            start = sum(blocks[:i])
            d = np.diff(raw[start : start + k + 1], axis=0).ravel()
            minimal.append(
                max(
                    1, *(int(v).bit_length() + 1 if v >= 0 else int(~v).bit_length() + 1 for v in d)
                )
            )
        kwargs = {
            "block_lengths": blocks,
            "delta_bits": [min(32, m + e) for m, e in zip(minimal, extra, strict=True)],
        }
    try:
        payload = pmd.encode_raw(mtype, timestamp_ns, ftype, raw, **kwargs)
    except InputError as exc:  # widened deltas can outgrow one attribute
        assert "longer than any attribute" in str(exc)
        return
    header, back = pmd.decode_raw(payload)
    assert (header.measurement_type, header.timestamp_ns, header.frame_type) == (
        mtype,
        timestamp_ns,
        ftype,
    )
    np.testing.assert_array_equal(back, raw)


finite_f32 = st.floats(-1e6, 1e6, width=32, allow_nan=False)


@roundtrip
@given(st.lists(st.tuples(finite_f32, finite_f32, finite_f32), min_size=1, max_size=30), st.data())
def test_float_gyro_frames_round_trip(rows, data):
    raw = np.array(rows, dtype=np.float32)
    blocks = data.draw(splits(len(raw) - 1)) if len(raw) > 1 else None
    payload = pmd.encode_raw(5, 123, 0x81, raw, block_lengths=blocks)
    _, back = pmd.decode_raw(payload)
    np.testing.assert_array_equal(back, raw.astype(np.float64))


@roundtrip
@given(
    st.sampled_from([(2, 0x01), (2, 0x81), (2, 0x80), (5, 0x80), (5, 0x81)]),
    st.lists(st.tuples(*[st.floats(-60, 60)] * 3), min_size=1, max_size=20),
    st.sampled_from([None, 1.0, 2.44e-4, 0.061]),
)
def test_si_values_round_trip_within_one_quantum(fmt, rows, factor):
    mtype, ftype = fmt
    values = np.array(rows)
    if mtype == 5:
        values = values / 2  # rad/s
    payload = pmd.encode_data(mtype, 10**18, ftype, values, factor=factor)
    packet = pmd.decode_data(payload, sample_rate_hz=208, factor=factor)
    got = packet.acc_mps2 if mtype == 2 else packet.gyro_rad_s
    fmt_info = pmd._FORMATS[(mtype, ftype)]
    unit = fmt_info.si_per_unit * (factor if fmt_info.uses_factor and factor else 1.0)
    if fmt_info.as_float:
        expected, tol = values, np.abs(values) * 1e-6 + 1e-12
    else:
        lim = (1 << 15) * unit
        expected = np.clip(values, -lim, lim - unit)  # int16 saturation, as on a real sensor
        tol = unit / 2 * (1 + 1e-9)
    assert np.all(np.abs(got - expected) <= tol)


@roundtrip
@given(
    st.lists(st.integers(0, 32767), max_size=5),
    st.lists(st.integers(0, 32767), max_size=3),
    st.lists(st.integers(0, 32767), max_size=4),
    st.lists(st.integers(-(2**31), 2**31 - 1), max_size=3),
    st.lists(st.integers(0, 127), max_size=2),
    st.one_of(st.none(), st.floats(0.25, 1e3, width=32)),
)
def test_settings_round_trip(rates, res, ranges, milli, channels, factor):
    s = pmd.PmdSettings(
        sample_rates_hz=tuple(rates),
        resolutions_bits=tuple(res),
        ranges=tuple(ranges),
        ranges_milliunit=tuple(milli),
        channels=tuple(channels),
        factor=factor,
    )
    assert pmd.decode_settings(pmd.encode_settings(s)) == s


@roundtrip
@given(
    st.integers(1, 6),
    st.sampled_from(list(pmd.MeasurementType)),
    st.integers(0, 20),
    st.binary(max_size=40),
    st.booleans(),
)
def test_cp_response_round_trip(op, mtype, status, params, more):
    r = pmd.decode_control_point(pmd.encode_response(op, mtype, status, params, more=more))
    assert (r.op, r.measurement_type, r.status) == (op, mtype, status)
    if status == 0:
        assert (r.params, r.more) == (params, more)
    else:
        assert (r.params, r.more) == (b"", False)
        assert r.status_name == (
            pmd.ResponseStatus(status).name if status <= 14 else f"UNKNOWN_STATUS_{status}"
        )


@roundtrip
@given(
    st.sampled_from([2, 5]),
    st.integers(1, 2000),
    st.integers(8, 24),
    st.integers(1, 2000),
    st.integers(1, 3),
)
def test_start_command_round_trip(mtype, rate, res, rng, ch):
    cmd = pmd.decode_command(
        pmd.encode_start(mtype, sample_rate_hz=rate, resolution_bits=res, range_=rng, channels=ch)
    )
    assert (cmd.op, cmd.measurement_type) == (2, mtype)
    assert cmd.settings == pmd.PmdSettings(
        sample_rates_hz=(rate,), resolutions_bits=(res,), ranges=(rng,), channels=(ch,)
    )


# --- fuzzing ------------------------------------------------------------------------------

DECODERS = [
    lambda b: pmd.decode_data(b, sample_rate_hz=52, factor=1.0, previous_timestamp_ns=None),
    lambda b: pmd.decode_data(b, sample_rate_hz=416, factor=2.44e-4, previous_timestamp_ns=5),
    pmd.decode_control_point,
    pmd.decode_settings,
    pmd.decode_command,
    pmd.decode_features,
    pmd.PmdStreamDecoder(pmd.MeasurementType.GYRO, sample_rate_hz=208, factor=0.061).decode,
]


@fuzz
@given(st.binary(max_size=600))
def test_fuzz_random_bytes(payload):
    only_decode_errors(DECODERS, payload)


@fuzz
@given(
    st.sampled_from([0x00, 0x01, 0x02, 0x80, 0x81]),
    st.sampled_from([2, 5, 0x82]),
    st.binary(max_size=520),
)
def test_fuzz_random_content_behind_valid_headers(frame_type, mtype, content):
    only_decode_errors(
        DECODERS, bytes([mtype]) + (12345).to_bytes(8, "little") + bytes([frame_type]) + content
    )


SEEDS = [
    vector("acc_raw_type1"),
    vector("acc_compressed_type0"),
    GYRO_FLOAT,
    h("05 FF FF FF FF FF FF FF 7F 80 EA FF 08 00 0D 00 03 01 DF 00"),
    h("F0 01 02 00 00 00 01 34 00 01 01 10 00 02 04 F5 00 F4 01 E8 03 D0 07 04 01 03"),
    h("02 02 00 01 34 00 01 01 10 00 02 01 08 00 04 01 03"),
]


@fuzz
@given(
    st.sampled_from(SEEDS),
    st.lists(st.tuples(st.integers(0, 300), st.integers(0, 255)), max_size=6),
    st.integers(0, 300),
    st.binary(max_size=8),
)
def test_fuzz_mutated_valid_payloads(seed, flips, cut, tail):
    b = flipped(seed, flips)
    only_decode_errors(DECODERS, b[: max(cut, 0)] + tail)
    only_decode_errors(DECODERS, b)


def test_every_truncation_of_a_compressed_frame_fails_cleanly_or_decodes_a_prefix():
    payload = vector("acc_compressed_type0")
    _, full = pmd.decode_raw(payload)
    for n in range(len(payload)):
        try:
            _, part = pmd.decode_raw(payload[:n])
        except DecodeError:
            continue
        np.testing.assert_array_equal(part, full[: len(part)])
    # only the reference alone (16 bytes) is a complete shorter frame
    _, ref_only = pmd.decode_raw(payload[:16])
    assert len(ref_only) == 1


@roundtrip
@given(
    st.sampled_from([(2, 0x01), (2, 0x81), (2, 0x80), (5, 0x80), (5, 0x81), (2, 0x02)]),
    st.integers(1, 400),
    st.integers(23, 512),
    st.integers(0, 2**32),
)
def test_encode_stream_splits_into_frames_that_decode_back(fmt, n, max_bytes, seed):
    mtype, ftype = fmt
    rng = np.random.default_rng(seed)
    values = np.cumsum(rng.normal(scale=0.3, size=(n, 3)), axis=0)
    rate = 208
    times_ns = 700 * 10**15 + np.round(np.arange(n) * 1e9 / rate).astype(np.int64)
    frames = pmd.encode_stream(
        mtype, ftype, times_ns, values, factor=0.01, max_payload_bytes=max_bytes
    )
    assert all(len(f) <= max_bytes for f in frames)
    dec = pmd.PmdStreamDecoder(mtype, sample_rate_hz=rate, factor=0.01)
    packets = [dec.decode(f) for f in frames]
    got_t = np.concatenate([p.device_time_s for p in packets])
    np.testing.assert_allclose(got_t, times_ns / 1e9, rtol=0, atol=1e-6)
    got = np.concatenate([p.acc_mps2 if mtype == 2 else p.gyro_rad_s for p in packets])
    want = pmd.raw_from_si(mtype, ftype, values, factor=0.01)
    _, raw_back = zip(*(pmd.decode_raw(f) for f in frames), strict=True)
    np.testing.assert_array_equal(np.concatenate(raw_back), want)
    assert got.shape == values.shape


def test_worst_case_frame_is_bounded():
    # 1-bit deltas, 255 samples per block: the most samples a 512-byte frame can hold
    content = bytes(6) + (bytes([1, 255]) + bytes(96)) * 5
    payload = bytes([2]) + bytes(8) + bytes([0x81]) + content
    assert len(payload) <= pmd.MAX_PAYLOAD_BYTES
    start = time.perf_counter()
    packet = pmd.decode_data(payload, sample_rate_hz=52, factor=1.0)
    assert len(packet) == 1 + 5 * 255
    assert time.perf_counter() - start < 1.0  # about 1 ms on the dev machine


def test_truncated_raw_frames_are_rejected():
    payload = vector("acc_raw_type1")
    for n in [0, 1, 9, 10, 11, 15, len(payload) - 1]:
        with pytest.raises(DecodeError):
            pmd.decode_data(payload[:n], sample_rate_hz=52, factor=1.0)


def test_oversized_payloads_are_rejected():
    big = h("02 00 94 35 77 00 00 00 00 01") + bytes(6 * 86)  # 526 bytes
    with pytest.raises(DecodeError, match="longer than any attribute"):
        pmd.decode_data(big, sample_rate_hz=52, factor=1.0)
    with pytest.raises(DecodeError):
        pmd.decode_control_point(b"\xf0\x01\x02\x00\x00" + bytes(600))


@pytest.mark.parametrize(
    "payload, message",
    [
        (h("02 00 00 00 00 00 00 00 00 81 F1 FF 14 00 F0 03 00 01"), "outside 1..32"),
        (h("02 00 00 00 00 00 00 00 00 81 F1 FF 14 00 F0 03 21 01") + bytes(13), "outside 1..32"),
        (h("02 00 00 00 00 00 00 00 00 81 F1 FF 14 00 F0 03 06"), "header truncated"),
        (h("02 00 00 00 00 00 00 00 00 81 F1 FF 14 00"), "reference needs 6"),
        (h("02 00 00 00 00 00 00 00 00 03 00 00 00"), "frame type 0x03"),
        (h("01 00 00 00 00 00 00 00 00 00 00 00 00"), "PPG"),
        (h("05 00 00 00 00 00 00 00 00 01 00 00 00 00 00 00"), "GYRO"),
        (h("05 00 00 00 00 00 00 00 00 81 00 00 C0 7F 00 00 00 00 00 00 00 00"), "NaN"),
        (h("02 00 00 00 00 00 00 00 00 01 00 00 00 00"), "multiple of 6"),
    ],
)
def test_malformed_frames_name_the_problem(payload, message):
    with pytest.raises(DecodeError, match=message):
        pmd.decode_data(payload, sample_rate_hz=52, factor=1.0)


def test_encoder_rejects_what_it_cannot_encode():
    with pytest.raises(InputError):
        pmd.encode_raw(2, 0, 0x01, np.array([[40000, 0, 0]]))
    with pytest.raises(InputError):
        pmd.encode_raw(5, 0, 0x01, np.zeros((1, 3)))
    with pytest.raises(InputError):
        pmd.encode_raw(2, 0, 0x81, np.zeros((3, 3)), block_lengths=[1], delta_bits=[4])
    with pytest.raises(InputError):
        pmd.encode_raw(2, 0, 0x81, np.array([[0, 0, 0], [100, 0, 0]]), delta_bits=[4])
