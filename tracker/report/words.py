"""Small pieces of English shared by every text the tool prints."""

from __future__ import annotations


def plural(n: int, noun: str) -> str:
    """``1 set``, ``2 sets``, ``0 reps``."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def sets_and_reps(n_sets: int, n_reps: int) -> str:
    """``1 set, 6 reps``."""
    return f"{plural(n_sets, 'set')}, {plural(n_reps, 'rep')}"
