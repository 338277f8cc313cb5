"""Options shared by the commands that read recordings."""

from __future__ import annotations

import click

from tracker.recording.checks import ACC_UNITS, GYRO_UNITS


def unit_options(f):
    """--acc-unit and --gyro-unit: the units of a samples CSV (other formats name theirs)."""
    f = click.option(
        "--gyro-unit",
        type=click.Choice(GYRO_UNITS),
        default="rad_s",
        show_default=True,
        help="Angular velocity unit of a samples CSV (dps is converted to rad/s).",
    )(f)
    f = click.option(
        "--acc-unit",
        type=click.Choice(ACC_UNITS),
        default="mps2",
        show_default=True,
        help="Acceleration unit of a samples CSV (g is converted to m/s^2).",
    )(f)
    return f
