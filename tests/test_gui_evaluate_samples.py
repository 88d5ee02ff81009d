"""The Evaluate tab on the user's own samples, driven by real Qt events: the entry follows the window's
samples store, and evaluating on it shows their confusion matrix and mistakes."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from helpers import find
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QWidget

from digitpad.gui import MainWindow
from digitpad.gui.evaluate.tab import PERSONAL_SAMPLES, EvaluateTab
from digitpad.ink.drawings import Drawing
from digitpad.ink.samples import PersonalSample, SampleStore, make_sample
from digitpad.ink.strokes import Stroke
from digitpad.model.adapt import Adapter


def polyline(corners: list[tuple[float, float]], t0: float = 0.0) -> Stroke:
    """One stroke through ``corners`` (fractions of a 300 px box at (100, 100)), as the pad records it."""
    stroke = Stroke()
    points = []
    for (x0, y0), (x1, y1) in zip(corners, corners[1:], strict=False):
        points += [(x0 + (x1 - x0) * k / 20, y0 + (y1 - y0) * k / 20) for k in range(21)]
    for index, (x, y) in enumerate(points):
        stroke.add(100 + x * 300, 100 + y * 300, 30.0, 0.5, t0 + 0.01 * index)
    return stroke


def taught(corners: list[tuple[float, float]], label: int) -> PersonalSample:
    return make_sample(Drawing([polyline(corners)], (520.0, 520.0), 36.4), label)


SEVEN = [(0.1, 0.05), (0.9, 0.05), (0.4, 0.95)]
ONE = [(0.5, 0.05), (0.5, 0.95)]


@pytest.fixture
def open_window(qtbot):
    """Opens a MainWindow (on the samples there are now) on its Evaluate tab; closes it and checks for threads."""
    threads_before = set(threading.enumerate())
    windows: list[MainWindow] = []

    def open_() -> MainWindow:
        window = MainWindow()
        qtbot.addWidget(window)
        # The samples are read in a worker thread; the Evaluate tab offers them once they are in.
        qtbot.waitUntil(lambda: not window.personal_samples.is_loading())
        window.resize(1240, 860)
        window.show()
        qtbot.waitExposed(window)
        bar = window.tabs.tabBar()
        evaluate = window.tabs.indexOf(window.evaluation_view)
        QTest.mouseClick(bar, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, bar.tabRect(evaluate).center())
        assert window.tabs.currentWidget() is window.evaluation_view
        windows.append(window)
        return window

    yield open_
    for window in windows:
        window.close()
        assert not window.evaluation_view.is_running()
    leftover = [t for t in threading.enumerate() if t not in threads_before and t.is_alive()]
    assert not leftover, f"threads left running: {leftover}"


def press_down(widget: QWidget) -> None:
    QTest.keyClick(widget, Qt.Key.Key_Down)
    QApplication.processEvents()


def test_evaluating_on_the_personal_samples_shows_their_matrix_and_mistakes(open_window, qtbot) -> None:
    store = SampleStore()
    # The third is a 7 taught as a 3: at least one mistake to show.
    samples = [store.add(taught(SEVEN, 7)), store.add(taught(ONE, 1)), store.add(taught(SEVEN, 3))]
    window = open_window()
    view: EvaluateTab = window.evaluation_view
    combo = find(view, "evaluationDataCombo")
    assert combo.model().item(PERSONAL_SAMPLES).isEnabled()
    press_down(combo)
    assert combo.currentIndex() == PERSONAL_SAMPLES

    button = find(view, "evaluateButton")
    QTest.mouseClick(button, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(5, 5))
    qtbot.waitUntil(lambda: not view.is_running() and view.outcome is not None, timeout=30_000)

    assert "your 3 personal samples" in find(view, "evaluationSummary").text()
    labels = np.array([7, 1, 3])
    # Each read as the Draw tab reads it, adapted to the other samples (issue 22): the 7 taught as a 3 pulls the 7.
    adapter = Adapter()
    adapter.set_samples(np.stack([sample.image for sample in samples]), labels)
    adapter.prepare(window.model_in_use.predictor)
    answers = adapter.read_samples()[1].argmax(1)
    matrix = find(view, "confusionMatrix").matrix()
    assert matrix.sum() == 3 and np.trace(matrix) == int((answers == labels).sum())
    assert all(matrix[label, answer] >= 1 for label, answer in zip(labels, answers, strict=True))
    captions = find(view, "worstMistakes").captions()
    assert len(captions) == int((answers != labels).sum()) >= 1
    assert any(caption.startswith("true 3 → ") for caption in captions)


def test_the_personal_samples_entry_is_disabled_without_samples_and_follows_the_store(open_window) -> None:
    window = open_window()
    combo = find(window.evaluation_view, "evaluationDataCombo")
    assert not combo.model().item(PERSONAL_SAMPLES).isEnabled()
    press_down(combo)
    assert combo.currentIndex() == 0  # a disabled entry cannot be chosen

    sample = window.personal_samples.add(taught(ONE, 1))
    assert combo.model().item(PERSONAL_SAMPLES).isEnabled()
    press_down(combo)
    assert combo.currentIndex() == PERSONAL_SAMPLES

    window.personal_samples.delete([sample])
    assert not combo.model().item(PERSONAL_SAMPLES).isEnabled()
    assert combo.currentIndex() == 0  # back on MNIST: nothing left to evaluate on
