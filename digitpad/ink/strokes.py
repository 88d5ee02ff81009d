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
#: Pressure a mouse stands for: pressure_factor(0.5) == 1, the plain pen width.
MOUSE_PRESSURE = 0.5
#: The eraser end of a pen rubs out a wider path than the pen draws.
ERASER_WIDTH_FACTOR = 3.0


def pressure_factor(pressure: float | np.ndarray) -> float | np.ndarray:
    """Width multiplier for a pen pressure in [0, 1], or for an array of them at once."""
    factor = MIN_PRESSURE_FACTOR + (MAX_PRESSURE_FACTOR - MIN_PRESSURE_FACTOR) * np.clip(pressure, 0.0, 1.0)
    return factor if isinstance(factor, np.ndarray) else float(factor)


@dataclass
class Stroke:
    """One pen-down trace: points (N, 2) as (x, y) in canvas pixels, width and pen pressure per point.

    ``widths`` are what the pad paints (its pen width times the pressure's
    factor); ``pressures`` are kept apart so that the model's input can be
    re-rendered at another width with the same pressure variation.
    """

    points: list[tuple[float, float]] = field(default_factory=list)
    widths: list[float] = field(default_factory=list)
    #: True for an eraser stroke: it removes ink instead of adding it.
    erase: bool = False
    #: Pen pressure in [0, 1] per point (MOUSE_PRESSURE for a mouse).
    pressures: list[float] = field(default_factory=list)
    #: When each point was drawn (seconds, any origin; see digitpad.ink.drawings); empty when not recorded.
    times: list[float] = field(default_factory=list)

    def add(self, x: float, y: float, width: float, pressure: float = MOUSE_PRESSURE, t: float | None = None) -> None:
        self.points.append((float(x), float(y)))
        self.widths.append(float(width))
        self.pressures.append(float(pressure))
        if t is not None:
            self.times.append(float(t))

    def point_pressures(self) -> list[float]:
        """The pressure of every point: as recorded, or MOUSE_PRESSURE throughout if not recorded for each."""
        return self.pressures if len(self.pressures) == len(self.points) else [MOUSE_PRESSURE] * len(self.points)

    def pressure_factors(self) -> np.ndarray:
        """Width factor per point from its pressure (1.0 for a mouse), times the eraser's widening."""
        factors = pressure_factor(np.asarray(self.point_pressures(), dtype=np.float64))
        return factors * ERASER_WIDTH_FACTOR if self.erase else factors

    def bounds(self) -> tuple[float, float, float, float]:
        """(left, top, right, bottom) including the pen's radius."""
        xy = np.asarray(self.points, dtype=np.float64).reshape(-1, 2)
        radius = np.asarray(self.widths, dtype=np.float64)[:, None] / 2
        (left, top), (right, bottom) = (xy - radius).min(0), (xy + radius).max(0)
        return float(left), float(top), float(right), float(bottom)


#: Segments are cut into pieces at most this long (px), so that each piece's
#: neighbourhood fits one small square patch and a whole stroke's patches are
#: computed in one numpy expression rather than a Python loop per segment.
MAX_PIECE = 2.0
#: Pieces computed per numpy expression: bounds the temporary arrays.
PIECES_PER_BLOCK = 256


def _segment_coverage(
    px: np.ndarray, py: np.ndarray, a: np.ndarray, b: np.ndarray, radius_a: np.ndarray, radius_b: np.ndarray
) -> np.ndarray:
    """Anti-aliased coverage (0..1) of round-capped segments from a to b over pixel centres.

    Arrays broadcast: one segment over a grid, or a stack of segments over a
    stack of patches; the arithmetic is the same either way, element by element.
    """
    abx, aby = b[..., 0] - a[..., 0], b[..., 1] - a[..., 1]
    length_sq = abx * abx + aby * aby
    safe = np.where(length_sq > 0, length_sq, 1.0)
    t = np.where(length_sq > 0, np.clip(((px - a[..., 0]) * abx + (py - a[..., 1]) * aby) / safe, 0.0, 1.0), 0.0)
    dx = px - (a[..., 0] + t * abx)
    dy = py - (a[..., 1] + t * aby)
    distance = np.sqrt(dx * dx + dy * dy)
    radius = radius_a + (radius_b - radius_a) * t
    # One pixel wide linear ramp across the edge: the usual AA approximation.
    return np.clip(radius - distance + 0.5, 0.0, 1.0)


def _pieces(xy: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cut the polyline's segments into pieces of at most MAX_PIECE px: (segment index, start, end) per piece."""
    step = np.diff(xy, axis=0)
    counts = np.maximum(1, np.ceil(np.hypot(step[:, 0], step[:, 1]) / MAX_PIECE)).astype(np.int64)
    segment = np.repeat(np.arange(len(step)), counts)
    k = np.arange(len(segment)) - np.repeat(np.cumsum(counts) - counts, counts)
    t0, t1 = k / counts[segment], (k + 1) / counts[segment]
    return segment, xy[segment] + t0[:, None] * step[segment], xy[segment] + t1[:, None] * step[segment]


def _ink_patches(xy: np.ndarray, radii: np.ndarray, side: int, reach: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(lefts, tops, coverages): each piece's patch corner and its segment's coverage on the patch.

    A pixel that a segment covers lies within ``reach`` of the piece its
    nearest point falls in, so the pieces' patches together hold all of the
    segment's coverage, computed exactly as for the whole segment.
    """
    segment, start, end = _pieces(xy)
    left = np.floor(np.minimum(start[:, 0], end[:, 0])).astype(np.int64) - reach
    top = np.floor(np.minimum(start[:, 1], end[:, 1])).astype(np.int64) - reach
    offsets = np.arange(side, dtype=np.float64) + 0.5
    px = left[:, None, None].astype(np.float64) + offsets[None, None, :]
    py = top[:, None, None].astype(np.float64) + offsets[None, :, None]
    a, b = xy[segment][:, None, None, :], xy[segment + 1][:, None, None, :]
    radius_a, radius_b = radii[segment][:, None, None], radii[segment + 1][:, None, None]
    return left, top, _segment_coverage(px, py, a, b, radius_a, radius_b).astype(np.float32)


def render(strokes: list[Stroke], height: int, width: int, scale: float = 1.0) -> np.ndarray:
    """Rasterise ``strokes`` into a float32 (height, width) ink image in [0, 1].

    ``scale`` multiplies coordinates and widths (device pixel ratio).
    """
    strokes = [stroke for stroke in strokes if len(stroke.points)]
    if not strokes:
        return np.zeros((height, width), dtype=np.float32)
    reach = int(np.ceil(max(float(np.max(stroke.widths)) for stroke in strokes) * scale / 2)) + 1
    side = 2 * reach + int(np.ceil(MAX_PIECE)) + 2
    # Patches near the edges spill into a margin that is cut off at the end.
    canvas = np.zeros((height + 2 * side, width + 2 * side), dtype=np.float32)
    inner = canvas[side : side + height, side : side + width]
    for stroke in strokes:
        xy = np.asarray(stroke.points, dtype=np.float64).reshape(-1, 2) * scale
        radii = np.asarray(stroke.widths, dtype=np.float64) * (scale / 2)
        if len(xy) == 1:
            xy, radii = np.vstack([xy, xy]), np.concatenate([radii, radii])
        if stroke.erase:
            _erase(inner, xy, radii)
            continue
        for first in range(0, len(xy) - 1, PIECES_PER_BLOCK):
            block = slice(first, min(first + PIECES_PER_BLOCK, len(xy) - 1) + 1)
            lefts, tops, coverages = _ink_patches(xy[block], radii[block], side, reach)
            for left, top, coverage in zip(lefts.tolist(), tops.tolist(), coverages, strict=True):
                if -side < left < width and -side < top < height:
                    region = canvas[top + side : top + 2 * side, left + side : left + 2 * side]
                    np.maximum(region, coverage, out=region)
    return np.ascontiguousarray(inner)


def _erase(canvas: np.ndarray, xy: np.ndarray, radii: np.ndarray) -> None:
    """Rub out along the polyline, segment by segment (erasers are rare: the plain loop will do)."""
    height, width = canvas.shape
    for index in range(len(xy) - 1):
        a, b = xy[index], xy[index + 1]
        reach = max(radii[index], radii[index + 1]) + 1
        left = max(int(np.floor(min(a[0], b[0]) - reach)), 0)
        right = min(int(np.ceil(max(a[0], b[0]) + reach)) + 1, width)
        top = max(int(np.floor(min(a[1], b[1]) - reach)), 0)
        bottom = min(int(np.ceil(max(a[1], b[1]) + reach)) + 1, height)
        if left >= right or top >= bottom:
            continue
        px = np.arange(left, right, dtype=np.float64)[None, :] + 0.5
        py = np.arange(top, bottom, dtype=np.float64)[:, None] + 0.5
        coverage = _segment_coverage(px, py, a, b, radii[index], radii[index + 1]).astype(np.float32)
        region = canvas[top:bottom, left:right]
        np.multiply(region, 1.0 - coverage, out=region)
