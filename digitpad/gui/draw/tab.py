"""The Draw tab: the pad, the live prediction, the 28x28 input and the feature maps.

Predictions follow the pen. Every new piece of ink asks for one through a
single-shot timer: pen events that arrive while it is pending are coalesced
into one prediction. A live prediction starts no sooner than
:func:`live_gap_ms` after the previous one ended: as long as the previous
one's CPU time, but never less than 4 ms nor more than one 60 Hz frame. So
the GUI thread spends at most about half of its CPU time on predictions and
the pen never lags, and a pen event waits at most about one prediction for
its own. (A pause of three predictions, as before, made a prediction of
5 ms wait up to 15 ms: p95 18 ms from pen event to update against 6.5 ms,
bench/ui_latency.py --number 4.) When the pen lifts (and after undo,
clear, resize) the whole drawing is predicted at once, synchronously.

A live prediction reads the character being written: its strokes rendered
at 28x28 (numpy), a forward pass of the model with its activations and one
of the "not a digit" gate (digitpad.model.gate), then updates of widgets that were
built once: a label, a bar chart (``setOpts``), a 28x28 image, and the tiled
image of the one visible feature-map layer (``setImage``). About 5 ms of
CPU in all on the 2-core development machine.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from digitpad.base.constants import MNIST_SIZE
from digitpad.gui.common.style import (
    Palette,
    box,
    muted,
    scaled_font,
    section_title,
    set_text_colour,
    show_text,
    splitter,
    titled_panel,
    warning,
)
from digitpad.gui.draw.feature_maps import FeatureMapPanel
from digitpad.gui.draw.pad import DrawingPad
from digitpad.gui.draw.preprocessing_strip import PreprocessingStrip
from digitpad.gui.draw.readout import CONFIDENT_FROM, InputPreview, PredictionLabel, ProbabilityChart, merge_note
from digitpad.gui.draw.saliency_overlay import SaliencyOverlay
from digitpad.gui.state.model_in_use import ModelInUse
from digitpad.ink.preprocess import PEN_WIDTH_FRACTION
from digitpad.ink.strokes import Stroke
from digitpad.model.accuracy import ModelFigures
from digitpad.model.reader import Reader, Reading

if TYPE_CHECKING:  # torch stays a lazy import: the window shows before it is loaded
    from digitpad.model.inference import Prediction, Predictor

#: Bounds of the pause between the end of a live prediction and the start of the next.
MIN_LIVE_GAP_MS = 4.0
MAX_LIVE_GAP_MS = 16.0
#: The pause is this many times the previous prediction's CPU time: at most half the GUI thread's time predicts.
LIVE_GAP_FACTOR = 1.0
#: Pen width range offered, in percent of the pad's height.
PEN_WIDTH_PERCENT_RANGE = (2.0, 20.0)
EMPTY_HINT = "Draw a digit on the pad"

PEN_WIDTH_TOOLTIP = (
    "Pen width on the pad, in percent of its height (default {default:g}%).\n"
    "It only changes what you see. The network gets each digit re-drawn from your strokes with "
    "MNIST's pen: strokes about an eighth of the digit's size, whatever size you draw at. "
    "Pen pressure varies the width from 40% to 160%, on the pad and in the network's input."
)


def live_gap_ms(previous_duration_ms: float) -> float:
    """Pause after a live prediction that took ``previous_duration_ms`` before the next may start."""
    return min(max(LIVE_GAP_FACTOR * previous_duration_ms, MIN_LIVE_GAP_MS), MAX_LIVE_GAP_MS)


def _column(*widgets: QWidget) -> QVBoxLayout:
    """Widgets stacked tightly, the first one taking the spare height."""
    return box(QVBoxLayout(), (widgets[0], 1), *widgets[1:], spacing=2)


class DrawTab(QWidget):
    """The Draw tab (objectName ``drawTab``).

    Signals:
        predictionUpdated(object): every shown widget was updated for a new
            :class:`~digitpad.model.inference.Prediction` (the selected character's), or None
            when nothing is predicted.
        readingUpdated(object): the same moment, with the whole drawing's
            :class:`~digitpad.model.reader.Reading` (None when nothing is read).
        penWidthChanged(float): the pen width fraction the user picked.
    """

    predictionUpdated = Signal(object)
    readingUpdated = Signal(object)
    penWidthChanged = Signal(float)

    def __init__(self, model_in_use: ModelInUse | None = None, parent: QWidget | None = None) -> None:
        """``model_in_use``: the model shared with the window and the Train tab (a private one if None)."""
        super().__init__(parent, objectName="drawTab")
        self.model_in_use = model_in_use if model_in_use is not None else ModelInUse(self)
        #: perf_counter() when the last prediction ended, and its CPU time (ms).
        self._last_prediction_ended = -1.0
        self._last_prediction_ms = 0.0
        self._last_prediction = None
        self._last_reading: Reading | None = None
        self._reader: Reader | None = None
        #: A stroke of the character the user clicked; None: show the one written last.
        self._pinned_stroke: Stroke | None = None
        self._digit_colour = ""

        self.model_problem = warning(QLabel(objectName="modelProblem", wordWrap=True))
        self.model_problem.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # Its text (a path, an error) must never set the window's width: it wraps within what it gets.
        self.model_problem.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.model_problem.hide()
        self.pad = DrawingPad()
        self.feature_maps = FeatureMapPanel()
        results = self._build_results()
        self.saliency = SaliencyOverlay(self.preview, self.pad, self)
        self.top_splitter = splitter(
            Qt.Orientation.Horizontal, self._build_pad_column(), results, name="drawTopSplitter"
        )
        self.top_splitter.setStretchFactor(0, 3)
        self.top_splitter.setStretchFactor(1, 2)
        self.splitter = splitter(Qt.Orientation.Vertical, self.top_splitter, self.feature_maps, name="drawSplitter")
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 1)
        box(QVBoxLayout(self), self.model_problem, (self.splitter, 1), margins=10, spacing=8)
        self._add_shortcuts()

        self._live_timer = QTimer(self, singleShot=True)
        self._live_timer.timeout.connect(self.predict_now)
        self.undo_button.clicked.connect(self.pad.undo)
        self.clear_button.clicked.connect(self.pad.clear)
        self.pad.inkChanged.connect(self._on_ink_changed)
        self.pad.drawingChanged.connect(self.predict_now)
        self.pad.strokeStarted.connect(self._unpin)
        self.pad.characterClicked.connect(self.select_character)
        self.prediction_label.characterClicked.connect(self.select_character)
        self.pen_width.valueChanged.connect(self._on_pen_width_changed)
        self.model_in_use.changed.connect(self._on_model_changed)
        # Samples taught (or the adaptation toggled): the same drawing may read otherwise now.
        self.model_in_use.adaptationChanged.connect(self.predict_now)
        self._on_model_changed(self.model_in_use.predictor)

    def _build_pad_column(self) -> QWidget:
        """The pad, with Undo, Clear and the pen width under it."""
        self.undo_button = QPushButton("Undo", objectName="undoButton", toolTip="Remove the last stroke (Ctrl+Z)")
        self.clear_button = QPushButton("Clear", objectName="clearButton", toolTip="Clear the pad (Esc)")
        self.pen_width = QDoubleSpinBox(objectName="penWidthSpin")
        self.pen_width.setRange(*PEN_WIDTH_PERCENT_RANGE)
        self.pen_width.setSingleStep(0.5)
        self.pen_width.setDecimals(1)
        self.pen_width.setSuffix(" % of height")
        self.pen_width.setValue(PEN_WIDTH_FRACTION * 100)
        self.pen_width.setToolTip(PEN_WIDTH_TOOLTIP.format(default=PEN_WIDTH_FRACTION * 100))
        pen_label = QLabel("Pen width:", toolTip=self.pen_width.toolTip())
        buttons = (self.undo_button, self.clear_button, self.saliency.toggle)
        tools = box(QHBoxLayout(), *buttons, None, pen_label, self.pen_width, margins=0)
        column = QWidget()
        self._pad_column_layout = box(QVBoxLayout(column), (self.pad, 1), tools, margins=0, spacing=6)
        return column

    def add_under_pad(self, widget: QWidget) -> None:
        """Put ``widget`` (a tool row: the teach bar) under the pad's buttons."""
        self._pad_column_layout.addWidget(widget)

    def _build_results(self) -> QFrame:
        """The prediction, its confidence, the model's input and the probabilities."""
        self.prediction_label = PredictionLabel()
        self.confidence_label = QLabel(EMPTY_HINT, objectName="confidenceLabel", wordWrap=True)
        self.confidence_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.confidence_label.setFont(scaled_font(self.confidence_label, 1.25))
        self.preview = InputPreview()
        preview_caption = muted(QLabel("28×28 input", objectName="caption", alignment=Qt.AlignmentFlag.AlignCenter))
        reading = _column(self.prediction_label, self.confidence_label)
        top_row = box(QHBoxLayout(), (reading, 1), (_column(self.preview, preview_caption), 1), spacing=12)
        self.chart = ProbabilityChart()
        self.model_info = muted(QLabel("", objectName="modelInfo", wordWrap=True))
        results, layout = titled_panel("Prediction")
        results.setObjectName("resultsPanel")
        self.stages_strip = PreprocessingStrip()
        box(layout, top_row, 4, section_title("Probabilities"), (self.chart, 1))
        box(layout, section_title("Preprocessing"), self.stages_strip, self.model_info)
        results.setMinimumWidth(320)
        return results

    def _add_shortcuts(self) -> None:
        """Window-wide Ctrl+Z and Esc.

        They work with the focus on the tab bar too; the main window turns
        them off while another tab is shown. A focused text field still gets
        its own Ctrl+Z first.
        """
        self.undo_action = QAction("Undo stroke", self)
        self.undo_action.setShortcut(QKeySequence(QKeySequence.StandardKey.Undo))
        self.undo_action.triggered.connect(self.pad.undo)
        self.clear_action = QAction("Clear pad", self)
        self.clear_action.setShortcut(QKeySequence(Qt.Key.Key_Escape))
        self.clear_action.triggered.connect(self.pad.clear)
        for action in (self.undo_action, self.clear_action):
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            self.addAction(action)

    def set_shortcuts_enabled(self, enabled: bool) -> None:
        """Turn Ctrl+Z and Esc on (the tab is shown) or off (another tab is)."""
        self.undo_action.setEnabled(enabled)
        self.clear_action.setEnabled(enabled)

    @property
    def predictor(self) -> Predictor | None:
        """The :class:`~digitpad.model.inference.Predictor` in use, or None."""
        return self.model_in_use.predictor

    def _on_model_changed(self, predictor: Predictor | None) -> None:
        self.set_problem(self.model_in_use.problem)
        self._reader = Reader(predictor) if predictor is not None else None
        names, shapes = [], []
        if predictor is not None:
            _, activations = predictor.predict_input(
                np.zeros((MNIST_SIZE, MNIST_SIZE), np.float32), with_activations=True
            )
            names, shapes = predictor.block_names, [a.shape for a in activations]
        self.feature_maps.set_layers(names, shapes)
        self.feature_maps.set_model(predictor)
        self.model_info.setText(describe_model(predictor) if predictor is not None else "")
        self.predict_now()

    def set_problem(self, problem: str | None) -> None:
        """Show (or hide, for None) a message about the model above the pad."""
        show_text(self.model_problem, problem or "")

    def _unpin(self) -> None:
        # A new stroke: the character being written is the one to show.
        self._pinned_stroke = None

    def last_reading(self) -> Reading | None:
        """The whole drawing as read last, or None."""
        return self._last_reading

    def last_prediction(self) -> Prediction | None:
        """The prediction shown, or None."""
        return self._last_prediction

    def _on_ink_changed(self) -> None:
        if self._live_timer.isActive():
            return  # a prediction is already pending: it will see this ink too
        since_last_ms = (time.perf_counter() - self._last_prediction_ended) * 1000
        self._live_timer.start(max(0, math.ceil(live_gap_ms(self._last_prediction_ms) - since_last_ms)))

    def predict_now(self) -> None:
        """Read the drawing as it is and update every widget (synchronously)."""
        self._live_timer.stop()
        cpu_started = time.thread_time()
        strokes = self.pad.drawing()
        reading = self._reader.read(strokes) if self._reader is not None and strokes else None
        selected = self._selected_index(reading, strokes)
        prediction = reading.characters[selected].prediction if reading and selected is not None else None
        if reading is None or prediction is None:
            self._show_nothing()
        else:
            self._show(reading, selected)
        self._last_reading, self._last_prediction = reading, prediction
        self.saliency.update_for(self.predictor, strokes, reading, selected if prediction is not None else None)
        self.stages_strip.show_stages(prediction.stages if prediction is not None else None)
        self._last_prediction_ended = time.perf_counter()
        # CPU time, not wall time: when other programs or a training thread take the CPU,
        # wall time grows without this thread doing more, and pausing longer would only add latency.
        self._last_prediction_ms = (time.thread_time() - cpu_started) * 1000
        self.readingUpdated.emit(reading)
        self.predictionUpdated.emit(prediction)

    def _selected_index(self, reading: Reading | None, strokes: list[Stroke]) -> int | None:
        """The character the user clicked, else the one holding the stroke written last."""
        if reading is None or not reading.characters:
            return None
        for wanted in (self._pinned_stroke, _last_ink_stroke(strokes)):
            for index, character in enumerate(reading.characters):
                if wanted is not None and any(strokes[i] is wanted for i in character.character.strokes):
                    return index
        return len(reading.characters) - 1

    def select_character(self, index: int) -> None:
        """Show the ``index``-th character (left to right) in the chart, the preview and the maps."""
        # Read the drawing as it is now (the reader keeps what it read): the last reading may
        # still hold a tap's dot, which the pad drops on release, so its stroke indices may be past the end.
        strokes = self.pad.drawing()
        reading = self._reader.read(strokes) if self._reader is not None and strokes else None
        if reading is None or not 0 <= index < len(reading.characters):
            return
        self._pinned_stroke = strokes[reading.characters[index].character.strokes[-1]]
        self.predict_now()

    def _set_digit_colour(self, colour: str) -> None:
        # A palette change only when the colour changes: style and palette updates are not free.
        if self._digit_colour != colour:
            self._digit_colour = colour
            set_text_colour(self.prediction_label, colour)

    def _show(self, reading: Reading, selected: int) -> None:
        character = reading.characters[selected]
        prediction = character.prediction
        unsure = any(c.unsure for c in reading.characters)
        self._set_digit_colour(Palette.UNSURE if unsure or prediction.confidence < CONFIDENT_FROM else Palette.ACCENT)
        self.prediction_label.show_text(reading.text)
        what = character.hesitation() if character.unsure else f"{prediction.confidence:.1%} sure"
        count = len(reading.characters)
        # When the model joined strokes geometry had split, say so: the user sees why "61" became one 4.
        note = merge_note(character.symbol, character.instead_of)
        what = f"{what}; {note}" if note else what
        self.confidence_label.setText(what if count == 1 else f"Digit {selected + 1} of {count}: {what}")
        self.confidence_label.setToolTip(note)
        self.chart.set_probabilities(prediction.probabilities, prediction.digit, prediction.not_digit)
        self.chart.set_network_outline(prediction.network_probabilities, prediction.network_not_digit)
        self.preview.set_image(prediction.stages.centred)
        self.feature_maps.show_activations(prediction.activations)
        boxes = [c.character.bounds for c in reading.characters]
        self.pad.set_character_boxes(boxes, selected)

    def _show_nothing(self) -> None:
        self.prediction_label.show_text("")
        self.pad.set_character_boxes([], None)
        self.confidence_label.setText(self.model_in_use.missing() or EMPTY_HINT)
        self.confidence_label.setToolTip("")
        self.chart.set_probabilities(None)
        self.chart.set_network_outline(None)
        self.preview.set_image(None)
        self.feature_maps.clear()

    def set_pen_width_fraction(self, fraction: float) -> None:
        """Pen width as a fraction of the pad's height (clamped to the offered range)."""
        self.pen_width.setValue(fraction * 100)  # valueChanged updates the pad

    def pen_width_fraction(self) -> float:
        return self.pad.pen_width_fraction()

    def _on_pen_width_changed(self, percent: float) -> None:
        self.pad.set_pen_width_fraction(percent / 100)
        self.penWidthChanged.emit(percent / 100)


def _last_ink_stroke(strokes: list[Stroke]) -> Stroke | None:
    """The stroke written last that adds ink (an eraser belongs to no character)."""
    return next((stroke for stroke in reversed(strokes) if not stroke.erase and stroke.points), None)


def describe_model(predictor: Predictor) -> str:
    """One line about the weights in use: file name, channels and test accuracy if known."""
    source = getattr(predictor, "source", None)
    parts = [f"Model: {source.name}" if source is not None else "Model: trained in this session"]
    info = getattr(predictor, "info", None)
    if info is not None:
        channels = "-".join(str(c) for c in info.model_config.channels)
        parts.append(f"channels {channels}")
        accuracy = ModelFigures.from_info(info).mnist_accuracy
        if accuracy is not None:
            parts.append(f"MNIST test accuracy {accuracy:.2%}")
    return " · ".join(parts)
