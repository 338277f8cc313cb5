"""Turning points of the hinge angle, with hysteresis, fed sample by sample.

A maximum is confirmed once the angle has fallen ``hysteresis_deg`` below it (a minimum
likewise), so noise, gait sway and weight shifts smaller than the hysteresis never make
turning points. A turning point is also confirmed early once the angle has stayed still
near it for ``settle_s`` (a pause at the rest position), so a rep that ends in a pause is
reported without waiting for the next rep to begin.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TurningPoint:
    index: int  # timeline sample index
    value_deg: float
    is_max: bool


class TurningPointTracker:
    """Sample-by-sample hysteresis extremum detector on a (decimated) angle stream."""

    def __init__(self, hysteresis_deg: float, settle_samples: int, still_rate_deg_s: float):
        self.h = hysteresis_deg
        self.settle_samples = settle_samples
        self.still_rate = still_rate_deg_s
        self._dir = 0  # +1 rising (looking for a max), -1 falling, 0 unknown
        self._hi = self._lo = None  # (value, index)
        self._settled = False
        self._settled_value = 0.0
        self._still_run = 0

    def update(self, index: int, value: float, rate: float) -> TurningPoint | None:
        if self._hi is None:
            self._hi = self._lo = (value, index)
            return None
        if value > self._hi[0]:
            self._hi = (value, index)
        if value < self._lo[0]:
            self._lo = (value, index)
        self._still_run = self._still_run + 1 if abs(rate) < self.still_rate else 0
        if self._settled and (
            (self._dir > 0 and value > self._settled_value + self.h)
            or (self._dir < 0 and value < self._settled_value - self.h)
        ):
            # The pause was on the way, not at the turn: keep tracking the extreme; it
            # is reported again when confirmed and replaces the earlier report downstream.
            self._settled = False
        if self._dir >= 0 and self._hi[0] - value > self.h and not self._settled_on(True):
            return self._confirm(True, value, index)
        if self._dir <= 0 and value - self._lo[0] > self.h and not self._settled_on(False):
            return self._confirm(False, value, index)
        if self._settled_on(True) and self._hi[0] - value > self.h:
            # Already reported while settled; now leaving it.
            self._leave(True, value, index)
        elif self._settled_on(False) and value - self._lo[0] > self.h:
            self._leave(False, value, index)
        # Early confirmation: still, and close to the running extreme.
        if self._dir != 0 and not self._settled and self._still_run >= self.settle_samples:
            looking_max = self._dir > 0
            ext = self._hi if looking_max else self._lo
            far = self._lo if looking_max else self._hi
            if abs(ext[0] - value) < 0.5 * self.h and abs(ext[0] - far[0]) > self.h:
                self._settled = True
                self._settled_value = ext[0]
                return TurningPoint(ext[1], ext[0], looking_max)
        return None

    def _settled_on(self, is_max: bool) -> bool:
        return self._settled and (self._dir > 0) == is_max

    def _confirm(self, is_max: bool, value: float, index: int) -> TurningPoint:
        ext = self._hi if is_max else self._lo
        tp = TurningPoint(ext[1], ext[0], is_max)
        self._leave(is_max, value, index)
        return tp

    def _leave(self, is_max: bool, value: float, index: int) -> None:
        ext = self._hi if is_max else self._lo
        # Track the opposite extreme from the turning point on.
        if is_max:
            self._lo = (value, index)
            self._hi = ext
        else:
            self._hi = (value, index)
            self._lo = ext
        self._dir = -1 if is_max else 1
        self._settled = False
        self._still_run = 0
