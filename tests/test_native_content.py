"""Native files whose framing and checksums are valid but whose content is hostile.

Each case is written with the format's own framing (`framing.encode_record`), so every
CRC holds and only what the records say is wrong: the reader must refuse it with one
`InputError` naming the record, never a TypeError, ValueError or RecursionError.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest

from tracker.errors import InputError
from tracker.recording import framing
from tracker.recording.describe import describe
from tracker.recording.model import DeviceInfo, SessionNotes
from tracker.recording.native import (
    MAX_JSON_RECORD_BYTES,
    MAX_SAMPLES_PER_RECORD,
    RecordingWriter,
    iter_packets,
    read_native,
    read_native_info,
)
from tracker.samples import SensorSamples

GOOD_HEADER = {
    "created_utc": "2026-11-25T02:29:01Z",
    "devices": {"lumbar": {"model": "XIAO", "sample_rate_hz": 100.0, "acc_range_g": 8.0}},
    "notes": {"exercise": "deadlift", "load_kg": 100.0, "text": "ok"},
    "meta": {},
}


def samples_payload(placement: str = "lumbar", n: int = 50, declared: int | None = None) -> bytes:
    t = np.arange(n) / 100.0
    acc = np.tile([0.0, 0.0, 9.81], (n, 1))
    gyro = np.zeros((n, 3))
    raw = placement.encode()
    head = bytes([len(raw)]) + raw + struct.pack("<I", n if declared is None else declared)
    return head + b"".join(a.astype("<f8").tobytes() for a in (t, acc, gyro))


def write(path: Path, header: bytes | dict, *records: tuple[int, bytes]) -> Path:
    """A complete, correctly framed file: preamble, header, ``records``, end."""
    payload = header if isinstance(header, bytes) else json.dumps(header).encode()
    out = framing.encode_preamble() + framing.encode_record(framing.HEADER, payload)
    for rtype, body in records or [(framing.SAMPLES, samples_payload())]:
        out += framing.encode_record(rtype, body)
    path.write_bytes(out + framing.encode_record(framing.END, b""))
    return path


def with_header(**changes: object) -> dict:
    head = json.loads(json.dumps(GOOD_HEADER))
    for dotted, value in changes.items():
        node = head
        *parents, key = dotted.split("__")
        for k in parents:
            node = node[k]
        node[key] = value
    return head


def test_the_crafted_good_file_reads(tmp_path: Path) -> None:
    rec = read_native(write(tmp_path / "g.trk", GOOD_HEADER))
    assert rec.devices["lumbar"].sample_rate_hz == 100.0 and len(rec.sensors["lumbar"]) == 50
    assert rec.notes.load_kg == 100.0 and rec.created_utc == "2026-11-25T02:29:01Z"


BAD_HEADERS = {
    "rate as text": (with_header(devices__lumbar__sample_rate_hz="fast"), "sample_rate_hz"),
    "rate as bool": (with_header(devices__lumbar__sample_rate_hz=True), "sample_rate_hz"),
    "rate negative": (with_header(devices__lumbar__acc_range_g=-8), "acc_range_g"),
    "rate too large": (with_header(devices__lumbar__gyro_range_dps=10**400), "gyro_range_dps"),
    "model as number": (with_header(devices__lumbar__model=3), "model"),
    "firmware as list": (with_header(devices__lumbar__firmware=[1]), "firmware"),
    "model huge": (with_header(devices__lumbar__model="x" * 70000), "model"),
    "device as list": (with_header(devices__lumbar=[1, 2]), "devices.lumbar"),
    "devices as text": (with_header(devices="lumbar"), "devices"),
    "notes as list": (with_header(notes=[]), "notes"),
    "load as text": (with_header(notes__load_kg="100"), "load_kg"),
    "load negative": (with_header(notes__load_kg=-5), "load_kg"),
    "exercise as number": (with_header(notes__exercise=7), "exercise"),
}


@pytest.mark.parametrize("name", BAD_HEADERS)
def test_header_fields_of_the_wrong_type_are_input_errors(tmp_path: Path, name: str) -> None:
    header, field = BAD_HEADERS[name]
    path = write(tmp_path / "h.trk", header)
    for read in (read_native, read_native_info):
        with pytest.raises(InputError, match=rf"malformed header record at byte 16 .*{field}"):
            read(path)


@pytest.mark.parametrize(
    "payload",
    [
        b"[" * 200_000 + b"]" * 200_000,
        b'{"devices":' + b"[" * 200_000 + b"]" * 200_000 + b"}",
        b'{"meta":' + b'{"a":' * 100 + b"1" + b"}" * 101,
        b'{"notes":{"load_kg":NaN}}',
        b'{"notes":{"load_kg":Infinity}}',
        b'{"notes":{"load_kg":1e999}}',
        b"\xff\xfe not utf-8",
        b"[]",
        b" " * (MAX_JSON_RECORD_BYTES + 1),
    ],
    ids=["list", "devices", "meta", "nan", "infinity", "overflow", "utf8", "not-object", "huge"],
)
def test_hostile_header_json_is_an_input_error(tmp_path: Path, payload: bytes) -> None:
    path = write(tmp_path / "j.trk", payload)
    with pytest.raises(InputError, match="malformed header record at byte 16"):
        read_native(path)


def test_unknown_placements_and_keys_in_the_header_are_ignored(tmp_path: Path) -> None:
    head = with_header(devices__thorax={"model": "new"}, devices__lumbar__colour="red")
    head["future"] = {"x": 1}
    rec = read_native(write(tmp_path / "u.trk", head))
    assert set(rec.devices) == {"lumbar"} and rec.devices["lumbar"].model == "XIAO"


def test_a_creation_time_that_is_not_a_date_is_unknown(tmp_path: Path) -> None:
    for created in ("yesterday", 5, "0001-01-01T00:00:00+14:00"):
        rec = read_native(write(tmp_path / "c.trk", with_header(created_utc=created)))
        assert rec.created_utc is None


def _gap(**fields: object) -> tuple[int, bytes]:
    return framing.GAP, json.dumps(fields).encode()


@pytest.mark.parametrize(
    ("record", "match"),
    [
        (_gap(placement="lumbar", start_s="1", end_s=2), "gap.start_s is text"),
        (_gap(placement="lumbar", start_s=3, end_s=2), "before it starts"),
        ((framing.GAP, b'{"placement":"lumbar","start_s":1,"end_s":1e999}'), "finite"),
        (_gap(placement="knee", start_s=1, end_s=2), "gap placement"),
        (_gap(placement="lumbar", start_s=1, end_s=2, reason=["x"]), "gap.reason"),
        (_gap(placement="lumbar", start_s=1), "gap.end_s is null"),
        ((framing.NOTES, b'{"text": {"a": 1}}'), "notes.text is an object"),
        ((framing.NOTES, b"[1]"), "not an object"),
        ((framing.SAMPLES, samples_payload("knee")), "unknown placement"),
        ((framing.SAMPLES, samples_payload(declared=10**9)), "samples"),
        (
            (framing.SAMPLES, samples_payload(n=MAX_SAMPLES_PER_RECORD + 1)),
            f"more than {MAX_SAMPLES_PER_RECORD}",
        ),
    ],
)
def test_records_with_bad_content_name_the_record(
    tmp_path: Path, record: tuple[int, bytes], match: str
) -> None:
    path = write(tmp_path / "r.trk", GOOD_HEADER, (framing.SAMPLES, samples_payload()), record)
    kind = framing.RECORD_NAMES[record[0]]
    with pytest.raises(InputError, match=rf"malformed {kind} record at byte \d+ \(.*{match}"):
        read_native(path)


def test_packets_record_claiming_too_many_packets(tmp_path: Path) -> None:
    body = b"\x06lumbar\x0btracker_imu" + struct.pack("<I", 2**31)
    path = write(tmp_path / "p.trk", GOOD_HEADER, (framing.SAMPLES, samples_payload()), (3, body))
    with pytest.raises(InputError, match="malformed packets record"):
        list(iter_packets(path))


def test_what_the_writer_stores_is_read_and_described(tmp_path: Path) -> None:
    """The writer's own output passes the reader's checks (no false alarm)."""
    path = tmp_path / "w.trk"
    devices = {"lumbar": DeviceInfo(model="M", firmware="1", sample_rate_hz=100.0)}
    with RecordingWriter(path, devices=devices, notes=SessionNotes(load_kg=0.0)) as w:
        t = np.arange(20) / 100.0
        w.write_samples(SensorSamples("lumbar", t, np.ones((20, 3)), np.zeros((20, 3))))
    rec = read_native(path)
    assert rec.devices == devices and rec.notes.load_kg == 0.0
    assert any("100 Hz nominal" in line for line in describe(rec))


def test_a_file_of_too_many_records_is_refused(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(framing, "MAX_RECORDS", 50)
    unknown = [(99, b"")] * 60
    path = write(tmp_path / "many.trk", GOOD_HEADER, (framing.SAMPLES, samples_payload()), *unknown)
    for read in (read_native, read_native_info, lambda p: list(iter_packets(p))):
        with pytest.raises(InputError, match="more than 50 records"):
            read(path)
