"""digitpad.model.explain: the saliency map's contract, its faithfulness on a model whose answer is known,
the input mapped back onto the pad, the preprocessing stages and the layers' weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from digitpad.base.constants import MNIST_SIZE
from digitpad.ink.characters import render_character, split_characters
from digitpad.ink.preprocess import INK_THRESHOLD, mass_placement, normalise, preprocess
from digitpad.ink.strokes import Stroke
from digitpad.model import explain
from digitpad.model.inference import Predictor
from digitpad.model.network import DigitNet, ModelConfig

#: In the toy model, class TOY_CLASS looks only at the pooled cell (TOY_CELL): input pixels 10-11 x 10-11.
TOY_CLASS, TOY_CELL = 3, (5, 5)


@pytest.fixture(scope="module")
def shipped() -> Predictor:
    return Predictor.from_checkpoint()


@pytest.fixture(scope="module")
def toy() -> Predictor:
    """One 1x1 conv that passes ink through (paper gives 0 after the ReLU), max-pooling, and a dense
    layer in which class TOY_CLASS sees one pooled cell and nothing else."""
    model = DigitNet(ModelConfig(channels=(1,), first_kernel=1, dropout=0.0))
    conv, norm = model.blocks[0][0][0], model.blocks[0][0][1]
    linear = model.head[-1]
    with torch.no_grad():
        conv.weight.fill_(1.0)
        norm.weight.fill_(1.0)
        norm.bias.fill_(-explain.PAPER)  # paper -> 0, ink -> ink / std
        norm.running_mean.zero_()
        norm.running_var.fill_(1.0 - norm.eps)
        linear.weight.zero_()
        linear.bias.zero_()
        linear.weight[TOY_CLASS, TOY_CELL[0] * 14 + TOY_CELL[1]] = 2.0
    return Predictor(model.eval())


def _ink(*boxes: tuple[int, int, int, int]) -> np.ndarray:
    image = np.zeros((MNIST_SIZE, MNIST_SIZE), np.float32)
    for top, left, bottom, right in boxes:
        image[top:bottom, left:right] = 1.0
    return image


def _a_drawn_seven() -> list[Stroke]:
    stroke = Stroke()
    for x, y in [(60, 50), (150, 50), (140, 80), (110, 150), (90, 220)]:
        stroke.add(x, y, 20.0)
    return [stroke]


def test_saliency_is_a_28x28_float_map_of_non_negative_values(shipped: Predictor) -> None:
    stages = preprocess(render_character(_a_drawn_seven(), split_characters(_a_drawn_seven())[0]))
    assert stages is not None
    heat = explain.saliency(shipped, stages.normalised)
    assert heat.shape == (MNIST_SIZE, MNIST_SIZE)
    assert heat.dtype == np.float32
    assert np.all(np.isfinite(heat)) and heat.min() >= 0.0
    assert heat.max() > 0.0
    # Paper adds nothing over the baseline, so it can drive nothing.
    assert np.all(heat[stages.centred == 0.0] == 0.0)


def test_saliency_points_at_the_only_pixels_the_class_looks_at(toy: Predictor) -> None:
    # Ink in the cell class 3 reads, and more ink far from it.
    image = _ink((10, 10, 12, 12), (2, 2, 8, 20), (20, 4, 26, 24))
    heat = explain.saliency(toy, normalise(image), target=TOY_CLASS)
    outside = np.ones_like(heat, dtype=bool)
    outside[10:12, 10:12] = False
    assert np.all(heat[outside] == 0.0)
    assert heat[10:12, 10:12].sum() > 0.0


def test_integrated_gradients_add_up_to_the_logit_gained_over_paper(toy: Predictor) -> None:
    image = _ink((10, 10, 12, 12), (3, 3, 9, 9))
    image[10, 10] = 0.5  # grey levels too
    attributions, target = explain.integrated_gradients(toy, normalise(image), TOY_CLASS, steps=64)
    assert target == TOY_CLASS
    logits = toy.logits_batch(np.stack([normalise(image), normalise(np.zeros_like(image))]))
    assert attributions.sum() == pytest.approx(logits[0, TOY_CLASS] - logits[1, TOY_CLASS], rel=0.02)


def test_saliency_defaults_to_the_predicted_digit_and_refuses_other_shapes(shipped: Predictor) -> None:
    image = normalise(_ink((6, 12, 22, 15)))  # a 1
    digit = int(shipped.predict_batch(image[None])[0, :10].argmax())
    assert np.array_equal(explain.saliency(shipped, image), explain.saliency(shipped, image, target=digit))
    with pytest.raises(ValueError, match="28x28"):
        explain.saliency(shipped, np.zeros((20, 20), np.float32))
    with pytest.raises(ValueError, match="classes"):
        explain.saliency(shipped, image, target=12)


def test_the_input_maps_back_onto_the_strokes_that_made_it(shipped: Predictor) -> None:
    strokes = _a_drawn_seven()
    character = split_characters(strokes)[0]
    stages = preprocess(render_character(strokes, character))
    assert stages is not None
    mapping = explain.input_on_pad(strokes, character, stages)
    points = np.asarray(strokes[0].points)
    columns = ((points[:, 0] - mapping.left) / mapping.pixel_width).astype(int)
    rows = ((points[:, 1] - mapping.top) / mapping.pixel_height).astype(int)
    assert np.all((0 <= rows) & (rows < MNIST_SIZE) & (0 <= columns) & (columns < MNIST_SIZE))
    # Every point the pen went through lands on ink of the model's input.
    assert stages.centred[rows, columns].min() > 0.5
    x, y, width, height = mapping.rect()
    assert (x, y) == mapping.to_pad(0, 0) and width == pytest.approx(28 * mapping.pixel_width)


def test_the_stages_are_the_pipelines_own_arrays() -> None:
    canvas = np.zeros((300, 200), np.float32)
    canvas[40:200, 150:170] = 1.0  # a small, off-centre 1
    stages = preprocess(canvas)
    assert stages is not None
    shown = explain.preprocessing_stages(stages)
    assert [stage.label.split(" · ")[1] for stage in shown] == [
        "ink cropped",
        "fitted in 20×20",
        "centred by mass",
        "normalised",
    ]
    assert shown[0].image is stages.cropped and shown[2].image is stages.centred
    assert shown[3].image is stages.normalised
    height, width = stages.scaled.shape
    assert shown[1].image.shape == (20, 20) and np.array_equal(shown[1].image[:height, :width], stages.scaled)
    top, left = mass_placement(stages.scaled)
    assert np.array_equal(stages.centred[top : top + height, left : left + width], stages.scaled)
    assert all(stage.description for stage in shown)
    assert (stages.centred > INK_THRESHOLD).any()


def test_kernels_and_dense_outputs_are_the_models_own(shipped: Predictor) -> None:
    kernels = explain.conv_kernels(shipped)
    channels = shipped.model.config.channels
    assert [k.shape[:2] for k in kernels] == [(channels[0], 1)] + [
        (channels[i], channels[i - 1]) for i in range(1, len(channels))
    ]
    assert kernels[0].shape[2:] == (5, 5)
    image = normalise(_ink((6, 12, 22, 15)))
    _, activations = shipped.predict_input(image, with_activations=True)
    assert activations is not None
    np.testing.assert_allclose(
        explain.dense_outputs(shipped, activations[-1]), shipped.logits_batch(image[None])[0], atol=1e-4
    )


def test_the_draw_tab_still_imports_without_torch() -> None:
    """The window paints before torch is loaded (gui/window/main_window.py): explain.py imports torch only when used."""
    import subprocess
    import sys

    probe = "import sys, digitpad.gui.draw.tab; assert 'torch' not in sys.modules, 'torch was imported'"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
