"""Reading a drawing as people write: characters of any size, side by side, and an honest "?".

A drawing is a list of strokes (:mod:`digitpad.ink.strokes`). Reading it:

1. :func:`split_characters` groups the strokes into characters by their
   horizontal extent, in writing order: a stroke that overlaps a character
   belongs to it (a 4 in two strokes, a 5 with a separate bar, a crossed 7
   or 0 stay one digit), and so does a small part written apart close to a
   taller character (a 1's foot or flag, a 5's bar that runs on to the
   right); strokes side by side with a gap are digits of a number. Each
   stroke and group is compared only with those near it, so thousands of
   strokes split in near-linear time.
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

import bisect
import heapq
import math
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
#: Ink rendered for the model at most, as a multiple of the character's longer side (RENDER_SIZE px): the
#: UNIPEN digits' ink is at most 6.3 times their size. Rendering takes time in proportion to the ink, and a
#: scribble that goes over its box again and again (a hostile drawing file) fills the raster long before.
MAX_INK_SHARE = 50
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


class _Extents:
    """Horizontal extents (left, right) by key, found by what they reach without looking at them all.

    Splitting compares every stroke and group with those near it only: a
    drawing of thousands of strokes side by side splits in near-linear time,
    where comparing all pairs took minutes.
    """

    def __init__(self) -> None:
        self._extents: dict[int, tuple[float, float]] = {}
        #: (left, key), sorted.
        self._lefts: list[tuple[float, int]] = []
        #: No extent is wider than this (it never shrinks: a bound is all the search needs).
        self._widest = 0.0

    def add(self, key: int, extent: tuple[float, float]) -> None:
        self._extents[key] = extent
        bisect.insort(self._lefts, (extent[0], key))
        self._widest = max(self._widest, extent[1] - extent[0])

    def remove(self, key: int) -> None:
        left, _ = self._extents.pop(key)
        del self._lefts[bisect.bisect_left(self._lefts, (left, key))]

    def reaching(self, low: float, high: float) -> list[int]:
        """The keys whose extent meets [low, high] (touching counts), in no particular order."""
        # right >= low means left >= low - width: twice the widest leaves room for rounding.
        start = bisect.bisect_left(self._lefts, (low - 2 * self._widest, -1))
        end = bisect.bisect_right(self._lefts, (high, math.inf))
        return [key for _, key in self._lefts[start:end] if self._extents[key][1] >= low]


class _Groups:
    """Groups of strokes in the order the split keeps them (a group made by a join comes last), with their extents.

    The order decides which of several possible joins comes first (the
    lowest pair, as the split of all pairs took it), so it is kept exactly:
    keys count up, and a dict keeps them in that order.
    """

    def __init__(self) -> None:
        self.members: dict[int, list[int]] = {}
        self.spans: dict[int, tuple[float, float]] = {}
        self.extents = _Extents()
        self._next = 0

    def add(self, members: list[int], span: tuple[float, float]) -> int:
        key, self._next = self._next, self._next + 1
        self.members[key], self.spans[key] = members, span
        self.extents.add(key, span)
        return key

    def join(self, keys: list[int], also: tuple[int, ...] = (), span: tuple[float, float] | None = None) -> int:
        """One group of the groups ``keys`` (and strokes ``also`` within ``span``), made last; its key."""
        # The largest group's list grows by the others: sorting or copying it at every join is quadratic
        # when thousands of strokes join one group. Members are sorted once the groups are final.
        lists = sorted((self.members[key] for key in keys), key=len)
        members = lists.pop() if lists else []
        members.extend(also)
        for other in lists:
            members.extend(other)
        spans = [self.spans[key] for key in keys] + ([span] if span is not None else [])
        joined = (min(s[0] for s in spans), max(s[1] for s in spans))
        for key in keys:
            del self.members[key], self.spans[key]
            self.extents.remove(key)
        return self.add(members, joined)

    def belonging(self, key: int, min_extent: float) -> list[int]:
        """The other groups whose extents overlap ``key``'s enough to be one character with it."""
        span = self.spans[key]
        near = self.extents.reaching(*span)
        return [k for k in near if k != key and _belongs(self.spans[k], span, min_extent)]


def split_characters(strokes: list[Stroke]) -> list[Character]:
    """Group ``strokes`` into characters, left to right (see the module docstring)."""
    ink = [index for index, stroke in enumerate(strokes) if stroke.points and not stroke.erase]
    if not ink:
        return []
    bounds = {index: strokes[index].bounds() for index in ink}
    height = max(b[3] for b in bounds.values()) - min(b[1] for b in bounds.values())
    min_extent = MIN_EXTENT_SHARE * max(height, 1e-6)
    groups = _Groups()
    for index in ink:  # writing order
        extent = (bounds[index][0], bounds[index][2])
        near = groups.extents.reaching(*extent)
        joined = sorted(k for k in near if _belongs(groups.spans[k], extent, min_extent))
        groups.join(joined, (index,), extent)
    _merge_until_stable(groups, min_extent)
    _attach_small_parts(groups, strokes, bounds, height)
    erasers = _Erasers(strokes)
    characters = []
    for key in sorted(groups.members, key=lambda k: (groups.spans[k][0] + groups.spans[k][1]) / 2):
        members = sorted(groups.members[key])
        lefts, tops, rights, bottoms = zip(*(bounds[m] for m in members), strict=True)
        box = (min(lefts), min(tops), max(rights), max(bottoms))
        characters.append(Character(tuple(members), erasers.touching(box), box))
    return characters


def _merge_until_stable(groups: _Groups, min_extent: float) -> None:
    """Merge groups whose extents grew into each other after later strokes joined them.

    Always the first such pair in the groups' order, as when all pairs were
    tried in turn: only pairs with a group made by a join can be new.
    """
    pairs = [(k, j) for k in groups.members for j in groups.belonging(k, min_extent) if k < j]
    heapq.heapify(pairs)
    while pairs:
        first, second = heapq.heappop(pairs)
        if first in groups.members and second in groups.members:
            key = groups.join([first, second])
            for other in groups.belonging(key, min_extent):
                heapq.heappush(pairs, (other, key))


def _attach_small_parts(groups: _Groups, strokes: list[Stroke], bounds: dict[int, Bounds], height: float) -> None:
    """Join each small group to the taller group whose path it touches (see SMALL_PART_SHARE).

    Always the closest such pair first (the first in the groups' order on a
    tie), as when every pair was measured again after every join. Paths are
    measured once, pair by pair, and only where their boxes come within
    reach: a joined group is as near to another as the nearer of its two
    parts.
    """
    reach = TOUCH_SHARE * height
    small = SMALL_PART_SHARE * height
    # Top and bottom, pen included: a group's height decides which part is small and which taller.
    ends = {
        key: (min(bounds[m][1] for m in members), max(bounds[m][3] for m in members))
        for key, members in groups.members.items()
    }

    def attachable(part: int, to: int) -> bool:
        tall = ends[part][1] - ends[part][0]
        return tall <= small and ends[to][1] - ends[to][0] > tall

    near = _near_paths(groups, strokes, reach)
    joins = [(d, a, b) for a, others in near.items() for b, d in others.items() if attachable(a, b)]
    heapq.heapify(joins)
    while joins:
        _, part, to = heapq.heappop(joins)
        if part not in ends or to not in ends:
            continue  # joined already
        key = groups.join([part, to])
        ends[key] = (min(ends[part][0], ends[to][0]), max(ends[part][1], ends[to][1]))
        joined: dict[int, float] = {}
        for old in (part, to):
            del ends[old]
            for other, distance in near.pop(old).items():
                if other not in (part, to):
                    joined[other] = min(distance, joined.get(other, math.inf))
                    del near[other][old]
        near[key] = joined
        for other, distance in joined.items():
            near[other][key] = distance
            for pair in ((key, other), (other, key)):
                if attachable(*pair):
                    heapq.heappush(joins, (distance, *pair))


def _near_paths(groups: _Groups, strokes: list[Stroke], reach: float) -> dict[int, dict[int, float]]:
    """For every group, the groups whose paths come within ``reach`` of its own, and how near."""
    paths = {
        key: [np.asarray(strokes[m].points, dtype=np.float64).reshape(-1, 2) for m in members]
        for key, members in groups.members.items()
    }
    boxes = {}
    extents = _Extents()
    for key, lines in paths.items():
        low, high = np.min([p.min(0) for p in lines], 0), np.max([p.max(0) for p in lines], 0)
        boxes[key] = (float(low[0]), float(low[1]), float(high[0]), float(high[1]))
        extents.add(key, (boxes[key][0], boxes[key][2]))
    near: dict[int, dict[int, float]] = {key: {} for key in paths}
    for key, box in boxes.items():
        for other in extents.reaching(box[0] - 2 * reach, box[2] + 2 * reach):
            other_box = boxes[other]
            # Paths are at least as far apart as their boxes (with some slack for rounding).
            gap = max(box[0] - other_box[2], other_box[0] - box[2], box[1] - other_box[3], other_box[1] - box[3])
            if other < key and gap <= reach + 1e-9 * (reach + max(map(abs, box + other_box))):
                distance = _path_distance(paths[key], paths[other])
                if distance <= reach:
                    near[key][other] = near[other][key] = distance
    return near


#: Point-to-segment distances computed at once at most: bounds the temporary arrays of two long paths.
DISTANCES_PER_BLOCK = 2**16


def _path_distance(a: list[np.ndarray], b: list[np.ndarray]) -> float:
    """The least distance between two sets of pen paths (each (N, 2) points, joined by straight segments)."""
    return min(_points_to_segments(np.concatenate(a), b), _points_to_segments(np.concatenate(b), a))


def _points_to_segments(points: np.ndarray, paths: list[np.ndarray]) -> float:
    """The least distance from ``points`` to the segments of ``paths`` (a single point is a segment of length 0)."""
    starts = np.concatenate([line[:-1] if len(line) > 1 else line for line in paths])
    ends = np.concatenate([line[1:] if len(line) > 1 else line for line in paths])
    along = ends - starts
    length2 = np.maximum((along**2).sum(1), 1e-12)
    best = np.inf
    step = max(1, DISTANCES_PER_BLOCK // len(starts))
    for first in range(0, len(points), step):
        block = points[first : first + step]
        # (points, segments): where each point's foot falls on each segment, clamped to it.
        t = np.clip(((block[:, None, :] - starts[None]) * along[None]).sum(2) / length2[None], 0.0, 1.0)
        nearest = starts[None] + t[..., None] * along[None]
        best = min(best, float(np.sqrt(((block[:, None, :] - nearest) ** 2).sum(2)).min()))
    return best


def _boxes_touch(a: Bounds, b: Bounds) -> bool:
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]


class _Erasers:
    """The drawing's eraser strokes, found by the boxes they touch."""

    def __init__(self, strokes: list[Stroke]) -> None:
        self._bounds = {i: s.bounds() for i, s in enumerate(strokes) if s.erase and s.points}
        self._extents = _Extents()
        for index, box in self._bounds.items():
            self._extents.add(index, (box[0], box[2]))

    def touching(self, box: Bounds) -> tuple[int, ...]:
        """The erasers that touch ``box``, in drawing order."""
        near = self._extents.reaching(box[0], box[2])
        return tuple(sorted(i for i in near if _boxes_touch(self._bounds[i], box)))


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
    eraser's widening): the pad's pen width plays no part. Ink past
    ``MAX_INK_SHARE`` times ``size`` is left out (no digit has that much).
    """
    raster = character_raster(strokes, character, size)
    low = np.asarray(raster.origin)
    width = STROKE_SHARE * size
    budget = MAX_INK_SHARE * size
    drawn: list[Stroke] = []
    # Erasers after the ink they rub out, as drawn: keep the drawing's own order.
    for index in sorted(character.strokes + character.erasers):
        stroke = _rescaled(strokes[index], low, raster.scale, raster.margin, width)
        if stroke.erase:
            drawn += _on_raster(stroke, raster.shape)
        elif budget > 0:
            stroke, budget = _within(stroke, budget)
            drawn.append(stroke)
    return render(drawn, *raster.shape)


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


def _within(stroke: Stroke, budget: float) -> tuple[Stroke, float]:
    """``stroke`` cut where its path passes ``budget`` px, and what is left of the budget."""
    xy = np.asarray(stroke.points)
    travelled = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(xy, axis=0).T))])
    if travelled[-1] <= budget:
        return stroke, budget - float(travelled[-1])
    kept = int(np.count_nonzero(travelled <= budget))
    return Stroke(points=xy[:kept], widths=np.asarray(stroke.widths)[:kept], erase=stroke.erase), 0.0


def _on_raster(eraser: Stroke, shape: tuple[int, int]) -> list[Stroke]:
    """The runs of an eraser's segments that reach the raster: an eraser can sweep far past a small character,
    and rendering skips, one by one, the segments that miss it."""
    xy, radii = np.asarray(eraser.points), np.asarray(eraser.widths) / 2
    if len(xy) < 2:
        return [eraser]
    # Wider than rendering's own reach: only segments it would skip are left out.
    reach = np.maximum(radii[:-1], radii[1:])[:, None] + 4
    low, high = np.minimum(xy[:-1], xy[1:]) - reach, np.maximum(xy[:-1], xy[1:]) + reach
    hits = (high[:, 0] >= 0) & (low[:, 0] <= shape[1]) & (high[:, 1] >= 0) & (low[:, 1] <= shape[0])
    # Each run of segments that hit: from its first segment's start to its last segment's end.
    edges = np.diff(np.concatenate([[0], hits.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return [
        Stroke(points=xy[first : last + 1], widths=eraser.widths[first : last + 1], erase=True)
        for first, last in zip(starts.tolist(), ends.tolist(), strict=True)
    ]
