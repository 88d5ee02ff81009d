"""Big drawings in the window (issue 24, item 10): File > Open drawing never blocks the window for long, and the
pad re-renders a drawing exactly as the pen painted it, only faster."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
from PySide6.QtWidgets import QApplication

from digitpad.gui import MainWindow
from digitpad.gui.testing import draw_tablet_stroke, line
from digitpad.ink.drawings import MAX_OPEN_POINTS, MAX_OPEN_STROKES
from digitpad.ink.strokes import ERASER_WIDTH_FACTOR, MAX_PRESSURE_FACTOR, Stroke

#: Opening blocks the window well under a second here (a busy two-core machine gives it a third of a core);
#: the 199,000-point stroke took 17 s before its bound.
SECONDS = 3.0


def write_walk(path: Path, points: int, seed: int = 0) -> Path:
    """One stroke of ``points`` points wandering over a 520 px pad a few px at a time."""
    rng = np.random.default_rng(seed)
    walk = np.clip(260 + np.cumsum(rng.normal(0, 2.6, (points, 2)), 0), 20, 500).round(2)
    document = {"format": "digitpad-drawing", "version": 1, "pad": {"width": 520, "height": 520}, "pen_width": 36.4}
    path.write_text(json.dumps({**document, "strokes": [{"points": walk.tolist()}]}))
    return path


def open_and_paint(window: MainWindow, path: Path) -> tuple[bool, float]:
    """File > Open drawing on ``path`` (past its dialog), then the pad painted: (opened, seconds it took)."""
    start = time.perf_counter()
    opened = window.drawing_files.open_file(path)
    window.draw_tab.pad.repaint()
    QApplication.processEvents()
    return opened, time.perf_counter() - start


def test_a_stroke_of_199000_points_is_one_line_at_once(window: MainWindow, tmp_path: Path) -> None:
    opened, seconds = open_and_paint(window, write_walk(tmp_path / "long.json", 199_000))
    assert not opened and seconds < SECONDS
    message = window.statusBar().currentMessage()
    assert "long.json" in message and f"199,000 points, more than the {MAX_OPEN_POINTS:,}" in message
    assert window.draw_tab.pad.is_empty()


def test_a_stroke_of_as_many_points_as_allowed_opens_and_paints_quickly(window: MainWindow, tmp_path: Path) -> None:
    opened, seconds = open_and_paint(window, write_walk(tmp_path / "long.json", MAX_OPEN_POINTS))
    assert opened and seconds < SECONDS
    pad = window.draw_tab.pad
    assert pad.ink_array().any() and len(pad.strokes[0].points) == MAX_OPEN_POINTS
    assert window.draw_tab.last_reading() is not None


def test_a_re_render_paints_the_pixels_the_pen_painted(window: MainWindow) -> None:
    pad = window.draw_tab.pad
    width, height = pad.width(), pad.height()
    points = line((width * 0.3, height * 0.2), (width * 0.6, height * 0.8), steps=40)
    pressures = np.linspace(0.1, 0.9, len(points)).tolist()  # every piece of its own width
    draw_tablet_stroke(pad, points, pressures)
    draw_tablet_stroke(pad, line((width * 0.2, height * 0.5), (width * 0.8, height * 0.5), steps=30), 0.5)
    draw_tablet_stroke(pad, line((width * 0.45, height * 0.3), (width * 0.45, height * 0.7), steps=20), 0.5, True)
    painted = pad.ink_array().copy()
    assert painted.any()
    pad.set_strokes(pad.strokes)  # re-rendered from the strokes, as after an undo
    np.testing.assert_array_equal(pad.ink_array(), painted)


def test_saving_a_drawing_past_the_bounds_says_open_will_refuse_it(window: MainWindow, tmp_path: Path) -> None:
    pad = window.draw_tab.pad
    pad.set_strokes([Stroke(points=[(10.0 + i, 50.0)], widths=[pad.pen_width()]) for i in range(MAX_OPEN_STROKES + 1)])
    saved = window.drawing_files.save_to(tmp_path / "many.json")
    assert saved is not None and saved.exists()
    message = window.statusBar().currentMessage()
    assert "Open drawing will refuse it" in message and f"more than the {MAX_OPEN_STROKES}" in message
    pad.set_strokes(pad.strokes[:MAX_OPEN_STROKES])
    window.drawing_files.save_to(tmp_path / "enough.json")
    assert window.statusBar().currentMessage() == f"Saved the drawing to {tmp_path / 'enough.json'}"


def test_an_eraser_sweeping_bare_paper_re_renders_at_once(window: MainWindow) -> None:
    # 10,000 eraser points pressed hard, each a piece five pens wide that rubs out nothing (2 s before).
    pad = window.draw_tab.pad
    rng = np.random.default_rng(0)
    path = np.clip(pad.height() / 2 + np.cumsum(rng.normal(0, 2.6, (10_000, 2)), 0), 0, pad.height())
    eraser = Stroke(erase=True)
    for x, y in path:
        eraser.add(x, y, ERASER_WIDTH_FACTOR * MAX_PRESSURE_FACTOR * pad.pen_width(), 1.0)
    start = time.perf_counter()
    pad.set_strokes([eraser])
    assert time.perf_counter() - start < 0.5
    assert not pad.ink_array().any()


def test_points_closer_than_the_pad_records_are_thinned_when_painted(window: MainWindow) -> None:
    pad = window.draw_tab.pad
    dense, spaced = Stroke(), Stroke()
    for k in range(4001):  # a line 200 px long, a point every 0.05 px (a drawing scaled down twentyfold)
        dense.add(100 + k * 0.05, 100 + k * 0.025, pad.pen_width())
    for k in range(0, 4001, 20):  # the same line, a point a pixel apart as the pen records it
        spaced.add(100 + k * 0.05, 100 + k * 0.025, pad.pen_width())
    pad.set_strokes([spaced])
    expected = pad.ink_array().astype(np.int64)
    pad.set_strokes([dense])
    ink = pad.ink_array().astype(np.int64)
    assert abs(ink.sum() - expected.sum()) < 0.01 * expected.sum()
    # The same line: but for the grey of a few edge pixels.
    assert ((ink > 127) != (expected > 127)).sum() < 0.01 * (expected > 127).sum()
