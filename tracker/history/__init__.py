"""Session history: a local SQLite database of analysed sessions and weekly trends.

`record_session` is the one call that `live`, `export` and `history add` use to add a
session; `weekly_trends` reads the per-exercise trends back.
"""

from tracker.history.db import connect, default_db_path, opened
from tracker.history.store import fingerprint, record_session, try_record_session
from tracker.history.trends import WeekTrend, weekly_trends

__all__ = [
    "WeekTrend",
    "connect",
    "default_db_path",
    "fingerprint",
    "opened",
    "record_session",
    "try_record_session",
    "weekly_trends",
]
