"""A lifter's profile: calibrated maximum lumbar flexion and extension, and the limits
derived from them (DESIGN 5: caution at 50% and flag at 70% of maximum flexion;
over-extension beyond 50% of maximum extension).

The maths only: where a profile is stored and how it combines with defaults and options
is `tracker.app.profile`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime

import numpy as np

from tracker.analysis.result import SessionResult
from tracker.analysis.settings import AnalysisSettings
from tracker.errors import AnalysisError

FLAG_SHARE = 0.70
CAUTION_SHARE = 0.50
EXTENSION_SHARE = 0.50
#: A "maximal" bend smaller than this was not a maximal bend.
MIN_PLAUSIBLE_MAX_FLEXION_DEG = 20.0
#: Below this, the extension test was not done; the default limit stays.
MIN_PLAUSIBLE_MAX_EXTENSION_DEG = 10.0


@dataclass(frozen=True)
class Profile:
    max_flexion_deg: float
    max_extension_deg: float | None
    created_utc: str
    source: str = ""

    def apply(self, settings: AnalysisSettings) -> AnalysisSettings:
        """Settings with %-of-maximum limits."""
        ext = settings.extension_limit_deg
        if self.max_extension_deg is not None:
            ext = EXTENSION_SHARE * self.max_extension_deg
        return replace(
            settings,
            flexion_limit_deg=FLAG_SHARE * self.max_flexion_deg,
            flexion_caution_deg=CAUTION_SHARE * self.max_flexion_deg,
            extension_limit_deg=ext,
        )


def profile_from_session(result: SessionResult, source: str) -> Profile:
    """Maximum flexion and extension seen in a calibration recording (two sensors)."""
    if not result.dual:
        raise AnalysisError(
            "calibration measures lumbar flexion, which needs both sensors (lumbar and "
            "sacrum); record the calibration with two sensors"
        )
    lam = result.traces.lumbar_deg
    lam = lam[np.isfinite(lam)]
    if len(lam) == 0:
        raise AnalysisError("no lumbar flexion could be measured in the calibration recording")
    # A short median filter keeps a single-sample spike from becoming the maximum.
    k = 5
    if len(lam) > k:
        lam = np.median(np.lib.stride_tricks.sliding_window_view(lam, k), axis=1)
    max_f = float(lam.max())
    max_e = float((-lam).max())
    if max_f < MIN_PLAUSIBLE_MAX_FLEXION_DEG:
        raise AnalysisError(
            f"the largest lumbar flexion in the calibration was only {max_f:.0f} deg; do a "
            "few slow maximal forward bends (let the back round fully) and calibrate again"
        )
    return Profile(
        max_flexion_deg=round(max_f, 1),
        max_extension_deg=round(max_e, 1) if max_e >= MIN_PLAUSIBLE_MAX_EXTENSION_DEG else None,
        created_utc=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        source=source,
    )
