"""Sessions and reps as the history database stores them, made by hand for its tests."""

from __future__ import annotations

from tracker.analysis.events import RepMetrics
from tracker.history.store import SessionData


def stored_rep(i, exercise="deadlift", flex=20.0, flagged=False, depth=60.0, dur=2.0):
    """Rep ``i`` of set 1, ``dur`` seconds from ``10 * i`` s, dual-sensor metrics."""
    return RepMetrics(
        1,
        i,
        exercise,
        10.0 * i,
        10.0 * i + dur,
        depth,
        flex,
        0.0,
        flagged,
        False,
        0.3,
        dur / 2,
        dur / 2,
        150.0,
        False,
    )


def stored_session(fp, utc="2026-02-10T09:00:00Z", reps=None, source="x.trk"):
    """A dual-sensor session of fingerprint ``fp`` (two reps unless ``reps`` given)."""
    reps = reps if reps is not None else [stored_rep(1), stored_rep(2)]
    return SessionData(fp, source, utc, ("lumbar", "sacrum"), 60.0, 36.0, 10.0, tuple(reps))
