"""Where the tool keeps a user's data (profile, history): the platform's data directory,
or ``TRACKER_DATA_DIR``."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def data_dir() -> Path:
    """Where the tool keeps the profile and history (``TRACKER_DATA_DIR`` overrides)."""
    env = os.environ.get("TRACKER_DATA_DIR")
    if env:
        return Path(env)
    if sys.platform == "win32":
        return Path(os.environ.get("APPDATA", Path.home())) / "tracker"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "tracker"
    xdg = os.environ.get("XDG_DATA_HOME")
    return (Path(xdg) if xdg else Path.home() / ".local" / "share") / "tracker"
