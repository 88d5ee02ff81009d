"""Thread workers: a QObject run on a QThread, stopped by asking (never terminated), with errors as one line and
progress throttled. Heavy work runs nicer than the GUI thread.

A worker's ``run`` slot runs on a QThread of its own (:func:`start_in_thread`)
and talks to the GUI thread only through signals (queued across threads).
It is stopped through a ``threading.Event`` that the GUI thread sets
directly: the worker's thread is busy inside ``run`` and never returns to
its event loop, so a queued "stop" slot would only run after the work is
over. Progress signals are throttled (:class:`ProgressThrottle`): every
signal costs the GUI thread a slot call and the GIL, and a flood of them
starves both the GUI and the training thread.
"""

from __future__ import annotations

import inspect
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from PySide6.QtCore import QObject, Qt, QThread, Signal, SignalInstance

log = logging.getLogger(__name__)

#: Training runs this much "nicer" than the GUI (Linux): on a busy machine the
#: scheduler then lets the GUI thread in first, while an otherwise idle
#: machine still gives training all the CPU the GUI does not use.
TRAINING_NICENESS = 5

#: Python's GIL switch interval while a run is going (the default is 5 ms).
#: The run's Python loops (preparing the data, the batch loop between torch
#: ops) hold the GIL; every time the GUI thread wants it back, after each
#: torch op of a live prediction or each pyqtgraph paint call, it waits up to
#: one interval, and a frame makes dozens of such calls. Measured with
#: bench/ui_stall.py: the longest stall while a run prepares its data went
#: from 61 to 38 ms, at the same training speed.
TRAINING_SWITCH_INTERVAL_S = 0.0005

#: Upper bound on cross-thread progress signals per second (see the module docstring).
MAX_PROGRESS_HZ = 20.0


class ProgressThrottle:
    """Lets an event through at most ``hz`` times a second (the first one always)."""

    def __init__(self, hz: float = MAX_PROGRESS_HZ) -> None:
        self.interval = 1.0 / hz
        self._last = -float("inf")

    def ready(self, force: bool = False) -> bool:
        now = time.perf_counter()
        if force or now - self._last >= self.interval:
            self._last = now
            return True
        return False


class StoppableWorker(QObject):
    """Shared part: a stop flag that any thread may set."""

    #: A line for the log.
    message = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._stop_requested = threading.Event()

    def request_stop(self) -> None:
        """Thread-safe; the work notices at its next check (one batch, or one download chunk)."""
        self._stop_requested.set()

    def stop_requested(self) -> bool:
        return self._stop_requested.is_set()


@contextmanager
def heavy_work(what: str, failed: SignalInstance, reported: tuple[type[Exception], ...] = ()) -> Iterator[None]:
    """Run a worker's heavy ``run`` body (training, fine-tuning) as the pad needs it, and end it cleanly.

    The thread runs nicer than the GUI and holds the GIL for shorter slices
    (see TRAINING_NICENESS, TRAINING_SWITCH_INTERVAL_S). An error becomes
    one line on ``failed``: ``reported`` ones (their message is for the
    user) as they are; bad settings, out of memory, a device that went away
    or a full disk with their type, the traceback to the log. Last, the
    thread's event loop is quit from inside it: a queued connection to
    QThread.quit would wait for the GUI thread, which may be blocked in
    shutdown() waiting for us.
    """
    lower_thread_priority(TRAINING_NICENESS)
    previous_switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(min(previous_switch_interval, TRAINING_SWITCH_INTERVAL_S))
    try:
        yield
    except reported as error:
        failed.emit(str(error))
    except (ValueError, RuntimeError, OSError) as error:
        log.exception("%s failed", what)
        failed.emit(f"{type(error).__name__}: {error}")
    except Exception as error:
        log.exception("%s failed unexpectedly", what)
        failed.emit(f"unexpected {type(error).__name__}: {error}")
    finally:
        sys.setswitchinterval(previous_switch_interval)
        QThread.currentThread().quit()


def lower_thread_priority(increment: int) -> bool:
    """Raise the calling thread's nice value by ``increment`` (Linux only); True if done.

    On Linux the nice value is per thread and inherited by threads it starts,
    so torch's intra-op threads, which the training thread creates, follow.
    QThread's priorities do nothing there for ordinary threads.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        thread_id = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, thread_id, os.getpriority(os.PRIO_PROCESS, thread_id) + increment)
    except OSError:
        return False
    return True


def accepts_keyword(function: Callable, name: str) -> bool:
    """Whether ``function`` takes keyword ``name`` (older download code has no cancellation)."""
    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError):
        return False
    return name in parameters or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())


#: How long the GUI thread waits, after a worker thread said it finished, for it to have ended (it has
#: only to return from its run loop).
THREAD_END_WAIT_MS = 1000


def start_in_thread(
    worker: StoppableWorker, parent: QObject | None = None, on_finished: Sequence[Callable[[], None]] = ()
) -> QThread:
    """Move ``worker`` to a new QThread, run its ``run`` slot there, and return the started thread.

    The worker quits the thread itself when ``run`` returns. The thread is
    parented to ``parent`` so that it outlives nothing it should not; the
    caller must still stop the worker and wait for the thread before the
    parent goes (see :func:`stop_and_wait`). ``on_finished`` run on the GUI
    thread once the thread has ended (``isRunning()`` false, so "am I busy?"
    answers no). They are connected before it starts: connected after, a
    short job (a small file read) could end first, and they would never run.
    """
    thread = QThread(parent, objectName=f"{type(worker).__name__}Thread")
    worker.moveToThread(thread)
    thread.started.connect(worker.run)
    thread.finished.connect(worker.deleteLater)
    if on_finished:
        slots = tuple(on_finished)
        # Queued to the thread object's own (the GUI) thread: ``finished`` is emitted from the ending thread,
        # which still counts as running then; waiting for it there takes a moment.
        thread.finished.connect(lambda: _after_the_end(thread, slots), Qt.ConnectionType.QueuedConnection)
    thread.start()
    return thread


def _after_the_end(thread: QThread, slots: Sequence[Callable[[], None]]) -> None:
    thread.wait(THREAD_END_WAIT_MS)
    for slot in slots:
        slot()


def stop_and_wait(worker: StoppableWorker | None, thread: QThread | None, timeout_ms: int) -> bool:
    """Ask ``worker`` to stop and wait up to ``timeout_ms`` for ``thread``; True if it has finished.

    Never terminates the thread: that could kill it inside a file write or
    while holding a lock.
    """
    if thread is None:
        return True
    if worker is not None:
        worker.request_stop()
    if thread.isFinished() or not thread.isRunning():
        return True
    return thread.wait(timeout_ms)


class Job:
    """A worker and the thread it runs on (:func:`start_in_thread`), the last one kept until the next starts."""

    def __init__(self) -> None:
        self.worker: StoppableWorker | None = None
        self.thread: QThread | None = None

    def running(self) -> bool:
        return self.thread is not None and self.thread.isRunning()

    def start(
        self, worker: StoppableWorker, parent: QObject, on_finished: Sequence[Callable[[], None]] = ()
    ) -> QThread:
        """Start ``worker`` on a new thread (see :func:`start_in_thread` for ``on_finished``)."""
        if self.thread is not None and self.thread.isFinished():
            self.thread.deleteLater()  # let go of the last one
        self.worker = worker
        self.thread = start_in_thread(worker, parent, on_finished)
        return self.thread

    def request_stop(self) -> None:
        if self.worker is not None and self.running():
            self.worker.request_stop()

    def stop_requested(self) -> bool:
        return self.worker is not None and self.worker.stop_requested()
