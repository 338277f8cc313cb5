"""Per-sensor orientation with VQF (6-axis, no magnetometer), fed block by block.

Only the inclination part of the orientation is used downstream: the direction of
"earth up" expressed in the sensor frame (docs/frames.md). Heading drifts without a
magnetometer but never enters a sagittal angle.

VQF (Laidig & Seel 2023) low-pass filters the accelerometer in an almost-inertial frame
and estimates gyro bias at rest and in motion, which is what carries the estimate through
the large linear accelerations of a kettlebell swing. Feeding it in blocks gives exactly
the same result as one batch call (its state is carried).

After a disconnect the rotation during the lost stretch is unknown, so the inclination
is found again from the data that follows (`ALIGN_MIN_S`); after a shorter hole bridged
by interpolation, the same estimate checks the bridge (`BRIDGE_CHECK_MIN_S`).
"""

from __future__ import annotations

import numpy as np
from vqf import VQF

from tracker.signal.resample import HERMITE_MAX_GAP_S
from tracker.units import G_MPS2


def up_in_sensor_frame(quat_wxyz: np.ndarray) -> np.ndarray:
    """Earth-up unit vector in the sensor frame for sensor-to-earth quaternions (n, 4)."""
    w, x, y, z = quat_wxyz.T
    out = np.empty((len(quat_wxyz), 3))
    out[:, 0] = 2.0 * (x * z - w * y)
    out[:, 1] = 2.0 * (y * z + w * x)
    out[:, 2] = 1.0 - 2.0 * (x * x + y * y)
    return out


def at_sample_times(up: np.ndarray, gyro_rad_s: np.ndarray, period_s: float) -> np.ndarray:
    """Earth-up at the samples' own times from the filter's output after each sample.

    A sample's angular rate is the mean over the period centred on its time, and the
    filter integrates it over the whole period, so its output is the orientation half a
    period *after* the sample (10 ms at 50 Hz: 2.8 deg during a swing at 280 deg/s). Up
    is fixed in the earth, so in the sensor frame it turns as d(up)/dt = -gyro x up;
    half a period back it was up + (gyro x up) * period / 2.
    """
    # (Written out: np.cross and np.linalg.norm cost more than the sums on live blocks.)
    h = 0.5 * period_s
    ux, uy, uz = up.T
    wx, wy, wz = gyro_rad_s.T
    out = np.empty_like(up)
    out[:, 0] = ux + (wy * uz - wz * uy) * h
    out[:, 1] = uy + (wz * ux - wx * uz) * h
    out[:, 2] = uz + (wx * uy - wy * ux) * h
    out /= np.sqrt(np.einsum("ij,ij->i", out, out))[:, None]
    return out


def quat_multiply(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Hamilton product p * q of one quaternion p (4,) with quaternions q (n, 4), wxyz."""
    w1, x1, y1, z1 = p
    w2, x2, y2, z2 = q.T
    return np.stack(
        (
            w1 * w2 - x1 * x2 - y1 * y2 - z1 * z2,
            w1 * x2 + x1 * w2 + y1 * z2 - z1 * y2,
            w1 * y2 - x1 * z2 + y1 * w2 + z1 * x2,
            w1 * z2 + x1 * y2 - y1 * x2 + z1 * w2,
        ),
        axis=1,
    )


#: VQF's accelerometer time constant in normal running (its default).
TAU_ACC_S = 3.0
#: After a bridged hole that may have lost rotation and is not checked (a clipped peak,
#: see `BRIDGE_CHECK_MIN_S`), the accelerometer is trusted more for a while, so an
#: inclination the bridge got wrong re-converges within about a swing. Not after every
#: hole: it follows the lifter's own acceleration too (9° off on a hinge with 1.5 m/s²
#: of it, in the unit tests).
TAU_ACC_AFTER_GAP_S = 1.0
RECOVERY_AFTER_GAP_S = 3.0
#: Holes longer than this are disconnects (bridged by a straight line): the rotation
#: during them is lost.
DISCONNECT_S = HERMITE_MAX_GAP_S
#: After a disconnect, the inclination is found again from the mean accelerometer over
#: the data that follows, expressed in the gyro-integrated frame: there gravity stays put
#: while the lifter's own acceleration averages out, exactly so over a stretch that ends
#: in the posture and turning rate it started with (the velocity is then back to its
#: start value). The stretch ends at the sample between `ALIGN_MIN_S` and `ALIGN_MAX_S`
#: after the hole that best matches its first sample (the first that matches well
#: enough, `ALIGN_MAX_MISMATCH`, ends it early); the correction applies to every sample
#: from the hole on. Those samples are final only then: a delay after long holes only.
ALIGN_MIN_S = 1.0
ALIGN_MAX_S = 2.0
#: Weight of the turning-rate difference against the posture difference (rad) when
#: matching the start of that stretch: 0.25 s turns 1 rad/s into 0.25 rad.
ALIGN_RATE_WEIGHT_S = 0.25
#: A bridged hole of at least this length can lose real rotation (half a fast swing fits
#: in 0.5 s). The same estimate is made after it; if the inclination carried through the
#: bridge is off by more than `BRIDGE_TOLERANCE_DEG` (plus an allowance for a rough
#: estimate), the hole's samples are lost and the samples after it take the estimate.
#: Holes left by clipped samples are not checked: they come every swing, the filter
#: recovers after each instead (`TAU_ACC_AFTER_GAP_S`).
BRIDGE_CHECK_MIN_S = 0.25
BRIDGE_TOLERANCE_DEG = 3.0
#: After a bridged hole that held, the estimate replaces the filter's inclination only
#: when its stretch ends this close to its start (posture in rad plus weighted rate):
#: whole reps. Measured 0.00-0.02 on steady hinges; in the hard tier of the simulated
#: suites more than half the stretches after a hole are further off, yet agree with the
#: bridge within 5° in nine cases out of ten.
ALIGN_MAX_MISMATCH = 0.1
#: So the tolerance for the bridge grows with the mismatch (degrees per unit): a bridge
#: off by 95° after half a swing lost is caught at a mismatch of 0.14.
ALIGN_MISMATCH_DEG = 30.0


def rotate(quat_wxyz: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Rotate vectors v (n, 3) by quaternions (n, 4), wxyz."""
    w = quat_wxyz[:, :1]
    u = quat_wxyz[:, 1:]
    c = np.cross(u, v)
    return v + 2.0 * w * c + 2.0 * np.cross(u, c)


def tilt_to_up(v: np.ndarray) -> np.ndarray:
    """The rotation about a horizontal axis taking direction v (3,) to +z (VQF's
    inclination correction)."""
    x, y, z = v / np.linalg.norm(v)
    q_w = np.sqrt(max(z + 1.0, 0.0) / 2.0)
    if q_w <= 1e-6:
        return np.array([0.0, 1.0, 0.0, 0.0])
    return np.array([q_w, 0.5 * y / q_w, -0.5 * x / q_w, 0.0])


def _mismatch(q3: np.ndarray, gyro: np.ndarray, q3_0: np.ndarray, gyro_0: np.ndarray) -> np.ndarray:
    """How far samples are from a reference one in posture (rad, from the gyro-integrated
    orientations) plus turning rate (weighted by `ALIGN_RATE_WEIGHT_S`)."""
    cost = 2.0 * np.arccos(np.minimum(np.abs(q3 @ q3_0), 1.0))
    return cost + ALIGN_RATE_WEIGHT_S * np.linalg.norm(gyro - gyro_0, axis=1)


def _run_end(mask: np.ndarray, i: int) -> int:
    """End of the run of True in ``mask`` that starts at ``i``."""
    rest = mask[i:]
    return len(mask) if rest.all() else i + int(np.argmin(rest))


class _Window:
    """Samples held after a disconnect, or from the start of a bridged hole to be
    checked: per sample VQF's gyro-integrated and own orientation, acc and gyro."""

    def __init__(self, checked: bool) -> None:
        self.checked = checked
        #: Index of the first sample after the hole (0 after a disconnect, whose lost
        #: samples are not held), None while inside it.
        self.after: int | None = None if checked else 0
        self.parts: list[tuple[np.ndarray, ...]] = []
        self.n = 0


class OrientationTracker:
    """VQF for one sensor at a constant, measured sample period."""

    def __init__(self, period_s: float) -> None:
        self.period_s = period_s
        self._vqf = VQF(period_s, tauAcc=TAU_ACC_S)
        self._recovery_left = 0
        self._recovery_n = max(1, round(RECOVERY_AFTER_GAP_S / period_s))
        self._align_min_n = max(1, round(ALIGN_MIN_S / period_s))
        self._align_n = max(self._align_min_n, round(ALIGN_MAX_S / period_s))
        self._win: _Window | None = None
        self._after_disconnect = False
        self._ready: list[tuple[np.ndarray, np.ndarray]] = []

    def update(
        self,
        acc_mps2: np.ndarray,
        gyro_rad_s: np.ndarray,
        in_gap: np.ndarray | None = None,
        span_s: np.ndarray | None = None,
        clipped: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Feed samples; return, for the next m samples whose orientation is final,
        earth-up in the sensor frame (m, 3) and whether the sample lies in a hole whose
        rotation is lost (m,).

        ``in_gap`` marks samples interpolated across a hole; ``span_s`` is the length of
        the hole each sample was interpolated across. After holes of
        `BRIDGE_CHECK_MIN_S` or more the samples are held for up to `ALIGN_MAX_S` while
        the inclination is checked or found again, so m is n except around such holes
        (`flush` returns what is still held). After a shorter hole left by clipped
        samples (``clipped``) the filter runs in recovery for `RECOVERY_AFTER_GAP_S`.
        Switch points are sample indices, so block boundaries do not change the result.
        """
        n = len(acc_mps2)
        gyro = np.ascontiguousarray(gyro_rad_s, dtype=np.float64)
        acc = np.ascontiguousarray(acc_mps2, dtype=np.float64)
        gap = np.zeros(n, dtype=bool) if in_gap is None else np.asarray(in_gap, dtype=bool)
        span = np.zeros(n) if span_s is None else np.asarray(span_s, dtype=np.float64)
        cut = gap & (span > DISCONNECT_S)
        clip = np.zeros(n, dtype=bool) if clipped is None else gap & np.asarray(clipped, bool)
        check = gap & ~cut & ~clip & (span >= BRIDGE_CHECK_MIN_S)
        i = 0
        while i < n:
            if cut[i]:
                # Lost data: the interpolated fill keeps the filter running; nothing of it
                # is trusted downstream, and the stretch after it is re-aligned.
                self._close_window()
                j = _run_end(cut, i)
                self._set_tau(TAU_ACC_S)
                self._run(gyro, acc, i, j, lost=True)
                self._after_disconnect = True
                self._recovery_left = 0
                i = j
                continue
            if self._after_disconnect:
                self._after_disconnect = False
                self._win = _Window(checked=False)
            if check[i] and (self._win is None or self._win.after is not None):
                # A new hole to check (one already in a window ends that window).
                self._close_window()
                self._win = _Window(checked=True)
            w = self._win
            if w is not None and w.after is None:
                limit = _run_end(check, i)  # the rest of the hole being checked
            else:
                # (a window here has its hole behind it: w.after is set)
                limit = (
                    n
                    if w is None or w.after is None
                    else min(n, i + self._align_n - (w.n - w.after))
                )
                stop = cut[i:limit] | check[i:limit]
                if stop.any():
                    limit = i + int(np.argmax(stop))
            if limit > i:
                if w is not None and w.after is not None:
                    i = self._hold_until_match(w, gyro, acc, gap, clip, i, limit)
                    if self._win is None:
                        continue
                else:
                    i = self._piece(gyro, acc, gap, clip, i, limit)
            if w is not None:
                if w.after is None and i < n and not check[i]:
                    w.after = w.n
                if w.after is not None and w.n - w.after >= self._align_n:
                    self._close_window()
        return self._take()

    def _hold_until_match(
        self,
        w: _Window,
        gyro: np.ndarray,
        acc: np.ndarray,
        gap: np.ndarray,
        clip: np.ndarray,
        i: int,
        limit: int,
    ) -> int:
        """Hold samples after the hole, closing the window at the first sample from
        `ALIGN_MIN_S` on that matches the first in posture and turning rate (whole reps:
        standing still after the hole releases it after 1 s, a swing after a cycle)."""
        assert w.after is not None
        old_n = w.n
        if w.n - w.after + (limit - i) < self._align_min_n:
            return self._piece(gyro, acc, gap, clip, i, limit)
        saved = (self._vqf.state, self._vqf.params["tauAcc"], self._recovery_left)
        j = self._piece(gyro, acc, gap, clip, i, limit)
        k = self._first_match(w, old_n)
        if k is None:
            return j
        if k + 1 < w.n:
            # Hold nothing past the match: run the filter again only up to it, from the
            # same state (so the result does not depend on where blocks were cut).
            self._set_tau(saved[1])
            self._vqf.state = saved[0]
            self._recovery_left = saved[2]
            w.parts.pop()
            w.n = old_n
            j = self._piece(gyro, acc, gap, clip, i, i + (k + 1 - old_n))
        self._close_window()
        return j

    def _first_match(self, w: _Window, start: int) -> int | None:
        """Index of the first held sample at or after ``start`` (and `ALIGN_MIN_S` after
        the hole) that matches the first after the hole, if any."""
        assert w.after is not None
        q3 = np.concatenate([p[0] for p in w.parts])
        gyro = np.concatenate([p[3] for p in w.parts])
        lo = max(start, w.after + self._align_min_n - 1)
        if lo >= w.n:
            return None
        cost = _mismatch(q3[lo:], gyro[lo:], q3[w.after], gyro[w.after])
        hit = np.flatnonzero(cost <= ALIGN_MAX_MISMATCH)
        return lo + int(hit[0]) if len(hit) else None

    def _piece(
        self,
        gyro: np.ndarray,
        acc: np.ndarray,
        gap: np.ndarray,
        clip: np.ndarray,
        i: int,
        limit: int,
    ) -> int:
        """Run the filter from ``i`` over samples that share a time constant, at most to
        ``limit``; return where it stopped. Interpolated samples run at the normal one;
        after a clipped hole the filter is in recovery for `RECOVERY_AFTER_GAP_S`."""
        tau = TAU_ACC_S
        if gap[i]:
            j = min(limit, _run_end(gap, i))
        else:
            stop = gap[i:limit]
            j = i + int(np.argmax(stop)) if stop.any() else limit
            if self._recovery_left > 0:
                j = min(j, i + self._recovery_left)
                tau = TAU_ACC_AFTER_GAP_S
                self._recovery_left -= j - i
        self._set_tau(tau)
        w = self._win
        if w is None:
            self._run(gyro, acc, i, j, lost=False)
        else:
            st = self._vqf.updateBatchFullState(gyro[i:j], acc[i:j])
            w.parts.append((st["gyrQuat"], st["quat6D"], acc[i:j], gyro[i:j]))
            w.n += j - i
        if gap[i] and clip[i:j].any():
            # A cubic bridge across lost packets is good; across a clipped peak it
            # misses the rotation beyond the range, every swing.
            self._recovery_left = self._recovery_n
        return j

    def _run(self, gyro: np.ndarray, acc: np.ndarray, i: int, j: int, lost: bool) -> None:
        """Filter samples ``i:j`` and give them out at once (no window is open)."""
        up = up_in_sensor_frame(self._vqf.updateBatch(gyro[i:j], acc[i:j])["quat6D"])
        self._ready.append((up, np.full(j - i, lost)))

    def flush(self) -> tuple[np.ndarray, np.ndarray]:
        """Earth-up and lost flags of the samples still held at the end of the stream."""
        self._close_window()
        return self._take()

    def _take(self) -> tuple[np.ndarray, np.ndarray]:
        if not self._ready:
            return np.empty((0, 3)), np.empty(0, dtype=bool)
        if len(self._ready) == 1:
            out = self._ready[0]
        else:
            out = (
                np.concatenate([u for u, _ in self._ready]),
                np.concatenate([x for _, x in self._ready]),
            )
        self._ready = []
        return out

    def _close_window(self) -> None:
        """Release the held samples. After a disconnect, and after a bridged hole with a
        stretch of whole reps after it, the samples after the hole are re-aligned, and a
        bridged hole's own samples are lost unless the inclination carried through it
        agrees. Without such a stretch a bridged hole stands as interpolated."""
        w, self._win = self._win, None
        if w is None or w.n == 0:
            return
        q3, q6, acc, gyro = (np.concatenate(c) for c in zip(*w.parts, strict=True))
        r = w.n if w.after is None else w.after
        up = up_in_sensor_frame(q6)
        lost = np.zeros(w.n, dtype=bool)
        # Nothing to align on when the stream ended (or was cut) right after the hole,
        # when the next hole came too soon to check this one by, or when the mean shows
        # no gravity (a sensor sending zeros, say): the samples stand as the filter made
        # them, as without the check.
        usable = r < w.n and not (w.checked and w.n - r < self._align_min_n)
        if usable:
            g, mismatch = self._inclination(q3[r:], acc[r:], gyro[r:])
            usable = 0.5 * G_MPS2 < float(np.linalg.norm(g)) < 1.5 * G_MPS2
        if not usable:
            self._ready.append((up, lost))
            return
        acc_quat = tilt_to_up(g)
        up_new = up_in_sensor_frame(quat_multiply(acc_quat, q3[r:]))
        if w.checked:
            off_deg = np.degrees(np.arccos(np.clip(float(up[r] @ up_new[0]), -1.0, 1.0)))
            tolerance_deg = BRIDGE_TOLERANCE_DEG + ALIGN_MISMATCH_DEG * mismatch
            if off_deg <= tolerance_deg and mismatch > ALIGN_MAX_MISMATCH:
                # The bridge agrees with a rough estimate: it stands as made.
                self._ready.append((up, lost))
                return
            # Else the bridge missed rotation (the hole is lost), or it agrees with a
            # good estimate, which the samples after the hole take.
            lost[:r] = off_deg > tolerance_deg
        else:
            lost[:r] = True
        up[r:] = up_new
        self._ready.append((up, lost))
        # VQF goes on from this inclination, its accelerometer low-pass settled on g.
        self._recovery_left = 0
        self._set_tau(TAU_ACC_S)
        state = self._vqf.state
        state["accQuat"] = list(acc_quat)
        state["lastAccLp"] = list(g)
        b = np.asarray(self._vqf.coeffs["accLpB"])
        a = np.asarray(self._vqf.coeffs["accLpA"])
        state["accLpState"] = [float(x) for gk in g for x in VQF.filterInitialState(gk, b, a)]
        self._vqf.state = state

    def _inclination(
        self, q3: np.ndarray, acc: np.ndarray, gyro: np.ndarray
    ) -> tuple[np.ndarray, float]:
        """The mean acc (gyro-integrated frame) over a stretch that starts at the first
        sample and ends where posture and turning rate best match it, and how far that
        end is from matching; `tilt_to_up` of it is the inclination correction."""
        lo = min(self._align_min_n, len(q3)) - 1
        cost = _mismatch(q3[lo:], gyro[lo:], q3[0], gyro[0])
        best = int(np.argmin(cost))
        end = lo + best + 1
        g = rotate(q3[:end], acc[:end]).mean(axis=0)
        return g, float(cost[best])

    def _set_tau(self, tau_s: float) -> None:
        if self._vqf.params["tauAcc"] != tau_s:
            self._vqf.setTauAcc(tau_s)
