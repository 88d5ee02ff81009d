"""The Train tab's state and work, without its widgets: data, runs, downloads, the model just trained.

As mnelab keeps a model that its window shows, :class:`TrainingSession`
owns everything a training run needs and leaves: the data folder and the
MNIST kept in memory, the worker threads, the last result. The Train tab's
panels call its methods and listen to its signals; none of them holds
training state. Each run, download or duration estimate is a worker on a
thread of its own (:mod:`digitpad.gui.common.workers`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QObject, QSettings, QThread, Signal, Slot

from digitpad.base.paths import shipped_weights_dir, shipped_weights_path, user_weights_dir
from digitpad.data.download import download_mnist
from digitpad.data.mnist import MNIST_FILES, find_idx_file, has_mnist, resolve_data_dir
from digitpad.gui.common.workers import Job, StoppableWorker, stop_and_wait
from digitpad.gui.state import preferences as prefs
from digitpad.gui.train.pen_choice import PenDataChoice
from digitpad.gui.train.workers import (
    DataLoader,
    Downloader,
    DownloadWorker,
    EstimateWorker,
    MnistCache,
    TrainingWorker,
    warm_up_training,
)
from digitpad.model.checkpoint import CheckpointInfo, save_checkpoint
from digitpad.model.inference import Predictor
from digitpad.model.network import DigitNet, ModelConfig
from digitpad.training.config import TrainConfig, TrainResult

log = logging.getLogger(__name__)

#: The worker writes the model here after every epoch, so a crash loses at most one epoch.
AUTOSAVE_NAME = "autosave.safetensors"
#: A trained model the user put to use without saving it; kept so "the weights last used" survive a restart.
LAST_USED_NAME = "last-trained.safetensors"

#: How long shutdown() waits for a worker. A stop is honoured within one
#: batch (tens of ms), but the epoch's evaluation and autosave, or a download
#: chunk, may still have to finish.
SHUTDOWN_TIMEOUT_MS = 30_000

# Threads whose wait timed out in shutdown(): kept referenced so that Python
# does not destroy a running QThread (which aborts the process).
_orphaned_threads: list[tuple[QThread, object]] = []


@dataclass(frozen=True)
class DataStatus:
    """Whether a run can start, and what to tell the user about the data folder."""

    ready: bool
    text: str
    folder: Path


@dataclass
class TrainedModel:
    """The last run's model, its description, and the file it was last saved to (None: not yet)."""

    model: DigitNet
    info: CheckpointInfo
    path: Path | None = None


def is_inside(path: Path, folder: Path) -> bool:
    """Whether ``path`` is ``folder`` or lies below it, after resolving links."""
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


class TrainingSession(QObject):
    """Data folder, training runs, downloads and the model just trained (see the module docstring).

    Signals:
        busyChanged(bool): a run or a download started or ended.
        dataStatusChanged(DataStatus): the data folder or its state changed.
        dataProblem(str): the data folder cannot be used (empty text: no problem any more).
        runStarted(TrainConfig): a run's worker thread started, with the settings it runs
            (pen_digits given its default share when a pen-data file is chosen and the recipe gives none).
        batchProgress(BatchProgress): throttled progress of the run.
        epochFinished(EpochResult): an epoch was evaluated and autosaved.
        runFinished(object): the run's thread ended: its TrainResult, or None if it
            failed or was stopped before training began.
        runFailed(str): the run failed, why.
        autosaveFailed(str): an epoch's autosave could not be written; the run goes on.
        downloadProgress(DownloadProgress); downloadFailed(str); downloadCancelled().
        estimateReady(object, float): (key, seconds) of an :meth:`estimate` request.
        message(str): a line for the log.
    """

    busyChanged = Signal(bool)
    dataStatusChanged = Signal(object)
    dataProblem = Signal(str)
    runStarted = Signal(object)
    batchProgress = Signal(object)
    epochFinished = Signal(object)
    runFinished = Signal(object)
    runFailed = Signal(str)
    autosaveFailed = Signal(str)
    downloadProgress = Signal(object)
    downloadFailed = Signal(str)
    downloadCancelled = Signal()
    estimateReady = Signal(object, float)
    message = Signal(str)

    def __init__(
        self,
        settings: QSettings,
        parent: QObject | None = None,
        *,
        data_loader: DataLoader | None = None,
        downloader: Downloader | None = None,
    ) -> None:
        """``data_loader`` replaces loading MNIST from the folder (tests inject a small data set);
        ``downloader`` replaces :func:`digitpad.data.download.download_mnist`."""
        super().__init__(parent)
        self.settings = settings
        self._injected_data = data_loader is not None
        self._mnist_cache = MnistCache(data_loader)
        self._downloader = downloader or download_mnist
        self._data_dir = self._initial_data_dir()
        #: The optional file of real pen digits a run adds to MNIST.
        self.pen_data = PenDataChoice(settings, self)
        self._run, self._download, self._estimate, self._finetune = Job(), Job(), Job(), Job()
        self._run_started = 0.0
        self.result: TrainResult | None = None
        self.trained: TrainedModel | None = None
        self.downloadFailed.connect(lambda message: self.message.emit(f"Download failed: {message}"))
        self.downloadCancelled.connect(lambda: self.message.emit("Download cancelled"))
        app = QCoreApplication.instance()
        if app is not None:
            # A safety net: the main window calls shutdown() when it closes.
            app.aboutToQuit.connect(self.shutdown)

    def is_training(self) -> bool:
        return self._run.running()

    def is_downloading(self) -> bool:
        return self._download.running()

    def is_busy(self) -> bool:
        return self.is_training() or self.is_downloading() or self.is_finetuning()

    def is_finetuning(self) -> bool:
        return self._finetune.running()

    def stop_requested(self) -> bool:
        """True once Stop was asked for the current run."""
        return self.is_training() and self._run.stop_requested()

    @property
    def training_thread(self) -> QThread | None:
        """The thread of the current or last run (tests check that it has finished)."""
        return self._run.thread

    @property
    def training_worker(self) -> TrainingWorker | None:
        return self._run.worker  # type: ignore[return-value]

    @property
    def download_thread(self) -> QThread | None:
        return self._download.thread

    def run_seconds(self) -> float:
        """Wall time since the current or last run started."""
        return time.perf_counter() - self._run_started

    @property
    def data_dir(self) -> Path:
        return self._data_dir

    def data_ready(self) -> bool:
        return self._injected_data or has_mnist(self._data_dir)

    def mnist_loader(self) -> DataLoader:
        """Loads MNIST from a folder, keeping it in memory for later runs (fine-tuning shares it)."""
        return self._mnist_cache.load

    def data_status(self) -> DataStatus:
        if self._injected_data:
            return DataStatus(True, "Ready (data provided by the caller)", self._data_dir)
        if has_mnist(self._data_dir):
            return DataStatus(True, "MNIST ready", self._data_dir)
        return DataStatus(False, "No MNIST yet: download it or choose a folder", self._data_dir)

    def _initial_data_dir(self) -> Path:
        """The saved folder if it still holds MNIST, else $DIGITPAD_MNIST_DIR, else the downloaded copy."""
        saved = prefs.read_str(self.settings, prefs.TRAIN_DATA_DIR_KEY, "")
        if saved and has_mnist(Path(saved)):
            return Path(saved)
        return resolve_data_dir()

    def set_data_dir(self, folder: Path, *, preload: bool = False) -> bool:
        """Use ``folder`` for training if it holds MNIST; otherwise say what is missing. True if accepted."""
        folder = Path(folder).expanduser()
        if not folder.is_dir():
            self.dataProblem.emit(f"{folder}: no such folder")
            return False
        missing = [stem for stem in MNIST_FILES.values() if find_idx_file(folder, stem) is None]
        if missing:
            self.dataProblem.emit(f"{folder} has no MNIST: missing {', '.join(missing)} (raw or .gz).")
            self.message.emit(f"Not MNIST: {folder} (missing {len(missing)} of 4 files)")
            return False
        self._data_dir = folder
        self.settings.setValue(prefs.TRAIN_DATA_DIR_KEY, str(folder))
        self.dataProblem.emit("")
        self.dataStatusChanged.emit(self.data_status())
        self.message.emit(f"Data folder: {folder}")
        if preload:
            self.prepare()
        return True

    def prepare(self) -> None:
        """Start the one-off imports and the loading of MNIST that a run needs, in the background.

        Done when the user looks at the Train tab rather than when Start is
        pressed: both hold the GIL in long chunks and would stall the GUI then.
        """
        warm_up_training()
        self.pen_data.prepare()
        if self.data_ready() and not self.is_training():
            self._mnist_cache.preload(self._data_dir)

    def wait_until_prepared(self, timeout: float = 60.0) -> bool:
        """Block until :meth:`prepare`'s background work is done (tests, benches)."""
        deadline = time.perf_counter() + timeout
        warm_up_training().join(timeout)
        return self._mnist_cache.wait(max(0.0, deadline - time.perf_counter()))

    def start(self, config: TrainConfig, model_config: ModelConfig | None = None) -> bool:
        """Start a run in a worker thread; False (and nothing done) while busy, without data or reading pen data.

        With a pen-data file chosen, the run trains on it too (see PenDataChoice.for_run).
        """
        if self.is_busy() or not self.data_ready() or self.pen_data.is_reading():
            return False
        config, pen, data_line = self.pen_data.for_run(config)
        worker = TrainingWorker(
            self._data_dir,
            config,
            model_config=model_config,
            autosave_path=user_weights_dir() / AUTOSAVE_NAME,
            data_loader=self._mnist_cache.load,
            pen=pen,
        )
        worker.message.connect(self.message)
        worker.progress.connect(self.batchProgress)
        worker.epochFinished.connect(self.epochFinished)
        worker.finished.connect(self._on_run_result)
        worker.failed.connect(self.runFailed)
        worker.dataFailed.connect(self._on_data_failed)
        worker.autosaveFailed.connect(self.autosaveFailed)
        worker.autosaveFailed.connect(self.message)
        self.result, self.trained = None, None
        self._run_started = time.perf_counter()
        self._run.start(worker, self, on_finished=[self._on_run_thread_finished])
        self.runStarted.emit(config)
        self.message.emit(data_line)
        self.busyChanged.emit(True)
        return True

    def stop(self) -> bool:
        """Ask the run to stop after the current batch (the partial model stays usable); False if none runs."""
        if not self.is_training() or self._run.stop_requested():
            return False
        self._run.request_stop()
        self.message.emit("Stopping after the current batch…")
        return True

    @Slot(object)
    def _on_run_result(self, result: TrainResult | None) -> None:
        self.result = result
        if result is not None and result.history:
            self.trained = TrainedModel(result.model, result.info)

    @Slot(str)
    def _on_data_failed(self, message: str) -> None:
        self.dataProblem.emit(message)
        self.dataStatusChanged.emit(DataStatus(False, "MNIST files cannot be read", self._data_dir))

    @Slot()
    def _on_run_thread_finished(self) -> None:
        self.busyChanged.emit(self.is_busy())
        self.runFinished.emit(self.result)

    def use_trained(self) -> Predictor | None:
        """A predictor for the model just trained, kept on disk so that it survives a restart."""
        if self.trained is None:
            return None
        source = self.trained.path
        if source is None:
            try:
                source = save_checkpoint(user_weights_dir() / LAST_USED_NAME, self.trained.model, self.trained.info)
            except OSError as error:
                self.message.emit(f"Could not keep a copy of the model: {error}")
        return Predictor(self.trained.model, self.trained.info, source)

    def save_trained(self, path: Path) -> Path:
        """Save the model just trained to ``path`` (atomically, ``.safetensors`` added if missing).

        Raises ValueError without a model or for the shipped weights' folder
        (never overwritten), OSError when the write fails.
        """
        if self.trained is None:
            raise ValueError("No trained model to save.")
        path = Path(path).expanduser()
        if path.suffix != ".safetensors":
            path = path.with_name(path.name + ".safetensors")
        if is_inside(path, shipped_weights_dir()) or path.resolve() == shipped_weights_path().resolve():
            self.message.emit(f"Refused to save into the shipped weights folder: {path}")
            raise ValueError(
                f"Refused: {path.parent} holds the weights shipped with digitpad, which are never "
                "overwritten. Save somewhere else, e.g. the per-user weights folder."
            )
        saved = save_checkpoint(path, self.trained.model, self.trained.info)
        self.trained.path = saved
        self.message.emit(f"Saved the model to {saved}")
        return saved

    # -- fine-tuning (the worker comes from the fine-tuning panel) -------------------------

    def start_finetune(self, worker: StoppableWorker, on_finished: Sequence[Callable[[], None]] = ()) -> QThread | None:
        """Run ``worker`` on a thread of its own, as a run; None (nothing done) while busy. ``on_finished`` run
        when its thread has ended (connected before it starts)."""
        if self.is_busy():
            return None
        thread = self._finetune.start(
            worker, self, on_finished=[lambda: self.busyChanged.emit(self.is_busy()), *on_finished]
        )
        self.busyChanged.emit(True)
        return thread

    def stop_finetune(self) -> None:
        self._finetune.request_stop()

    def download(self) -> bool:
        """Download MNIST into the per-user folder in a worker thread; False while busy."""
        if self.is_busy():
            return False
        worker = DownloadWorker(None, downloader=self._downloader)
        worker.progress.connect(self.downloadProgress)
        worker.finished.connect(self._on_downloaded)
        worker.failed.connect(self.downloadFailed)
        worker.cancelled.connect(self.downloadCancelled)
        worker.message.connect(self.message)
        self.message.emit("Downloading MNIST…")
        self._download.start(worker, self, on_finished=[lambda: self.busyChanged.emit(self.is_busy())])
        self.busyChanged.emit(True)
        return True

    def cancel_download(self) -> bool:
        if not self.is_downloading():
            return False
        self._download.request_stop()
        return True

    @Slot(object)
    def _on_downloaded(self, folder: Path) -> None:
        self.message.emit(f"Downloaded MNIST to {folder}")
        self.set_data_dir(folder)

    def estimate(self, key: object, config: TrainConfig, model_config: ModelConfig) -> bool:
        """Time a few training steps in the background, then emit ``estimateReady(key, seconds)``.

        Skipped (False) while a run or another estimate is going: it would
        measure a machine that is busy with something else.
        """
        if self.is_training() or self._estimate.running():
            return False
        worker = EstimateWorker(config, model_config)
        worker.estimated.connect(lambda seconds: self.estimateReady.emit(key, seconds))
        self._estimate.start(worker, self)
        return True

    @Slot()
    def shutdown(self) -> None:
        """Stop any run, download or estimate and wait for their threads (bounded); never terminates them.

        A stop is honoured within one batch; a stopped run still evaluates
        and autosaves its partial epoch (atomically), so no file is left
        half-written.
        """
        jobs = (self._run, self._download, self._estimate, self._finetune, self.pen_data.job)
        for job in jobs:
            job.request_stop()
        # Loading cannot be interrupted; it takes about a second.
        self._mnist_cache.wait(SHUTDOWN_TIMEOUT_MS / 1000)
        for job in jobs:
            if not stop_and_wait(job.worker, job.thread, SHUTDOWN_TIMEOUT_MS):
                log.warning("%s did not stop within %d ms", job.thread.objectName(), SHUTDOWN_TIMEOUT_MS)
                # Never destroy a running QThread (that aborts the process): keep it referenced.
                job.thread.setParent(None)
                _orphaned_threads.append((job.thread, job.worker))
