"""phyphox remote access: the decoder (/config, /get, /time, /control), the state that
turns answers into samples, the emulated server's thresholds, the shipped experiment."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from decoder_helpers import fuzz, json_bodies
from hypothesis import given
from hypothesis import strategies as st

import tracker.devices
from tracker.devices.phone_source import parse_phone_device
from tracker.devices.phyphox_emulator import BUFFERS, nudged, phyphox_number
from tracker.devices.phyphox_remote import (
    PhyphoxAssembler,
    TimeEvent,
    TimeMap,
    get_query,
    parse_config,
    parse_control,
    parse_get,
    parse_time,
)
from tracker.errors import DeviceError, InputError, TrackerError

EXPERIMENT = Path(tracker.devices.__file__).parent / "experiments" / "lumbar_tracker.phyphox"

#: The shape of phyphox-android's /config answer (RemoteServer.handleConfig: one
#: {"source", "outputs": [{component: buffer}, ...]} per sensor input) for its stock
#: "Acceleration with g" and "Gyroscope" buffer names (phyphox-docs sample experiments).
CONFIG = {
    "crc32": "44c5dc97",
    "title": "Acc and gyro",
    "localTitle": "Acc and gyro",
    "category": "Raw Sensors",
    "localCategory": "Raw Sensors",
    "buffers": [{"name": n, "size": 0} for n in ("acc_time", "accX", "accY", "accZ")],
    "inputs": [
        {
            "source": "accelerometer",
            "outputs": [{"x": "accX"}, {"y": "accY"}, {"z": "accZ"}, {"t": "acc_time"}],
        },
        {
            "source": "gyroscope",
            "outputs": [{"x": "gyrX"}, {"y": "gyrY"}, {"z": "gyrZ"}, {"t": "gyr_time"}],
        },
    ],
    "export": [],
}


def config(**change: object) -> bytes:
    return json.dumps({**CONFIG, **change}).encode()


def get_body(acc: dict[str, list], gyro: dict[str, list], **status: object) -> bytes:
    """A /get answer as phyphox-android writes it (RemoteServer.handleGet: Java's
    "0.#######E0" numbers, null for NaN)."""

    def buf(values: list) -> str:
        text = ",".join("null" if v is None else phyphox_number(v) for v in values)
        return f'{{"size":0,"updateMode":"partial", "buffer":[{text}]}}'

    names = {**acc, **gyro}
    parts = ",\n".join(f'"{n}":{buf(v)}' for n, v in names.items())
    st_ = {"session": "abc123", "measuring": True, "timedRun": False, "countDown": 0, **status}
    return ('{"buffer":{\n' + parts + '\n},\n"status":' + json.dumps(st_) + "\n}\n").encode()


def rows(t: list, prefix: str = "acc") -> dict[str, list]:
    names = (
        ("acc_time", "accX", "accY", "accZ")
        if prefix == "acc"
        else ("gyr_time", "gyrX", "gyrY", "gyrZ")
    )
    return {
        names[0]: t,
        names[1]: [1.0] * len(t),
        names[2]: [9.8] * len(t),
        names[3]: [0.5] * len(t),
    }


# --- /config --------------------------------------------------------------------------


def test_the_buffers_are_found_in_the_inputs_whatever_their_names() -> None:
    b = parse_config(config())
    assert (b.acc.time, b.acc.values) == ("acc_time", ("accX", "accY", "accZ"))
    assert (b.gyro.time, b.gyro.values) == ("gyr_time", ("gyrX", "gyrY", "gyrZ"))
    renamed = json.loads(config())
    renamed["inputs"][0]["outputs"] = [{"t": "T"}, {"x": "A"}, {"y": "B"}, {"z": "C"}]
    assert parse_config(json.dumps(renamed).encode()).acc.values == ("A", "B", "C")


def test_an_experiment_without_both_sensors_is_refused_in_one_line() -> None:
    inputs = CONFIG["inputs"]
    with pytest.raises(DeviceError, match="no gyroscope") as info:
        parse_config(config(inputs=inputs[:1]))
    assert "\n" not in str(info.value) and "README" in str(info.value)
    linear = [{**inputs[0], "source": "linear_acceleration"}, inputs[1]]
    with pytest.raises(DeviceError, match="without g cannot give the inclination"):
        parse_config(config(inputs=linear))
    with pytest.raises(InputError, match="not JSON"):
        parse_config(b"<html>")


def test_the_shipped_experiment_is_the_one_the_emulator_serves() -> None:
    root = ET.parse(EXPERIMENT).getroot()
    sensors = {s.get("type"): s for s in root.iter("sensor")}
    assert set(sensors) == {"accelerometer", "gyroscope"}  # with g; rad/s
    for kind, want in (("accelerometer", BUFFERS.acc), ("gyroscope", BUFFERS.gyro)):
        s = sensors[kind]
        assert s.get("rate") == "0"  # as fast as the phone offers
        outs = {o.get("component"): o.text for o in s.iter("output")}
        assert outs == {"t": want.time, "x": want.x, "y": want.y, "z": want.z}
    # Its export has the column titles the file import reads.
    titles = [d.get("name") for d in root.iter("data")]
    assert "Acceleration x (m/s^2)" in titles and "Gyroscope x (rad/s)" in titles


# --- /get -------------------------------------------------------------------------------


def test_the_query_follows_each_time_buffer_with_its_values() -> None:
    b = parse_config(config())
    q = get_query(b, 12.5, None)
    assert q.startswith("/get?acc_time=12.5&accX=12.5%7Cacc_time&accY=12.5%7Cacc_time")
    assert "gyr_time=full&gyrX=full" in q


def test_new_rows_are_paired_by_index_nulls_dropped_and_counted() -> None:
    b = parse_config(config())
    acc = rows([1.0, 1.01, 1.02, 1.03])
    acc["accY"][1] = None  # NaN on the phone
    acc["accZ"] = acc["accZ"][:3]  # a buffer one behind: that row waits
    gyro = rows([1.0, 1.005, None], "gyro")
    a = parse_get(get_body(acc, gyro), b)
    np.testing.assert_allclose(a.acc.time_s, [1.0, 1.02])
    assert a.acc.nulls == 1 and a.acc.newest_s == pytest.approx(1.02)
    assert a.gyro.nulls == 1 and len(a.gyro.time_s) == 2
    assert a.session == "abc123" and a.measuring and not a.restarted
    np.testing.assert_allclose(a.acc.values[0], [1.0, 9.8, 0.5])


def test_a_full_answer_after_a_clear_is_a_restart_and_repeats_are_left_out() -> None:
    b = parse_config(config())
    body = get_body(rows([5.0, 5.1, 5.2]), rows([5.0, 5.1], "gyro")).replace(
        b'"partial"', b'"full"'
    )
    again = parse_get(body, b, acc_after_s=5.05, gyro_after_s=5.05)
    np.testing.assert_allclose(again.acc.time_s, [5.1, 5.2])
    assert not again.restarted
    assert parse_get(body, b, acc_after_s=80.0, gyro_after_s=80.0).restarted


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"{", "not JSON"),
        (b"[]", "not an object"),
        (b'{"buffer": {}}', "'buffer' or 'status'"),
        (b'{"buffer": {}, "status": {"session": "s"}}', "'measuring'"),
        (b'{"buffer": {}, "status": {"session": "s", "measuring": true}}', "lacks buffer"),
    ],
)
def test_bad_get_answers_are_refused_naming_what_is_wrong(body: bytes, says: str) -> None:
    with pytest.raises(InputError, match=says):
        parse_get(body, BUFFERS)


def test_phyphox_numbers_and_its_threshold_nudge() -> None:
    # RemoteServer.java: DecimalFormat("0.#######E0"); threshold += 10^floor(log10(|T|/1e7)).
    assert phyphox_number(12.3456789) == "1.2345679E1"
    assert phyphox_number(-0.0015) == "-1.5E-3"
    assert phyphox_number(float("nan")) == "null"
    assert nudged(12.345678) == pytest.approx(12.345679)
    assert nudged(0.0) == 0.0
    assert json.loads(phyphox_number(1234.5678)) == 1234.5678


# --- /time, /control ----------------------------------------------------------------------

#: The shape of phyphox-docs openapi.yaml's TimeEvent (experimentTime s, systemTime epoch s).
TIME = (
    b'[{"event":"START","experimentTime":0,"systemTime":1700000000.5},'
    b'{"event":"PAUSE","experimentTime":8.0,"systemTime":1700000008.5},'
    b'{"event":"START","experimentTime":8.0,"systemTime":1700000020.5}]'
)


def test_experiment_time_goes_on_the_phone_clock_with_the_pause_put_back() -> None:
    events = parse_time(TIME)
    assert events[1] == TimeEvent("PAUSE", 8.0, 1700000008.5)
    ns = TimeMap(events).system_ns(np.array([1.0, 7.99, 8.0, 9.0]))
    assert list(ns) == [
        1700000001_500000000,
        1700000008_490000000,
        1700000020_500000000,
        1700000021_500000000,
    ]
    assert not TimeMap([])
    with pytest.raises(InputError, match="systemTime"):
        parse_time(b'[{"event":"START","experimentTime":0,"systemTime":"x"}]')
    assert parse_control(b'{"result": true}') is True
    with pytest.raises(InputError):
        parse_control(b'{"result": 1}')


def test_rows_after_a_pause_wait_for_the_time_of_the_resumption() -> None:
    state = PhyphoxAssembler("lumbar")
    state.config(config())
    state.time(TIME[: TIME.index(b",{")] + b"]")  # only the first start is known
    t = list(np.arange(0, 8.0, 0.01))
    state.get(get_body(rows(t), rows(t, "gyro")))
    state.get(get_body(rows([]), rows([], "gyro"), measuring=False))
    assert state.needs_time
    t2 = list(8.0 + np.arange(0, 2.0, 0.01))
    state.get(get_body(rows(t2), rows(t2, "gyro")))
    state.time(TIME)
    blocks = [b for b in iter(lambda: state.take(final=True), None)]
    times = np.concatenate([b.time_s for b in blocks])
    assert np.diff(times).max() == pytest.approx(12.0, abs=0.02)  # the pause is back


def test_a_reloaded_experiment_asks_for_the_config_again() -> None:
    state = PhyphoxAssembler("lumbar")
    state.config(config())
    state.time(TIME)
    state.get(get_body(rows([1.0, 1.1]), rows([1.0, 1.1], "gyro")))
    assert state.get(b'{"buffer": {}, "status": {"session": "new", "measuring": false}}') is None
    assert state.needs_config and state.needs_time and state.restarts == 1
    assert state.session == "new" and state.query().count("=full") == 8  # all of the new run


# --- fuzz -------------------------------------------------------------------------------

NUMBERS = st.lists(st.none() | st.floats(allow_nan=False, width=32), max_size=6)


def _get_like(draw_rows: list) -> bytes:
    names = [n for s in (BUFFERS.acc, BUFFERS.gyro) for n in (s.time, *s.values)]
    return json.dumps(
        {
            "buffer": {
                n: {"size": 0, "updateMode": "partial", "buffer": v}
                for n, v in zip(names, draw_rows, strict=False)
            },
            "status": {"session": "s", "measuring": True},
        }
    ).encode()


@fuzz
@given(
    json_bodies(
        st.lists(NUMBERS, min_size=6, max_size=8).map(_get_like),
    ),
    st.none() | st.floats(-10, 10),
)
def test_any_get_answer_decodes_or_is_refused_with_an_input_error(
    body: bytes, after: float | None
) -> None:
    try:
        a = parse_get(body, BUFFERS, after, after)
    except InputError:
        return
    for block in (a.acc, a.gyro):
        assert block.values.shape == (len(block.time_s), 3)
        assert np.isfinite(block.values).all() and np.isfinite(block.time_s).all()
        if after is not None and not a.restarted:
            assert (block.time_s > after).all()


@fuzz
@given(
    json_bodies(
        st.lists(
            st.fixed_dictionaries(
                {
                    "source": st.sampled_from(["accelerometer", "gyroscope", "x"]),
                    "outputs": st.lists(
                        st.dictionaries(
                            st.sampled_from(["x", "y", "z", "t"]),
                            st.text(max_size=3) | st.none(),
                            max_size=2,
                        ),
                        max_size=5,
                    ),
                }
            ),
            max_size=3,
        ).map(lambda inputs: config(inputs=inputs)),
    )
)
def test_any_config_time_or_control_answer_decodes_or_is_refused(body: bytes) -> None:
    for parse in (parse_config, parse_time, parse_control):
        try:
            parse(body)
        except TrackerError:
            pass
    try:
        b = parse_config(body)
    except TrackerError:
        return
    assert all(b.acc.values) and b.gyro.time


def test_phyphox_device_names() -> None:
    d = parse_phone_device("phone:phyphox@192.168.1.20")
    assert d is not None and d.is_phyphox and (d.host, d.port) == ("192.168.1.20", 8080)
    d = parse_phone_device("phone:phyphox@10.0.0.5:80")
    assert d is not None and d.port == 80 and not d.is_emulator
    e = parse_phone_device("emulator:phyphox:rec.trk")
    assert e is not None and e.is_phyphox and e.is_emulator
    for bad, says in (
        ("phone:phyphox", "no phone address"),
        ("phone:phyphox@", "no phone address"),
        ("phone:phyphox@host:99999", "port"),
        ("emulator:phyphox:", "names no recording"),
        ("phone:sensorlogger@x", "unknown phone app"),
    ):
        with pytest.raises(DeviceError, match=says):
            parse_phone_device(bad)


@fuzz
@given(st.text(max_size=40))
def test_any_device_text_names_a_phone_none_or_is_refused(text: str) -> None:
    try:
        d = parse_phone_device(text)
    except DeviceError as exc:
        assert "\n" not in str(exc)
        return
    if d is not None and d.is_phyphox and not d.is_emulator:
        assert d.host and 0 < d.port < 65536


@fuzz
@given(st.binary(max_size=120), st.sampled_from([b"", b"HTTP/1.1 200 OK\r\n"]))
def test_any_http_head_parses_or_is_no_answer(head: bytes, prefix: bytes) -> None:
    from tracker.devices.phyphox_source import NoAnswer, parse_head

    try:
        status, length = parse_head(prefix + head)
    except NoAnswer:
        return
    assert status >= 0 and (length is None or length >= 0)


@fuzz
@given(st.lists(json_bodies(st.lists(NUMBERS, min_size=8, max_size=8).map(_get_like)), max_size=6))
def test_any_answers_in_any_order_give_usable_samples_or_input_errors(bodies: list[bytes]) -> None:
    from tracker.devices.phyphox_remote import decode_recorded, recorded_payload
    from tracker.recording.model import RawPacket

    paths = ["/config", "/time", "/get?x", "/get?y", "/get?z", "/time"]
    packets = [
        RawPacket("lumbar", "phyphox_remote", 0.0, None, recorded_payload(paths[0], config()))
    ]
    packets += [
        RawPacket("lumbar", "phyphox_remote", 0.0, None, recorded_payload(p, b))
        for p, b in zip(paths[1:], bodies, strict=False)
    ]
    samples = decode_recorded(packets, "lumbar")
    if samples is not None:
        assert np.isfinite(samples.acc_mps2).all() and np.isfinite(samples.gyro_rad_s).all()
        assert (np.diff(samples.time_s) > 0).all()
