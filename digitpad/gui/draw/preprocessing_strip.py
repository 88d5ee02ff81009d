"""The preprocessing strip (objectName ``preprocessingStages``): what the pipeline did to the drawing.

Four labelled images from :func:`digitpad.model.explain.preprocessing_stages`,
which reads them straight from the :class:`~digitpad.ink.preprocess.PreprocessResult`
the prediction was made from: the ink cropped, fitted into MNIST's 20x20
box, moved by its centre of mass into 28x28, and the normalised input. The
first three are drawn as the model sees ink (bright on black); the normalised
one on a diverging scale, paper's negative value blue and ink's positive red,
so that the standardisation shows.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QRectF, Qt
from PySide6.QtGui import QImage, QPainter, QPaintEvent, QPen, QShowEvent
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QToolTip, QWidget

from digitpad.gui.common.image_io import array_image
from digitpad.gui.common.style import Palette, muted, qcolor, small_font
from digitpad.ink.preprocess import PreprocessResult
from digitpad.model.explain import PreprocessingStage, preprocessing_stages

#: Side of each stage's image, in logical pixels.
STAGE_SIDE = 52
STAGE_COUNT = 4


def diverging_image(values: np.ndarray) -> QImage:
    """Signed values as RGB: negative blue, zero white, positive red, each side scaled to its own extreme."""
    low, high = min(float(values.min()), -1e-6), max(float(values.max()), 1e-6)
    negative = np.clip(values / low, 0.0, 1.0)  # 0..1 towards blue
    positive = np.clip(values / high, 0.0, 1.0)  # 0..1 towards red
    red = 255 * (1 - negative * 0.55)
    green = 255 * (1 - negative * 0.35) * (1 - positive * 0.85)
    blue = 255 * (1 - positive * 0.85)
    return array_image(np.stack([red, green, blue], axis=-1).astype(np.uint8))


def stage_image(stage: PreprocessingStage) -> QImage:
    """The stage's image: diverging colours for the signed normalised input, grey for the rest."""
    return diverging_image(stage.image) if stage.image.min() < 0 else array_image(stage.image)


class StageImage(QWidget):
    """One stage's image, fitted into a fixed square, aspect kept, pixels crisp.

    It paints itself (no QLabel pixmap): a new stage repaints this square only,
    with no layout pass, and its image is made when it is painted, so pen
    events that come faster than the screen refreshes cost no conversions.
    """

    def __init__(self, side: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFixedSize(side + 2, side + 2)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self._stage: PreprocessingStage | None = None
        self._image: tuple[PreprocessingStage, QImage] | None = None

    def set_stage(self, stage: PreprocessingStage | None) -> None:
        self._stage = stage
        self.update()

    def stage(self) -> PreprocessingStage | None:
        return self._stage

    def image(self) -> QImage | None:
        """The image shown for the stage (made now if it was not painted yet), or None."""
        if self._stage is None:
            return None
        if self._image is None or self._image[0] is not self._stage:
            self._image = (self._stage, stage_image(self._stage))
        return self._image[1]

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip and self._stage is not None:
            # The tooltip is the stage's one line, made only when asked for.
            QToolTip.showText(event.globalPos(), self._stage.description, self)
            return True
        return super().event(event)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), Qt.GlobalColor.black)
        image = self.image()
        if image is not None and not image.isNull():
            side = self.width() - 2
            scale = side / max(image.width(), image.height())
            width, height = image.width() * scale, image.height() * scale
            painter.drawImage(QRectF(1 + (side - width) / 2, 1 + (side - height) / 2, width, height), image)
        painter.setPen(QPen(qcolor(Palette.FRAME), 1))
        painter.drawRect(QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5))
        painter.end()


class PreprocessingStrip(QFrame):
    """The four stages side by side, each with its label; empty frames when nothing is drawn."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, objectName="preprocessingStages")
        self.setToolTip(
            "What preprocessing did to your drawing, as MNIST's digits were made: cropped to the ink, "
            "scaled so that the longer side is 20 px, moved so that the centre of mass is at the centre "
            "of 28x28, then standardised with MNIST's mean and standard deviation."
        )
        layout = QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setHorizontalSpacing(8)
        layout.setVerticalSpacing(2)
        self.images: list[StageImage] = []
        self.captions: list[QLabel] = []
        for column in range(STAGE_COUNT):
            image = StageImage(STAGE_SIDE)
            image.setObjectName(f"preprocessingStage{column + 1}")
            caption = muted(QLabel(""))
            caption.setFont(small_font(caption))
            caption.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
            layout.addWidget(image, 0, column, Qt.AlignmentFlag.AlignHCenter)
            layout.addWidget(caption, 1, column)
            self.images.append(image)
            self.captions.append(caption)
        self._stages: PreprocessResult | None = None
        self._shown: list[PreprocessingStage] = []
        self.show_stages(None)

    def show_stages(self, stages: PreprocessResult | None) -> None:
        """Show the stages of a prediction (None: nothing drawn). Only drawn while visible."""
        self._stages = stages
        if self.isVisible() or not self._shown:
            self._refresh()

    def shown_stages(self) -> list[PreprocessingStage]:
        """The stages on screen (for tests and tools)."""
        return list(self._shown)

    def _refresh(self) -> None:
        if self._stages is None:
            labels = ["1 · ink cropped", "2 · fitted in 20×20", "3 · centred by mass", "4 · normalised"]
            self._shown = []
            for image, caption, label in zip(self.images, self.captions, labels, strict=True):
                image.set_stage(None)
                caption.setText(label)
            return
        self._shown = preprocessing_stages(self._stages)
        for image, caption, stage in zip(self.images, self.captions, self._shown, strict=True):
            image.set_stage(stage)
            caption.setText(stage.label)  # unchanged text: no layout pass

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._refresh()
