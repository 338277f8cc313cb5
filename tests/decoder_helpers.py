"""Shared by the protocol decoder tests: hex vectors, hypothesis settings, and the rule
that a decoder given any bytes either decodes them or raises `DecodeError`."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from tracker.devices.base import DecodeError

#: Fuzzing: many cases, no deadline (a slow CI machine is not a finding).
fuzz = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
#: Encode -> decode round trips: fewer cases, each is a full encoder run.
roundtrip = settings(max_examples=150, deadline=None)


#: Any JSON document, small: for the JSON decoders' fuzz tests.
JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


def json_bodies(*shaped: st.SearchStrategy[bytes]) -> st.SearchStrategy[bytes]:
    """HTTP bodies for a JSON decoder: any bytes, any JSON, and ``shaped`` (documents
    near the format, which reach past its first checks)."""
    return st.one_of(
        st.binary(max_size=200), JSONISH.map(lambda d: json.dumps(d).encode()), *shaped
    )


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
