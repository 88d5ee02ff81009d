"""Atomic file writes: a reader sees the old file or the new one, never a part, and a crash leaves no broken file.

Used for everything digitpad saves (checkpoints, exports, drawings, personal
samples). Standard library only: modules that save small files (drawings,
samples) must not pull in torch.
"""

from __future__ import annotations

import logging
import os
import re
import stat
import tempfile
import time
from pathlib import Path

logger = logging.getLogger(__name__)

#: Temporary files of a killed save older than this are removed by the next
#: save to the same target. A live save of another process touches its file
#: on every write and renames it right after fsync (seconds for the largest
#: file, even on slow storage); removing it would make that save fail, so the
#: margin is wide. A leftover younger than this waits for a later save.
STALE_TEMPORARY_SECONDS = 600
#: A folder's listing of temporaries is read again after this long. Saving thousands of files into one folder
#: (an import of samples) would otherwise list the whole folder once per file: quadratic time.
RELIST_SECONDS = 60.0
#: Names any save of this module might have left (see :func:`_temporary_name_pattern`), for the cached listings.
_ANY_TEMPORARY = re.compile(r"\..+\.[a-z0-9_]{8}\.tmp")
#: Per folder: (when it was listed, the names in it that look like temporaries). Replaced whole, never changed,
#: so threads that save at once may list a folder twice but never see a half-made listing.
_listings: dict[Path, tuple[float, tuple[str, ...]]] = {}


def _temporary_name_pattern(target: Path) -> re.Pattern[str]:
    """Names tempfile.mkstemp gives in :func:`atomic_write_bytes` (8 random characters), for ``target`` only."""
    return re.compile(rf"\.{re.escape(target.name)}\.[a-z0-9_]{{8}}\.tmp")


def _temporaries_in(folder: Path, now: float, fresh_for: float) -> tuple[str, ...] | None:
    """The names in ``folder`` that look like temporaries, listed at most ``fresh_for`` seconds ago; None if the
    folder cannot be listed.

    A listing that old is as good as a new one for finding what is older than ``fresh_for``: whatever is not in
    it was made after it, so it is younger than that.
    """
    listed = _listings.get(folder)
    if listed is not None and 0 <= now - listed[0] < fresh_for:
        return listed[1]
    try:
        names = tuple(entry.name for entry in os.scandir(folder) if _ANY_TEMPORARY.fullmatch(entry.name))
    except OSError:
        return None
    _listings[folder] = (now, names)
    return names


def remove_stale_temporaries(target: Path, max_age: float = STALE_TEMPORARY_SECONDS) -> list[Path]:
    """Remove temporary files that killed saves to ``target`` left behind; return them.

    Only regular files named like this module's temporaries for this very
    target and older than ``max_age`` seconds: never another program's file,
    nor (see STALE_TEMPORARY_SECONDS) one a running save is writing.
    """
    pattern = _temporary_name_pattern(target)
    removed: list[Path] = []
    now = time.time()
    names = _temporaries_in(target.parent, now, min(max_age, RELIST_SECONDS))
    for name in names or ():
        if not pattern.fullmatch(name):
            continue
        path = target.parent / name
        try:
            status = os.lstat(path)
            if stat.S_ISREG(status.st_mode) and now - status.st_mtime > max_age:
                os.unlink(path)
                removed.append(path)
        except FileNotFoundError:
            pass  # removed since the folder was listed (by this save or another)
        except OSError as error:  # not ours to remove
            logger.debug("cannot remove %s: %s", path, error)
    return removed


def atomic_write_bytes(path: Path, payload: bytes) -> None:
    """Write ``payload`` to ``path`` so that readers see the old or the new file, never a part.

    Temporary files left by earlier saves to ``path`` that were killed (no
    cleanup runs on SIGKILL or a power cut) are removed afterwards.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(payload)
            stream.flush()
            os.fsync(stream.fileno())
        # mkstemp creates the file private (0600); give it the usual mode.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    remove_stale_temporaries(path)
