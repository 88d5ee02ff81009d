"""Pen paths drawn on the pad as real Qt input events, for tests and benchmarks (the app never imports this).

Mouse paths go through QTest (press, moves, release); tablet paths are the
synthetic stylus's events (:mod:`digitpad.gui.common.tablet`) with a pressure per point.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence

from PySide6.QtCore import QEvent, QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QWidget

from digitpad.gui.common.tablet import Point, send_tablet_event


def draw_tablet_stroke(
    widget: QWidget, points: Sequence[Point], pressures: Sequence[float] | float = 0.5, eraser: bool = False
) -> None:
    """Press, move through ``points`` and release the stylus, with a pressure per point (or one for all)."""
    if isinstance(pressures, int | float):
        pressures = [float(pressures)] * len(points)
    send_tablet_event(widget, QEvent.Type.TabletPress, points[0], pressures[0], eraser)
    for point, pressure in zip(points[1:], pressures[1:], strict=True):
        send_tablet_event(widget, QEvent.Type.TabletMove, point, pressure, eraser)
    send_tablet_event(widget, QEvent.Type.TabletRelease, points[-1], pressures[-1], eraser)


def _point(position: Point) -> QPoint:
    return QPoint(round(position[0]), round(position[1]))


def draw_mouse_stroke(widget: QWidget, points: Sequence[Point]) -> None:
    """Press the left button at the first point, move through the rest, release at the last."""
    QTest.mousePress(widget, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, _point(points[0]))
    for point in points[1:]:
        QTest.mouseMove(widget, _point(point))
    QTest.mouseRelease(widget, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, _point(points[-1]))


def line(start: Point, end: Point, steps: int = 20) -> list[Point]:
    """``steps`` + 1 evenly spaced points from ``start`` to ``end``."""
    return [
        (start[0] + (end[0] - start[0]) * i / steps, start[1] + (end[1] - start[1]) * i / steps)
        for i in range(steps + 1)
    ]


def fix_pad_size(app: QApplication, window: QWidget, pad: QWidget, width: int, height: int) -> None:
    """Fix the pad at ``width`` x ``height`` and grow the window around it if its layout did not."""
    pad.setFixedSize(width, height)
    app.processEvents()
    if (pad.width(), pad.height()) != (width, height):
        window.resize(window.sizeHint().expandedTo(window.minimumSizeHint()))
        app.processEvents()
    if (pad.width(), pad.height()) != (width, height):
        raise RuntimeError(f"the pad is {pad.width()}x{pad.height()}, not {width}x{height}")


def draw_on_pad(pad: QWidget, drawing: object, tablet: bool) -> None:
    """Draw every stroke of ``drawing`` (paths and pressures) in writing order."""
    for path, pressure in zip(drawing.paths, drawing.pressures, strict=True):
        points = [(float(x), float(y)) for x, y in path]
        if tablet:
            draw_tablet_stroke(pad, points, [float(p) for p in pressure])
        else:
            draw_mouse_stroke(pad, points)


def draw_digit_in_window(
    digits: Iterable, weights: str | None = None, tablet: bool = False, pad_size: int | tuple[int, int] = 400
) -> list[tuple[object, str]]:
    """Draw each drawing on the pad of a real MainWindow and read ``predictionLabel``.

    ``digits``: drawings (a digit, a number, a letter...), objects with
    ``paths`` (list of (N, 2) arrays of pad coordinates, drawn in that order)
    and ``pressures`` (list of (N,) arrays, used with ``tablet``). The pad is
    cleared before each and fixed at ``pad_size``: a side (square) or
    (width, height). Returns (drawing, the label's text after the last
    release: "" when nothing is read).
    """
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QLabel

    from digitpad.gui.window.main_window import MainWindow

    width, height = (pad_size, pad_size) if isinstance(pad_size, int) else pad_size
    app = QApplication.instance() or QApplication([])
    window = MainWindow(weights)
    window.show()
    pad = window.draw_tab.pad
    fix_pad_size(app, window, pad, width, height)
    label = window.findChild(QLabel, "predictionLabel")
    results = []
    try:
        for drawing in digits:
            pad.clear()
            draw_on_pad(pad, drawing, tablet)
            app.processEvents()
            results.append((drawing, label.text()))
    finally:
        window.close()
        window.deleteLater()
        app.processEvents()
    return results
