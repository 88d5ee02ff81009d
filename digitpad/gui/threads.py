"""Keep numpy's BLAS on one thread in the app.

numpy's OpenBLAS splits even small matrix products over every core.
Preprocessing does two small products per prediction (the separable resize
in :func:`digitpad.preprocess.scale_to_box`): 0.08 ms on one thread, but
12 ms (p95 28 ms) on two when the other core is busy (a training run, any
other program), because each product waits for a helper thread that is not
running. Measured on this 2-core machine under load. The app's other heavy
numeric work, training, runs in torch, whose threads are separate, so one
BLAS thread costs the app nothing.

``OPENBLAS_NUM_THREADS=1`` would do the same, but only if set before numpy
is imported, which a library cannot promise; this asks the loaded OpenBLAS
at run time (as threadpoolctl does) and does nothing where numpy uses
another BLAS.
"""

from __future__ import annotations

import ctypes
import logging
import sys
from pathlib import Path

log = logging.getLogger(__name__)

#: Names OpenBLAS builds export the setter under (numpy's wheels use the scipy_ 64-bit one).
_SETTERS = (
    "scipy_openblas_set_num_threads64_",
    "scipy_openblas_set_num_threads",
    "openblas_set_num_threads64_",
    "openblas_set_num_threads",
)
_GETTERS = tuple(name.replace("set_num_threads", "get_num_threads") for name in _SETTERS)
_done = False


def _loaded_openblas_paths() -> list[str]:
    """Paths of the OpenBLAS libraries numpy loaded."""
    import numpy

    if sys.platform.startswith("linux"):
        try:
            maps = Path("/proc/self/maps").read_text()
        except OSError:
            maps = ""
        paths = {line.split()[-1] for line in maps.splitlines() if "openblas" in line.lower() and "/" in line}
        if paths:
            return sorted(paths)
    # Elsewhere: the copy bundled in numpy's wheel (loaded already, so CDLL returns the same library).
    root = Path(numpy.__file__).resolve().parent
    folders = [root.parent / "numpy.libs", root / ".dylibs", root.parent / "numpy" / ".libs"]
    found = []
    for folder in folders:
        if folder.is_dir():
            found.extend(str(path) for path in folder.iterdir() if "openblas" in path.name.lower())
    return sorted(found)


def _find(names: tuple[str, ...]):
    """The first of ``names`` that numpy's OpenBLAS exports, as a ctypes function; None if none."""
    for path in _loaded_openblas_paths():
        try:
            library = ctypes.CDLL(path)
        except OSError:
            continue
        for name in names:
            function = getattr(library, name, None)
            if function is not None:
                return function
    return None


def blas_thread_count() -> int | None:
    """Threads numpy's OpenBLAS uses now, or None if numpy has no OpenBLAS."""
    getter = _find(_GETTERS)
    if getter is None:
        return None
    getter.restype = ctypes.c_int
    return int(getter())


def use_one_blas_thread() -> bool:
    """Make numpy's OpenBLAS use one thread in this process; True if one was found and set. Idempotent."""
    global _done
    if _done:
        return True
    setter = _find(_SETTERS)
    if setter is not None:
        setter.argtypes = [ctypes.c_int]
        setter.restype = None
        setter(1)
        _done = True
        return True
    log.debug("no OpenBLAS found in numpy; its BLAS threads are left as they are")
    return False
