"""Shared by the protocol decoder tests: hex vectors, hypothesis settings, and the rule
that a decoder given any bytes either decodes them or raises `DecodeError`."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from hypothesis import HealthCheck, settings

from tracker.devices.base import DecodeError

#: Fuzzing: many cases, no deadline (a slow CI machine is not a finding).
fuzz = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
#: Encode -> decode round trips: fewer cases, each is a full encoder run.
roundtrip = settings(max_examples=150, deadline=None)


def h(text: str) -> bytes:
    """Bytes from hex as vendor documents print them (``"01 63 01 FB"``)."""
    return bytes.fromhex(text)


def only_decode_errors(decoders: Iterable[Callable[[bytes], object]], payload: bytes) -> None:
    """Feed ``payload`` to each decoder: it may decode it or raise `DecodeError`, and any
    other exception fails the test."""
    for decode in decoders:
        try:
            decode(payload)
        except DecodeError:
            pass


def flipped(seed: bytes, flips: Iterable[tuple[int, int]]) -> bytes:
    """``seed`` with byte ``pos % len(seed)`` set to ``value`` for each (pos, value)."""
    b = bytearray(seed)
    for pos, value in flips:
        b[pos % len(b)] = value
    return bytes(b)
