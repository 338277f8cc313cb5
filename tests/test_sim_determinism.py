"""Same seed -> identical data and byte-identical files; another seed -> different data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tracker.recording.samples_csv import read_samples_csv
from tracker.sim import SessionConfig, SetSpec, preset_session, simulate_session
from tracker.sim.output import default_truth_path, save_result
from tracker.units import LUMBAR, SACRUM


def _cfg(seed: int) -> SessionConfig:
    return SessionConfig(
        seed=seed,
        sets=(SetSpec("kettlebell_swing", 4, {"flexion": None}), SetSpec("deadlift", 2)),
        rate_hz={LUMBAR: 104.0, SACRUM: 208.0},
        rest_s=(10.0, 20.0),
        tier="hard",
    )


def test_same_seed_same_arrays_other_seed_differs() -> None:
    a, b, c = (simulate_session(_cfg(s)) for s in (5, 5, 6))
    for p in (LUMBAR, SACRUM):
        assert a.recording.sensors[p].equals(b.recording.sensors[p])
        assert len(a.recording.sensors[p]) != len(c.recording.sensors[p]) or not np.array_equal(
            a.recording.sensors[p].acc_mps2, c.recording.sensors[p].acc_mps2
        )
    assert a.truth.to_json() == b.truth.to_json()
    assert a.truth.to_json() != c.truth.to_json()


@pytest.mark.parametrize("suffix", [".csv", ".trk"])
def test_same_seed_byte_identical_files(tmp_path: Path, suffix: str) -> None:
    paths = []
    for k in range(2):
        res = simulate_session(_cfg(9))
        out = tmp_path / f"run{k}{suffix}"
        save_result(res, out, default_truth_path(out))
        paths.append(out)
    assert paths[0].read_bytes() == paths[1].read_bytes()
    assert default_truth_path(paths[0]).read_bytes() == default_truth_path(paths[1]).read_bytes()


def test_csv_holds_the_simulated_samples(tmp_path: Path) -> None:
    res = simulate_session(preset_session("squat_buttwink", 2))
    out = tmp_path / "s.csv"
    save_result(res, out, None)
    back = read_samples_csv(out)
    assert not default_truth_path(out).exists()
    for p, s in res.recording.sensors.items():
        r = back.sensors[p]
        assert np.allclose(r.time_s, s.time_s, atol=1e-6)
        assert np.allclose(r.acc_mps2, s.acc_mps2, atol=1e-4)
        assert np.allclose(r.gyro_rad_s, s.gyro_rad_s, atol=1e-6)
