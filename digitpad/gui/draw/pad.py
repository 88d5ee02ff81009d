"""The drawing pad: mouse and tablet input, smooth strokes, and the frames of a number's characters.

The pad keeps the drawing twice:

- as :class:`~digitpad.ink.strokes.Stroke` objects (pen path + width per point),
  the exact record that the reader, undo, resizing and replays work from;
- as pixels (:class:`~digitpad.gui.draw.ink_image.InkImage`), painted piece
  by piece as the pen moves.

The screen shows those pixels (dark ink on light paper, by a difference
blend). The model reads the strokes: :mod:`digitpad.ink.characters` renders
each character at MNIST's pen for its size.
"""

from __future__ import annotations

import math
import time

import numpy as np
from PySide6.QtCore import QEvent, QPointF, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QImage, QMouseEvent, QPainter, QPaintEvent, QPen, QPointingDevice, QResizeEvent, QTabletEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from digitpad.gui.common.style import Palette, qcolor
from digitpad.gui.draw.ink_image import InkImage
from digitpad.ink.preprocess import PEN_WIDTH_FRACTION
from digitpad.ink.strokes import ERASER_WIDTH_FACTOR, MOUSE_PRESSURE, Stroke, pressure_factor

#: Pen moves shorter than this (logical px) add no point: they only cost time.
MIN_POINT_DISTANCE = 0.75
#: The paper and the ink as shown on screen (the model always sees white on black).
PAPER_COLOUR = qcolor(Palette.PAPER)
HINT_COLOUR = qcolor(Palette.PAD_HINT)
BORDER_COLOUR = qcolor(Palette.PAD_BORDER)
BOX_COLOUR = qcolor(Palette.AXIS)
SELECTED_BOX_COLOUR = qcolor(Palette.ACCENT)
#: Frames sit this far (logical px) outside a character's ink.
BOX_MARGIN = 5.0
#: A stroke whose points all stay this close (logical px) to where it began is a tap, not ink.
TAP_DISTANCE = 4.0

#: Text shown on an empty pad.
EMPTY_PAD_HINT = "Draw a digit here"


class DrawingPad(QWidget):
    """The pad the user draws on (objectName ``canvas``).

    Signals:
        inkChanged: new ink while the pen moves (the DrawTab throttles predictions on it).
        drawingChanged: the drawing is complete for now: pen-up, undo, clear or a resize.
        strokeStarted: the pen touched the pad.
        characterClicked(int): a tap (a click without drawing) on one of the
            character boxes (see :meth:`set_character_boxes`); the tap leaves no ink.
    """

    inkChanged = Signal()
    drawingChanged = Signal()
    strokeStarted = Signal()
    firstPainted = Signal()
    characterClicked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, objectName="canvas")
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setAttribute(Qt.WidgetAttribute.WA_StaticContents)
        self.setAttribute(Qt.WidgetAttribute.WA_TabletTracking, False)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(160, 160)
        self.setToolTip(
            "Draw a digit with the mouse or a pen. Pen pressure sets the stroke width; "
            "the pen's eraser end rubs out.\nCtrl+Z undoes the last stroke, Esc clears the pad."
        )
        self._strokes: list[Stroke] = []
        self._current: Stroke | None = None
        self._pieces_drawn = 0
        self._pen_width_fraction = PEN_WIDTH_FRACTION
        self._painted_once = False
        # The pixels shown; made again at every resize.
        self._ink = InkImage(QSize(max(self.width(), 1), max(self.height(), 1)), self._device_ratio())
        #: Boxes around the characters of a number (logical px), and the selected one.
        self._boxes: list[QRectF] = []
        #: The saliency overlay (digitpad.gui.draw.saliency_overlay) and where it lies on the pad.
        self._overlay: tuple[QImage, QRectF] | None = None
        self._selected_box: int | None = None

    @property
    def strokes(self) -> list[Stroke]:
        """The strokes drawn so far (a copy of the list; the strokes themselves are shared)."""
        return list(self._strokes)

    def drawing(self) -> list[Stroke]:
        """Every stroke, the one being drawn included (the strokes themselves are shared, not copied)."""
        return self._strokes + ([self._current] if self._current is not None else [])

    def set_character_boxes(self, boxes: list[tuple[float, float, float, float]], selected: int | None) -> None:
        """Frame each character of a number, ``selected`` in the accent colour; one or none: no frames.

        ``boxes`` are (left, top, right, bottom) in logical px. A tap inside a
        frame then selects that character (``characterClicked``) instead of
        leaving a dot.
        """
        new = [QRectF(left, top, right - left, bottom - top) for left, top, right, bottom in boxes]
        new = new if len(new) >= 2 else []
        selected = selected if new else None
        if new == self._boxes and selected == self._selected_box:
            return
        dirty = QRectF()
        for box in self._boxes + new:
            dirty = dirty.united(box.adjusted(-BOX_MARGIN - 2, -BOX_MARGIN - 2, BOX_MARGIN + 2, BOX_MARGIN + 2))
        self._boxes, self._selected_box = new, selected
        self.update(dirty.toAlignedRect())

    def set_overlay(self, image: QImage | None, rect: QRectF | None) -> None:
        """Paint ``image`` stretched over ``rect`` (logical pixels) on top of the ink; None removes it."""
        old = self._overlay
        self._overlay = (image, rect) if image is not None and rect is not None else None
        for overlay in (old, self._overlay):
            if overlay is not None:
                self.update(overlay[1].toAlignedRect().adjusted(-1, -1, 1, 1))

    def is_empty(self) -> bool:
        return not self._strokes and self._current is None

    def has_been_painted(self) -> bool:
        """True once the pad has been painted on screen."""
        return self._painted_once

    def is_drawing(self) -> bool:
        """True while the pen is down."""
        return self._current is not None

    def pen_width_fraction(self) -> float:
        return self._pen_width_fraction

    def set_pen_width_fraction(self, fraction: float) -> None:
        """Pen width for new strokes, as a fraction of the pad's height."""
        self._pen_width_fraction = float(fraction)

    def pen_width(self) -> float:
        """The plain pen width in logical pixels (pressure 0.5, the mouse's)."""
        return self._pen_width_fraction * self.height()

    def undo(self) -> bool:
        """Drop the last stroke and re-render; False if there was none."""
        if self._current is not None:
            self._finish_stroke()
        if not self._strokes:
            return False
        self._strokes.pop()
        self._render_all()
        self.drawingChanged.emit()
        return True

    def clear(self) -> None:
        """Remove every stroke."""
        had_ink = bool(self._strokes) or self._current is not None
        self._current = None
        self._strokes.clear()
        self._render_all()
        if had_ink:
            self.drawingChanged.emit()

    def set_strokes(self, strokes: list[Stroke]) -> None:
        """Replace the drawing (logical coordinates) and re-render it."""
        self._current = None
        self._strokes = list(strokes)
        self._render_all()
        self.drawingChanged.emit()

    def ink_array(self) -> np.ndarray:
        """The pad's pixels as a uint8 (height, width) view: bright ink on black, device pixels."""
        return self._ink.array

    def device_scale(self) -> float:
        """Device pixels per logical pixel of the ink image."""
        return self._ink.scale

    def _device_ratio(self) -> float:
        return float(self.devicePixelRatioF()) or 1.0

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            event.ignore()
            return
        self._begin_stroke(event.position(), MOUSE_PRESSURE, erase=False)
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._current is None or not event.buttons() & Qt.MouseButton.LeftButton:
            event.ignore()
            return
        self._extend_stroke(event.position(), MOUSE_PRESSURE)
        event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton or self._current is None:
            event.ignore()
            return
        self._extend_stroke(event.position(), MOUSE_PRESSURE)
        self._finish_stroke()
        event.accept()

    def tabletEvent(self, event: QTabletEvent) -> None:
        # Accepting tablet events stops Qt from also synthesising mouse events for them.
        kind = event.type()
        pressure = event.pressure()
        if kind == QEvent.Type.TabletPress:
            erase = event.pointerType() == QPointingDevice.PointerType.Eraser
            self._begin_stroke(event.position(), pressure, erase=erase)
        elif kind == QEvent.Type.TabletMove:
            if self._current is not None:
                self._extend_stroke(event.position(), pressure)
        elif kind == QEvent.Type.TabletRelease:
            if self._current is not None:
                self._extend_stroke(event.position(), pressure)
                self._finish_stroke()
        event.accept()

    def _stroke_width(self, pressure: float, erase: bool) -> float:
        width = self.pen_width() * pressure_factor(pressure)
        return width * ERASER_WIDTH_FACTOR if erase else width

    def _begin_stroke(self, position: QPointF, pressure: float, erase: bool) -> None:
        if self._current is not None:
            self._finish_stroke()
        self._current = Stroke(erase=erase)
        self._current.add(position.x(), position.y(), self._stroke_width(pressure, erase), pressure, time.monotonic())
        self._pieces_drawn = 0
        self.strokeStarted.emit()
        self._paint_new_pieces(final=False)

    def _extend_stroke(self, position: QPointF, pressure: float) -> None:
        stroke = self._current
        assert stroke is not None
        last_x, last_y = stroke.points[-1]
        if math.hypot(position.x() - last_x, position.y() - last_y) < MIN_POINT_DISTANCE:
            return
        stroke.add(position.x(), position.y(), self._stroke_width(pressure, stroke.erase), pressure, time.monotonic())
        self._paint_new_pieces(final=False)

    def _finish_stroke(self) -> None:
        stroke = self._current
        assert stroke is not None
        box = self._tapped_box(stroke)
        if box is not None:
            # A tap on a character of a number selects it: no dot is left.
            self._current = None
            self._render_all()
            self.characterClicked.emit(box)
            self.drawingChanged.emit()
            return
        self._paint_new_pieces(final=True)
        self._strokes.append(stroke)
        self._current = None
        self.drawingChanged.emit()

    def _tapped_box(self, stroke: Stroke) -> int | None:
        """The frame a tap landed in, if ``stroke`` is a tap (the pen barely moved) inside one."""
        if not self._boxes or stroke.erase:
            return None
        x0, y0 = stroke.points[0]
        if any(math.hypot(x - x0, y - y0) > TAP_DISTANCE for x, y in stroke.points):
            return None
        for index, box in enumerate(self._boxes):
            if box.adjusted(-BOX_MARGIN, -BOX_MARGIN, BOX_MARGIN, BOX_MARGIN).contains(QPointF(x0, y0)):
                return index
        return None

    def _paint_new_pieces(self, final: bool) -> None:
        """Paint the pieces of the current stroke not painted yet (and the tail if ``final``)."""
        stroke = self._current
        assert stroke is not None
        last = len(stroke.points) if final else len(stroke.points) - 1
        if self._pieces_drawn > last:
            return
        dirty = self._ink.paint_pieces(stroke, self._pieces_drawn, last)
        self._pieces_drawn = last + 1
        self.update(dirty.toAlignedRect().adjusted(-2, -2, 2, 2))
        self.inkChanged.emit()

    def _render_all(self) -> None:
        """Re-render every stroke from scratch (undo, clear, resize: never while drawing)."""
        drawn = [(stroke, len(stroke.points)) for stroke in self._strokes]
        if self._current is not None:
            drawn.append((self._current, self._pieces_drawn - 1))
        self._ink.render(drawn)
        self.update()

    def resizeEvent(self, event: QResizeEvent) -> None:
        old, new = event.oldSize(), event.size()
        if old.isValid() and old.width() > 0 and old.height() > 0 and (self._strokes or self._current):
            # Keep the whole drawing on the pad, in proportion to it.
            factor = min(new.width() / old.width(), new.height() / old.height())
            for stroke in self._strokes + ([self._current] if self._current is not None else []):
                stroke.points = [(x * factor, y * factor) for x, y in stroke.points]
                stroke.widths = [w * factor for w in stroke.widths]
        self._ink = InkImage(new, self._device_ratio())
        self._render_all()
        super().resizeEvent(event)
        if self._strokes:
            self.drawingChanged.emit()

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.DevicePixelRatioChange and self._ink.scale != self.devicePixelRatioF():
            self._ink = InkImage(self.size(), self._device_ratio())
            self._render_all()
            self.drawingChanged.emit()
        return super().event(event)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        area: QRect = event.rect()
        painter.fillRect(area, PAPER_COLOUR)
        # |paper - ink| turns white-on-black ink into near-black ink on the paper colour.
        painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_Difference)
        scale = self._ink.scale
        source = QRectF(area.x() * scale, area.y() * scale, area.width() * scale, area.height() * scale)
        painter.drawImage(QRectF(area), self._ink.image, source)
        painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceOver)
        if self._overlay is not None:
            # Screen: the colour lights up the dark ink and leaves the paper white.
            painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_Screen)
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            painter.drawImage(self._overlay[1], self._overlay[0])
            painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceOver)
        if self.is_empty():
            painter.setPen(HINT_COLOUR)
            font = painter.font()
            font.setPointSizeF(max(font.pointSizeF() * 1.4, 11.0))
            painter.setFont(font)
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, EMPTY_PAD_HINT)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        self._paint_boxes(painter)
        painter.setPen(QPen(BORDER_COLOUR, 1))
        painter.drawRect(QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5))
        painter.end()
        if not self._painted_once:
            self._painted_once = True
            self.firstPainted.emit()

    def _paint_boxes(self, painter: QPainter) -> None:
        """Frames around a number's characters: the selected one in the accent colour."""
        if not self._boxes:
            return
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        for index, box in enumerate(self._boxes):
            selected = index == self._selected_box
            pen = QPen(SELECTED_BOX_COLOUR if selected else BOX_COLOUR, 2 if selected else 1)
            pen.setStyle(Qt.PenStyle.SolidLine if selected else Qt.PenStyle.DashLine)
            painter.setPen(pen)
            painter.drawRoundedRect(box.adjusted(-BOX_MARGIN, -BOX_MARGIN, BOX_MARGIN, BOX_MARGIN), 6, 6)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)

    def sizeHint(self) -> QSize:
        return QSize(520, 520)
