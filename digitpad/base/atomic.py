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


def _temporary_name_pattern(target: Path) -> re.Pattern[str]:
    """Names tempfile.mkstemp gives in :func:`atomic_write_bytes` (8 random characters), for ``target`` only."""
    return re.compile(rf"\.{re.escape(target.name)}\.[a-z0-9_]{{8}}\.tmp")


def remove_stale_temporaries(target: Path, max_age: float = STALE_TEMPORARY_SECONDS) -> list[Path]:
    """Remove temporary files that killed saves to ``target`` left behind; return them.

    Only regular files named like this module's temporaries for this very
    target and older than ``max_age`` seconds: never another program's file,
    nor (see STALE_TEMPORARY_SECONDS) one a running save is writing.
    """
    pattern = _temporary_name_pattern(target)
    removed = []
    try:
        entries = list(os.scandir(target.parent))
    except OSError:
        return removed
    now = time.time()
    for entry in entries:
        if not pattern.fullmatch(entry.name):
            continue
        try:
            status = entry.stat(follow_symlinks=False)
            if stat.S_ISREG(status.st_mode) and now - status.st_mtime > max_age:
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except OSError as error:  # gone already (another save cleaned it), or not ours to remove
            logger.debug("cannot remove %s: %s", entry.path, error)
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
