"""Numbers as the outputs write them: no "-0.0" in any of them."""

from __future__ import annotations

from tracker.history.trends import WeekTrend, format_trends_csv
from tracker.numbers import fixed


def test_a_value_rounding_to_zero_has_no_sign():
    assert fixed(-0.04, 1) == "0.0"
    assert fixed(-0.0, 0) == "0"
    assert fixed(-0.06, 1) == "-0.1"
    assert fixed(31.25, 1) == "31.2" and fixed(7.0, 2) == "7.00"
    assert fixed(None) == "" and fixed(None, 1, missing="-") == "-"


def test_the_trends_csv_writes_a_slightly_negative_mean_as_zero():
    # A week whose mean lumbar flexion is just below neutral (extended backs).
    t = WeekTrend("squat", "2026-W07", 2, 20, 0.0, 0.3, -0.04, 31.0, 2.5)
    row = format_trends_csv([t]).splitlines()[1].split(",")
    assert "-0.0" not in row
    assert row[6] == "0.0"
