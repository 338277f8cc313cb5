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


def tissue_response(
    p: TissueParams, drive_mps2: np.ndarray, ang_acc_rad_s2: np.ndarray, dt_s: float
) -> tuple[np.ndarray, np.ndarray]:
    """(translation m, small rotation vector rad), both (n, 3) in the segment frame.

    ``drive_mps2`` is the segment-frame specific force minus its standing value, so the
    sensor rests at zero offset in the standing pose.
    """
    w0 = 2.0 * np.pi * p.freq_hz
    b, a = signal.bilinear([w0 * w0], [1.0, 2.0 * p.damping * w0, w0 * w0], fs=1.0 / dt_s)
    resp = signal.lfilter(b, a, drive_mps2, axis=0)
    resp_ang = signal.lfilter(b, a, ang_acc_rad_s2, axis=0)
    # A mass on a spring settles at -a / w0^2 relative to its base.
    disp = -p.trans_gain * resp / (w0 * w0)
    rotvec = np.empty_like(resp)
    # Fore-aft force rocks the sensor about the medio-lateral axis and vice versa.
    rotvec[:, 0] = p.rot_gain_rad_per_mps2 * resp[:, 1]
    rotvec[:, 1] = -p.rot_gain_rad_per_mps2 * resp[:, 0]
    rotvec[:, 2] = 0.0
    rotvec -= p.rot_gain_rad_per_rad_s2 * resp_ang
    return disp, rotvec
