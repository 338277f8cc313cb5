"""Reading input files and replacing output files safely, with errors users can act on."""

from __future__ import annotations

import contextlib
import mmap
import os
from collections.abc import Callable, Iterator
from pathlib import Path

from tracker.errors import InputError, TrackerError


class OutputError(TrackerError):
    """A file could not be written (disk full, no permission, missing directory)."""


#: Files at least this large are memory-mapped by `read_input_buffer`.
MAP_MIN_BYTES = 1 << 20


def read_input_bytes(path: str | os.PathLike[str]) -> bytes:
    """The whole content of ``path``; a missing or unreadable file is an `InputError`."""
    p = Path(path)
    with _input_errors(p):
        return p.read_bytes()


def read_input_buffer(path: str | os.PathLike[str]) -> bytes | mmap.mmap:
    """The whole content of ``path`` as a read-only buffer (slicing it gives bytes):
    the bytes of a small file, a memory map of a large one. A map reads the system's
    file cache in place instead of copying it (~40 ms for a one-hour recording); it is
    unmapped when the last view of it is released. Errors as `read_input_bytes`."""
    p = Path(path)
    with _input_errors(p), open(p, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size == 0 or size < MAP_MIN_BYTES:  # (an empty file cannot be mapped)
            return f.read()
        return mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)


@contextlib.contextmanager
def _input_errors(p: Path) -> Iterator[None]:
    """OS errors while reading ``p`` as `InputError` with what to do about them."""
    try:
        yield
    except FileNotFoundError as exc:
        raise InputError(f"{p}: no such file; check the path") from exc
    except IsADirectoryError as exc:
        raise InputError(f"{p} is a directory; give the path of a recording file") from exc
    except PermissionError as exc:
        raise InputError(f"{p}: permission denied; check the file's permissions") from exc
    except OSError as exc:
        raise InputError(f"{p}: cannot read ({exc.strerror or exc}); check the file") from exc


def replace_atomically(path: str | os.PathLike[str], write: Callable[[Path], None]) -> None:
    """Have ``write(tmp)`` create and fill a new file ``tmp``, then rename it to ``path``.

    ``write`` must create ``tmp`` exclusively and fsync it. The rename is atomic, so an
    interrupted or failed write never leaves a half file at ``path``: an existing file
    there stays untouched until the new one is complete.
    """
    p = Path(path)
    tmp = p.with_name(f".{p.name}.{os.getpid()}-{os.urandom(4).hex()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, p)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise OutputError(f"cannot write {p}: {exc.strerror or exc}") from exc
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
