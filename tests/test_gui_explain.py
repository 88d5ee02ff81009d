"""The explanations on screen, driven by real Qt events: the saliency overlay, the preprocessing strip,
the dense layer and an enlarged map, the Train tab's filters and the Evaluate tab."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import find
from PySide6.QtCore import QPoint, QPointF, QSettings, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QPushButton, QWidget

from digitpad.data.mnist import Mnist
from digitpad.gui import MainWindow
from digitpad.gui.evaluate.tab import EvaluateTab
from digitpad.gui.state.model_in_use import ModelInUse
from digitpad.gui.testing import draw_mouse_stroke, line
from digitpad.model import explain
from digitpad.model.inference import Predictor


def draw_a_seven(window: MainWindow) -> None:
    pad = find(window, "canvas")
    w, h = pad.width(), pad.height()
    path = line((w * 0.35, h * 0.25), (w * 0.62, h * 0.25), 12) + line((w * 0.62, h * 0.25), (w * 0.45, h * 0.8), 20)
    draw_mouse_stroke(pad, path)
    QApplication.processEvents()


def click(widget: QWidget, position: QPoint | None = None) -> None:
    QTest.mouseClick(widget, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, position or QPoint())
    QApplication.processEvents()


def test_the_saliency_toggle_colours_the_input_and_the_pad(window: MainWindow) -> None:
    toggle = find(window, "saliencyToggle")
    assert isinstance(toggle, QPushButton) and toggle.isCheckable() and not toggle.isChecked()
    draw_a_seven(window)
    pad = find(window, "canvas")
    overlay = window.draw_tab.saliency
    plain_pad = pad.grab().toImage()
    assert overlay.heat() is None

    click(toggle, QPoint(toggle.width() // 2, toggle.height() // 2))
    assert toggle.isChecked()
    prediction = window.draw_tab.last_prediction()
    heat = overlay.heat()
    assert heat is not None and heat.shape == (28, 28) and heat.min() >= 0 and heat.max() > 0
    np.testing.assert_allclose(heat, explain.saliency(window.draw_tab.predictor, prediction.stages.normalised))
    # The pad now shows the heat colour over the strokes.
    assert pad.grab().toImage() != plain_pad

    click(toggle, QPoint(toggle.width() // 2, toggle.height() // 2))
    assert not toggle.isChecked() and overlay.heat() is None
    assert pad.grab().toImage() == plain_pad


def test_the_overlay_follows_the_drawing_to_the_pen_lift(window: MainWindow) -> None:
    toggle = find(window, "saliencyToggle")
    click(toggle, QPoint(5, 5))
    draw_a_seven(window)
    first = window.draw_tab.saliency.heat()
    # A second stroke (a bar across the 7) changes the input: the map follows it.
    pad = find(window, "canvas")
    draw_mouse_stroke(
        pad, line((pad.width() * 0.4, pad.height() * 0.52), (pad.width() * 0.62, pad.height() * 0.52), 12)
    )
    QApplication.processEvents()
    final = window.draw_tab.last_prediction()
    heat = window.draw_tab.saliency.heat()
    assert not np.array_equal(first, heat)
    np.testing.assert_allclose(heat, explain.saliency(window.draw_tab.predictor, final.stages.normalised))
    click(find(window, "clearButton"), QPoint(5, 5))
    assert window.draw_tab.saliency.heat() is None


def test_the_preprocessing_strip_shows_the_stages_of_the_prediction(window: MainWindow) -> None:
    strip = find(window, "preprocessingStages")
    assert strip.shown_stages() == []
    draw_a_seven(window)
    stages = window.draw_tab.last_prediction().stages
    shown = strip.shown_stages()
    assert [stage.label for stage in shown] == [caption.text() for caption in strip.captions]
    assert shown[0].image is stages.cropped and shown[2].image is stages.centred and shown[3].image is stages.normalised
    assert all(image.image() is not None and not image.image().isNull() for image in strip.images)


def test_the_dense_layer_shows_its_units(window: MainWindow) -> None:
    panel = find(window, "featureMaps")
    selector = panel.layer_selector
    draw_a_seven(window)
    selector.setCurrentIndex(selector.count() - 1)
    assert "dense" in selector.currentText()
    chart = find(window, "denseUnits")
    assert chart.isVisible()
    prediction = window.draw_tab.last_prediction()
    logits = window.draw_tab.predictor.logits_batch(prediction.stages.normalised[None])[0]
    np.testing.assert_allclose(chart.outputs(), logits, atol=1e-4)
    assert int(chart.outputs().argmax()) == prediction.digit


def test_clicking_a_map_enlarges_it_with_its_kernels(window: MainWindow) -> None:
    panel = find(window, "featureMaps")
    panel.layer_selector.setCurrentIndex(1)
    draw_a_seven(window)
    activations = window.draw_tab.last_prediction().activations
    channels, height, width = activations[1].shape
    rows, columns = panel.tile_grid()
    channel = min(columns + 2, channels - 1)  # second row, third column
    row, column = divmod(channel, columns)
    centre = QPointF(column * (width + 1) + width / 2, row * (height + 1) + height / 2)
    view = panel.view
    position = view.mapFromScene(panel.image.mapToScene(centre))
    click(view.viewport(), position)
    detail = find(window, "featureMapDetail")
    assert detail.isVisible()
    assert (detail.layer, detail.channel) == (1, channel)
    np.testing.assert_array_equal(detail.shown_map(), activations[1][channel])
    kernels = explain.conv_kernels(window.draw_tab.predictor)[1][channel]
    assert np.nanmax(np.abs(detail.kernel_image.image)) == pytest.approx(np.abs(kernels).max())
    detail.close()


def test_a_click_between_maps_opens_nothing(window: MainWindow) -> None:
    panel = find(window, "featureMaps")
    panel.layer_selector.setCurrentIndex(0)
    draw_a_seven(window)
    _, height, width = window.draw_tab.last_prediction().activations[0].shape
    gap = QPointF(width + 0.5, height / 2)  # the one-pixel gap after the first tile
    assert panel.channel_at(gap.x(), gap.y()) is None
    click(panel.view.viewport(), panel.view.mapFromScene(panel.image.mapToScene(gap)))
    assert panel.detail is None or not panel.detail.isVisible()


def test_the_train_tab_shows_the_first_filters_of_the_run(qtbot, tmp_path: Path, tiny_mnist: Mnist) -> None:
    from digitpad.gui.train.tab import TrainTab

    tab = TrainTab(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat), data_loader=lambda _: tiny_mnist)
    qtbot.addWidget(tab)
    tab.show()
    try:
        find(tab, "quickRunCheck").setChecked(False)
        find(tab, "epochsSpin").setValue(1)
        filters = find(tab, "trainingFilters")
        assert filters.shown_filters() is None
        with qtbot.waitSignal(tab.trainingFinished, timeout=120_000) as blocker:
            click(find(tab, "startTrainingButton"), QPoint(5, 5))
        model = blocker.args[0].model
        first_conv = next(m for m in model.modules() if isinstance(m, torch.nn.Conv2d))
        # The last report comes after the last batch: the filters shown are the model's.
        np.testing.assert_allclose(filters.shown_filters(), first_conv.weight.detach()[:, 0].numpy(), atol=1e-6)
        assert "moved" in find(tab, "trainingFiltersCaption").text()
        check_the_model_just_trained_can_be_evaluated(qtbot, tab, tiny_mnist, blocker.args[0])
    finally:
        tab.shutdown()


def check_the_model_just_trained_can_be_evaluated(qtbot, tab: QWidget, data: Mnist, result: object) -> None:
    # No model in use: only the one just trained can be evaluated.
    view = EvaluateTab(ModelInUse(), data_loader=lambda _: data)
    qtbot.addWidget(view)
    view.follow_train_tab(tab)
    assert view.model_combo.model().item(1).isEnabled()
    view.model_combo.setCurrentIndex(1)
    click(find(view, "evaluateButton"), QPoint(5, 5))
    qtbot.waitUntil(lambda: not view.is_running() and view.outcome is not None, timeout=60_000)
    assert view.outcome.model_name == "the model just trained"
    assert view.outcome.evaluation.count == len(data.test_labels)
    assert view.outcome.evaluation.accuracy == pytest.approx(result.history[-1].test_accuracy, abs=1e-6)
    view.shutdown()


def _noise_digits(count: int) -> Mnist:
    """Labelled images whose answers nobody knows in advance: the test compares with the model's own."""
    rng = np.random.default_rng(0)
    images = (rng.random((count, 28, 28)) > 0.85).astype(np.uint8) * 255
    labels = rng.integers(0, 10, count).astype(np.uint8)
    return Mnist(images[:10], labels[:10], images, labels, "noise")


def test_the_evaluate_tab_computes_the_matrix_in_a_worker(qtbot) -> None:
    data = _noise_digits(1200)
    model_in_use = ModelInUse()
    model_in_use.set(Predictor.from_checkpoint())
    seen_threads: list[int] = []

    def load(_folder: Path) -> Mnist:
        seen_threads.append(threading.get_ident())
        return data

    view = EvaluateTab(model_in_use, data_dir=lambda: Path("."), data_loader=load)
    qtbot.addWidget(view)
    view.show()
    button = find(view, "evaluateButton")
    assert button.isEnabled()
    # No model has been trained in this session: that choice is not offered.
    assert not view.model_combo.model().item(1).isEnabled()
    gui_thread = threading.get_ident()
    click(button, QPoint(5, 5))
    assert view.is_running() or view.outcome is not None
    qtbot.waitUntil(lambda: not view.is_running() and view.outcome is not None, timeout=60_000)
    assert seen_threads and seen_threads[0] != gui_thread
    matrix = find(view, "confusionMatrix").matrix()
    predicted = (
        Predictor.from_checkpoint()
        .predict_batch((data.test_images.astype(np.float32) / 255 - 0.1307) / 0.3081)
        .argmax(1)
    )
    assert matrix.sum() == 1200 and np.trace(matrix) == int((predicted == data.test_labels).sum())
    captions = find(view, "worstMistakes").captions()
    assert len(captions) == min(24, 1200 - int(np.trace(matrix)))
    mistake = view.outcome.evaluation.mistakes[0]
    assert captions[0].startswith(f"true {mistake.label} → {mistake.predicted}")
    assert find(view, "evaluationProgress").value() == 1200
    view.shutdown()


def test_shutdown_during_an_evaluation_stops_it_and_waits_for_its_thread(qtbot) -> None:
    import time

    data = _noise_digits(2000)

    def slow_load(_folder: Path) -> Mnist:
        time.sleep(0.3)
        return data

    model_in_use = ModelInUse()
    model_in_use.set(Predictor.from_checkpoint())
    view = EvaluateTab(model_in_use, data_dir=lambda: Path("."), data_loader=slow_load)
    qtbot.addWidget(view)
    view.show()
    click(find(view, "evaluateButton"), QPoint(5, 5))
    assert view.is_running() and find(view, "stopEvaluationButton").isEnabled()
    view.shutdown()
    assert not view.is_running()
    QApplication.processEvents()
    assert view.outcome is None  # stopped before the first batch: nothing half-shown
