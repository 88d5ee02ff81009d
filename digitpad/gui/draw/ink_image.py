"""The pad's pixels: a ``Format_Grayscale8`` QImage at device resolution whose buffer *is* a numpy array.

White ink on black paper (MNIST's polarity). Strokes are painted into it
piece by piece as the pen moves, and re-rendered from the strokes after an
undo, a clear or a resize. Strokes are smoothed with the midpoint quadratic
scheme: piece *i* runs from the midpoint of segment *i-1* to the midpoint of
segment *i*, bending through point *i-1*. Each piece can be drawn as soon as
its end point arrives, and a full re-render draws the very same pieces, so
incremental and re-rendered pixels agree.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPainterPath, QPen

from digitpad.ink.strokes import Stroke


def _midpoint(a: tuple[float, float], b: tuple[float, float]) -> QPointF:
    return QPointF((a[0] + b[0]) / 2, (a[1] + b[1]) / 2)


def stroke_piece(stroke: Stroke, index: int) -> tuple[QPainterPath | None, QPointF, float]:
    """Piece ``index`` of a stroke as (path or None for a dot, dot centre, width).

    Piece 0 is the dot at pen-down; piece i >= 1 is the quadratic from the
    midpoint before point i-1 to the midpoint after it; piece len(points) is
    the tail from the last midpoint to the last point, drawn at pen-up.
    """
    points, widths = stroke.points, stroke.widths
    count = len(points)
    if index == 0:
        return None, QPointF(*points[0]), widths[0]
    if index < count:
        start = QPointF(*points[0]) if index == 1 else _midpoint(points[index - 2], points[index - 1])
        path = QPainterPath(start)
        path.quadTo(QPointF(*points[index - 1]), _midpoint(points[index - 1], points[index]))
        return path, start, (widths[index - 1] + widths[index]) / 2
    # The tail: from the last midpoint to the last point.
    start = QPointF(*points[0]) if count == 1 else _midpoint(points[-2], points[-1])
    path = QPainterPath(start)
    path.lineTo(QPointF(*points[-1]))
    return path, start, widths[-1]


def paint_piece(painter: QPainter, stroke: Stroke, index: int) -> QRectF:
    """Paint one piece of ``stroke`` (white ink, or black for an eraser); return its bounds."""
    path, centre, width = stroke_piece(stroke, index)
    colour = QColor(0, 0, 0) if stroke.erase else QColor(255, 255, 255)
    radius = width / 2
    if path is None:
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(colour)
        painter.drawEllipse(centre, radius, radius)
        return QRectF(centre.x() - radius, centre.y() - radius, width, width)
    pen = QPen(colour, width, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin)
    painter.setPen(pen)
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.drawPath(path)
    return path.controlPointRect().adjusted(-radius, -radius, radius, radius)


class InkImage:
    """The numpy-backed ink image of a pad of some logical size at a device pixel ratio."""

    def __init__(self, size: QSize, scale: float) -> None:
        #: Device pixels per logical pixel.
        self.scale = scale
        width = max(1, round(size.width() * scale))
        height = max(1, round(size.height() * scale))
        # QImage wants 32-bit aligned rows; the numpy view hides the padding.
        stride = (width + 3) // 4 * 4
        self._buffer = np.zeros((height, stride), np.uint8)
        #: The pixels as a uint8 (height, width) view: bright ink on black.
        self.array = self._buffer[:, :width]
        #: The same pixels as a QImage (do not paint into it but through :meth:`painter`).
        self.image = QImage(self._buffer.data, width, height, stride, QImage.Format.Format_Grayscale8)
        self.image.setDevicePixelRatio(scale)

    def painter(self) -> QPainter:
        """An anti-aliased painter on the image, in logical coordinates; the caller ends it."""
        painter = QPainter(self.image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        return painter

    def paint_pieces(self, stroke: Stroke, first: int, last: int) -> QRectF:
        """Paint pieces ``first..last`` of ``stroke``; return the logical rect they cover."""
        painter = self.painter()
        dirty = QRectF()
        for index in range(first, last + 1):
            dirty = dirty.united(paint_piece(painter, stroke, index))
        painter.end()
        return dirty

    def render(self, strokes: list[tuple[Stroke, int]]) -> None:
        """Paint from scratch each stroke's pieces ``0..last`` (``(stroke, last)`` pairs) on black paper."""
        self._buffer.fill(0)
        if not strokes:
            return
        painter = self.painter()
        for stroke, last in strokes:
            for index in range(last + 1):
                paint_piece(painter, stroke, index)
        painter.end()
