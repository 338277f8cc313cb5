"""Shared test setup."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True, scope="session")
def _private_data_dir(tmp_path_factory: pytest.TempPathFactory):
    """Point the user data directory (profile, history database) at a temporary folder for
    the whole run, so no test reads or writes the real one (`export` adds to the history
    by default). Tests that need their own folder set ``TRACKER_DATA_DIR`` again."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TRACKER_DATA_DIR", str(tmp_path_factory.mktemp("tracker-data")))
        yield


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh user data directory (``TRACKER_DATA_DIR``) for one test, not yet created."""
    d = tmp_path / "data"
    monkeypatch.setenv("TRACKER_DATA_DIR", str(d))
    return d
