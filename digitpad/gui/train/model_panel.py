"""The Train tab's Model panel: the model just trained beside the one in use, and models in and out.

*Use this model* puts the model just trained in use; before that, the panel
says how it compares with the model in use, so that retraining never
quietly makes the app worse. *Save as…* writes it (never over the shipped
weights), *Open weights…* puts a checkpoint from a file in use.
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import QFileDialog, QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from digitpad.base.paths import shipped_weights_dir, user_weights_dir
from digitpad.gui.common.format import format_duration
from digitpad.gui.common.style import (
    Palette,
    box,
    elide_long_words,
    error_label,
    muted,
    scaled_font,
    set_text_colour,
    show_text,
    status_dot,
    titled_panel,
)
from digitpad.gui.state.model_in_use import ModelInUse
from digitpad.gui.train.session import TrainingSession, is_inside
from digitpad.model.accuracy import ModelFigures, compare, describe_beside
from digitpad.model.checkpoint import CheckpointError
from digitpad.model.inference import Predictor
from digitpad.training.config import EpochResult, TrainResult

WEIGHTS_FILTER = "digitpad weights (*.safetensors)"
VERDICT_COLOURS = {"better": Palette.GOOD, "same": Palette.GOOD, "worse": Palette.ERROR, "unknown": Palette.AXIS}


class ModelPanel(QFrame):
    """Test accuracy, how the run ended, the comparison, Use / Save as / Open weights, the model in use.

    Signals:
        useModel(Predictor): the model just trained was put in use.
        weightsOpened(Predictor): weights from a file were put in use.
        message(str): a line for the log.
    """

    useModel = Signal(object)
    weightsOpened = Signal(object)
    message = Signal(str)

    def __init__(self, session: TrainingSession, model_in_use: ModelInUse, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.model_in_use = model_in_use
        self._build()
        self.use_button.clicked.connect(self.use_model)
        self.save_button.clicked.connect(self._save_dialog)
        self.open_button.clicked.connect(self._open_dialog)
        model_in_use.changed.connect(self._on_model_in_use_changed)
        self._on_model_in_use_changed(model_in_use.predictor)

    def _build(self) -> None:
        _, layout = titled_panel("Model", self)
        self.accuracy_label = QLabel("–", objectName="accuracyLabel")
        self.accuracy_label.setFont(scaled_font(self.accuracy_label, 2.0, bold=True))
        self.result_label = QLabel("No model trained yet.", objectName="resultLabel", wordWrap=True)
        self.comparison_label = QLabel(objectName="comparisonLabel", textFormat=Qt.TextFormat.RichText, wordWrap=True)
        self.comparison_label.setVisible(False)
        self.use_button = QPushButton("Use this model", objectName="useModelButton")
        self.use_button.setToolTip("Swap the model just trained into the Draw tab")
        self.use_button.setFont(scaled_font(self.use_button, 1.0, bold=True))  # bold: the step after training
        self.save_button = QPushButton("Save as…", objectName="saveModelButton")
        self.open_button = QPushButton("Open weights…", objectName="openWeightsButton")
        self.error_label = error_label("modelErrorLabel")
        self.message_label = QLabel(objectName="modelMessageLabel", wordWrap=True, visible=False)
        self.in_use_label = muted(QLabel(objectName="currentWeightsLabel", wordWrap=True))
        line = QFrame(frameShape=QFrame.Shape.HLine)
        line.setFrameShadow(QFrame.Shadow.Sunken)
        files = box(QHBoxLayout(), self.save_button, self.open_button)
        box(layout, muted(QLabel("Test accuracy")), self.accuracy_label, self.result_label, self.comparison_label)
        box(layout, self.use_button, files, self.message_label, self.error_label, line, self.in_use_label)

    def show_run_started(self) -> None:
        self.accuracy_label.setText("–")
        self.result_label.setText("Training…")
        self.comparison_label.setVisible(False)
        show_text(self.error_label, "")
        show_text(self.message_label, "")

    def show_epoch(self, result: EpochResult) -> None:
        self.accuracy_label.setText(f"{result.test_accuracy:.2%}")

    def show_run_end(self, result: TrainResult | None, seconds: float) -> None:
        if result is None or not result.history:
            self.result_label.setText("Stopped before the first batch: no model.")
            return
        last = result.history[-1]
        self.accuracy_label.setText(f"{last.test_accuracy:.2%}")
        if result.stopped:
            self.result_label.setText(
                f"Stopped during epoch {last.epoch} of {last.epochs} after {format_duration(seconds)}. "
                "The partial model is usable."
            )
        else:
            self.result_label.setText(f"Trained {last.epochs} epoch(s) in {format_duration(seconds)}.")
        self._show_comparison()

    def show_run_failed(self) -> None:
        self.result_label.setText("Training failed.")

    def set_buttons(self, *, training: bool) -> None:
        has_model = self.session.trained is not None and not training
        self.use_button.setEnabled(has_model)
        self.save_button.setEnabled(has_model)

    @Slot(object)
    def _on_model_in_use_changed(self, predictor: Predictor | None) -> None:
        source = self.model_in_use.source
        if self.model_in_use.loading:
            self.in_use_label.setText("")
        elif predictor is None:
            self.in_use_label.setText("Draw tab: no usable weights; train a model or open one.")
        else:
            name = source.name if source is not None else "trained in this session"
            shipped = " (shipped)" if source is not None and is_inside(source, shipped_weights_dir()) else ""
            figures = ModelFigures.from_info(predictor.info).describe()
            self.in_use_label.setText(elide_long_words(f"Draw tab uses: {name}{shipped} · {figures}", 40))
            self.in_use_label.setToolTip(str(source) if source is not None else "")
        self._show_comparison()

    def _show_comparison(self) -> None:
        trained = self.session.trained
        in_use = self.model_in_use.predictor
        if trained is None or in_use is None or in_use.info is trained.info:
            self.comparison_label.setVisible(False)
            return
        new, old = ModelFigures.from_info(trained.info), ModelFigures.from_info(in_use.info)
        comparison = compare(new, old)
        self.comparison_label.setText(
            status_dot(VERDICT_COLOURS[comparison.verdict], f"New: {describe_beside(new, old)}")
            + f"<br>{comparison.summary}"
        )
        set_text_colour(self.comparison_label, Palette.ERROR if comparison.worse else Palette.AXIS_TEXT)
        self.comparison_label.setVisible(True)

    @Slot()
    def use_model(self) -> None:
        """Put the model just trained in use, and emit ``useModel``."""
        predictor = self.session.use_trained()
        if predictor is None:
            return
        show_text(self.error_label, "")
        self.model_in_use.set(predictor)
        show_text(self.message_label, "In use in the Draw tab.")
        self.message.emit(f"Using the trained model{f' ({predictor.source})' if predictor.source else ''}")
        self.useModel.emit(predictor)

    @Slot()
    def _save_dialog(self) -> None:
        trained = self.session.trained
        if trained is None:
            return
        folder = user_weights_dir()
        with contextlib.suppress(OSError):  # the dialog then starts elsewhere; the save reports real errors
            folder.mkdir(parents=True, exist_ok=True)
        accuracy = ModelFigures.from_info(trained.info).mnist_accuracy or 0.0
        name = f"digitpad-{time.strftime('%Y%m%d-%H%M')}-{accuracy * 100:.2f}.safetensors"
        path, _ = QFileDialog.getSaveFileName(self, "Save weights", str(folder / name), WEIGHTS_FILTER)
        if path:
            self.save_model(Path(path))

    def save_model(self, path: Path) -> bool:
        """Save the model just trained to ``path`` (atomically); errors are shown in the panel."""
        try:
            saved = self.session.save_trained(path)
        except ValueError as error:
            show_text(self.error_label, str(error))
            return False
        except OSError as error:
            show_text(self.error_label, f"Could not save {path}: {error.strerror or error}")
            return False
        show_text(self.error_label, "")
        show_text(self.message_label, f"Saved to {saved.name}")
        return True

    @Slot()
    def _open_dialog(self) -> None:
        folder = user_weights_dir()
        start = folder if folder.is_dir() else shipped_weights_dir()
        path, _ = QFileDialog.getOpenFileName(self, "Open weights", str(start), WEIGHTS_FILTER + ";;All files (*)")
        if path:
            self.open_weights(Path(path))

    def open_weights(self, path: Path) -> Predictor | None:
        """Put the weights in ``path`` in use and emit ``weightsOpened``; errors are shown in the panel."""
        try:
            predictor = Predictor.from_checkpoint(path)
        except CheckpointError as error:
            show_text(self.error_label, str(error))
            self.message.emit(f"Could not open weights: {error}")
            return None
        show_text(self.error_label, "")
        figures = ModelFigures.from_info(predictor.info)
        accuracy = f" (test accuracy {figures.mnist_accuracy:.2%})" if figures.mnist_accuracy is not None else ""
        show_text(self.message_label, f"Opened {Path(path).name}{accuracy}")
        self.message.emit(f"Opened weights {path}")
        self.model_in_use.set(predictor)
        self.weightsOpened.emit(predictor)
        return predictor
