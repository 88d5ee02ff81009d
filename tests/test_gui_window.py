"""The main window: preferences, bad weights, startup in the background, shutdown."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QSettings
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication, QLabel, QWidget

import digitpad.base.paths
from digitpad.gui import MainWindow
from digitpad.gui.common.image_io import read_grey_image
from digitpad.gui.state import preferences as prefs
from digitpad.gui.testing import draw_mouse_stroke, line
from digitpad.gui.window.main_window import DEFAULT_SIZE


def close(window: MainWindow) -> None:
    threads_before = {t for t in threading.enumerate() if t.name != "digitpad-model-loader"}
    window.close()
    for thread in threading.enumerate():
        if thread.name == "digitpad-warm-up":  # the Train tab's one-off warm-up import: bounded, not a leak
            thread.join(timeout=60)
    leftover = [t for t in threading.enumerate() if t not in threads_before and t.is_alive()]
    assert not leftover, f"threads left running: {leftover}"


def test_settings_live_in_the_user_home(private_home: Path) -> None:
    settings = prefs.open_settings()
    assert Path(settings.fileName()) == private_home / "settings.ini"
    assert settings.format() == QSettings.Format.IniFormat


def test_preferences_persist(qtbot, private_home: Path) -> None:
    first = MainWindow()
    qtbot.addWidget(first)
    first.show()
    first.draw_tab.pen_width.setValue(11.5)
    first.resize(720, 560)
    first.tabs.setCurrentIndex(1)
    first.draw_tab.feature_maps.set_current_layer(2)
    close(first)
    assert (private_home / "settings.ini").is_file()

    second = MainWindow()
    qtbot.addWidget(second)
    assert second.draw_tab.pen_width_fraction() == pytest.approx(0.115)
    assert second.draw_tab.pad.pen_width_fraction() == pytest.approx(0.115)
    assert second.tabs.currentIndex() == 1
    # The geometry came back from the settings, not the default size (the offscreen screen is only
    # 800x600, smaller than the window's minimum size, so restoreGeometry adjusts it: no exact size check).
    assert prefs.open_settings().value(prefs.WINDOW_GEOMETRY_KEY) is not None
    assert (second.width(), second.height()) != DEFAULT_SIZE
    assert second.draw_tab.feature_maps.current_layer() == 2
    close(second)


def test_weights_last_used_are_remembered(qtbot, private_home: Path, tmp_path: Path) -> None:
    copy = tmp_path / "mine.safetensors"
    copy.write_bytes(digitpad.base.paths.shipped_weights_path().read_bytes())
    first = MainWindow()
    qtbot.addWidget(first)
    from digitpad.model.inference import Predictor

    first.use_predictor(Predictor.from_checkpoint(copy))
    close(first)
    second = MainWindow()
    qtbot.addWidget(second)
    assert Path(second.draw_tab.predictor.source) == copy
    close(second)
    # Gone since: the window says so and falls back to the shipped weights.
    copy.unlink()
    third = MainWindow()
    qtbot.addWidget(third)
    assert third.draw_tab.predictor is not None
    problem = third.findChild(QLabel, "modelProblem")
    assert str(copy) in problem.text() and "shipped" in problem.text()
    close(third)


def test_bad_weights_file_still_opens_and_says_why(qtbot, tmp_path: Path) -> None:
    bad = tmp_path / "broken.safetensors"
    bad.write_bytes(b"this is not a checkpoint")
    window = MainWindow(weights=bad)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    problem = window.findChild(QLabel, "modelProblem")
    assert problem.isVisible()
    assert str(bad) in problem.text()
    assert window.findChild(QWidget, "trainTab") is not None
    close(window)


def test_missing_shipped_weights_open_without_a_model(qtbot, tmp_path: Path, monkeypatch) -> None:
    missing = tmp_path / "nowhere.safetensors"
    monkeypatch.setattr(digitpad.base.paths, "shipped_weights_path", lambda: missing)
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    problem = window.findChild(QLabel, "modelProblem")
    assert problem.isVisible() and "no such file" in problem.text() and "Train tab" in problem.text()
    assert window.draw_tab.predictor is None
    # Drawing still works; nothing is predicted.
    pad = window.draw_tab.pad
    draw_mouse_stroke(pad, line((200, 80), (200, 300)))
    QApplication.processEvents()
    assert pad.ink_array().any()
    assert window.findChild(QLabel, "predictionLabel").text() == ""
    assert window.findChild(QWidget, "trainTab") is not None
    close(window)


def test_background_start_loads_the_model_after_the_first_paint(qtbot) -> None:
    window = MainWindow(load_in_background=True)
    qtbot.addWidget(window)
    assert window.draw_tab.predictor is None
    with qtbot.waitSignal(window.startupFinished, timeout=20000):
        window.show()
    assert window.draw_tab.pad.has_been_painted()
    assert window.draw_tab.predictor is not None
    assert window.findChild(QWidget, "trainTab") is window.train_tab
    close(window)


def test_closing_calls_train_tab_shutdown(qtbot) -> None:
    window = MainWindow()
    qtbot.addWidget(window)
    calls = []
    window.train_tab.shutdown = lambda: calls.append("shutdown")
    window.show()
    window.close()
    assert calls == ["shutdown"]


def test_read_grey_image(tmp_path: Path) -> None:
    image = QImage(8, 6, QImage.Format.Format_ARGB32)
    image.fill(0xFFFFFFFF)
    image.setPixel(2, 3, 0xFF000000)  # black ink
    image.setPixel(5, 1, 0x00000000)  # transparent: reads as paper
    path = tmp_path / "digit.png"
    assert image.save(str(path))
    grey = read_grey_image(path)
    assert grey.shape == (6, 8) and grey.dtype == np.float32
    assert grey[3, 2] == 0.0 and grey[1, 5] == 1.0 and grey[0, 0] == 1.0
    with pytest.raises(ValueError, match="not a readable image"):
        (tmp_path / "junk.png").write_bytes(b"junk")
        read_grey_image(tmp_path / "junk.png")


def test_numpy_blas_runs_on_one_thread(qtbot) -> None:
    from digitpad.model.threads import blas_thread_count

    window = MainWindow()
    qtbot.addWidget(window)
    # Multi-threaded BLAS makes preprocessing's small products 100x slower when another core is busy.
    assert blas_thread_count() in (None, 1)
    close(window)


def test_weights_opened_in_the_train_tab_are_the_model_every_part_of_the_window_uses(
    qtbot, private_home: Path, tmp_path: Path, monkeypatch
) -> None:
    """One model in use, shared: the Train tab puts it there, the Draw tab draws with it, the window remembers it."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QFileDialog, QPushButton

    copy = tmp_path / "opened.safetensors"
    copy.write_bytes(digitpad.base.paths.shipped_weights_path().read_bytes())
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    window.tabs.setCurrentIndex(1)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *args, **kwargs: (str(copy), ""))
    with qtbot.waitSignal(window.model_in_use.changed, timeout=10_000) as changed:
        qtbot.mouseClick(window.findChild(QPushButton, "openWeightsButton"), Qt.MouseButton.LeftButton)
    predictor = changed.args[0]
    assert predictor.source == copy
    assert window.draw_tab.predictor is predictor
    assert window.tabs.currentIndex() == 0  # back to drawing with it
    assert copy.name in window.findChild(QLabel, "modelInfo").text()
    assert copy.name in window.findChild(QLabel, "currentWeightsLabel").text()
    assert prefs.open_settings().value(prefs.LAST_WEIGHTS_KEY) == str(copy)
    close(window)


def test_a_very_long_weights_path_does_not_widen_the_window(qtbot, private_home: Path, tmp_path: Path) -> None:
    """A 10,000-character path in the model notice made the window 73,495 px wide: long words are elided."""
    from digitpad.gui.common.style import elide_long_words

    missing = tmp_path / ("x" * 200) / ("y" * 9800 + ".safetensors")
    window = MainWindow(weights=missing)
    qtbot.addWidget(window)
    window.show()
    problem = window.findChild(QLabel, "modelProblem")
    assert problem.isVisible() and "…" in problem.text()
    assert window.minimumSizeHint().width() < 2000 and window.width() < 2000
    assert len(elide_long_words("a " + "b" * 5000 + " c")) < 250
    assert elide_long_words("short words stay") == "short words stay"
    close(window)
