"""Mounting calibration: find the body frame of a sensor clipped on in any orientation.

Frames: docs/frames.md. The recipe, per sensor, fed block by block (docs/analysis.md,
"Mounting calibration"):

1. **Still moments.** Runs of at least ``min_still_s`` with gyro and accelerometer
   quiet. Each is a candidate for the standing neutral pose, wherever it lies in the
   recording (the start, between reps, between sets, the end).
2. **Standing is told by physics, not by position.** A candidate is standing when the
   big excursion next to it (the one just before it, else the next one) behaves like a
   hinge or squat going out from standing: it turns about one medio-lateral axis (the
   rotation from the candidate's up to the current up), and it does not *raise* the
   sensor. A lower-back sensor is highest when the lifter stands upright; a still
   moment at the bottom of a squat or deadlift is followed and preceded by the sensor
   rising by tens of centimetres (``max_rise_m``). The rise is the vertical acceleration
   integrated twice from rest in the still moment (whose mean is the accelerometer's
   bias), over at most ``max_integration_s``.
3. **The first candidate so confirmed is the reference**: its mean earth-up in the
   sensor frame is the segment's up axis and the zero of every angle; the excursion's
   rotation axis is the medio-lateral axis, signed so that the excursion counts as
   *forward* (flexion: gravity alone cannot tell forward from backward). The decision
   is taken at a sample fixed by the data (the end of the still moment, or the end of
   the excursion after it), so it does not depend on how the stream is cut.
4. **No confirmed standing by the end of the stream**: a still moment that no
   excursion contradicts is used; failing that, the reference is *estimated* from the
   whole recording (`_estimate`: the upper end of the posture range, by the same height
   fit) and the mounting is marked approximate.
5. **Quality.** The share of gyro energy during the excursion that is *not* about the
   medio-lateral axis (twist, side bend) is reported; above ``max_off_axis_share`` the
   calibration is flagged as doubtful, above ``reject_off_axis_share`` the excursion is
   not used.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from tracker.errors import AnalysisError
from tracker.signal.buffer import Growable
from tracker.units import DEG_PER_RAD, G_MPS2


@dataclass(frozen=True)
class CalibrationSettings:
    """Thresholds of the calibration recipe (see module docstring)."""

    still_gyro_rad_s: float = 0.35
    still_acc_dev_mps2: float = 1.5
    min_still_s: float = 0.5
    hinge_tilt_deg: float = 20.0
    #: The excursion ends when the tilt falls back under this.
    hinge_end_tilt_deg: float = 10.0
    #: ...or at the latest this long after it passed ``hinge_tilt_deg``.
    max_hinge_window_s: float = 3.0
    max_off_axis_share: float = 0.25
    #: Above this the excursion is not a hinge at all; another one is used.
    reject_off_axis_share: float = 0.5
    #: A still moment is not standing when the excursion next to it raises the sensor
    #: more than this (m): from standing, squats and bends lower the lower back, and a
    #: deep hinge lifts a sacrum sensor (which sits behind the hip joints) by about 0.1 m;
    #: rising from the bottom of a squat or a deadlift lifts it 0.3-0.5 m.
    max_rise_m: float = 0.20
    #: A still moment after the start of the recording is taken as standing only when
    #: the excursion next to it clearly *lowers* the sensor, by at least this (m): the
    #: bottom of a hinge (the bell parked, a bar on the floor) is as still, and rising
    #: from it lifts a lumbar sensor only about 0.1 m and a sacrum sensor hardly at all,
    #: so only a drop tells standing apart there (a squat drops 0.3-0.5 m, a 45-degree
    #: hinge a lumbar sensor 0.07 m). At the start, with nothing before it, a still
    #: moment is standing unless the excursion after it rises (``max_rise_m``).
    min_drop_m: float = 0.05
    #: The rise is measured only when the far end of the excursion is at most this far
    #: (s) from the still moment: a residual accelerometer error of 0.05 m/s^2 makes
    #: 0.06 m of height in 1.5 s, 0.22 m in 3 s.
    max_integration_s: float = 2.5
    #: With no still moment at all, the estimated standing posture is taken at the
    #: highest end of the posture range only when the height fit spans at least this (m);
    #: below it (a hinge about the hips moves the sacrum little) the end away from which
    #: the excursions go is used.
    min_height_span_m: float = 0.05
    #: Postures beyond these percentiles of the tilt are movement extremes, not a
    #: posture the lifter returns to (noise, a stumble).
    posture_range_pct: tuple[float, float] = (2.0, 98.0)
    #: The excursion before a still moment is looked for this far back (s): a rest
    #: between sets lasts a few minutes at most, and the look-back stays cheap.
    excursion_lookback_s: float = 120.0


@dataclass(frozen=True)
class Mounting:
    """Body axes of one sensor expressed in its sensor frame (unit vectors)."""

    up: np.ndarray
    left: np.ndarray
    anterior: np.ndarray
    #: Sensor-clock time at which the standing reference ends.
    standing_end_s: float
    standing_s: float
    off_axis_share: float
    warnings: tuple[str, ...] = field(default_factory=tuple)
    #: Sensor-clock time of the sample that completed the calibration.
    done_s: float = 0.0
    #: Sensor-clock span of the excursion the medio-lateral axis came from.
    excursion_s: tuple[float, float] = (0.0, 0.0)
    #: True when no still standing moment was found and the zero is an estimate.
    approximate: bool = False
    #: Sensor-clock time at which the standing reference starts.
    standing_start_s: float = 0.0

    def flipped(self) -> Mounting:
        """The same mounting facing the other way (forward and backward swapped)."""
        return replace(self, left=-self.left, anterior=-self.anterior)

    def inclination_deg(self, up_s: np.ndarray) -> np.ndarray:
        """Sagittal inclination from standing, + forward (docs/frames.md), per sample."""
        return DEG_PER_RAD * np.arctan2(-dot3(up_s, self.anterior), dot3(up_s, self.up))

    def sagittal_rate_deg_s(self, gyro_rad_s: np.ndarray) -> np.ndarray:
        """Angular velocity about the medio-lateral axis, + towards flexion."""
        return DEG_PER_RAD * dot3(gyro_rad_s, self.left)


class UnusableSensorError(AnalysisError):
    """One sensor's data cannot be analysed at all (too few samples, never moved);
    with two sensors the other one may still be (`tracker.app.offline`)."""

    def __init__(self, message: str, placement: str) -> None:
        super().__init__(message)
        self.placement = placement


def dot3(rows: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Row-wise dot product with a 3-vector, written out so that every row's result is
    bit-identical however many rows are passed (BLAS kernels change summation order with
    the array length, which would make streaming differ from batch in the last bits)."""
    return rows[:, 0] * v[0] + rows[:, 1] * v[1] + rows[:, 2] * v[2]


def row_norms(rows: np.ndarray) -> np.ndarray:
    """Length of each 3-vector row, written out as `dot3` is: the same values as
    ``np.linalg.norm(rows, axis=1)`` (which sums the three squares in this order too) at
    a quarter of its cost, numpy reducing a short inner axis slowly."""
    x, y, z = rows[:, 0], rows[:, 1], rows[:, 2]
    return np.sqrt(x * x + y * y + z * z)


def still_rows(gyro: np.ndarray, acc: np.ndarray, s: CalibrationSettings) -> np.ndarray:
    """Which rows are still: hardly turning, and the acc about 1 g."""
    return (row_norms(gyro) < s.still_gyro_rad_s) & (
        np.abs(row_norms(acc) - G_MPS2) < s.still_acc_dev_mps2
    )


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


@dataclass(frozen=True)
class _Still:
    """A still moment: samples ``[a, b)`` of the history, mean earth-up ``up``."""

    a: int
    b: int
    up: np.ndarray


@dataclass(frozen=True)
class _Axis:
    left: np.ndarray
    off_axis_share: float
    #: How far the sensor rises over the excursion (m), None when its far end lies too
    #: far from the still moment to measure (`MountingCalibrator._rise_m`).
    rise_m: float | None
    start: int
    stop: int


class MountingCalibrator:
    """Finds the `Mounting` of one sensor from a still standing moment and a hinge."""

    def __init__(self, placement: str, period_s: float, settings: CalibrationSettings) -> None:
        self.placement = placement
        self.period_s = period_s
        self.s = settings
        self.result: Mounting | None = None
        # History of every sample until calibrated (the reference may lie anywhere).
        self._t = Growable()
        self._up = Growable((3,))
        self._gyro = Growable((3,))
        self._vert = Growable()
        self._gap = Growable(dtype=np.bool_)
        self._still = Growable(dtype=np.bool_)
        #: Next history index to scan for still moments.
        self._pos = 0
        #: Start of the still run that reaches ``_pos``, if one does.
        self._run_start: int | None = None
        #: A still moment waiting for the excursion after it.
        self._cand: _Still | None = None
        self._cand_first = False
        self._cand_before: _Axis | None = None
        #: In a two-sensor session the sacrum sensor follows the lumbar sensor's
        #: standing moment (`hint`): a sacrum sensor sits behind the hip joints, so a
        #: hinge lifts it and the height cannot tell a hinge's bottom from standing.
        self.follower = False
        self._hint: tuple[float, float] | None = None
        #: The candidate in hand came from the hint (no height test).
        self._cand_hint = False
        #: A still moment from the very first sample may still be judged by the
        #: follower's own start rule (the hint waits for it).
        self._start_open = True
        #: Next history index to scan for that excursion.
        self._fwd_pos = 0
        #: Start of the excursion being collected after ``_cand``.
        self._hinge_start: int | None = None
        #: After a twisted excursion: wait until back near the candidate.
        self._await_return = False
        self._rejected_twisted = 0
        self._not_standing = 0
        #: Still moments no excursion contradicts nor clearly confirms (fallbacks at the
        #: end of the stream: the longest is used).
        self._unopposed: list[_Still] = []
        self._max_n = max(1, round(settings.max_hinge_window_s / period_s))
        self._min_run = max(1, round(settings.min_still_s / period_s))

    # -- feeding ---------------------------------------------------------------------
    def update(
        self,
        time_s: np.ndarray,
        acc: np.ndarray,
        gyro: np.ndarray,
        up_s: np.ndarray,
        in_gap: np.ndarray | None = None,
    ) -> int | None:
        """Consume a block; return the number of its samples up to and including the one
        at which calibration completed, else None."""
        if self.result is not None:
            return None
        n0 = len(self._t)
        self._t.extend(time_s)
        self._up.extend(up_s)
        self._gyro.extend(gyro)
        self._vert.extend(_vertical(acc, up_s))
        self._gap.extend(np.zeros(len(time_s), dtype=bool) if in_gap is None else in_gap)
        self._still.extend(still_rows(gyro, acc, self.s))
        if self._start_open and not self._still.view[0]:
            self._start_open = False  # the recording does not start still
        done = self._scan(final=False)
        if done is None:
            done = self._try_hint(final=False)
        return None if done is None else max(1, done - n0)

    def hint(self, start_s: float, end_s: float) -> bool:
        """The other sensor of the pair stood still and upright over ``[start_s,
        end_s]`` (its clock; the pair's clocks differ by tens of ms): a follower takes
        its standing reference there. True if that completed the calibration now."""
        if self.result is not None or not self.follower or self._hint is not None:
            return False
        self._hint = (start_s, end_s)
        return self._try_hint(final=False) is not None

    def _try_hint(self, final: bool) -> int | None:
        """Calibrate at the hinted standing moment once the data covers it and the
        start rule has had its say (so the result does not depend on when the hint came)."""
        if self._hint is None or self.result is not None or self._start_open:
            return None
        if self._cand is not None:
            return self._scan(final) if self._cand_hint else None
        t = self._t.view
        a = int(np.searchsorted(t, self._hint[0]))
        b = int(np.searchsorted(t, self._hint[1], side="right"))
        if b >= len(t) and not final:
            return None
        self._hint = (np.inf, np.inf)  # used: not again
        if b - a < 2:
            return None
        c = self._still_moment(a, b)
        ax = self._excursion_before(c)
        if ax is not None and ax.off_axis_share <= self.s.reject_off_axis_share:
            self._calibrate(c, ax, done_at=b - 1)
            return b
        self._start_forward(c, first=False, before=None)
        self._cand_hint = True
        return self._scan(final)

    def finish(self) -> bool:
        """End of the stream: calibrate from what there is. True if it calibrated now.

        Raises `AnalysisError` only when the sensor never moved (nothing to analyse)."""
        if self.result is not None:
            return False
        if len(self._t) < 2:
            return False
        if self._scan(final=True) is not None or self._try_hint(final=True) is not None:
            return True
        if bool(np.all(self._still.view)):
            raise UnusableSensorError(
                f"{self.placement} sensor: the sensor never moved in this recording; "
                "nothing to calibrate or analyse (was it worn?)",
                self.placement,
            )
        if self._unopposed:
            self._from_unopposed(max(self._unopposed, key=lambda c: c.b - c.a))
        else:
            self._estimate()
        return True

    # -- the scan --------------------------------------------------------------------
    def _scan(self, final: bool) -> int | None:
        """Advance the search over the history; the history index just past the sample
        that completed the calibration, or None."""
        n = len(self._t)
        while True:
            if self._cand is not None:
                done = self._forward(final)
                if done is not None or self._cand is not None:
                    return done
                continue  # the candidate was not standing: search on
            still = self._next_still(n, final)
            if still is None:
                return None
            if self.follower:
                # Only the start rule, for a still moment from the first sample; any
                # other is judged by the other sensor's reference (`hint`).
                if still.a == 0 and self._start_open:
                    self._start_forward(still, first=True, before=None)
                else:
                    self._start_open = False
                continue
            ax = self._excursion_before(still)
            if ax is None:
                # Nothing before it to judge by (the start of the recording): it is
                # standing unless the excursion after it rises.
                self._start_forward(still, first=True, before=None)
                continue
            if ax.rise_m is not None and ax.rise_m > self.s.max_rise_m:
                self._not_standing += 1
                continue
            if ax.off_axis_share > self.s.reject_off_axis_share:
                self._rejected_twisted += 1
                ax = None
            elif ax.rise_m is None or ax.rise_m > -self.s.min_drop_m:
                # Later in the recording the sensor must drop on both sides (the
                # bottom of a hinge looks like standing from one side in a swing,
                # whose accelerations blur the integration).
                self._unopposed.append(still)
                continue
            # The excursion after it decides too (or, if the stream ends first, the
            # one before it alone).
            self._start_forward(still, first=False, before=ax)

    def _start_forward(self, still: _Still, first: bool, before: _Axis | None) -> None:
        self._cand = still
        #: Whether nothing before the candidate could judge it (see ``min_drop_m``).
        self._cand_first = first
        #: The excursion before it, when that one showed the sensor dropping.
        self._cand_before = before
        self._fwd_pos = still.b
        self._hinge_start = None
        self._await_return = False

    def _next_still(self, n: int, final: bool) -> _Still | None:
        """The next complete still run of ``min_still_s`` from ``_pos``, or None."""
        still = self._still.view
        while self._pos < n:
            seg = still[self._pos : n]
            if self._run_start is None:
                on = np.flatnonzero(seg)
                if not len(on):
                    self._pos = n
                    break
                self._run_start = self._pos + int(on[0])
                self._pos = self._run_start
                continue
            off = np.flatnonzero(~seg)
            if not len(off):
                self._pos = n
                break
            end = self._pos + int(off[0])
            a, self._run_start = self._run_start, None
            self._pos = end
            if end - a >= self._min_run:
                return self._still_moment(a, end)
            if a == 0:
                self._start_open = False  # too short to be the start rule's
        if final and self._run_start is not None and n - self._run_start >= self._min_run:
            a, self._run_start = self._run_start, None
            return self._still_moment(a, n)
        return None

    def _still_moment(self, a: int, b: int) -> _Still:
        return _Still(a, b, _unit(np.sum(self._up.view[a:b], axis=0)))

    def _tilt_deg(self, up: np.ndarray, a: int, b: int) -> np.ndarray:
        cos_t = np.clip(dot3(self._up.view[a:b], up), -1.0, 1.0)
        return DEG_PER_RAD * np.arccos(cos_t)

    def _excursion_before(self, c: _Still) -> _Axis | None:
        """The last excursion beyond ``hinge_tilt_deg`` before the still moment ``c``
        (mirror of the one after it: from its last sample beyond ``hinge_tilt_deg`` back
        to where the tilt was last under ``hinge_end_tilt_deg``, at most
        ``max_hinge_window_s``)."""
        a0 = max(0, c.a - round(self.s.excursion_lookback_s / self.period_s))
        tilt = self._tilt_deg(c.up, a0, c.a)
        far = np.flatnonzero(tilt >= self.s.hinge_tilt_deg)
        if not len(far):
            return None
        stop = int(far[-1]) + 1
        lo = max(0, stop - self._max_n)
        near = np.flatnonzero(tilt[lo:stop] < self.s.hinge_end_tilt_deg)
        start = lo + int(near[-1]) + 1 if len(near) else lo
        return self._axis(c, a0 + start, a0 + stop)

    def _forward(self, final: bool) -> int | None:
        """Collect the excursion after the candidate; calibrate or drop the candidate."""
        c = self._cand
        assert c is not None
        n = len(self._t)
        j = self._fwd_pos
        while j < n:
            tilt = self._tilt_deg(c.up, j, n)
            if self._await_return:
                back = np.flatnonzero(tilt < self.s.hinge_end_tilt_deg)
                if not len(back):
                    self._fwd_pos = n
                    return None
                j += int(back[0])
                self._await_return = False
                continue
            if self._hinge_start is None:
                hits = np.flatnonzero(tilt >= self.s.hinge_tilt_deg)
                if not len(hits):
                    self._fwd_pos = n
                    return None
                self._hinge_start = j + int(hits[0])
                j = self._hinge_start
                continue
            rel = np.arange(j, n)
            stop = (tilt < self.s.hinge_end_tilt_deg) | (rel - self._hinge_start >= self._max_n)
            k = np.flatnonzero(stop)
            if not len(k) and not final:
                self._fwd_pos = n
                return None
            j1 = j + int(k[0]) + 1 if len(k) else n
            ax = self._axis(c, self._hinge_start, j1)
            self._hinge_start = None
            if self._cand_hint:
                pass  # the other sensor judged this moment
            # (An excursion whose far end is too far away to measure, a slow hinge's
            # way down, contradicts nothing: the drop measured before the moment decides.)
            elif ax.rise_m is not None and (
                ax.rise_m > self.s.max_rise_m
                or (not self._cand_first and ax.rise_m > -self.s.min_drop_m)
            ):
                # The bottom of a squat or a deadlift, not standing (or, later in the
                # recording, not clearly standing): search on from the end of this
                # still moment (a still moment at the top of the excursion is judged by
                # the excursion before it, this one).
                if ax.rise_m > self.s.max_rise_m:
                    self._not_standing += 1
                else:
                    self._unopposed.append(c)
                self._cand = None
                self._start_open = False
                return None
            if ax.off_axis_share > self.s.reject_off_axis_share:
                self._rejected_twisted += 1
                self._await_return = True
                j = j1
                continue
            self._calibrate(c, self._cand_before or ax, done_at=j1 - 1)
            self._cand = None
            self._start_open = False
            return j1
        self._fwd_pos = n
        if final:
            self._cand = None
            self._start_open = False
            if self._cand_before is not None:
                # Standing at the end of the recording, confirmed by the excursion
                # before it.
                self._calibrate(c, self._cand_before, done_at=n - 1)
                return n
            # The stream ended without an excursion after it: nothing contradicts it.
            self._unopposed.append(c)
        return None

    # -- judging an excursion --------------------------------------------------------
    def _axis(self, c: _Still, start: int, stop: int) -> _Axis:
        """Medio-lateral axis, off-axis share and sensor rise of the excursion
        ``[start, stop)`` from the still moment ``c``."""
        up = c.up
        ok = ~self._gap.view[start:stop]
        u = self._up.view[start:stop][ok]
        g = self._gyro.view[start:stop][ok]
        # Rotation axis from standing-up to current-up, length sin(tilt): the
        # medio-lateral axis points along -(up x up_now) for a forward tilt.
        axis = np.sum(-np.cross(up, u), axis=0) if len(u) else np.zeros(3)
        left = axis - float(np.dot(axis, up)) * up
        norm = float(np.linalg.norm(left))
        energy = float(np.sum(g * g))
        off = 1.0
        if norm > 0:
            left = left / norm
            if energy > 0:
                off = 1.0 - float(np.sum(dot3(g, left) ** 2)) / energy
        rise = self._rise_m(c, start, stop)
        return _Axis(left, off, rise, start, stop)

    def _rise_m(self, c: _Still, start: int, stop: int) -> float | None:
        """How far the sensor rises (m, + up) from the still moment ``c`` to the far end
        of the excursion ``[start, stop)`` (its sample most tilted from ``c``): the
        vertical acceleration integrated twice from rest at ``c``, backwards in time for
        an excursion before it (the second derivative does not care), less its mean
        over ``c`` (accelerometer bias: the sensor is at rest there). The movement
        turns at the far end, so the vertical velocity is zero there too: that fixes
        an error growing in proportion to the tilt from ``c`` (an accelerometer's
        per-axis scale and bias errors change its reading of gravity with the
        posture, by 0.1-0.3 m/s^2 over 40 degrees in a consumer part: 0.2-0.6 m of
        height in 2 s if left). None when the far end is more than
        ``max_integration_s`` away: drift would decide."""
        if stop - start < 2:
            return 0.0
        far = start + int(np.argmax(self._tilt_deg(c.up, start, stop)))
        vert = self._vert.view
        bias = float(np.mean(vert[c.a : c.b]))
        if far >= c.b:
            a, b, rev = c.b, far + 1, False
        else:
            a, b, rev = far, c.a, True
        if (b - a) * self.period_s > self.s.max_integration_s:
            return None
        if b - a < 2:
            return 0.0
        seg = vert[a:b] - bias
        tilt = self._tilt_deg(c.up, a, b)
        if rev:
            seg, tilt = seg[::-1], tilt[::-1]
        total_tilt = float(np.sum(tilt))
        if total_tilt > 0:
            seg = seg - (float(np.sum(seg)) / total_tilt) * tilt
        v = np.cumsum(seg) * self.period_s
        return float(np.sum(v) * self.period_s)

    # -- results ---------------------------------------------------------------------
    def _calibrate(self, c: _Still, ax: _Axis, done_at: int, extra: tuple[str, ...] = ()) -> None:
        t = self._t.view
        warnings = list(extra)
        if self._rejected_twisted:
            warnings.append(
                f"{self.placement} sensor: {self._rejected_twisted} hinge(s) next to standing "
                "were too twisted to calibrate on; calibrated on another one"
            )
        if ax.off_axis_share > self.s.max_off_axis_share:
            warnings.append(
                f"{self.placement} sensor: {100 * ax.off_axis_share:.0f}% of the rotation in the "
                "hinge calibrated on was twist or side bend; angles may be off. A few slow, "
                "straight hinges help"
            )
        standing_s = (c.b - c.a) * self.period_s
        if c.a > 0 or self._not_standing:
            warnings.append(
                f"{self.placement} sensor: standing reference taken at "
                f"{float(t[c.a]):.1f}-{float(t[c.b - 1]):.1f} s (the first still, upright "
                "moment found)"
            )
        elif standing_s < 1.0:
            warnings.append(
                f"{self.placement} sensor: only {standing_s:.1f} s of standing still at the "
                "start; 3 s gives a steadier zero"
            )
        self._set_result(c.up, ax.left, c, ax, done_at, tuple(warnings), approximate=False)

    def _set_result(
        self,
        up: np.ndarray,
        left: np.ndarray,
        c: _Still,
        ax: _Axis,
        done_at: int,
        warnings: tuple[str, ...],
        approximate: bool,
    ) -> None:
        t = self._t.view
        last = len(t) - 1
        self.result = Mounting(
            up=up,
            left=left,
            anterior=np.cross(left, up),
            standing_end_s=float(t[min(c.b, last + 1) - 1]),
            standing_s=(c.b - c.a) * self.period_s,
            off_axis_share=ax.off_axis_share,
            warnings=warnings,
            done_s=float(t[min(done_at, last)]),
            excursion_s=(
                float(t[min(ax.start, last)]),
                float(t[max(0, min(ax.stop, last + 1) - 1)]),
            ),
            approximate=approximate,
            standing_start_s=float(t[min(c.a, last)]),
        )
        self._drop_history()

    def _drop_history(self) -> None:
        self._t, self._vert = Growable(), Growable()
        self._up, self._gyro = Growable((3,)), Growable((3,))
        self._gap, self._still = Growable(dtype=np.bool_), Growable(dtype=np.bool_)

    def _from_unopposed(self, c: _Still) -> None:
        """A still moment that no excursion contradicts (none came near it): the zero is
        a real standing moment; the axis comes from the largest excursion from it."""
        ax = self._largest_excursion(c)
        note = (
            f"{self.placement} sensor: no hinge next to a still moment; standing reference "
            f"taken at {float(self._t.view[c.a]):.1f}-{float(self._t.view[c.b - 1]):.1f} s"
        )
        self._calibrate(c, ax, done_at=len(self._t) - 1, extra=(note,))

    def _largest_excursion(self, c: _Still) -> _Axis:
        """The axis over every sample tilted ``hinge_end_tilt_deg`` or more from ``c``
        (or, with less movement than that, the gyro's principal axis across ``c.up``)."""
        n = len(self._t)
        tilt = self._tilt_deg(c.up, 0, n)
        far = tilt >= self.s.hinge_end_tilt_deg
        if np.count_nonzero(far) >= 8:
            idx = np.flatnonzero(far)
            ax = self._axis_over(c.up, idx)
            if ax is not None:
                return ax
        g = self._gyro.view
        g = g - np.outer(dot3(g, c.up), c.up)
        w, v = np.linalg.eigh(g.T @ g)
        left = v[:, -1] - float(np.dot(v[:, -1], c.up)) * c.up
        left = _unit(left)
        return _Axis(left, 1.0 - float(w[-1] / max(w.sum(), 1e-12)), 0.0, 0, n)

    def _axis_over(self, up: np.ndarray, idx: np.ndarray) -> _Axis | None:
        u = self._up.view[idx]
        g = self._gyro.view[idx]
        axis = np.sum(-np.cross(up, u), axis=0)
        left = axis - float(np.dot(axis, up)) * up
        norm = float(np.linalg.norm(left))
        if norm == 0:
            return None
        left = left / norm
        energy = float(np.sum(g * g))
        off = 1.0 - float(np.sum(dot3(g, left) ** 2)) / energy if energy > 0 else 1.0
        return _Axis(left, off, 0.0, int(idx[0]), int(idx[-1]) + 1)

    def _estimate(self) -> None:
        """No still standing moment: estimate the standing posture from the whole
        recording and mark the mounting approximate.

        From the quietest ``min_still_s`` (the posture the lifter holds best) the
        posture range is measured along the dominant axis of the movement; standing is
        the end of that range where the sensor is highest (`_height_fit` over the
        whole recording: no still moment to integrate from), or, when the fit cannot tell (under
        ``min_height_span_m``), the end away from which the excursions go."""
        n = len(self._t)
        gyro = self._gyro.view
        w = min(n, self._min_run)
        quiet = np.convolve(np.linalg.norm(gyro, axis=1), np.ones(w), mode="valid")
        k = int(np.argmin(quiet))
        q = self._still_moment(k, k + w)
        ax = self._largest_excursion(q)
        left = ax.left
        ant = np.cross(left, q.up)
        up_all = self._up.view
        phi = np.arctan2(-dot3(up_all, ant), dot3(up_all, q.up))
        lo, hi = np.percentile(phi, self.s.posture_range_pct)
        grid = np.linspace(lo, hi, 64)
        c1, c2 = _height_fit(phi, self._vert.view, self.period_s)
        h = c1 * grid + c2 * grid * grid
        if float(h.max() - h.min()) >= self.s.min_height_span_m:
            phi_s = float(grid[int(np.argmax(h))])
        else:
            phi_s = float(lo)
        up = _unit(np.cos(phi_s) * q.up - np.sin(phi_s) * ant)
        c = _Still(q.a, q.b, up)
        ax2 = self._largest_excursion(c)
        note = (
            f"{self.placement} sensor: no still standing moment in the recording; angles are "
            "measured from an estimated standing posture and are approximate (could be "
            "5-15 degrees off). Stand still for a few seconds before or after a set"
        )
        self._set_result(up, ax2.left, c, ax2, n - 1, (note,), approximate=True)


def _vertical(acc: np.ndarray, up_s: np.ndarray) -> np.ndarray:
    """Earth-vertical acceleration of the sensor point (m/s^2, gravity removed)."""
    return acc[:, 0] * up_s[:, 0] + acc[:, 1] * up_s[:, 1] + acc[:, 2] * up_s[:, 2] - G_MPS2


def _height_fit(phi: np.ndarray, vert: np.ndarray, period_s: float) -> tuple[float, float]:
    """(c1, c2) of the height ``c1 phi + c2 phi^2`` (m, phi in rad) whose second time
    derivative, plus a constant, best fits the vertical acceleration."""
    if len(phi) < 8:
        return 0.0, 0.0
    d2 = np.gradient(np.gradient(phi, period_s), period_s)
    d2sq = np.gradient(np.gradient(phi * phi, period_s), period_s)
    x = np.column_stack([np.ones(len(phi)), d2, d2sq])
    good = np.isfinite(vert) & np.all(np.isfinite(x), axis=1)
    if np.count_nonzero(good) < 8:
        return 0.0, 0.0
    coef, *_ = np.linalg.lstsq(x[good], vert[good], rcond=None)
    return float(coef[1]), float(coef[2])
