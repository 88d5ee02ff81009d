"""Preprocessing: a drawing becomes the 28x28 image MNIST would have made of it."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from digitpad.base.constants import MNIST_BOX, MNIST_MEAN, MNIST_SIZE, MNIST_STD
from digitpad.data.mnist import Mnist
from digitpad.ink.preprocess import (
    INK_THRESHOLD,
    MNIST_CENTRE,
    PEN_WIDTH_FRACTION,
    image_to_ink,
    normalise,
    preprocess,
)
from digitpad.ink.strokes import Stroke, render
from digitpad.model.inference import Predictor
from digitpad.model.tensors import normalise_batch


def centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    rows, cols = np.mgrid[0 : image.shape[0], 0 : image.shape[1]]
    mass = image.sum()
    return float((image * rows).sum() / mass), float((image * cols).sum() / mass)


def ink_rows_and_cols(image: np.ndarray, threshold: float = 0.1) -> tuple[int, int]:
    mask = image > threshold
    return int(mask.any(axis=1).sum()), int(mask.any(axis=0).sum())


@pytest.fixture(scope="module")
def predictor() -> Predictor:
    return Predictor.from_checkpoint()


def test_mnist_test_digits_pass_through_almost_unchanged(mnist: Mnist, predictor: Predictor) -> None:
    originals = mnist.test_images[:200].astype(np.float32) / 255
    results = [preprocess(image) for image in originals]
    assert all(result is not None for result in results)
    centred = np.stack([result.centred for result in results])
    per_digit = np.abs(centred - originals).mean(axis=(1, 2))
    # MNIST's digits already are what the pipeline makes: most come back bit for
    # bit, the rest differ by float rounding of the area resampling.
    assert float(per_digit.mean()) < 1e-4
    assert float(per_digit.max()) < 2e-3
    assert float(np.median(per_digit)) == 0.0
    direct = predictor.predict_batch(normalise(originals)).argmax(1)
    through_pipeline = predictor.predict_batch(np.stack([r.normalised for r in results])).argmax(1)
    np.testing.assert_array_equal(through_pipeline, direct)


def test_mnist_itself_centres_by_mass_at_the_constant(mnist: Mnist) -> None:
    images = mnist.test_images[:2000].astype(np.float64)
    rows, cols = np.mgrid[0:MNIST_SIZE, 0:MNIST_SIZE]
    mass = images.sum(axis=(1, 2))
    mean_row = float(((images * rows).sum(axis=(1, 2)) / mass).mean())
    mean_col = float(((images * cols).sum(axis=(1, 2)) / mass).mean())
    assert abs(mean_row - MNIST_CENTRE) < 0.1 and abs(mean_col - MNIST_CENTRE) < 0.1


@pytest.mark.parametrize(
    "canvas",
    [
        np.zeros((280, 280), np.uint8),
        np.zeros((50, 80), np.float32),
        np.zeros((10, 10), bool),
        np.full((100, 100), INK_THRESHOLD * 0.9, np.float32),  # only a faint haze
    ],
    ids=["uint8", "float", "bool", "haze"],
)
def test_empty_canvas_is_nothing_drawn(canvas: np.ndarray, predictor: Predictor) -> None:
    assert preprocess(canvas) is None
    assert predictor.predict(canvas) is None


def test_empty_region_given_as_bbox_is_nothing_drawn() -> None:
    canvas = np.zeros((100, 100), np.float32)
    canvas[5, 5] = 1.0
    assert preprocess(canvas, bbox=(50, 50, 60, 60)) is None
    assert preprocess(canvas, bbox=(50, 50, 50, 60)) is None  # zero height


def test_stages_have_the_documented_shapes_and_types() -> None:
    canvas = np.zeros((300, 200), np.uint8)
    canvas[50:250, 90:110] = 255
    result = preprocess(canvas)
    assert result.bbox == (50, 90, 250, 110)
    assert result.cropped.shape == (200, 20)
    assert result.scaled.shape == (MNIST_BOX, 2)
    assert result.centred.shape == result.normalised.shape == (MNIST_SIZE, MNIST_SIZE)
    for stage in (result.cropped, result.scaled, result.centred, result.normalised):
        assert stage.dtype == np.float32
    assert result.centred.min() >= 0.0 and result.centred.max() <= 1.0


def test_normalisation_is_exactly_the_training_one() -> None:
    rng = np.random.default_rng(0)
    canvas = (rng.random((90, 70)) > 0.7).astype(np.float32)
    result = preprocess(canvas)
    np.testing.assert_allclose(result.normalised, (result.centred - MNIST_MEAN) / MNIST_STD, rtol=0, atol=1e-6)
    training = normalise_batch(torch.from_numpy(result.centred)[None, None]).numpy()[0, 0]
    np.testing.assert_allclose(result.normalised, training, rtol=0, atol=1e-6)


def test_given_bbox_gives_the_same_result_as_a_scan() -> None:
    canvas = np.zeros((200, 200), np.float32)
    canvas[30:150, 60:100] = 0.8
    scanned = preprocess(canvas)
    given = preprocess(canvas, bbox=scanned.bbox)
    np.testing.assert_array_equal(scanned.centred, given.centred)


def test_single_dot_is_handled() -> None:
    canvas = np.zeros((280, 280), np.uint8)
    canvas[40, 250] = 255
    result = preprocess(canvas)
    assert result is not None
    assert result.bbox == (40, 250, 41, 251)
    assert np.isfinite(result.normalised).all()
    row, col = centre_of_mass(result.centred)
    assert abs(row - MNIST_CENTRE) <= 0.5 and abs(col - MNIST_CENTRE) <= 0.5


def test_hairline_is_handled_and_stays_a_line() -> None:
    canvas = np.zeros((280, 280), np.float32)
    canvas[40:240, 133] = 1.0
    result = preprocess(canvas)
    rows, cols = ink_rows_and_cols(result.centred)
    assert (rows, cols) == (MNIST_BOX, 1)
    assert result.centred.max() == pytest.approx(1.0)
    # A diagonal hairline on a big canvas thins out to a faint trace, but is still a result.
    diagonal = np.zeros((1000, 1000), np.float32)
    steps = np.arange(100, 900)
    diagonal[steps, steps] = 1.0
    faint = preprocess(diagonal)
    assert faint is not None and np.isfinite(faint.normalised).all() and faint.centred.sum() > 0


def test_ink_touching_every_edge_loses_nothing() -> None:
    canvas = np.zeros((120, 90), np.float32)
    canvas[0, :] = canvas[-1, :] = canvas[:, 0] = canvas[:, -1] = 1.0  # a frame around the whole canvas
    result = preprocess(canvas)
    assert result.bbox == (0, 0, 120, 90)
    assert result.scaled.shape == (MNIST_BOX, 15)
    assert result.centred.sum() == pytest.approx(result.scaled.sum(), rel=1e-5)
    row, col = centre_of_mass(result.centred)
    # Exactly half-way cases round either way: allow float noise on top of 0.5.
    assert abs(row - MNIST_CENTRE) <= 0.5 + 1e-4 and abs(col - MNIST_CENTRE) <= 0.5 + 1e-4


def test_lopsided_digit_is_clamped_into_the_frame() -> None:
    """When the mass sits at one end, the shift is clamped so no ink leaves the 28x28 frame."""
    canvas = np.zeros((200, 200), np.float32)
    canvas[0:20, :] = 1.0  # a heavy bar on top
    canvas[:, 100] = 1.0  # and a hairline down to the bottom
    result = preprocess(canvas)
    assert result.centred.sum() == pytest.approx(result.scaled.sum(), rel=1e-5)


def huge_canvas() -> np.ndarray:
    """4000 x 4000 with a 3000 x 500 bar: reduces to 20 x 3 in the MNIST box."""
    canvas = np.zeros((4000, 4000), np.uint8)
    canvas[500:3500, 1800:2300] = 255
    return canvas


def test_huge_canvas_is_handled() -> None:
    assert preprocess(huge_canvas()).scaled.shape == (MNIST_BOX, 3)


@pytest.mark.slow
def test_huge_canvas_is_fast() -> None:
    """Wall-clock, a loose bound: a busy machine can fail it, hence `slow`."""
    canvas = huge_canvas()
    preprocess(canvas)  # warm-up
    started = time.perf_counter()
    preprocess(canvas)
    assert time.perf_counter() - started < 0.5


def test_aspect_ratio_is_kept() -> None:
    tall = np.zeros((400, 400), np.float32)
    tall[50:350, 190:210] = 1.0  # 300 x 20
    rows, cols = ink_rows_and_cols(preprocess(tall).centred)
    assert rows == MNIST_BOX and cols <= 2
    wide = tall.T.copy()
    rows, cols = ink_rows_and_cols(preprocess(wide).centred)
    assert cols == MNIST_BOX and rows <= 2


@pytest.mark.parametrize("seed", range(6))
def test_centre_of_mass_lands_at_the_centre(seed: int) -> None:
    rng = np.random.default_rng(seed)
    height, width = rng.integers(100, 600, 2)
    rows, cols = np.mgrid[0:height, 0:width]
    centre_row, centre_col = rng.uniform(0.3, 0.7) * height, rng.uniform(0.3, 0.7) * width
    radius_row, radius_col = rng.uniform(0.1, 0.25) * height, rng.uniform(0.1, 0.25) * width
    distance = np.hypot((rows - centre_row) / radius_row, (cols - centre_col) / radius_col)
    canvas = ((distance > 0.6) & (distance < 1.0)).astype(np.float32)  # an off-centre elliptic ring
    canvas[rows > centre_row + 0.3 * radius_row] *= 0.5  # lighter lower half: mass is not the box centre
    row, col = centre_of_mass(preprocess(canvas).centred)
    assert abs(row - MNIST_CENTRE) <= 0.5 and abs(col - MNIST_CENTRE) <= 0.5


def test_uint8_float_and_bool_inputs_agree() -> None:
    mask = np.zeros((150, 150), bool)
    mask[20:130, 60:80] = True
    mask[20:40, 40:100] = True
    from_bool = preprocess(mask).centred
    np.testing.assert_array_equal(preprocess(mask.astype(np.uint8) * 255).centred, from_bool)
    np.testing.assert_allclose(preprocess(mask.astype(np.float64)).centred, from_bool, atol=1e-6)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_and_infinity_are_rejected(bad: float) -> None:
    canvas = np.zeros((50, 50), np.float32)
    canvas[10:40, 20:25] = 1.0
    canvas[3, 3] = bad
    with pytest.raises(ValueError, match="NaN or infinite"):
        preprocess(canvas)


def test_colour_image_is_rejected() -> None:
    with pytest.raises(ValueError, match="2-D"):
        preprocess(np.zeros((50, 50, 3), np.uint8))


def stroke_width(image: np.ndarray) -> float:
    """2 * area / perimeter of the pixels above 0.5 (perimeter: pixel edges between ink and paper)."""
    mask = np.pad(image > 0.5, 1)
    edges = (mask[1:] != mask[:-1]).sum() + (mask[:, 1:] != mask[:, :-1]).sum()
    return 2 * float(mask.sum()) / float(edges)


def pen_drawing(points: list[tuple[float, float]], size: int = 400) -> np.ndarray:
    """One stroke through ``points`` (fractions of the pad) with the pad's default pen."""
    stroke = Stroke()
    for x, y in points:
        stroke.add(x * size, y * size, PEN_WIDTH_FRACTION * size)
    return render([stroke], size, size)


def test_typical_pen_width_lands_in_mnists_stroke_width_range(mnist: Mnist) -> None:
    """Digits drawn about 60% of the pad's height with the default pen are as bold as MNIST's (10th-90th pct)."""
    widths = [stroke_width(image / 255) for image in mnist.train_images[:3000]]
    low, high = np.percentile(widths, [10, 90])
    circle = [(0.5 + 0.22 * np.sin(t), 0.5 - 0.3 * np.cos(t)) for t in np.linspace(0, 2 * np.pi, 60)]
    drawings = {
        "one": pen_drawing([(0.5, y) for y in np.linspace(0.2, 0.8, 30)]),
        "zero": pen_drawing(circle),
        "seven": pen_drawing([(0.3, 0.2), (0.7, 0.2), (0.45, 0.8)]),
    }
    for name, canvas in drawings.items():
        width = stroke_width(preprocess(canvas).centred)
        assert low <= width <= high, f"{name}: stroke width {width:.2f}, MNIST's range {low:.2f}..{high:.2f}"


def test_image_to_ink_handles_both_polarities() -> None:
    digit = np.zeros((60, 40), bool)
    digit[10:50, 18:23] = True
    dark_on_light = np.where(digit, 30, 220).astype(np.uint8)  # a grey scan: not pure black and white
    light_on_dark = np.where(digit, 200, 15).astype(np.uint8)
    for image in (dark_on_light, light_on_dark):
        ink = image_to_ink(image)
        assert ink.dtype == np.float32
        np.testing.assert_allclose(ink[digit], 1.0, atol=1e-6)
        np.testing.assert_allclose(ink[~digit], 0.0, atol=1e-6)
    np.testing.assert_allclose(
        preprocess(image_to_ink(dark_on_light)).centred, preprocess(image_to_ink(light_on_dark)).centred, atol=1e-6
    )


def test_image_to_ink_of_a_blank_image_is_nothing_drawn() -> None:
    for level in (0, 128, 255):
        ink = image_to_ink(np.full((30, 30), level, np.uint8))
        assert not ink.any()
        assert preprocess(ink) is None
