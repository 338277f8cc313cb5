"""Edits of a simulated recording that real recordings suffer: started late (mid-set,
mid-walk), a sensor re-clipped in another orientation part-way through."""

from __future__ import annotations

import dataclasses

import numpy as np

from tracker.recording.model import Recording
from tracker.samples import SensorSamples


def crop(recording: Recording, start_s: float, end_s: float = np.inf) -> Recording:
    """The recording from ``start_s`` to ``end_s`` (seconds on each sensor's own clock:
    the clocks of a simulated pair differ by tens of ms at most, under a sample of a
    rep)."""
    sensors = {}
    for p, s in recording.sensors.items():
        i, j = np.searchsorted(s.time_s, [start_s, end_s])
        sensors[p] = s.slice(int(i), int(j))
    return dataclasses.replace(recording, sensors=sensors, gaps=[])


def reclip(recording: Recording, placement: str, from_s: float, rotation: np.ndarray) -> Recording:
    """The ``placement`` sensor turned by ``rotation`` (3x3, old sensor frame -> new) on
    its body from ``from_s`` on: its samples are seen in the new frame."""
    s = recording.sensors[placement]
    i = int(np.searchsorted(s.time_s, from_s))
    acc = s.acc_mps2.copy()
    gyro = s.gyro_rad_s.copy()
    acc[i:] = acc[i:] @ rotation.T
    gyro[i:] = gyro[i:] @ rotation.T
    sensors = dict(recording.sensors)
    sensors[placement] = SensorSamples(placement, s.time_s, acc, gyro)
    return dataclasses.replace(recording, sensors=sensors)
