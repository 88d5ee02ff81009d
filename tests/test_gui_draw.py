"""The Draw tab driven by real Qt mouse and tablet events (offscreen)."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import pad_of
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QLabel, QPushButton, QWidget

from digitpad.gui import MainWindow
from digitpad.gui.testing import draw_mouse_stroke, draw_tablet_stroke, line
from digitpad.ink.preprocess import PEN_WIDTH_FRACTION


def label_text(window: MainWindow, name: str) -> str:
    label = window.findChild(QLabel, name)
    assert label is not None, name
    return label.text()


def vertical_stroke(pad: QWidget, x_fraction: float = 0.5) -> list[tuple[float, float]]:
    x = pad.width() * x_fraction
    return line((x, pad.height() * 0.2), (x, pad.height() * 0.8), steps=30)


def test_contract_object_names(window: MainWindow) -> None:
    for name in ("canvas", "clearButton", "undoButton", "predictionLabel", "probabilityChart", "inputPreview"):
        assert window.findChild(QWidget, name) is not None, name
    assert window.findChild(QWidget, "featureMaps") is not None
    assert window.findChild(QWidget, "trainTab") is not None


def test_empty_pad_predicts_nothing(window: MainWindow) -> None:
    QApplication.processEvents()
    assert label_text(window, "predictionLabel") == ""
    assert "draw a digit" in label_text(window, "confidenceLabel").lower()
    assert not window.draw_tab.chart.heights().any()
    assert not window.draw_tab.preview.pixels().any()


def test_drawing_gives_a_prediction(window: MainWindow, qtbot) -> None:
    pad = pad_of(window)
    updates = []
    window.draw_tab.predictionUpdated.connect(updates.append)
    points = vertical_stroke(pad)
    QTest.mousePress(pad, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(*map(round, points[0])))
    for x, y in points[1:15]:
        QTest.mouseMove(pad, QPoint(round(x), round(y)))
    # Live prediction while the pen is still down.
    qtbot.waitUntil(lambda: label_text(window, "predictionLabel") != "", timeout=2000)
    assert updates and updates[-1] is not None
    for x, y in points[15:]:
        QTest.mouseMove(pad, QPoint(round(x), round(y)))
    QTest.mouseRelease(pad, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(*map(round, points[-1])))
    QApplication.processEvents()
    text = label_text(window, "predictionLabel")
    assert text.isdigit() and len(text) == 1
    assert "%" in label_text(window, "confidenceLabel")
    heights = window.draw_tab.chart.heights()
    assert heights.shape == (10,) and abs(float(heights.sum()) - 1.0) < 1e-3
    assert window.draw_tab.preview.pixels().max() > 200
    tiles = window.draw_tab.feature_maps.displayed_image()
    assert tiles is not None and np.nanmax(tiles) > 0


def test_vertical_stroke_predicts_one(window: MainWindow) -> None:
    pad = pad_of(window)
    draw_mouse_stroke(pad, vertical_stroke(pad))
    QApplication.processEvents()
    assert label_text(window, "predictionLabel") == "1"


def test_undo_and_clear_buttons(window: MainWindow, qtbot) -> None:
    pad = pad_of(window)
    draw_mouse_stroke(pad, vertical_stroke(pad, 0.4))
    draw_mouse_stroke(pad, line((pad.width() * 0.3, pad.height() * 0.5), (pad.width() * 0.7, pad.height() * 0.5)))
    assert len(window.draw_tab.pad.strokes) == 2
    two_strokes = pad.ink_array().astype(np.int64).sum()
    qtbot.mouseClick(window.findChild(QPushButton, "undoButton"), Qt.MouseButton.LeftButton)
    assert len(window.draw_tab.pad.strokes) == 1
    assert 0 < pad.ink_array().astype(np.int64).sum() < two_strokes
    QApplication.processEvents()
    assert label_text(window, "predictionLabel") != ""
    qtbot.mouseClick(window.findChild(QPushButton, "clearButton"), Qt.MouseButton.LeftButton)
    QApplication.processEvents()
    assert window.draw_tab.pad.strokes == []
    assert not pad.ink_array().any()
    assert label_text(window, "predictionLabel") == ""
    assert not window.draw_tab.chart.heights().any()


def test_undo_and_clear_shortcuts(window: MainWindow, qtbot) -> None:
    pad = pad_of(window)
    window.activateWindow()
    qtbot.waitActive(window)
    draw_mouse_stroke(pad, vertical_stroke(pad, 0.4))
    draw_mouse_stroke(pad, vertical_stroke(pad, 0.6))
    pad.setFocus()
    QTest.keyClick(pad, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert len(window.draw_tab.pad.strokes) == 1
    QTest.keyClick(pad, Qt.Key.Key_Escape)
    QApplication.processEvents()
    assert window.draw_tab.pad.strokes == []
    assert label_text(window, "predictionLabel") == ""
    # With the focus on the tab bar too; not while the Train tab is shown.
    draw_mouse_stroke(pad, vertical_stroke(pad, 0.4))
    tab_bar = window.tabs.tabBar()
    tab_bar.setFocus()
    QTest.keyClick(tab_bar, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert window.draw_tab.pad.strokes == []
    draw_mouse_stroke(pad, vertical_stroke(pad, 0.4))
    window.tabs.setCurrentIndex(1)
    QTest.keyClick(tab_bar, Qt.Key.Key_Escape)
    assert len(window.draw_tab.pad.strokes) == 1
    window.tabs.setCurrentIndex(0)


def ink_of_tablet_stroke(window: MainWindow, pressure: float) -> float:
    pad = pad_of(window)
    window.draw_tab.pad.clear()
    draw_tablet_stroke(pad, vertical_stroke(pad), pressure)
    return float(pad.ink_array().astype(np.int64).sum()) / 255


def test_pressure_sets_stroke_width(window: MainWindow) -> None:
    light = ink_of_tablet_stroke(window, 0.1)
    firm = ink_of_tablet_stroke(window, 0.9)
    assert light > 0
    # Width goes from 40% to 160% of the pen with pressure: at 0.1 and 0.9, 0.52x and 1.48x.
    assert firm / light > 2.2
    stroke = window.draw_tab.pad.strokes[-1]
    assert max(stroke.widths) == pytest.approx(pad_of(window).height() * PEN_WIDTH_FRACTION * 1.48, rel=1e-3)
    QApplication.processEvents()
    assert label_text(window, "predictionLabel") != ""


def test_eraser_end_erases(window: MainWindow) -> None:
    pad = pad_of(window)
    draw_tablet_stroke(pad, vertical_stroke(pad), 0.5)
    before = pad.ink_array().astype(np.int64).sum()
    # Rub out the middle third of the stroke with the eraser end.
    x = pad.width() * 0.5
    draw_tablet_stroke(pad, line((x - 30, pad.height() * 0.4), (x + 30, pad.height() * 0.6), 12), 0.8, eraser=True)
    after = pad.ink_array().astype(np.int64).sum()
    assert window.draw_tab.pad.strokes[-1].erase
    assert after < before * 0.85
    middle = pad.ink_array()[round(pad.height() * 0.5 * pad.device_scale()), :]
    assert middle.max() == 0
    # Erasing everything leaves nothing to predict.
    draw_tablet_stroke(pad, vertical_stroke(pad), 1.0, eraser=True)
    QApplication.processEvents()
    assert label_text(window, "predictionLabel") == ""


def test_resize_keeps_the_drawing(window: MainWindow) -> None:
    pad = pad_of(window)
    draw_mouse_stroke(pad, vertical_stroke(pad))
    QApplication.processEvents()
    before = label_text(window, "predictionLabel")
    window.resize(window.width() - 200, window.height() - 150)
    QApplication.processEvents()
    assert pad.ink_array().shape[0] == round(pad.height() * pad.device_scale())
    assert pad.ink_array().any()
    assert label_text(window, "predictionLabel") == before


def test_feature_map_layer_selector(window: MainWindow) -> None:
    pad = pad_of(window)
    draw_mouse_stroke(pad, vertical_stroke(pad))
    QApplication.processEvents()
    panel = window.draw_tab.feature_maps
    activations = window.draw_tab.last_prediction().activations
    # Every conv block, then the dense layer (tests/test_gui_explain.py).
    assert panel.layer_selector.count() == len(activations) + 1
    for index, maps in enumerate(activations):
        panel.layer_selector.setCurrentIndex(index)
        tiles = panel.displayed_image()
        channels, height, width = maps.shape
        # Every channel is in the tiled image, with NaN gaps between tiles.
        assert np.isfinite(tiles).sum() >= channels * height * width
        assert np.nanmax(tiles) == pytest.approx(float(maps.max()))
        assert str(channels) in panel.layer_selector.currentText()


def test_pad_pixels_match_the_core_rasteriser(window: MainWindow) -> None:
    """The pad's QPainter ink and digitpad.ink.strokes.render agree (so offline benches and training match the app)."""
    from digitpad.ink.strokes import Stroke, render

    pad = window.draw_tab.pad
    height, width = pad.height(), pad.width()
    stroke = Stroke()
    for x, y in line((width * 0.3, height * 0.2), (width * 0.6, height * 0.7), 25):
        stroke.add(x, y, pad.pen_width())
    pad.set_strokes([stroke])
    scale = pad.device_scale()
    ours = pad.ink_array().astype(np.float32) / 255
    core = render([stroke], ours.shape[0], ours.shape[1], scale=scale)
    both, either = ((ours > 0.5) & (core > 0.5)).sum(), ((ours > 0.5) | (core > 0.5)).sum()
    assert both / either > 0.97
    assert abs(float(ours.sum()) - float(core.sum())) / float(core.sum()) < 0.03
