"""The resampler never allocates in proportion to a span the timestamps claim: a clock
jump beyond `MAX_CLOCK_JUMP_S` is an error, a long gap within it is bridged in bounded
passes, and the output still does not depend on how the stream was split."""

from __future__ import annotations

import itertools
import time
import tracemalloc

import numpy as np
import pytest

from tracker.analysis.settings import AnalysisSettings
from tracker.app.offline import analyse_recording
from tracker.errors import AnalysisError
from tracker.limits import MAX_CLOCK_JUMP_S
from tracker.recording.model import Recording
from tracker.samples import SensorSamples
from tracker.signal import resample
from tracker.signal.resample import UniformResampler


def stream(n: int, rate_hz: float, jump_at: int | None = None, jump_s: float = 0.0):
    t = np.arange(n) / rate_hz
    if jump_at is not None:
        t[jump_at:] += jump_s
    acc = np.column_stack([np.sin(t), np.cos(t), 9.81 + 0 * t])
    gyro = np.column_stack([0.3 * np.sin(2 * t), 0.1 * np.cos(t), 0.05 * np.sin(t)])
    return t, acc, gyro


def resampled(t, acc, gyro, cuts) -> list[np.ndarray]:
    r = UniformResampler(max_gap_s=0.5)
    outs = [r.push(t[a:b], acc[a:b], gyro[a:b]) for a, b in itertools.pairwise(cuts)]
    outs.append(r.flush())
    blocks = [o for o in outs if o is not None]
    return [
        np.concatenate([getattr(b, f) for b in blocks])
        for f in ("time_s", "acc_mps2", "gyro_rad_s", "in_gap", "span_s")
    ]


@pytest.mark.parametrize("far_s", [1e7, 1e15])
@pytest.mark.parametrize("where", ["last", "middle", "first"])
def test_a_far_off_timestamp_is_an_error_without_allocating(far_s: float, where: str) -> None:
    t, acc, gyro = stream(1000, 100.0)
    k = {"last": 999, "middle": 500, "first": 0}[where]
    if where == "first":
        t[0] = -far_s
    else:
        t[k:] += far_s
    tracemalloc.start()
    started = time.monotonic()
    try:
        for cuts in ([0, 1000], [0, 130, 600, 1000]):
            with pytest.raises(AnalysisError, match="MAX_CLOCK_JUMP_S"):
                resampled(t, acc, gyro, cuts)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.monotonic() - started < 2.0 and peak < 20e6


def test_analysis_of_a_recording_with_a_jump_is_one_error() -> None:
    """Any input kind: a recording built in memory (not through a reader) too."""
    t, acc, gyro = stream(3000, 100.0, jump_at=1500, jump_s=1e7)
    rec = Recording(sensors={"lumbar": SensorSamples("lumbar", t, acc, gyro)})
    with pytest.raises(AnalysisError, match="MAX_CLOCK_JUMP_S"):
        analyse_recording(rec, AnalysisSettings())


def test_a_long_gap_is_bridged_in_bounded_passes_the_same_however_split(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 416 Hz (groups of 8 input-grid points) with a gap just within the limit: about
    # 1.5 million input-grid points, 23 passes of PASS_POINTS.
    t, acc, gyro = stream(3000, 416.0, jump_at=1500, jump_s=MAX_CLOCK_JUMP_S - 1.0)
    tracemalloc.start()
    try:
        whole = resampled(t, acc, gyro, [0, 3000])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # The output at ~52 Hz over the hour (~13 MB) plus bounded working arrays.
    assert peak < 60e6
    parts = resampled(t, acc, gyro, [0, 7, 1499, 1500, 1501, 2200, 3000])
    monkeypatch.setattr(resample, "PASS_POINTS", 1 << 40)  # one pass
    single = resampled(t, acc, gyro, [0, 3000])
    for a, b, c in zip(whole, parts, single, strict=True):
        assert np.array_equal(a, b) and np.array_equal(a, c)
    assert whole[3].sum() > 0.9 * MAX_CLOCK_JUMP_S * 52  # the gap is flagged, not dropped


def test_a_rate_beyond_the_limit_is_an_error() -> None:
    t, acc, gyro = stream(400, 1e6)
    with pytest.raises(AnalysisError, match="MAX_SAMPLE_RATE_HZ"):
        resampled(t, acc, gyro, [0, 400])
