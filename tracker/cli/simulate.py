"""`tracker simulate`: write a simulated session with its ground truth."""

from __future__ import annotations

from pathlib import Path

import click
from click.core import ParameterSource

from tracker.cli import cli
from tracker.units import EXERCISES

#: What `tracker simulate` makes when told nothing else (a CLI default; the library has none).
DEFAULT_RATE_HZ = 104.0
DEFAULT_EXERCISE = "kettlebell_swing"


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
    "--seed, --tier, --setup, --rate-hz and --clean still apply.",
)
@click.option(
    "--exercise",
    "exercises",
    multiple=True,
    metavar="ID",
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
    from tracker.sim import simulate_session
    from tracker.sim.output import default_truth_path, save_result
    from tracker.sim.presets import adjusted, custom_session, preset_session

    if preset:
        config = preset_session(preset, seed)
        ctx = click.get_current_context()
        fixed = ("exercises", "n_sets", "n_reps", "faults", "standing_s", "rest_s")
        given = [n for n in fixed if ctx.get_parameter_source(n) is ParameterSource.COMMANDLINE]
        if given:
            raise click.UsageError(
                f"--preset fixes the sets and rests; drop {', '.join(_flag(n) for n in given)}"
            )
    else:
        config = custom_session(
            seed=seed,
            exercises=exercises or (DEFAULT_EXERCISE,),
            sets_per_exercise=n_sets,
            reps=n_reps,
            faults=faults,
            rate_hz=rate_hz if rate_hz is not None else DEFAULT_RATE_HZ,
            standing_s=standing_s,
            rest_mean_s=rest_s,
        )
    config = adjusted(
        config,
        setup=setup,
        tier=tier,
        rate_hz=rate_hz,
        sacrum_rate_hz=sacrum_rate_hz,
        clean=clean,
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


def _flag(param_name: str) -> str:
    """The command-line flag of a parameter of `simulate` (for messages)."""
    for p in simulate.params:
        if p.name == param_name and isinstance(p, click.Option):
            return max(p.opts, key=len)
    return param_name
