"""`tracker simulate`: write a simulated session with its ground truth."""

from __future__ import annotations

from pathlib import Path

import click

from tracker.cli import cli
from tracker.units import EXERCISES


@cli.command()
@click.option(
    "-o",
    "--output",
    "output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Recording to write: .csv (samples CSV) or .trk (native recording).",
)
@click.option(
    "--truth",
    "truth_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Truth JSON to write [default: OUTPUT's name with .truth.json].",
)
@click.option("--no-truth", is_flag=True, help="Do not write a truth file.")
@click.option(
    "--preset",
    help="A named scenario (swing_dual, deadlift_single, squat_buttwink, mixed); "
    "--seed, --tier, --setup and --rate-hz still apply.",
)
@click.option(
    "--exercise",
    "exercises",
    multiple=True,
    type=click.Choice(EXERCISES),
    help="Exercise of the sets; repeat for several (each gets --sets sets). "
    "[default: kettlebell_swing]",
)
@click.option(
    "--sets",
    "n_sets",
    type=click.IntRange(1, 20),
    default=2,
    show_default=True,
    help="Sets per exercise.",
)
@click.option(
    "--reps",
    "n_reps",
    type=click.IntRange(1, 100),
    default=8,
    show_default=True,
    help="Reps per set.",
)
@click.option(
    "--faults",
    "faults",
    multiple=True,
    metavar="KIND[:REPS]",
    help="Faulty reps in every set: flexion, overextension, butt_wink (squats), "
    "borderline with REPS like 2,5 or 'all' (default: a random third); creep[:DEG]. Repeatable.",
)
@click.option(
    "--setup",
    type=click.Choice(["dual", "lumbar", "sacrum"]),
    default=None,
    help="Sensors worn. [default: dual]",
)
@click.option(
    "--rate-hz",
    type=click.FloatRange(10, 500),
    default=None,
    help="Output data rate of every sensor. [default: 104]",
)
@click.option(
    "--sacrum-rate-hz",
    type=click.FloatRange(10, 500),
    default=None,
    help="Output data rate of the sacrum sensor if it differs.",
)
@click.option(
    "--tier",
    type=click.Choice(["easy", "medium", "hard"]),
    default=None,
    help="Difficulty: noise, loss, clock offsets, mounting. [default: medium]",
)
@click.option(
    "--seed", type=int, default=0, show_default=True, help="Random seed (same seed, same files)."
)
@click.option(
    "--standing-s",
    type=click.FloatRange(0.5, 60),
    default=3.0,
    show_default=True,
    help="Standing still at the start.",
)
@click.option(
    "--rest-s",
    type=click.FloatRange(0, 600),
    default=45.0,
    show_default=True,
    help="Mean rest between sets (each rest is drawn within +/-30%).",
)
@click.option(
    "--clean",
    is_flag=True,
    help="Ideal sensors on a planar body (no noise, loss, offsets, wobble).",
)
def simulate(
    output: Path,
    truth_path: Path | None,
    no_truth: bool,
    preset: str | None,
    exercises: tuple[str, ...],
    n_sets: int,
    n_reps: int,
    faults: tuple[str, ...],
    setup: str | None,
    rate_hz: float | None,
    sacrum_rate_hz: float | None,
    tier: str | None,
    seed: int,
    standing_s: float,
    rest_s: float,
    clean: bool,
) -> None:
    """Simulate a lifting session from a physics-based body and sensor model.

    Writes the samples (format by OUTPUT's extension) and a truth JSON with the sets,
    reps, true lumbar flexion and non-rep events (docs/truth-format.md).
    """
    import dataclasses

    from tracker.sim import Imperfections, SessionConfig, preset_session, simulate_session
    from tracker.sim.config import with_faults
    from tracker.sim.output import default_truth_path, save_result

    if preset:
        config = preset_session(preset, seed)
    else:
        sets = tuple(
            with_faults(ex, n_reps, list(faults))
            for ex in (exercises or ("kettlebell_swing",))
            for _ in range(n_sets)
        )
        config = SessionConfig(
            seed=seed,
            sets=sets,
            rate_hz=104.0,
            standing_s=standing_s,
            rest_s=(0.7 * rest_s, 1.3 * rest_s),
        )
    changes: dict[str, object] = {}
    if setup:
        changes["setup"] = setup
    if tier:
        changes["tier"] = tier
    if clean:
        changes["imperfections"] = Imperfections.none()
    config = dataclasses.replace(config, **changes)
    if rate_hz is not None or sacrum_rate_hz is not None:
        base = rate_hz if rate_hz is not None else config.rate_of(config.placements[0])
        config = dataclasses.replace(
            config,
            rate_hz={
                p: (sacrum_rate_hz if p == "sacrum" and sacrum_rate_hz else base)
                for p in config.placements
            },
        )
    result = simulate_session(config)
    truth_out = None if no_truth else (truth_path or default_truth_path(output))
    save_result(result, output, truth_out)
    t = result.truth
    sensors = ", ".join(f"{p} {len(s)} samples" for p, s in result.recording.sensors.items())
    click.echo(
        f"Wrote {output} ({sensors}; {t.duration_s:.1f} s; {len(t.sets)} sets, {len(t.reps)} reps)"
    )
    if truth_out is not None:
        click.echo(f"Wrote {truth_out}")
