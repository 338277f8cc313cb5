"""Reading input files and replacing output files safely, with errors users can act on."""

from __future__ import annotations

import contextlib
import contextvars
import errno
import mmap
import os
import select
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from tracker.errors import InputError, TrackerError


class OutputError(TrackerError):
    """A file could not be written (disk full, no permission, missing directory)."""


#: Files at least this large are memory-mapped by `read_input_buffer`.
MAP_MIN_BYTES = 1 << 20
#: Largest input file read, in bytes (1 GiB). Four hours of dual-sensor 200 Hz recording
#: with its raw packets is about 0.5 GiB natively (a samples CSV of it a little less), so
#: anything larger is not one session, and reading it would take seconds and gigabytes.
MAX_INPUT_BYTES = 1 << 30
#: Largest input read through a pipe or FIFO, in bytes (256 MiB): a stream cannot be
#: mapped or read twice, so it is held in memory whole; an hour of dual-sensor samples
#: CSV is about 110 MiB. A larger recording is given as a file.
MAX_STREAM_BYTES = 256 << 20
#: A pipe or FIFO that delivers nothing for this long (seconds) is given up on: nothing
#: is writing to it (a FIFO nobody opened for writing would otherwise block forever).
STREAM_IDLE_TIMEOUT_S = 5.0
_STREAM_CHUNK_BYTES = 1 << 16

#: Streams read inside `holding_streams`: (device, inode) -> their bytes.
_held: contextvars.ContextVar[dict[tuple[int, int], bytes] | None] = contextvars.ContextVar(
    "held_streams", default=None
)


def _mib(n_bytes: int) -> str:
    return f"{n_bytes / 2**20:.0f} MiB"


def _stat_input(p: Path) -> os.stat_result:
    """``os.stat`` of an input, refusing what is not a file or a stream before anything
    opens it: a directory, a device (``/dev/zero`` never ends), a socket, a file larger
    than `MAX_INPUT_BYTES`."""
    with _input_errors(p):
        st = os.stat(p)
    mode = st.st_mode
    if stat.S_ISDIR(mode):
        raise InputError(f"{p} is a directory; give the path of a recording file")
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        raise InputError(
            f"{p} is a device, not a file; give the path of a recording file "
            f"(or pipe one in through /dev/stdin)"
        )
    if not (stat.S_ISREG(mode) or stat.S_ISFIFO(mode)):
        raise InputError(
            f"{p} is not a regular file (a socket?); give the path of a recording file"
        )
    if st.st_size > MAX_INPUT_BYTES:
        raise InputError(
            f"{p} is {_mib(st.st_size)}, larger than the largest input read "
            f"({_mib(MAX_INPUT_BYTES)}, MAX_INPUT_BYTES); split the recording"
        )
    return st


def is_stream(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` is a pipe or FIFO (``<(command)``, ``/dev/stdin``), which can be
    read only once; raises `InputError` as the readers would for a missing file, a
    directory or a device."""
    return stat.S_ISFIFO(_stat_input(Path(path)).st_mode)


@contextlib.contextmanager
def holding_streams() -> Iterator[None]:
    """Within this block a pipe or FIFO is read once and its bytes kept, so that sniffing
    its head (`read_input_head`) and then reading it whole see the same bytes."""
    token = _held.set({})
    try:
        yield
    finally:
        _held.reset(token)


def read_input_head(path: str | os.PathLike[str], n_bytes: int) -> bytes:
    """The first ``n_bytes`` of ``path`` (a stream is read whole: see `holding_streams`)."""
    p = Path(path)
    st = _stat_input(p)
    if stat.S_ISFIFO(st.st_mode):
        return _stream_bytes(p, st)[:n_bytes]
    with _input_errors(p), open(p, "rb") as f:
        return f.read(n_bytes)


def read_input_bytes(path: str | os.PathLike[str]) -> bytes:
    """The whole content of ``path`` (a file, or a pipe / FIFO read to its end); a
    missing, unreadable, oversized or non-regular input is an `InputError`."""
    p = Path(path)
    st = _stat_input(p)
    if stat.S_ISFIFO(st.st_mode):
        return _stream_bytes(p, st)
    with _input_errors(p), open(p, "rb") as f:
        return _read_file(p, f)


def _read_file(p: Path, f: BinaryIO) -> bytes:
    data = f.read(MAX_INPUT_BYTES + 1)  # the file may have grown since the stat
    if len(data) > MAX_INPUT_BYTES:
        raise InputError(f"{p} is larger than the largest input read ({_mib(MAX_INPUT_BYTES)})")
    return data


def read_input_buffer(path: str | os.PathLike[str]) -> bytes | mmap.mmap:
    """The whole content of ``path`` as a read-only buffer (slicing it gives bytes):
    the bytes of a small file or a stream, a memory map of a large file. A map reads the
    system's file cache in place instead of copying it (~40 ms for a one-hour
    recording); it is unmapped when the last view of it is released. Errors as
    `read_input_bytes`."""
    p = Path(path)
    st = _stat_input(p)
    if stat.S_ISFIFO(st.st_mode):
        return _stream_bytes(p, st)
    with _input_errors(p), open(p, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size == 0 or size < MAP_MIN_BYTES:  # (an empty file cannot be mapped)
            return _read_file(p, f)
        if size > MAX_INPUT_BYTES:
            raise InputError(f"{p} is larger than the largest input read ({_mib(MAX_INPUT_BYTES)})")
        return mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)


def _stream_bytes(p: Path, st: os.stat_result) -> bytes:
    held = _held.get()
    key = (st.st_dev, st.st_ino)
    if held is not None and key in held:
        return held[key]
    data = _read_stream(p)
    if held is not None:
        held[key] = data
    return data


def _read_stream(p: Path) -> bytes:
    """A pipe or FIFO read to its end, at most `MAX_STREAM_BYTES`, giving up after
    `STREAM_IDLE_TIMEOUT_S` without a byte. Opened without blocking: opening a FIFO that
    nobody writes to would otherwise wait forever."""
    with _input_errors(p):
        fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK)
    try:
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        data = bytearray()
        while True:
            if not poller.poll(STREAM_IDLE_TIMEOUT_S * 1000):
                what = "nothing" if not data else f"nothing more after {len(data)} bytes"
                raise InputError(
                    f"{p}: {what} arrived through the pipe in {STREAM_IDLE_TIMEOUT_S:g} s; "
                    f"is a program writing to it?"
                )
            try:
                with _input_errors(p):
                    chunk = os.read(fd, _STREAM_CHUNK_BYTES)
            except _NoDataYet:
                continue  # woken without data: wait again
            if not chunk:
                return bytes(data)
            data += chunk
            if len(data) > MAX_STREAM_BYTES:
                raise InputError(
                    f"{p}: more than {_mib(MAX_STREAM_BYTES)} arrived through the pipe "
                    f"(MAX_STREAM_BYTES); save the recording to a file and give its path"
                )
    finally:
        os.close(fd)


class _NoDataYet(Exception):
    """A non-blocking read of a stream found nothing to read yet."""


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
    except BlockingIOError as exc:
        raise _NoDataYet from exc
    except OSError as exc:
        raise InputError(f"{p}: cannot read ({exc.strerror or exc}); check the file") from exc


def _refuse_read_only(p: Path) -> None:
    """A file nobody may write (``chmod a-w``) is never replaced: the rename would
    ignore its permissions, which are the owner's way of saying keep it."""
    try:
        mode = os.stat(p).st_mode
    except OSError:
        return  # absent (or unreachable: the write reports it)
    if stat.S_ISREG(mode) and not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH):
        raise OutputError(
            f"{p} is read-only; make it writable (chmod u+w) or choose another output"
        )


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
    leaves half a report or an empty image. An existing read-only file is refused
    (`OutputError`) for every output alike. OS errors, and `OutputError` from ``write``,
    become one `OutputError` naming ``path`` and the cause.
    """
    p = Path(path)
    _refuse_read_only(p)
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
