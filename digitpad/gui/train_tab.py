"""The Train tab: get MNIST, retrain the network in the background, watch it learn, use the result.

All heavy work (loading MNIST, training, downloading) runs in worker
threads (:mod:`digitpad.gui.workers`); the slots here only move numbers into
widgets, so the Draw tab stays responsive during a run. Curves are
PlotDataItems created once and refreshed with ``setData``.
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QCoreApplication, QSettings, Qt, QThread, Signal, Slot
from PySide6.QtGui import QColor, QFont, QFontDatabase, QShowEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QGraphicsItem,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from digitpad.checkpoint import CheckpointError, CheckpointInfo, save_checkpoint
from digitpad.constants import NUM_CLASSES
from digitpad.data import MNIST_FILES, find_idx_file, has_mnist, resolve_data_dir
from digitpad.download import download_mnist
from digitpad.gui.style import MUTED_TEXT, section_title, set_text_colour, white_panel
from digitpad.gui.workers import (
    DataLoader,
    Downloader,
    DownloadProgress,
    DownloadWorker,
    MnistCache,
    TrainingWorker,
    start_in_thread,
    stop_and_wait,
    warm_up_training,
)
from digitpad.inference import Predictor
from digitpad.model import DigitNet
from digitpad.paths import shipped_weights_dir, shipped_weights_path, user_weights_dir
from digitpad.train import BatchProgress, EpochResult, TrainConfig, TrainResult, available_devices, choose_device

#: The Train tab runs three epochs by default (about 99.3% in under two
#: minutes on 2 cores); the core's default is a one-epoch quick run.
APP_DEFAULT_EPOCHS = 3


def app_defaults() -> TrainConfig:
    """The Train tab's default settings: the core recipe with APP_DEFAULT_EPOCHS."""
    return TrainConfig(epochs=APP_DEFAULT_EPOCHS)


log = logging.getLogger(__name__)

#: The worker writes the model here after every epoch, so a crash loses at most one epoch.
AUTOSAVE_NAME = "autosave.safetensors"
#: A trained model the user put to use without saving it; kept so "the weights last used" survive a restart.
LAST_USED_NAME = "last-trained.safetensors"
WEIGHTS_FILTER = "digitpad weights (*.safetensors)"

#: How long shutdown() waits for a worker. A stop is honoured within one
#: batch (tens of ms), but the epoch's evaluation and autosave, or a download
#: chunk, may still have to finish.
SHUTDOWN_TIMEOUT_MS = 30_000

#: Initial loss axis (log scale): from a fresh model's 2.3 down to a good model's test loss.
INITIAL_LOSS_RANGE = (0.05, 3.0)
#: Exponential smoothing of the training curves, by images seen: each curve
#: point mostly reflects the last few thousand images (a couple of dozen batches).
SMOOTHING_IMAGES = 3000
#: Legend of the training curves: smoothed means over the last few batches.
TRAIN_LEGEND = "training (smoothed)"
#: Loss axis labels (the axis is logarithmic).
LOSS_TICKS = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10, 30)
# The Draw tab's colours: its accent blue, grey-blue bars, the same axes.
TRAIN_COLOUR = "#2f6fde"
TEST_COLOUR = "#e8743b"
BAR_COLOUR = "#a0b2c8"
WEAKEST_COLOUR = "#e8743b"
AXIS_COLOUR = "#9aa0aa"
AXIS_TEXT_COLOUR = "#3c4048"
ERROR_COLOUR = QColor("#c0392b")
# Threads whose wait timed out in shutdown(): kept referenced so that Python
# does not destroy a running QThread (which aborts the process).
_orphaned_threads: list[tuple[QThread, object]] = []


def format_duration(seconds: float) -> str:
    """0:42, 3:05, 1:02:10."""
    if not math.isfinite(seconds) or seconds < 0:
        return "--:--"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def is_inside(path: Path, folder: Path) -> bool:
    """Whether ``path`` is ``folder`` or lies below it, after resolving links."""
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


def missing_mnist_files(folder: Path) -> list[str]:
    return [stem for stem in MNIST_FILES.values() if find_idx_file(folder, stem) is None]


class TrainTab(QWidget):
    """Data, settings, progress, curves and results of retraining the network."""

    #: A Predictor for the model just trained; the user clicked "Use this model".
    useModel = Signal(object)
    #: A Predictor for weights the user opened from a file.
    weightsOpened = Signal(object)
    #: A run is over and its thread has finished: the TrainResult (``stopped`` set if
    #: Stop ended it), or None if it failed or was stopped before training began.
    trainingFinished = Signal(object)
    #: A run failed; the message is also shown in the tab and the log.
    trainingFailed = Signal(str)

    #: The "quick run" option: the first this many training images.
    QUICK_RUN_TRAIN_IMAGES = 10_000
    #: ... and this many test images for each epoch's evaluation (None: all).
    QUICK_RUN_TEST_IMAGES: int | None = None

    def __init__(
        self,
        settings: QSettings,
        parent: QWidget | None = None,
        *,
        data_loader: DataLoader | None = None,
        downloader: Downloader | None = None,
    ) -> None:
        """``data_loader`` replaces loading MNIST from the folder (tests inject a small data set);
        ``downloader`` replaces :func:`digitpad.download.download_mnist`."""
        super().__init__(parent)
        self.setObjectName("trainTab")
        self.settings = settings
        self._data_loader = data_loader
        self._mnist_cache = MnistCache(data_loader)
        self._downloader = downloader or download_mnist
        self._data_dir = self._initial_data_dir()

        self._train_thread: QThread | None = None
        self._train_worker: TrainingWorker | None = None
        self._download_thread: QThread | None = None
        self._download_worker: DownloadWorker | None = None
        self._run_started = 0.0

        # The last finished run's model, for "Use this model" and "Save as".
        self._model: DigitNet | None = None
        self._model_info: CheckpointInfo | None = None
        self._model_path: Path | None = None
        self.last_result: TrainResult | None = None

        # Curve data, grown by the progress slots.
        self._train_x: list[float] = []
        self._train_loss: list[float] = []
        self._train_accuracy: list[float] = []
        self._test_x: list[float] = []
        self._test_loss: list[float] = []
        self._test_accuracy: list[float] = []
        self._previous_progress: BatchProgress | None = None
        self._smoothed_loss: float | None = None
        self._smoothed_accuracy: float | None = None
        self._batch_size_of_run = app_defaults().batch_size

        self._build_ui()
        self._load_settings()
        self._refresh_data_status()
        self._update_buttons()
        self._log("Ready. Defaults reach about 99.3% test accuracy in 3 epochs.")
        app = QCoreApplication.instance()
        if app is not None:
            # A safety net: the main window calls shutdown() when it closes.
            app.aboutToQuit.connect(self.shutdown)

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        # The user is looking at this tab, not drawing: a good moment for the
        # one-off imports and the data loading that would otherwise stall the
        # GUI when a run starts.
        warm_up_training()
        self._preload_data()

    def wait_until_prepared(self, timeout: float = 60.0) -> bool:
        """Block until the background preparation started by showing the tab (imports, data) is done."""
        deadline = time.perf_counter() + timeout
        warm_up_training().join(timeout)
        return self._mnist_cache.wait(max(0.0, deadline - time.perf_counter()))

    def _preload_data(self) -> None:
        if self.data_ready() and not self.is_training():
            self._mnist_cache.preload(self._data_dir)

    # ----------------------------------------------------------------- layout

    def _build_ui(self) -> None:
        side = QWidget(objectName="trainSidePanel")
        side.setFixedWidth(340)
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 0)
        side_layout.setSpacing(10)
        side_layout.addWidget(self._build_data_group())
        side_layout.addWidget(self._build_settings_group())
        side_layout.addWidget(self._build_run_group())
        side_layout.addWidget(self._build_model_group())
        side_layout.addStretch(1)

        # The plots' ranges are set by hand, not auto-ranged: a range change
        # repaints the whole plot with new ticks, which at 10 updates a second
        # costs the GUI thread tens of milliseconds each time.
        self.lossPlot = self._make_plot("loss (log scale)")
        self.lossPlot.setObjectName("lossPlot")
        self.lossPlot.setLogMode(y=True)
        self.lossPlot.getAxis("left").setTicks([[(math.log10(v), f"{v:g}") for v in LOSS_TICKS], []])
        self.lossPlot.setToolTip(
            "The training loss includes label smoothing, so it levels off near 0.5 while the test loss keeps falling."
        )
        self.accuracyPlot = self._make_plot("accuracy (%)")
        self.accuracyPlot.setObjectName("accuracyPlot")
        self._train_loss_curve = self._make_curve(self.lossPlot, TRAIN_LEGEND, TRAIN_COLOUR, symbol=False)
        self._test_loss_curve = self._make_curve(self.lossPlot, "test", TEST_COLOUR, symbol=True)
        self._train_accuracy_curve = self._make_curve(
            self.accuracyPlot, TRAIN_LEGEND, TRAIN_COLOUR, symbol=False, legend_at_bottom=True
        )
        self._test_accuracy_curve = self._make_curve(self.accuracyPlot, "test", TEST_COLOUR, symbol=True)
        self._loss_range = INITIAL_LOSS_RANGE
        self._reset_plot_ranges(app_defaults().epochs)

        self.perClassPlot = self._make_plot("accuracy (%)", x_label="digit")
        self.perClassPlot.setObjectName("perClassPlot")
        self.perClassPlot.setMouseEnabled(x=False, y=False)
        self.perClassPlot.getAxis("bottom").setTicks([[(d, str(d)) for d in range(NUM_CLASSES)]])
        self.perClassPlot.setXRange(-0.6, NUM_CLASSES - 0.4, padding=0)
        self._bar_brush = pg.mkBrush(BAR_COLOUR)
        self._weakest_brush = pg.mkBrush(WEAKEST_COLOUR)
        self._per_class_bars = pg.BarGraphItem(
            x=np.arange(NUM_CLASSES),
            height=np.zeros(NUM_CLASSES),
            width=0.72,
            brushes=[self._bar_brush] * NUM_CLASSES,
            pen=pg.mkPen(None),
        )
        self.perClassPlot.addItem(self._per_class_bars)
        self._per_class_labels = []
        for digit in range(NUM_CLASSES):
            label = pg.TextItem("", color=AXIS_TEXT_COLOUR, anchor=(0.5, 1.0))
            label.setFont(self._small_font())
            label.setPos(digit, 0)
            self.perClassPlot.addItem(label)
            self._per_class_labels.append(label)
        self._show_per_class(None)

        self.logView = QPlainTextEdit(objectName="trainingLog")
        self.logView.setReadOnly(True)
        self.logView.setMaximumBlockCount(5000)
        self.logView.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.logView.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.logView.setFrameShape(QFrame.Shape.NoFrame)

        curves = QSplitter(Qt.Orientation.Horizontal)
        curves.addWidget(self._plot_panel("Loss", self.lossPlot))
        curves.addWidget(self._plot_panel("Accuracy", self.accuracyPlot))
        bottom = QSplitter(Qt.Orientation.Horizontal)
        bottom.addWidget(self._plot_panel("Test accuracy per digit", self.perClassPlot))
        bottom.addWidget(self._plot_panel("Log", self.logView))
        bottom.setSizes([400, 500])
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(curves)
        right.addWidget(bottom)
        right.setSizes([480, 300])
        for splitter in (curves, bottom, right):
            splitter.setChildrenCollapsible(False)
            splitter.setHandleWidth(8)

        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 10, 10, 10)
        layout.setSpacing(10)
        layout.addWidget(side)
        layout.addWidget(right, 1)

    def _panel(self, title: str) -> tuple[QFrame, QVBoxLayout]:
        """A white panel with a heading, like the Draw tab's."""
        frame = white_panel(QFrame())
        layout = QVBoxLayout(frame)
        layout.setContentsMargins(12, 10, 12, 10)
        layout.setSpacing(6)
        layout.addWidget(section_title(title))
        return frame, layout

    def _plot_panel(self, title: str, widget: QWidget) -> QFrame:
        frame, layout = self._panel(title)
        layout.addWidget(widget, 1)
        return frame

    def _build_data_group(self) -> QFrame:
        group, layout = self._panel("Data")
        self.dataStatusLabel = QLabel(objectName="dataStatusLabel")
        self.dataStatusLabel.setTextFormat(Qt.TextFormat.RichText)
        self.dataFolderLabel = QLabel(objectName="dataFolderLabel")
        self.dataFolderLabel.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.dataFolderLabel.setWordWrap(True)
        set_text_colour(self.dataFolderLabel, MUTED_TEXT)
        self.chooseDataButton = QPushButton("Choose folder…", objectName="chooseDataButton")
        self.chooseDataButton.setToolTip("A folder with MNIST's four IDX files (raw or .gz)")
        self.chooseDataButton.clicked.connect(self._choose_data_folder)
        self.downloadButton = QPushButton("Download MNIST", objectName="downloadButton")
        self.downloadButton.setToolTip("Fetch MNIST (about 11 MB) into the per-user folder")
        self.downloadButton.clicked.connect(self.start_download)
        self.downloadProgress = QProgressBar(objectName="downloadProgress")
        self.downloadProgress.setRange(0, 1000)
        self.downloadProgress.setTextVisible(True)
        self.cancelDownloadButton = QPushButton("Cancel", objectName="cancelDownloadButton")
        self.cancelDownloadButton.clicked.connect(self.cancel_download)
        self.dataErrorLabel = self._error_label("dataErrorLabel")

        buttons = QHBoxLayout()
        buttons.addWidget(self.chooseDataButton)
        buttons.addWidget(self.downloadButton)
        download_row = QHBoxLayout()
        download_row.addWidget(self.downloadProgress, 1)
        download_row.addWidget(self.cancelDownloadButton)
        self._download_row = QWidget()
        self._download_row.setLayout(download_row)
        download_row.setContentsMargins(0, 0, 0, 0)
        self._download_row.setVisible(False)

        layout.addWidget(self.dataStatusLabel)
        layout.addWidget(self.dataFolderLabel)
        layout.addLayout(buttons)
        layout.addWidget(self._download_row)
        layout.addWidget(self.dataErrorLabel)
        return group

    def _build_settings_group(self) -> QFrame:
        defaults = app_defaults()
        group, layout = self._panel("Settings")
        self.epochsSpin = QSpinBox(objectName="epochsSpin")
        self.epochsSpin.setRange(1, 200)
        self.batchSizeSpin = QSpinBox(objectName="batchSizeSpin")
        self.batchSizeSpin.setRange(8, 4096)
        self.batchSizeSpin.setSingleStep(32)
        self.learningRateSpin = QDoubleSpinBox(objectName="learningRateSpin")
        self.learningRateSpin.setDecimals(4)
        self.learningRateSpin.setRange(0.0001, 1.0)
        self.learningRateSpin.setSingleStep(0.001)
        self.learningRateSpin.setToolTip("Peak learning rate of the one-cycle schedule (AdamW)")
        self.augmentCheck = QCheckBox("Augmentation", objectName="augmentCheck")
        self.augmentCheck.setToolTip(
            "Slant, rotate, stretch and thicken the training digits so the model also reads pen drawings"
        )
        self.deviceCombo = QComboBox(objectName="deviceCombo")
        for name in available_devices():
            text = f"auto ({choose_device('auto').type})" if name == "auto" else name
            self.deviceCombo.addItem(text, name)
        self.quickRunCheck = QCheckBox(
            f"Quick run (first {self.QUICK_RUN_TRAIN_IMAGES:,} images)", objectName="quickRunCheck"
        )
        self.quickRunCheck.setToolTip("Train on a subset: a fast check of the settings, lower accuracy")
        self.defaultsButton = QPushButton("Restore defaults", objectName="defaultsButton")
        self.defaultsButton.setFlat(True)
        self.defaultsButton.setCursor(Qt.CursorShape.PointingHandCursor)
        self.defaultsButton.clicked.connect(self.restore_default_settings)
        self._set_settings(defaults, quick_run=False)

        form = QFormLayout()
        layout.addLayout(form)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("Epochs", self.epochsSpin)
        form.addRow("Batch size", self.batchSizeSpin)
        form.addRow("Learning rate", self.learningRateSpin)
        form.addRow("Device", self.deviceCombo)
        form.addRow("", self.augmentCheck)
        form.addRow("", self.quickRunCheck)
        form.addRow("", self.defaultsButton)
        return group

    def _build_run_group(self) -> QWidget:
        box = QWidget()
        self.startTrainingButton = QPushButton("Start training", objectName="startTrainingButton")
        self.startTrainingButton.setDefault(True)
        self.startTrainingButton.setMinimumHeight(34)
        font = self.startTrainingButton.font()
        font.setBold(True)
        self.startTrainingButton.setFont(font)
        self.startTrainingButton.clicked.connect(self.start_training)
        self.stopTrainingButton = QPushButton("Stop", objectName="stopTrainingButton")
        self.stopTrainingButton.setMinimumHeight(34)
        self.stopTrainingButton.setToolTip("Stop after the current batch; the partial model stays usable")
        self.stopTrainingButton.clicked.connect(self.stop_training)
        self.trainingProgress = QProgressBar(objectName="trainingProgress")
        self.trainingProgress.setRange(0, 1000)
        self.trainingProgress.setValue(0)
        self.trainingProgress.setFormat("Idle")
        self.trainingProgress.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.trainingStatusLabel = QLabel(objectName="trainingStatusLabel")
        set_text_colour(self.trainingStatusLabel, MUTED_TEXT)
        self.trainingErrorLabel = self._error_label("trainingErrorLabel")

        buttons = QHBoxLayout()
        buttons.addWidget(self.startTrainingButton, 2)
        buttons.addWidget(self.stopTrainingButton, 1)
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 4, 0, 4)
        layout.addLayout(buttons)
        layout.addWidget(self.trainingProgress)
        layout.addWidget(self.trainingStatusLabel)
        layout.addWidget(self.trainingErrorLabel)
        return box

    def _build_model_group(self) -> QFrame:
        group, layout = self._panel("Model")
        self.accuracyLabel = QLabel("–", objectName="accuracyLabel")
        font = self.accuracyLabel.font()
        font.setPointSizeF(font.pointSizeF() * 2.0)
        font.setBold(True)
        self.accuracyLabel.setFont(font)
        self.resultLabel = QLabel("No model trained yet.", objectName="resultLabel")
        self.resultLabel.setWordWrap(True)
        self.currentWeightsLabel = QLabel(objectName="currentWeightsLabel")
        self.currentWeightsLabel.setWordWrap(True)
        set_text_colour(self.currentWeightsLabel, MUTED_TEXT)
        self.useModelButton = QPushButton("Use this model", objectName="useModelButton")
        self.useModelButton.setToolTip("Swap the model just trained into the Draw tab")
        self.useModelButton.setFont(self.startTrainingButton.font())  # bold: the step after training
        self.useModelButton.clicked.connect(self.use_model)
        self.saveModelButton = QPushButton("Save as…", objectName="saveModelButton")
        self.saveModelButton.clicked.connect(self._save_model_dialog)
        self.openWeightsButton = QPushButton("Open weights…", objectName="openWeightsButton")
        self.openWeightsButton.clicked.connect(self._open_weights_dialog)
        self.modelErrorLabel = self._error_label("modelErrorLabel")
        self.modelMessageLabel = QLabel(objectName="modelMessageLabel")
        self.modelMessageLabel.setWordWrap(True)
        self.modelMessageLabel.setVisible(False)

        files = QHBoxLayout()
        files.addWidget(self.saveModelButton)
        files.addWidget(self.openWeightsButton)
        caption = QLabel("Test accuracy")
        set_text_colour(caption, MUTED_TEXT)
        layout.addWidget(caption)
        layout.addWidget(self.accuracyLabel)
        layout.addWidget(self.resultLabel)
        layout.addWidget(self.useModelButton)
        layout.addLayout(files)
        layout.addWidget(self.modelMessageLabel)
        layout.addWidget(self.modelErrorLabel)
        # Shown once the main window says which weights the Draw tab uses.
        self._current_weights_line = QFrame()
        self._current_weights_line.setFrameShape(QFrame.Shape.HLine)
        self._current_weights_line.setFrameShadow(QFrame.Shadow.Sunken)
        self._current_weights_line.setVisible(False)
        self.currentWeightsLabel.setVisible(False)
        layout.addWidget(self._current_weights_line)
        layout.addWidget(self.currentWeightsLabel)
        return group

    def _error_label(self, name: str) -> QLabel:
        label = QLabel(objectName=name)
        label.setWordWrap(True)
        set_text_colour(label, ERROR_COLOUR)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        label.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        label.setVisible(False)
        return label

    def _small_font(self) -> QFont:
        font = QFont(self.font())
        font.setPointSizeF(max(7.0, font.pointSizeF() * 0.85))
        return font

    def _make_plot(self, y_label: str, x_label: str = "epoch") -> pg.PlotWidget:
        plot = pg.PlotWidget(background="w")
        plot.setMinimumSize(220, 150)
        item = plot.getPlotItem()
        item.showGrid(x=True, y=True, alpha=0.2)
        item.setMenuEnabled(False)
        item.hideButtons()
        font = self._small_font()
        for name, label in (("left", y_label), ("bottom", x_label)):
            axis = plot.getAxis(name)
            axis.setPen(AXIS_COLOUR)
            axis.setTextPen(AXIS_TEXT_COLOUR)
            axis.setLabel(label, color=AXIS_TEXT_COLOUR)
            # Major ticks only: a finer grid is clutter at this size.
            axis.setStyle(tickFont=font, maxTickLevel=0)
            # Redraw axes (and their grid lines) only when their range changes, not with every curve update.
            axis.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        return plot

    def _make_curve(
        self, plot: pg.PlotWidget, name: str, colour: str, *, symbol: bool, legend_at_bottom: bool = False
    ) -> pg.PlotDataItem:
        if plot.getPlotItem().legend is None:
            # Negative offsets anchor the legend at the right / bottom edge.
            offset = (-10, -10) if legend_at_bottom else (-10, 10)
            legend = plot.addLegend(offset=offset, labelTextColor=AXIS_TEXT_COLOUR)
            legend.setBrush(pg.mkBrush(255, 255, 255, 220))
            legend.setPen(pg.mkPen(AXIS_COLOUR))
        options = {"pen": pg.mkPen(colour, width=2), "name": name, "antialias": True}
        if symbol:
            options.update(symbol="o", symbolSize=8, symbolBrush=colour, symbolPen=pg.mkPen("w", width=1))
        return plot.plot([], [], **options)

    # ------------------------------------------------------------- settings

    def _initial_data_dir(self) -> Path:
        """The saved folder if it still holds MNIST, else $DIGITPAD_MNIST_DIR, else the downloaded copy."""
        saved = self.settings.value("train/dataDir", "", type=str)
        if saved and has_mnist(Path(saved)):
            return Path(saved)
        return resolve_data_dir()

    def _set_settings(self, config: TrainConfig, quick_run: bool) -> None:
        self.epochsSpin.setValue(config.epochs)
        self.batchSizeSpin.setValue(config.batch_size)
        self.learningRateSpin.setValue(config.learning_rate)
        self.augmentCheck.setChecked(config.augment)
        index = self.deviceCombo.findData(config.device)
        self.deviceCombo.setCurrentIndex(max(index, 0))
        self.quickRunCheck.setChecked(quick_run)

    def _load_settings(self) -> None:
        defaults = app_defaults()
        value = self.settings.value
        config = TrainConfig(
            epochs=value("train/epochs", defaults.epochs, type=int),
            batch_size=value("train/batchSize", defaults.batch_size, type=int),
            learning_rate=value("train/learningRate", defaults.learning_rate, type=float),
            augment=value("train/augment", defaults.augment, type=bool),
            device=value("train/device", defaults.device, type=str),
        )
        self._set_settings(config, quick_run=value("train/quickRun", False, type=bool))

    def _save_settings(self) -> None:
        config = self.training_config()
        self.settings.setValue("train/epochs", config.epochs)
        self.settings.setValue("train/batchSize", config.batch_size)
        self.settings.setValue("train/learningRate", config.learning_rate)
        self.settings.setValue("train/augment", config.augment)
        self.settings.setValue("train/device", config.device)
        self.settings.setValue("train/quickRun", self.quickRunCheck.isChecked())

    @Slot()
    def restore_default_settings(self) -> None:
        self._set_settings(app_defaults(), quick_run=False)

    def training_config(self) -> TrainConfig:
        """The settings as shown in the form."""
        quick = self.quickRunCheck.isChecked()
        return TrainConfig(
            epochs=self.epochsSpin.value(),
            batch_size=self.batchSizeSpin.value(),
            learning_rate=self.learningRateSpin.value(),
            augment=self.augmentCheck.isChecked(),
            device=self.deviceCombo.currentData() or "auto",
            train_subset=self.QUICK_RUN_TRAIN_IMAGES if quick else None,
            test_subset=self.QUICK_RUN_TEST_IMAGES if quick else None,
        )

    # ------------------------------------------------------------------ data

    @property
    def data_dir(self) -> Path:
        return self._data_dir

    def data_ready(self) -> bool:
        return self._data_loader is not None or has_mnist(self._data_dir)

    def set_data_dir(self, folder: Path) -> bool:
        """Use ``folder`` for training if it holds MNIST; otherwise say what is missing. True if accepted."""
        folder = Path(folder).expanduser()
        if not folder.is_dir():
            self._show_error(self.dataErrorLabel, f"{folder}: no such folder")
            return False
        missing = missing_mnist_files(folder)
        if missing:
            self._show_error(
                self.dataErrorLabel,
                f"{folder} has no MNIST: missing {', '.join(missing)} (raw or .gz).",
            )
            self._log(f"Not MNIST: {folder} (missing {len(missing)} of 4 files)")
            return False
        self._data_dir = folder
        self.settings.setValue("train/dataDir", str(folder))
        self._show_error(self.dataErrorLabel, "")
        self._refresh_data_status()
        self._update_buttons()
        self._log(f"Data folder: {folder}")
        if self.isVisible():
            self._preload_data()
        return True

    def _refresh_data_status(self) -> None:
        if self._data_loader is not None:
            self._set_data_status(True, "Ready (data provided by the caller)")
        elif has_mnist(self._data_dir):
            self._set_data_status(True, "MNIST ready")
        else:
            self._set_data_status(False, "No MNIST yet: download it or choose a folder")

    def _set_data_status(self, ready: bool, text: str) -> None:
        colour = "#2e9d57" if ready else "#d68910"
        self.dataStatusLabel.setText(f'<span style="color:{colour}; font-size:14pt;">●</span>&nbsp; {text}')
        self.dataFolderLabel.setText(str(self._data_dir))
        self.dataFolderLabel.setToolTip(str(self._data_dir))

    @Slot()
    def _choose_data_folder(self) -> None:
        start = self._data_dir if self._data_dir.is_dir() else Path.home()
        folder = QFileDialog.getExistingDirectory(self, "Folder with the MNIST files", str(start))
        if folder:
            self.set_data_dir(Path(folder))

    @Slot()
    def start_download(self) -> None:
        """Download MNIST into the per-user folder in a worker thread."""
        if self.is_busy():
            return
        self._show_error(self.dataErrorLabel, "")
        self._retire_thread(self._download_thread)
        worker = DownloadWorker(None, downloader=self._downloader)
        worker.progress.connect(self._on_download_progress)
        worker.finished.connect(self._on_download_finished)
        worker.failed.connect(self._on_download_failed)
        worker.cancelled.connect(self._on_download_cancelled)
        worker.message.connect(self._log)
        self._download_worker = worker
        self.downloadProgress.setValue(0)
        self.downloadProgress.setFormat("Connecting…")
        self._download_row.setVisible(True)
        self.cancelDownloadButton.setEnabled(True)
        self._log("Downloading MNIST…")
        self._download_thread = start_in_thread(worker, self)
        self._download_thread.finished.connect(self._on_download_thread_finished)
        self._update_buttons()

    @Slot()
    def cancel_download(self) -> None:
        if self._download_worker is not None and self.is_downloading():
            self._download_worker.request_stop()
            self.cancelDownloadButton.setEnabled(False)
            self.downloadProgress.setFormat("Cancelling…")

    @Slot(object)
    def _on_download_progress(self, event: DownloadProgress) -> None:
        megabytes = event.done_bytes / 1e6
        if event.total_bytes:
            self.downloadProgress.setValue(int(1000 * event.done_bytes / event.total_bytes))
            self.downloadProgress.setFormat(f"{event.file_name}: {megabytes:.1f} / {event.total_bytes / 1e6:.1f} MB")
        else:
            self.downloadProgress.setValue(0)
            self.downloadProgress.setFormat(f"{event.file_name}: {megabytes:.1f} MB")

    @Slot(object)
    def _on_download_finished(self, folder: Path) -> None:
        self._log(f"Downloaded MNIST to {folder}")
        self.set_data_dir(folder)

    @Slot(str)
    def _on_download_failed(self, message: str) -> None:
        self._show_error(self.dataErrorLabel, f"Download failed: {message}")
        self._log(f"Download failed: {message}")

    @Slot()
    def _on_download_cancelled(self) -> None:
        self._log("Download cancelled")

    @Slot()
    def _on_download_thread_finished(self) -> None:
        self._download_row.setVisible(False)
        self._update_buttons()

    # -------------------------------------------------------------- training

    @Slot()
    def start_training(self) -> None:
        """Start a run with the form's settings; does nothing while busy or without data."""
        if self.is_busy() or not self.data_ready():
            return
        config = self.training_config()
        self._save_settings()
        self._retire_thread(self._train_thread)
        self._clear_run(config)
        worker = TrainingWorker(
            self._data_dir,
            config,
            autosave_path=user_weights_dir() / AUTOSAVE_NAME,
            data_loader=self._mnist_cache.load,
        )
        worker.message.connect(self._log)
        worker.progress.connect(self._on_progress)
        worker.epochFinished.connect(self._on_epoch_finished)
        worker.finished.connect(self._on_training_finished)
        worker.failed.connect(self._on_training_failed)
        worker.dataFailed.connect(self._on_data_failed)
        self._train_worker = worker
        self._run_started = time.perf_counter()
        subset = f", first {config.train_subset:,} images" if config.train_subset else ""
        self._log(
            f"Training {config.epochs} epoch(s): batch {config.batch_size}, learning rate {config.learning_rate:g}, "
            f"augmentation {'on' if config.augment else 'off'}, device {config.device}{subset}"
        )
        self.trainingProgress.setValue(0)
        self.trainingProgress.setFormat("Loading data…")
        self._train_thread = start_in_thread(worker, self)
        self._train_thread.finished.connect(self._on_training_thread_finished)
        self._update_buttons()

    @Slot()
    def stop_training(self) -> None:
        """Ask the run to stop after the current batch; the partial model stays usable."""
        if self._train_worker is not None and self.is_training():
            self._train_worker.request_stop()
            self.stopTrainingButton.setEnabled(False)
            self.trainingProgress.setFormat("Stopping…")
            self._log("Stopping after the current batch…")

    def _clear_run(self, config: TrainConfig) -> None:
        self._previous_progress = None
        self._smoothed_loss = self._smoothed_accuracy = None
        for values in (
            self._train_x,
            self._train_loss,
            self._train_accuracy,
            self._test_x,
            self._test_loss,
            self._test_accuracy,
        ):
            values.clear()
        for curve in (
            self._train_loss_curve,
            self._test_loss_curve,
            self._train_accuracy_curve,
            self._test_accuracy_curve,
        ):
            curve.setData([], [])
        self._reset_plot_ranges(config.epochs)
        self._batch_size_of_run = config.batch_size
        self._model = None
        self._model_info = None
        self._model_path = None
        self.last_result = None
        self.accuracyLabel.setText("–")
        self.resultLabel.setText("Training…")
        self._show_per_class(None)
        self._show_error(self.trainingErrorLabel, "")
        self._show_error(self.modelErrorLabel, "")
        self._show_message("")
        self.trainingStatusLabel.setText("")

    @Slot(object)
    def _on_progress(self, event: BatchProgress) -> None:
        fraction = event.fraction_done
        self.trainingProgress.setValue(int(1000 * fraction))
        self.trainingProgress.setFormat(
            f"Epoch {event.epoch}/{event.epochs} · {fraction:.0%} · ETA {format_duration(event.eta_seconds)}"
        )
        loss, accuracy = self._recent_training_figures(event)
        self.trainingStatusLabel.setText(
            f"training loss {loss:.3f} · accuracy {accuracy:.1%} · {event.images_per_second:,.0f} images/s"
        )
        self._train_x.append(event.epoch - 1 + event.batch / event.batches)
        self._train_loss.append(loss)
        self._train_accuracy.append(100 * accuracy)
        self._train_loss_curve.setData(self._train_x, self._train_loss)
        self._train_accuracy_curve.setData(self._train_x, self._train_accuracy)
        self._widen_loss_range(loss)
        self._fit_accuracy_range()

    def _recent_training_figures(self, event: BatchProgress) -> tuple[float, float]:
        """Loss and accuracy of the batches since the previous report, smoothed.

        The core reports running means over the epoch so far; plotted as they
        are they lag behind and jump at every epoch start. Batches within an
        epoch have equal size, so the mean over the batches since the last
        report follows from the two running means.
        """
        previous = self._previous_progress
        self._previous_progress = event
        if previous is not None and previous.epoch == event.epoch and event.batch > previous.batch:
            batches = event.batch - previous.batch
            loss = (event.loss * event.batch - previous.loss * previous.batch) / batches
            accuracy = (event.accuracy * event.batch - previous.accuracy * previous.batch) / batches
        else:
            batches = event.batch
            loss, accuracy = event.loss, event.accuracy
        if self._smoothed_loss is None or self._smoothed_accuracy is None:
            self._smoothed_loss, self._smoothed_accuracy = loss, accuracy
        else:
            images = batches * self._batch_size_of_run
            weight = 1.0 - math.exp(-images / SMOOTHING_IMAGES)
            self._smoothed_loss += weight * (loss - self._smoothed_loss)
            self._smoothed_accuracy += weight * (accuracy - self._smoothed_accuracy)
        return self._smoothed_loss, self._smoothed_accuracy

    def _reset_plot_ranges(self, epochs: int) -> None:
        step = max(1, math.ceil(epochs / 10))
        epoch_ticks = [[(e, str(e)) for e in range(0, epochs + 1, step)], []]
        for plot in (self.lossPlot, self.accuracyPlot):
            plot.setXRange(0, epochs, padding=0.02)
            plot.getAxis("bottom").setTicks(epoch_ticks)
        self._loss_range = INITIAL_LOSS_RANGE
        self.lossPlot.setYRange(*(math.log10(v) for v in self._loss_range), padding=0.02)
        self.accuracyPlot.setYRange(0, 100, padding=0.02)
        self._accuracy_floor = 0.0

    def _widen_loss_range(self, *values: float) -> None:
        """Widen the loss axis when a value falls outside; it never shrinks during a run."""
        finite = [v for v in values if math.isfinite(v) and v > 0]
        if not finite:
            return
        low, high = self._loss_range
        if min(finite) >= low and max(finite) <= high:
            return
        low = min(low, 10 ** math.floor(math.log10(min(finite))))
        high = max(high, 10 ** math.ceil(math.log10(max(finite))))
        self._loss_range = (low, high)
        self.lossPlot.setYRange(math.log10(low), math.log10(high), padding=0.02)

    @Slot(object)
    def _on_epoch_finished(self, result: EpochResult) -> None:
        # A stopped epoch's test point sits where its last batch was.
        done = min(result.epoch, self._train_x[-1]) if self._train_x else result.epoch
        self._test_x.append(done)
        self._test_loss.append(result.test_loss)
        self._test_accuracy.append(100 * result.test_accuracy)
        self._test_loss_curve.setData(self._test_x, self._test_loss)
        self._test_accuracy_curve.setData(self._test_x, self._test_accuracy)
        self._widen_loss_range(result.test_loss)
        self._fit_accuracy_range()
        self.accuracyLabel.setText(f"{result.test_accuracy:.2%}")
        self._show_per_class(result.per_class_accuracy)
        self._log(
            f"Epoch {result.epoch}/{result.epochs}: train loss {result.train_loss:.4f}, "
            f"accuracy {result.train_accuracy:.2%} · test loss {result.test_loss:.4f}, "
            f"accuracy {result.test_accuracy:.2%} · {result.seconds:.1f} s; autosaved"
        )

    def _fit_accuracy_range(self) -> None:
        """Zoom the accuracy axis onto the interesting top once an epoch is done.

        From 0 to 100% the last tenths of a percent, which are what
        distinguishes a good model, would be a flat line at the top.
        """
        if not self._test_accuracy:
            return
        x = np.asarray(self._train_x)
        # The second half of the run so far: the climb at the start is off the chart.
        later = np.asarray(self._train_accuracy)[x >= x[-1] / 2] if len(x) else np.zeros(0)
        lowest = min(min(self._test_accuracy), float(later.min()) if len(later) else 100.0)
        low = max(0.0, math.floor(lowest - 0.5))
        if low != self._accuracy_floor:
            self._accuracy_floor = low
            self.accuracyPlot.setYRange(low, 100, padding=0.02)

    def _show_per_class(self, per_class: tuple[float | None, ...] | list[float | None] | None) -> None:
        """Bars of per-digit test accuracy, zoomed onto the range they span."""
        if per_class is None:
            self._per_class_bars.setOpts(height=np.zeros(NUM_CLASSES), y0=0, brushes=[self._bar_brush] * NUM_CLASSES)
            for label in self._per_class_labels:
                label.setText("")
            self.perClassPlot.setYRange(0, 100, padding=0)
            return
        values = np.array([np.nan if a is None else 100 * a for a in per_class], dtype=float)
        finite = values[np.isfinite(values)]
        base = max(0.0, math.floor(finite.min() - 1.0)) if len(finite) else 0.0
        heights = np.where(np.isfinite(values), values - base, 0.0)
        brushes = [self._bar_brush] * NUM_CLASSES
        if len(finite):
            # The digit the model reads worst stands out.
            brushes[int(np.nanargmin(values))] = self._weakest_brush
        self._per_class_bars.setOpts(height=heights, y0=base, brushes=brushes)
        for digit, label in enumerate(self._per_class_labels):
            value = values[digit]
            label.setText(f"{value:.1f}" if np.isfinite(value) else "n/a")
            label.setPos(digit, value if np.isfinite(value) else base)
        self.perClassPlot.setYRange(base, 100 + (100 - base) * 0.12, padding=0)

    @Slot(object)
    def _on_training_finished(self, result: TrainResult | None) -> None:
        seconds = time.perf_counter() - self._run_started
        self.last_result = result
        if result is None or not result.history:
            self.resultLabel.setText("Stopped before the first batch: no model.")
            self.trainingProgress.setFormat("Stopped")
            self._log("Stopped before training began")
            return
        self._model, self._model_info = result.model, result.info
        last = result.history[-1]
        self.accuracyLabel.setText(f"{last.test_accuracy:.2%}")
        self._show_per_class(last.per_class_accuracy)
        if result.stopped:
            self.resultLabel.setText(
                f"Stopped during epoch {last.epoch} of {last.epochs} after {format_duration(seconds)}. "
                "The partial model is usable."
            )
            self.trainingProgress.setFormat(f"Stopped at {self.trainingProgress.value() / 10:.0f}%")
            self._log(f"Stopped: partial model, test accuracy {last.test_accuracy:.2%}")
        else:
            self.resultLabel.setText(f"Trained {last.epochs} epoch(s) in {format_duration(seconds)}.")
            self.trainingProgress.setValue(1000)
            self.trainingProgress.setFormat(f"Done in {format_duration(seconds)}")
            self._log(f"Done in {format_duration(seconds)}: test accuracy {last.test_accuracy:.2%}")
        if result.checkpoint is not None:
            self._log(f"Autosave: {result.checkpoint}")

    @Slot(str)
    def _on_data_failed(self, message: str) -> None:
        self._show_error(self.dataErrorLabel, message)
        self._set_data_status(False, "MNIST files cannot be read")

    @Slot(str)
    def _on_training_failed(self, message: str) -> None:
        self._show_error(self.trainingErrorLabel, message)
        self.resultLabel.setText("Training failed.")
        self.trainingProgress.setFormat("Failed")
        self._log(f"Error: {message}")
        self.trainingFailed.emit(message)

    @Slot()
    def _on_training_thread_finished(self) -> None:
        self._update_buttons()
        self.trainingFinished.emit(self.last_result)

    # ---------------------------------------------------------------- models

    @Slot()
    def use_model(self) -> None:
        """Emit ``useModel`` with a Predictor for the model just trained."""
        if self._model is None:
            return
        self._show_error(self.modelErrorLabel, "")
        source = self._model_path
        if source is None:
            # Keep a copy under a stable name so "the weights last used" survive a restart.
            try:
                source = save_checkpoint(user_weights_dir() / LAST_USED_NAME, self._model, self._model_info)
            except OSError as error:
                self._log(f"Could not keep a copy of the model: {error}")
        predictor = Predictor(self._model, self._model_info, source)
        self._show_message("In use in the Draw tab.")
        self._log(f"Using the trained model{f' ({source})' if source else ''}")
        self.useModel.emit(predictor)

    @Slot()
    def _save_model_dialog(self) -> None:
        if self._model is None:
            return
        folder = user_weights_dir()
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            pass
        accuracy = (self._model_info.metrics.get("test_accuracy") if self._model_info else None) or 0.0
        name = f"digitpad-{time.strftime('%Y%m%d-%H%M')}-{accuracy * 100:.2f}.safetensors"
        path, _ = QFileDialog.getSaveFileName(self, "Save weights", str(folder / name), WEIGHTS_FILTER)
        if path:
            self.save_model(Path(path))

    def save_model(self, path: Path) -> bool:
        """Save the model just trained to ``path`` (atomically); refuses the shipped weights' folder."""
        if self._model is None or self._model_info is None:
            self._show_error(self.modelErrorLabel, "No trained model to save.")
            return False
        path = Path(path).expanduser()
        if path.suffix != ".safetensors":
            path = path.with_name(path.name + ".safetensors")
        if is_inside(path, shipped_weights_dir()) or path.resolve() == shipped_weights_path().resolve():
            self._show_error(
                self.modelErrorLabel,
                f"Refused: {path.parent} holds the weights shipped with digitpad, which are never "
                "overwritten. Save somewhere else, e.g. the per-user weights folder.",
            )
            self._log(f"Refused to save into the shipped weights folder: {path}")
            return False
        try:
            saved = save_checkpoint(path, self._model, self._model_info)
        except OSError as error:
            self._show_error(self.modelErrorLabel, f"Could not save {path}: {error.strerror or error}")
            return False
        self._model_path = saved
        self._show_error(self.modelErrorLabel, "")
        self._show_message(f"Saved to {saved.name}")
        self._log(f"Saved the model to {saved}")
        return True

    @Slot()
    def _open_weights_dialog(self) -> None:
        folder = user_weights_dir()
        start = folder if folder.is_dir() else shipped_weights_dir()
        path, _ = QFileDialog.getOpenFileName(self, "Open weights", str(start), WEIGHTS_FILTER + ";;All files (*)")
        if path:
            self.open_weights(Path(path))

    def open_weights(self, path: Path) -> Predictor | None:
        """Load weights from ``path`` and emit ``weightsOpened``; errors are shown in the tab."""
        try:
            predictor = Predictor.from_checkpoint(path)
        except CheckpointError as error:
            self._show_error(self.modelErrorLabel, str(error))
            self._log(f"Could not open weights: {error}")
            return None
        self._show_error(self.modelErrorLabel, "")
        metrics = predictor.info.metrics if predictor.info else {}
        accuracy = metrics.get("test_accuracy")
        self._show_message(
            f"Opened {Path(path).name}" + (f" (test accuracy {accuracy:.2%})" if accuracy is not None else "")
        )
        self._log(f"Opened weights {path}")
        self.weightsOpened.emit(predictor)
        return predictor

    def set_current_weights(self, path: Path | None) -> None:
        """Show which weights the Draw tab uses (None: no usable weights)."""
        self._current_weights_line.setVisible(True)
        self.currentWeightsLabel.setVisible(True)
        if path is None:
            self.currentWeightsLabel.setText("Draw tab: no usable weights; train a model or open one.")
            return
        path = Path(path)
        shipped = " (shipped)" if is_inside(path, shipped_weights_dir()) else ""
        self.currentWeightsLabel.setText(f"Draw tab uses: {path.name}{shipped}")
        self.currentWeightsLabel.setToolTip(str(path))

    # ------------------------------------------------------------- lifecycle

    def is_training(self) -> bool:
        return self._train_thread is not None and self._train_thread.isRunning()

    def is_downloading(self) -> bool:
        return self._download_thread is not None and self._download_thread.isRunning()

    def is_busy(self) -> bool:
        return self.is_training() or self.is_downloading()

    @property
    def training_thread(self) -> QThread | None:
        """The thread of the current or last run (tests check that it has finished)."""
        return self._train_thread

    @property
    def download_thread(self) -> QThread | None:
        return self._download_thread

    @Slot()
    def shutdown(self) -> None:
        """Stop any training or download and wait for their threads (bounded); never terminates them.

        A stop is honoured within one batch; a stopped run still evaluates
        and autosaves its partial epoch (atomically), so no file is left
        half-written.
        """
        pairs = [(self._train_worker, self._train_thread), (self._download_worker, self._download_thread)]
        for worker, thread in pairs:
            if worker is not None and thread is not None and thread.isRunning():
                worker.request_stop()
        # Loading cannot be interrupted; it takes about a second.
        self._mnist_cache.wait(SHUTDOWN_TIMEOUT_MS / 1000)
        for worker, thread in pairs:
            if not stop_and_wait(worker, thread, SHUTDOWN_TIMEOUT_MS):
                log.warning("%s did not stop within %d ms", thread.objectName(), SHUTDOWN_TIMEOUT_MS)
                # Never destroy a running QThread (that aborts the process): keep it referenced.
                thread.setParent(None)
                _orphaned_threads.append((thread, worker))

    def _retire_thread(self, thread: QThread | None) -> None:
        """Let go of a finished thread from an earlier run."""
        if thread is not None and thread.isFinished():
            thread.deleteLater()

    # --------------------------------------------------------------- helpers

    def _update_buttons(self) -> None:
        training, downloading = self.is_training(), self.is_downloading()
        busy = training or downloading
        self.startTrainingButton.setEnabled(not busy and self.data_ready())
        self.quickRunCheck.setText(f"Quick run (first {self.QUICK_RUN_TRAIN_IMAGES:,} images)")
        stopping = self._train_worker is not None and self._train_worker.stop_requested()
        self.stopTrainingButton.setEnabled(training and not stopping)
        for widget in (
            self.epochsSpin,
            self.batchSizeSpin,
            self.learningRateSpin,
            self.augmentCheck,
            self.deviceCombo,
            self.quickRunCheck,
            self.defaultsButton,
            self.chooseDataButton,
            self.downloadButton,
        ):
            widget.setEnabled(not busy)
        has_model = self._model is not None and not training
        self.useModelButton.setEnabled(has_model)
        self.saveModelButton.setEnabled(has_model)
        if not self.data_ready() and not busy:
            self.startTrainingButton.setToolTip("Download MNIST or choose a folder with it first")
        else:
            self.startTrainingButton.setToolTip("Train a new model with these settings in the background")

    def _show_error(self, label: QLabel, message: str) -> None:
        label.setText(message)
        label.setVisible(bool(message))

    def _show_message(self, message: str) -> None:
        self.modelMessageLabel.setText(message)
        self.modelMessageLabel.setVisible(bool(message))

    @Slot(str)
    def _log(self, line: str) -> None:
        self.logView.appendPlainText(f"{time.strftime('%H:%M:%S')}  {line}")
