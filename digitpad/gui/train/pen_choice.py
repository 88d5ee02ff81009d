"""The Train tab's optional pen-data file: real pen digits (UNIPEN's export format) a run adds to MNIST.

:class:`PenDataChoice` holds the file in use, reads a newly chosen one on
a thread of its own (:class:`PenDataReader`) and remembers it in the
settings. A file that cannot be used leaves the previous choice in place:
a click on a wrong file should not silently drop the right one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path

from PySide6.QtCore import QObject, QSettings, QThread, Signal, Slot

from digitpad.data.pen_data import PenData, PenDataError, load_pen_data
from digitpad.gui.common.workers import TRAINING_NICENESS, Job, StoppableWorker, lower_thread_priority
from digitpad.gui.state import preferences as prefs
from digitpad.training.config import PEN_FILE_SHARE, TrainConfig
from digitpad.training.loop import PenSets

log = logging.getLogger(__name__)

#: The panel's line when no file is chosen, and the log's when a run trains on MNIST only.
MNIST_ALONE = "MNIST alone (no pen data)"


@dataclass(frozen=True)
class PenDataStatus:
    """What the Data panel shows of the pen data: its line, and whether a file is in use or being read."""

    text: str
    chosen: bool
    reading: bool
    #: The full path, for the line's tooltip ("" when none).
    path: str = ""


class PenDataReader(StoppableWorker):
    """Reads one pen-data file on the worker thread and checks that it has digits to train on."""

    #: The PenData read.
    loaded = Signal(object)
    #: One line: why the file cannot be used.
    failed = Signal(str)

    def __init__(self, path: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.path = path

    @Slot()
    def run(self) -> None:
        # Not heavy_work(): its process-wide GIL switch interval, saved and restored, would get mixed up with
        # a fine-tuning run's, which may overlap a read of the remembered file.
        lower_thread_priority(TRAINING_NICENESS)
        try:
            data = load_pen_data(self.path)
            if data.digits:
                self.loaded.emit(data)
            else:
                # The CLI refuses such a file for --pen-data too: a file of letters teaches no digit.
                self.failed.emit(f"{self.path}: no digits (labels 0-9) in this pen-data file")
        except PenDataError as error:
            self.failed.emit(str(error))
        except Exception as error:
            log.exception("reading %s failed unexpectedly", self.path)
            self.failed.emit(f"{self.path}: unexpected {type(error).__name__}: {error}")
        finally:
            # From inside: a queued QThread.quit would wait for the GUI thread, which may be waiting for us.
            QThread.currentThread().quit()


class PenDataChoice(QObject):
    """The pen-data file in use (or none), read off the GUI thread and remembered (see the module docstring).

    Signals:
        changed(PenDataStatus): the file in use, or the reading of one, changed.
        problem(str): a file could not be used, why in one line (empty text: no problem any more).
    """

    changed = Signal(object)
    problem = Signal(str)

    def __init__(self, settings: QSettings, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self._job = Job()
        self._data: PenData | None = None
        self._data_path: Path | None = None
        self._reading: Path | None = None
        # Read when the tab is first shown (prepare()), not at start-up: parsing a large file holds the GIL.
        saved = prefs.read_str(settings, prefs.TRAIN_PEN_DATA_KEY, "")
        self._unread: Path | None = Path(saved) if saved else None

    @property
    def data(self) -> PenData | None:
        """The file in use, read; None for MNIST alone."""
        return self._data

    @property
    def job(self) -> Job:
        """The reader's worker and thread: the session waits for it on shutdown (reading cannot be interrupted)."""
        return self._job

    def is_reading(self) -> bool:
        """True while a file is being read, or a remembered one waits to be (a run must wait for it)."""
        return self._reading is not None or self._unread is not None

    def status(self) -> PenDataStatus:
        if self._reading is not None or self._unread is not None:
            path = self._reading or self._unread
            return PenDataStatus(f"Reading {path.name}…", self._data is not None, True, str(path))
        if self._data is None:
            return PenDataStatus(MNIST_ALONE, False, False)
        text = f"Pen data: {self._data.name}, {len(self._data.digits):,}\N{NO-BREAK SPACE}digits"
        return PenDataStatus(text, True, False, str(self._data_path))

    def prepare(self) -> None:
        """Start reading the file remembered from last time, if it has not been read yet."""
        if self._unread is not None and self._reading is None:
            path, self._unread = self._unread, None
            self._read(path)

    def choose(self, path: Path) -> bool:
        """Start reading ``path``; it replaces the file in use once read. False (nothing done) while reading."""
        if self.is_reading():
            return False
        self._read(Path(path).expanduser())
        return True

    def clear(self) -> bool:
        """Train on MNIST alone from now on, and forget the file. False (nothing done) while reading."""
        if self.is_reading():
            return False
        self._data, self._data_path = None, None
        self.settings.remove(prefs.TRAIN_PEN_DATA_KEY)
        self.problem.emit("")
        self.changed.emit(self.status())
        return True

    def _read(self, path: Path) -> None:
        self._reading = path
        worker = PenDataReader(path)
        worker.loaded.connect(self._on_loaded)
        worker.failed.connect(self._on_failed)
        self._job.start(worker, self, on_finished=[self._on_thread_finished])
        self.changed.emit(self.status())

    @Slot(object)
    def _on_loaded(self, data: PenData) -> None:
        self._data, self._data_path = data, self._reading
        self.settings.setValue(prefs.TRAIN_PEN_DATA_KEY, str(self._reading))
        self.problem.emit("")

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        if self._data is None:
            # The remembered file is gone or broken and nothing else is in use: forget it, so that the
            # settings say what the panel shows (MNIST alone) and the error does not come back every start.
            self.settings.remove(prefs.TRAIN_PEN_DATA_KEY)
        self.problem.emit(message)

    @Slot()
    def _on_thread_finished(self) -> None:
        # After loaded/failed, which the worker emits before its thread ends: the status is then final.
        self._reading = None
        self.changed.emit(self.status())

    def for_run(self, config: TrainConfig) -> tuple[TrainConfig, PenSets | None, str]:
        """``config`` as a run gets it, the pen data it trains on, and the log's line saying which data.

        With a file and a recipe that gives pen digits no share, the file gets
        the default share (PEN_FILE_SHARE), as ``digitpad train --pen-data`` does.
        """
        if self._data is None:
            return config, None, f"Data: {MNIST_ALONE}"
        if not config.pen_digits:
            config = replace(config, pen_digits=PEN_FILE_SHARE)
        described = f"Data: MNIST and {self._data.name} ({len(self._data.digits):,} pen digits)"
        return config, PenSets(digits=(self._data,)), described
