"""Background workers for the Train tab: training and the MNIST download.

Each worker is a QObject with a ``run`` slot that is moved to its own QThread
(:func:`start_in_thread`). It talks to the GUI thread only through signals
(queued across threads), and it is stopped through a ``threading.Event``
that the GUI thread sets directly: the worker's thread is busy inside
``run`` and never returns to its event loop, so a queued "stop" slot would
only run after the work is over.

Progress signals are throttled to at most :data:`MAX_PROGRESS_HZ` a second:
every signal costs the GUI thread a slot call and the GIL, and a flood of
them starves both the GUI and the training thread.
"""

from __future__ import annotations

import inspect
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, QThread, Signal, SignalInstance, Slot

from digitpad.data import DataError, Mnist, load_mnist
from digitpad.download import DownloadError, download_mnist
from digitpad.model import ModelConfig
from digitpad.train import BatchProgress, EpochResult, TrainConfig, train

log = logging.getLogger(__name__)

#: Upper bound on cross-thread progress signals per second.
MAX_PROGRESS_HZ = 20.0

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

#: Seconds a mirror may stay silent before the download tries the next one.
DOWNLOAD_TIMEOUT_S = 10.0

#: Loads MNIST from a folder; the tab's default is :func:`digitpad.data.load_mnist`.
DataLoader = Callable[[Path], Mnist]
#: Same signature as :func:`digitpad.download.download_mnist` (plus ``should_stop``).
Downloader = Callable[..., Path]


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


@dataclass(frozen=True)
class DownloadProgress:
    file_name: str
    done_bytes: int
    #: None when the server does not say.
    total_bytes: int | None


class MnistCache:
    """Keeps the last MNIST loaded, so that a run starts without loading it again.

    Loading copies tens of megabytes in single calls that hold the GIL
    (gzip's output, numpy's copies), which stalls the GUI thread for tens of
    milliseconds; the Train tab therefore loads ahead (:meth:`preload`) when
    it is shown, and each run takes the copy from here. Thread-safe: a run
    that starts while a preload is under way waits for it instead of loading
    twice.
    """

    def __init__(self, loader: DataLoader | None = None) -> None:
        self._loader = loader or load_mnist
        self._lock = threading.Lock()
        self._key: tuple | None = None
        self._data: Mnist | None = None
        self._preload_thread: threading.Thread | None = None

    def load(self, folder: Path) -> Mnist:
        """MNIST from ``folder``: the kept copy if the files have not changed, else freshly loaded."""
        key = _folder_signature(folder)
        with self._lock:
            if self._data is None or key != self._key:
                self._data = None  # let the old copy go before the new one is read
                self._data = self._loader(folder)
                self._key = key
            return self._data

    def preload(self, folder: Path) -> None:
        """Load ``folder`` on a background thread, unless that is under way; errors wait for the real run."""
        if self._preload_thread is not None and self._preload_thread.is_alive():
            return

        def load_quietly() -> None:
            try:
                self.load(folder)
            except Exception:
                log.debug("preloading %s failed", folder, exc_info=True)

        # Not a daemon: interrupted at exit in the middle of numpy work, a daemon thread can crash the interpreter.
        # Said explicitly: a thread started from a daemon thread (the start-up loader) would inherit that.
        self._preload_thread = threading.Thread(target=load_quietly, name="digitpad-mnist-preload", daemon=False)
        self._preload_thread.start()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for a preload to end; True if none is running."""
        thread = self._preload_thread
        if thread is not None:
            thread.join(timeout)
            return not thread.is_alive()
        return True


def _folder_signature(folder: Path) -> tuple:
    """What identifies a folder's content cheaply: its path and its files' sizes and times."""
    entries = []
    try:
        for path in sorted(Path(folder).iterdir()):
            if path.is_file():
                stat = path.stat()
                entries.append((path.name, stat.st_size, stat.st_mtime_ns))
    except OSError:
        pass
    return (str(Path(folder).resolve()), tuple(entries))


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


class TrainingWorker(StoppableWorker):
    """Loads MNIST and runs :func:`digitpad.train.train` on the worker thread."""

    #: BatchProgress, throttled.
    progress = Signal(object)
    #: EpochResult after every epoch (evaluation done, autosave written).
    epochFinished = Signal(object)
    #: TrainResult (``stopped`` says whether Stop ended it), or None if stopped before training began.
    finished = Signal(object)
    #: A one-line reason; the run is over.
    failed = Signal(str)
    #: Emitted just before ``failed`` when the reason is the data (missing or broken files).
    dataFailed = Signal(str)
    #: The autosave after an epoch could not be written; the run goes on.
    autosaveFailed = Signal(str)

    def __init__(
        self,
        data_dir: Path,
        config: TrainConfig,
        *,
        model_config: ModelConfig | None = None,
        autosave_path: Path | None = None,
        data_loader: DataLoader | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.data_dir = data_dir
        self.config = config
        self.model_config = model_config
        self.autosave_path = autosave_path
        self._load = data_loader or load_mnist
        self._throttle = ProgressThrottle()

    @Slot()
    def run(self) -> None:
        with heavy_work("training", self.failed, reported=(DataError,)):
            self.message.emit(f"Loading MNIST from {self.data_dir}")
            started = time.perf_counter()
            try:
                data = self._load(self.data_dir)
            except DataError as error:
                self.dataFailed.emit(str(error))
                raise
            self.message.emit(
                f"Data ready: {len(data.train_labels):,} training and {len(data.test_labels):,} test images "
                f"({time.perf_counter() - started:.1f} s)"
            )
            if self.stop_requested():
                self.finished.emit(None)
                return
            result = train(
                data,
                self.config,
                self.model_config,
                progress=self._report,
                should_stop=self.stop_requested,
                checkpoint_path=self.autosave_path,
                on_save_error=self._on_autosave_failed,
            )
            self.finished.emit(result)

    def _on_autosave_failed(self, error: OSError) -> None:
        # A warning, not a failure: the run goes on and its model stays usable and savable elsewhere.
        log.warning("autosave to %s failed: %s", self.autosave_path, error)
        self.autosaveFailed.emit(
            f"Autosave to {self.autosave_path} failed ({error.strerror or error}); the run goes on."
        )

    def _report(self, event: BatchProgress | EpochResult) -> None:
        if isinstance(event, EpochResult):
            self.epochFinished.emit(event)
        elif self._throttle.ready(force=event.batch == event.batches):
            self.progress.emit(event)


class DownloadWorker(StoppableWorker):
    """Runs :func:`digitpad.download.download_mnist` on the worker thread."""

    #: DownloadProgress, throttled.
    progress = Signal(object)
    #: The folder holding the four files.
    finished = Signal(object)
    failed = Signal(str)
    cancelled = Signal()

    def __init__(
        self, destination: Path | None = None, *, downloader: Downloader | None = None, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.destination = destination
        self._download = downloader or download_mnist
        self._throttle = ProgressThrottle()

    @Slot()
    def run(self) -> None:
        try:
            kwargs = {"progress": self._report}
            if _accepts_keyword(self._download, "should_stop"):
                kwargs["should_stop"] = self.stop_requested
            if _accepts_keyword(self._download, "timeout"):
                # A stop cannot interrupt a connection attempt, only the
                # transfer; a short timeout keeps Cancel and closing quick.
                kwargs["timeout"] = DOWNLOAD_TIMEOUT_S
            folder = self._download(self.destination, **kwargs)
            if self.stop_requested():
                self.cancelled.emit()
            else:
                self.finished.emit(Path(folder))
        except DownloadError as error:
            # DownloadCancelled is a DownloadError; a stop request explains it.
            if self.stop_requested():
                self.cancelled.emit()
            else:
                self.failed.emit(str(error))
        except Exception as error:
            log.exception("download failed unexpectedly")
            self.failed.emit(f"unexpected {type(error).__name__}: {error}")
        finally:
            QThread.currentThread().quit()

    def _report(self, file_name: str, done_bytes: int, total_bytes: int | None) -> None:
        if self._throttle.ready(force=total_bytes is not None and done_bytes >= total_bytes):
            self.progress.emit(DownloadProgress(file_name, done_bytes, total_bytes))


class EstimateWorker(StoppableWorker):
    """Times a few training steps of a recipe and extrapolates to the whole run, on the worker thread."""

    #: Seconds the whole run would take on this machine (not emitted if the measurement failed).
    estimated = Signal(float)

    #: What a run trains on when the form says nothing else: MNIST's training and test sets.
    MNIST_TRAIN_IMAGES, MNIST_TEST_IMAGES = 60_000, 10_000

    def __init__(self, config: TrainConfig, model_config: ModelConfig, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.config = config
        self.model_config = model_config

    @Slot()
    def run(self) -> None:
        from digitpad.train import estimate_run_seconds, expected_train_images

        lower_thread_priority(TRAINING_NICENESS)
        try:
            available = min(self.config.train_subset or self.MNIST_TRAIN_IMAGES, self.MNIST_TRAIN_IMAGES)
            seconds = estimate_run_seconds(
                self.config,
                self.model_config,
                expected_train_images(self.config, available),
                min(self.config.test_subset or self.MNIST_TEST_IMAGES, self.MNIST_TEST_IMAGES),
            )
            if not self.stop_requested():
                self.estimated.emit(seconds)
        except Exception:
            log.warning("estimating the run's duration failed", exc_info=True)
        finally:
            QThread.currentThread().quit()


_warm_up_thread: threading.Thread | None = None


def warm_up_training() -> threading.Thread:
    """Start doing, once and in the background, the slow one-off work of a run's first optimizer.

    Creating the first torch optimizer imports ``torch._dynamo`` (about a
    second of imports). Imports hold the GIL for up to ~150 ms at a time, so
    done at the start of a run they stall the GUI thread then; the Train tab
    calls this when it is first shown, before anyone presses Start.
    """
    global _warm_up_thread
    if _warm_up_thread is None:
        # Not a daemon: an import cut short at exit crashes the interpreter ("terminate called without an
        # active exception", seen when the app quit right after start-up). Said explicitly, because the
        # start-up loader that calls this is a daemon thread, and a thread inherits that by default.
        _warm_up_thread = threading.Thread(target=_create_throwaway_optimizer, name="digitpad-warm-up", daemon=False)
        _warm_up_thread.start()
    return _warm_up_thread


def _create_throwaway_optimizer() -> None:
    import torch

    try:
        torch.optim.AdamW([torch.zeros(1, requires_grad=True)], lr=1e-3)
    except Exception:
        log.debug("training warm-up failed", exc_info=True)


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


def _accepts_keyword(function: Callable, name: str) -> bool:
    """Whether ``function`` takes keyword ``name`` (older download code has no cancellation)."""
    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError):
        return False
    return name in parameters or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())


def start_in_thread(worker: StoppableWorker, parent: QObject | None = None) -> QThread:
    """Move ``worker`` to a new QThread, run its ``run`` slot there, and return the started thread.

    The worker quits the thread itself when ``run`` returns. The thread is
    parented to ``parent`` so that it outlives nothing it should not; the
    caller must still stop the worker and wait for the thread before the
    parent goes (see :func:`stop_and_wait`).
    """
    thread = QThread(parent)
    thread.setObjectName(f"{type(worker).__name__}Thread")
    worker.moveToThread(thread)
    thread.started.connect(worker.run)
    thread.finished.connect(worker.deleteLater)
    thread.start()
    return thread


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
