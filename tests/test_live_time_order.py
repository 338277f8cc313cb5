"""Live blocks whose times step back (a packet sent twice, a device clock jitter) lose
only those samples, never the recording."""

import numpy as np

from tracker.app.live import in_time_order
from tracker.samples import SensorSamples


def _block(times_s: list[float]) -> SensorSamples:
    n = len(times_s)
    acc = np.tile([0.0, 0.0, 9.81], (n, 1)) + np.arange(n)[:, None]
    return SensorSamples("lumbar", np.array(times_s), acc, np.zeros((n, 3)))


def test_a_block_in_time_order_is_kept_whole():
    b = _block([1.0, 1.01, 1.02])
    kept, dropped = in_time_order(b, 0.99)
    assert kept is b and dropped == 0


def test_samples_at_or_before_earlier_ones_are_left_out():
    # A re-sent packet (times up to the last one taken), then a tie and a step back
    # inside the block.
    kept, dropped = in_time_order(_block([0.98, 1.00, 1.01, 1.01, 1.005, 1.02]), 1.00)
    assert dropped == 4
    assert kept.time_s.tolist() == [1.01, 1.02]
    assert kept.acc_mps2[:, 0].tolist() == [2.0, 5.0]  # each sample keeps its own values


def test_the_first_block_has_nothing_before_it():
    kept, dropped = in_time_order(_block([5.0, 4.0, 6.0]), None)
    assert kept.time_s.tolist() == [5.0, 6.0] and dropped == 1


def test_a_block_all_in_the_past_leaves_nothing():
    kept, dropped = in_time_order(_block([0.5, 0.6]), 1.0)
    assert len(kept) == 0 and dropped == 2
