"""Samples CSV: exact round trips, every validation rule, fuzzing."""

from __future__ import annotations

import datetime
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from recording_testdata import BAD_CSV_CASES, EXAMPLE_CSV, assert_close_samples, recordings

from tracker.errors import InputError, UnitError
from tracker.recording.model import Recording
from tracker.recording.samples_csv import (
    _parse_fast,
    _parse_slow,
    read_samples_csv,
    write_samples_csv,
)
from tracker.samples import SensorSamples
from tracker.units import G_MPS2, RAD_PER_DEG

EXAMPLE = EXAMPLE_CSV
FUZZ = settings(
    max_examples=150,
    deadline=datetime.timedelta(seconds=5),
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def write(tmp_path: Path, text: str | bytes, name: str = "s.csv") -> Path:
    p = tmp_path / name
    if isinstance(text, str):
        text = text.encode()
    p.write_bytes(text)
    return p


def error_of(path: Path, **kwargs: str) -> str:
    with pytest.raises(InputError) as info:
        read_samples_csv(path, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    return message


def recording_with(acc: np.ndarray, gyro: np.ndarray, rate_hz: float = 100.0) -> Recording:
    t = np.arange(len(acc)) / rate_hz
    return Recording(sensors={"lumbar": SensorSamples("lumbar", t, acc, gyro)})


def test_example_reads_with_values_and_sensors(tmp_path: Path) -> None:
    rec = read_samples_csv(write(tmp_path, EXAMPLE))
    assert rec.placements == ("lumbar", "sacrum")
    np.testing.assert_array_equal(rec.sensors["lumbar"].time_s, [0.0, 0.005])
    np.testing.assert_array_equal(rec.sensors["sacrum"].acc_mps2[1], [0.01, 9.8, 0.11])
    np.testing.assert_array_equal(rec.sensors["lumbar"].gyro_rad_s[0], [0.001, -0.002, 0.0])


def test_write_is_the_fixed_format_and_byte_identical(tmp_path: Path) -> None:
    src = write(tmp_path, EXAMPLE)
    out = tmp_path / "out.csv"
    write_samples_csv(read_samples_csv(src), out)
    assert out.read_text() == EXAMPLE


def test_write_orders_rows_by_written_time_ties_lumbar_first(tmp_path: Path) -> None:
    # 1.0000004 and 1.0000001 both print as 1.000000: the tie rule, not the hidden
    # digits, must decide the order, or a re-written file would differ.
    t_l = np.array([1.0000004, 2.0])
    t_s = np.array([1.0000001, 1.5])
    acc = np.tile([0.0, 0.0, 9.81], (2, 1))
    rec = Recording(
        sensors={
            "lumbar": SensorSamples("lumbar", t_l, acc, np.zeros((2, 3))),
            "sacrum": SensorSamples("sacrum", t_s, acc, np.zeros((2, 3))),
        }
    )
    out = tmp_path / "o.csv"
    write_samples_csv(rec, out)
    sensors = [line.split(",")[1] for line in out.read_text().splitlines()[1:]]
    assert sensors == ["lumbar", "sacrum", "sacrum", "lumbar"]


def test_write_refuses_times_closer_than_the_format_resolves(tmp_path: Path) -> None:
    acc = np.tile([0.0, 0.0, 9.81], (2, 1))
    rec = Recording(
        sensors={"lumbar": SensorSamples("lumbar", [1.0, 1.0000001], acc, np.zeros((2, 3)))}
    )
    with pytest.raises(InputError, match="1 microsecond"):
        write_samples_csv(rec, tmp_path / "o.csv")


def test_failed_write_leaves_no_half_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = write(tmp_path, "previous content\n", "o.csv")
    rec = read_samples_csv(write(tmp_path, EXAMPLE))

    def interrupted(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("tracker.recording.samples_csv.os.fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_samples_csv(rec, out)
    assert out.read_text() == "previous content\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.csv", "s.csv"]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rec=recordings())
def test_round_trip_is_byte_identical(tmp_path: Path, rec: Recording) -> None:
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    write_samples_csv(rec, a)
    back = read_samples_csv(a, min_samples=1)
    assert_close_samples(rec, back)
    write_samples_csv(back, b)
    assert a.read_bytes() == b.read_bytes()


def test_extra_columns_and_any_column_order_are_accepted(tmp_path: Path) -> None:
    text = (
        "note,gyro_z,gyro_y,gyro_x,acc_z,acc_y,acc_x,sensor,time_s\n"
        "hello,0.3,0.2,0.1,9.8,0.5,0.4,lumbar,0.0\n"
        "lumbar,0.3,0.2,0.1,9.8,0.5,0.4,lumbar,0.01\n"
    )
    rec = read_samples_csv(write(tmp_path, text))
    s = rec.sensors["lumbar"]
    np.testing.assert_array_equal(s.time_s, [0.0, 0.01])
    np.testing.assert_array_equal(s.acc_mps2[0], [0.4, 0.5, 9.8])
    np.testing.assert_array_equal(s.gyro_rad_s[0], [0.1, 0.2, 0.3])


def test_sensors_need_not_interleave(tmp_path: Path) -> None:
    lines = EXAMPLE.splitlines()
    grouped = [lines[0], lines[2], lines[4], lines[1], lines[3]]  # sacrum rows first
    rec = read_samples_csv(write(tmp_path, "\n".join(grouped) + "\n"))
    assert_close_samples(read_samples_csv(write(tmp_path, EXAMPLE, "e.csv")), rec)


def test_crlf_bom_blank_lines_and_spaces_are_accepted(tmp_path: Path) -> None:
    text = "\ufeff" + EXAMPLE.replace("\n", "\r\n") + "\r\n\r\n"
    text = text.replace(",sacrum,", ", sacrum ,")
    rec = read_samples_csv(write(tmp_path, text))
    assert [len(rec.sensors[p]) for p in rec.placements] == [2, 2]


def test_bulk_parser_reads_what_the_row_parser_reads(tmp_path: Path) -> None:
    # Columns in another order, an extra column, sensor names padded with spaces, blank
    # lines, interleaved sensors: all allowed, so all read in bulk (a long file of this
    # kind must not fall to the row-by-row parser), with the values and line numbers
    # that the row-by-row parser gives.
    cols = ["gyro_z", "sensor", "note", "time_s", "acc_x", "acc_y", "acc_z", "gyro_x", "gyro_y"]
    rng = np.random.default_rng(3)
    lines = [",".join(cols)]
    for i in range(300):
        if i % 37 == 5:
            lines.append("")
        name = ["lumbar", " sacrum", "lumbar ", "sacrum"][i % 4] if i % 5 else "sacrum"
        v = rng.normal(size=7).round(4)
        lines.append(f"{v[6]},{name},n{i},{i * 0.004:.6f},{v[0]},{v[1]},{9.8 + v[2]},{v[3]},{v[4]}")
    text = "\n".join(lines) + "\n"
    path = write(tmp_path, text)
    bulk = _parse_fast(path, cols)
    rows = _parse_slow(text, cols, path)
    assert bulk is not None
    assert set(bulk) == set(rows) == {"lumbar", "sacrum"}
    for p, r in rows.items():
        b = bulk[p]
        np.testing.assert_array_equal(b.time_s, r.time_s)
        np.testing.assert_array_equal(b.acc, r.acc)
        np.testing.assert_array_equal(b.gyro, r.gyro)
        assert [b.line_of(i) for i in range(len(r.time_s))] == [
            r.line_of(i) for i in range(len(r.time_s))
        ]


def test_units_are_converted_on_import(tmp_path: Path) -> None:
    n = 50
    acc_g = np.tile([0.0, 0.0, 1.0], (n, 1))
    gyro_dps = np.tile([0.0, 100.0, 0.0], (n, 1))
    src = tmp_path / "g.csv"
    write_samples_csv(recording_with(acc_g, gyro_dps), src)
    rec = read_samples_csv(src, acc_unit="g", gyro_unit="dps")
    np.testing.assert_allclose(rec.sensors["lumbar"].acc_mps2[:, 2], G_MPS2)
    np.testing.assert_allclose(rec.sensors["lumbar"].gyro_rad_s[:, 1], 100 * RAD_PER_DEG)


def test_acc_in_g_is_detected(tmp_path: Path) -> None:
    src = tmp_path / "g.csv"
    write_samples_csv(recording_with(np.tile([0.0, 0.02, 1.0], (50, 1)), np.zeros((50, 3))), src)
    with pytest.raises(UnitError, match="--acc-unit g"):
        read_samples_csv(src)


def test_acc_already_in_mps2_declared_g_is_detected(tmp_path: Path) -> None:
    src = tmp_path / "m.csv"
    write_samples_csv(recording_with(np.tile([0.0, 0.0, 9.81], (50, 1)), np.zeros((50, 3))), src)
    with pytest.raises(UnitError, match="drop --acc-unit g"):
        read_samples_csv(src, acc_unit="g")


def test_gyro_in_dps_is_detected_from_motion(tmp_path: Path) -> None:
    # Swings in deg/s: peaks of 250 deg/s. Read as rad/s that is far beyond a trunk.
    n = 400
    t = np.arange(n) / 100
    gyro = np.zeros((n, 3))
    gyro[:, 1] = 250 * np.sin(2 * np.pi * t / 1.3)
    acc = np.tile([0.0, 0.0, 9.81], (n, 1))
    src = tmp_path / "d.csv"
    write_samples_csv(recording_with(acc, gyro), src)
    with pytest.raises(UnitError, match="--gyro-unit dps"):
        read_samples_csv(src)
    assert read_samples_csv(src, gyro_unit="dps").sensors["lumbar"].gyro_rad_s.max() < 5


def test_still_sensor_is_not_judged_for_gyro_units(tmp_path: Path) -> None:
    # 0.5 deg/s of noise at rest is small in either unit: no evidence, no error.
    rng = np.random.default_rng(1)
    gyro = rng.normal(0, 0.5, (300, 3))
    acc = np.tile([0.0, 0.0, 9.81], (300, 1))
    src = tmp_path / "r.csv"
    write_samples_csv(recording_with(acc, gyro), src)
    assert len(read_samples_csv(src).sensors["lumbar"]) == 300


def test_real_trunk_rates_in_rad_s_are_accepted(tmp_path: Path) -> None:
    n = 400
    t = np.arange(n) / 100
    gyro = np.zeros((n, 3))
    gyro[:, 1] = 6.0 * np.sin(2 * np.pi * t / 1.3)  # a fast swing: 340 deg/s peaks
    acc = np.tile([0.0, 0.0, 9.81], (n, 1))
    src = tmp_path / "r.csv"
    write_samples_csv(recording_with(acc, gyro), src)
    read_samples_csv(src)


@pytest.mark.parametrize(("content", "expected"), BAD_CSV_CASES)
def test_bad_input_names_problem_place_and_fix(
    tmp_path: Path, content: str | bytes, expected: str
) -> None:
    assert expected in error_of(write(tmp_path, content))


def test_missing_file_and_directory(tmp_path: Path) -> None:
    assert "no such file" in error_of(tmp_path / "nope.csv")
    assert "is a directory" in error_of(tmp_path)


def test_native_recording_given_as_csv_is_named(tmp_path: Path) -> None:
    from tracker.recording.native import write_native

    rec = read_samples_csv(write(tmp_path, EXAMPLE))
    write_native(rec, tmp_path / "r.trk")
    assert "is a native tracker recording" in error_of(tmp_path / "r.trk")


def test_unknown_unit_names_are_rejected(tmp_path: Path) -> None:
    assert "unknown acc unit 'G'" in error_of(write(tmp_path, EXAMPLE), acc_unit="G")
    assert "unknown gyro unit 'deg'" in error_of(write(tmp_path, EXAMPLE), gyro_unit="deg")


@FUZZ
@given(data=st.binary(max_size=600))
def test_fuzz_random_bytes_only_raise_input_errors(tmp_path: Path, data: bytes) -> None:
    p = write(tmp_path, data, "f.csv")
    try:
        read_samples_csv(p)
    except InputError:
        pass


@FUZZ
@given(
    edits=st.lists(
        st.tuples(
            st.integers(0, len(EXAMPLE) - 1), st.sampled_from(list("0123456789,.-e\nanilsx "))
        ),
        min_size=1,
        max_size=6,
    )
)
def test_fuzz_mutated_files_only_raise_input_errors(
    tmp_path: Path, edits: list[tuple[int, str]]
) -> None:
    text = list(EXAMPLE)
    for pos, char in edits:
        text[pos] = char
    p = write(tmp_path, "".join(text), "m.csv")
    try:
        rec = read_samples_csv(p, min_samples=1)
    except InputError:
        return
    for s in rec.sensors.values():
        assert np.all(np.diff(s.time_s) > 0)
        assert np.isfinite(s.acc_mps2).all() and np.isfinite(s.gyro_rad_s).all()
