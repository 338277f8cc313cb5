"""Test data shared by the file-format tests: random recordings, bad samples CSVs, and
simulated sessions saved as samples CSV for the commands that read files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tracker.recording.load import save_recording
from tracker.recording.model import DeviceInfo, Recording, SessionNotes
from tracker.recording.samples_csv import HEADER
from tracker.samples import SensorSamples
from tracker.sim.config import SessionConfig, SetSpec
from tracker.sim.simulate import simulate_session
from tracker.units import G_MPS2, PLACEMENTS


@st.composite
def sensor_samples(draw: st.DrawFn, placement: str, min_size: int = 1) -> SensorSamples:
    """Plausible samples: gravity plus motion in m/s^2, a trunk's rates in rad/s.

    Times start anywhere in [-100, 100] s (negative included) with steps of at least
    1 ms, so they survive the CSV's microsecond resolution.
    """
    n = draw(st.integers(min_size, 40))
    start = draw(st.floats(-100, 100, allow_nan=False))
    steps = draw(hnp.arrays(np.float64, n, elements=st.floats(1e-3, 0.05)))
    t = start + np.concatenate([[0.0], np.cumsum(steps[1:])])
    noise = draw(hnp.arrays(np.float64, (n, 3), elements=st.floats(-4, 4)))
    acc = noise + np.array([0.0, 0.0, G_MPS2])
    gyro = draw(hnp.arrays(np.float64, (n, 3), elements=st.floats(-10, 10)))
    return SensorSamples(placement, t, acc, gyro)


@st.composite
def recordings(draw: st.DrawFn, min_size: int = 1) -> Recording:
    """One or two sensors; sometimes the second shares the first's timestamps (ties)."""
    chosen = draw(st.sampled_from([(PLACEMENTS[0],), (PLACEMENTS[1],), PLACEMENTS]))
    sensors = {p: draw(sensor_samples(p, min_size)) for p in chosen}
    if len(chosen) == 2 and draw(st.booleans()):
        a, b = (sensors[p] for p in chosen)
        m = min(len(a), len(b))
        sensors[chosen[1]] = SensorSamples(
            chosen[1], a.time_s[:m], b.acc_mps2[:m], b.gyro_rad_s[:m]
        )
    return Recording(sensors=sensors)


def metadata() -> st.SearchStrategy[tuple[dict[str, DeviceInfo], SessionNotes]]:
    text = st.text(max_size=20)
    devices = st.dictionaries(
        st.sampled_from(PLACEMENTS),
        st.builds(
            DeviceInfo,
            model=text,
            firmware=st.none() | text,
            sample_rate_hz=st.none() | st.floats(1, 2000),
        ),
    )
    notes = st.builds(
        SessionNotes,
        exercise=st.none() | st.sampled_from(["deadlift", "kettlebell_swing"]),
        load_kg=st.none() | st.floats(0, 300),
        text=st.none() | text,
    )
    return st.tuples(devices, notes)


def assert_same_samples(a: Recording, b: Recording) -> None:
    assert a.placements == b.placements
    for p in a.placements:
        assert a.sensors[p].equals(b.sensors[p]), p


def assert_close_samples(a: Recording, b: Recording) -> None:
    """Equal within the samples CSV's printed precision."""
    assert a.placements == b.placements
    for p in a.placements:
        x, y = a.sensors[p], b.sensors[p]
        np.testing.assert_allclose(x.time_s, y.time_s, rtol=0, atol=5.1e-7)
        np.testing.assert_allclose(x.acc_mps2, y.acc_mps2, rtol=0, atol=5.1e-5)
        np.testing.assert_allclose(x.gyro_rad_s, y.gyro_rad_s, rtol=0, atol=5.1e-7)


EXAMPLE_CSV = (
    HEADER + "\n"
    "0.000000,lumbar,0.1200,9.7900,0.3100,0.001000,-0.002000,0.000000\n"
    "0.002000,sacrum,0.0000,9.8100,0.1000,0.000000,0.000000,0.001000\n"
    "0.005000,lumbar,0.1300,9.8000,0.3000,0.002000,-0.001000,0.000000\n"
    "0.007000,sacrum,0.0100,9.8000,0.1100,0.000000,0.001000,0.000000\n"
)


#: (file content, expected part of the one-line error)
BAD_CSV_CASES = [
    pytest.param("", "is empty", id="empty"),
    pytest.param("  \n\n", "is empty", id="blank"),
    pytest.param(HEADER + "\n", "header but no samples", id="header-only"),
    pytest.param(
        "time_s,sensor,acc_x,acc_y,accz,gyro_x,gyro_y,gyro_z\n0,lumbar,0,0,9.8,0,0,0\n",
        "missing column acc_z (found 'accz': misspelt?); the first line must be: " + HEADER,
        id="misspelt-column",
    ),
    pytest.param(
        "time_s,sensor,acc_x,acc_y\n0,lumbar,0,0\n",
        "missing columns acc_z, gyro_x, gyro_y, gyro_z",
        id="missing-columns",
    ),
    pytest.param("0.0,lumbar,0,0,9.8,0,0,0\n", "line 1 is data, not a header", id="no-header"),
    pytest.param(HEADER + ",acc_x\n", "column 'acc_x' appears twice", id="duplicate-column"),
    pytest.param(
        EXAMPLE_CSV + "0.01,lumbar,0.1,abc,9.8,0,0,0\n",
        "line 6, column acc_y: 'abc' is not a number",
        id="non-numeric",
    ),
    pytest.param(
        EXAMPLE_CSV + "0.01,lumbar,0.1,0.2,9.8,nan,0,0\n",
        "line 6, column gyro_x: 'nan' is not a finite number",
        id="nan",
    ),
    pytest.param(
        EXAMPLE_CSV + "0.01,lumbar,0.1,0.2,9.8,0,-inf,0\n",
        "line 6, column gyro_y: '-inf' is not a finite number",
        id="inf",
    ),
    pytest.param(
        EXAMPLE_CSV + "0.010,lumbar,0.1,0.2,9.8,0,0,0\n-1.0,lumbar,0.1,0.2,9.8,0,0,0\n",
        "line 7: lumbar time goes back 1.01 s (202.0 sample periods), to -1.000000 s after "
        "0.010000 s (line 6); a clock that jumps back or restarts cannot be mended",
        id="clock-restart",
    ),
    pytest.param(
        EXAMPLE_CSV + "0.01,thorax,0.1,0.2,9.8,0,0,0\n",
        "line 6: unknown sensor 'thorax'; valid sensors: lumbar, sacrum",
        id="unknown-sensor",
    ),
    pytest.param(
        EXAMPLE_CSV + "0.01,1e+300,0.1,0.2,9.8,0,0,0\n",
        "line 6: unknown sensor '1e+300'",
        id="numeric-sensor",
    ),
    pytest.param(
        EXAMPLE_CSV + "0.01,lumbar,0.1,0.2,9.8,0,0\n",
        "line 6 has 7 fields, the header has 8",
        id="short-row",
    ),
    pytest.param(
        EXAMPLE_CSV + "0.01,lumbar,0.1,0.2,9.8,0,0,0,7\n",
        "line 6 has 9 fields, the header has 8",
        id="long-row",
    ),
    pytest.param(
        HEADER + "\n0.0,lumbar,0,0,9.8,0,0,0\n0.01,lumbar,0,0,9.8,0,0,0\n"
        "0.0,sacrum,0,0,9.8,0,0,0\n",
        "only 1 sacrum sample; a sensor needs at least 2",
        id="too-few-samples",
    ),
    pytest.param(
        b"\x89PNG\r\n\x1a\n\x00\x00garbage",
        "not a samples CSV (nor a tracker recording): it holds binary",
        id="binary",
    ),
    pytest.param(b"time_s\xff\xfe,sensor\n", "byte 6 is not UTF-8", id="not-utf8"),
    pytest.param(HEADER.encode() + b"\n0.0,lumbar\x00,0", "a NUL byte at byte", id="nul"),
    pytest.param(HEADER + "\n225", "line 2 has 1 field, the header has 8", id="cut-first-row"),
    pytest.param(
        HEADER + "\n" + "0.0,lumbar,0,0,9.8,0,0\n" * 3,
        "line 2 has 7 fields, the header has 8",
        id="every-row-short",
    ),
    pytest.param(
        HEADER.replace(",", ";") + "\n0.0;lumbar;0;0;9.8;0;0;0\n",
        "line 1: fields are separated by ';'; the format uses ','",
        id="semicolons",
    ),
    pytest.param(
        (HEADER + "\n0.0,lumbar,0,0,9.8,0,0,0\n").encode("utf-16"),
        "is UTF-16 text; save it as UTF-8",
        id="utf-16-bom",
    ),
    pytest.param(
        (HEADER + "\n0.0,lumbar,0,0,9.8,0,0,0\n").encode("utf-16-le"),
        "is UTF-16 text; save it as UTF-8",
        id="utf-16-no-bom",
    ),
    pytest.param(
        HEADER + ",x" * 80_000 + "\n",
        "fields; a samples CSV header has at most 1000; the first line must be",
        id="wide-header",
    ),
    pytest.param(
        EXAMPLE_CSV + "0.01,lumbar,1e308,0.2,9.8,0,0,0\n",
        "line 6, column acc_x: 1e+308 is beyond what a sensor records (at most 10000 m/s^2",
        id="huge-value",
    ),
    pytest.param(
        EXAMPLE_CSV + "1e308,lumbar,0.1,0.2,9.8,0,0,0\n",
        "line 6, column time_s: 1e+308 is beyond what a sensor records (at most 1e+10 s",
        id="huge-time",
    ),
]


def random_blocks(rec: Recording, seed: int) -> list[SensorSamples]:
    """Blocks of random sizes (1-60 samples), sensors interleaved by time as a stream
    delivers them: for checks that streaming equals batch."""
    rng = np.random.default_rng(seed)
    out = []
    for p, s in rec.sensors.items():
        i = 0
        while i < len(s):
            n = int(rng.integers(1, 61))
            out.append((float(s.time_s[min(i + n, len(s)) - 1]), p, s.slice(i, i + n)))
            i += n
    out.sort(key=lambda x: (x[0], x[1]))
    return [b for _, _, b in out]


#: A calibration session: slow good mornings, rounding fully from the second rep on.
CALIBRATION_SESSION = SessionConfig(
    seed=21,
    sets=(SetSpec("good_morning", 6, {"flexion": (2, 3, 4, 5, 6)}),),
    rate_hz=100.0,
    tier="easy",
)


def simulated_csv(path: Path, config: SessionConfig) -> Path:
    """The recording simulated from ``config``, saved as a samples CSV at ``path``."""
    save_recording(simulate_session(config).recording, path)
    return path


def swings_csv(folder: Path) -> Path:
    """``folder/swings.csv``: one set of five kettlebell swings with two sensors, the
    second rep flexed past the default limit."""
    config = SessionConfig(
        seed=3,
        setup="dual",
        rate_hz=100.0,
        sets=(SetSpec("kettlebell_swing", 5, {"flexion": (2,)}),),
        rest_s=(5.0, 5.0),
    )
    return simulated_csv(folder / "swings.csv", config)
