"""Mounting calibration: find the body frame of a sensor clipped on in any orientation.

Frames: docs/frames.md. The recipe, per sensor, fed block by block:

1. **Standing reference ("up").** The first still stretch of at least
   ``min_still_s`` (gyro and accelerometer quiet) is the standing neutral pose; the mean
   earth-up direction in the sensor frame over that stretch is the segment's up axis and
   the zero of every angle.
2. **Medio-lateral axis from the first hinge.** During the first excursion that tilts the
   segment more than ``hinge_tilt_deg`` from standing, the rotation that takes standing-up
   to current-up has its axis along the medio-lateral line. Its sign is chosen so that
   this first large excursion counts as *forward* (flexion). Gravity alone cannot tell
   forward from backward (a 180-degree turn of the sensor about the spine looks the same),
   and every session starts by hinging or squatting down to pick up, set up or lower
   oneself, so this is the stated assumption.
3. **Quality.** The share of gyro energy during that excursion that is *not* about the
   medio-lateral axis (twist, side bend) is reported; above ``max_off_axis_share`` the
   calibration is flagged as doubtful.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from tracker.errors import AnalysisError
from tracker.units import DEG_PER_RAD, G_MPS2


@dataclass(frozen=True)
class CalibrationSettings:
    """Thresholds of the calibration recipe (see module docstring)."""

    still_gyro_rad_s: float = 0.35
    still_acc_dev_mps2: float = 1.5
    min_still_s: float = 0.5
    #: Give up looking for the standing phase after this long.
    max_search_still_s: float = 30.0
    hinge_tilt_deg: float = 20.0
    #: The first excursion ends when the tilt falls back under this.
    hinge_end_tilt_deg: float = 10.0
    #: ...or at the latest this long after it passed ``hinge_tilt_deg``.
    max_hinge_window_s: float = 3.0
    max_off_axis_share: float = 0.25
    #: Above this the excursion is not a hinge at all; the next one is used.
    reject_off_axis_share: float = 0.5


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

    def flipped(self) -> Mounting:
        """The same mounting facing the other way (forward and backward swapped)."""
        return replace(self, left=-self.left, anterior=-self.anterior)

    def inclination_deg(self, up_s: np.ndarray) -> np.ndarray:
        """Sagittal inclination from standing, + forward (docs/frames.md), per sample."""
        return DEG_PER_RAD * np.arctan2(-dot3(up_s, self.anterior), dot3(up_s, self.up))

    def sagittal_rate_deg_s(self, gyro_rad_s: np.ndarray) -> np.ndarray:
        """Angular velocity about the medio-lateral axis, + towards flexion."""
        return DEG_PER_RAD * dot3(gyro_rad_s, self.left)


def dot3(rows: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Row-wise dot product with a 3-vector, written out so that every row's result is
    bit-identical however many rows are passed (BLAS kernels change summation order with
    the array length, which would make streaming differ from batch in the last bits)."""
    return rows[:, 0] * v[0] + rows[:, 1] * v[1] + rows[:, 2] * v[2]


class MountingCalibrator:
    """Finds the `Mounting` of one sensor from its first standing phase and first hinge."""

    def __init__(self, placement: str, period_s: float, settings: CalibrationSettings) -> None:
        self.placement = placement
        self.period_s = period_s
        self.s = settings
        self.result: Mounting | None = None
        self._n_seen = 0
        self._still_run = 0
        self._still_sum = np.zeros(3)
        #: Time of the last sample searched for the standing phase (s).
        self._last_search_s = 0.0
        self._up: np.ndarray | None = None
        self._standing_end_s = 0.0
        self._standing_s = 0.0
        self._axis_sum = np.zeros(3)
        self._gyro_energy = 0.0
        self._gyro_on_axis: list[np.ndarray] = []
        self._hinge_started_at: int | None = None
        self._await_return = False
        self._rejected = 0
        self._collecting = False
        self._collected: list[np.ndarray] = []

    def update(
        self,
        time_s: np.ndarray,
        acc: np.ndarray,
        gyro: np.ndarray,
        up_s: np.ndarray,
        in_gap: np.ndarray | None = None,
    ) -> int | None:
        """Consume a block; return the index in it where calibration completed, else None.

        Long blocks (a whole recording) are looked at a few seconds at a time, so the cost
        is bounded by how far into the recording the calibration completes."""
        if self.result is not None:
            return None
        step = max(1, round(5.0 / self.period_s))
        gap_all = np.zeros(len(time_s), dtype=bool) if in_gap is None else in_gap
        for a in range(0, len(time_s), step):
            b = a + step
            done = self._update_chunk(time_s[a:b], acc[a:b], gyro[a:b], up_s[a:b], gap_all[a:b])
            if done is not None:
                return a + done
        return None

    def _update_chunk(
        self,
        time_s: np.ndarray,
        acc: np.ndarray,
        gyro: np.ndarray,
        up_s: np.ndarray,
        in_gap: np.ndarray,
    ) -> int | None:
        n = len(time_s)
        i = 0
        if self._up is None:
            i = self._find_standing(time_s, acc, gyro, up_s)
            if self._up is None:
                self._n_seen += n
                if self._n_seen * self.period_s > self.s.max_search_still_s:
                    raise AnalysisError(
                        f"{self.placement} sensor: no standing phase in the first "
                        f"{self.s.max_search_still_s:.0f} s; start each recording standing "
                        "still and upright for about 3 s"
                    )
                return None
        # ``_n_seen`` is the absolute index of the first sample handed to the search.
        self._n_seen += i
        done = self._find_first_hinge(time_s[i:], gyro[i:], up_s[i:], in_gap[i:])
        self._n_seen += n - i
        return None if done is None else i + done

    def _find_standing(
        self, time_s: np.ndarray, acc: np.ndarray, gyro: np.ndarray, up_s: np.ndarray
    ) -> int:
        still = (np.linalg.norm(gyro, axis=1) < self.s.still_gyro_rad_s) & (
            np.abs(np.linalg.norm(acc, axis=1) - G_MPS2) < self.s.still_acc_dev_mps2
        )
        min_run = max(1, round(self.s.min_still_s / self.period_s))
        for j in range(len(still)):
            if still[j]:
                self._still_run += 1
                self._still_sum += up_s[j]
                continue
            if self._still_run >= min_run:
                # The still stretch ended at the sample before j: in an earlier block
                # when j is 0 (the same time however the stream was split).
                self._set_standing(float(time_s[j - 1]) if j else self._last_search_s)
                return j
            self._still_run = 0
            self._still_sum = np.zeros(3)
        if len(time_s):
            self._last_search_s = float(time_s[-1])
        return len(still)

    def _set_standing(self, end_s: float) -> None:
        self._up = self._still_sum / np.linalg.norm(self._still_sum)
        self._standing_end_s = end_s
        self._standing_s = self._still_run * self.period_s

    def _find_first_hinge(
        self, time_s: np.ndarray, gyro: np.ndarray, up_s: np.ndarray, gap: np.ndarray
    ):
        assert self._up is not None
        up = self._up
        cos_t = np.clip(dot3(up_s, up), -1.0, 1.0)
        tilt_deg = DEG_PER_RAD * np.arccos(cos_t)
        max_n = round(self.s.max_hinge_window_s / self.period_s)
        j0 = 0
        while j0 < len(tilt_deg):
            if self._await_return:
                # After a rejected attempt: wait until back near standing.
                back = np.flatnonzero(tilt_deg[j0:] < self.s.hinge_end_tilt_deg)
                if not len(back):
                    return None
                j0 += int(back[0])
                self._await_return = False
            if self._hinge_started_at is None:
                hits = np.flatnonzero(tilt_deg[j0:] >= self.s.hinge_tilt_deg)
                if not len(hits):
                    return None
                j0 += int(hits[0])
                self._hinge_started_at = self._n_seen + j0
            rel = np.arange(j0, len(tilt_deg))
            stop = (tilt_deg[j0:] < self.s.hinge_end_tilt_deg) | (
                self._n_seen + rel - self._hinge_started_at >= max_n
            )
            k = np.flatnonzero(stop)
            j1 = j0 + int(k[0]) + 1 if len(k) else len(tilt_deg)
            # Rotation axis from standing-up to current-up, length sin(tilt): the
            # medio-lateral axis points along -(up x up_now) for a forward tilt. Samples
            # interpolated across gaps are left out. Summed sequentially (cumsum from
            # the running total) so the result does not depend on block boundaries.
            ok = ~gap[j0:j1]
            axes = -np.cross(up, up_s[j0:j1][ok])
            self._axis_sum = np.cumsum(np.vstack([self._axis_sum, axes]), axis=0)[-1]
            self._collected.extend(gyro[j0:j1][ok])
            if not len(k):
                return None
            if self._finish(float(time_s[j1 - 1])):
                return j1
            j0 = j1
        return None

    def _finish(self, done_s: float) -> bool:
        """Complete the calibration from the excursion just seen; False if it was unusable
        (mostly twist or side bend, or lost in a gap) and the next hinge is awaited."""
        assert self._up is not None
        up = self._up
        left = self._axis_sum - float(dot3(self._axis_sum[None, :], up)[0]) * up
        norm = float(np.linalg.norm(left))
        g = np.asarray(self._collected).reshape(-1, 3)
        energy = float(np.sum(g * g))
        off = 1.0
        if norm > 0 and energy > 0:
            left = left / norm
            off = 1.0 - float(np.sum(dot3(g, left) ** 2)) / energy
        if off > self.s.reject_off_axis_share:
            self._rejected += 1
            self._axis_sum = np.zeros(3)
            self._collected = []
            self._hinge_started_at = None
            self._await_return = True
            return False
        anterior = np.cross(left, up)
        warnings = []
        if self._rejected:
            warnings.append(
                f"{self.placement} sensor: the first {self._rejected} hinge(s) were too twisted "
                "to calibrate on; calibrated on the next one"
            )
        if off > self.s.max_off_axis_share:
            warnings.append(
                f"{self.placement} sensor: {100 * off:.0f}% of the rotation in the first hinge "
                "was twist or side bend; angles may be off. Start with a few slow, straight hinges"
            )
        if self._standing_s < 1.0:
            warnings.append(
                f"{self.placement} sensor: only {self._standing_s:.1f} s of standing still at the "
                "start; 3 s gives a steadier zero"
            )
        self.result = Mounting(
            up=up,
            left=left,
            anterior=anterior,
            standing_end_s=self._standing_end_s,
            standing_s=self._standing_s,
            off_axis_share=off,
            warnings=tuple(warnings),
            done_s=done_s,
        )
        self._collected = []
        return True
