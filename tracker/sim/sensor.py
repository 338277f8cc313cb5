"""IMU error model: scale and misalignment, bias and bias drift, anti-aliasing, noise, int16.

The order follows a real MEMS chain: the sensing element sees the physical signal with
scale/misalignment errors and bias; the chip's low-pass filter removes what would alias;
output data are taken at the output data rate, white noise is added per output sample,
and the value is quantised to int16 counts of the full-scale range and saturates there.
Units: m/s^2 and rad/s in the sensor frame (docs/frames.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import signal

from tracker.sim.rotations import rows_times
from tracker.sim.tiers import Imperfections, TierRanges
from tracker.units import G_MPS2, RAD_PER_DEG

INT16_MIN = -32768
INT16_MAX = 32767


@dataclass(frozen=True)
class SensorErrors:
    """One sensor's drawn error values (written to the truth file)."""

    acc_noise_mps2: float
    gyro_noise_rad_s: float
    acc_bias_mps2: np.ndarray
    gyro_bias_rad_s: np.ndarray
    acc_bias_walk_mps2_per_sqrt_s: float
    gyro_bias_walk_rad_s_per_sqrt_s: float
    acc_matrix: np.ndarray  # (I + scale) (I + misalignment)
    gyro_matrix: np.ndarray
    antialias_cutoff_hz: float
    acc_range_g: float
    gyro_range_dps: float

    def as_dict(self) -> dict[str, object]:
        return {
            k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in self.__dict__.items()
        }


def _matrix(rng: np.random.Generator, scale: float, mis: float) -> np.ndarray:
    s = np.diag(1.0 + rng.uniform(-scale, scale, 3))
    m = np.eye(3) + rng.uniform(-mis, mis, (3, 3)) * (1.0 - np.eye(3))
    return s @ m


def random_errors(
    rng: np.random.Generator, tr: TierRanges, imp: Imperfections, rate_hz: float
) -> SensorErrors:
    """Draw every value (always, so switching one off does not change the others)."""
    acc_noise = rng.uniform(*tr.acc_noise_mps2)
    gyro_noise = rng.uniform(*tr.gyro_noise_rad_s)
    acc_bias = rng.uniform(-tr.acc_bias_mps2, tr.acc_bias_mps2, 3)
    gyro_bias = rng.uniform(-tr.gyro_bias_rad_s, tr.gyro_bias_rad_s, 3)
    acc_scale = _matrix(rng, tr.scale_error, 0.0)
    gyro_scale = _matrix(rng, tr.scale_error, 0.0)
    acc_mis = _matrix(rng, 0.0, tr.misalignment_rad)
    gyro_mis = _matrix(rng, 0.0, tr.misalignment_rad)
    cutoff = rng.uniform(0.25, 0.45) * rate_hz
    acc_range = float(rng.choice(tr.acc_ranges_g))
    gyro_range = float(rng.choice(tr.gyro_ranges_dps))
    return SensorErrors(
        acc_noise_mps2=acc_noise if imp.noise else 0.0,
        gyro_noise_rad_s=gyro_noise if imp.noise else 0.0,
        acc_bias_mps2=acc_bias if imp.bias else np.zeros(3),
        gyro_bias_rad_s=gyro_bias if imp.bias else np.zeros(3),
        acc_bias_walk_mps2_per_sqrt_s=tr.acc_bias_walk_mps2_per_sqrt_s if imp.bias_drift else 0.0,
        gyro_bias_walk_rad_s_per_sqrt_s=tr.gyro_bias_walk_rad_s_per_sqrt_s
        if imp.bias_drift
        else 0.0,
        acc_matrix=(acc_scale if imp.scale_error else np.eye(3))
        @ (acc_mis if imp.misalignment else np.eye(3)),
        gyro_matrix=(gyro_scale if imp.scale_error else np.eye(3))
        @ (gyro_mis if imp.misalignment else np.eye(3)),
        antialias_cutoff_hz=cutoff,
        acc_range_g=acc_range,
        gyro_range_dps=gyro_range,
    )


class AntiAlias:
    """Causal 2nd-order Butterworth low-pass (like the chip's digital filter), started at
    rest on the first value and fed chunk after chunk (state carried, so chunking does not
    change the result)."""

    def __init__(self, fs_hz: float, cutoff_hz: float) -> None:
        self.sos = signal.butter(2, cutoff_hz, output="sos", fs=fs_hz)
        self.zi: np.ndarray | None = None

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if self.zi is None:
            self.zi = signal.sosfilt_zi(self.sos)[:, :, None] * x[0][None, None, :]
        y, self.zi = signal.sosfilt(self.sos, x, axis=0, zi=self.zi)
        return y


def sensing(err: SensorErrors, acc_mps2: np.ndarray, gyro_rad_s: np.ndarray) -> np.ndarray:
    """Scale and misalignment of the sensing elements: (n, 6) = acc, gyro."""
    return np.concatenate(
        [rows_times(acc_mps2, err.acc_matrix), rows_times(gyro_rad_s, err.gyro_matrix)], axis=1
    )


def random_walk(rng: np.random.Generator, t_s: np.ndarray, sd_per_sqrt_s: float) -> np.ndarray:
    steps = rng.standard_normal((len(t_s), 3))
    if sd_per_sqrt_s == 0.0 or len(t_s) == 0:
        return np.zeros((len(t_s), 3))
    dt = np.diff(t_s, prepend=t_s[0])
    return np.cumsum(steps * (sd_per_sqrt_s * np.sqrt(dt))[:, None], axis=0)


def quantise(x: np.ndarray, full_scale: float, on: bool, saturate: bool) -> np.ndarray:
    """int16 counts of ``full_scale / 32768`` per LSB, saturating at the range."""
    lsb = full_scale / 32768.0
    if on:
        counts = np.round(x / lsb)
        if saturate:
            counts = np.clip(counts, INT16_MIN, INT16_MAX)
        return counts * lsb
    if saturate:
        return np.clip(x, INT16_MIN * lsb, INT16_MAX * lsb)
    return x


def digitise(
    rng: np.random.Generator,
    err: SensorErrors,
    imp: Imperfections,
    sampled: np.ndarray,
    t_sample_s: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Bias, bias drift, white noise and int16 quantisation of the sampled (n, 6) signal."""
    acc, gyro = sampled[:, :3], sampled[:, 3:]
    n = len(t_sample_s)
    acc = acc + err.acc_bias_mps2 + random_walk(rng, t_sample_s, err.acc_bias_walk_mps2_per_sqrt_s)
    gyro = (
        gyro
        + err.gyro_bias_rad_s
        + random_walk(rng, t_sample_s, err.gyro_bias_walk_rad_s_per_sqrt_s)
    )
    acc = acc + err.acc_noise_mps2 * rng.standard_normal((n, 3))
    gyro = gyro + err.gyro_noise_rad_s * rng.standard_normal((n, 3))
    acc = quantise(acc, err.acc_range_g * G_MPS2, imp.quantisation, imp.saturation)
    gyro = quantise(gyro, err.gyro_range_dps * RAD_PER_DEG, imp.quantisation, imp.saturation)
    return acc, gyro
