"""The fitted model of the set rules: does a pair of movements open a set?

A set is periodic: its reps are alike, while a pick-up, a sit-down, a stretch or a walk
differs from what follows it. How alike the first two reps must be is not a matter of
one threshold per feature: a first rep after unracking may go 40% deeper than the second
yet at the same tempo, while a pick-up goes to the floor and holds there to grip. So the
comparison is one logistic model over the standardised features of `PairFeatures`
(units in their names), whose parameters live in ``opening_model.json`` beside this
module and are regenerated from labelled movement pairs by ``bench/fit_models.py`` (the
file says what it was fitted on). At run time it is plain arithmetic; the features'
contributions are the evidence, in words, for ``tracker summary --explain``. Hard
physical conditions stay outside the model (`RepSegmenter._not_opening`): both
movements rep-shaped, no more than a breather between them, no sitting or walking in
it, no much longer grip at the first one's turn. `MODEL_FILES` names every model, so
that the judging of later movements can follow the same way.
"""

from __future__ import annotations

import json
import math
from dataclasses import astuple, dataclass, fields
from functools import cache
from importlib import resources
from typing import Any

#: Probability from which a model says yes: it is fitted to be calibrated, so even odds.
YES_PROBABILITY = 0.5


@dataclass(frozen=True)
class PairFeatures:
    """How the first of two consecutive movements compares with the second (each out of
    a rest and back). "Turn" is the angle where a movement turns back, "amplitude" the
    smaller of its two halves."""

    #: |ln(amplitude 1 / amplitude 2)|: how much further one moves than the other.
    amplitude_log_ratio: float
    #: |turn 1 - turn 2| / the smaller amplitude: where they turn, for their size.
    turn_gap_share: float
    #: |ln(duration 1 / duration 2)|: how much longer one takes.
    duration_log_ratio: float
    #: Stillness at the first one's turn minus at the second's (s): gripping a weight
    #: holds the turn, a rep passes through it.
    turn_hold_gap_s: float
    #: ln((hold 1 + 0.1 s) / (hold 2 + 0.1 s)) at the turns: the same as a ratio, which
    #: does not make much of holds shorter than a stillness is measured to (0.1 s).
    turn_hold_log_ratio: float
    #: Stillness after the first one over its duration: a breather, or setting up.
    rest_after_share: float
    #: Stillness after the first one minus after the second (s): setting up after a
    #: pick-up takes longer than the breather between reps.
    rest_after_gap_s: float
    #: ln(way down 1 / way down 2): lowering to pick up is slower than the set's
    #: eccentric, or faster.
    down_log_ratio: float
    #: The first one's drop of the hips on the way down, beyond the hinge, minus the
    #: second's (m, 0 without a vertical measure): bending the knees to reach the floor.
    knee_drop_gap_m: float
    #: The first one's amplitude (deg).
    amplitude_deg: float


@dataclass(frozen=True)
class LogisticModel:
    names: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    bias: float
    #: What the model was fitted on, for the record.
    fitted_on: str

    @classmethod
    def from_dict(cls, d: dict[str, Any], features: type) -> LogisticModel:
        names = tuple(d["features"])
        expected = tuple(f.name for f in fields(features))
        if names != expected:
            raise ValueError(f"model features {names} differ from {features.__name__}")
        return cls(
            names,
            tuple(map(float, d["mean"])),
            tuple(map(float, d["scale"])),
            tuple(map(float, d["weights"])),
            float(d["bias"]),
            str(d.get("fitted_on", "")),
        )

    def contributions(self, f: PairFeatures) -> list[float]:
        """Each feature's share of the log-odds of yes (standardised times weight)."""
        return [
            w * (x - m) / s
            for x, m, s, w in zip(astuple(f), self.mean, self.scale, self.weights, strict=True)
        ]

    def probability(self, f: PairFeatures) -> float:
        z = self.bias + sum(self.contributions(f))
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))

    def against(self, f: PairFeatures, n: int = 2) -> str:
        """The ``n`` features that weighed most against yes, in words."""
        pairs = sorted(zip(self.contributions(f), self.names, astuple(f), strict=True))
        words = [f"{name.replace('_', ' ')} {value:.2f}" for c, name, value in pairs[:n] if c < 0]
        return ", ".join(words) or "no single feature"


#: Each model's file beside this module, and its features.
MODEL_FILES = {"opening": ("opening_model.json", PairFeatures)}


@cache
def model(name: str) -> LogisticModel:
    """The fitted model ``name`` (a key of `MODEL_FILES`)."""
    file, features = MODEL_FILES[name]
    text = resources.files("tracker.analysis").joinpath(file).read_text()
    return LogisticModel.from_dict(json.loads(text), features)
