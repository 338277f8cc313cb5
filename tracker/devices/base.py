"""Types shared by the protocol decoders.

Decoders are pure functions or small state machines ``bytes -> DecodedPacket`` with no
I/O. Values are in the sensor frame of docs/frames.md: m/s^2 and rad/s.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import numpy as np

from tracker.errors import TrackerError


class DecodeReason(Enum):
    """Why a payload was refused, as data: a stream counts each kind on its own."""

    #: Shorter than its protocol says (cut off on the way, or empty).
    TRUNCATED = "truncated"
    #: Longer than its protocol says, or than any attribute can be.
    OVERSIZED = "oversized"
    #: The right size, but a field the protocol does not allow (or out of sequence).
    INVALID = "invalid"


class DecodeError(TrackerError):
    """A payload that does not follow its protocol; ``reason`` says how."""

    def __init__(self, message: str, reason: DecodeReason = DecodeReason.INVALID) -> None:
        super().__init__(message)
        self.reason = reason

    def __reduce__(self) -> tuple[type[DecodeError], tuple[str, DecodeReason]]:
        # (Pickled with its reason: an exception pickles only its args by default.)
        return type(self), (str(self), self.reason)


def length_reason(got: int, expected: int) -> DecodeReason:
    """TRUNCATED or OVERSIZED for a payload of ``got`` bytes where ``expected`` belong."""
    return DecodeReason.TRUNCATED if got < expected else DecodeReason.OVERSIZED


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
