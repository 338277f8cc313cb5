"""Shared pieces of the tests that run the tool in a real process under a system limit."""

from __future__ import annotations

import resource
import signal
from collections.abc import Callable


def file_size_limit(limit_bytes: int) -> Callable[[], None]:
    """A ``preexec_fn`` for `subprocess.run`: the child may write no file past
    ``limit_bytes``. No monkeypatch: the operating system itself refuses the write."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))
        # Past the limit the system sends SIGXFSZ, which ends the process unless ignored;
        # ignored, the write fails with EFBIG instead.
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)

    return limit
