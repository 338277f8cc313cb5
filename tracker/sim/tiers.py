"""Difficulty tiers and the switches that turn each imperfection off.

A tier gives ranges; each session draws its own values from them with its seed, so two
seeds of the same tier differ. The drawn values are written to the truth file.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

TIERS: tuple[str, ...] = ("easy", "medium", "hard")


@dataclass(frozen=True)
class Imperfections:
    """Which imperfections are simulated (all on by default; `none()` for clean data)."""

    noise: bool = True
    bias: bool = True
    bias_drift: bool = True
    scale_error: bool = True
    misalignment: bool = True
    soft_tissue: bool = True
    quantisation: bool = True
    saturation: bool = True
    jitter: bool = True
    packet_loss: bool = True
    dropouts: bool = True  # hard tier: now and then a disconnect of a few seconds (a Gap)
    clock_offset: bool = True
    clock_drift: bool = True
    rate_error: bool = True
    clock_start: bool = True  # arbitrary (possibly negative or large) clock start
    out_of_plane: bool = True  # pelvis obliquity/rotation, lumbar side bend/twist, heading
    sway: bool = True  # postural sway while standing and lifting
    mounting: bool = True  # random mounting rotation (off: sensor frame = body frame)

    @classmethod
    def none(cls) -> Imperfections:
        """Ideal sensors on a planar body: only anti-aliasing and resampling remain."""
        return cls(**{f.name: False for f in fields(cls)})

    def as_dict(self) -> dict[str, bool]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class TierRanges:
    """Ranges the per-session values are drawn from (uniform unless said)."""

    acc_noise_mps2: tuple[float, float]  # white noise SD per output sample
    gyro_noise_rad_s: tuple[float, float]
    acc_bias_mps2: float  # max |constant bias| per axis
    gyro_bias_rad_s: float
    acc_bias_walk_mps2_per_sqrt_s: float
    gyro_bias_walk_rad_s_per_sqrt_s: float
    scale_error: float  # max |relative scale error| per axis
    misalignment_rad: float  # max |cross-axis term|
    wobble_gain: tuple[float, float]  # multiplies the soft-tissue response
    jitter_s: float  # SD of timestamp jitter
    loss_rate: float  # long-run share of packets lost
    burst_packets: float  # mean length of a loss burst, packets
    clock_offset_s: float  # max |sacrum clock offset| vs lumbar
    clock_drift_ppm: float  # max |sacrum clock drift| vs lumbar
    rate_error: float  # max |relative ODR error| vs nominal
    clock_start_s: tuple[float, float]
    mount_tilt_deg: float | None  # None = uniformly random rotation
    acc_ranges_g: tuple[float, ...]
    gyro_ranges_dps: tuple[float, ...]
    start_delay_s: float = 0.1  # max delay of a sensor's first sample after the start
    dropout_prob: float = 0.0  # chance per sensor of one disconnect (a recorded gap)
    dropout_s: tuple[float, float] = (1.0, 4.0)  # its length


# fmt: off
# Field order as in TierRanges.
TIER_RANGES: dict[str, TierRanges] = {
    "easy": TierRanges(
        (0.008, 0.012), (0.0015, 0.0025), 0.05, 0.003, 0.0002, 0.00002, 0.005, 0.002,
        (0.3, 0.5), 0.0001, 0.0, 1.0, 0.005, 10.0, 0.001, (0.0, 0.0), 10.0, (8.0,), (2000.0,),
        start_delay_s=0.05,
    ),
    "medium": TierRanges(
        (0.012, 0.02), (0.002, 0.0035), 0.15, 0.01, 0.0005, 0.00005, 0.01, 0.005,
        (0.6, 0.9), 0.0003, 0.01, 3.0, 0.03, 50.0, 0.003, (-20.0, 600.0), 30.0, (8.0, 16.0),
        (1000.0, 2000.0), start_delay_s=0.3,
    ),
    "hard": TierRanges(
        (0.02, 0.03), (0.0035, 0.005), 0.3, 0.03, 0.001, 0.0001, 0.02, 0.01,
        (0.9, 1.2), 0.001, 0.04, 8.0, 0.05, 100.0, 0.01, (-3000.0, 300000.0), None,
        (8.0, 16.0), (1000.0, 2000.0), start_delay_s=1.0, dropout_prob=0.3,
    ),
}
# fmt: on
