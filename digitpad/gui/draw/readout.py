"""The Draw tab's readout widgets: the probability chart, the digit read, and the model's 28x28 input."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QFont, QFontMetrics, QImage, QMouseEvent, QPainter, QPaintEvent, QPalette, QPen, QResizeEvent
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget

from digitpad.base.constants import MNIST_SIZE, NUM_CLASSES
from digitpad.gui.common.charts import TenBarChart
from digitpad.gui.common.style import Palette, qcolor

#: Below this confidence the digit is shown in the "unsure" colour (below
#: reading.UNSURE_BELOW it is not shown at all: "?" takes its place).
CONFIDENT_FROM = 0.6
#: The digits' size when they fit: the number shrinks to fit the panel's width.
DIGIT_PIXEL_SIZE = 104


def merge_note(symbol: str, instead_of: str | None) -> str:
    """Why a character is one though its strokes looked like several, e.g. "read as one 4, not 6 and 1";
    empty when geometry and the model agreed."""
    if not instead_of:
        return ""
    apart = list(instead_of)
    listed = apart[0] if len(apart) == 1 else ", ".join(apart[:-1]) + " and " + apart[-1]
    return f"read as one {symbol}, not {listed}"


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
        # The network's own probabilities, where adapting to the user's samples changed them: so the user sees
        # what the adaptation did. Hidden otherwise.
        self.network_outline = pg.BarGraphItem(
            x=np.arange(NUM_CLASSES + 1), height=np.zeros(NUM_CLASSES + 1), width=0.72,
            brush=pg.mkBrush(None), pen=pg.mkPen(Palette.VALUE_TEXT, width=1),
        )  # fmt: skip
        self.network_outline.setZValue(10)
        self.network_outline.hide()
        self.addItem(self.network_outline)
        self.setToolTip(
            "The digits' probabilities, and (?) how likely the drawing is no digit at all. "
            "A thin outline: what the network alone read, where your samples changed it."
        )

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

    def set_network_outline(self, probabilities: np.ndarray | None, not_digit: float = 0.0) -> None:
        """Outline the network's own ``probabilities`` (10,) and ``not_digit`` over the bars, if they differ from
        the bars' (what adapting to the user's samples changed); None hides it."""
        if probabilities is None:
            self.network_outline.hide()
            return
        network = np.append(np.asarray(probabilities, np.float32), np.float32(not_digit))
        shown = np.append(self.heights(), np.float32(self.not_digit_height()))
        if np.allclose(network, shown, atol=0.005):
            self.network_outline.hide()
            return
        self.network_outline.setOpts(height=network)
        self.network_outline.show()

    def network_heights(self) -> np.ndarray | None:
        """The network's probabilities outlined, then its "not a digit" (11,); None when hidden (for tests)."""
        return np.asarray(self.network_outline.opts["height"]) if self.network_outline.isVisible() else None

    def not_digit_height(self) -> float:
        return float(self.not_digit_bar.opts["height"][0])


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
        super().__init__(parent, objectName="inputPreview")
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
        """A 28x28 image painted over the input (the saliency map: gui/draw/saliency_overlay.py); None removes it."""
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
