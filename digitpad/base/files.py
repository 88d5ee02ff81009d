"""Reading a file handed in from outside: regular files only, bounded, and named correctly when refused.

Every loader of a user's file (a checkpoint, a drawing, a sample, an
image) goes through here, so that each says in the same words what it got
instead of a file: no such file (a dangling symlink names its target), a
folder, a pipe (FIFO), a device, a socket, a symlink loop, a file too large,
or one it cannot read (permission). These checks used to be written three
times and had drifted apart: one loader called a FIFO "no such file".

The type is checked with stat before anything is opened: opening a FIFO
blocks until a writer comes, and some devices act when opened. Between the
stat and the open another file can be swapped in, so the file is opened
with O_NONBLOCK (a FIFO then opens without waiting) and checked again with
fstat. Sizes are bounded by fstat and again while reading, as a file can
grow while it is read.

:class:`FileReadError` is the one error; each caller wraps it in its own
(CheckpointError, DrawingError, ...) so that its ``except`` clauses stay.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

#: How many of a file's first bytes :func:`read_regular_file` shows ``check_start``: enough for a magic number.
START_BYTES = 8


class FileReadError(Exception):
    """A file cannot be read as asked; the message is one line: the path, then why."""

    def __init__(self, path: str | os.PathLike, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


def _not_regular(mode: int, what: str) -> str | None:
    """Why a file of this mode cannot be read as ``what``, or None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        kind = "a folder"
    elif stat.S_ISFIFO(mode):
        kind = "a pipe (FIFO)"
    elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        kind = "a device"
    elif stat.S_ISSOCK(mode):
        kind = "a socket"
    else:
        kind = "not a regular file"
    return f"is {kind}, not {what}"


def _os_error(path: Path, error: OSError) -> FileReadError:
    """The error naming what ``error`` (from stat, open or read) says about ``path``."""
    if isinstance(error, FileNotFoundError):
        # stat follows symlinks, so a dangling one lands here: name where it points, or the user
        # looks at a file that is plainly there.
        try:
            target = os.readlink(path)
        except (OSError, ValueError):  # not a symlink (or gone since)
            return FileReadError(path, "no such file")
        return FileReadError(path, f"no such file (a symlink to {target}, which does not exist)")
    if error.errno == errno.ELOOP:
        return FileReadError(path, "a symlink loop (a loop of symbolic links that never reaches a file)")
    return FileReadError(path, f"cannot read: {error.strerror or error}")


def _stat_mode(path: Path) -> int:
    try:
        return os.stat(path).st_mode
    except OSError as error:
        raise _os_error(path, error) from error
    except ValueError as error:  # a NUL in the name
        raise FileReadError(repr(str(path)), f"cannot read: {error}") from error


def check_regular_file(path: str | os.PathLike, what: str) -> Path:
    """``path`` as a Path if it is a regular file (symlinks followed), else FileReadError saying what it is.

    Only stat is used, nothing is opened: for callers that hand the path to
    another library (Pillow, Qt's image reader), which would open a FIFO and
    wait for ever. ``what`` names what was expected, with its article
    ("an image file"): "is a folder, not an image file".
    """
    path = Path(path)
    reason = _not_regular(_stat_mode(path), what)
    if reason:
        raise FileReadError(path, reason)
    return path


def open_regular_file(path: str | os.PathLike, what: str) -> BinaryIO:
    """``path`` opened for reading in binary, if it is a regular file (symlinks followed); else FileReadError.

    Checked as the module's docstring says. The caller closes the stream.
    """
    path = check_regular_file(path, what)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        descriptor = os.open(path, flags)
    except OSError as error:
        raise _os_error(path, error) from error
    reason = _not_regular(os.fstat(descriptor).st_mode, what)
    if reason:
        os.close(descriptor)
        raise FileReadError(path, reason)
    return os.fdopen(descriptor, "rb")


def _amount(size: int) -> str:
    return f"{size // 2**20} MiB" if size >= 2**20 and size % 2**20 == 0 else f"{size:,} bytes"


def _too_large(path: Path, size: int, max_bytes: int, what: str) -> FileReadError:
    return FileReadError(path, f"too large for {what} ({size:,} bytes; at most {_amount(max_bytes)})")


def read_regular_file(
    path: str | os.PathLike, max_bytes: int, what: str, check_start: Callable[[bytes], None] | None = None
) -> bytes:
    """The whole of the regular file ``path``, at most ``max_bytes``; FileReadError naming the file otherwise.

    ``what`` names what the file should be, with its article ("a drawing"),
    for the messages. ``check_start``, if given, is called with the file's
    first :data:`START_BYTES` bytes (fewer if it is shorter) before its size
    is checked or the rest is read, and may raise: a format refused by its
    magic number (a pickle, for a checkpoint) is then called that, whatever
    its size, and costs no more than those bytes.
    """
    path = Path(path)
    with open_regular_file(path, what) as stream:
        try:
            start = stream.read(START_BYTES)
            if check_start is not None:
                check_start(start)
            size = os.fstat(stream.fileno()).st_size
            if size > max_bytes:
                raise _too_large(path, size, max_bytes, what)
            # Bounded even if the file grows while it is read.
            raw = start + stream.read(max(max_bytes + 1 - len(start), 0))
        except OSError as error:
            raise _os_error(path, error) from error
    if len(raw) > max_bytes:
        raise _too_large(path, len(raw), max_bytes, what)
    return raw
