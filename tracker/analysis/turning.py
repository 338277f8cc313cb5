"""Turning points of the hinge angle, with hysteresis, fed sample by sample.

A maximum is confirmed once the angle has fallen ``hysteresis_deg`` below it (a minimum
likewise), so noise, gait sway and weight shifts smaller than the hysteresis never make
turning points. A turning point is also confirmed early once the angle has stayed still
near it for ``settle_s`` (a pause at the rest position), so a rep that ends in a pause is
reported without waiting for the next rep to begin.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class TurningPoint:
    index: int  # timeline sample index
    value_deg: float
    is_max: bool
    #: Confirmed early because the angle stayed still near it (a pause), not by the
    #: angle turning back by the hysteresis.
    settled: bool = False


class TurningPointTracker:
    """Sample-by-sample hysteresis extremum detector on a (decimated) angle stream."""

    def __init__(self, hysteresis_deg: float, settle_samples: int, still_rate_deg_s: float):
        self.h = hysteresis_deg
        self.settle_samples = settle_samples
        self.still_rate = still_rate_deg_s
        self._dir = 0  # +1 rising (looking for a max), -1 falling, 0 unknown
        # The running extremes as (value, index); both None before the first sample.
        self._hi: tuple[float, int] | None = None
        self._lo: tuple[float, int] | None = None
        self._settled = False
        self._settled_value = 0.0
        self._still_run = 0

    def update(self, index: int, value: float, rate: float) -> TurningPoint | None:
        """Feed one sample; the turning point it confirms, if any."""
        return self.scan([index], [value], [rate], 0, 1)[1]

    def scan(
        self,
        indices: Sequence[int],
        values: Sequence[float],
        rates: Sequence[float],
        start: int,
        stop: int,
    ) -> tuple[int, TurningPoint | None]:
        """Feed samples ``start .. stop-1`` of the parallel sequences (timeline index,
        angle in deg, rate in deg/s), stopping after the first that confirms a turning
        point. Returns (position after the last sample fed, that turning point or None).

        This loop runs over every sample of a session at the segmentation rate, so the
        state lives in local variables while it runs (plain floats, no method calls).
        """
        h, still_rate, settle_n = self.h, self.still_rate, self.settle_samples
        d, hi, lo = self._dir, self._hi, self._lo
        settled, settled_value, run = self._settled, self._settled_value, self._still_run
        tp = None
        p = start
        while p < stop:
            index, value, rate = indices[p], values[p], rates[p]
            p += 1
            if hi is None or lo is None:  # (set together: both or neither)
                hi = lo = (value, index)
                continue
            if value > hi[0]:
                hi = (value, index)
            if value < lo[0]:
                lo = (value, index)
            run = run + 1 if abs(rate) < still_rate else 0
            if settled and (
                (d > 0 and value > settled_value + h) or (d < 0 and value < settled_value - h)
            ):
                # The pause was on the way, not at the turn: keep tracking the extreme;
                # it is reported again when confirmed and replaces the earlier report
                # downstream.
                settled = False
            # Settled at a reported max (looking for the min after it) or at a min.
            settled_at_max = settled and d > 0
            settled_at_min = settled and not d > 0
            leave_max = d >= 0 and hi[0] - value > h
            if leave_max and not settled_at_max:
                tp = TurningPoint(hi[1], hi[0], True)
            elif d <= 0 and value - lo[0] > h and not settled_at_min:
                tp = TurningPoint(lo[1], lo[0], False)
            elif settled_at_max and hi[0] - value > h:
                # Already reported while settled; now leaving it.
                lo, d, settled, run = (value, index), -1, False, 0
            elif settled_at_min and value - lo[0] > h:
                hi, d, settled, run = (value, index), 1, False, 0
            if tp is not None:
                # Track the opposite extreme from the turning point on.
                if tp.is_max:
                    lo, d = (value, index), -1
                else:
                    hi, d = (value, index), 1
                settled, run = False, 0
                break
            # Early confirmation: still, and close to the running extreme.
            if d != 0 and not settled and run >= settle_n:
                looking_max = d > 0
                ext = hi if looking_max else lo
                far = lo if looking_max else hi
                if abs(ext[0] - value) < 0.5 * h and abs(ext[0] - far[0]) > h:
                    settled, settled_value = True, ext[0]
                    tp = TurningPoint(ext[1], ext[0], looking_max, settled=True)
                    break
        self._dir, self._hi, self._lo = d, hi, lo
        self._settled, self._settled_value, self._still_run = settled, settled_value, run
        return p, tp
