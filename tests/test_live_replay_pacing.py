"""A replay is paced at the source edge: blocks come when a sensor would have streamed
them, on an injected clock (the analysis it feeds never waits itself)."""

from __future__ import annotations

import numpy as np
import pytest

from tracker.devices.playback import paced
from tracker.errors import DeviceError
from tracker.samples import SensorSamples


class FakeClock:
    """A clock that moves only when someone sleeps on it (or the test moves it)."""

    def __init__(self) -> None:
        self.now_s = 0.0
        self.slept_s: list[float] = []

    def __call__(self) -> float:
        return self.now_s

    def sleep(self, seconds: float) -> None:
        self.slept_s.append(seconds)
        self.now_s += seconds


def _block(placement: str, start_s: float, n: int = 5, rate_hz: float = 100.0) -> SensorSamples:
    t = start_s + np.arange(n) / rate_hz
    return SensorSamples(placement, t, np.zeros((n, 3)), np.zeros((n, 3)))


def test_blocks_come_when_their_newest_sample_would_have_been_streamed() -> None:
    clock = FakeClock()
    blocks = [_block("lumbar", 200.0 + 0.05 * k) for k in range(4)]
    handed = [
        (block.time_s[0], clock.now_s)
        for block in paced(blocks, 2.0, 200.0, clock=clock, sleep=clock.sleep)
    ]
    assert [t for t, _ in handed] == [b.time_s[0] for b in blocks]
    # Newest samples at 200.04, 200.09, ...: at twice real time, half that after 200.
    np.testing.assert_allclose([at for _, at in handed], [0.02, 0.045, 0.07, 0.095])


def test_a_slow_consumer_gets_the_next_block_at_once() -> None:
    clock = FakeClock()
    blocks = iter([_block("lumbar", 10.0), _block("sacrum", 10.05), _block("lumbar", 10.1)])
    stream = paced(blocks, 1.0, 10.0, clock=clock, sleep=clock.sleep)
    next(stream)
    clock.now_s = 5.0  # the analysis of the first block took long
    next(stream)
    next(stream)
    assert clock.slept_s == [pytest.approx(0.04)]


@pytest.mark.parametrize("speed", [0.0, -1.0, float("nan"), float("inf")])
def test_speed_must_be_positive_and_finite(speed: float) -> None:
    with pytest.raises(DeviceError, match="speed must be a positive number"):
        list(paced([_block("lumbar", 0.0)], speed, 0.0))
