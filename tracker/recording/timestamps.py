"""Timestamps as real logs write them: one sensor's times mended, or one clear error.

Every reader (samples CSV, native recordings, phone imports) passes each sensor's rows
through `mend_timestamps` before it builds `SensorSamples`. Real logs repeat timestamps
(samples stamped on arrival share a notification's time; rounding to 6 decimals ties
two jittered samples) and step back by less than a sample period (arrival jitter). The
rules (DESIGN 4.1, docs/samples-csv.md "Timestamps"):

1. Exact duplicate rows (same time and same values as an earlier row) are dropped.
2. Samples that share a timestamp with the sample before them are kept, and the times of
   such a run are spread evenly up to the next distinct time (at most one sample period
   apart, so a tie just before a gap is not stretched across the gap).
3. A backward step shorter than `MAX_JITTER_BACK_PERIODS` sample periods is jitter and
   is mended like a tie: the sample keeps its place in the file and gets a spread time.
4. A longer backward step (a clock that jumps back or restarts) is an error naming the
   row, never mended silently.

The sample period is measured from the data: the median over runs of (step to the next
distinct time / samples in the run), which is the median positive step when nothing
is tied, and the true period when every notification's samples share a time.
Each kind of mend is counted; `mend_notes` turns the counts into one line per kind for
`Recording.input_notes`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from tracker.errors import InputError
from tracker.limits import MAX_ABS_TIME_S
from tracker.samples import SensorSamples

#: Backward steps shorter than this many sample periods are arrival jitter: a sample
#: stamped late by up to about one period, next to one stamped early, steps back by
#: less than two periods. Anything longer is a clock that jumped back or restarted.
MAX_JITTER_BACK_PERIODS = 2.0


@dataclass(frozen=True)
class MendedTimes:
    """One sensor's mended timestamps and what was done to them.

    ``index`` selects the input rows that are kept, in their new order (None: all rows,
    as they were); ``time_s`` are the kept rows' times, strictly increasing.
    """

    index: np.ndarray | None
    time_s: np.ndarray
    duplicates: int = 0
    ties: int = 0
    reversals: int = 0
    reordered: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.duplicates or self.ties or self.reversals or self.reordered)

    def take(self, values: np.ndarray) -> np.ndarray:
        """``values`` (one row per input row) for the kept rows, in their new order."""
        return values if self.index is None else values[self.index]


def mend_timestamps(
    time_s: np.ndarray,
    values: Sequence[np.ndarray],
    *,
    name: str,
    source: str,
    where: Callable[[int], str],
    sort: bool = False,
) -> MendedTimes:
    """Mend one sensor's ``time_s`` (see the module docstring) or raise `InputError`.

    ``values`` are the rows' other columns (arrays with one row per sample), compared to
    find exact duplicates. ``name`` is the sensor as the messages call it, ``source`` the
    file; ``where(i)`` names input row ``i`` in it for an error (``"line 12"``).
    ``sort``: the rows are first put in time order (phone apps stamp samples with the
    sensor's own event time and flush buffered batches late, so their file order is not
    the sample order); no reversal can then remain. A time that is not finite or lies
    beyond `MAX_ABS_TIME_S` is an `InputError` (no sum or difference of such times can
    be trusted). Pure: the inputs are not changed.
    """
    t = np.asarray(time_s, dtype=np.float64)
    n = len(t)
    # (min and max first: the common case in two passes, without a temporary array)
    if n and not (t.min() >= -MAX_ABS_TIME_S and t.max() <= MAX_ABS_TIME_S):
        i = int(np.flatnonzero(~(np.abs(t) <= MAX_ABS_TIME_S))[0])  # (NaN fails the test too)
        raise InputError(
            f"{source} {where(i)}: {name} time {float(t[i]):g} s is not a time on a sensor's clock "
            f"(at most {MAX_ABS_TIME_S:g} s in size, MAX_ABS_TIME_S); fix or remove the row"
        )
    if n < 2 or bool((t[1:] > t[:-1]).all()):
        return MendedTimes(None, t)
    index = np.arange(n)
    reordered = 0
    if sort:
        reordered = int(np.count_nonzero(np.diff(t) < 0))
        if reordered:
            index = np.argsort(t, kind="stable")
            t = t[index]
    keep = ~_exact_duplicates(t, [np.asarray(v)[index] for v in values])
    duplicates = int(n - np.count_nonzero(keep))
    if duplicates:
        t, index = t[keep], index[keep]
    n = len(t)
    running_max = np.maximum.accumulate(t)
    ahead = np.ones(n, dtype=bool)
    ahead[1:] = t[1:] > running_max[:-1]
    if ahead.all():
        return MendedTimes(index, t, duplicates=duplicates, reordered=reordered)

    # A run: a sample ahead of everything before it, and the samples after it that are not.
    starts = np.flatnonzero(ahead)
    sizes = np.diff(np.append(starts, n))
    if len(starts) < 2:
        raise InputError(
            f"{source} {where(int(index[1]))}: every {name} timestamp from here on is the "
            f"same as or earlier than the first ({t[0]:.6f} s); the times carry no "
            f"sample period"
        )
    per_sample_s = (t[starts[1:]] - t[starts[:-1]]) / sizes[:-1]
    period_s = float(np.median(per_sample_s))
    if not period_s > 0:  # (steps so small that they vanish in the division)
        raise InputError(
            f"{source} {where(int(index[1]))}: the {name} timestamps step by less than "
            f"float precision resolves ({period_s:g} s per sample); they carry no sample "
            f"period"
        )
    back_s = np.zeros(n)
    back_s[1:] = running_max[:-1] - t[1:]
    gross = np.flatnonzero(back_s > MAX_JITTER_BACK_PERIODS * period_s)
    if len(gross):
        i = int(gross[0])
        anchor = int(starts[np.searchsorted(starts, i, side="right") - 1])
        raise InputError(
            f"{source} {where(int(index[i]))}: {name} time goes back {back_s[i]:.6g} s "
            f"({back_s[i] / period_s:.1f} sample periods), to {t[i]:.6f} s after "
            f"{t[anchor]:.6f} s ({where(int(index[anchor]))}); a clock that jumps back "
            f"or restarts cannot be mended: split the recording there or fix its times"
        )
    ties = int(np.count_nonzero(~ahead & (back_s == 0)))
    reversals = int(np.count_nonzero(~ahead & (back_s > 0)))

    # Spread each run from its first time up to the next run's, at most a period apart.
    next_s = np.append(t[starts[1:]], np.inf)
    step_s = np.minimum((next_s - t[starts]) / sizes, period_s)
    run = np.repeat(np.arange(len(starts)), sizes)
    offset = np.arange(n) - starts[run]
    mended = t[starts][run] + offset * step_s[run]
    bad = np.flatnonzero(np.diff(mended) <= 0)
    if len(bad):
        i = int(bad[0]) + 1
        raise InputError(
            f"{source} {where(int(index[i]))}: {name} timestamps near {t[i]:.6f} s are "
            f"too close together to be told apart; write times with more digits"
        )
    return MendedTimes(
        index,
        mended,
        duplicates=duplicates,
        ties=ties,
        reversals=reversals,
        reordered=reordered,
    )


def _exact_duplicates(t: np.ndarray, values: Sequence[np.ndarray]) -> np.ndarray:
    """Mask of rows whose time and values equal an earlier row's (the first is kept)."""
    n = len(t)
    dup = np.zeros(n, dtype=bool)
    order = np.argsort(t, kind="stable")
    same = t[order][1:] == t[order][:-1]
    if not same.any():
        return dup
    in_tie = np.zeros(n, dtype=bool)
    in_tie[1:] |= same
    in_tie[:-1] |= same
    rows = np.sort(order[in_tie])  # rows sharing their time with another, in file order
    cols = [t[rows]] + [c for v in values for c in np.asarray(v)[rows].reshape(len(rows), -1).T]
    # Sort by every column, file order last: identical rows become neighbours, the
    # earliest first.
    by = np.lexsort([np.arange(len(rows)), *reversed(cols)])
    equal = np.ones(len(rows) - 1, dtype=bool)
    for c in cols:
        equal &= c[by][1:] == c[by][:-1]
    dup[rows[by][1:][equal]] = True
    return dup


_KINDS = (
    ("duplicates", "dropped {n} exact duplicate row{s} (same time and values as an earlier row)"),
    (
        "ties",
        "spread {n} sample{s} that shared a timestamp evenly up to the next distinct time",
    ),
    (
        "reversals",
        "mended {n} backward time step{s} shorter than "
        f"{MAX_JITTER_BACK_PERIODS:g} sample periods (jitter) like repeated timestamps",
    ),
    ("reordered", "put {n} row{s} that came earlier than the row before back in time order"),
)


def mend_notes(mended: Mapping[str, MendedTimes]) -> list[str]:
    """One line per kind of mend, with the count per sensor (``mended`` keyed by name)."""
    lines = []
    for kind, text in _KINDS:
        counts = {name: getattr(m, kind) for name, m in mended.items() if getattr(m, kind)}
        if not counts:
            continue
        total = sum(counts.values())
        each = ", ".join(f"{name} {c}" for name, c in counts.items())
        lines.append(f"timestamps: {text.format(n=total, s='' if total == 1 else 's')} ({each})")
    return lines


def mend_samples(
    samples: SensorSamples, *, source: str, where: Callable[[int], str]
) -> tuple[SensorSamples, MendedTimes]:
    """`mend_timestamps` for samples already in a `SensorSamples` (file order)."""
    m = mend_timestamps(
        samples.time_s,
        (samples.acc_mps2, samples.gyro_rad_s),
        name=samples.placement,
        source=source,
        where=where,
    )
    if not m.changed:
        return samples, m
    acc, gyro = m.take(samples.acc_mps2), m.take(samples.gyro_rad_s)
    return SensorSamples(samples.placement, m.time_s, acc, gyro), m
