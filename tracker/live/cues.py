"""When a flag becomes a cue to the lifter, and how often.

The pipeline raises a `FlagRaised` at the sample where lumbar flexion (or extension)
crosses its limit, and a creep flag when a set ends. A buzzer that goes off on every
rep is the complaint lifters have most about sensor products, so `CuePolicy` decides
which of those become cues:

* ``mode="now"``: cue at the crossing itself (mid-rep, the fastest feedback);
* ``mode="after_rep"``: cue once the rep is back at its rest position (when the rep is
  reported), naming what the rep did, so nothing distracts the lifter under load;
* at most ``max_per_set`` cues per set (None: no bound) and none closer than
  ``min_interval_s`` to the previous one; a creep cue counts like any other.

Times are seconds on the recording's timeline (docs/frames.md), angles degrees.
"""

from __future__ import annotations

from dataclasses import dataclass

from tracker.analysis.events import Event, FlagRaised, RepCompleted, SetEnded

CUE_MODES = ("now", "after_rep")

_WHAT = {"flexion": "lumbar flexion", "overextension": "over-extension", "creep": "flexion creep"}
#: Spoken words per kind: short, so that speech ends before the next rep.
_SPOKEN = {"flexion": "back flat", "overextension": "don't lean back", "creep": "flexion creeping"}


@dataclass(frozen=True)
class Cue:
    """A cue to give the lifter now.

    ``kind``: ``flexion``, ``overextension`` or ``creep``; ``value_deg`` the angle (or,
    for creep, the rise) that caused it; ``text`` a line for the screen, ``spoken`` a
    few words for text-to-speech.
    """

    time_s: float
    kind: str
    value_deg: float
    text: str
    spoken: str
    set: int | None = None
    rep: int | None = None


class CuePolicy:
    """Turns pipeline events into cues. Feed every event to `update` in order."""

    def __init__(
        self,
        mode: str = "now",
        *,
        max_per_set: int | None = 3,
        min_interval_s: float = 1.0,
    ) -> None:
        if mode not in CUE_MODES:
            raise ValueError(f"cue mode {mode!r}; use one of {CUE_MODES}")
        if max_per_set is not None and max_per_set < 0:
            raise ValueError(f"max_per_set must be >= 0 or None, got {max_per_set}")
        if min_interval_s < 0:
            raise ValueError(f"min_interval_s must be >= 0, got {min_interval_s}")
        self.mode = mode
        self.max_per_set = max_per_set
        self.min_interval_s = min_interval_s
        self._in_set = 0
        self._last_time_s: float | None = None
        #: Flags that the bound or the interval held back (for the summary).
        self.suppressed = 0
        self.given = 0

    def update(self, event: Event) -> list[Cue]:
        """The cues ``event`` releases (usually none)."""
        cues: list[Cue] = []
        if isinstance(event, FlagRaised):
            if event.kind == "creep" or self.mode == "now":
                cue = self._cue(event.time_s, event.kind, event.value_deg, event.set, event.rep)
                cues.extend([cue] if cue else [])
        elif isinstance(event, RepCompleted) and self.mode == "after_rep":
            m = event.metrics
            # One cue per rep even when it did both: the worse news (flexion) first.
            if m.flexion_under_load and m.lumbar_flexion_deg is not None:
                cue = self._cue(event.time_s, "flexion", m.lumbar_flexion_deg, m.set, m.rep)
                cues.extend([cue] if cue else [])
            elif m.overextension and m.lumbar_extension_deg is not None:
                cue = self._cue(event.time_s, "overextension", m.lumbar_extension_deg, m.set, m.rep)
                cues.extend([cue] if cue else [])
        if isinstance(event, SetEnded):
            # The creep flag of a set comes just before its SetEnded: count it first.
            self._in_set = 0
        return cues

    def _cue(
        self, time_s: float, kind: str, value_deg: float, set_no: int | None, rep: int | None
    ) -> Cue | None:
        too_many = self.max_per_set is not None and self._in_set >= self.max_per_set
        too_soon = (
            self._last_time_s is not None and time_s - self._last_time_s < self.min_interval_s
        )
        if too_many or too_soon:
            self.suppressed += 1
            return None
        self._in_set += 1
        self.given += 1
        self._last_time_s = time_s
        if kind == "creep":
            text = f"{_WHAT[kind]} +{value_deg:.0f} deg" + (f" by rep {rep}" if rep else "")
        else:
            text = f"{_WHAT[kind]} {value_deg:.0f} deg" + (f" (rep {rep})" if rep else "")
        return Cue(time_s, kind, value_deg, text, _SPOKEN[kind], set_no, rep)
