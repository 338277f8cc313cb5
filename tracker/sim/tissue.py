"""Soft-tissue wobble: the skin-mounted sensor oscillates relative to its segment.

Each axis is a damped mass-spring (natural frequency 10-22 Hz, damping ratio 0.15-0.35)
driven by the segment-frame specific force (relative to standing) and the segment's
angular acceleration: a few mm of translation and a few tenths of a degree up to ~2° of
rotation during ballistic moves, more at the lumbar site (thicker tissue, belt-free clip).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import signal

from tracker.units import LUMBAR


@dataclass(frozen=True)
class TissueParams:
    freq_hz: float
    damping: float
    #: rotation per unit specific force, rad per m/s^2 (static); lumbar > sacrum
    rot_gain_rad_per_mps2: float
    #: rotation lag per unit angular acceleration, rad per rad/s^2 (static)
    rot_gain_rad_per_rad_s2: float
    #: scales the translation of a free mass-spring (1 = -a / w0^2)
    trans_gain: float

    def as_dict(self) -> dict[str, float]:
        return dict(self.__dict__)


def random_tissue(rng: np.random.Generator, placement: str, gain: float) -> TissueParams:
    lumbar = placement == LUMBAR
    return TissueParams(
        freq_hz=rng.uniform(10.0, 16.0) if lumbar else rng.uniform(14.0, 22.0),
        damping=rng.uniform(0.15, 0.35),
        rot_gain_rad_per_mps2=gain
        * (rng.uniform(0.0005, 0.0009) if lumbar else rng.uniform(0.0002, 0.0004)),
        rot_gain_rad_per_rad_s2=gain
        * (rng.uniform(1.0e-4, 2.0e-4) if lumbar else rng.uniform(0.3e-4, 0.8e-4)),
        trans_gain=gain,
    )


class TissueFilter:
    """Wobble response, fed in pieces with explicit filter state.

    Input per sample: the segment-frame specific force minus its value at the start (so
    the sensor rests at zero offset in the standing pose) and the segment's angular
    acceleration. Output: (translation m, small rotation vector rad), segment frame.
    """

    def __init__(self, p: TissueParams, dt_s: float) -> None:
        self.p = p
        self.w0 = 2.0 * np.pi * p.freq_hz
        w0 = self.w0
        self.b, self.a = signal.bilinear(
            [w0 * w0], [1.0, 2.0 * p.damping * w0, w0 * w0], fs=1.0 / dt_s
        )
        self.initial_state = np.zeros((len(self.a) - 1, 6))

    def run(
        self, drive_mps2: np.ndarray, ang_acc_rad_s2: np.ndarray, state: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(translation, rotation vector, state after the last sample)."""
        x = np.concatenate([drive_mps2, ang_acc_rad_s2], axis=1)
        y, new_state = signal.lfilter(self.b, self.a, x, axis=0, zi=state)
        resp, resp_ang = y[:, :3], y[:, 3:]
        p = self.p
        # A mass on a spring settles at -a / w0^2 relative to its base.
        disp = -p.trans_gain * resp / (self.w0 * self.w0)
        rotvec = np.empty_like(resp)
        # Fore-aft force rocks the sensor about the medio-lateral axis and vice versa.
        rotvec[:, 0] = p.rot_gain_rad_per_mps2 * resp[:, 1]
        rotvec[:, 1] = -p.rot_gain_rad_per_mps2 * resp[:, 0]
        rotvec[:, 2] = 0.0
        rotvec -= p.rot_gain_rad_per_rad_s2 * resp_ang
        return disp, rotvec, new_state
