"""From segment motion to what one sensor measures, chunk by chunk at the internal rate.

The session is rendered in chunks (bounded memory for hour-long sessions). Every stateful
step carries its state across chunks (soft-tissue filter, anti-aliasing filter, the walked
position), and derivatives use a margin of extra samples on each side, so the result does
not depend on where the chunks fall. Frames: docs/frames.md.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from tracker.sim import rotations as rot
from tracker.sim.body import SegmentMotion
from tracker.sim.sensor import AntiAlias, SensorErrors, sensing
from tracker.sim.tissue import TissueFilter
from tracker.units import G_MPS2

G_WORLD_MPS2 = np.array([0.0, 0.0, -G_MPS2])
#: Extra samples each side of a chunk: derivatives need 2, the tissue filter 2 more.
MARGIN = 8

#: Columns of the per-sample record: measured front end (6), ideal acc (3), ideal gyro (3),
#: segment rotation (9), segment inclination (1).
_FRONT, _ACC, _GYRO, _ROT, _INC = slice(0, 6), slice(6, 9), slice(9, 12), slice(12, 21), 21
_WIDTH = 22


def interp_rows(t_grid: np.ndarray, x: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Linear interpolation of every column of ``x`` (n, k) at times ``t``."""
    return np.stack([np.interp(t, t_grid, x[:, k]) for k in range(x.shape[1])], axis=1)


class SensorPipe:
    """One sensor: ideal signals, wobble, mounting, anti-aliasing, sampling.

    ``t_sample_s`` are the simulation times at which the sensor takes its samples (sorted).
    After every chunk has been fed, `sampled` holds, per sample: the analogue front end
    output (acc, gyro in the sensor frame, before bias/noise/quantisation), the ideal
    signals, the segment rotation and its sagittal inclination.
    """

    def __init__(
        self,
        mount: np.ndarray,
        tissue: TissueFilter | None,
        err: SensorErrors,
        t_sample_s: np.ndarray,
        internal_rate_hz: float,
    ) -> None:
        self.mount = mount
        self.tissue = tissue
        self.tissue_state = tissue.initial_state if tissue is not None else None
        self.f0: np.ndarray | None = None
        self.err = err
        self.antialias = AntiAlias(internal_rate_hz, err.antialias_cutoff_hz)
        self.t_sample_s = t_sample_s
        self.next = 0
        self.prev: tuple[float, np.ndarray] | None = None
        self.out = np.empty((len(t_sample_s), _WIDTH))

    def feed(self, t_s: np.ndarray, seg: SegmentMotion, lo: int, hi: int, dt_s: float) -> None:
        """A chunk: arrays cover ``[lo - MARGIN, hi + MARGIN)``; ``[lo, hi)`` is new."""
        r_seg, pos = seg.rotation, seg.position_m
        acc_w = rot.second_derivative(pos, dt_s)
        rates_seg = rot.body_rates(r_seg, dt_s)
        if self.tissue is not None:
            assert self.tissue_state is not None  # set with the tissue filter
            # The wobble is needed 2 samples beyond the chunk for its own derivatives; the
            # filter state is committed at hi - 2, where the next chunk's range starts.
            a, b = lo - 2, hi + 2
            f_body = rot.apply_t(r_seg[a:b], acc_w[a:b] - G_WORLD_MPS2)
            if self.f0 is None:
                self.f0 = f_body[0].copy()
            ang_acc = np.gradient(rates_seg, dt_s, axis=0)[a:b]
            drive = f_body - self.f0
            n1 = hi - 2 - a
            d1, v1, self.tissue_state = self.tissue.run(drive[:n1], ang_acc[:n1], self.tissue_state)
            d2, v2, _ = self.tissue.run(drive[n1:], ang_acc[n1:], self.tissue_state)
            disp = np.concatenate([d1, d2])
            rotvec = np.concatenate([v1, v2])
            r_eff = rot.matmul(r_seg[a:b], Rotation.from_rotvec(rotvec).as_matrix())
            acc_eff = rot.second_derivative(pos[a:b] + rot.apply(r_seg[a:b], disp), dt_s)[2:-2]
            rates = rot.body_rates(r_eff, dt_s)[2:-2]
            r_eff = r_eff[2:-2]
        else:
            acc_eff = acc_w[lo:hi]
            rates = rates_seg[lo:hi]
            r_eff = r_seg[lo:hi]
        acc_s = rot.rows_times(rot.apply_t(r_eff, acc_eff - G_WORLD_MPS2), self.mount)
        gyro_s = rot.rows_times(rates, self.mount)
        front = self.antialias(sensing(self.err, acc_s, gyro_s))
        rec = np.empty((hi - lo, _WIDTH))
        rec[:, _FRONT] = front
        rec[:, _ACC] = acc_s
        rec[:, _GYRO] = gyro_s
        rec[:, _ROT] = r_seg[lo:hi].reshape(-1, 9)
        rec[:, _INC] = seg.inclination_rad[lo:hi]
        self._take(t_s[lo:hi], rec)

    def _take(self, t_s: np.ndarray, rec: np.ndarray) -> None:
        """Interpolate the samples that fall in this chunk (and the gap before it)."""
        if self.prev is not None:
            t_s = np.concatenate([[self.prev[0]], t_s])
            rec = np.concatenate([self.prev[1][None, :], rec])
        stop = int(np.searchsorted(self.t_sample_s, t_s[-1], side="right"))
        if stop > self.next:
            self.out[self.next : stop] = interp_rows(t_s, rec, self.t_sample_s[self.next : stop])
            self.next = stop
        self.prev = (float(t_s[-1]), rec[-1].copy())

    @property
    def front(self) -> np.ndarray:
        return self.out[:, _FRONT]

    @property
    def ideal_acc(self) -> np.ndarray:
        return self.out[:, _ACC]

    @property
    def ideal_gyro(self) -> np.ndarray:
        return self.out[:, _GYRO]

    @property
    def rotation(self) -> np.ndarray:
        """Segment -> world rotation at the samples.

        Linear interpolation between 1 ms grid points leaves the matrix orthonormal to
        ~1e-6; one Newton step of the polar decomposition squares that error away.
        """
        m = self.out[:, _ROT].reshape(-1, 3, 3)
        mtm = np.einsum("nki,nkj->nij", m, m)
        return 1.5 * m - 0.5 * np.matmul(m, mtm)

    @property
    def inclination_rad(self) -> np.ndarray:
        return self.out[:, _INC]
