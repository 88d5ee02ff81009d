"""Reading a drawing as people write: characters of any size, side by side, and an honest "?".

A drawing is a list of strokes (:mod:`digitpad.ink.strokes`). Reading it:

1. :func:`split_characters` groups the strokes into characters by their
   horizontal extent, in writing order: a stroke that overlaps a character
   belongs to it (a 4 in two strokes, a 5 with a separate bar, a crossed 7
   or 0 stay one digit), and so does a small part written apart close to a
   taller character (a 1's foot or flag, a 5's bar that runs on to the
   right); strokes side by side with a gap are digits of a number.
2. :func:`render_character` rasterises each character on its own, with a
   stroke width that is a fixed share of the character's own size
   (:data:`STROKE_SHARE`), whatever size it was drawn at and whatever pen
   the pad used. Pressure still varies the width around it, and eraser
   strokes scale with it. The result goes through MNIST's preprocessing as
   before (:func:`digitpad.ink.preprocess.preprocess`).
3. :class:`Reader` predicts each character, re-reading only those that
   changed, and marks a character it cannot name confidently as "?".

Qt-free, like the rest of the core: the pad, the benches and the tests all
read drawings through this module.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from digitpad.ink.preprocess import PEN_WIDTH_FRACTION
from digitpad.ink.strokes import Stroke, render

#: How tall a digit is drawn, as a share of the pad's height, when the pad's
#: default pen (PEN_WIDTH_FRACTION of the pad's height) gives MNIST's stroke.
TYPICAL_DIGIT_HEIGHT = 0.6
#: The model's pen: stroke width as a share of the character's longer side.
#: MNIST scaled each digit's longer side to 20 px, where its strokes are about
#: 2.5 px wide (preprocess.MNIST_STROKE_WIDTH), anti-aliasing included. A
#: digit drawn at 60% of the pad's height with the default pen of 7% got
#: exactly that (see preprocess.PEN_WIDTH_FRACTION): 0.07 / 0.6 = 0.117 of the
#: digit's size. Fixing this share, rather than the pen, gives every digit
#: MNIST's stroke: a digit at 15% of the pad's height no longer fills in.
STROKE_SHARE = PEN_WIDTH_FRACTION / TYPICAL_DIGIT_HEIGHT
#: The character's longer side, in pixels, when it is rasterised for the model;
#: preprocessing then area-averages it down to MNIST's 20 px box (anti-aliasing).
#: Twice the box is enough for smooth grey edges; larger only costs time on the
#: live path (56 px read the dev digits the same, within one digit in 1,508).
RENDER_SIZE = 40
#: Two strokes (or a stroke and a character) are one character when their
#: horizontal extents overlap by at least this share of the narrower one.
MERGE_OVERLAP = 0.25
#: The narrowest extent that counts in that rule, as a share of the drawing's
#: height: a thin vertical stroke (a 1, the stem of a 4) inside another
#: character's extent still belongs to it.
MIN_EXTENT_SHARE = 0.15
#: A group of strokes at most this share of the drawing's height tall (a 1's foot,
#: a 5's bar, a flag written apart) whose path comes within TOUCH_SHARE of the
#: drawing's height of a taller character's path belongs to it, however little
#: their horizontal extents overlap: a foot that sticks out to the left of its
#: stem, a bar that runs on to the right. Whole digits side by side are taller.
SMALL_PART_SHARE = 0.4
#: Hands do not quite close their joins: this near is touching.
TOUCH_SHARE = 0.12

Bounds = tuple[float, float, float, float]
#: Strokes grouped as one character while splitting: their indices, and their horizontal extent (left, right).
Group = tuple[list[int], tuple[float, float]]


@dataclass(frozen=True)
class Character:
    """Strokes that make one character: indices into the drawing's stroke list, in writing order."""

    strokes: tuple[int, ...]
    #: Eraser strokes that touch this character (they rub out parts of it).
    erasers: tuple[int, ...]
    #: (left, top, right, bottom) of its ink strokes, pen radius included, in drawing coordinates.
    bounds: Bounds


def _overlap(a: tuple[float, float], b: tuple[float, float]) -> float:
    return min(a[1], b[1]) - max(a[0], b[0])


def _belongs(a: tuple[float, float], b: tuple[float, float], min_extent: float) -> bool:
    """Whether horizontal extents ``a`` and ``b`` overlap enough to be one character."""
    narrower = max(min(a[1] - a[0], b[1] - b[0]), min_extent)
    return _overlap(a, b) >= MERGE_OVERLAP * narrower


def split_characters(strokes: list[Stroke]) -> list[Character]:
    """Group ``strokes`` into characters, left to right (see the module docstring)."""
    ink = [index for index, stroke in enumerate(strokes) if stroke.points and not stroke.erase]
    if not ink:
        return []
    bounds = {index: strokes[index].bounds() for index in ink}
    height = max(b[3] for b in bounds.values()) - min(b[1] for b in bounds.values())
    min_extent = MIN_EXTENT_SHARE * max(height, 1e-6)
    groups: list[Group] = []
    for index in ink:  # writing order
        extent = (bounds[index][0], bounds[index][2])
        joined = [group for group in groups if _belongs(group[1], extent, min_extent)]
        members = [index] + [member for group in joined for member in group[0]]
        span = (min([extent[0]] + [g[1][0] for g in joined]), max([extent[1]] + [g[1][1] for g in joined]))
        groups = [group for group in groups if group not in joined] + [(sorted(members), span)]
    groups = _merge_until_stable(groups, min_extent)
    groups = _attach_small_parts(groups, strokes, bounds, height)
    characters = []
    for members, _ in sorted(groups, key=lambda group: (group[1][0] + group[1][1]) / 2):
        lefts, tops, rights, bottoms = zip(*(bounds[m] for m in members), strict=True)
        box = (min(lefts), min(tops), max(rights), max(bottoms))
        erasers = tuple(
            index
            for index, stroke in enumerate(strokes)
            if stroke.erase and stroke.points and _boxes_touch(stroke.bounds(), box)
        )
        characters.append(Character(tuple(members), erasers, box))
    return characters


def _joined(groups: list[Group], i: int, j: int) -> list[Group]:
    """``groups`` with groups ``i`` and ``j`` made one (the last)."""
    members = sorted(groups[i][0] + groups[j][0])
    span = (min(groups[i][1][0], groups[j][1][0]), max(groups[i][1][1], groups[j][1][1]))
    return [g for k, g in enumerate(groups) if k not in (i, j)] + [(members, span)]


def _merge_until_stable(groups: list[Group], min_extent: float) -> list[Group]:
    """Merge groups whose extents grew into each other after later strokes joined them."""
    while True:
        pairs = ((i, j) for i in range(len(groups)) for j in range(i + 1, len(groups)))
        pair = next(((i, j) for i, j in pairs if _belongs(groups[i][1], groups[j][1], min_extent)), None)
        if pair is None:
            return groups
        groups = _joined(groups, *pair)


def _attach_small_parts(
    groups: list[Group], strokes: list[Stroke], bounds: dict[int, Bounds], height: float
) -> list[Group]:
    """Join each small group to the taller group whose path it touches (see SMALL_PART_SHARE)."""

    def tall(members: list[int]) -> float:
        return max(bounds[m][3] for m in members) - min(bounds[m][1] for m in members)

    # Converted once: this runs on every pen event.
    points = {m: np.asarray(strokes[m].points, dtype=np.float64).reshape(-1, 2) for m in bounds}

    def path(members: list[int]) -> list[np.ndarray]:
        return [points[m] for m in members]

    while len(groups) > 1:
        joins = []
        for i, (small, _) in enumerate(groups):
            if tall(small) > SMALL_PART_SHARE * height:
                continue
            for j, (other, _) in enumerate(groups):
                if j != i and tall(other) > tall(small):
                    distance = _path_distance(path(small), path(other))
                    if distance <= TOUCH_SHARE * height:
                        joins.append((distance, i, j))
        if not joins:
            break
        _, i, j = min(joins)
        groups = _joined(groups, i, j)
    return groups


def _path_distance(a: list[np.ndarray], b: list[np.ndarray]) -> float:
    """The least distance between two sets of pen paths (each (N, 2) points, joined by straight segments)."""

    def points_to_segments(points: np.ndarray, paths: list[np.ndarray]) -> float:
        best = np.inf
        for line in paths:
            starts, ends = (line[:-1], line[1:]) if len(line) > 1 else (line, line)
            along = ends - starts
            length2 = np.maximum((along**2).sum(1), 1e-12)
            # (points, segments): where each point's foot falls on each segment, clamped to it.
            t = np.clip(((points[:, None, :] - starts[None]) * along[None]).sum(2) / length2[None], 0.0, 1.0)
            nearest = starts[None] + t[..., None] * along[None]
            best = min(best, float(np.sqrt(((points[:, None, :] - nearest) ** 2).sum(2)).min()))
        return best

    return min(points_to_segments(np.concatenate(a), b), points_to_segments(np.concatenate(b), a))


def _boxes_touch(a: Bounds, b: Bounds) -> bool:
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]


@dataclass(frozen=True)
class CharacterRaster:
    """Where a character's strokes land in its raster: raster = (drawing - ``origin``) * ``scale`` + ``margin``."""

    #: (x, y) of the strokes' path's top-left corner, in drawing coordinates.
    origin: tuple[float, float]
    #: Raster pixels per drawing unit.
    scale: float
    #: Raster pixels left around the path (room for the pen).
    margin: float
    #: (height, width) of the raster.
    shape: tuple[int, int]


def character_raster(strokes: list[Stroke], character: Character, size: int = RENDER_SIZE) -> CharacterRaster:
    """The transform :func:`render_character` uses (also what maps the model's input back onto the pad)."""
    members = [strokes[i] for i in character.strokes]
    points = np.concatenate([np.asarray(s.points, dtype=np.float64).reshape(-1, 2) for s in members])
    low, high = points.min(0), points.max(0)
    extent = float(max(high - low))
    # A dot or a tiny mark: sized as if it were a short dash, not blown up to a blob.
    extent = max(extent, 1e-3)
    scale = size / extent
    margin = STROKE_SHARE * size * 2 + 2
    shape = (
        int(np.ceil((high[1] - low[1]) * scale + 2 * margin)),
        int(np.ceil((high[0] - low[0]) * scale + 2 * margin)),
    )
    return CharacterRaster((float(low[0]), float(low[1])), scale, margin, shape)


def render_character(strokes: list[Stroke], character: Character, size: int = RENDER_SIZE) -> np.ndarray:
    """The character's ink, rasterised with the model's pen (float32, bright ink on black).

    The longer side of its strokes' path becomes ``size`` px; every stroke is
    drawn ``STROKE_SHARE`` of that wide, times its pressure's factor (and the
    eraser's widening): the pad's pen width plays no part.
    """
    raster = character_raster(strokes, character, size)
    low = np.asarray(raster.origin)
    width = STROKE_SHARE * size
    members = character.strokes + character.erasers
    rescaled = [_rescaled(strokes[i], low, raster.scale, raster.margin, width) for i in members]
    # Erasers after the ink they rub out, as drawn: keep the drawing's own order.
    order = sorted(range(len(rescaled)), key=lambda k: members[k])
    return render([rescaled[k] for k in order], *raster.shape)


def _rescaled(stroke: Stroke, origin: np.ndarray, scale: float, margin: float, width: float) -> Stroke:
    """``stroke`` moved into the character's raster, with the model's pen and its own pressure."""
    xy = (np.asarray(stroke.points, dtype=np.float64).reshape(-1, 2) - origin) * scale + margin
    widths = width * stroke.pressure_factors()
    # Points closer than a pixel add nothing at this size but cost time: keep
    # one point per pixel of path, and always both ends.
    travelled = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(xy, axis=0).T))])
    keep = np.concatenate([[True], np.floor(travelled[1:]) > np.floor(travelled[:-1])])
    keep[-1] = True
    # Arrays, not lists of tuples: render() takes either, and this is on the live path.
    return Stroke(points=xy[keep], widths=widths[keep], erase=stroke.erase)
