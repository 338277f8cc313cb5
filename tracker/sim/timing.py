"""Sensor clocks, sample instants, timestamp jitter and bursty packet loss.

Simulation time t (s) is the physical time; the recording timeline is the lumbar (or
single) sensor's clock, ``tau = clock_start + t``. The other sensor's clock reads
``clock_start + offset + t (1 + drift)``. Each IMU's output data rate comes from its own
oscillator, so the true sample spacing differs from the nominal rate by ``rate_error``;
the device timestamps show that spacing (plus jitter).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ClockParams:
    start_s: float  # timeline clock reading at simulation time 0
    offset_s: float  # this clock minus the timeline clock at simulation time 0
    drift_ppm: float  # this clock's rate error vs the timeline clock
    rate_hz: float  # nominal output data rate
    rate_error: float  # true ODR = rate_hz * (1 + rate_error)
    first_sample_s: float  # simulation time of the first sample
    jitter_s: float  # SD of the timestamp jitter
    samples_per_packet: int
    loss_rate: float
    burst_packets: float

    def as_dict(self) -> dict[str, float]:
        return dict(self.__dict__)

    def device_time(self, t_sim_s: np.ndarray) -> np.ndarray:
        return self.start_s + self.offset_s + t_sim_s * (1.0 + 1e-6 * self.drift_ppm)

    def sim_time(self, device_s: np.ndarray) -> np.ndarray:
        return (device_s - self.start_s - self.offset_s) / (1.0 + 1e-6 * self.drift_ppm)


def sample_instants(
    clock: ClockParams, rng: np.random.Generator, end_sim_s: float
) -> tuple[np.ndarray, np.ndarray]:
    """(simulation times, reported device timestamps) of every sample taken."""
    period = 1.0 / (clock.rate_hz * (1.0 + clock.rate_error))
    dev0 = clock.device_time(np.array([clock.first_sample_s]))[0]
    dev_end = clock.device_time(np.array([end_sim_s]))[0]
    n = int(np.floor((dev_end - dev0) / period)) + 1
    dev = dev0 + period * np.arange(n)
    t_sim = clock.sim_time(dev)
    # Jitter is bounded well inside a period so timestamps stay strictly increasing.
    jit = np.clip(rng.standard_normal(n) * clock.jitter_s, -0.2 * period, 0.2 * period)
    return t_sim, dev + jit


def packet_loss_mask(clock: ClockParams, rng: np.random.Generator, n_samples: int) -> np.ndarray:
    """True for samples that arrive. Gilbert-Elliott: sparse random losses in the good
    state, whole runs of packets lost in the bad state (bursts)."""
    n_packets = -(-n_samples // clock.samples_per_packet)
    keep = np.ones(n_packets, dtype=bool)
    u_iso = rng.random(n_packets)
    if clock.loss_rate > 0:
        iso_rate = 0.2 * clock.loss_rate
        keep &= u_iso >= iso_rate
        burst_rate = clock.loss_rate - iso_rate
        if clock.burst_packets >= 1.0 and burst_rate > 0:
            p_leave_bad = 1.0 / clock.burst_packets
            p_enter_bad = burst_rate * p_leave_bad / (1.0 - burst_rate)
            pos = 0
            bad = False
            while pos < n_packets:
                run = int(rng.geometric(p_leave_bad if bad else p_enter_bad))
                if bad:
                    keep[pos : pos + run] = False
                pos += run
                bad = not bad
    keep[0] = True  # the recording starts with a sample
    return np.repeat(keep, clock.samples_per_packet)[:n_samples]
