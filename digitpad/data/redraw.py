"""New drawings of a taught digit, made from its strokes: how fine-tuning learns a hand from three samples.

A person teaches the app three or so drawings of a digit. Pixel
augmentation (:mod:`digitpad.data.augment`: a shift, a turn, a stretch of the
whole 28x28 image) makes more of each, but it moves all the ink together.
What varies from one drawing of a digit to the next in a person's hand is
often how the *strokes* sit against each other: the stem of a φ-like zero
is longer or shorter than its loop, the separate bar of a 5 or the
cross-bar of a 7 lands higher or lower, wider or narrower. And because the
preprocessing fits the whole character into MNIST's 20x20 box, a longer
stem also makes the loop smaller in what the model sees. Only the strokes
can make such variants.

So each variant moves every ink stroke of a multi-stroke drawing on its
own (stretched about its own centre by up to ``stroke_jitter`` in log
scale, on each axis independently, and shifted by a few percent of the
character's size), then the whole drawing a little (turned, sheared,
stretched), and draws it again through the very path the pad's reading
takes (:func:`digitpad.ink.samples.model_input`: the character's own stroke
width, MNIST's preprocessing). Eraser strokes move only with the whole
drawing, so that they keep rubbing out what they rubbed out. A drawing of
one stroke gets the whole-drawing moves alone.

Measured on the dev writers' taught digits (``bench/teach.py``'s choice,
offline, 2026-11-30): with the pixel augmentation alone, fine-tuning on
ja's three φ zeros left two of his other φ zeros at "?"; with 32 such
variants of each sample both were read as 0, and the other writers' errors
stayed as they were (a stroke jitter of 0.25 and 0.35 gave the same).

Pure numpy, Qt-free, deterministic for a generator.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from digitpad.ink.samples import model_input
from digitpad.ink.strokes import Stroke

#: Largest turn of the whole drawing (degrees), shear (x per y) and stretch (log scale, per axis).
TURN_DEGREES = 8.0
SHEAR = 0.15
STRETCH = 0.15
#: Standard deviation of a stroke's own shift, as a share of the character's longer side.
STROKE_SHIFT = 0.04


def _affine(rng: np.random.Generator) -> np.ndarray:
    """A random 2x2 map: a small turn, shear and stretch of the whole drawing."""
    angle = np.deg2rad(rng.uniform(-TURN_DEGREES, TURN_DEGREES))
    turn = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    shear = np.array([[1.0, rng.uniform(-SHEAR, SHEAR)], [0.0, 1.0]])
    return turn @ shear @ np.diag(np.exp(rng.uniform(-STRETCH, STRETCH, 2)))


def moved_strokes(strokes: list[Stroke], rng: np.random.Generator, stroke_jitter: float) -> list[Stroke]:
    """``strokes`` with each ink stroke moved on its own (if there are several), then all of them together."""
    ink = [stroke for stroke in strokes if stroke.points and not stroke.erase]
    if not ink:
        return list(strokes)
    points = np.concatenate([np.asarray(stroke.points, dtype=np.float64) for stroke in ink])
    low, high = points.min(0), points.max(0)
    centre, size = (low + high) / 2, float((high - low).max())
    whole = _affine(rng)
    moved = []
    for stroke in strokes:
        if not stroke.points:
            moved.append(stroke)
            continue
        path = np.asarray(stroke.points, dtype=np.float64)
        if len(ink) > 1 and not stroke.erase and stroke_jitter > 0:
            own_centre = (path.min(0) + path.max(0)) / 2
            stretch = np.exp(rng.uniform(-stroke_jitter, stroke_jitter, 2))
            path = (path - own_centre) * stretch + own_centre + rng.normal(0.0, STROKE_SHIFT * size, 2)
        path = (path - centre) @ whole.T + centre
        moved.append(replace(stroke, points=[(float(x), float(y)) for x, y in path]))
    return moved


def redrawn_variants(
    strokes: list[Stroke], image: np.ndarray, count: int, rng: np.random.Generator, stroke_jitter: float = 0.3
) -> np.ndarray:
    """(count, 28, 28) uint8: ``image`` (the sample's own input) first, then ``count - 1`` re-drawn variants.

    A variant that draws nothing (a drawing moved off its own ink by an
    eraser, say) is replaced by ``image``.
    """
    variants = [np.asarray(image, dtype=np.uint8)]
    for _ in range(count - 1):
        redrawn = model_input(moved_strokes(strokes, rng, stroke_jitter)) if strokes else None
        variants.append(variants[0] if redrawn is None else redrawn)
    return np.stack(variants)
