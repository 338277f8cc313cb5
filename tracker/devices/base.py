"""Types shared by the protocol decoders.

Decoders are pure functions or small state machines ``bytes -> DecodedPacket`` with no
I/O. Values are in the sensor frame of docs/frames.md: m/s^2 and rad/s.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tracker.errors import TrackerError


class DecodeError(TrackerError):
    """A payload that does not follow its protocol (truncated, oversized, bad field)."""


@dataclass(frozen=True, eq=False)
class DecodedPacket:
    """Samples carried by one notification.

    ``device_time_s`` holds one time per sample on the device clock (seconds). A protocol
    that streams accelerometer and gyroscope separately leaves the other one ``None``.
    ``seq`` is the packet sequence counter when the protocol has one.
    """

    device_time_s: np.ndarray
    acc_mps2: np.ndarray | None = None
    gyro_rad_s: np.ndarray | None = None
    seq: int | None = None

    def __len__(self) -> int:
        return len(self.device_time_s)
