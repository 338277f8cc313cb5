"""Exceptions raised by the library.

The library never prints or exits; the CLI maps every `TrackerError` to one line
`Error: <message>` on stderr and exit code 1 (see `tracker.cli`). Messages name the
offending value and, where there is one, the fix.
"""


class TrackerError(Exception):
    """Base class of every error the tool reports to the user."""


class InputError(TrackerError):
    """A file or value given by the user cannot be used as it is."""


class UnitError(InputError):
    """Data that is evidently in other units than the format requires (g, deg/s)."""


class CorruptRecordingError(InputError):
    """A native recording is damaged in the middle.

    `recovered` holds what could be read before (and after) the damage, so a caller
    that opts in can still use it; the message says what was lost.
    """

    def __init__(self, message: str, recovered: object = None) -> None:
        super().__init__(message)
        self.recovered = recovered


class AnalysisError(TrackerError):
    """The data cannot be analysed (too short, no standing phase, ...)."""


class DeviceError(TrackerError):
    """A sensor, the Bluetooth adapter or an emulated device failed."""
