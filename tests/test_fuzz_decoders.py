"""A short fuzz run in the default tests: every decoder, fixed seeds, no traceback allowed.

The same generators and targets as bench/fuzz.py (tests/fuzz_inputs.py), a few hundred
cases per target instead of a million. A case passes when its entry points return or
raise a `TrackerError`; any other exception (or warning, or output the next stage cannot
use) fails the test with the command that reruns the case.
"""

from __future__ import annotations

import traceback

import pytest
from fuzz_inputs import TARGETS, TrackerError, run_checked

#: Fixed seed: the default run always feeds the same cases (bench/fuzz.py --seed explores).
SEED = 15
CASES_PER_TARGET = 500


@pytest.mark.parametrize("target", TARGETS)
def test_no_traceback_from_hostile_input(target, tmp_path):
    findings = []
    outcomes = {"ok": 0, "project error": 0}
    for index in range(CASES_PER_TARGET):
        _case, exc = run_checked(target, SEED, index, tmp_path)
        if exc is None:
            outcomes["ok"] += 1
        elif isinstance(exc, TrackerError):
            outcomes["project error"] += 1
        else:
            where = traceback.extract_tb(exc.__traceback__)[-1]
            findings.append(
                f"#{index} {type(exc).__name__} at {where.filename}:{where.lineno}: {exc} "
                f"(rerun: python bench/fuzz.py --target {target} --seed {SEED} --replay {index})"
            )
    assert not findings, f"{len(findings)} non-project exceptions:\n" + "\n".join(findings[:10])
    # The generators must reach past the first check (valid inputs that load or stream)
    # and still be hostile (inputs that are refused): a fuzzer doing only one is blind.
    share_ok = outcomes["ok"] / CASES_PER_TARGET
    share_refused = outcomes["project error"] / CASES_PER_TARGET
    assert share_ok >= 0.05, outcomes
    assert share_refused >= 0.05, outcomes
