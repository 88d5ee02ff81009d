"""The personal samples as the window shares them: one store, a signal when they change.

The Draw tab's teach bar adds to it, the *My samples* dialog shows, deletes,
relabels, exports and imports, and the Train tab's fine-tuning panel counts
and reads it. Every change goes through here, so all of them stay in step.

Reading the samples folder and importing one run in worker threads
(:mod:`digitpad.gui.common.workers`), so that a large folder never blocks
the window: while the samples load, :meth:`PersonalSamples.is_loading` is
True and :attr:`~PersonalSamples.samples` and :meth:`~PersonalSamples.counts`
are empty, so that what needs all of them (fine-tuning, evaluating,
exporting) waits; teaching goes on, and a sample taught then is kept with
those loaded.
"""

from __future__ import annotations

import os

from PySide6.QtCore import QObject, Signal

from digitpad.base.constants import NUM_CLASSES
from digitpad.gui.common.workers import Job, ProgressThrottle, StoppableWorker, heavy_work, stop_and_wait
from digitpad.ink.samples import (
    FolderRead,
    ImportResult,
    PersonalSample,
    SampleError,
    SampleStore,
    import_samples,
    read_folder,
)

#: How long closing the window waits for a load or an import to stop (each stops between two files).
STOP_TIMEOUT_MS = 30_000


class _LoadWorker(StoppableWorker):
    """Reads the samples folder (:func:`digitpad.ink.samples.read_folder`) on its own thread."""

    loaded = Signal(object)
    failed = Signal(str)

    def __init__(self, store: SampleStore) -> None:
        super().__init__()
        self.folder = store.folder

    def run(self) -> None:
        with heavy_work("loading the personal samples", self.failed, (SampleError,)):
            self.loaded.emit(read_folder(self.folder, should_stop=self.stop_requested))


class _ImportWorker(StoppableWorker):
    """Imports a folder of samples (:func:`digitpad.ink.samples.import_samples`) on its own thread."""

    progress = Signal(int, int)
    finished = Signal(object)
    failed = Signal(str)

    def __init__(self, source: str | os.PathLike, store: SampleStore) -> None:
        super().__init__()
        # A copy of the list: the GUI thread goes on changing the store's.
        self.source, self.folder, self.present = source, store.folder, list(store.samples)
        self.throttle = ProgressThrottle()

    def report(self, done: int, total: int) -> None:
        if self.throttle.ready(force=done == total):
            self.progress.emit(done, total)

    def run(self) -> None:
        with heavy_work("importing samples", self.failed, (SampleError,)):
            result = import_samples(self.source, self.folder, self.present, self.report, self.stop_requested)
            self.finished.emit(result)


class PersonalSamples(QObject):
    """A :class:`digitpad.ink.samples.SampleStore` with Qt signals.

    ``load_now``: read the folder here, before returning; else call
    :meth:`load_in_background` (what the window does).

    Signals:
        changed(): a sample was added, deleted or relabelled, samples were imported, or the samples are loaded.
        loaded(): the samples folder has been read (after :meth:`load_in_background`).
        problem(str): one line for the user: a failed write, or files skipped
            (empty: nothing to report any more).
        importProgress(int, int): files of the import gone through, of how many.
        importFinished(object): the import is over: its ImportResult, or None if it failed (``problem`` says why).
    """

    changed = Signal()
    loaded = Signal()
    problem = Signal(str)
    importProgress = Signal(int, int)
    importFinished = Signal(object)

    def __init__(
        self, folder: str | os.PathLike | None = None, parent: QObject | None = None, *, load_now: bool = True
    ) -> None:
        super().__init__(parent)
        self.store = SampleStore(folder)
        self._loading = self._importing = False
        self._load_job, self._import_job = Job(), Job()
        if load_now:
            self.store.load()

    def load_in_background(self) -> None:
        """Read the samples folder in a worker thread; ``loaded`` and ``changed`` once it is done."""
        if self._loading:
            return
        if not self.store.folder.exists():  # nothing to read: no thread, and no waiting for one
            self.loaded.emit()
            return
        self._loading = True
        worker = _LoadWorker(self.store)
        worker.loaded.connect(self._on_loaded)
        worker.failed.connect(self._on_load_failed)
        self._load_job.start(worker, self)

    def is_loading(self) -> bool:
        return self._loading

    def _on_loaded(self, read: FolderRead) -> None:
        self.store.use(read)  # keeps the samples taught meanwhile
        self._loading = False
        self.loaded.emit()
        self.changed.emit()
        if self.store.warnings:
            self.problem.emit(self.skipped())

    def _on_load_failed(self, message: str) -> None:
        self._loading = False
        self.loaded.emit()
        self.changed.emit()
        self.problem.emit(f"Could not read your samples: {message}")

    @property
    def samples(self) -> list[PersonalSample]:
        """The samples (none while they load: see the module docstring)."""
        return [] if self._loading else list(self.store.samples)

    def counts(self) -> list[int]:
        return [0] * NUM_CLASSES if self._loading else self.store.counts()

    def skipped(self) -> str:
        """One line on the files skipped at the last load or import ("" if none)."""
        store = self.store
        broken = [line for line in store.warnings if line != store.not_read_line]
        parts = [f"{len(broken)} file(s) skipped: {broken[0]}"] if broken else []
        return " ".join(parts + ([store.not_read_line] if store.not_read_line else []))

    def _do(self, action, *args) -> object | None:
        try:
            result = action(*args)
        except SampleError as error:
            self.problem.emit(str(error))
            return None
        self.changed.emit()
        return result

    def add(self, sample: PersonalSample) -> PersonalSample | None:
        """Keep ``sample`` (written at once); None if it could not be written (``problem`` says why)."""
        return self._do(self.store.add, sample)

    def delete(self, samples: list[PersonalSample]) -> bool:
        return self._do(lambda: [self.store.delete(sample) for sample in samples]) is not None

    def relabel(self, samples: list[PersonalSample], label: int) -> bool:
        return self._do(lambda: [self.store.relabel(sample, label) for sample in samples]) is not None

    def export_to(self, folder: str | os.PathLike) -> int | None:
        if self._loading:
            self.problem.emit("Your samples are still loading: export them in a moment")
            return None
        return self._do(self.store.export_to, folder)

    def start_import(self, folder: str | os.PathLike) -> bool:
        """Import the samples of ``folder`` in a worker thread (``importProgress``, then ``importFinished``);
        False if it cannot start now (loading, or an import running: ``problem`` says so)."""
        if self._loading or self.is_importing() or self._import_job.running():
            self.problem.emit("Wait for your samples to load first" if self._loading else "An import is running")
            return False
        worker = _ImportWorker(folder, self.store)
        worker.progress.connect(self.importProgress)
        worker.finished.connect(self._on_imported)
        worker.failed.connect(self._on_import_failed)
        self._import_job.start(worker, self)
        self._importing = True
        return True

    def is_importing(self) -> bool:
        """True from :meth:`start_import` until ``importFinished``."""
        return self._importing

    def cancel_import(self) -> None:
        """Stop the import before its next file; the samples added so far are kept."""
        self._import_job.request_stop()

    def _on_imported(self, result: ImportResult) -> None:
        self._importing = False
        self.store.take_imported(result)
        self.changed.emit()
        self.problem.emit(self.skipped())
        self.importFinished.emit(result)

    def _on_import_failed(self, message: str) -> None:
        self._importing = False
        self.problem.emit(message)
        self.importFinished.emit(None)

    def shutdown(self, timeout_ms: int = STOP_TIMEOUT_MS) -> bool:
        """Stop loading and importing (between two files) and wait for their threads; True if none is left."""
        stopped = [stop_and_wait(job.worker, job.thread, timeout_ms) for job in (self._load_job, self._import_job)]
        return all(stopped)
