"""A lifter's profile: calibrated maximum lumbar flexion and extension, and the limits
derived from them (DESIGN 5: caution at 50% and flag at 70% of maximum flexion;
over-extension beyond 50% of maximum extension).

Stored as JSON in the user's data directory (``TRACKER_DATA_DIR`` overrides it), so
``export``, ``summary``, ``replay`` and ``live`` pick it up without options.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from tracker.analysis.result import SessionResult
from tracker.analysis.settings import AnalysisSettings
from tracker.errors import AnalysisError, InputError
from tracker.paths import data_dir
from tracker.recording.fileio import OutputError, os_error_reason, replace_atomically

PROFILE_VERSION = 1
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


def default_profile_path() -> Path:
    return data_dir() / "profile.json"


def profile_from_session(result: SessionResult, source: str) -> Profile:
    """Maximum flexion and extension seen in a calibration recording (two sensors)."""
    if not result.dual:
        raise AnalysisError(
            "calibration measures lumbar flexion, which needs both sensors (lumbar and "
            "sacrum); record the calibration with two sensors"
        )
    lam = result.pipeline.timeline.lumbar_deg.view
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


def save_profile(profile: Profile, path: Path) -> None:
    """Write ``profile`` to ``path`` (creating its folder), replacing it atomically: a
    failed save keeps the earlier profile."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(
            f"cannot create the folder of {path}: {os_error_reason(exc)}; nothing was written"
        ) from exc
    text = json.dumps({"version": PROFILE_VERSION, **asdict(profile)}, indent=2) + "\n"
    replace_atomically(path, text)


def load_profile(path: Path) -> Profile:
    try:
        d = json.loads(path.read_text(encoding="utf-8"))
        if d.get("version") != PROFILE_VERSION:
            raise ValueError(f"unsupported version {d.get('version')!r}")
        max_e = d.get("max_extension_deg")
        return Profile(
            max_flexion_deg=float(d["max_flexion_deg"]),
            max_extension_deg=None if max_e is None else float(max_e),
            created_utc=str(d.get("created_utc", "")),
            source=str(d.get("source", "")),
        )
    except FileNotFoundError as exc:
        raise InputError(f"{path}: no such profile; run `tracker calibrate` first") from exc
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise InputError(
            f"{path} is not a valid profile ({exc}); run `tracker calibrate` again"
        ) from exc


def resolve_settings(
    flexion_limit: float | None,
    extension_limit: float | None,
    exercise: str | None,
    profile_path: Path | None,
    no_profile: bool,
) -> tuple[AnalysisSettings, str]:
    """Defaults, then the lifter's saved profile (or ``profile_path``), then the limits the
    user gave; and where they came from (for the summary)."""
    settings = AnalysisSettings()
    source = "population defaults"
    path = profile_path or default_profile_path()
    if not no_profile and (profile_path is not None or path.exists()):
        profile = load_profile(path)
        settings = profile.apply(settings)
        source = f"profile, max flexion {profile.max_flexion_deg:.0f} deg"
    if flexion_limit is not None:
        settings = replace(
            settings,
            flexion_limit_deg=flexion_limit,
            flexion_caution_deg=min(settings.flexion_caution_deg, flexion_limit),
        )
        source = "command line"
    if extension_limit is not None:
        settings = replace(settings, extension_limit_deg=extension_limit)
        source = "command line"
    if exercise:
        settings = replace(settings, exercise=exercise)
    return settings, source
