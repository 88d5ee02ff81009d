"""Synthetic non-digits: MNIST-style images, every kind made, repeatable by seed, and the checks that keep
digit-like shapes out."""

from __future__ import annotations

import numpy as np
import pytest

from digitpad.base.constants import MNIST_BOX, MNIST_SIZE
from digitpad.data.mnist import Mnist
from digitpad.data.nondigits import (
    DIGIT_KINDS,
    KIND_SHARES,
    KINDS,
    LETTERS,
    hole_pixels,
    is_bar,
    make_kind,
    make_labelled_non_digits,
    make_letter,
    make_non_digits,
)
from digitpad.ink.preprocess import MNIST_CENTRE


def bar_digits(tiny_mnist: Mnist) -> np.ndarray:
    """Digit-like images to cut and overlay: tiny_mnist's bars, crossed in pairs so that they are not bars."""
    images = tiny_mnist.train_images[:200]
    return np.maximum(images[:100], images[100:])


def assert_mnist_style(images: np.ndarray) -> None:
    """uint8, bright ink on black, fitted into MNIST's 20 px box and centred by mass as preprocessing does."""
    assert images.dtype == np.uint8 and images.shape[1:] == (MNIST_SIZE, MNIST_SIZE)
    for image in images:
        assert image.max() == 255  # every image has full-strength ink, as MNIST's do
        rows, cols = np.flatnonzero((image > 0).any(1)), np.flatnonzero((image > 0).any(0))
        longer = max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1
        assert MNIST_BOX - 2 <= longer <= MNIST_BOX
        ink = image.astype(np.float64)
        grid = np.arange(MNIST_SIZE)
        centre = (ink.sum(1) @ grid / ink.sum(), ink.sum(0) @ grid / ink.sum())
        # Preprocessing moves a digit by whole pixels and never out of the frame: one whose mass
        # lies far to a side stops at the frame's edge instead.
        at_edge = rows[0] == 0 or cols[0] == 0 or rows[-1] == MNIST_SIZE - 1 or cols[-1] == MNIST_SIZE - 1
        assert at_edge or np.allclose(centre, MNIST_CENTRE, atol=1.0), centre


def test_the_mix_is_mnist_style_and_holds_every_kind(tiny_mnist: Mnist) -> None:
    images, kinds = make_labelled_non_digits(150, seed=0, digits=bar_digits(tiny_mnist))
    assert images.shape == (150, MNIST_SIZE, MNIST_SIZE) and kinds.shape == (150,)
    assert_mnist_style(images)
    assert set(kinds) == set(KINDS)
    # Letters dominate, as KIND_SHARES says.
    assert (kinds == "letter").mean() == pytest.approx(KIND_SHARES["letter"], abs=0.15)


def test_without_digits_only_the_drawn_kinds_are_made() -> None:
    images, kinds = make_labelled_non_digits(40, seed=1)
    assert len(images) == 40
    assert not set(kinds) & set(DIGIT_KINDS)
    assert_mnist_style(images)


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_on_its_own(kind: str, tiny_mnist: Mnist) -> None:
    images = make_kind(kind, 12, seed=2, digits=bar_digits(tiny_mnist))
    assert images.shape == (12, MNIST_SIZE, MNIST_SIZE)
    assert_mnist_style(images)
    assert not any(is_bar(image) for image in images)


def test_the_same_seed_gives_the_same_images(tiny_mnist: Mnist) -> None:
    digits = bar_digits(tiny_mnist)
    first = make_non_digits(30, seed=5, digits=digits)
    assert np.array_equal(first, make_non_digits(30, seed=5, digits=digits))
    assert not np.array_equal(first, make_non_digits(30, seed=6, digits=digits))


def test_every_letter_can_be_drawn() -> None:
    rng = np.random.default_rng(0)
    for name in LETTERS:
        drawn = [image for image in (make_letter(name, rng) for _ in range(5)) if image is not None]
        assert drawn, f"{name} came out as a bar every time"
        assert_mnist_style(np.stack(drawn))
    # The letters written like digits are left out on purpose.
    assert not set(LETTERS) & set("OlISZBbgq")


def test_loops_and_bars_are_recognised() -> None:
    frame = np.zeros((MNIST_SIZE, MNIST_SIZE), np.uint8)
    rows, cols = np.mgrid[0:MNIST_SIZE, 0:MNIST_SIZE]
    radius = np.hypot(rows - 14, cols - 14)
    ring = np.where((radius > 6) & (radius < 9), 255, frame).astype(np.uint8)
    bar = frame.copy()
    bar[4:24, 13:16] = 255
    assert hole_pixels(ring) > 50 and not is_bar(ring)
    assert hole_pixels(bar) == 0 and is_bar(bar)
    # A ring whose ends do not quite meet is still a loop.
    broken = ring.copy()
    broken[13, 4:7] = 0
    assert hole_pixels(broken) > 2


def test_bad_requests_are_refused(tiny_mnist: Mnist) -> None:
    with pytest.raises(ValueError, match="needs MNIST digits"):
        make_kind("partial_digit", 1, seed=0)
    with pytest.raises(ValueError, match="unknown kind"):
        make_kind("emoji", 1, seed=0)
    with pytest.raises(ValueError, match="uint8"):
        make_non_digits(1, seed=0, digits=tiny_mnist.train_images[:5].astype(np.float32))
    assert make_non_digits(0, seed=0).shape == (0, MNIST_SIZE, MNIST_SIZE)
