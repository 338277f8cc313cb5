"""Independent, named random streams of a session, all derived from its seed."""

from __future__ import annotations

import numpy as np

from tracker.units import PLACEMENTS

# Independent random streams, so switching one imperfection off changes nothing else.
_STREAM = {
    "body": 1,
    "plan": 2,
    "sway": 3,
    "clock": 4,
    "mount": 5,
    "errors": 6,
    "tissue": 7,
    "samples": 8,
    "loss": 9,
    "noise": 10,
    "form": 11,
}


def stream(seed: int, name: str, placement: str | None = None) -> np.random.Generator:
    """The generator of stream ``name`` (for ``placement``, if per sensor) of a session."""
    key = [seed, _STREAM[name]]
    if placement is not None:
        key.append(PLACEMENTS.index(placement) + 1)
    return np.random.default_rng(key)
