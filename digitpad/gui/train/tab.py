"""The Train tab: get MNIST, retrain the network in the background, watch it learn, use the result.

The tab only composes and wires. Its state and work live in a
:class:`~digitpad.gui.train.session.TrainingSession`, the curves' numbers in
a Qt-free :class:`~digitpad.training.curves.CurveHistory`, the widgets in
the panels of this package, each in its own file.

All heavy work (loading MNIST, training, downloading, timing a recipe) runs
in worker threads; the slots here only move numbers into widgets, so the
Draw tab stays responsive during a run.
"""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QThread, QTimer, Signal, Slot
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QFrame, QHBoxLayout, QScrollArea, QVBoxLayout, QWidget

from digitpad.gui.common.format import format_duration
from digitpad.gui.common.style import box
from digitpad.gui.state.model_in_use import ModelInUse
from digitpad.gui.state.personal_samples import PersonalSamples
from digitpad.gui.train.data_panel import DataPanel
from digitpad.gui.train.finetune_panel import FinetunePanel
from digitpad.gui.train.kernel_view import KernelView
from digitpad.gui.train.model_panel import ModelPanel
from digitpad.gui.train.plots import TrainingPlots, describe_epoch
from digitpad.gui.train.run_panel import RunControls
from digitpad.gui.train.session import AUTOSAVE_NAME, TrainingSession
from digitpad.gui.train.settings_form import SettingsForm
from digitpad.gui.train.workers import DataLoader, Downloader
from digitpad.training.config import BatchProgress, EpochResult, TrainConfig, TrainResult
from digitpad.training.curves import CurveHistory

__all__ = ["AUTOSAVE_NAME", "TrainTab", "format_duration"]

SIDE_PANEL_WIDTH = 340
#: A changed setting waits this long for the next one before the run's duration is measured again.
ESTIMATE_DELAY_MS = 600
#: The training curves are redrawn at most this often (seconds; and at each epoch's end). Progress comes 20
#: times a second, and a redraw of both plots takes up to 22 ms late in a run on 2 cores with the GIL held
#: (bench/curve_paint.py; before the curves were drawn as segments, up to 120 ms, and a Best run's later
#: epochs took up to 60% longer than its first: bench/README.md, 2026-12-08, later).
CURVE_REFRESH_S = 0.25


class TrainTab(QWidget):
    """Data, settings, progress, curves and results of retraining the network.

    Signals:
        useModel(Predictor): the model just trained was put in use ("Use this model").
        weightsOpened(Predictor): weights from a file were put in use.
        trainingFinished(object): a run is over and its thread has finished: the TrainResult
            (``stopped`` set if Stop ended it), or None if it failed or was stopped before training began.
        trainingFailed(str): a run failed; the message is also shown in the tab and the log.
    """

    useModel = Signal(object)
    weightsOpened = Signal(object)
    trainingFinished = Signal(object)
    trainingFailed = Signal(str)

    def __init__(
        self,
        settings: QSettings,
        model_in_use: ModelInUse | None = None,
        parent: QWidget | None = None,
        *,
        data_loader: DataLoader | None = None,
        downloader: Downloader | None = None,
        samples: PersonalSamples | None = None,
    ) -> None:
        """``model_in_use`` is shared with the Draw tab (a private one if None); ``data_loader`` and
        ``downloader`` replace loading and downloading MNIST (tests inject small data); ``samples`` are the
        window's personal samples (None: the fine-tuning panel reads the folder itself)."""
        super().__init__(parent, objectName="trainTab")
        self.settings = settings
        self.model_in_use = model_in_use if model_in_use is not None else ModelInUse(self)
        self.session = TrainingSession(settings, self, data_loader=data_loader, downloader=downloader)
        self.history = CurveHistory()
        self._curves_shown_at = -float("inf")  # time.monotonic() of the last redraw of the training curves
        self.data_panel = DataPanel(self.session)
        self.settings_form = SettingsForm()
        self.run_controls = RunControls()
        self.model_panel = ModelPanel(self.session, self.model_in_use)
        self.plots = TrainingPlots(KernelView(self.session))
        self.finetune_panel = FinetunePanel(self.session, self.model_in_use, samples)
        self._estimate_timer = QTimer(self, singleShot=True, interval=ESTIMATE_DELAY_MS)
        self._run_failed = False
        self._lay_out()
        self.settings_form.load(settings)
        self._show_empty_axes()
        self._wire()
        self.update_buttons()
        # What the chosen recipe gives and costs, from the recipe itself: a figure written here went stale once.
        self.plots.log(f"Ready. {self.settings_form.recipe.title}: {self.settings_form.recipe.description}")

    def _lay_out(self) -> None:
        side = QWidget(objectName="trainSidePanel")
        panels = (self.data_panel, self.settings_form, self.run_controls, self.model_panel, self.finetune_panel)
        box(QVBoxLayout(side), *panels, None, margins=0, spacing=10)
        # A short window scrolls the side panel rather than squeezing its texts.
        scroll = QScrollArea(objectName="trainSideScroll")
        scroll.setWidget(side)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setFixedWidth(SIDE_PANEL_WIDTH + scroll.verticalScrollBar().sizeHint().width())
        side.setFixedWidth(SIDE_PANEL_WIDTH)
        box(QHBoxLayout(self), scroll, (self.plots, 1), margins=10, spacing=10)

    def _wire(self) -> None:
        session = self.session
        for source in (session, self.model_panel, self.finetune_panel):
            source.message.connect(self.plots.log)
        # A chosen folder can enable Start; a pen-data file being read disables it until it is read.
        for change in (session.busyChanged, session.dataStatusChanged, session.pen_data.changed):
            change.connect(self.update_buttons)
        session.busyChanged.connect(lambda busy: busy or self._estimate_timer.start())
        session.runStarted.connect(self._on_run_started)
        session.batchProgress.connect(self._on_batch_progress)
        session.epochFinished.connect(self._on_epoch_finished)
        session.runFinished.connect(self._on_run_finished)
        session.runFailed.connect(self._on_run_failed)
        session.autosaveFailed.connect(self.run_controls.show_warning)
        session.estimateReady.connect(self._on_estimate)
        self.run_controls.start_button.clicked.connect(self.start_training)
        self.run_controls.stop_button.clicked.connect(self.stop_training)
        for panel in (self.model_panel, self.finetune_panel):
            panel.useModel.connect(self.useModel)
        self.model_panel.weightsOpened.connect(self.weightsOpened)
        self.settings_form.changed.connect(self._on_settings_changed)
        self._estimate_timer.timeout.connect(self._estimate_duration)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        # The user is looking at this tab, not drawing: a good moment for the one-off imports and the data loading
        # (they would stall the GUI when a run starts), and for timing the recipe.
        self.session.prepare()
        self._estimate_timer.start()

    @Slot()
    def start_training(self) -> None:
        """Start a run with the form's settings, and keep them; does nothing while busy or without data."""
        if self.session.start(self.settings_form.config(), self.settings_form.model_config()):
            self.settings_form.save(self.settings)

    @Slot()
    def stop_training(self) -> None:
        """Ask the run to stop after the current batch; the partial model stays usable."""
        if self.session.stop():
            self.run_controls.stop_button.setEnabled(False)
            self.run_controls.show_state("Stopping…")

    @Slot(object)
    def _on_run_started(self, config: TrainConfig) -> None:
        self._run_failed = False
        self.history.reset(config.epochs, config.batch_size)
        self._curves_shown_at = -float("inf")
        self.plots.reset(self.history)
        self.plots.show_per_class(None)
        self.run_controls.show_started()
        self.model_panel.show_run_started()
        self.plots.log(self.settings_form.describe(config))

    @Slot(object)
    def _on_batch_progress(self, event: BatchProgress) -> None:
        loss, accuracy = self.history.add_batch(event)
        now = time.monotonic()
        if event.batch == event.batches or now - self._curves_shown_at >= CURVE_REFRESH_S:
            self._curves_shown_at = now
            self.plots.show_training(self.history)
        if not self.session.stop_requested():
            self.run_controls.show_progress(event, loss, accuracy)

    @Slot(object)
    def _on_epoch_finished(self, result: EpochResult) -> None:
        self.history.add_epoch(result)
        self.plots.show_test(self.history)
        self.plots.show_per_class(result.per_class_accuracy)
        self.model_panel.show_epoch(result)
        self.plots.log(describe_epoch(result))

    @Slot(object)
    def _on_run_finished(self, result: TrainResult | None) -> None:
        seconds = self.session.run_seconds()
        self.plots.show_training(self.history)  # the points since the last redraw (a stopped run's last ones)
        if self._run_failed:
            pass  # said when it failed
        elif result is None or not result.history:
            self.run_controls.show_state("Stopped")
            self.plots.log("Stopped before training began")
        elif result.stopped:
            self.run_controls.show_state(f"Stopped at {self.run_controls.fraction_done():.0%}")
            self.plots.log(f"Stopped: partial model, test accuracy {result.history[-1].test_accuracy:.2%}")
        else:
            self.run_controls.show_state(f"Done in {format_duration(seconds)}", 1.0)
            self.plots.log(f"Done in {format_duration(seconds)}: test accuracy {result.history[-1].test_accuracy:.2%}")
        if result is not None and result.checkpoint is not None:
            self.plots.log(f"Autosave: {result.checkpoint}")
        if not self._run_failed:
            self.model_panel.show_run_end(result, seconds)
        if result is not None and result.history:
            self.plots.show_per_class(result.history[-1].per_class_accuracy)
        self.update_buttons()
        self.trainingFinished.emit(result)

    @Slot(str)
    def _on_run_failed(self, message: str) -> None:
        self._run_failed = True
        self.run_controls.show_failed(message)
        self.model_panel.show_run_failed()
        self.plots.log(f"Error: {message}")
        self.trainingFailed.emit(message)

    @Slot()
    def _on_settings_changed(self) -> None:
        self.settings_form.show_estimate(None)
        self._estimate_timer.start()
        self._show_empty_axes()

    def _show_empty_axes(self) -> None:
        """Before the first run, the axes span the epochs the form asks for."""
        if self.session.result is None and not self.session.is_busy() and not self.history.train_loss.x:
            config = self.settings_form.config()
            self.history.reset(config.epochs, config.batch_size)
            self.plots.reset(self.history)

    @Slot()
    def _estimate_duration(self) -> None:
        if not self.isVisible() or self.session.is_busy():
            return
        key = (self.settings_form.config(), self.settings_form.model_config())
        if self.session.estimate(key, *key):
            self.settings_form.show_estimate(None)
        else:
            self._estimate_timer.start()  # another measurement is under way: ask again after it

    @Slot(object, float)
    def _on_estimate(self, key: object, seconds: float) -> None:
        if key == (self.settings_form.config(), self.settings_form.model_config()):
            self.settings_form.show_estimate(seconds)

    # -- for tests, tools and the window --------------------------------------------------

    @Slot()
    def update_buttons(self) -> None:
        session = self.session
        busy, training = session.is_busy(), session.is_training()
        ready, reading = session.data_ready(), session.pen_data.is_reading()
        if not (ready or busy):
            start_tip = "Download MNIST or choose a folder with it first"
        elif reading and not busy:
            start_tip = "Reading the pen data first…"
        else:
            start_tip = "Train a new model with these settings in the background"
        self.run_controls.set_buttons(
            can_start=not busy and ready and not reading,
            can_stop=training and not session.stop_requested(),
            start_tip=start_tip,
        )
        self.settings_form.set_enabled(not busy)
        self.model_panel.set_buttons(training=training)

    def set_data_dir(self, folder: Path) -> bool:
        return self.session.set_data_dir(folder, preload=self.isVisible())

    @property
    def data_dir(self) -> Path:
        return self.session.data_dir

    @property
    def last_result(self) -> TrainResult | None:
        return self.session.result

    @property
    def training_thread(self) -> QThread | None:
        return self.session.training_thread

    @property
    def download_thread(self) -> QThread | None:
        return self.session.download_thread

    def is_training(self) -> bool:
        return self.session.is_training()

    def is_downloading(self) -> bool:
        return self.session.is_downloading()

    def is_busy(self) -> bool:
        return self.session.is_busy()

    def wait_until_prepared(self, timeout: float = 60.0) -> bool:
        return self.session.wait_until_prepared(timeout)

    @Slot()
    def shutdown(self) -> None:
        """Stop any run, download or measurement and wait for their threads (bounded); never terminates them."""
        self._estimate_timer.stop()
        self.session.shutdown()
