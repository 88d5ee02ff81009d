"""Pen strokes as data: what the pad records, replays and (later) saves.

A drawing is a list of strokes; a stroke is the pen's path from pen-down to
pen-up, with the pen width at every point (pressure already applied). The
pad keeps these rather than pixels so that undo, replay, recordings and
re-rendering at another size are exact. :func:`render` rasterises strokes
without Qt (round caps and joins, anti-aliased edges), the way the pad's
QPainter does; benches and training use it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: Pressure -> width factor: a light touch draws at 40% of the pen width,
#: a firm one at 160%; a mouse (no pressure) draws at 100% (pressure 0.5).
MIN_PRESSURE_FACTOR = 0.4
MAX_PRESSURE_FACTOR = 1.6


def pressure_factor(pressure: float) -> float:
    """Width multiplier for a pen pressure in [0, 1]."""
    pressure = min(max(float(pressure), 0.0), 1.0)
    return MIN_PRESSURE_FACTOR + (MAX_PRESSURE_FACTOR - MIN_PRESSURE_FACTOR) * pressure


@dataclass
class Stroke:
    """One pen-down trace: points (N, 2) as (x, y) in canvas pixels, width per point."""

    points: list[tuple[float, float]] = field(default_factory=list)
    widths: list[float] = field(default_factory=list)
    #: True for an eraser stroke: it removes ink instead of adding it.
    erase: bool = False

    def add(self, x: float, y: float, width: float) -> None:
        self.points.append((float(x), float(y)))
        self.widths.append(float(width))

    def bounds(self) -> tuple[float, float, float, float]:
        """(left, top, right, bottom) including the pen's radius."""
        xy = np.asarray(self.points, dtype=np.float64).reshape(-1, 2)
        radius = np.asarray(self.widths, dtype=np.float64) / 2
        return (
            float((xy[:, 0] - radius).min()),
            float((xy[:, 1] - radius).min()),
            float((xy[:, 0] + radius).max()),
            float((xy[:, 1] + radius).max()),
        )


def _segment_coverage(
    px: np.ndarray, py: np.ndarray, a: np.ndarray, b: np.ndarray, radius_a: float, radius_b: float
) -> np.ndarray:
    """Anti-aliased coverage (0..1) of a round-capped segment from a to b over pixel centres."""
    ab = b - a
    length_sq = float(ab @ ab)
    if length_sq > 0:
        t = np.clip(((px - a[0]) * ab[0] + (py - a[1]) * ab[1]) / length_sq, 0.0, 1.0)
    else:
        t = np.zeros_like(px)
    dx = px - (a[0] + t * ab[0])
    dy = py - (a[1] + t * ab[1])
    distance = np.sqrt(dx * dx + dy * dy)
    radius = radius_a + (radius_b - radius_a) * t
    # One pixel wide linear ramp across the edge: the usual AA approximation.
    return np.clip(radius - distance + 0.5, 0.0, 1.0)


def render(strokes: list[Stroke], height: int, width: int, scale: float = 1.0) -> np.ndarray:
    """Rasterise ``strokes`` into a float32 (height, width) ink image in [0, 1].

    ``scale`` multiplies coordinates and widths (device pixel ratio).
    """
    canvas = np.zeros((height, width), dtype=np.float32)
    for stroke in strokes:
        if not stroke.points:
            continue
        xy = np.asarray(stroke.points, dtype=np.float64).reshape(-1, 2) * scale
        radii = np.asarray(stroke.widths, dtype=np.float64) * (scale / 2)
        if len(xy) == 1:
            xy = np.vstack([xy, xy])
            radii = np.concatenate([radii, radii])
        for index in range(len(xy) - 1):
            a, b = xy[index], xy[index + 1]
            reach = max(radii[index], radii[index + 1]) + 1
            left = max(int(np.floor(min(a[0], b[0]) - reach)), 0)
            right = min(int(np.ceil(max(a[0], b[0]) + reach)) + 1, width)
            top = max(int(np.floor(min(a[1], b[1]) - reach)), 0)
            bottom = min(int(np.ceil(max(a[1], b[1]) + reach)) + 1, height)
            if left >= right or top >= bottom:
                continue
            py, px = np.mgrid[top:bottom, left:right].astype(np.float64) + 0.5
            coverage = _segment_coverage(px, py, a, b, radii[index], radii[index + 1]).astype(np.float32)
            region = canvas[top:bottom, left:right]
            if stroke.erase:
                np.multiply(region, 1.0 - coverage, out=region)
            else:
                np.maximum(region, coverage, out=region)
    return canvas
