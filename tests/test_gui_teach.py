"""Teaching the app a hand, through real Qt events: teach buttons and keys, My samples (delete, relabel),
fine-tuning from the Train tab on tiny data, and File > Save drawing, Open drawing and Replay."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import pad_of, write_mnist_folder
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QComboBox, QFileDialog, QLabel, QPushButton, QToolButton, QWidget

from digitpad.base.paths import user_weights_dir
from digitpad.gui import MainWindow
from digitpad.gui.testing import draw_mouse_stroke, line
from digitpad.ink.drawings import load_drawing
from digitpad.ink.samples import SampleStore
from digitpad.model.checkpoint import CheckpointInfo, load_checkpoint, save_checkpoint
from digitpad.model.network import DigitNet, ModelConfig
from digitpad.training.finetune import FINE_TUNED, FinetuneConfig

Point = tuple[float, float]


def text_of(window: MainWindow, name: str) -> str:
    return window.findChild(QLabel, name).text()


def click(qtbot, widget: QWidget) -> None:
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)


def seven(left: float, top: float, size: float) -> list[list[Point]]:
    corner = (left + 0.85 * size, top + 0.05 * size)
    return [line((left + 0.15 * size, top + 0.05 * size), corner) + line(corner, (left + 0.4 * size, top + size))[1:]]


def one(left: float, top: float, size: float) -> list[list[Point]]:
    return [line((left + 0.5 * size, top), (left + 0.5 * size, top + size))]


def draw(window: MainWindow, glyph: list[list[Point]]) -> None:
    for stroke in glyph:
        draw_mouse_stroke(pad_of(window), stroke)
    QApplication.processEvents()


def draw_seven(window: MainWindow) -> None:
    pad = pad_of(window)
    draw(window, seven(pad.width() * 0.3, pad.height() * 0.2, pad.height() * 0.6))


def stored() -> list[dict]:
    return [json.loads(path.read_text()) for path in sorted(SampleStore().folder.glob("*.json"))]


def test_a_teach_button_stores_the_drawing_as_a_sample_and_clears_the_pad(window, qtbot) -> None:
    draw_seven(window)
    assert text_of(window, "predictionLabel") == "7"
    shown_input = window.findChild(QWidget, "inputPreview").pixels()
    click(qtbot, window.findChild(QPushButton, "teachButton7"))
    (sample,) = stored()
    assert sample["label"] == 7 and time.time() - sample["created"] < 60
    stroke = sample["strokes"][0]
    assert len(stroke["t"]) == len(stroke["points"]) == len(stroke["pressure"]) > 10
    assert stroke["t"][0] == 0 and stroke["t"] == sorted(stroke["t"])
    # The sample's input is the very image the model read on the pad.
    taught = np.asarray(sample["input"]["pixels"], np.int64).reshape(28, 28)
    assert np.abs(taught - shown_input.astype(np.int64)).max() <= 1
    assert text_of(window, "teachCount7") == "1"
    assert pad_of(window).is_empty() and text_of(window, "predictionLabel") == ""


def test_the_digit_keys_teach_while_the_pad_has_the_focus(window, qtbot) -> None:
    window.activateWindow()
    qtbot.waitActive(window)
    pad = pad_of(window)
    draw_seven(window)
    pad.setFocus()
    QTest.keyClick(pad, Qt.Key.Key_3)
    assert [s["label"] for s in stored()] == [3]
    assert text_of(window, "teachCount3") == "1" and pad.is_empty()
    # Nothing drawn: nothing stored, and the bar says so.
    QTest.keyClick(pad, Qt.Key.Key_4)
    assert len(stored()) == 1 and "draw a digit first" in text_of(window, "teachStatus")


def test_with_a_number_on_the_pad_the_selected_digit_is_taught(window, qtbot) -> None:
    pad = pad_of(window)
    size = pad.height() * 0.4
    draw(window, one(pad.width() * 0.1, pad.height() * 0.3, size) + seven(pad.width() * 0.55, pad.height() * 0.3, size))
    assert text_of(window, "predictionLabel") == "17"
    # Tap the 1 to select it, then teach it as a 1: only its stroke is stored, and the number stays.
    QTest.mouseClick(
        pad,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
        QPoint(round(pad.width() * 0.1 + size / 2), round(pad.height() * 0.5)),
    )
    QApplication.processEvents()
    click(qtbot, window.findChild(QPushButton, "teachButton1"))
    (sample,) = stored()
    assert sample["label"] == 1 and len(sample["strokes"]) == 1
    assert max(x for x, _ in sample["strokes"][0]["points"]) < pad.width() * 0.5
    assert len(pad.strokes) == 2 and text_of(window, "teachCount1") == "1"


def test_my_samples_shows_thumbnails_and_deletes_and_relabels(window, qtbot) -> None:
    for _ in range(2):
        draw_seven(window)
        click(qtbot, window.findChild(QPushButton, "teachButton7"))
    click(qtbot, window.findChild(QPushButton, "mySamplesButton"))
    dialog = window.findChild(QWidget, "samplesDialog")
    qtbot.waitExposed(dialog)
    thumbnails = dialog.findChildren(QToolButton, "sampleThumbnail")
    assert len(thumbnails) == 2 and all(t.sample.label == 7 for t in thumbnails)
    assert dialog.findChild(QWidget, "sampleRow7").isAncestorOf(thumbnails[0])

    click(qtbot, thumbnails[0])
    click(qtbot, dialog.findChild(QPushButton, "deleteSamplesButton"))
    assert len(stored()) == 1 and text_of(window, "teachCount7") == "1"
    (remaining,) = dialog.findChildren(QToolButton, "sampleThumbnail")

    click(qtbot, remaining)
    combo = dialog.findChild(QComboBox, "relabelCombo")
    combo.setFocus()
    QTest.keyClick(combo, Qt.Key.Key_1)
    assert combo.currentText() == "1"
    click(qtbot, dialog.findChild(QPushButton, "relabelButton"))
    assert [s["label"] for s in stored()] == [1]
    assert text_of(window, "teachCount7") == "0" and text_of(window, "teachCount1") == "1"
    (relabelled,) = dialog.findChildren(QToolButton, "sampleThumbnail")
    assert dialog.findChild(QWidget, "sampleRow1").isAncestorOf(relabelled)


def test_a_broken_sample_file_is_named_and_skipped_when_the_window_opens(qtbot) -> None:
    folder = SampleStore().folder
    folder.mkdir(parents=True)
    (folder / "sample-broken.json").write_text('{"format": "digitpad-drawing"')
    window = MainWindow()
    qtbot.addWidget(window)
    dialog = window.show_samples()
    problem = dialog.findChild(QLabel, "samplesProblem")
    # The samples are read in a worker thread: the line comes once they are in.
    qtbot.waitUntil(lambda: "sample-broken.json" in problem.text())
    assert not problem.isHidden()
    window.close()


# --- fine-tuning from the Train tab ---------------------------------------------------------------


@pytest.fixture
def tiny_setup(tmp_path, monkeypatch, tiny_mnist) -> Path:
    """A tiny model as the weights in use, and the tiny bars as MNIST: fine-tuning takes a second."""
    monkeypatch.setenv("DIGITPAD_MNIST_DIR", str(write_mnist_folder(tmp_path / "mnist", tiny_mnist)))
    torch.manual_seed(0)
    model = DigitNet(ModelConfig(channels=(4, 8, 8))).eval()
    return save_checkpoint(
        tmp_path / "tiny.safetensors", model, CheckpointInfo(model.config, metrics={"test_accuracy": 0.1})
    )


def test_fine_tuning_in_the_train_tab_shows_before_and_after_and_is_kept_across_restarts(tiny_setup, qtbot) -> None:
    window = MainWindow(weights=tiny_setup)
    qtbot.addWidget(window)
    window.resize(1240, 860)
    window.show()
    qtbot.waitExposed(window)
    window.tabs.setCurrentIndex(0)
    for digit in (7, 7, 7):
        draw_seven(window)
        click(qtbot, window.findChild(QPushButton, f"teachButton{digit}"))
    window.tabs.setCurrentIndex(1)
    panel = window.train_tab.finetune_panel
    panel.config = FinetuneConfig(steps=4, personal_per_batch=4, mnist_per_batch=4, mnist_pool=100, test_subset=50)
    button = window.findChild(QPushButton, "finetuneButton")
    assert button.isEnabled() and "3 personal samples" in text_of(window, "finetuneSamplesLabel")
    with qtbot.waitSignal(panel.finetuneFinished, timeout=60_000) as finished:
        click(qtbot, button)
        # The pad stays live while it runs.
        window.tabs.setCurrentIndex(0)
        draw_seven(window)
        assert text_of(window, "predictionLabel") != ""
    assert not panel.thread.isRunning()
    result, path = finished.args[0]
    assert result.samples == 3 and path.exists() and path.parent == user_weights_dir()
    table = text_of(window, "finetuneResult")
    assert "before" in table and "after" in table and table.index("before") < table.index("after")
    assert "MNIST test" in table and "3-fold cross-validation" in table
    click(qtbot, window.findChild(QPushButton, "useFinetunedButton"))
    assert window.model_in_use.source == path
    assert load_checkpoint(path).info.recipe["kind"] == FINE_TUNED
    window.close()

    # A restart draws with the fine-tuned model.
    again = MainWindow()
    qtbot.addWidget(again)
    assert again.model_in_use.source == path
    again.close()


def test_fine_tuning_cannot_start_without_samples(tiny_setup, qtbot) -> None:
    window = MainWindow(weights=tiny_setup)
    qtbot.addWidget(window)
    button = window.findChild(QPushButton, "finetuneButton")
    assert not button.isEnabled() and "Teach a few digits" in button.toolTip()
    window.close()


# --- drawings as files --------------------------------------------------------------------------


def points_of(strokes) -> np.ndarray:
    (stroke,) = strokes
    return np.asarray(stroke.points)


def test_save_open_and_replay_a_drawing(window, qtbot, tmp_path, monkeypatch) -> None:
    window.activateWindow()
    qtbot.waitActive(window)
    pad = pad_of(window)
    draw_seven(window)
    original = points_of(pad.strokes)
    path = tmp_path / "my seven.json"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *args, **kwargs: (str(path), ""))
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *args, **kwargs: (str(path), ""))
    QTest.keyClick(pad, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert np.allclose(points_of(load_drawing(path).strokes), original, atol=0.01)

    click(qtbot, window.findChild(QPushButton, "clearButton"))
    QTest.keyClick(pad, Qt.Key.Key_O, Qt.KeyboardModifier.ControlModifier)
    QApplication.processEvents()
    assert np.allclose(points_of(pad.strokes), original, atol=0.01)
    assert text_of(window, "predictionLabel") == "7"

    # Replay: the pad is cleared and redrawn point by point at the recorded pace, through real events.
    files = window.drawing_files
    recorded = load_drawing(path).duration()
    started = time.perf_counter()
    with qtbot.waitSignal(files.replayer.finished, timeout=10_000):
        QTest.keyClick(pad, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
        assert len(pad.strokes) == 0  # cleared, the stroke is being drawn
    assert time.perf_counter() - started >= 0.8 * recorded
    assert np.allclose(points_of(pad.strokes), original, atol=0.01)
    QApplication.processEvents()
    assert text_of(window, "predictionLabel") == "7"


def test_a_broken_drawing_file_is_one_line_in_the_status_bar(window, tmp_path) -> None:
    path = tmp_path / "broken.json"
    path.write_text("[1, 2")
    assert not window.drawing_files.open_file(path)
    message = window.statusBar().currentMessage()
    assert "broken.json" in message and "not JSON" in message and "\n" not in message
