"""Thread control: numpy's BLAS on one thread in the app, and torch on one thread where it predicts.

numpy's OpenBLAS splits even small matrix products over every core.
Preprocessing does two small products per prediction (the separable resize
in :func:`digitpad.ink.preprocess.scale_to_box`): 0.08 ms on one thread, but
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
import threading
from collections.abc import Iterator
from contextlib import contextmanager
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


# torch is imported inside these functions: the window imports this module for
# its BLAS setting at start-up, before torch is loaded (in the background).

_thread_state = threading.local()


def use_one_thread_here() -> None:
    """Make torch ops on the calling thread use one intra-op thread; other threads keep theirs.

    Why one: at batch 1 splitting each op over two threads costs more in
    fork/join than it saves, and when the other core is busy (training,
    another program) every op waits for a descheduled helper thread. Measured
    on 2 cores under load, p95 of a forward pass: 0.2 to 0.45 ms with one
    thread, 8 to 38 ms with two.

    Why this is safe while a training thread runs: in this build (OpenMP
    backend, libgomp) ``torch.set_num_threads`` sets the calling thread's
    OpenMP and MKL thread counts, which are per thread: a thread that has
    already run torch ops keeps running them on every core. It also records
    a count that threads which start using torch later pick up (for ATen's
    own parallel loops); that record is put back at once, from a short-lived
    helper thread whose own count does not matter, so that a training thread
    started afterwards still gets every core. Both are checked by per-thread
    CPU time in tests/test_inference.py. The record is 1 for the ~0.1 ms the
    helper takes, once per predicting thread; a thread making its very first
    torch call in that instant would run its elementwise ops on one thread.
    """
    import torch

    current = torch.get_num_threads()
    if current == 1:
        return
    _thread_state.usual_threads = current
    torch.set_num_threads(1)
    _set_default_threads_for_new_threads(current)


def _set_default_threads_for_new_threads(count: int) -> None:
    import torch

    helper = threading.Thread(target=torch.set_num_threads, args=(count,), name="digitpad-thread-count")
    helper.start()
    helper.join()


#: A batch of at most this many images stays on one thread (see :func:`usual_threads`).
SMALL_BATCH = 16


@contextmanager
def one_thread() -> Iterator[None]:
    """Run torch on one intra-op thread on the calling thread for a while; its count is put back after.

    For short torch work on a thread that lives on (loading and probing a model at start-up, on the
    GUI thread when the window loads there): an op that runs on two threads gives the thread an OpenMP
    helper thread for as long as it lives, and once the process has more OpenMP threads than cores,
    libgomp's threads spin only briefly between ops and then sleep. A training run in a worker thread
    then used 1.45 of 2 cores and was about 25% slower (bench/README.md, 2026-12-08, later).

    ``torch.set_num_threads`` also sets the count that threads starting torch later pick up; it is put back
    on exit, so only a thread making its first torch call inside the block would run on one thread.
    """
    import torch

    before = torch.get_num_threads()
    if before == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@contextmanager
def usual_threads(images: int | None = None) -> Iterator[None]:
    """Undo :func:`use_one_thread_here` on this thread for a while (batches want every core).

    A batch of at most :data:`SMALL_BATCH` ``images`` stays on this thread as it is: switching every core on and
    off cost 100-250 ms for one image on the busy 2-core development machine, against 1 ms for the image itself
    on one thread (what teaching one sample reads, issue 22).
    """
    import torch

    usual = getattr(_thread_state, "usual_threads", None)
    small = images is not None and images <= SMALL_BATCH
    if usual is None or small or torch.get_num_threads() != 1:
        yield
        return
    torch.set_num_threads(usual)
    try:
        yield
    finally:
        torch.set_num_threads(1)
        _set_default_threads_for_new_threads(usual)
