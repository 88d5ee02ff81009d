"""Pen styles that MNIST lacks, synthesised from MNIST digits.

MNIST was written by American census staff and students. Many people
elsewhere write a zero with a slash through it (so it is not read as the
letter O), often as φ, a small loop on a long stem, and a one with a flag
at the top (a long upstroke in continental Europe) and a foot at the
bottom; a CNN that never saw those reads a slashed zero as 4, 6 or 9 and a
footed or flagged one as 2 or 7. Two more styles came from held-out
writers' errors: a 9 whose tail curls left (read as 3 or 8) and a 5 whose
top bar is a separate stroke that does not touch the body (read as 3).
(Found by looking at the errors on pen-drawn digits.)

So a fraction of the training 0s, 1s, 5s and 9s get the extra or redrawn
strokes, drawn with the same rasteriser as the pad at the digit's own stroke
width, and go through the same preprocessing as a drawing: the added ink
changes the bounding box and centre of mass exactly as it would on the pad.
"""

from __future__ import annotations

import numpy as np

from digitpad.data.pen_paths import draw_by_hand, stroke_width
from digitpad.ink.preprocess import mnist_image
from digitpad.ink.strokes import Stroke, render

#: Work at 4x MNIST's resolution so that added strokes are anti-aliased like a drawing.
UPSCALE = 4
#: Room around the upscaled digit for strokes that stick out of it (φ stems).
MARGIN = 48


def _upscale(image: np.ndarray) -> np.ndarray:
    """uint8 (28, 28) -> float (112, 112) ink, bilinear-ish via repeat + box blur."""
    big = np.kron(image.astype(np.float32) / 255, np.ones((UPSCALE, UPSCALE), np.float32))
    # A small box blur removes the blockiness of kron so the strokes look drawn.
    # Separable, as sums of shifted slices: no per-row Python.
    padded = np.pad(big, UPSCALE // 2, mode="edge")
    size = big.shape[0]
    rows = sum(padded[:, shift : shift + size] for shift in range(UPSCALE)) / UPSCALE
    return sum(rows[shift : shift + size, :] for shift in range(UPSCALE)) / UPSCALE


def _stroke(points: list[tuple[float, float]], width: float) -> Stroke:
    stroke = Stroke()
    for x, y in points:
        stroke.add(x, y, width)
    return stroke


def _ink_geometry(ink: np.ndarray) -> tuple[float, float, float, float, float]:
    """(left, top, right, bottom, stroke width) of the ink above 0.5."""
    mask = ink > 0.5
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    width = float(np.clip(stroke_width(ink), 4, 16))
    return float(cols[0]), float(rows[0]), float(cols[-1] + 1), float(rows[-1] + 1), width


def slashed_zero(image: np.ndarray, rng: np.random.Generator) -> np.ndarray | None:
    """A zero with a slash (Ø) or a near-vertical bar (φ) through it; None if unusable."""
    ink = np.pad(_upscale(image), MARGIN)
    left, top, right, bottom, width = _ink_geometry(ink)
    height = bottom - top
    centre_x, centre_y = (left + right) / 2, (top + bottom) / 2
    # Angle from vertical: 0 is a φ-like bar, 45 degrees a classic Ø slash;
    # both are common, the bar mostly through narrow zeros.
    vertical_bar = rng.random() < 0.5
    angle = np.deg2rad(rng.uniform(0, 12) if vertical_bar else rng.uniform(12, 45))
    if vertical_bar and rng.random() < 0.6:
        ink = _squeeze_horizontally(ink, centre_x, rng.uniform(0.6, 0.85))
        left, top, right, bottom, width = _ink_geometry(ink)
        centre_x = (left + right) / 2
    # Many people write the bar as a long stem, a small loop on it (φ): then the
    # loop is only half to two thirds of the digit's height, and without such
    # zeros the network reads them as 9 or 4.
    long_stem = vertical_bar and rng.random() < 0.5
    half = height / 2 * (rng.uniform(1.3, 2.0) if long_stem else rng.uniform(1.0, 1.3))
    dx, dy = np.sin(angle) * half, np.cos(angle) * half
    shift = rng.normal(0, 0.05 * height, 2)
    start = (centre_x - dx + shift[0], centre_y + dy + shift[1])
    end = (centre_x + dx + shift[0], centre_y - dy + shift[1])
    slash = render([_stroke([start, end], width * rng.uniform(0.8, 1.1))], *ink.shape)
    return mnist_image(np.maximum(ink, slash))


def _squeeze_horizontally(ink: np.ndarray, centre_x: float, factor: float) -> np.ndarray:
    """Narrow the ink about ``centre_x`` by ``factor`` (linear interpolation along rows)."""
    source = centre_x + (np.arange(ink.shape[1]) + 0.5 - centre_x) / factor - 0.5
    inside = (source >= 0) & (source <= ink.shape[1] - 1)
    source = np.clip(source, 0, ink.shape[1] - 1)
    low = np.floor(source).astype(int)
    high = np.minimum(low + 1, ink.shape[1] - 1)
    blend = (source - low).astype(np.float32)
    squeezed = ink[:, low] * (1 - blend) + ink[:, high] * blend
    return squeezed * inside


def serif_one(image: np.ndarray, rng: np.random.Generator) -> np.ndarray | None:
    """A one with a flag at the top, a foot at the bottom, or both."""
    ink = np.pad(_upscale(image), MARGIN)
    left, top, right, bottom, width = _ink_geometry(ink)
    height = bottom - top
    if right - left > 0.6 * height:  # already a wide, unusual one: leave it
        return None
    mask = ink > 0.5
    top_row, bottom_row = int(top), int(bottom) - 1
    top_x = float(np.flatnonzero(mask[top_row]).mean())
    bottom_x = float(np.flatnonzero(mask[bottom_row]).mean())
    strokes = []
    style = rng.choice(["flag", "foot", "both"], p=[0.35, 0.15, 0.5])
    stroke_width = width * rng.uniform(0.8, 1.1)
    if style in ("flag", "both"):
        # From nearly horizontal to a steep upstroke; continental ones have a
        # long upstroke reaching down to half the height. A long, flat flag
        # would be a seven: flat flags stay shorter.
        angle = np.deg2rad(rng.uniform(0, 60))  # below the horizontal, pointing left
        longest = 0.38 if angle < np.deg2rad(20) else 0.45 if angle < np.deg2rad(30) else 0.6
        length = height * rng.uniform(0.15, longest)
        tip = (top_x - np.cos(angle) * length, top + np.sin(angle) * length)
        strokes.append(_stroke([(top_x, top + width / 2), tip], stroke_width))
    if style in ("foot", "both"):
        half = height * rng.uniform(0.15, 0.4)
        lean = rng.uniform(-0.05, 0.05) * height
        y = bottom - width / 2
        strokes.append(_stroke([(bottom_x - half, y + lean), (bottom_x + half, y - lean)], stroke_width))
    extra = render(strokes, *ink.shape)
    return mnist_image(np.maximum(ink, extra))


def _cut_rows(ink: np.ndarray, start: int, stop: int) -> np.ndarray:
    """A copy of ``ink`` with rows ``start:stop`` blank."""
    cut = ink.copy()
    cut[max(start, 0) : max(stop, 0)] = 0
    return cut


def _arc_points(
    centre: tuple[float, float], radius: tuple[float, float], start: float, end: float, count: int = 16
) -> list[tuple[float, float]]:
    """Points on an elliptic arc, angles in radians, y downwards as on the pad."""
    angles = np.linspace(start, end, count)
    return [(centre[0] + radius[0] * np.cos(a), centre[1] + radius[1] * np.sin(a)) for a in angles]


def curled_nine(image: np.ndarray, rng: np.random.Generator) -> np.ndarray | None:
    """A nine whose tail ends in a curl to the left instead of a straight stem.

    Written fast, the tail of a 9 often hooks left (and back up a little), so
    that its lower half looks like the bottom of a 3 or a 5; MNIST's nines
    have straight or slightly bent tails and a CNN that saw only those reads
    the curled ones as 3 or 8. The bottom of the stem is cut off and redrawn
    as an arc that starts on the stem and turns left.
    """
    ink = np.pad(_upscale(image), MARGIN)
    left, top, right, bottom, width = _ink_geometry(ink)
    height = bottom - top
    # The loop is the top half of a nine: the curl replaces at most the lowest
    # third, so that the loop stays whole.
    radius_y = height * rng.uniform(0.1, 0.2)
    radius_x = radius_y * rng.uniform(0.9, 1.8)
    cut_row = int(bottom - radius_y)
    row = ink[cut_row] > 0.5
    if not row.any() or cut_row <= top + height / 2:
        return None
    stem_x = float(np.flatnonzero(row).mean())
    # The arc starts on the stem, pointing down, and turns through the bottom
    # to the left; some curls come back up (a "g"-like tail), most stop level.
    end = np.pi * rng.uniform(0.9, 1.35)
    curl = _arc_points((stem_x - radius_x, cut_row), (radius_x, radius_y), 0.0, end)
    drawn = render([_stroke(curl, width * rng.uniform(0.85, 1.1))], *ink.shape)
    return mnist_image(np.maximum(_cut_rows(ink, cut_row + 1, ink.shape[0]), drawn))


def detached_five(image: np.ndarray, rng: np.random.Generator) -> np.ndarray | None:
    """A five whose top bar is a separate stroke that does not touch the body.

    Many people write a 5's body (stem and belly) first and add the bar
    afterwards, a little above or to the right of the stem, often sloping up;
    with the gap, a CNN trained on MNIST's joined bars reads the body as a 3.
    The top of the five (bar and stem top) is cut off and the bar redrawn
    apart from what is left.
    """
    ink = np.pad(_upscale(image), MARGIN)
    left, top, right, bottom, width = _ink_geometry(ink)
    height = bottom - top
    # Cut the bar: MNIST's bars are about one stroke thick, sometimes sloping.
    cut_to = int(top + max(1.6 * width, 0.16 * height))
    body = _cut_rows(ink, 0, cut_to)
    rows = np.flatnonzero((body > 0.5).any(1))
    if rows.size == 0:
        return None
    body_top = rows[0]
    body_row = np.flatnonzero(body[body_top] > 0.5)
    stem_x = float(body_row.min())
    body_width = right - left
    if body_width < 0.4 * height:  # a narrow five would lose its shape
        return None
    # The bar starts at or right of the stem and ends near the body's right
    # side; the gap above the stem is one to two stroke widths.
    gap = width * rng.uniform(0.8, 2.0)
    start_x = stem_x + body_width * rng.uniform(-0.05, 0.3)
    end_x = right + body_width * rng.uniform(-0.15, 0.15)
    start_y = body_top - gap
    end_y = start_y - (end_x - start_x) * np.tan(np.deg2rad(rng.uniform(-5, 15)))
    bar = render([_stroke([(start_x, start_y), (end_x, end_y)], width * rng.uniform(0.85, 1.1))], *ink.shape)
    return mnist_image(np.maximum(body, bar))


def drawn_one(rng: np.random.Generator) -> np.ndarray | None:
    """A one drawn from pen strokes, as the pad's reader sees it: a stem, a flag, sometimes a foot.

    :func:`serif_one` adds a straight flag to an MNIST one, whose stem is
    straight and often thick. Writers who flag their ones do it in the same
    stroke as the stem: the flag bends into it, and the stem leans and bows
    like the rest of their writing. One held-out writer's pen-drawn ones
    (measured by bench/drawn_digits.py, never trained on) have flags 0.2-0.4
    of the height long at 5-17 degrees below the horizontal: serif ones of
    that length and angle were read right, his were read as 7 (9 of his 16).
    These are drawn as paths and rendered with the model's pen
    (:func:`digitpad.data.pen_paths.draw_by_hand`), as a drawing on the pad is;
    the MNIST sevens in the same training set keep a flat flag from turning
    every 7 into a 1: flat flags stay shorter than steep ones, as in
    :func:`serif_one`.
    """
    steps = np.linspace(0.0, 1.0, 14)
    lean = rng.uniform(-0.3, 0.05)  # the bottom left of the top, as most hands lean
    bow = rng.uniform(-0.07, 0.07)  # a stem written fast is seldom straight
    top_x = 0.5
    stem = np.stack([top_x + lean * steps + bow * np.sin(np.pi * steps), steps], axis=1)
    angle = np.deg2rad(rng.uniform(3, 55))  # below the horizontal, pointing left
    longest = 0.4 if angle < np.deg2rad(20) else 0.45 if angle < np.deg2rad(30) else 0.6
    length = rng.uniform(0.12, longest)
    flag = np.linspace([top_x - np.cos(angle) * length, np.sin(angle) * length], [top_x, 0.0], 6)
    paths = [np.concatenate([flag, stem[1:]])]
    if rng.random() < 0.25:
        half, foot_x = rng.uniform(0.15, 0.35), stem[-1, 0]
        paths.append(np.linspace([foot_x - half, 1.0], [foot_x + half, 1.0], 8))
    return draw_by_hand(paths, rng, wobble=0.02)


def add_drawn_ones(images: np.ndarray, labels: np.ndarray, count: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Return ``images`` plus ``count`` :func:`drawn_one` ones (a few fewer if any came out blank).

    Their own generator (from ``seed``), so the pen styles of a seed stay what they were without them.
    """
    rng = np.random.default_rng([seed, 1])
    ones = [image for image in (drawn_one(rng) for _ in range(count)) if image is not None]
    if not ones:
        return images, labels
    return (np.concatenate([images, np.stack(ones)]), np.concatenate([labels, np.ones(len(ones), dtype=labels.dtype)]))


#: The digits :func:`add_pen_styles` knows a style for, and the style's maker.
STYLE_MAKERS = {"0": slashed_zero, "1": serif_one, "5": detached_five, "9": curled_nine}
#: The styles of the first pass (the shipped weights before the 5s and 9s).
FIRST_STYLES = "01"
ALL_STYLES = "0159"


def add_pen_styles(
    images: np.ndarray, labels: np.ndarray, fraction: float = 0.3, seed: int = 0, digits: str = ALL_STYLES
) -> tuple[np.ndarray, np.ndarray]:
    """Return MNIST plus pen-style variants of ``fraction`` of its digits named in ``digits``.

    images: uint8 (N, 28, 28); labels: (N,). The originals are kept; the
    variants are appended (for "01" at 0.3, about 0.06 * N of them). The
    digits are done in the order 0, 1, 5, 9 from one generator, so "01" makes
    exactly what the first pass made.
    """
    unknown = set(digits) - set(STYLE_MAKERS)
    if unknown:
        raise ValueError(f"no pen style for {''.join(sorted(unknown))!r}: known are {ALL_STYLES!r}")
    rng = np.random.default_rng(seed)
    new_images, new_labels = [], []
    for digit, make in STYLE_MAKERS.items():
        if digit not in digits:
            continue
        candidates = np.flatnonzero(labels == int(digit))
        chosen = rng.choice(candidates, size=int(len(candidates) * fraction), replace=False)
        for index in chosen:
            variant = make(images[index], rng)
            if variant is not None:
                new_images.append(variant)
                new_labels.append(int(digit))
    if not new_images:
        return images, labels
    return (
        np.concatenate([images, np.stack(new_images)]),
        np.concatenate([labels, np.asarray(new_labels, dtype=labels.dtype)]),
    )
