"""Pen styles synthesised from MNIST digits: slashed and φ zeros, serif ones, detached-bar fives, curled nines."""

from __future__ import annotations

import numpy as np
import pytest

from digitpad.base.constants import MNIST_BOX, MNIST_SIZE
from digitpad.data.pen_styles import (
    FIRST_STYLES,
    add_drawn_ones,
    add_pen_styles,
    curled_nine,
    detached_five,
    drawn_one,
    serif_one,
    slashed_zero,
)
from digitpad.ink.strokes import Stroke, render


def _drawn(points: list[tuple[float, float]], width: float = 2.2) -> np.ndarray:
    """A 28x28 uint8 digit drawn with the pad's rasteriser."""
    stroke = Stroke()
    for x, y in points:
        stroke.add(x, y, width)
    return np.round(render([stroke], MNIST_SIZE, MNIST_SIZE) * 255).astype(np.uint8)


def _ring() -> np.ndarray:
    angles = np.linspace(0, 2 * np.pi, 60)
    return _drawn([(14 + 6 * np.cos(a), 14 + 9 * np.sin(a)) for a in angles])


def _bar() -> np.ndarray:
    return _drawn([(14, 5), (14, 23)])


def _ink_rows(image: np.ndarray) -> np.ndarray:
    return np.flatnonzero((image > 127).any(1))


def _loop_rows(image: np.ndarray) -> int:
    """Rows where the ink is wide (the loop), as opposed to a thin stem or bar end."""
    ink = image > 127
    spans = np.array([np.ptp(np.flatnonzero(row)) + 1 if row.any() else 0 for row in ink])
    return int(np.count_nonzero(spans > 0.5 * spans.max()))


def test_slashed_zero_is_an_mnist_digit_with_more_ink() -> None:
    zero = _ring()
    for seed in range(10):
        variant = slashed_zero(zero, np.random.default_rng(seed))
        assert variant is not None
        assert variant.shape == (MNIST_SIZE, MNIST_SIZE) and variant.dtype == np.uint8
        rows = _ink_rows(variant)
        assert rows[-1] - rows[0] + 1 <= MNIST_BOX + 1  # preprocessed like a drawing
        # The bar crosses the inside of the loop: the centre is no longer empty.
        assert variant[12:17, 12:17].max() > 127 or variant.sum() > zero.sum()


def test_phi_zeros_include_long_stems_around_a_small_loop() -> None:
    """Some φ zeros are a small loop on a long stem, as many people write them (read as 9 without them)."""
    zero = _ring()
    loop_fractions = []
    for seed in range(60):
        variant = slashed_zero(zero, np.random.default_rng(seed))
        assert variant is not None
        rows = _ink_rows(variant)
        loop_fractions.append(_loop_rows(variant) / (rows[-1] - rows[0] + 1))
    # A slash through the whole zero leaves the loop over 0.55 of the height.
    assert sum(fraction < 0.55 for fraction in loop_fractions) >= 6, "too few zeros with a long stem"
    assert max(loop_fractions) > 0.8, "no classic slashed zero"


def test_serif_one_adds_a_flag_or_a_foot() -> None:
    one = _bar()
    original_width = np.ptp(np.flatnonzero((one > 127).any(0)))
    widths = []
    for seed in range(20):
        variant = serif_one(one, np.random.default_rng(seed))
        assert variant is not None
        columns = np.flatnonzero((variant > 127).any(0))
        widths.append(np.ptp(columns))
    # Preprocessing scales the tallest side to the box, so a flag or a foot shows as width.
    assert min(widths) > original_width


def test_serif_one_leaves_wide_ones_alone() -> None:
    wide_one = _drawn([(6, 10), (22, 6), (22, 22)])
    assert serif_one(wide_one, np.random.default_rng(0)) is None


def test_add_pen_styles_appends_labelled_variants_of_the_styled_digits_only() -> None:
    images = np.stack([_ring()] * 10 + [_bar()] * 10 + [_bar()] * 10)
    labels = np.array([0] * 10 + [1] * 10 + [7] * 10, dtype=np.uint8)
    out_images, out_labels = add_pen_styles(images, labels, fraction=0.5, seed=3)
    assert np.array_equal(out_images[:30], images) and np.array_equal(out_labels[:30], labels)
    added = out_labels[30:]
    assert sorted(added.tolist()) == [0] * 5 + [1] * 5
    assert out_labels.dtype == labels.dtype
    again_images, again_labels = add_pen_styles(images, labels, fraction=0.5, seed=3)
    assert np.array_equal(again_images, out_images) and np.array_equal(again_labels, out_labels)


def test_add_pen_styles_with_no_zeros_or_ones_returns_the_input() -> None:
    images = np.stack([_bar()] * 4)
    labels = np.array([7, 7, 3, 3], dtype=np.uint8)
    out_images, out_labels = add_pen_styles(images, labels, fraction=0.5)
    assert out_images is images and out_labels is labels


def _five() -> np.ndarray:
    """A five drawn in one stroke: bar joined to the stem, then the belly."""
    belly = [(10 + 6 * np.sin(a), 17 + 5 * -np.cos(a)) for a in np.linspace(0.3, np.pi + 0.6, 20)]
    return _drawn([(20, 5), (10, 5), (10, 12), *belly])


def _nine() -> np.ndarray:
    loop = [(14 + 5 * np.cos(a), 9 + 4 * np.sin(a)) for a in np.linspace(0, 2 * np.pi, 30)]
    return _drawn([*loop, (19, 9), (18, 24)])


def _components(image: np.ndarray) -> int:
    """Connected pieces of ink above half (4-neighbour flood fill)."""
    ink = image > 127
    seen = np.zeros_like(ink)
    pieces = 0
    for start in zip(*np.nonzero(ink), strict=True):
        if seen[start]:
            continue
        pieces += 1
        stack = [start]
        while stack:
            y, x = stack.pop()
            if not (0 <= y < ink.shape[0] and 0 <= x < ink.shape[1]) or seen[y, x] or not ink[y, x]:
                continue
            seen[y, x] = True
            stack += [(y + 1, x), (y - 1, x), (y, x + 1), (y, x - 1)]
    return pieces


def test_detached_five_has_its_bar_apart_from_the_body() -> None:
    five = _five()
    assert _components(five) == 1
    for seed in range(10):
        variant = detached_five(five, np.random.default_rng(seed))
        assert variant is not None and variant.shape == (MNIST_SIZE, MNIST_SIZE)
        assert _components(variant) == 2  # the bar floats: it no longer touches the stem


def test_curled_nine_turns_its_tail_to_the_left() -> None:
    nine = _nine()
    for seed in range(10):
        variant = curled_nine(nine, np.random.default_rng(seed))
        assert variant is not None
        rows = _ink_rows(variant)
        bottom = variant[rows[-3] : rows[-1] + 1] > 127
        top = variant[rows[0] : rows[0] + 3] > 127
        # The straight tail ended right of the loop's middle; the curl ends left of it.
        assert np.flatnonzero(bottom.any(0)).min() < np.flatnonzero(top.any(0)).mean()


def test_first_styles_make_exactly_what_the_first_pass_made() -> None:
    """ "01" draws from the generator as before the 5s and 9s existed, so older recipes reproduce."""
    images = np.stack([_ring()] * 6 + [_bar()] * 6 + [_five()] * 6 + [_nine()] * 6)
    labels = np.array([0] * 6 + [1] * 6 + [5] * 6 + [9] * 6, dtype=np.uint8)
    first_images, first_labels = add_pen_styles(images, labels, fraction=0.5, seed=2, digits=FIRST_STYLES)
    all_images, all_labels = add_pen_styles(images, labels, fraction=0.5, seed=2)
    assert set(first_labels[24:].tolist()) == {0, 1} and set(all_labels[24:].tolist()) == {0, 1, 5, 9}
    count = len(first_labels)
    assert np.array_equal(all_images[:count], first_images) and np.array_equal(all_labels[:count], first_labels)
    with pytest.raises(ValueError, match="no pen style"):
        add_pen_styles(images, labels, digits="3")


def test_drawn_ones_are_tall_and_most_have_a_flag() -> None:
    flagged = 0
    for seed in range(30):
        one = drawn_one(np.random.default_rng(seed))
        assert one is not None and one.shape == (MNIST_SIZE, MNIST_SIZE) and one.dtype == np.uint8
        ink = one > 127
        rows, columns = _ink_rows(one), np.flatnonzero(ink.any(0))
        # Fitted into the box by its height: a one is taller than wide.
        assert rows[-1] - rows[0] + 1 >= MNIST_BOX - 1 and np.ptp(columns) < np.ptp(rows)
        top = rows[0] + (rows[-1] - rows[0]) // 4
        middle = (rows[0] + rows[-1]) // 2
        # A flag: the ink of the top quarter is wider than the stem halfway down
        # (25 of these 30; a short steep flag hides in the stem's own lean).
        flagged += np.ptp(np.flatnonzero(ink[rows[0] : top + 1].any(0))) > np.ptp(np.flatnonzero(ink[middle])) + 2
    assert flagged >= 20
    assert np.array_equal(drawn_one(np.random.default_rng(4)), drawn_one(np.random.default_rng(4)))


def test_add_drawn_ones_appends_ones_and_keeps_the_input() -> None:
    images = np.stack([_ring()] * 3 + [_bar()] * 3)
    labels = np.array([0] * 3 + [1] * 3, dtype=np.uint8)
    out_images, out_labels = add_drawn_ones(images, labels, 5, seed=2)
    assert np.array_equal(out_images[:6], images) and np.array_equal(out_labels[:6], labels)
    assert out_labels[6:].tolist() == [1] * 5 and out_labels.dtype == labels.dtype
    again_images, _ = add_drawn_ones(images, labels, 5, seed=2)
    assert np.array_equal(again_images, out_images)
    assert not np.array_equal(add_drawn_ones(images, labels, 5, seed=3)[0], out_images)
    same_images, same_labels = add_drawn_ones(images, labels, 0)
    assert same_images is images and same_labels is labels
