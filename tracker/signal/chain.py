"""Per-sensor processing chain: resample -> orientation -> mounting -> sagittal angle.

Fed with `SensorSamples` blocks of one placement; keeps the sensor's history on its own
uniform grid: times, angles, vertical acceleration and which samples are unreliable. The
resampled acc and gyro and the filter's earth-up are kept only while the angles of past
samples may still have to be computed again (before the mounting calibration, and until
the sensor's forward direction is final): about 60% of a chain's memory otherwise.
Angles follow docs/frames.md.
"""

from __future__ import annotations

import itertools

import numpy as np

from tracker.errors import AnalysisError
from tracker.samples import SensorSamples
from tracker.signal.buffer import Growable
from tracker.signal.calibration import (
    CalibrationSettings,
    Mounting,
    MountingCalibrator,
    still_rows,
)
from tracker.signal.clipping import ClipFilter
from tracker.signal.orientation import OrientationTracker, at_sample_times
from tracker.signal.resample import UniformBlock, UniformResampler
from tracker.units import DEG_PER_RAD, G_MPS2

#: A still moment this long (s) after calibration is checked for a re-clipped sensor:
#: a rest, not the pause at a rep's turn.
RECLIP_STILL_S = 1.0
#: The sensor was re-clipped when gravity in a still moment lies more than this (deg)
#: off the calibrated sagittal plane: standing, hinging, squatting, sitting or lying
#: back all keep it in that plane (a sideways lean of a few degrees at most), while a
#: sensor turned on its clip moves it out.
RECLIP_DEG = 10.0
#: ...plus this times the sine of the still moment's inclination: bent forward, a twist
#: of the trunk (up to about 20 degrees, putting a weight down to one side) turns
#: gravity out of the plane by the twist times the sine of the hinge.
RECLIP_TWIST_DEG = 20.0


class _RawHistory:
    """Resampled acc (m/s^2) and gyro (rad/s) with the filter's earth-up, per grid sample."""

    def __init__(self) -> None:
        self.up_s = Growable((3,))
        self.gyro_rad_s = Growable((3,))
        self.acc_mps2 = Growable((3,))

    def extend(self, up_s: np.ndarray, gyro_rad_s: np.ndarray, acc_mps2: np.ndarray) -> None:
        self.up_s.extend(up_s)
        self.gyro_rad_s.extend(gyro_rad_s)
        self.acc_mps2.extend(acc_mps2)

    def rows(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return (
            self.up_s.view[start:stop],
            self.gyro_rad_s.view[start:stop],
            self.acc_mps2.view[start:stop],
        )


_Rows = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


class _Waiting:
    """Resampled rows whose orientation is not final yet, oldest first: time, acc,
    gyro and in-gap flags."""

    def __init__(self) -> None:
        self._parts: list[_Rows] = []

    def append(self, ub: UniformBlock) -> None:
        self._parts.append((ub.time_s, ub.acc_mps2, ub.gyro_rad_s, ub.in_gap))

    def take(self, m: int) -> _Rows:
        """Remove and return the oldest ``m`` rows."""
        if len(self._parts) == 1 and len(self._parts[0][0]) == m:
            return self._parts.pop()  # the usual case: nothing was held back
        cols = [np.concatenate(c) for c in zip(*self._parts, strict=True)]
        rest = (cols[0][m:], cols[1][m:], cols[2][m:], cols[3][m:])
        self._parts = [rest] if len(cols[0]) > m else []
        return cols[0][:m], cols[1][:m], cols[2][:m], cols[3][:m]


class SensorChain:
    """One sensor's stream on its uniform grid, with inclination once calibrated."""

    def __init__(self, placement: str, max_gap_s: float, calibration: CalibrationSettings) -> None:
        self.placement = placement
        self._calibration_settings = calibration
        self._resampler = UniformResampler(max_gap_s)
        #: Samples at the sensor's range limit are taken out before resampling.
        self.clipping = ClipFilter()
        self._orientation: OrientationTracker | None = None
        self._calibrator: MountingCalibrator | None = None
        self.time_s = Growable()
        #: Kept while angles may have to be recomputed (see the module docstring).
        self._raw: _RawHistory | None = _RawHistory()
        self._direction_fixed = False
        #: Samples in a hole whose rotation is lost (a disconnect, or a bridge that did
        #: not hold): their angles are made up. See `OrientationTracker`.
        self.unreliable = Growable(dtype=np.bool_)
        #: Inclination (deg) and sagittal rate (deg/s), filled once calibrated.
        self.theta_deg = Growable()
        self.rate_deg_s = Growable()
        #: Vertical (earth-up) acceleration of the sensor point, gravity removed (m/s^2).
        self.vert_acc_mps2 = Growable()
        self.calibrated_at: int | None = None
        #: Rows waiting for their orientation (those that have it: `unreliable`).
        self._waiting = _Waiting()
        self._mounting: Mounting | None = None
        self.n_input = 0
        #: The sacrum sensor of a pair takes its standing moment from the lumbar
        #: sensor's (`MountingCalibrator.hint`); a hint that came before the first
        #: sample waits here.
        self.follower = False
        self._pending_hint: tuple[float, float] | None = None
        #: Re-clip watch (`_watch`): the still run in progress (its first rows).
        self._run_rows: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        self._run_len = 0
        self._run_checked = False
        #: While re-calibrating after a re-clip: the calibrator and the rows held back.
        self._recal: MountingCalibrator | None = None
        self._held: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self._reclip_at_s = 0.0
        self._reclip_deg = 0.0
        #: (time of the re-clip in s, one line) per re-calibration after a re-clip, until
        #: the pipeline takes them (`take_reclip_notices`).
        self._reclip_notices: list[tuple[float, str]] = []

    def take_reclip_notices(self) -> list[tuple[float, str]]:
        """The re-clip notices since the last call: (time of the re-clip in s, line)."""
        out, self._reclip_notices = self._reclip_notices, []
        return out

    @property
    def mounting(self) -> Mounting | None:
        if self._mounting is not None:
            return self._mounting
        return None if self._calibrator is None else self._calibrator.result

    def flip(self) -> None:
        """Swap forward and backward (see `tracker.signal.timeline`), recomputing angles.
        Only before `fix_direction`."""
        m = self.mounting
        assert m is not None and self._raw is not None, "flip() after fix_direction()"
        self._mounting = m.flipped()
        n = len(self.theta_deg)
        self.theta_deg = Growable()
        self.rate_deg_s = Growable()
        self.vert_acc_mps2 = Growable()
        self._angles(*self._raw.rows(0, n))

    def fix_direction(self) -> None:
        """Forward and backward are final (`flip` will not be called): the raw history is
        dropped as soon as the mounting is calibrated."""
        self._direction_fixed = True
        self._drop_raw_history_if_done()

    def _drop_raw_history_if_done(self) -> None:
        if self._direction_fixed and self.calibrated_at is not None:
            self._raw = None

    @property
    def period_s(self) -> float | None:
        return self._resampler.period_s

    def push(self, block: SensorSamples) -> bool:
        """Add a block; True when calibration completed during this call."""
        self.n_input += len(block)
        block = self.clipping.drop_clipped(block)
        return self._consume(self._resampler.push(block.time_s, block.acc_mps2, block.gyro_rad_s))

    def finish(self) -> bool:
        """End of the stream; True when calibration completed during this call (from
        the whole recording when no standing moment was confirmed on the way)."""
        calibrated = self._consume(self._resampler.flush(), final=True)
        self._finish_recal()
        if calibrated:
            return True
        if self.calibrated_at is not None or self._calibrator is None:
            return False
        if not self._calibrator.finish():
            return False
        self._calibrated_now()
        return True

    def _finish_recal(self) -> None:
        """A re-calibration still open at the end: finish it from what there is (if
        the sensor did not move again, the old mounting stays)."""
        if self._recal is None:
            return
        try:
            self._recal.finish()
        except AnalysisError:
            pass
        if self._recal.result is None:
            self._recal = None
            if self._held:
                up, gyro, acc = (np.concatenate(c) for c in zip(*self._held, strict=True))
                self._held = []
                self._angles(up, gyro, acc)
            return
        self._reclipped()

    def hint(self, start_s: float, end_s: float) -> bool:
        """The other sensor stood still and upright over ``[start_s, end_s]``; True
        when that completed this sensor's calibration now."""
        if self.calibrated_at is not None:
            return False
        if self._calibrator is None:
            self._pending_hint = (start_s, end_s)
            return False
        if not self._calibrator.hint(start_s, end_s):
            return False
        self._calibrated_now()
        return True

    def _calibrated_now(self, done: int | None = None) -> None:
        """Angles of everything buffered so far, now that the mounting is known; the
        rows from ``done`` on (after the sample that completed the calibration) are
        watched for a re-clip like every later row."""
        n = len(self.unreliable)
        done = n if done is None else min(done, n)
        self.calibrated_at = done
        assert self._raw is not None
        self._angles(*self._raw.rows(0, done))
        if done < n:
            up, gyro, acc = self._raw.rows(done, n)
            self._post(self.time_s.view[done:n].copy(), up.copy(), gyro.copy(), acc.copy())
        self._drop_raw_history_if_done()

    @property
    def _watching(self) -> bool:
        # The sacrum sensor of a pair may still be flipped (`flip` recomputes every
        # angle with one mounting), so only a sensor whose forward is fixed from the
        # start is watched.
        return not self.follower

    def _post(self, t: np.ndarray, up: np.ndarray, gyro: np.ndarray, acc: np.ndarray) -> None:
        """Rows after calibration: angles, unless a re-clip holds them back."""
        i, n = 0, len(t)
        while i < n:
            if self._recal is not None:
                done = self._recal.update(t[i:], acc[i:], gyro[i:], up[i:])
                k = n if done is None else i + done
                self._held.append((up[i:k], gyro[i:k], acc[i:k]))
                if done is None:
                    return
                self._reclipped()
                i = k
                continue
            reclip = self._watch(t, up, gyro, acc, i) if self._watching else None
            stop = n if reclip is None else reclip + 1
            self._angles(up[i:stop], gyro[i:stop], acc[i:stop])
            i = stop

    def _watch(
        self, t: np.ndarray, up: np.ndarray, gyro: np.ndarray, acc: np.ndarray, i: int
    ) -> int | None:
        """Index (from ``i`` on) of the row at which a still moment of
        `RECLIP_STILL_S` shows the sensor re-clipped, after which a re-calibration
        starts; None if none does."""
        m = self.mounting
        assert m is not None and self._calibrator is not None
        still = still_rows(gyro[i:], acc[i:], self._calibrator.s)
        need = max(1, round(RECLIP_STILL_S / self._calibrator.period_s))
        # The runs of still and moving rows, found in one pass (a walk that searched
        # the rest of the rows at each run's end cost a pass per run).
        edges = [0, *(np.flatnonzero(still[1:] != still[:-1]) + 1).tolist(), len(still)]
        for j, end in itertools.pairwise(edges):
            if not still[j]:
                self._run_rows, self._run_len, self._run_checked = [], 0, False
                continue
            if not self._run_checked and self._run_len + (end - j) >= need:
                k = j + (need - self._run_len) - 1  # the row completing the check
                a, b = i + j, i + k + 1
                self._run_rows.append((t[a:b], up[a:b], gyro[a:b], acc[a:b]))
                self._run_checked = True
                rows = [np.concatenate(c) for c in zip(*self._run_rows, strict=True)]
                self._run_rows = []
                mean_up = np.sum(rows[1], axis=0)
                mean_up = mean_up / np.linalg.norm(mean_up)
                out_deg = DEG_PER_RAD * float(np.arcsin(min(1.0, abs(np.dot(mean_up, m.left)))))
                incl = float(m.inclination_deg(mean_up[None, :])[0])
                if out_deg > RECLIP_DEG + RECLIP_TWIST_DEG * abs(np.sin(np.radians(incl))):
                    self._start_recal(rows, out_deg)
                    return i + k
            elif not self._run_checked:
                a, b = i + j, i + end
                self._run_rows.append((t[a:b], up[a:b], gyro[a:b], acc[a:b]))
            self._run_len += end - j
            if end < len(still):
                self._run_rows, self._run_len, self._run_checked = [], 0, False
        return None

    def _start_recal(self, rows: list[np.ndarray], out_deg: float) -> None:
        """Re-calibrate from the still moment in ``rows`` (time, up, gyro, acc) on: it
        is the new standing moment unless the movement after it says otherwise."""
        assert self._calibrator is not None
        self._recal = MountingCalibrator(
            self.placement, self._calibrator.period_s, self._calibrator.s
        )
        self._reclip_at_s = float(rows[0][0])
        self._reclip_deg = out_deg
        done = self._recal.update(rows[0], rows[3], rows[2], rows[1])
        assert done is None  # a still run alone completes nothing

    def _reclipped(self) -> None:
        """The re-calibration is done: the held rows get the new mounting's angles."""
        assert self._recal is not None and self._recal.result is not None
        self._mounting = self._recal.result
        self._reclip_notices.append(
            (
                self._reclip_at_s,
                f"{self.placement} sensor: re-clipped before {self._reclip_at_s:.0f} s (gravity "
                f"moved {self._reclip_deg:.0f} degrees off the body's sagittal plane); "
                "re-calibrated from the still moment there"
                + ("; angles after it are approximate" if self._mounting.approximate else ""),
            )
        )
        self._recal = None
        self._run_rows, self._run_len, self._run_checked = [], 0, False
        if self._held:
            up, gyro, acc = (np.concatenate(c) for c in zip(*self._held, strict=True))
            self._held = []
            self._angles(up, gyro, acc)

    def _consume(self, ub: UniformBlock | None, final: bool = False) -> bool:
        parts = []
        if ub is not None and len(ub.time_s):
            if self._orientation is None:
                period = self._resampler.period_s
                assert period is not None
                self._orientation = OrientationTracker(period)
                self._calibrator = MountingCalibrator(
                    self.placement, period, self._calibration_settings
                )
                self._calibrator.follower = self.follower
                if self._pending_hint is not None:
                    self._calibrator.hint(*self._pending_hint)
            self.time_s.extend(ub.time_s)
            self._waiting.append(ub)
            clipped = self.clipping.in_clipped_hole(ub.time_s, ub.span_s)
            parts.append(
                self._orientation.update(ub.acc_mps2, ub.gyro_rad_s, ub.in_gap, ub.span_s, clipped)
            )
        if final and self._orientation is not None:
            parts.append(self._orientation.flush())
        parts = [p for p in parts if len(p[0])]
        if not parts:
            return False
        if len(parts) == 1:
            up, lost = parts[0]
        else:
            up, lost = np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
        # The orientation of these rows is final (held back only after long holes).
        self.unreliable.extend(lost)
        time_s, acc, gyro, in_gap = self._waiting.take(len(up))
        assert self._orientation is not None  # the rows came out of it
        up = at_sample_times(up, gyro, self._orientation.period_s)
        if self._raw is not None:
            self._raw.extend(up, gyro, acc)
        if self.calibrated_at is not None:
            self._post(time_s, up, gyro, acc)
            return False
        assert self._calibrator is not None
        first = len(self.unreliable) - len(up)
        done = self._calibrator.update(time_s, acc, gyro, up, in_gap)
        if done is None:
            return False
        self._calibrated_now(first + done)
        return True

    def _angles(self, up_s: np.ndarray, gyro_rad_s: np.ndarray, acc_mps2: np.ndarray) -> None:
        """Append the angles of these samples (the next ones after those done)."""
        m = self.mounting
        assert m is not None
        self.theta_deg.extend(m.inclination_deg(up_s))
        self.rate_deg_s.extend(m.sagittal_rate_deg_s(gyro_rad_s))
        up, acc = up_s, acc_mps2
        self.vert_acc_mps2.extend(
            acc[:, 0] * up[:, 0] + acc[:, 1] * up[:, 1] + acc[:, 2] * up[:, 2] - G_MPS2
        )
