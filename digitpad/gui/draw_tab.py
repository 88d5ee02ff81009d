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
of the "not a digit" gate (digitpad.gate), then updates of widgets that were
built once: a label, a bar chart (``setOpts``), a 28x28 image, and the tiled
image of the one visible feature-map layer (``setImage``). About 5 ms of
CPU in all on the 2-core development machine.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QAction,
    QFont,
    QFontMetrics,
    QImage,
    QKeySequence,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPalette,
    QPen,
    QResizeEvent,
)
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

from digitpad.constants import MNIST_SIZE, NUM_CLASSES
from digitpad.gui.canvas import DrawingPad
from digitpad.gui.charts import TenBarChart
from digitpad.gui.feature_maps import FeatureMapPanel
from digitpad.gui.model_in_use import ModelInUse
from digitpad.gui.preprocessing_strip import PreprocessingStrip
from digitpad.gui.saliency_overlay import SaliencyOverlay
from digitpad.gui.style import (
    Palette,
    elide_long_words,
    muted,
    qcolor,
    scaled_font,
    section_title,
    set_text_colour,
    splitter,
    titled_panel,
    warning,
)
from digitpad.model_figures import ModelFigures
from digitpad.preprocess import PEN_WIDTH_FRACTION
from digitpad.reading import Reader, Reading
from digitpad.strokes import Stroke

if TYPE_CHECKING:  # torch stays a lazy import: the window shows before it is loaded
    from digitpad.inference import Prediction, Predictor

#: Bounds of the pause between the end of a live prediction and the start of the next.
MIN_LIVE_GAP_MS = 4.0
MAX_LIVE_GAP_MS = 16.0
#: The pause is this many times the previous prediction's CPU time: at most half the GUI thread's time predicts.
LIVE_GAP_FACTOR = 1.0
#: Pen width range offered, in percent of the pad's height.
PEN_WIDTH_PERCENT_RANGE = (2.0, 20.0)
#: Below this confidence the digit is shown in the "unsure" colour (below
#: reading.UNSURE_BELOW it is not shown at all: "?" takes its place).
CONFIDENT_FROM = 0.6
#: The digits' size when they fit: the number shrinks to fit the panel's width.
DIGIT_PIXEL_SIZE = 104
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


class ProbabilityChart(TenBarChart):
    """Ten bars, one per digit (objectName ``probabilityChart``); the predicted one in the accent colour; then a
    "?" bar: how likely the drawing is no digit at all (the gate's or the model's own "not a digit")."""

    def __init__(self, parent: QWidget | None = None) -> None:
        font = QFont()
        font.setPointSizeF(10)
        super().__init__(font=font, parent=parent)
        self.setObjectName("probabilityChart")
        plot = self.getPlotItem()
        # Room above 100% for the value written over the tallest bar.
        plot.setYRange(0.0, 1.2, padding=0)
        plot.showGrid(x=False, y=True, alpha=0.25)
        left = self.getAxis("left")
        left.setTicks([[(0.0, "0"), (0.5, "50%"), (1.0, "100%")]])
        left.setWidth(44)
        # Show the 0 and 100% labels although they sit at the ends of the axis.
        left.setStyle(hideOverlappingLabels=False)
        self.add_value_labels(1)
        plot.setXRange(-0.6, NUM_CLASSES + 0.6, padding=0)
        self.getAxis("bottom").setTicks([[*((d, str(d)) for d in range(NUM_CLASSES)), (NUM_CLASSES, "?")]])
        self.not_digit_bar = pg.BarGraphItem(
            x=[NUM_CLASSES], height=[0.0], width=0.72, brush=pg.mkBrush(Palette.UNSURE), pen=pg.mkPen(None)
        )
        self.addItem(self.not_digit_bar)
        self.setToolTip("The digits' probabilities, and (?) how likely the drawing is no digit at all")

    def set_probabilities(
        self, probabilities: np.ndarray | None, predicted: int | None = None, not_digit: float = 0.0
    ) -> None:
        """Show ``probabilities`` (10,) and ``not_digit``, highlighting ``predicted`` unless "not a digit" is
        likelier; None shows empty bars."""
        heights = np.zeros(NUM_CLASSES, np.float32) if probabilities is None else np.asarray(probabilities)
        self.not_digit_bar.setOpts(height=[not_digit])
        texts = []
        if predicted is not None and not_digit > float(heights[predicted]):
            texts.append((NUM_CLASSES, not_digit + 0.01, f"{not_digit:.0%}"))
            predicted = None
        elif predicted is not None:
            top = float(heights[predicted])
            # The predicted digit's probability, written above its bar.
            texts.append((predicted, top + 0.01, f"{top:.0%}"))
        self.set_bars(heights, highlight=predicted, texts=texts)

    def not_digit_height(self) -> float:
        return float(self.not_digit_bar.opts["height"][0])


def _column(*widgets: QWidget) -> QVBoxLayout:
    """Widgets stacked tightly, the first one taking the spare height."""
    layout = QVBoxLayout()
    layout.setSpacing(2)
    for index, widget in enumerate(widgets):
        layout.addWidget(widget, 1 if index == 0 else 0)
    return layout


class PredictionLabel(QLabel):
    """The number read (objectName ``predictionLabel``): its text is exactly the reading, e.g. "2026".

    Clicking a digit selects it (``characterClicked``); the number shrinks to fit the width.
    """

    characterClicked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("", parent, objectName="predictionLabel")
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMinimumSize(120, 130)
        self.setToolTip("What the network reads; click a digit of a number to look at it")
        self._fitted_length = -1

    def show_text(self, text: str) -> None:
        if len(text) != self._fitted_length:
            self._fitted_length = len(text)
            self._fit_font(text)
        self.setText(text)

    def _fit_font(self, text: str) -> None:
        font = QFont()
        font.setBold(True)
        font.setPixelSize(DIGIT_PIXEL_SIZE)
        advance = QFontMetrics(font).horizontalAdvance(text or "0")
        room = max(self.width(), self.minimumWidth()) - 12
        if advance > room:
            font.setPixelSize(max(24, int(DIGIT_PIXEL_SIZE * room / advance)))
        self.setFont(font)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_font(self.text())

    def mousePressEvent(self, event: QMouseEvent) -> None:
        text = self.text()
        metrics = QFontMetrics(self.font())
        x = event.position().x() - (self.width() - metrics.horizontalAdvance(text)) / 2
        for index in range(len(text)):
            if x < metrics.horizontalAdvance(text[: index + 1]):
                if x >= 0:
                    self.characterClicked.emit(index)
                break
        super().mousePressEvent(event)


class InputPreview(QWidget):
    """The 28x28 image the model sees, scaled up by whole pixels (objectName ``inputPreview``)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("inputPreview")
        self.setToolTip(
            "What the network sees: your drawing cropped, scaled into a 20x20 box and centred by its "
            "centre of mass in a 28x28 frame, as MNIST's digits were."
        )
        self.setMinimumSize(MNIST_SIZE * 3 + 2, MNIST_SIZE * 3 + 2)
        # Paints every pixel itself, so a new image repaints only this widget, not its parents.
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self._pixels = np.zeros((MNIST_SIZE, MNIST_SIZE), np.uint8)
        self._scaled: tuple[int, QImage, np.ndarray] | None = None
        self._overlay: QImage | None = None

    def set_overlay(self, image: QImage | None) -> None:
        """A 28x28 image painted over the input (the saliency map: gui/saliency_overlay.py); None removes it."""
        self._overlay = image
        self.update()

    def set_image(self, image: np.ndarray | None) -> None:
        """A (28, 28) image in [0, 1], bright ink on black; None for a blank frame."""
        if image is None:
            self._pixels.fill(0)
        else:
            self._pixels[...] = np.rint(np.clip(image, 0.0, 1.0) * 255).astype(np.uint8)
        self._scaled = None
        self.update()

    def pixels(self) -> np.ndarray:
        """The shown image as uint8 (for tests)."""
        return self._pixels.copy()

    def _scaled_image(self, zoom: int) -> QImage:
        """The image blown up by ``zoom`` device pixels per pixel with numpy, so painting is a plain copy.

        (QPainter's scaled drawImage of a tiny grey image costs over a millisecond; this costs ~0.05.)
        """
        if self._scaled is None or self._scaled[0] != zoom:
            side = MNIST_SIZE * zoom
            stride = (side + 3) // 4 * 4
            buffer = np.zeros((side, stride), np.uint8)
            buffer[:, :side] = np.repeat(np.repeat(self._pixels, zoom, axis=0), zoom, axis=1)
            image = QImage(buffer.data, side, side, stride, QImage.Format.Format_Grayscale8)
            self._scaled = (zoom, image, buffer)  # the QImage shares the numpy buffer: keep both
        return self._scaled[1]

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), self.palette().color(QPalette.ColorRole.Window))
        side = min(self.width(), self.height()) - 2
        # Whole device pixels per image pixel keep the squares crisp and equal.
        ratio = self.devicePixelRatioF()
        zoom = max(int(side * ratio // MNIST_SIZE), 1)
        size = zoom * MNIST_SIZE / ratio
        left = round((self.width() - size) / 2 * ratio) / ratio
        top = round((self.height() - size) / 2 * ratio) / ratio
        image = self._scaled_image(zoom)
        image.setDevicePixelRatio(ratio)
        painter.drawImage(QPointF(left, top), image)
        if self._overlay is not None:
            painter.drawImage(QRectF(left, top, size, size), self._overlay)
        painter.setPen(QPen(qcolor(Palette.FRAME), 1))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(QRectF(left - 0.5, top - 0.5, size + 1, size + 1))
        painter.end()

    def sizeHint(self) -> QSize:
        return QSize(MNIST_SIZE * 5 + 2, MNIST_SIZE * 5 + 2)

    def heightForWidth(self, width: int) -> int:
        return width

    def hasHeightForWidth(self) -> bool:
        return True


class DrawTab(QWidget):
    """The Draw tab (objectName ``drawTab``).

    Signals:
        predictionUpdated(object): every shown widget was updated for a new
            :class:`~digitpad.inference.Prediction` (the selected character's), or None
            when nothing is predicted.
        readingUpdated(object): the same moment, with the whole drawing's
            :class:`~digitpad.reading.Reading` (None when nothing is read).
        penWidthChanged(float): the pen width fraction the user picked.
    """

    predictionUpdated = Signal(object)
    readingUpdated = Signal(object)
    penWidthChanged = Signal(float)

    def __init__(self, model_in_use: ModelInUse | None = None, parent: QWidget | None = None) -> None:
        """``model_in_use``: the model shared with the window and the Train tab (a private one if None)."""
        super().__init__(parent)
        self.setObjectName("drawTab")
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

        self.model_problem = warning(QLabel(objectName="modelProblem"))
        self.model_problem.setWordWrap(True)
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
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 10, 10, 10)
        layout.setSpacing(8)
        layout.addWidget(self.model_problem)
        layout.addWidget(self.splitter, 1)
        self._add_shortcuts()

        self._live_timer = QTimer(self)
        self._live_timer.setSingleShot(True)
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
        self._on_model_changed(self.model_in_use.predictor)

    def _build_pad_column(self) -> QWidget:
        """The pad, with Undo, Clear and the pen width under it."""
        self.undo_button = QPushButton("Undo", objectName="undoButton")
        self.undo_button.setToolTip("Remove the last stroke (Ctrl+Z)")
        self.clear_button = QPushButton("Clear", objectName="clearButton")
        self.clear_button.setToolTip("Clear the pad (Esc)")
        self.pen_width = QDoubleSpinBox(objectName="penWidthSpin")
        self.pen_width.setRange(*PEN_WIDTH_PERCENT_RANGE)
        self.pen_width.setSingleStep(0.5)
        self.pen_width.setDecimals(1)
        self.pen_width.setSuffix(" % of height")
        self.pen_width.setValue(PEN_WIDTH_FRACTION * 100)
        self.pen_width.setToolTip(PEN_WIDTH_TOOLTIP.format(default=PEN_WIDTH_FRACTION * 100))
        pen_label = QLabel("Pen width:")
        pen_label.setToolTip(self.pen_width.toolTip())
        tools = QHBoxLayout()
        tools.setContentsMargins(0, 0, 0, 0)
        for widget in (self.undo_button, self.clear_button, self.saliency.toggle):
            tools.addWidget(widget)
        tools.addStretch(1)
        tools.addWidget(pen_label)
        tools.addWidget(self.pen_width)
        column = QWidget()
        column_layout = QVBoxLayout(column)
        column_layout.setContentsMargins(0, 0, 0, 0)
        column_layout.setSpacing(6)
        column_layout.addWidget(self.pad, 1)
        column_layout.addLayout(tools)
        self._pad_column_layout = column_layout
        return column

    def add_under_pad(self, widget: QWidget) -> None:
        """Put ``widget`` (a tool row: the teach bar) under the pad's buttons."""
        self._pad_column_layout.addWidget(widget)

    def _build_results(self) -> QFrame:
        """The prediction, its confidence, the model's input and the probabilities."""
        self.prediction_label = PredictionLabel()
        self.confidence_label = QLabel(EMPTY_HINT, objectName="confidenceLabel")
        self.confidence_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.confidence_label.setWordWrap(True)
        self.confidence_label.setFont(scaled_font(self.confidence_label, 1.25))
        self.preview = InputPreview()
        preview_caption = muted(QLabel("28×28 input", objectName="caption"))
        preview_caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        top_row = QHBoxLayout()
        top_row.setSpacing(12)
        top_row.addLayout(_column(self.prediction_label, self.confidence_label), 1)
        top_row.addLayout(_column(self.preview, preview_caption), 1)
        self.chart = ProbabilityChart()
        self.model_info = muted(QLabel("", objectName="modelInfo"))
        self.model_info.setWordWrap(True)
        results, layout = titled_panel("Prediction")
        results.setObjectName("resultsPanel")
        layout.addLayout(top_row)
        layout.addSpacing(4)
        layout.addWidget(section_title("Probabilities"))
        layout.addWidget(self.chart, 1)
        self.stages_strip = PreprocessingStrip()
        layout.addWidget(section_title("Preprocessing"))
        layout.addWidget(self.stages_strip)
        layout.addWidget(self.model_info)
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

    # -- model -------------------------------------------------------------------

    @property
    def predictor(self) -> Predictor | None:
        """The :class:`~digitpad.inference.Predictor` in use, or None."""
        return self.model_in_use.predictor

    def _on_model_changed(self, predictor: Predictor | None) -> None:
        self.set_problem(self.model_in_use.problem)
        self._reader = Reader(predictor) if predictor is not None else None
        if predictor is not None:
            _, activations = predictor.predict_input(
                np.zeros((MNIST_SIZE, MNIST_SIZE), np.float32), with_activations=True
            )
            self.feature_maps.set_layers(predictor.block_names, [a.shape for a in activations])
            self.feature_maps.set_model(predictor)
            self.model_info.setText(describe_model(predictor))
        else:
            self.feature_maps.set_layers([], [])
            self.feature_maps.set_model(None)
            self.model_info.setText("")
        self.predict_now()

    def set_problem(self, problem: str | None) -> None:
        """Show (or hide, for None) a message about the model above the pad."""
        self.model_problem.setText(elide_long_words(problem or ""))
        self.model_problem.setVisible(bool(problem))

    # -- prediction --------------------------------------------------------------

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
        self.confidence_label.setText(what if count == 1 else f"Digit {selected + 1} of {count}: {what}")
        self.chart.set_probabilities(prediction.probabilities, prediction.digit, prediction.not_digit)
        self.preview.set_image(prediction.stages.centred)
        self.feature_maps.show_activations(prediction.activations)
        boxes = [c.character.bounds for c in reading.characters]
        self.pad.set_character_boxes(boxes, selected)

    def _show_nothing(self) -> None:
        self.prediction_label.show_text("")
        self.pad.set_character_boxes([], None)
        if self.model_in_use.loading:
            hint = "Loading the model…"
        elif self.model_in_use.predictor is None:
            hint = "No model loaded"
        else:
            hint = EMPTY_HINT
        self.confidence_label.setText(hint)
        self.chart.set_probabilities(None)
        self.preview.set_image(None)
        self.feature_maps.clear()

    # -- pen width ---------------------------------------------------------------

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
    parts = []
    source = getattr(predictor, "source", None)
    parts.append(f"Model: {source.name}" if source is not None else "Model: trained in this session")
    info = getattr(predictor, "info", None)
    if info is not None:
        channels = "-".join(str(c) for c in info.model_config.channels)
        parts.append(f"channels {channels}")
        accuracy = ModelFigures.from_info(info).mnist_accuracy
        if accuracy is not None:
            parts.append(f"MNIST test accuracy {accuracy:.2%}")
    return " · ".join(parts)
