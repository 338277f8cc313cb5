"""Options shared by the commands that read recordings."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from tracker.recording.checks import ACC_UNITS, GYRO_UNITS

#: Option, units it accepts, default, help: the units of a samples CSV.
_UNIT_OPTIONS = (
    (
        "--acc-unit",
        ACC_UNITS,
        "mps2",
        "Acceleration unit of a samples CSV (g is converted to m/s^2).",
    ),
    (
        "--gyro-unit",
        GYRO_UNITS,
        "rad_s",
        "Angular velocity unit of a samples CSV (dps is converted to rad/s).",
    ),
)


#: A click command function, passed through option decorators unchanged in type.
Command = TypeVar("Command", bound=Callable[..., Any])


def unit_options(f: Command) -> Command:
    """--acc-unit and --gyro-unit: the units of a samples CSV (other formats name theirs)."""
    # Applied last first, so --help lists them in the order above.
    for name, units, default, text in reversed(_UNIT_OPTIONS):
        f = click.option(
            name, type=click.Choice(units), default=default, show_default=True, help=text
        )(f)
    return f
