"""Pen paths: lines and arcs drawn by a hand (slant, turn, tremor, joins that miss) and rendered as the pad's reader
renders a character, then preprocessed as MNIST. Shared by the synthetic letters, the non-digits and the pen styles."""

from __future__ import annotations

import numpy as np

from digitpad.ink.samples import model_input
from digitpad.ink.strokes import MOUSE_PRESSURE, Stroke

PenPath = np.ndarray  # (N, 2) points, x right and y down, in the shape's own units
Shape = list[PenPath]  # one path per pen stroke


def straight(x0: float, y0: float, x1: float, y1: float, n: int = 10) -> PenPath:
    t = np.linspace(0.0, 1.0, n)[:, None]
    return np.array([x0, y0]) * (1 - t) + np.array([x1, y1]) * t


def arc(cx: float, cy: float, rx: float, ry: float, start: float, end: float) -> PenPath:
    """An elliptic arc from angle ``start`` to ``end`` (degrees, counter-clockwise as seen, 0 = right,
    90 = up); ``end < start`` runs clockwise."""
    angles = np.deg2rad(np.linspace(start, end, max(6, int(abs(end - start) / 10) + 2)))
    return np.stack([cx + rx * np.cos(angles), cy - ry * np.sin(angles)], axis=1)


def polyline(*points: tuple[float, float]) -> PenPath:
    """Straight segments through ``points``, one pen stroke (corners as people write them: no lift)."""
    pieces = [straight(*a, *b) for a, b in zip(points[:-1], points[1:], strict=True)]
    return np.concatenate([pieces[0]] + [piece[1:] for piece in pieces[1:]])


def joined(*paths: PenPath) -> PenPath:
    """Paths drawn one after the other without lifting the pen."""
    return np.concatenate(paths)


def with_tremor(path: PenPath, amplitude: float, rng: np.random.Generator) -> PenPath:
    """``path`` with a smooth hand tremor: noise smoothed over a few points, so it bends rather than jitters."""
    noise = rng.normal(0.0, 1.0, path.shape)
    kernel = np.hanning(7)
    kernel /= kernel.sum()
    smooth = np.stack([np.convolve(noise[:, k], kernel, mode="same") for k in range(2)], axis=1)
    scale = np.abs(smooth).max()
    return path + smooth * (amplitude / scale if scale > 0 else 0.0)


def by_hand(shape: Shape, rng: np.random.Generator, wobble: float = 0.03) -> Shape:
    """Slant, rotate and wobble a shape, and move each stroke a little, as a hand does: joins do not quite meet."""
    slant = rng.uniform(-0.1, 0.35)  # most writers lean right
    angle = np.deg2rad(rng.normal(0, 5))
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    moved = []
    for path in shape:
        path = path + rng.normal(0, 0.025, 2)
        path = np.stack([path[:, 0] + slant * (1 - path[:, 1]), path[:, 1]], axis=1) @ rotation.T
        moved.append(with_tremor(path, wobble * rng.uniform(0.3, 1.0), rng))
    return moved


def to_strokes(shape: Shape, rng: np.random.Generator) -> list[Stroke]:
    """Pen strokes with a light-to-firm pressure each (the width varies as much as on a tablet)."""
    strokes = []
    for path in shape:
        pressure = float(np.clip(rng.normal(MOUSE_PRESSURE, 0.1), 0.3, 0.7))
        # The widths are the pad's pen, which render_character replaces with the model's.
        strokes.append(
            Stroke(points=[tuple(p) for p in path], widths=[1.0] * len(path), pressures=[pressure] * len(path))
        )
    return strokes


def stroke_width(ink: np.ndarray) -> float:
    """Mean stroke width of the ink above 0.5: twice its area over its perimeter."""
    mask = ink > 0.5
    edges = np.abs(np.diff(mask.astype(np.int8), axis=0)).sum() + np.abs(np.diff(mask.astype(np.int8), axis=1)).sum()
    return 2 * float(mask.sum()) / max(float(edges) * np.pi / 4, 1.0)


def draw_by_hand(shape: Shape, rng: np.random.Generator, wobble: float = 0.03) -> np.ndarray | None:
    """Pen paths as a hand draws them (slanted, turned, wobbly, joins a little apart), as MNIST: uint8 (28, 28).

    Rendered as the pad's reader renders a character drawn on the pad (:func:`digitpad.ink.samples.model_input`).
    """
    return model_input(to_strokes(by_hand(shape, rng, wobble), rng))
