"""Reading input files and replacing output files safely, with errors users can act on."""

from __future__ import annotations

import contextlib
import errno
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


def os_error_reason(exc: OSError) -> str:
    """What went wrong in ``exc``, in words a user can act on: the system's message, and
    for the failures of a full or limited disk what that means."""
    reason = exc.strerror or str(exc)
    hint = _OS_ERROR_HINTS.get(exc.errno) if exc.errno is not None else None
    return f"{reason} ({hint})" if hint else reason


#: Plain words for the OS errors of a full, limited or read-only disk, or a missing folder.
_OS_ERROR_HINTS = {
    getattr(errno, name): hint
    for name, hint in (
        ("ENOSPC", "the disk is full"),
        ("EDQUOT", "your disk quota is used up"),
        ("EFBIG", "the file would exceed the largest file size allowed here"),
        ("EROFS", "the disk is mounted read-only"),
        ("ENOENT", "the folder does not exist"),  # (when writing, the file's own is new)
    )
    if hasattr(errno, name)  # (not every system has a quota error)
}


def replace_atomically(
    path: str | os.PathLike[str], content: bytes | str | Callable[[Path], None]
) -> None:
    """Replace (or create) the file ``path`` so that it is never seen half written.

    ``content`` is the new file's bytes, its text (written as UTF-8), or a function
    ``write(tmp)`` that creates and fills the new file ``tmp`` (a fresh name in the same
    folder, so the rename below stays on one file system). The new file is fsynced and
    renamed over ``path``, an atomic step; the folder is then fsynced so the rename itself
    survives a power loss. On any failure the temporary file is removed and ``path`` is
    left as it was (an existing file untouched, or still absent): a full disk never
    leaves half a report or an empty image. OS errors, and `OutputError` from ``write``,
    become one `OutputError` naming ``path`` and the cause.
    """
    p = Path(path)
    existed = p.exists()
    # (a long name is cut so that the temporary name stays within the 255-byte limit)
    tmp = p.with_name(f".{p.name[:200]}.{os.getpid()}-{os.urandom(4).hex()}.tmp")
    try:
        if callable(content):
            content(tmp)
        else:
            _write_new(tmp, content.encode("utf-8") if isinstance(content, str) else content)
        _fsync(tmp)
        os.replace(tmp, p)
    except (OSError, OutputError) as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        cause = exc if isinstance(exc, OSError) else exc.__cause__
        reason = os_error_reason(cause) if isinstance(cause, OSError) else str(exc)
        kept = f"{p} is unchanged" if existed else "nothing was written"
        raise OutputError(f"cannot write {p}: {reason}; {kept}") from exc
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_folder(p.parent)


def _write_new(path: Path, data: bytes) -> None:
    """Create ``path`` (it must not exist) holding ``data``."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


def _fsync(path: Path) -> None:
    # Write access: fsync of a read-only descriptor fails on some systems (Windows).
    fd = os.open(path, os.O_WRONLY | getattr(os, "O_BINARY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_folder(folder: Path) -> None:
    # The file is complete and in place; this only makes the rename durable. Folders
    # cannot be opened (Windows) or fsynced (some network file systems) everywhere, and
    # the result is then what it was before this step, so failures are not errors.
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
