"""The fitted model of the set rules: its file, what its features do, and the docs'
table of it."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest

from tracker.analysis.models import (
    MODEL_FILES,
    YES_PROBABILITY,
    LogisticModel,
    PairFeatures,
    model,
)

ROOT = Path(__file__).resolve().parents[1]

#: Two reps alike: same size, turn, tempo and holds, a breather after the first.
ALIKE = PairFeatures(
    amplitude_log_ratio=0.0,
    turn_gap_share=0.0,
    duration_log_ratio=0.0,
    turn_hold_gap_s=0.0,
    turn_hold_log_ratio=0.0,
    rest_after_share=0.2,
    rest_after_gap_s=0.0,
    down_log_ratio=0.0,
    knee_drop_gap_m=0.0,
    amplitude_deg=50.0,
)


@pytest.mark.parametrize("name", sorted(MODEL_FILES))
def test_each_model_file_matches_its_features(name):
    m = model(name)
    assert m.names == tuple(f.name for f in dataclasses.fields(MODEL_FILES[name][1]))
    assert len(m.mean) == len(m.scale) == len(m.weights) == len(m.names)
    assert all(s > 0 for s in m.scale)
    assert "own simulator" in m.fitted_on


def test_a_file_with_other_features_is_refused():
    d = json.loads((ROOT / "tracker/analysis/opening_model.json").read_text())
    d["features"] = d["features"][::-1]
    with pytest.raises(ValueError, match="differ"):
        LogisticModel.from_dict(d, PairFeatures)


def test_two_reps_alike_open_a_set():
    assert model("opening").probability(ALIKE) >= YES_PROBABILITY


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"duration_log_ratio": 0.9}, "one takes 2.5 times as long"),
        ({"turn_hold_gap_s": 2.0, "turn_hold_log_ratio": 2.0}, "the first holds its turn 2 s"),
    ],
)
def test_each_strong_difference_alone_keeps_a_set_from_opening(change, why):
    m = model("opening")
    f = dataclasses.replace(ALIKE, **change)
    assert m.probability(f) < YES_PROBABILITY, why
    # ... and the explanation names it.
    assert next(iter(change)).replace("_", " ") in m.against(f)


@pytest.mark.parametrize(
    "name", ["amplitude_log_ratio", "duration_log_ratio", "turn_hold_gap_s", "turn_hold_log_ratio"]
)
def test_a_bigger_difference_never_makes_a_set_likelier(name):
    m = model("opening")
    ps = [m.probability(dataclasses.replace(ALIKE, **{name: x})) for x in (0.0, 0.3, 0.6, 1.2)]
    assert ps == sorted(ps, reverse=True)
    assert ps[0] > ps[-1]


@pytest.mark.parametrize("name", sorted(MODEL_FILES))
def test_the_docs_table_is_the_model_file(name):
    m = model(name)
    text = (ROOT / "docs/analysis.md").read_text()
    table = text.split(f"<!-- {name}-model -->", 1)[1].split(f"<!-- /{name}-model -->", 1)[0]
    rows = re.findall(
        r"^\s*\| `(\w+)` \| ([-+]\d+\.\d+) \| ([-\d.e]+) \| ([-\d.e]+) \|", table, re.M
    )
    assert [r[0] for r in rows] == list(m.names)
    for (_, w, mean, scale), mw, mm, ms in zip(rows, m.weights, m.mean, m.scale, strict=True):
        assert float(w) == pytest.approx(mw, abs=0.005)
        assert float(mean) == pytest.approx(mm, rel=0.01, abs=1e-3)
        assert float(scale) == pytest.approx(ms, rel=0.01, abs=1e-3)
    bias = re.search(r"\| bias \| ([-+]\d+\.\d+) \|", table)
    assert bias is not None and float(bias.group(1)) == pytest.approx(m.bias, abs=0.005)
