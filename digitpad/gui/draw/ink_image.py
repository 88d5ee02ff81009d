"""The pad's pixels: a ``Format_Grayscale8`` QImage at device resolution whose buffer *is* a numpy array.

White ink on black paper (MNIST's polarity). Strokes are painted into it
piece by piece as the pen moves, and re-rendered from the strokes after an
undo, a clear or a resize. Strokes are smoothed with the midpoint quadratic
scheme: piece *i* runs from the midpoint of segment *i-1* to the midpoint of
segment *i*, bending through point *i-1*. Each piece can be drawn as soon as
its end point arrives, and a full re-render draws the very same pieces, so
incremental and re-rendered pixels agree (a re-render skips the pieces that
would change no pixel, and thins points closer than the pad ever records:
see :data:`THIN_BELOW`).
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


#: A re-render paints one point per this much path (device px): points closer than that change no pixel one
#: can see, but each costs a piece. The pad records points at least MIN_POINT_DISTANCE (0.75 logical px)
#: apart, so this only thins drawings scaled down (opened from a larger pad, or the pad made smaller).
THIN_BELOW = 0.5


def _thinned(stroke: Stroke, step: float) -> Stroke:
    """``stroke`` with one point per ``step`` of its path (and both ends); the stroke itself if none is dropped."""
    points = np.asarray(stroke.points, dtype=np.float64).reshape(-1, 2)
    travelled = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(points, axis=0).T))]) / step
    keep = np.concatenate([[True], np.floor(travelled[1:]) > np.floor(travelled[:-1])])
    keep[-1] = True
    if keep.all():
        return stroke
    kept = np.flatnonzero(keep).tolist()
    return Stroke(points=[stroke.points[k] for k in kept], widths=[stroke.widths[k] for k in kept], erase=stroke.erase)


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
            if last == len(stroke.points):  # a whole stroke (the one being drawn keeps its pieces)
                stroke = _thinned(stroke, THIN_BELOW / self.scale)
                last = len(stroke.points)
            self._paint_stroke(painter, stroke, last)
        painter.end()

    def _paint_stroke(self, painter: QPainter, stroke: Stroke, last: int) -> None:
        """Paint pieces ``0..last`` of ``stroke``: the very pixels :func:`paint_piece` paints piece by piece.

        A piece costs tens of microseconds whatever its size (its path and
        round caps), so a re-render of thousands of points took seconds. Two
        things make it cheaper without changing a pixel: a piece whose
        pixels are all its colour already (ink where the pen went over and
        over, an eraser on bare paper, a piece off the image) is skipped,
        and the others are painted without the objects the live path needs.
        (One path for many pieces is no faster, and leaves holes where the
        pen turns back.)
        """
        if last < 0:
            return
        colour = 0 if stroke.erase else 255
        lows, highs = self._piece_boxes(stroke, last)
        pen = QPen(QColor(colour, colour, colour))
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
        width = None
        for index, (left, top), (right, bottom) in zip(range(last + 1), lows.tolist(), highs.tolist(), strict=True):
            region = self.array[max(top, 0) : max(bottom, 0), max(left, 0) : max(right, 0)]
            if not region.size or (region.min() if colour else region.max()) == colour:
                continue  # painting it would change nothing
            if index == 0:
                paint_piece(painter, stroke, 0)  # the dot at pen-down
                width = None
                continue
            path, _, piece_width = stroke_piece(stroke, index)
            if piece_width != width:
                width = piece_width
                pen.setWidthF(width)
                painter.setPen(pen)
                painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawPath(path)

    def _piece_boxes(self, stroke: Stroke, last: int) -> tuple[np.ndarray, np.ndarray]:
        """Device pixels (left, top) and (right, bottom), exclusive, that pieces ``0..last`` can touch."""
        points = np.asarray(stroke.points, dtype=np.float64).reshape(-1, 2)
        widths = np.asarray(stroke.widths, dtype=np.float64)
        count = len(points)
        # Piece i lies within the points i-2..i (its ends are midpoints, its bend a point) and its pen's reach.
        pieces = np.arange(last + 1)
        around = points[np.clip(pieces[:, None] + np.array([-2, -1, 0]), 0, count - 1)]
        reach = np.maximum(widths[np.clip(pieces - 1, 0, count - 1)], widths[np.clip(pieces, 0, count - 1)]) / 2 + 1
        # Clipped before the cast: a point far off the pad is no reason for an integer overflow.
        lows = np.clip(np.floor((around.min(1) - reach[:, None]) * self.scale), -(2**40), 2**40).astype(np.int64) - 1
        highs = np.clip(np.ceil((around.max(1) + reach[:, None]) * self.scale), -(2**40), 2**40).astype(np.int64) + 2
        return lows, highs
