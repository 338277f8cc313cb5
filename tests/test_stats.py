"""`tracker.analysis.stats.median` gives numpy's median bit for bit."""

import math
import random

import numpy as np

from tracker.analysis.stats import median

SPECIAL = [0.1, 0.2, 1 / 3, -0.0, 0.0, 5e-324, 1e308, -1e308, math.inf, -math.inf]


def _bits(x: float) -> int:
    return int(np.float64(x).view(np.int64))


def test_median_equals_numpy_bit_for_bit():
    rng = random.Random(7)
    for trial in range(20000):
        n = rng.randint(1, 12)
        if trial % 3 == 0:
            xs = [rng.uniform(-100.0, 100.0) for _ in range(n)]
        elif trial % 3 == 1:
            xs = [rng.randint(-5000, 5000) for _ in range(n)]  # sample counts
        else:
            xs = [rng.choice(SPECIAL) for _ in range(n)]
        with np.errstate(all="ignore"):
            expected = float(np.median(xs))
        got = median(xs)
        assert _bits(got) == _bits(expected) or (math.isnan(got) and math.isnan(expected)), xs


def test_median_of_nan_or_nothing_is_nan():
    assert math.isnan(median([1.0, math.nan, 2.0]))
    assert math.isnan(median([]))
