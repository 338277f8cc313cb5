"""Loading by content, saving by extension, importer hook, CSV <-> native conversion."""

from __future__ import annotations

import datetime
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from recording_testdata import EXAMPLE_CSV, assert_close_samples, assert_same_samples, recordings

from tracker.errors import InputError
from tracker.recording import load
from tracker.recording.load import Importer, load_recording, register_importer, save_recording
from tracker.recording.model import Recording, SessionNotes
from tracker.recording.native import NativeRecording
from tracker.samples import SensorSamples

PROPERTY = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture
def csv_file(tmp_path: Path) -> Path:
    p = tmp_path / "s.csv"
    p.write_text(EXAMPLE_CSV)
    return p


def test_reader_is_chosen_by_content_not_extension(tmp_path: Path, csv_file: Path) -> None:
    rec = load_recording(csv_file)
    native_named_csv = tmp_path / "really-native.csv"
    save_recording(rec, tmp_path / "n.trk")
    (tmp_path / "n.trk").rename(native_named_csv)
    back = load_recording(native_named_csv)
    assert isinstance(back, NativeRecording)
    assert_same_samples(rec, back)
    csv_named_trk = tmp_path / "really-csv.trk"
    csv_named_trk.write_text(EXAMPLE_CSV)
    assert_same_samples(rec, load_recording(csv_named_trk))


def test_save_by_extension(tmp_path: Path, csv_file: Path) -> None:
    rec = load_recording(csv_file)
    save_recording(rec, tmp_path / "o.CSV")
    assert (tmp_path / "o.CSV").read_text() == EXAMPLE_CSV
    with pytest.raises(InputError, match=r"name it \.csv \(samples CSV\) or \.trk"):
        save_recording(rec, tmp_path / "o.txt")
    with pytest.raises(InputError, match="no samples"):
        save_recording(Recording(sensors={}), tmp_path / "e.trk")


def test_unit_options_do_not_apply_to_native(tmp_path: Path, csv_file: Path) -> None:
    save_recording(load_recording(csv_file), tmp_path / "n.trk")
    with pytest.raises(InputError, match="apply only to samples CSV"):
        load_recording(tmp_path / "n.trk", acc_unit="g")


def test_registered_importer_is_asked_before_the_csv_fallback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(load, "_IMPORTERS", [])
    seen = {}

    def load_phone(path: Path, *, acc_unit: str, gyro_unit: str) -> Recording:
        seen["units"] = (acc_unit, gyro_unit)
        t = np.arange(3) / 50
        acc = np.tile([0.0, 0.0, 9.81], (3, 1))
        s = SensorSamples("sacrum", t, acc, np.zeros((3, 3)))
        return Recording(sensors={"sacrum": s}, notes=SessionNotes(text="phone"))

    register_importer(Importer("phone", lambda head, path: head.startswith(b"PHONE"), load_phone))
    register_importer(Importer("phone", lambda head, path: head.startswith(b"PHONE"), load_phone))
    assert len(load._IMPORTERS) == 1  # same name replaces
    p = tmp_path / "x.phone"
    p.write_bytes(b"PHONE v1\n")
    rec = load_recording(p, acc_unit="g")
    assert rec.notes.text == "phone" and seen["units"] == ("g", "rad_s")
    other = tmp_path / "s.csv"
    other.write_text(EXAMPLE_CSV)
    assert load_recording(other).placements == ("lumbar", "sacrum")


def test_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        load_recording(tmp_path / "nope.trk")


@PROPERTY
@given(rec=recordings(min_size=2))
def test_csv_native_csv_is_byte_identical(tmp_path: Path, rec: Recording) -> None:
    a, n, b = tmp_path / "a.csv", tmp_path / "n.trk", tmp_path / "b.csv"
    save_recording(rec, a)
    from_csv = load_recording(a)
    save_recording(from_csv, n)
    from_native = load_recording(n)
    assert_same_samples(from_csv, from_native)  # float64 in native: nothing is lost
    save_recording(from_native, b)
    assert a.read_bytes() == b.read_bytes()


@PROPERTY
@given(rec=recordings(min_size=2))
def test_native_csv_native_keeps_samples_to_csv_precision(tmp_path: Path, rec: Recording) -> None:
    n, c = tmp_path / "n.trk", tmp_path / "c.csv"
    save_recording(rec, n)
    save_recording(load_recording(n), c)
    assert_close_samples(rec, load_recording(c))


@settings(
    max_examples=100,
    deadline=datetime.timedelta(seconds=5),
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    data=st.binary(max_size=300), prefix=st.sampled_from([b"", b"\x89TRK", EXAMPLE_CSV.encode()])
)
def test_fuzz_load_only_raises_input_errors(tmp_path: Path, data: bytes, prefix: bytes) -> None:
    p = tmp_path / "f.bin"
    p.write_bytes(prefix + data)
    try:
        load_recording(p)
    except InputError:
        pass
