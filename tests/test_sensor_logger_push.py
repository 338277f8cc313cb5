"""Sensor Logger push messages: decoding, reassembly, and its equality with the file import."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
from decoder_helpers import JSONISH, fuzz, json_bodies
from hypothesis import given
from hypothesis import strategies as st

from tracker.devices.phone_emulator import EPOCH_BASE_NS, EmulatedPhone
from tracker.devices.phone_source import decode_recorded, parse_phone_device
from tracker.devices.sensor_logger_push import (
    Convention,
    PushAssembler,
    PushMessage,
    decode_message,
)
from tracker.errors import DeviceError, InputError
from tracker.recording.model import RawPacket
from tracker.samples import SensorSamples

URL = "http://127.0.0.1:9/t/push"


def body(message_id: int = 0, payload: list[object] | None = None, **extra: object) -> bytes:
    doc = {"messageId": message_id, "sessionId": "s", "deviceId": "d", "payload": payload or []}
    doc.update(extra)
    return json.dumps(doc).encode()


def entry(name: str, time_ns: object, x: object = 0.0, y: float = 0.0, z: float = 0.0) -> dict:
    return {"name": name, "time": time_ns, "values": {"x": x, "y": y, "z": z}}


def source(n: int = 600, rate_hz: float = 100.0, seed: int = 1) -> SensorSamples:
    """Smooth motion with gravity along +y: what a phone at rest on its edge feels."""
    rng = np.random.default_rng(seed)
    t = 12.5 + np.arange(n) / rate_hz + rng.uniform(-1e-3, 1e-3, n)
    phase = 2 * np.pi * 0.7 * t
    acc = np.column_stack([np.sin(phase), 9.81 + np.cos(phase), 0.3 * np.sin(2 * phase)])
    gyro = np.column_stack([np.cos(phase), 0.2 * np.sin(phase), -0.1 * np.cos(3 * phase)])
    return SensorSamples("lumbar", t, acc, gyro)


def messages(samples: SensorSamples, **kw: object) -> list[PushMessage]:
    phone = EmulatedPhone(samples, URL, **kw)  # type: ignore[arg-type]
    return [decode_message(b) for _, b in phone.messages()]


def assemble(msgs: list[PushMessage], convention: Convention = Convention.ANDROID) -> SensorSamples:
    asm = PushAssembler("lumbar", convention)
    blocks = []
    for m in msgs:
        asm.add(m)
        if (b := asm.take()) is not None:
            blocks.append(b)
    asm.skip_missing()
    if (b := asm.take(final=True)) is not None:
        blocks.append(b)
    return SensorSamples.concat(blocks)


# --- decoding ------------------------------------------------------------------------------


def test_a_message_decodes_to_its_motion_streams_and_skips_other_sensors() -> None:
    msg = decode_message(
        body(
            7,
            [
                entry("accelerometer", 1_000, 1.0, 2.0, 3.0),
                entry("Gyroscope", "2000", 0.1),  # times also come as digit strings
                {"name": "location", "time": 5, "latitude": 1.0},
            ],
        )
    )
    assert msg.message_id == 7 and msg.session_id == "s" and msg.device_id == "d"
    assert set(msg.streams) == {"accelerometer", "gyroscope"}
    t, v = msg.streams["accelerometer"]
    assert t.tolist() == [1_000] and v.tolist() == [[1.0, 2.0, 3.0]]
    assert msg.streams["gyroscope"][0].tolist() == [2000]
    assert msg.n_samples == 2


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"{not json", "not JSON"),
        (b"\xff\xfe", "not JSON"),
        (b"[1, 2]", "JSON object"),
        (body(-1), "messageId"),
        (json.dumps({"messageId": 1}).encode(), "payload"),
        (body(1, [5]), r"payload\[0\] must be an object"),
        (body(1, [{"time": 1, "values": {}}]), "'name'"),
        (body(1, [entry("gyroscope", None)]), "'time'"),
        (body(1, [entry("gyroscope", True)]), "'time'"),
        (body(1, [entry("gyroscope", 1, "1.0")]), "values.x"),
        (body(1, [{"name": "gyroscope", "time": 1, "values": [1, 2, 3]}]), "'values'"),
        (
            b'{"messageId": 1, "payload": [{"name": "gyroscope", "time": 1, '
            b'"values": {"x": NaN, "y": 0, "z": 0}}]}',
            "NaN",
        ),
        (
            b'{"messageId": 1, "payload": [{"name": "gyroscope", "time": 1, '
            b'"values": {"x": Infinity, "y": 0, "z": 0}}]}',
            "Infinity",
        ),
    ],
)
def test_bad_messages_are_refused_naming_what_is_wrong(data: bytes, says: str) -> None:
    with pytest.raises(InputError, match=says):
        decode_message(data)


# --- reassembly ----------------------------------------------------------------------------


def test_in_order_messages_give_the_source_samples_back_on_its_timeline() -> None:
    src = source()
    out = assemble(messages(src, batch_s=0.5, gyro_factor=5))
    assert len(out) == len(src)
    # Seconds since the first sample; the phone's times resolve 1 ns.
    np.testing.assert_allclose(out.time_s, src.time_s - src.time_s[0], atol=1e-9)
    np.testing.assert_allclose(out.acc_mps2, src.acc_mps2, atol=1e-12)  # acc + gravity
    np.testing.assert_allclose(out.gyro_rad_s, src.gyro_rad_s, atol=1e-12)


def test_reordered_and_repeated_messages_give_the_same_samples() -> None:
    src = source()
    msgs = messages(src, batch_s=0.3)
    reference = assemble(msgs)
    shuffled = list(msgs)
    rng = random.Random(4)
    for i in range(0, len(shuffled) - 1, 3):  # neighbours swapped
        shuffled[i], shuffled[i + 1] = shuffled[i + 1], shuffled[i]
    shuffled += [msgs[rng.randrange(len(msgs))] for _ in range(5)]  # late repeats
    shuffled.insert(4, msgs[2])  # an early repeat
    asm_out = assemble(shuffled)
    np.testing.assert_array_equal(asm_out.time_s, reference.time_s)
    np.testing.assert_array_equal(asm_out.acc_mps2, reference.acc_mps2)
    np.testing.assert_array_equal(asm_out.gyro_rad_s, reference.gyro_rad_s)


def test_batching_does_not_change_the_samples() -> None:
    src = source(n=900)
    one = assemble(messages(src, batch_s=10.0))  # everything in one message
    for batch_s in (0.05, 0.37, 1.0):
        other = assemble(messages(src, batch_s=batch_s))
        np.testing.assert_array_equal(other.time_s, one.time_s)
        np.testing.assert_array_equal(other.acc_mps2, one.acc_mps2)
        np.testing.assert_array_equal(other.gyro_rad_s, one.gyro_rad_s)


def test_repeats_counted_and_a_missing_message_is_skipped_after_the_wait() -> None:
    src = source()
    msgs = messages(src, batch_s=1.0)
    asm = PushAssembler("lumbar", Convention.ANDROID)
    asm.add(msgs[0])
    first = asm.take()
    asm.add(msgs[0])
    asm.add(msgs[2])  # 1 is missing: 2 waits
    assert asm.stats.duplicate_messages == 1 and asm.waiting == 1
    assert asm.skip_missing() == 1 and asm.waiting == 0
    asm.add(msgs[1])  # too late now: its samples are behind what was released
    assert asm.stats.late_messages == 1 and asm.stats.skipped_messages == 1
    second = asm.take(final=True)
    assert first is not None and second is not None
    # The hole of the missing second is not bridged: no sample inside it.
    t = np.concatenate([first.time_s, second.time_s])
    assert np.all(np.diff(t) > 0) and np.diff(t).max() > 0.9


def test_ios_signs_are_flipped_to_specific_force() -> None:
    msgs = [
        decode_message(
            body(
                0,
                [entry("accelerometer", i * 10_000_000, 0.1) for i in range(3)]
                + [entry("gravity", i * 10_000_000, 0.0, 0.0, -9.81) for i in range(3)]
                + [entry("gyroscope", i * 10_000_000, 0.5) for i in range(3)],
            )
        )
    ]
    ios = assemble(msgs, Convention.IOS)
    android = assemble(msgs, Convention.ANDROID)
    np.testing.assert_allclose(ios.acc_mps2[0], [-0.1, 0.0, 9.81])
    np.testing.assert_allclose(android.acc_mps2[0], [0.1, 0.0, -9.81])
    np.testing.assert_allclose(ios.gyro_rad_s, android.gyro_rad_s)  # same on both


def test_total_acceleration_is_used_as_is_when_sent() -> None:
    msg = decode_message(
        body(
            0,
            [entry("totalacceleration", i * 10_000_000, 0.0, 9.81) for i in range(4)]
            + [entry("gyroscope", i * 5_000_000, 0.1 * i) for i in range(8)],
        )
    )
    out = assemble([msg])
    np.testing.assert_allclose(out.acc_mps2[:, 1], 9.81)
    np.testing.assert_allclose(out.gyro_rad_s[:, 0], [0.0, 0.2, 0.4, 0.6])  # at acc times


def test_recorded_bodies_decode_again_to_the_same_samples() -> None:
    src = source()
    phone = EmulatedPhone(src, URL, batch_s=0.5)
    packets = [
        RawPacket("lumbar", "sensor_logger_push", float(i), None, b)
        for i, (_, b) in enumerate(phone.messages())
    ]
    packets.insert(3, RawPacket("lumbar", "sensor_logger_push", 2.5, None, b"garbage"))
    again = decode_recorded(packets, "lumbar", Convention.ANDROID)
    direct = assemble(messages(src, batch_s=0.5))
    assert again is not None
    np.testing.assert_array_equal(again.time_s, direct.time_s)
    np.testing.assert_array_equal(again.acc_mps2, direct.acc_mps2)


def test_the_emulated_phone_sends_androids_streams_at_their_own_rates() -> None:
    src = source(n=500)
    phone = EmulatedPhone(src, URL, batch_s=1.0, gyro_factor=5, swap_every=2, repeat_every=3)
    msgs = [decode_message(b) for _, b in phone.messages()]
    n_acc = sum(len(m.streams["accelerometer"][0]) for m in msgs)
    n_gyro = sum(len(m.streams["gyroscope"][0]) for m in msgs)
    assert n_acc == 500 and n_gyro == 5 * 499 + 1
    assert min(int(m.streams["accelerometer"][0].min()) for m in msgs) == EPOCH_BASE_NS
    # Gravity is most of the specific force at rest; the accelerometer stream the rest.
    g = np.concatenate([m.streams["gravity"][1] for m in msgs])
    assert np.all(np.abs(g[:, 1] - 9.81) < 1.5)
    order = phone._order(len(msgs))
    assert sorted(set(order)) == list(range(len(msgs))) and len(order) > len(msgs)
    assert order != sorted(order)


def test_phone_device_names() -> None:
    assert parse_phone_device("AA:BB:CC:DD:EE:FF") is None
    assert parse_phone_device("emulator:rec.trk") is None
    android = parse_phone_device("phone:sensorlogger")
    ios = parse_phone_device(" phone:SensorLogger-iOS ")
    emulated = parse_phone_device("emulator:sensorlogger:x/rec.trk")
    assert android is not None and android.convention is Convention.ANDROID
    assert ios is not None and ios.convention is Convention.IOS
    assert (
        emulated is not None
        and emulated.is_emulator
        and str(emulated.emulator_path) == ("x/rec.trk")
    )
    with pytest.raises(DeviceError, match="unknown phone app"):
        parse_phone_device("phone:phyphox2")
    with pytest.raises(DeviceError, match="names no recording"):
        parse_phone_device("emulator:sensorlogger:")


@fuzz
@given(
    json_bodies(
        st.fixed_dictionaries(
            {"messageId": st.integers(-2, 5), "payload": st.lists(JSONISH, max_size=4)}
        ).map(lambda d: json.dumps(d).encode()),
    )
)
def test_any_body_decodes_or_is_refused_with_an_input_error(data: bytes) -> None:
    try:
        msg = decode_message(data)
    except InputError:
        return
    for t, v in msg.streams.values():
        assert t.dtype == np.int64 and v.shape == (len(t), 3) and np.isfinite(v).all()
