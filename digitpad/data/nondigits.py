"""Synthetic non-digits: what a model with a "not a digit" class learns to decline.

A ten-class model must name a digit for anything it is shown, so a drawn
letter or a scribble comes out as a confident digit. A model with an
eleventh class (:data:`digitpad.base.constants.NOT_A_DIGIT`) is trained on these
images as well, made here rather than taken from a letter data set: the
project has none to ship, and what matters is "not one of the ten shapes".

The kinds, mixed by :data:`KIND_SHARES`:

- ``letter``: letters as people write them, built from 2-4 pen strokes
  (lines and arcs) on the letters that look like no digit (A C E F H K M N
  P R T U V W X Y, a c e f h k m n p r t u y), with random proportions,
  slant, rotation, wobble and joins that do not quite meet. Letters that
  are written like digits (O, l, I, S, Z, B, b, g, q) are left out on
  purpose: declining them would teach the model to decline 0, 1, 5, 2, 8,
  6 and 9.
- ``scribble``: a tangled random walk of a few dozen points, smoothed, or a
  back-and-forth hatching (crossing something out).
- ``loose_strokes``: 2-4 short lines and arcs placed at random.
- ``partial_digit``: an MNIST digit with a large part (45-65% of its ink)
  cut off or rubbed out (needs ``digits``).
- ``overlaid_digits``: two different MNIST digits drawn over each other,
  shifted sideways (needs ``digits``).

Everything comes out as MNIST's preprocessing would make it of a drawing:
the strokes are rasterised by :func:`digitpad.ink.characters.render_character` with
the model's pen (a stroke width that is a fixed share of the character's
size), then fitted into the 20x20 box and centred by mass by
:func:`digitpad.ink.preprocess.preprocess`. The MNIST-based kinds get their
stroke width restored to MNIST's after the cut or the overlay changed their
size, so that stroke width tells the model nothing about the class.

Pure numpy and Qt-free; deterministic for a seed.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from digitpad.base.constants import MNIST_BOX, MNIST_SIZE
from digitpad.data.letters import LETTERS
from digitpad.data.pen_paths import PenPath, arc, draw_by_hand, polyline, straight, stroke_width
from digitpad.ink.preprocess import MNIST_STROKE_WIDTH, mnist_image

#: The kinds of non-digit, in the order :data:`KIND_SHARES` lists them.
KINDS = ("letter", "scribble", "loose_strokes", "partial_digit", "overlaid_digits")
#: Share of each kind in :func:`make_non_digits`. Letters dominate: they are
#: what people draw on a digit pad by mistake or to test it. The MNIST-based
#: kinds stay small: some pieces of digits still look like digits (a 7 that
#: lost the bottom of its stem is still a 7), and they would teach the model
#: to decline sloppy real digits.
KIND_SHARES = {"letter": 0.57, "scribble": 0.13, "loose_strokes": 0.14, "partial_digit": 0.06, "overlaid_digits": 0.1}
#: The kinds made from MNIST digits: without ``digits`` their share goes to the others.
DIGIT_KINDS = ("partial_digit", "overlaid_digits")

#: Below this ratio of the ink's narrow spread to its long one the image is a
#: bar, i.e. a 1 (MNIST's 1s: median 0.16, 95% below 0.28; its other digits:
#: 95% above 0.33); such candidates are drawn again.
BAR_SPREAD_RATIO = 0.28
#: A candidate whose loops enclose more than this many pixels (at 28x28, see
#: :func:`hole_pixels`) holds a loop. Pieces of digits and loose strokes with
#: one are drawn again: a piece of a digit with a loop is often a digit itself
#: (an 8 without its lower half is a 0 or a 9), and arcs that close make 0s,
#: 6s, 8s and 9s.
LOOP_HOLE_PIXELS = 2
#: Attempts at a valid sample of a kind before falling back to a letter
#: (which always succeeds); a few percent of MNIST-based candidates are refused.
ATTEMPTS = 12
#: Parts of a cut digit smaller than this share of its remaining ink are crumbs, and are dropped.
SPECK_SHARE = 0.25
#: A cut digit in more parts than this is crumbs rather than a piece of writing.
PARTIAL_PARTS = 2
#: A partial digit is refused as a bar below this spread ratio (stricter than
#: BAR_SPREAD_RATIO, which 5% of MNIST's 1s pass: a cut often leaves a stem, and a 1 it still is).
PARTIAL_SPREAD_RATIO = 0.45
#: What is left of a partial digit spans at least this share of the digit's longer side.
PARTIAL_EXTENT = 0.65
#: MNIST digits are upsampled this much before they are cut or overlaid, so
#: that the stroke-width correction and the refit into the box stay smooth.
UPSCALE = 4


def _spread_ratio(image: np.ndarray) -> float:
    """Narrow spread over long spread of the ink (principal axes): near 0 for a bar, 1 for a round blob."""
    ink = image.astype(np.float64)
    mass = ink.sum()
    if mass <= 0:
        return 0.0
    rows, cols = np.mgrid[0 : ink.shape[0], 0 : ink.shape[1]]
    mean_r, mean_c = (ink * rows).sum() / mass, (ink * cols).sum() / mass
    dr, dc = rows - mean_r, cols - mean_c
    covariance = np.array(
        [[(ink * dr * dr).sum(), (ink * dr * dc).sum()], [(ink * dr * dc).sum(), (ink * dc * dc).sum()]]
    )
    low, high = np.linalg.eigvalsh(covariance / mass)
    return float(np.sqrt(max(low, 0.0) / high)) if high > 0 else 0.0


def _dilate(mask: np.ndarray) -> np.ndarray:
    """``mask`` grown by one pixel in all eight directions."""
    padded = np.pad(mask, 1)
    height, width = mask.shape
    return np.logical_or.reduce([padded[dy : dy + height, dx : dx + width] for dy in range(3) for dx in range(3)])


def _enclosed(paper: np.ndarray) -> int:
    """Pixels of ``paper`` that no path along paper (4-connected) joins to the border."""
    reached = np.zeros_like(paper)
    reached[0, :], reached[-1, :], reached[:, 0], reached[:, -1] = paper[0, :], paper[-1, :], paper[:, 0], paper[:, -1]
    while True:
        grown = reached.copy()
        grown[1:] |= reached[:-1]
        grown[:-1] |= reached[1:]
        grown[:, 1:] |= reached[:, :-1]
        grown[:, :-1] |= reached[:, 1:]
        grown &= paper
        if np.array_equal(grown, reached):
            return int((paper & ~reached).sum())
        reached = grown


def hole_pixels(image: np.ndarray, threshold: int = 90) -> int:
    """The inside of the loops in ``image``, in pixels: paper that no path along paper joins to the border.

    Counted twice, keeping the larger: on the ink as it is (MNIST's small
    loops, which a grown ink would fill), and on the ink grown by a pixel (a
    loop whose ends do not quite meet, as people draw a 0). On MNIST's
    training digits more than 2 such pixels flag 99% of the 0s, 98% of the
    8s, 94% of the 9s and 74% of the 6s, and no 1s.
    """
    ink = image >= threshold
    return max(_enclosed(~ink), _enclosed(~_dilate(ink)))


def is_bar(image: np.ndarray) -> bool:
    """Whether the ink is one straight bar: a 1 whatever it was meant to be."""
    return _spread_ratio(image) < BAR_SPREAD_RATIO


def make_letter(name: str, rng: np.random.Generator) -> np.ndarray | None:
    """One handwritten letter of :data:`LETTERS` (uint8 (28, 28)), or None if it came out as a bar."""
    draw, (narrowest, widest) = LETTERS[name]
    image = draw_by_hand(draw(rng.uniform(narrowest, widest), rng), rng)
    return None if image is None or is_bar(image) else image


def _random_letter(rng: np.random.Generator, digits: np.ndarray | None = None) -> np.ndarray | None:
    return make_letter(str(rng.choice(list(LETTERS))), rng)


def _turning(path: PenPath) -> float:
    """Total absolute change of direction along ``path``, in full turns."""
    steps = np.diff(path, axis=0)
    headings = np.unwrap(np.arctan2(steps[:, 1], steps[:, 0]))
    return float(np.abs(np.diff(headings)).sum() / (2 * np.pi))


def _tangle(rng: np.random.Generator) -> PenPath | None:
    """A pen wandering in loops: each step turns by a curvature that itself drifts, so the path curls
    smoothly, as a scribbling hand does, rather than jittering.

    Refused (None) unless it is tangled: its path at least 2.5 times its
    size and turning through at least 3.5 full turns. A 2 turns through about
    one, a 3, 6 or 8 through two: an untangled walk is a curve, and a curve
    can be a digit.
    """
    steps = int(rng.integers(40, 90))
    curvature = np.zeros(steps)
    kicks = rng.normal(0, rng.uniform(0.15, 0.35), steps)
    for index in range(1, steps):
        curvature[index] = 0.85 * curvature[index - 1] + kicks[index]
    headings = rng.uniform(0, 2 * np.pi) + np.cumsum(curvature)
    path = np.concatenate([[[0.0, 0.0]], np.cumsum(np.stack([np.cos(headings), np.sin(headings)], 1), 0)])
    size = float(np.hypot(*np.ptp(path, axis=0)))
    length = float(np.hypot(*np.diff(path, axis=0).T).sum())
    if length < 2.5 * size or _turning(path) < 3.5:
        return None
    return path / max(float(np.ptp(path, axis=0).max()), 1e-6)


def _hatching(rng: np.random.Generator) -> PenPath:
    """Back and forth across a box with a drift: crossing something out. At least five strokes, so not a Z or a 2."""
    turns = int(rng.integers(5, 9))
    drift = rng.uniform(0.12, 0.3)
    xs = np.where(np.arange(turns + 1) % 2 == 0, 0.0, 1.0) + rng.normal(0, 0.06, turns + 1)
    ys = np.arange(turns + 1) * drift + rng.normal(0, 0.04, turns + 1)
    return polyline(*zip(xs.tolist(), ys.tolist(), strict=True))


def _scribble(rng: np.random.Generator, digits: np.ndarray | None = None) -> np.ndarray | None:
    """A tangle (three in four) or a hatching."""
    path = _hatching(rng) if rng.random() < 0.25 else None
    for _ in range(ATTEMPTS if path is None else 0):
        path = _tangle(rng)
        if path is not None:
            break
    if path is None:
        return None
    return _checked(draw_by_hand([path], rng, wobble=0.01))


def _loose_stroke(rng: np.random.Generator) -> tuple[PenPath, bool]:
    """A short line or an arc of at most 200 degrees (so never a closed loop), somewhere in the unit box;
    and whether it is the line."""
    centre = rng.uniform(0.1, 0.9, 2)
    size = rng.uniform(0.2, 0.5)
    if rng.random() < 0.5:
        angle = rng.uniform(0, np.pi)
        offset = size * np.array([np.cos(angle), np.sin(angle)])
        return straight(*(centre - offset), *(centre + offset)), True
    start = rng.uniform(0, 360)
    return arc(*centre, size, size * rng.uniform(0.6, 1.4), start, start + rng.uniform(60, 200)), False


def _apart(a: PenPath, b: PenPath, gap: float) -> bool:
    distances = np.hypot(*(a[:, None, :] - b[None, :, :]).transpose(2, 0, 1))
    return float(distances.min()) > gap


def _loose_strokes(rng: np.random.Generator, digits: np.ndarray | None = None) -> np.ndarray | None:
    """2-4 strokes at random. Two strokes must not touch (two joined lines are often a 7, a 4's parts
    or a flagged 1) and one of them must be a line (two arcs face each other as a broken 0); one
    stroke alone is never made (a line is a 1, an arc a C or a piece of a 0). Strokes that close
    a loop are drawn again: arcs that meet make 0s, 6s, 8s and 9s."""
    count = int(rng.integers(2, 5))
    strokes = [_loose_stroke(rng) for _ in range(count)]
    paths = [path for path, _ in strokes]
    if count == 2 and not (_apart(*paths, gap=0.15) and any(is_line for _, is_line in strokes)):
        return None
    return _checked(draw_by_hand(paths, rng, wobble=0.015), loops_allowed=False)


def _checked(image: np.ndarray | None, loops_allowed: bool = True) -> np.ndarray | None:
    """``image`` unless it is a bar (a 1) or, where loops are not allowed, holds a loop."""
    if image is None or is_bar(image):
        return None
    if not loops_allowed and hole_pixels(image) > LOOP_HOLE_PIXELS:
        return None
    return image


def _upsample(image: np.ndarray, factor: int = UPSCALE) -> np.ndarray:
    """uint8 (H, W) -> float ink (H * factor, W * factor) by bilinear interpolation, with a margin of paper."""

    def weights(size: int) -> np.ndarray:
        source = (np.arange(size * factor) + 0.5) / factor - 0.5
        return np.clip(1 - np.abs(source[:, None] - np.arange(size)[None, :]), 0, None).astype(np.float32)

    big = weights(image.shape[0]) @ (image.astype(np.float32) / 255) @ weights(image.shape[1]).T
    return np.pad(big, factor * 4)


def _disc_filter(ink: np.ndarray, radius: float, reduce: Callable) -> np.ndarray:
    """Grey dilation (``np.maximum``) or erosion (``np.minimum``) by a disc of ``radius`` pixels."""
    reach = int(np.floor(radius))
    if reach < 1:
        return ink
    padded = np.pad(ink, reach)
    height, width = ink.shape
    result = ink.copy()
    for dy in range(-reach, reach + 1):
        for dx in range(-reach, reach + 1):
            if 0 < dx * dx + dy * dy <= radius * radius:
                reduce(result, padded[reach + dy : reach + dy + height, reach + dx : reach + dx + width], out=result)
    return result


def _mnist_pen(ink: np.ndarray) -> np.ndarray | None:
    """Preprocess ``ink`` after giving it the stroke width that MNIST's digits have once fitted into the box.

    A piece of a digit gets enlarged to fill the box, a pair of digits shrunk,
    which would make their strokes bolder or thinner than any digit's: the
    model could then tell them by that alone.
    """
    longer = _extent(ink, threshold=0.05)
    if not longer:
        return None
    change = MNIST_STROKE_WIDTH * longer / MNIST_BOX - stroke_width(ink)
    reduce = np.maximum if change > 0 else np.minimum
    return mnist_image(_disc_filter(ink, abs(change) / 2, reduce))


def _components(mask: np.ndarray) -> np.ndarray:
    """Labels (1, 2, ...; 0 for paper) of the 8-connected parts of ``mask``: each pixel's index spread to its part."""
    labels = np.where(mask, np.arange(1, mask.size + 1).reshape(mask.shape), 0)
    height, width = mask.shape
    while True:
        padded = np.pad(labels, 1)
        neighbours = [padded[dy : dy + height, dx : dx + width] for dy in range(3) for dx in range(3)]
        grown = np.maximum.reduce(neighbours) * mask
        if np.array_equal(grown, labels):
            return labels
        labels = grown


def _drop_specks(ink: np.ndarray) -> tuple[np.ndarray, int]:
    """``ink`` (upsampled) without the crumbs a cut leaves (parts under SPECK_SHARE of the ink, found at
    MNIST's resolution), and the number of parts left. A crumb would widen the box the rest is fitted
    into, and no digit has one."""
    height, width = ink.shape
    small = ink.reshape(height // UPSCALE, UPSCALE, width // UPSCALE, UPSCALE).mean(axis=(1, 3))
    labels = _components(small > 0.2)
    areas = np.bincount(labels.ravel())
    areas[0] = 0
    crumbs = np.isin(labels, np.flatnonzero((areas > 0) & (areas < SPECK_SHARE * areas.sum())))
    parts = int(((areas > 0) & (areas >= SPECK_SHARE * areas.sum())).sum())
    # Widened by a pixel, so that the crumbs' faint edges go too.
    return ink * ~np.kron(_dilate(crumbs), np.ones((UPSCALE, UPSCALE), bool)), parts


def _extent(ink: np.ndarray, threshold: float = 0.5) -> int:
    """Longer side of the box around the ink above ``threshold`` (half strength by default; 0 without any)."""
    rows, cols = np.flatnonzero((ink > threshold).any(1)), np.flatnonzero((ink > threshold).any(0))
    return 0 if rows.size == 0 else int(max(rows[-1] - rows[0], cols[-1] - cols[0])) + 1


def _partial_digit(rng: np.random.Generator, digits: np.ndarray) -> np.ndarray | None:
    """A digit with 45-65% of its ink cut off along a line or rubbed out around a point.

    What is left must still span most of the digit's size (PARTIAL_EXTENT):
    a small piece, blown up to fill the box, is a blurred blob that no pen
    draws; and be in one or two parts, not crumbs. It may not be a bar (a 1, from a 4 or a 7) nor hold a loop (a 0,
    6 or 9, from an 8, a 6 or a 9); it is often a C, a hook or a corner.
    """
    ink = _upsample(digits[rng.integers(len(digits))])
    rows, cols = np.mgrid[0 : ink.shape[0], 0 : ink.shape[1]]
    if rng.random() < 0.5:
        angle = rng.uniform(0, 2 * np.pi)
        distance = cols * np.cos(angle) + rows * np.sin(angle)  # along a random direction
    else:
        flat = ink.ravel() / ink.sum()
        centre = np.unravel_index(rng.choice(flat.size, p=flat), ink.shape)
        distance = np.hypot(rows - centre[0], cols - centre[1])  # nearest the point goes first
    order = np.argsort(distance, axis=None)
    removed_mass = np.cumsum(ink.ravel()[order]) / ink.sum()
    cut = distance.ravel()[order][np.searchsorted(removed_mass, rng.uniform(0.45, 0.65))]
    # A one-pixel ramp at the cut, as an eraser's soft edge.
    kept, parts = _drop_specks(ink * np.clip(distance - cut + 0.5, 0.0, 1.0))
    if parts > PARTIAL_PARTS or _extent(kept) < PARTIAL_EXTENT * _extent(ink):
        return None
    image = _checked(_mnist_pen(kept), loops_allowed=False)
    return None if image is None or _spread_ratio(image) < PARTIAL_SPREAD_RATIO else image


def _extent_across(image: np.ndarray) -> int:
    """Width of the ink above a third of full strength, in pixels."""
    cols = np.flatnonzero((image > 85).any(0))
    return 0 if cols.size == 0 else int(cols[-1] - cols[0]) + 1


def _overlaid_digits(rng: np.random.Generator, digits: np.ndarray) -> np.ndarray | None:
    """Two digits drawn over each other, shifted sideways by about half their width.

    Never shifted straight up or down (two round digits stacked make an 8),
    and never two alike (two 0s would make a bold 0) nor a 1 (a 1 through a
    0 is a slashed zero): pairs that correlate or hold a bar are drawn again.
    """
    first, second = digits[rng.integers(len(digits), size=2)]
    if is_bar(first) or is_bar(second):
        return None
    a, b = first.astype(np.float64).ravel(), second.astype(np.float64).ravel()
    if np.corrcoef(a, b)[0, 1] > 0.5:
        return None
    # Shifted by 45-80% of the wider one's width: less, and the two merge into
    # one bold digit; more, and they are two digits side by side.
    widest = max(_extent_across(first), _extent_across(second))
    dx = max(5, round(widest * rng.uniform(0.45, 0.8))) * int(rng.choice([-1, 1]))
    dy = int(rng.integers(-3, 4))
    margins = ((4, 4), (abs(dx), abs(dx)))  # room for the shift: np.roll must not wrap ink around
    both = np.maximum(np.pad(first, margins), np.roll(np.pad(second, margins), (dy, dx), axis=(0, 1)))
    return _checked(_mnist_pen(_upsample(both)))


#: Kind -> a function of (generator, digits) that makes one sample or None to try again.
MAKERS: dict[str, Callable[[np.random.Generator, np.ndarray | None], np.ndarray | None]] = {
    "letter": _random_letter,
    "scribble": _scribble,
    "loose_strokes": _loose_strokes,
    "partial_digit": _partial_digit,
    "overlaid_digits": _overlaid_digits,
}


def _one(kind: str, rng: np.random.Generator, digits: np.ndarray | None) -> tuple[np.ndarray, str]:
    """A sample of ``kind`` (a few attempts), else a letter; with the kind it turned out to be."""
    for _ in range(ATTEMPTS):
        image = MAKERS[kind](rng, digits)
        if image is not None:
            return image, kind
    while True:  # a letter is refused only when it came out as a bar: rare
        image = _random_letter(rng)
        if image is not None:
            return image, "letter"


def _check_digits(digits: np.ndarray | None) -> np.ndarray | None:
    if digits is None or len(digits) == 0:
        return None
    digits = np.asarray(digits)
    if digits.dtype != np.uint8 or digits.ndim != 3 or digits.shape[1:] != (MNIST_SIZE, MNIST_SIZE):
        raise ValueError(f"digits must be uint8 (N, 28, 28) MNIST images, got {digits.dtype} {digits.shape}")
    return digits


def make_kind(kind: str, count: int, seed: int, digits: np.ndarray | None = None) -> np.ndarray:
    """``count`` non-digits of one kind (see :data:`KINDS`), uint8 (count, 28, 28); for previews and tests.

    The MNIST-based kinds need ``digits``; a sample that fails its checks
    every time falls back to a letter.
    """
    if kind not in MAKERS:
        raise ValueError(f"unknown kind {kind!r}; choose one of {', '.join(KINDS)}")
    digits = _check_digits(digits)
    if kind in DIGIT_KINDS and digits is None:
        raise ValueError(f"{kind} needs MNIST digits")
    rng = np.random.default_rng(seed)
    return _stack([_one(kind, rng, digits)[0] for _ in range(count)])


def make_labelled_non_digits(count: int, seed: int, digits: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """:func:`make_non_digits`, with the kind of each image (a str array), for tests and previews."""
    if count < 0:
        raise ValueError("count must not be negative")
    digits = _check_digits(digits)
    kinds = [kind for kind in KINDS if digits is not None or kind not in DIGIT_KINDS]
    shares = np.array([KIND_SHARES[kind] for kind in kinds])
    rng = np.random.default_rng(seed)
    chosen = rng.choice(kinds, size=count, p=shares / shares.sum())
    made = [_one(str(kind), rng, digits) for kind in chosen]
    return _stack([image for image, _ in made]), np.array([kind for _, kind in made], dtype=str)


def make_non_digits(count: int, seed: int, digits: np.ndarray | None = None) -> np.ndarray:
    """``count`` MNIST-style images of things that are not digits: uint8 (count, 28, 28), bright ink.

    The kinds are mixed by :data:`KIND_SHARES`; ``digits`` (uint8 MNIST
    images, e.g. the training set) feed the partial and overlaid kinds, which
    are left out without them. The same ``seed`` and ``digits`` give the same
    images.
    """
    return make_labelled_non_digits(count, seed, digits)[0]


def _stack(images: list[np.ndarray]) -> np.ndarray:
    return np.stack(images) if images else np.zeros((0, MNIST_SIZE, MNIST_SIZE), np.uint8)
