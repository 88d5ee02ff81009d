"""Background workers for the Train tab: training, the MNIST download and timing a recipe; the MNIST kept in memory.

How they run, stop and report: :mod:`digitpad.gui.common.workers`.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, QThread, Signal, Slot

from digitpad.data.download import DownloadError, download_mnist
from digitpad.data.mnist import DataError, Mnist, load_mnist
from digitpad.gui.common.workers import (
    TRAINING_NICENESS,
    ProgressThrottle,
    StoppableWorker,
    accepts_keyword,
    heavy_work,
    lower_thread_priority,
)
from digitpad.model.network import ModelConfig
from digitpad.training.config import BatchProgress, EpochResult, TrainConfig
from digitpad.training.loop import PenSets, train

log = logging.getLogger(__name__)

#: Seconds a mirror may stay silent before the download tries the next one.
DOWNLOAD_TIMEOUT_S = 10.0

#: Loads MNIST from a folder; the tab's default is :func:`digitpad.data.mnist.load_mnist`.
DataLoader = Callable[[Path], Mnist]
#: Same signature as :func:`digitpad.data.download.download_mnist` (plus ``should_stop``).
Downloader = Callable[..., Path]


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
    with contextlib.suppress(OSError):
        for path in sorted(Path(folder).iterdir()):
            if path.is_file():
                stat = path.stat()
                entries.append((path.name, stat.st_size, stat.st_mtime_ns))
    return (str(Path(folder).resolve()), tuple(entries))


class TrainingWorker(StoppableWorker):
    """Loads MNIST and runs :func:`digitpad.training.loop.train` on the worker thread."""

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
        pen: PenSets | None = None,
        parent: QObject | None = None,
    ) -> None:
        """``pen``: real pen data the run adds to MNIST (None: MNIST alone)."""
        super().__init__(parent)
        self.data_dir = data_dir
        self.config = config
        self.model_config = model_config
        self.autosave_path = autosave_path
        self._load = data_loader or load_mnist
        self.pen = pen
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
                pen=self.pen,
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
    """Runs :func:`digitpad.data.download.download_mnist` on the worker thread."""

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
            if accepts_keyword(self._download, "should_stop"):
                kwargs["should_stop"] = self.stop_requested
            if accepts_keyword(self._download, "timeout"):
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
        from digitpad.training.estimate import estimate_run_seconds, expected_train_images, synthesis_seconds

        lower_thread_priority(TRAINING_NICENESS)
        try:
            seconds = estimate_run_seconds(
                self.config,
                self.model_config,
                expected_train_images(self.config, self.MNIST_TRAIN_IMAGES),  # it cuts the subset itself
                min(self.config.test_subset or self.MNIST_TEST_IMAGES, self.MNIST_TEST_IMAGES),
            )
            seconds += synthesis_seconds(self.config, self.MNIST_TRAIN_IMAGES)
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
