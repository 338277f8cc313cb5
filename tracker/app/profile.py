"""The lifter's saved profile: where it lives, its JSON file, and the precedence of the
settings sources (defaults, then the profile, then the limits given on the command line).

Stored as JSON in the user's data directory (``TRACKER_DATA_DIR`` overrides it), so
``export``, ``summary``, ``replay`` and ``live`` pick it up without options. The limits
a profile gives are `tracker.analysis.profile`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from pathlib import Path

from tracker.analysis.profile import Profile
from tracker.analysis.settings import AnalysisSettings
from tracker.errors import InputError
from tracker.paths import data_dir
from tracker.recording.fileio import OutputError, os_error_reason, replace_atomically

PROFILE_VERSION = 1


def default_profile_path() -> Path:
    return data_dir() / "profile.json"


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
