"""Per-sensor processing chain: resample -> orientation -> mounting -> sagittal angle.

Fed with `SensorSamples` blocks of one placement; keeps the sensor's history on its own
uniform grid: times, angles, vertical acceleration and which samples are unreliable. The
resampled acc and gyro and the filter's earth-up are kept only while the angles of past
samples may still have to be computed again (before the mounting calibration, and until
the sensor's forward direction is final): about 60% of a chain's memory otherwise.
Angles follow docs/frames.md.
"""

from __future__ import annotations

import numpy as np

from tracker.samples import SensorSamples
from tracker.signal.buffer import Growable
from tracker.signal.calibration import CalibrationSettings, Mounting, MountingCalibrator
from tracker.signal.clipping import ClipFilter
from tracker.signal.orientation import TAU_ACC_AFTER_GAP_S, OrientationTracker
from tracker.signal.resample import HERMITE_MAX_GAP_S, UniformBlock, UniformResampler
from tracker.units import G_MPS2

#: After a disconnect, angles are withheld for two of the orientation filter's
#: recovery time constants: an error of tens of degrees left by the lost rotation is
#: down to about an eighth by then. With two sensors the hinge is carried on the other
#: sensor meanwhile (`tracker.signal.timeline`), so reps are still counted; measured on
#: the simulated suites, 2 s counts more sets exactly than 1 s or 3 s.
UNTRUSTED_AFTER_GAP_S = 2.0 * TAU_ACC_AFTER_GAP_S


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
        #: Samples whose orientation cannot be trusted: inside a gap too long to bridge
        #: (a disconnect) and while the filter re-converges after it.
        self.unreliable = Growable(dtype=np.bool_)
        self._unreliable_left = 0
        #: Inclination (deg) and sagittal rate (deg/s), filled once calibrated.
        self.theta_deg = Growable()
        self.rate_deg_s = Growable()
        #: Vertical (earth-up) acceleration of the sensor point, gravity removed (m/s^2).
        self.vert_acc_mps2 = Growable()
        self.calibrated_at: int | None = None
        self._mounting: Mounting | None = None
        self.n_input = 0

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
        return self._consume(self._resampler.flush())

    def _consume(self, ub: UniformBlock | None) -> bool:
        if ub is None or len(ub.time_s) == 0:
            return False
        if self._orientation is None:
            period = self._resampler.period_s
            assert period is not None
            self._orientation = OrientationTracker(period)
            self._calibrator = MountingCalibrator(
                self.placement, period, self._calibration_settings
            )
        up = self._orientation.update(ub.acc_mps2, ub.gyro_rad_s, ub.in_gap)
        start = len(self.time_s)
        self.time_s.extend(ub.time_s)
        self.unreliable.extend(self._unreliable(ub.span_s > HERMITE_MAX_GAP_S))
        if self._raw is not None:
            self._raw.extend(up, ub.gyro_rad_s, ub.acc_mps2)
        if self.calibrated_at is not None:
            self._angles(up, ub.gyro_rad_s, ub.acc_mps2)
            return False
        assert self._calibrator is not None
        done = self._calibrator.update(ub.time_s, ub.acc_mps2, ub.gyro_rad_s, up, ub.in_gap)
        if done is None:
            return False
        self.calibrated_at = start + done
        # Angles of everything buffered so far.
        assert self._raw is not None
        self._angles(*self._raw.rows(0, len(self.time_s)))
        self._drop_raw_history_if_done()
        return True

    def _unreliable(self, long_gap: np.ndarray) -> np.ndarray:
        """Long-gap samples plus the recovery time after each, counted in samples."""
        period = self._resampler.period_s
        assert period is not None
        recovery = round(UNTRUSTED_AFTER_GAP_S / period)
        out = long_gap.copy()
        n = len(out)
        left = self._unreliable_left
        if not long_gap.any():
            # The common case: only the tail of an earlier recovery, if any.
            k = min(left, n)
            out[:k] = True
            self._unreliable_left = left - k
            return out
        # Samples since the latest long-gap sample (or since before this block).
        idx = np.arange(n)
        last_gap = np.maximum.accumulate(np.where(long_gap, idx, -1))
        since = np.where(last_gap >= 0, idx - last_gap, idx + 1 + (recovery - left))
        out |= since <= recovery
        tail = n - 1 - int(last_gap[-1]) if last_gap[-1] >= 0 else None
        self._unreliable_left = recovery - tail if tail is not None else max(0, left - n)
        self._unreliable_left = max(0, self._unreliable_left)
        return out

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
