"""Daily-life benchmark: reps counted where nobody lifts (walking, stairs, jogging, ...).

    python bench/daily.py [--jobs N] [--sessions N] [--seed-base N] [--verbose]

Simulates a seeded suite of daily-life sessions (`tracker.sim.daily`: no lifting at all,
about 100 minutes in total by default), runs each through the analysis as
`bench/accuracy.py` does, and prints false reps per hour by activity kind and by sensor
setup (dual, lumbar, sacrum) and overall, false sets, and the recordings the analysis
refused (a walk is no error: it must be analysed, with 0 reps). Each reported rep is
put down to the activity it overlaps most. Transitions and pick-ups are short, so they
are also given per 100 of them.

The suite cycles through themes (walking at three speeds, stairs, jogging, sitting down
and standing up, pick-up bends, a mix), setups, tiers and sample rates of 50-200 Hz;
in every other round of the themes the single sensor is a phone in a belt pouch (100 Hz,
loose).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter, defaultdict
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tracker.analysis.settings import AnalysisSettings
from tracker.app.offline import analyse_recording
from tracker.errors import TrackerError
from tracker.sim import SessionConfig, simulate_session
from tracker.sim.daily import Bout
from tracker.units import LUMBAR, SACRUM

THEMES = ("walking", "stairs", "jogging", "transitions", "bends", "mixed")
SETUPS = ("dual", "lumbar", "sacrum")
TIERS = ("medium", "hard", "easy")
RATES_HZ = (50.0, 52.0, 100.0, 104.0, 119.0, 200.0, 208.0)
#: Length of one session (s): a few minutes of one theme.
SESSION_S = 330.0
#: Event kinds that are moments rather than stretches: also counted per 100 of them.
MOMENTS = ("stand_to_sit", "sit_to_stand", "pick_up")


def _bouts(theme: str, rng: np.random.Generator) -> tuple[Bout, ...]:
    """Bouts of one theme adding up to about `SESSION_S`."""
    out: list[Bout] = []
    total = 0.0

    def add(kind: str, amount: float = 0.0, length_s: float | None = None) -> None:
        nonlocal total
        out.append(Bout(kind, float(amount)))
        total += (amount if length_s is None else length_s) + 2.5

    while total < SESSION_S:
        if theme == "walking":
            add(str(rng.choice(["walk_slow", "walk", "walk_brisk"])), rng.uniform(15.0, 90.0))
            if rng.random() < 0.3:
                add("shift", rng.uniform(3.0, 10.0))
        elif theme == "stairs":
            add("walk", rng.uniform(5.0, 20.0))
            for _ in range(int(rng.integers(1, 4))):
                n = int(rng.integers(8, 17))
                add("stairs_up", n, n / 1.7)
                add("walk_slow", rng.uniform(3.0, 6.0))  # the landing
            add("walk", rng.uniform(5.0, 20.0))
            for _ in range(int(rng.integers(1, 4))):
                n = int(rng.integers(8, 17))
                add("stairs_down", n, n / 1.8)
                add("walk_slow", rng.uniform(3.0, 6.0))
        elif theme == "jogging":
            add(str(rng.choice(["jog", "jog", "jog_in_place"])), rng.uniform(20.0, 120.0))
            add(str(rng.choice(["walk", "walk_brisk", "stand"])), rng.uniform(5.0, 30.0))
        elif theme == "transitions":
            seated = rng.uniform(5.0, 60.0)
            add("sit", seated, seated + 3.0)
            add(str(rng.choice(["stand", "walk_slow", "walk", "shift"])), rng.uniform(3.0, 20.0))
        elif theme == "bends":
            add("pick_up", length_s=4.0)
            add(str(rng.choice(["stand", "walk_slow", "walk", "shift"])), rng.uniform(3.0, 15.0))
        else:
            kind = str(
                rng.choice(
                    ["walk_slow", "walk", "walk_brisk", "stairs_up", "stairs_down", "jog",
                     "jog_in_place", "sit", "pick_up", "shift", "stand"]
                )
            )  # fmt: skip
            if kind.startswith("stairs"):
                n = int(rng.integers(8, 17))
                add(kind, n, n / 1.7)
            elif kind == "pick_up":
                add(kind, length_s=4.0)
            else:
                add(kind, rng.uniform(5.0, 60.0))
    return tuple(out)


def config(index: int, seed_base: int) -> SessionConfig:
    seed = seed_base + index
    rng = np.random.default_rng([seed, 14])
    theme = THEMES[index % len(THEMES)]
    setup = SETUPS[(index // len(THEMES) + index) % len(SETUPS)]
    tier = TIERS[(index // 2) % len(TIERS)]
    # Every other round of the themes, the single sensor is a phone in a belt pouch.
    pouch = setup != "dual" and (index // len(THEMES)) % 2 == 0
    if pouch:
        rates: float | dict[str, float] = 100.0
    elif setup == "dual":
        rates = {LUMBAR: float(rng.choice(RATES_HZ)), SACRUM: float(rng.choice(RATES_HZ))}
    else:
        rates = float(rng.choice(RATES_HZ))
    return SessionConfig(
        seed=seed,
        sets=(),
        daily=_bouts(theme, rng),
        rate_hz=rates,
        setup=setup,
        tier=tier,
        loose_mounting=pouch,
        # A third start on the move, with hardly any standing.
        standing_s=0.1 if index % 3 == 1 else float(rng.uniform(0.5, 5.0)),
    )


@dataclass
class Outcome:
    index: int
    setup: str
    pouch: bool
    duration_s: float
    #: per event kind: seconds, number of events
    seconds: dict[str, float] = field(default_factory=dict)
    events: dict[str, int] = field(default_factory=dict)
    #: per event kind: reps put down to it
    false_reps: dict[str, int] = field(default_factory=dict)
    false_sets: int = 0
    labels: dict[str, int] = field(default_factory=dict)
    refused: str | None = None


def run_session(args: tuple[int, int]) -> Outcome:
    index, seed_base = args
    cfg = config(index, seed_base)
    sim = simulate_session(cfg)
    truth = sim.truth
    out = Outcome(index, cfg.setup, cfg.loose_mounting, truth.duration_s)
    for e in truth.events:
        out.seconds[e.kind] = out.seconds.get(e.kind, 0.0) + (e.end_s - e.start_s)
        out.events[e.kind] = out.events.get(e.kind, 0) + 1
    try:
        result = analyse_recording(sim.recording, AnalysisSettings())
    except TrackerError as exc:
        out.refused = str(exc)
        return out
    starts = np.array([e.start_s for e in truth.events])
    ends = np.array([e.end_s for e in truth.events])
    for r in result.reps:
        overlap = np.minimum(ends, r.end_s) - np.maximum(starts, r.start_s)
        k = int(np.argmax(overlap))
        kind = truth.events[k].kind if overlap[k] > 0 else "other"
        out.false_reps[kind] = out.false_reps.get(kind, 0) + 1
        out.labels[r.exercise] = out.labels.get(r.exercise, 0) + 1
    out.false_sets = len(result.sets)
    return out


def _per_hour(n: int, seconds: float) -> str:
    return f"{3600.0 * n / seconds:8.1f}" if seconds > 0 else "       -"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--sessions", type=int, default=18, help="number of sessions (~5.5 min each)")
    ap.add_argument("--seed-base", type=int, default=14000)
    ap.add_argument("--verbose", action="store_true", help="one line per session")
    args = ap.parse_args()
    t0 = time.perf_counter()
    with ProcessPoolExecutor(max_workers=args.jobs) as ex:
        outcomes = list(ex.map(run_session, [(i, args.seed_base) for i in range(args.sessions)]))
    elapsed = time.perf_counter() - t0
    total_s = sum(o.duration_s for o in outcomes)
    print(
        f"{len(outcomes)} daily-life sessions, {total_s / 60.0:.0f} min, analysed in "
        f"{elapsed:.0f} s"
    )
    seconds: dict[str, float] = defaultdict(float)
    counts: Counter[str] = Counter()
    reps: Counter[str] = Counter()
    labels: Counter[str] = Counter()
    for o in outcomes:
        if args.verbose:
            theme = THEMES[o.index % len(THEMES)]
            print(
                f"  {o.index:3d} {theme:<11} {o.setup:<6} {'pouch' if o.pouch else 'clip ':<5} "
                f"{o.duration_s / 60:4.1f} min  reps {sum(o.false_reps.values()):3d}  "
                f"sets {o.false_sets}  {dict(o.false_reps)}"
                + (f"  REFUSED: {o.refused}" if o.refused else "")
            )
        if o.refused:
            continue
        for k, v in o.seconds.items():
            seconds[k] += v
        counts.update(o.events)
        reps.update(o.false_reps)
        labels.update(o.labels)
    print(f"{'activity':<14} {'minutes':>8} {'events':>7} {'reps':>6} {'per hour':>8}  per 100")
    for kind in sorted(seconds, key=lambda k: -seconds[k]):
        per100 = f"{100.0 * reps[kind] / counts[kind]:7.1f}" if kind in MOMENTS else ""
        print(
            f"{kind:<14} {seconds[kind] / 60.0:8.1f} {counts[kind]:7d} {reps[kind]:6d} "
            f"{_per_hour(reps[kind], seconds[kind])}  {per100}"
        )
    if reps.get("other"):
        print(f"{'other':<14} {'':>8} {'':>7} {reps['other']:6d}")
    print(f"{'setup':<14} {'minutes':>8} {'reps':>6} {'per hour':>8} {'sets':>5}")
    for name in (*SETUPS, "pouch"):
        group = [
            o
            for o in outcomes
            if not o.refused and (o.pouch if name == "pouch" else o.setup == name)
        ]
        s = sum(o.duration_s for o in group)
        n = sum(sum(o.false_reps.values()) for o in group)
        print(
            f"{name:<14} {s / 60.0:8.1f} {n:6d} {_per_hour(n, s)} "
            f"{sum(o.false_sets for o in group):5d}"
        )
    analysed = [o for o in outcomes if not o.refused]
    s = sum(o.duration_s for o in analysed)
    n = sum(sum(o.false_reps.values()) for o in analysed)
    print(
        f"OVERALL: {n} false reps in {s / 60.0:.0f} min = {_per_hour(n, s).strip()} per hour, "
        f"{sum(o.false_sets for o in analysed)} false sets"
    )
    if labels:
        print("labelled as:", dict(labels.most_common()))
    refused = [o for o in outcomes if o.refused]
    print(f"refused: {len(refused)} of {len(outcomes)}")
    for o in refused:
        print(f"  session {o.index} ({o.setup}): {o.refused}")


if __name__ == "__main__":
    main()
