"""Phone-app imports (Sensor Logger, phyphox): exports written here in each app's layout
from a simulated recording must import back to the same samples (docs/frames.md)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracker.cli import cli
from tracker.errors import InputError, TrackerError
from tracker.recording import phyphox, sensor_logger
from tracker.recording.load import load_recording
from tracker.recording.phone_files import parse_table
from tracker.sim.config import SessionConfig, SetSpec
from tracker.sim.simulate import simulate_session
from tracker.units import G_MPS2, LUMBAR, RAD_PER_DEG, SACRUM

EPOCH_NS = 1_700_000_000_000_000_000


@pytest.fixture(scope="module")
def sim():
    """A short single-sensor session: 5 swings, 100 Hz (seconds on its own clock)."""
    cfg = SessionConfig(
        seed=7,
        setup="lumbar",
        rate_hz=100.0,
        sets=(SetSpec("kettlebell_swing", 5),),
        rest_s=(5.0, 5.0),
    )
    s = simulate_session(cfg).recording.sensors[LUMBAR]
    # Seconds since Start, as the apps write them.
    return s.time_s - s.time_s[0] + 0.0123, s.acc_mps2, s.gyro_rad_s


def _write(files: dict[str, str], dest: Path, as_zip: bool) -> Path:
    if as_zip:
        with zipfile.ZipFile(dest, "w") as z:
            for name, text in files.items():
                z.writestr(f"export_2024/{name}", text)
        return dest
    dest.mkdir()
    for name, text in files.items():
        (dest / name).write_text(text)
    return dest


def _sl_xyz(t_s: np.ndarray, v: np.ndarray, start_ns: int = EPOCH_NS) -> str:
    """A Sensor Logger motion file: time (epoch ns), seconds_elapsed, z, y, x."""
    lines = ["time,seconds_elapsed,z,y,x"]
    for ti, (x, y, z) in zip(t_s, v, strict=True):
        ti, x, y, z = float(ti), float(x), float(y), float(z)
        lines.append(f"{start_ns + round(ti * 1e9)},{ti!r},{z!r},{y!r},{x!r}")
    return "\n".join(lines) + "\n"


def _meta(platform: str, standardised: bool) -> str:
    return (
        "version,device name,recording time,platform,standardisation\n"
        f"3,Pixel 8,2023-11-14_22-13-20,{platform},{str(standardised).lower()}\n"
    )


def sensor_logger_export(
    t_s,
    acc,
    gyro,
    dest: Path,
    *,
    platform: str,
    standardised=False,
    as_zip=True,
    gyro_t_s=None,
    gyro_values=None,
) -> Path:
    gyro_t_s = t_s if gyro_t_s is None else gyro_t_s
    gyro_values = gyro if gyro_values is None else gyro_values
    files = {
        "Gyroscope.csv": _sl_xyz(gyro_t_s, gyro_values),
        "Metadata.csv": _meta(platform, standardised),
    }
    if platform == "android":
        files["TotalAcceleration.csv"] = _sl_xyz(t_s, acc)
        # Android also writes linear acceleration; the importer must prefer the total.
        files["Accelerometer.csv"] = _sl_xyz(t_s, acc * 0.0)
    else:
        # Split specific force into a slow "gravity" part and the rest, in the sign
        # convention of the export: iOS (inertial) is -f unless standardised.
        sign = 1.0 if standardised else -1.0
        k = 25
        kernel = np.ones(k) / k
        slow = np.column_stack([np.convolve(acc[:, j], kernel, mode="same") for j in range(3)])
        files["Gravity.csv"] = _sl_xyz(t_s, sign * slow)
        files["Accelerometer.csv"] = _sl_xyz(t_s, sign * (acc - slow))
    return _write(files, dest, as_zip)


@pytest.mark.parametrize(
    ("platform", "standardised", "as_zip"),
    [
        ("android", False, True),
        ("ios", False, True),
        ("ios", True, False),
        ("android", False, False),
    ],
)
def test_sensor_logger_reproduces_samples(sim, tmp_path, platform, standardised, as_zip):
    t, acc, gyro = sim
    path = sensor_logger_export(
        t,
        acc,
        gyro,
        tmp_path / "export.zip" if as_zip else tmp_path / "export",
        platform=platform,
        standardised=standardised,
        as_zip=as_zip,
    )
    rec = load_recording(path, placement=SACRUM)
    assert rec.placements == (SACRUM,)
    s = rec.sensors[SACRUM]
    assert len(s) == len(t)
    # ns timestamps: the timeline is seconds since Start to well under a microsecond.
    np.testing.assert_allclose(s.time_s, t, atol=1e-6)
    np.testing.assert_allclose(s.acc_mps2, acc, atol=1e-9)
    np.testing.assert_allclose(s.gyro_rad_s, gyro, atol=1e-12)
    assert rec.created_utc == "2023-11-14T22:13:20Z"
    assert rec.devices[SACRUM].sample_rate_hz == pytest.approx(100.0, rel=0.05)


@pytest.mark.parametrize(
    ("platform", "standardised", "gravity_z"),
    [
        ("ios", False, -G_MPS2),  # iOS: gravity points along -z for a phone lying screen up
        ("ios", True, G_MPS2),
        ("android", False, G_MPS2),
    ],
)
def test_phone_lying_still_reads_plus_g_up(tmp_path, platform, standardised, gravity_z):
    n = 200
    t = np.arange(n) / 100.0
    still = np.zeros((n, 3))
    grav = np.tile([0.0, 0.0, gravity_z], (n, 1))
    files = {"Gyroscope.csv": _sl_xyz(t, still), "Metadata.csv": _meta(platform, standardised)}
    if platform == "android":
        files["TotalAcceleration.csv"] = _sl_xyz(t, grav)
    else:
        files["Gravity.csv"] = _sl_xyz(t, grav)
        files["Accelerometer.csv"] = _sl_xyz(t, still)
    rec = load_recording(_write(files, tmp_path / "x.zip", True), placement=LUMBAR)
    np.testing.assert_allclose(rec.sensors[LUMBAR].acc_mps2.mean(axis=0), [0, 0, G_MPS2])


def test_gyro_on_other_times_is_interpolated_onto_accelerometer_times(tmp_path):
    t = np.arange(0, 10, 0.01)
    acc = np.tile([0.0, 0.0, G_MPS2], (len(t), 1))
    t_g = np.arange(0.003, 10, 1 / 104)  # another rate and phase
    f = lambda tt: np.column_stack([np.sin(tt), np.cos(2 * tt), 0.1 * tt])  # noqa: E731
    path = sensor_logger_export(
        t, acc, None, tmp_path / "e.zip", platform="android", gyro_t_s=t_g, gyro_values=f(t_g)
    )
    s = load_recording(path, placement=LUMBAR).sensors[LUMBAR]
    # Accelerometer samples outside the gyro's span are dropped, not extrapolated.
    assert s.time_s[0] >= t_g[0] and s.time_s[-1] <= t_g[-1]
    assert len(s) == np.count_nonzero((t >= t_g[0]) & (t <= t_g[-1]))
    np.testing.assert_allclose(s.gyro_rad_s, f(s.time_s), atol=2e-4)


def test_gyro_hole_drops_accelerometer_samples_inside_it(tmp_path):
    t = np.arange(0, 6, 0.01)
    acc = np.tile([0.0, 0.0, G_MPS2], (len(t), 1))
    keep = (t < 2.0) | (t > 3.0)  # a 1 s hole in the gyro stream
    path = sensor_logger_export(
        t,
        acc,
        None,
        tmp_path / "e.zip",
        platform="android",
        gyro_t_s=t[keep],
        gyro_values=np.zeros((keep.sum(), 3)),
    )
    s = load_recording(path, placement=LUMBAR).sensors[LUMBAR]
    assert not np.any((s.time_s > 2.0) & (s.time_s < 3.0))
    assert len(s) == keep.sum()


def test_duplicated_and_unsorted_rows_are_cleaned(tmp_path):
    t = np.arange(0, 2, 0.01)
    acc = np.tile([0.0, 0.0, G_MPS2], (len(t), 1))
    gyro = np.zeros((len(t), 3))
    text = _sl_xyz(t, acc).splitlines()
    rows = text[1:]
    rows = rows[:50] + rows[40:60] + rows[50:]  # repeated rows, then one out of order
    rows[10], rows[11] = rows[11], rows[10]
    files = {
        "TotalAcceleration.csv": "\n".join([text[0], *rows]) + "\n",
        "Gyroscope.csv": _sl_xyz(t, gyro),
        "Metadata.csv": _meta("android", False),
    }
    s = load_recording(_write(files, tmp_path / "e.zip", True), placement=LUMBAR).sensors[LUMBAR]
    np.testing.assert_allclose(s.time_s, t, atol=1e-6)


TOTAL_2 = "time,seconds_elapsed,z,y,x\n1,0,0,0,9.8\n2,0.01,0,0,9.8\n"


def _files_zip(tmp_path, files):
    return _write(files, tmp_path / "e.zip", True)


@pytest.mark.parametrize(
    ("files", "message"),
    [
        (
            {"TotalAcceleration.csv": "time,seconds_elapsed,z,y,x\n1,0,0,0,9.8\n"},
            "has no Gyroscope.csv; turn on the gyroscope",
        ),
        (
            {"Gyroscope.csv": "time,seconds_elapsed,z,y,x\n1,0,0,0,0\n"},
            "has neither TotalAcceleration.csv (Android) nor Accelerometer.csv with Gravity.csv",
        ),
        (
            {
                "Gyroscope.csv": "time,seconds_elapsed,z,y,x\n1,0,0,0,0\n2,0.01,0,0,0\n",
                "Accelerometer.csv": "time,seconds_elapsed,z,y,x\n1,0,0,0,0\n2,0.01,0,0,0\n",
                "Gravity.csv": "time,seconds_elapsed,z,y,x\n1,0,0,0,9.8\n2,0.01,0,0,9.8\n",
            },
            "cannot tell whether it was recorded on iOS or Android",
        ),
        (
            {
                "Gyroscope.csv": "time,seconds_elapsed,a,b,c\n1,0,0,0,0\n2,0.01,0,0,0\n",
                "TotalAcceleration.csv": TOTAL_2,
            },
            "Gyroscope.csv: missing columns 'x', 'y', 'z'; the header has 'time', "
            "'seconds_elapsed'",
        ),
        (
            {
                "Gyroscope.csv": "time,seconds_elapsed,z,y,x\n1,0,0,0,oops\n",
                "TotalAcceleration.csv": TOTAL_2,
            },
            "Gyroscope.csv line 2: 'oops' is not a number",
        ),
    ],
)
def test_sensor_logger_errors_name_the_problem(tmp_path, files, message):
    with pytest.raises(InputError, match=None) as exc:
        load_recording(_files_zip(tmp_path, files), placement=LUMBAR)
    assert message in str(exc.value)


def test_placement_is_required_and_only_for_phone_exports(sim, tmp_path):
    t, acc, gyro = sim
    path = sensor_logger_export(
        t[:300], acc[:300], gyro[:300], tmp_path / "e.zip", platform="android"
    )
    with pytest.raises(InputError, match="--placement lumbar or --placement sacrum"):
        load_recording(path)
    with pytest.raises(InputError, match="unknown placement 'hip'"):
        load_recording(path, placement="hip")
    csv_path = tmp_path / "s.csv"
    csv_path.write_text(
        "time_s,sensor,acc_x,acc_y,acc_z,gyro_x,gyro_y,gyro_z\n"
        "0,lumbar,0,0,9.8,0,0,0\n0.01,lumbar,0,0,9.8,0,0,0\n"
    )
    with pytest.raises(InputError, match="--placement applies only to phone-app exports"):
        load_recording(csv_path, placement=LUMBAR)


def test_single_sensor_logger_file_says_what_to_give(tmp_path):
    f = tmp_path / "Gyroscope.csv"
    f.write_text("time,seconds_elapsed,z,y,x\n1,0,0,0,0\n")
    with pytest.raises(InputError, match="is one file of a Sensor Logger export; give the zip"):
        load_recording(f, placement=LUMBAR)


# ----------------------------------------------------------------------------- phyphox

ACC_HEAD = [
    "Time (s)",
    "Acceleration x (m/s^2)",
    "Acceleration y (m/s^2)",
    "Acceleration z (m/s^2)",
    "Absolute acceleration (m/s^2)",
]
GYRO_HEAD = ["Time (s)", "Gyroscope x (rad/s)", "Gyroscope y (rad/s)", "Gyroscope z (rad/s)"]


def _phyphox_table(head, t, v, delimiter=",", decimal_comma=False, extra=True):
    def num(x):
        text = f"{x:.9E}"
        return text.replace(".", ",") if decimal_comma else text

    lines = [delimiter.join(f'"{h}"' for h in head)]
    for ti, row in zip(t, v, strict=True):
        cells = [num(ti), *(num(x) for x in row)]
        if extra and len(head) == 5:
            cells.append(num(float(np.linalg.norm(row))))
        lines.append(delimiter.join(cells))
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("delimiter", "decimal_comma"), [(",", False), ("\t", True), (";", True), ("\t", False)]
)
def test_phyphox_reproduces_samples(sim, tmp_path, delimiter, decimal_comma):
    t, acc, gyro = sim
    t_g = t + 0.002  # independent time base
    files = {
        "Accelerometer.csv": _phyphox_table(ACC_HEAD, t, acc, delimiter, decimal_comma),
        "Gyroscope.csv": _phyphox_table(GYRO_HEAD, t_g, gyro, delimiter, decimal_comma),
        "meta/device.csv": '"property","value"\n"deviceModel","Pixel"\n',
    }
    rec = load_recording(_write(files, tmp_path / "p.zip", True), placement=LUMBAR)
    s = rec.sensors[LUMBAR]
    # The simulated stream has packet losses; accelerometer samples inside a gyro hole
    # are dropped (the shifted gyro puts a few of them there), every other one is kept.
    inside = np.count_nonzero(t >= t_g[0])
    assert inside - 10 <= len(s) <= inside
    idx = np.searchsorted(t, s.time_s - 1e-6)  # the table holds 10 significant digits
    np.testing.assert_allclose(s.time_s, t[idx], rtol=1e-9)
    np.testing.assert_allclose(s.acc_mps2, acc[idx], rtol=1e-8, atol=1e-8)
    expect = np.column_stack([np.interp(s.time_s, t_g, gyro[:, j]) for j in range(3)])
    np.testing.assert_allclose(s.gyro_rad_s, expect, atol=1e-6)


def test_phyphox_g_and_deg_s_units_and_single_table(tmp_path):
    n = 300
    t = np.arange(n) / 50.0
    head = [
        "Time (s)",
        "Acceleration x (g)",
        "Acceleration y (g)",
        "Acceleration z (g)",
        "Gyroscope x (deg/s)",
        "Gyroscope y (deg/s)",
        "Gyroscope z (deg/s)",
    ]
    v = np.column_stack(
        [np.zeros(n), np.zeros(n), np.ones(n), 10 * np.sin(t), np.zeros(n), np.zeros(n)]
    )
    path = tmp_path / "both.csv"
    path.write_text(_phyphox_table(head, t, v, ";", True, extra=False))
    s = load_recording(path, placement=SACRUM).sensors[SACRUM]
    np.testing.assert_allclose(s.acc_mps2[:, 2], G_MPS2)
    np.testing.assert_allclose(s.gyro_rad_s[:, 0], 10 * np.sin(t) * RAD_PER_DEG, atol=1e-9)


def test_phyphox_folder_and_errors(tmp_path):
    t = np.arange(100) / 100.0
    acc = np.tile([0.0, 0.0, G_MPS2], (100, 1))
    d = _write({"Accelerometer.csv": _phyphox_table(ACC_HEAD, t, acc)}, tmp_path / "d", False)
    with pytest.raises(InputError, match="has no 'Gyroscope x/y/z' columns"):
        load_recording(d, placement=LUMBAR)
    lin = [h.replace("Acceleration", "Linear Acceleration") for h in ACC_HEAD[:4]]
    z = _write(
        {
            "Linear.csv": _phyphox_table(lin, t, acc),
            "Gyroscope.csv": _phyphox_table(GYRO_HEAD, t, acc * 0),
        },
        tmp_path / "l.zip",
        True,
    )
    with pytest.raises(InputError, match="linear acceleration \\(without g\\)"):
        load_recording(z, placement=LUMBAR)
    bad = [
        "Time (s)",
        "Acceleration x (furlongs)",
        "Acceleration y (furlongs)",
        "Acceleration z (furlongs)",
    ]
    z2 = _write(
        {"A.csv": _phyphox_table(bad, t, acc), "G.csv": _phyphox_table(GYRO_HEAD, t, acc * 0)},
        tmp_path / "u.zip",
        True,
    )
    with pytest.raises(InputError, match="unknown acceleration unit 'furlongs'"):
        load_recording(z2, placement=LUMBAR)


def test_cli_export_accepts_a_phone_export(sim, tmp_path):
    t, acc, gyro = sim
    path = sensor_logger_export(t, acc, gyro, tmp_path / "export.zip", platform="ios")
    out = tmp_path / "reps.csv"
    env = {"TRACKER_DATA_DIR": str(tmp_path / "data")}
    r = CliRunner().invoke(
        cli,
        ["export", str(path), "-o", str(out), "--placement", "lumbar", "--no-history"],
        env=env,
    )
    assert r.exit_code == 0, r.output
    rows = out.read_text().splitlines()
    assert len(rows) >= 5  # header + the swings
    r = CliRunner().invoke(cli, ["export", str(path), "-o", str(out)], env=env)
    assert r.exit_code == 1
    assert "Error: " in r.output and "--placement lumbar or --placement sacrum" in r.output
    r = CliRunner().invoke(cli, ["info", str(path), "--placement", "sacrum"])
    assert r.exit_code == 0, r.output
    assert "sacrum" in r.output
    assert "format: Sensor Logger export" in r.output and "samples CSV" not in r.output


# ----------------------------------------------------------------------------- fuzzing

_cells = st.sampled_from(["1", "-2.5", "3,5", "", "NaN", "x", '"4"', "1e3", " 7 "])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    header=st.lists(
        st.sampled_from(["Time (s)", "x", "y", "z", "time", "a;b", '"q"']), min_size=1, max_size=5
    ),
    rows=st.lists(st.lists(_cells, min_size=0, max_size=6), max_size=6),
    delimiter=st.sampled_from([",", "\t", ";"]),
)
def test_parse_table_fuzz_only_input_errors(header, rows, delimiter):
    text = "\n".join([delimiter.join(header), *(delimiter.join(r) for r in rows)])
    try:
        table = parse_table(text.encode(), "fuzz.csv")
    except InputError:
        return
    assert table.values.shape[1] == len(table.names)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=300))
def test_parse_table_fuzz_bytes(data):
    try:
        parse_table(data, "fuzz.csv")
    except InputError:
        pass


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    gyro=st.binary(max_size=200) | st.sampled_from(["time,seconds_elapsed,z,y,x\n1,0,0,0\n"]),
    acc=st.text(max_size=200),
    meta=st.text(max_size=80),
)
def test_sensor_logger_fuzz_only_tracker_errors(tmp_path, gyro, acc, meta):
    path = tmp_path / "fuzz.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("Gyroscope.csv", gyro)
        z.writestr("TotalAcceleration.csv", "time,seconds_elapsed,z,y,x\n" + acc)
        z.writestr("Metadata.csv", meta)
    assert sensor_logger.sniff(path.read_bytes()[:4096], path)
    try:
        load_recording(path, placement=LUMBAR)
    except TrackerError:
        pass


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    body=st.text(alphabet="0123456789.,;\t-eE\nNa ", max_size=300),
    delimiter=st.sampled_from([",", "\t", ";"]),
)
def test_phyphox_fuzz_only_tracker_errors(tmp_path, body, delimiter):
    path = tmp_path / "fuzz.csv"
    path.write_text(delimiter.join(f'"{h}"' for h in ACC_HEAD[:4] + GYRO_HEAD[1:]) + "\n" + body)
    assert phyphox.sniff(path.read_bytes()[:4096], path)
    try:
        load_recording(path, placement=LUMBAR)
    except TrackerError:
        pass


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_damaged_zip_gives_only_tracker_errors(tmp_path, data):
    t = np.arange(50) / 100.0
    acc = np.tile([0.0, 0.0, G_MPS2], (50, 1))
    good = tmp_path / "good.zip"
    if not good.exists():
        sensor_logger_export(t, acc, acc * 0, good, platform="android")
    raw = bytearray(good.read_bytes())
    for _ in range(data.draw(st.integers(1, 8))):
        i = data.draw(st.integers(0, len(raw) - 1))
        raw[i] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(4, len(raw)))
    bad = tmp_path / "bad.zip"
    bad.write_bytes(bytes(raw[:cut]))
    try:
        load_recording(bad, placement=LUMBAR)
    except TrackerError:
        pass


@pytest.mark.parametrize(("delimiter", "decimal_comma"), [(",", False), (";", True)])
def test_phyphox_export_is_dated_by_its_time_reference(sim, tmp_path, delimiter, decimal_comma):
    # phyphox's CSV zip carries meta/time.csv: a row per start and pause of the
    # measurement, "system time" in seconds since the epoch (here 2026-02-02 14:40:00
    # UTC at the start, shown in the phone's zone).
    t, acc, gyro = sim

    def num(x: float) -> str:
        return f"{x:.3f}".replace(".", ",") if decimal_comma else f"{x:.3f}"

    d = delimiter
    time_csv = (
        d.join(f'"{h}"' for h in ("event", "experiment time", "system time", "system time text"))
        + f'\n"START"{d}{num(0.0)}{d}{num(1770043200.0)}{d}"2026-02-02 20:10:00.000 UTC+05:30"'
        + f'\n"PAUSE"{d}{num(30.0)}{d}{num(1770043230.0)}{d}"2026-02-02 20:10:30.000 UTC+05:30"\n'
    )
    files = {
        "Accelerometer.csv": _phyphox_table(ACC_HEAD, t, acc, d, decimal_comma),
        "Gyroscope.csv": _phyphox_table(GYRO_HEAD, t, gyro, d, decimal_comma),
        "meta/time.csv": time_csv,
    }
    rec = load_recording(_write(files, tmp_path / "p.zip", True), placement=LUMBAR)
    assert rec.recorded_utc == "2026-02-02T14:40:00Z"
    # Without the time reference, or with one that names no start, the date is unknown.
    del files["meta/time.csv"]
    assert (
        load_recording(_write(files, tmp_path / "q.zip", True), placement=LUMBAR).recorded_utc
        is None
    )
    files["meta/time.csv"] = time_csv.replace('"START"', '"PAUSE"')
    assert (
        load_recording(_write(files, tmp_path / "r.zip", True), placement=LUMBAR).recorded_utc
        is None
    )
