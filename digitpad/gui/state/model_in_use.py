"""The model the app draws with: one small object that the tabs and the window share.

The window owns it; the Draw tab predicts with it, the Train tab compares new
models with it and can put one in its place. Whoever changes it calls
:meth:`ModelInUse.set`; everyone who shows it listens to ``changed``. No tab
asks another tab which model is in use.

It also owns the adaptation to the user's handwriting (an
:class:`digitpad.model.adapt.Adapter`, given to every predictor put in use):
the teach bar gives it the personal samples, the Draw tab's toggle turns it
on or off, and ``adaptationChanged`` tells the Draw tab to read again. The
adapter is made with the first predictor (it imports torch, which the window
loads after its first paint); samples and the toggle given before are kept
until then. A few new samples (one taught, or the same ones relabelled) are
read when the next reading needs them, on the GUI thread: 1 ms each. Many
(the folder loaded, an import, another model) are read in a worker thread
first, 0.8 s for 300 on the 2-core development machine, and readings stay
the network's until then (:meth:`ModelInUse.adapting`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QObject, Signal

from digitpad.gui.common.workers import Job, StoppableWorker, heavy_work, stop_and_wait

if TYPE_CHECKING:  # torch stays a lazy import: the window shows before it is loaded
    from digitpad.model.adapt import Adapter
    from digitpad.model.inference import Predictor


#: More new samples than this are read in a worker thread before the readings adapt to them.
FEW_SAMPLES = 16
#: How long closing the window waits for the samples being read (reading cannot stop half-way; 300 take ~1 s).
STOP_TIMEOUT_MS = 30_000


class _PrepareWorker(StoppableWorker):
    """Reads the samples with the predictor, for the adapter (:meth:`digitpad.model.adapt.Adapter.prepare`)."""

    failed = Signal(str)

    def __init__(self, adapter: Adapter, predictor: Predictor) -> None:
        super().__init__()
        self.adapter, self.predictor = adapter, predictor

    def run(self) -> None:
        with heavy_work("reading your samples to adapt to them", self.failed):
            self.adapter.prepare(self.predictor)


class ModelInUse(QObject):
    """The predictor in use (a :class:`digitpad.model.inference.Predictor`, or None) and how it got there.

    Signals:
        changed(object): the predictor now in use (None: none), after every :meth:`set`
            and :meth:`set_loading`.
        adaptationChanged(): the readings may change: other samples to adapt to, or the toggle.
    """

    changed = Signal(object)
    adaptationChanged = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._predictor = None
        self._problem: str | None = None
        # Until someone sets a model, the app is still loading one.
        self._loading = True
        self._adapter: Adapter | None = None
        # What the adapter gets once it is made (see the module's docstring).
        self._adapt_enabled = True
        self._adapt_samples: tuple[np.ndarray, np.ndarray] = (np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.int64))
        self._prepare_job = Job()
        #: The predictor the adapter last read the samples for in the worker, and how many there were.
        self._ready: tuple[object | None, int] = (None, 0)
        self._preparing: tuple[object | None, int] = (None, 0)
        #: From a worker's start until its end is handled here (its thread may be finished before that).
        self._in_worker = False
        #: The samples last given to the adapter.
        self._given: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def predictor(self) -> Predictor | None:
        return self._predictor

    @property
    def problem(self) -> str | None:
        """Why the wanted weights could not be used, if they could not (shown above the pad)."""
        return self._problem

    @property
    def loading(self) -> bool:
        """True while the start-up loader is still loading the first model."""
        return self._loading

    @property
    def source(self) -> Path | None:
        """The file the predictor came from (None: none, or trained in this session and not saved)."""
        source = getattr(self._predictor, "source", None)
        return Path(source) if source is not None else None

    def missing(self) -> str | None:
        """What the window says without a model: that it is loading, or that none is; None with one."""
        if self._loading:
            return "Loading the model…"
        return "No model loaded" if self._predictor is None else None

    def set_loading(self) -> None:
        self._predictor, self._problem, self._loading = None, None, True
        self.changed.emit(None)

    def set(self, predictor: Predictor | None, problem: str | None = None) -> None:
        """Use ``predictor`` (None: no model); ``problem`` says why the wanted weights were not used.

        A model without a "not a digit" output of its own gets the shipped gate (:mod:`digitpad.model.gate`).
        """
        if predictor is not None:
            from digitpad.model.gate import attach_gate

            attach_gate(predictor)
        self._predictor, self._problem, self._loading = predictor, problem, False
        if predictor is not None:
            self._made_adapter()
            self._adapt()
        self.changed.emit(predictor)

    def _adapt(self) -> None:
        """Give the adapter to the predictor in use: at once with few samples to read, else once a worker has
        read them (see the module's docstring)."""
        predictor, adapter = self._predictor, self._adapter
        if predictor is None or adapter is None or self._in_worker:
            return  # a reading in the worker: its end comes back here
        ready_for, ready_count = self._ready
        unread = adapter.count if ready_for is not predictor else adapter.count - ready_count
        if unread <= FEW_SAMPLES:
            predictor.adapter = adapter
            return
        predictor.adapter = None  # the network's readings until the samples are read
        self._preparing, self._in_worker = (predictor, adapter.count), True
        # A bound method, not a lambda: it then runs on this (the GUI) thread, not the worker's.
        self._prepare_job.start(_PrepareWorker(adapter, predictor), self, on_finished=[self._on_prepared])

    def _on_prepared(self) -> None:
        self._ready, self._in_worker = self._preparing, False
        self._give_samples()  # those given while the worker read, if any
        self._adapt()
        self.adaptationChanged.emit()

    def _give_samples(self) -> None:
        if self._adapter is not None and self._given is not self._adapt_samples:
            self._adapter.set_samples(*self._adapt_samples)
            self._given = self._adapt_samples

    def adapting(self) -> bool:
        """True while a worker reads the samples (the readings are the network's until it is done)."""
        return self._in_worker

    def shutdown(self, timeout_ms: int = STOP_TIMEOUT_MS) -> bool:
        """Wait for the samples being read; True if no thread is left."""
        return stop_and_wait(self._prepare_job.worker, self._prepare_job.thread, timeout_ms)

    def _made_adapter(self) -> Adapter:
        if self._adapter is None:
            from digitpad.model.adapt import Adapter

            self._adapter = Adapter()
            self._adapter.enabled = self._adapt_enabled
            self._give_samples()
        return self._adapter

    @property
    def adapter(self) -> Adapter | None:
        """The adaptation to the user's samples (None until a predictor has been put in use)."""
        return self._adapter

    @property
    def adaptation_enabled(self) -> bool:
        return self._adapt_enabled

    @property
    def adapted_count(self) -> int:
        """How many samples the readings adapt to (whether or not adaptation is on)."""
        return len(self._adapt_samples[1])

    def set_adaptation_enabled(self, enabled: bool) -> None:
        """Read with (True) or without the adaptation to the user's samples."""
        if bool(enabled) == self._adapt_enabled:
            return
        self._adapt_enabled = bool(enabled)
        if self._adapter is not None:
            self._adapter.enabled = self._adapt_enabled
        self.adaptationChanged.emit()

    def set_adaptation_samples(self, images: np.ndarray, labels: np.ndarray) -> None:
        """Adapt to these samples (uint8 images (N, 28, 28), labels (N,)): the next reading uses them."""
        self._adapt_samples = (np.asarray(images, np.uint8), np.asarray(labels, np.int64))
        if not self._in_worker:
            # (While a worker reads, the adapter's lock is held: the samples are given when it is done.)
            self._give_samples()
            self._adapt()
        self.adaptationChanged.emit()
