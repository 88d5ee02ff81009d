"""Big drawings (issue 24, item 10): splitting and rendering take near-linear time, the same characters as
trying every pair; a drawing file past the bounds that keep opening it under a second is one line naming the
bound."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
from helpers import run_cli

from digitpad.cli.common import EXIT_ERROR
from digitpad.ink.characters import (
    MERGE_OVERLAP,
    MIN_EXTENT_SHARE,
    RENDER_SIZE,
    SMALL_PART_SHARE,
    STROKE_SHARE,
    TOUCH_SHARE,
    Character,
    _rescaled,
    character_raster,
    render_character,
    split_characters,
)
from digitpad.ink.drawings import (
    MAX_FILE_BYTES,
    MAX_OPEN_INK_HEIGHTS,
    MAX_OPEN_POINTS,
    MAX_OPEN_STROKES,
    DrawingError,
    check_can_open,
    drawing_from_json,
    load_drawing,
)
from digitpad.ink.strokes import Stroke, render

#: Far more than the fast code takes on a busy two-core machine (well under a second), far less than the
#: code that compared all pairs took (from half a minute to over a minute here).
SECONDS = 5.0


def stroke(points, width: float = 36.4, pressure: float = 0.5, erase: bool = False) -> Stroke:
    result = Stroke(erase=erase)
    for x, y in points:
        result.add(float(x), float(y), width, pressure)
    return result


def timed(function, *args):
    start = time.perf_counter()
    result = function(*args)
    return result, time.perf_counter() - start


def test_thousands_of_strokes_side_by_side_split_in_near_linear_time() -> None:
    # Each a character of its own: every stroke was compared with every group (15 to 60 s here before the fix).
    strokes = [stroke([(i * 40.0, 100.0), (i * 40.0 + 3, 140.0)]) for i in range(5000)]
    characters, seconds = timed(split_characters, strokes)
    assert [c.strokes for c in characters] == [(i,) for i in range(5000)]
    assert seconds < SECONDS


def test_small_parts_everywhere_are_joined_without_measuring_every_pair_again() -> None:
    # Two hundred dots in a band: each join measured every pair of groups again (18 to 64 s here before the fix).
    rng = np.random.default_rng(0)
    strokes = [stroke([rng.uniform((0, 0), (1040, 520))], width=3.0) for _ in range(200)]
    characters, seconds = timed(split_characters, strokes)
    assert seconds < SECONDS
    assert sorted(i for c in characters for i in c.strokes) == list(range(200))
    assert 1 < len(characters) < 200  # some dots were joined as small parts, not all


def test_the_split_is_what_trying_every_pair_in_turn_gives() -> None:
    """The near-linear split keeps the order of joins of the all-pairs split it replaced, tie for tie."""
    rng = np.random.default_rng(24)
    for _ in range(300):
        strokes = []
        span, width = rng.choice([150.0, 520.0, 1500.0]), rng.uniform(5, 50)
        for _ in range(rng.integers(1, 16)):
            start = rng.uniform(0, span, 2)
            points = start + np.cumsum(rng.normal(0, rng.uniform(1, 60), (rng.integers(1, 10), 2)), 0)
            strokes.append(stroke(points, width * rng.uniform(0.4, 1.6), erase=bool(rng.random() < 0.1)))
        assert split_characters(strokes) == all_pairs_split(strokes)


def test_a_scribble_over_and_over_a_tiny_box_renders_quickly() -> None:
    # 100,000 points in a 10 px box: a path 50,000 times the box's size, half a million raster pieces (8 s).
    rng = np.random.default_rng(0)
    strokes = [stroke(rng.uniform(250, 260, (100_000, 2)))]
    (character,) = split_characters(strokes)
    image, seconds = timed(render_character, strokes, character)
    assert seconds < 2.0
    assert image.max() > 0.99  # the ink that is drawn fills its box


@pytest.mark.parametrize("times, tail_drawn", [(40, True), (60, False)])
def test_ink_is_rendered_up_to_fifty_times_the_characters_size(times: int, tail_drawn: bool) -> None:
    # A 1 gone over and over (the dev digits' ink is at most 6.3 times their size), then a tail to the right.
    ink = stroke([(200.0, 100.0 + 300.0 * (k % 2)) for k in range(times + 1)] + [(350.0, 100.0 + 300.0 * (times % 2))])
    (character,) = split_characters([ink])
    image = render_character([ink], character)
    assert image.shape[0] > RENDER_SIZE and image[:, :10].max() > 0.99  # the 1
    assert (image[:, -12:].max() > 0.5) == tail_drawn


def test_an_eraser_across_many_small_characters_renders_each_quickly() -> None:
    # Each dot's raster is tiny; the eraser's 20,000 points were walked one by one for every dot (10 s).
    dots = [stroke([(i * 60.0, 260.0)]) for i in range(150)]
    xs = np.linspace(0, 150 * 60, 20_000)
    eraser = stroke(np.column_stack([xs, np.full_like(xs, 260.0)]), width=109.2, erase=True)  # over every dot
    strokes = [*dots, eraser]
    characters = split_characters(strokes)
    assert [c.strokes for c in characters] == [(i,) for i in range(150)] and {c.erasers for c in characters} == {(150,)}
    start = time.perf_counter()
    images = [render_character(strokes, c) for c in characters]
    assert time.perf_counter() - start < 3.0
    assert max(float(image.max()) for image in images) < 0.5  # rubbed out, every one


def test_an_eraser_cut_to_the_raster_rubs_out_what_the_whole_eraser_does() -> None:
    ink = stroke([(100.0, y) for y in range(100, 301, 10)])
    # In and out of the character's raster: the parts far outside are left out, in two runs.
    path = [(-500, 120), (-900, 130), (700, 160), (900, 170), (-500, 200), (-900, 210)]
    eraser = stroke(path, width=20.0, erase=True)
    (character,) = split_characters([ink, eraser])
    raster = character_raster([ink, eraser], character)
    rescaled = [
        _rescaled(s, np.asarray(raster.origin), raster.scale, raster.margin, STROKE_SHARE * RENDER_SIZE)
        for s in (ink, eraser)
    ]
    whole = render(rescaled, *raster.shape)
    np.testing.assert_array_equal(render_character([ink, eraser], character), whole)
    assert whole.sum() < render(rescaled[:1], *raster.shape).sum() - 10  # it does rub out


def document(strokes: list, height: float = 520.0) -> dict:
    return {
        "format": "digitpad-drawing",
        "version": 1,
        "pad": {"width": 520, "height": height},
        "pen_width": 36.4,
        "strokes": strokes,
    }


def side_by_side(count: int, points: int = 2) -> list:
    """``count`` short vertical strokes of ``points`` points each."""
    return [{"points": [[i * 2.0, 100.0 + k * 40.0 / points] for k in range(points)]} for i in range(count)]


OVER = {
    "too many strokes": (document(side_by_side(MAX_OPEN_STROKES + 1)), f"{MAX_OPEN_STROKES + 1} strokes, more than"),
    "too many points": (document(side_by_side(100, MAX_OPEN_POINTS // 100 + 1)), f"{MAX_OPEN_POINTS + 100:,} points"),
    "strokes too long": (
        document([{"points": [[0, 0], [0, 520]] * (MAX_OPEN_INK_HEIGHTS // 2 + 1)}]),
        f"than the {MAX_OPEN_INK_HEIGHTS} pad heights",
    ),
    # Their length would overflow; the coordinate bound refuses them first.
    "points too far to measure": (
        document([{"points": [[-1e308, 0], [1e308, 0]]}]),
        "must lie within 1,000,000 px",
    ),
}


@pytest.mark.parametrize("name", list(OVER))
def test_a_drawing_past_a_bound_is_one_line_naming_it(name: str, tmp_path: Path) -> None:
    content, fragment = OVER[name]
    path = tmp_path / "big.json"
    path.write_text(json.dumps(content))
    with pytest.raises(DrawingError, match=fragment):
        load_drawing(path)  # what File > Open drawing reads, and shows in one line


def test_predict_says_which_bound_each_drawing_passes_one_line_each(tmp_path: Path, capsys) -> None:
    paths = []
    for index, (content, _) in enumerate(OVER.values()):
        paths.append(tmp_path / f"big{index}.json")
        paths[-1].write_text(json.dumps(content))
    code, out, err = run_cli(["predict", *map(str, paths)], capsys)
    assert code == EXIT_ERROR and out == ""
    lines = err.splitlines()
    assert len(lines) == len(OVER)
    for line, path, (_, fragment) in zip(lines, paths, OVER.values(), strict=True):
        assert line.startswith(f"digitpad: {path}: ") and fragment in line


def test_a_drawing_file_past_the_size_bound_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    path.write_text(json.dumps(document(side_by_side(1))) + " " * MAX_FILE_BYTES)
    with pytest.raises(DrawingError, match="big.json: too large for a drawing .* at most 4 MiB"):
        load_drawing(path)


def test_a_drawing_at_every_bound_opens(tmp_path: Path) -> None:
    strokes = side_by_side(MAX_OPEN_STROKES - 1, MAX_OPEN_POINTS // MAX_OPEN_STROKES)
    # The last stroke takes the points left, zigzagging up to the length allowed.
    count = MAX_OPEN_POINTS - sum(len(s["points"]) for s in strokes)
    length = sum(np.hypot(*np.diff(np.asarray(s["points"]), axis=0).T).sum() for s in strokes)
    step = (0.999 * MAX_OPEN_INK_HEIGHTS * 520 - length) / (count - 1)
    strokes.append({"points": [[0.0, step * (k % 2)] for k in range(count)]})
    path = tmp_path / "full.json"
    path.write_text(json.dumps(document(strokes)))
    drawing = load_drawing(path)
    assert len(drawing.strokes) == MAX_OPEN_STROKES
    assert sum(len(s.points) for s in drawing.strokes) == MAX_OPEN_POINTS


def test_the_bounds_are_for_opening_a_document_past_them_still_reads() -> None:
    # Personal samples are drawings too, with bounds of their own (digitpad.ink.samples).
    drawing = drawing_from_json(document(side_by_side(MAX_OPEN_STROKES + 1)))
    assert len(drawing.strokes) == MAX_OPEN_STROKES + 1
    with pytest.raises(DrawingError, match=f"more than the {MAX_OPEN_STROKES}"):
        check_can_open(drawing)


# The split before issue 24: every stroke compared with every group, every pair tried after every join,
# every small part measured against every group after every join. Kept here as the definition it must match.


def all_pairs_split(strokes: list[Stroke]) -> list[Character]:
    def belongs(a, b, min_extent):
        narrower = max(min(a[1] - a[0], b[1] - b[0]), min_extent)
        return min(a[1], b[1]) - max(a[0], b[0]) >= MERGE_OVERLAP * narrower

    def joined(groups, i, j):
        members = sorted(groups[i][0] + groups[j][0])
        span = (min(groups[i][1][0], groups[j][1][0]), max(groups[i][1][1], groups[j][1][1]))
        return [g for k, g in enumerate(groups) if k not in (i, j)] + [(members, span)]

    ink = [index for index, s in enumerate(strokes) if s.points and not s.erase]
    if not ink:
        return []
    bounds = {index: strokes[index].bounds() for index in ink}
    height = max(b[3] for b in bounds.values()) - min(b[1] for b in bounds.values())
    min_extent = MIN_EXTENT_SHARE * max(height, 1e-6)
    groups = []
    for index in ink:
        extent = (bounds[index][0], bounds[index][2])
        near = [group for group in groups if belongs(group[1], extent, min_extent)]
        members = [index] + [member for group in near for member in group[0]]
        span = (min([extent[0]] + [g[1][0] for g in near]), max([extent[1]] + [g[1][1] for g in near]))
        groups = [group for group in groups if group not in near] + [(sorted(members), span)]
    while True:
        pairs = ((i, j) for i in range(len(groups)) for j in range(i + 1, len(groups)))
        pair = next(((i, j) for i, j in pairs if belongs(groups[i][1], groups[j][1], min_extent)), None)
        if pair is None:
            break
        groups = joined(groups, *pair)
    points = {m: np.asarray(strokes[m].points, dtype=np.float64).reshape(-1, 2) for m in bounds}

    def tall(members):
        return max(bounds[m][3] for m in members) - min(bounds[m][1] for m in members)

    while len(groups) > 1:
        joins = []
        for i, (small, _) in enumerate(groups):
            if tall(small) <= SMALL_PART_SHARE * height:
                for j, (other, _) in enumerate(groups):
                    if j != i and tall(other) > tall(small):
                        distance = path_distance([points[m] for m in small], [points[m] for m in other])
                        if distance <= TOUCH_SHARE * height:
                            joins.append((distance, i, j))
        if not joins:
            break
        groups = joined(groups, *min(joins)[1:])
    characters = []
    for members, _ in sorted(groups, key=lambda group: (group[1][0] + group[1][1]) / 2):
        lefts, tops, rights, bottoms = zip(*(bounds[m] for m in members), strict=True)
        box = (min(lefts), min(tops), max(rights), max(bottoms))
        erasers = tuple(
            i
            for i, s in enumerate(strokes)
            if s.erase
            and s.points
            and s.bounds()[0] <= box[2]
            and box[0] <= s.bounds()[2]
            and s.bounds()[1] <= box[3]
            and box[1] <= s.bounds()[3]
        )
        characters.append(Character(tuple(members), erasers, box))
    return characters


def path_distance(a: list[np.ndarray], b: list[np.ndarray]) -> float:
    def points_to_segments(points, paths):
        best = np.inf
        for line in paths:
            starts, ends = (line[:-1], line[1:]) if len(line) > 1 else (line, line)
            along = ends - starts
            length2 = np.maximum((along**2).sum(1), 1e-12)
            t = np.clip(((points[:, None, :] - starts[None]) * along[None]).sum(2) / length2[None], 0.0, 1.0)
            nearest = starts[None] + t[..., None] * along[None]
            best = min(best, float(np.sqrt(((points[:, None, :] - nearest) ** 2).sum(2)).min()))
        return best

    return min(points_to_segments(np.concatenate(a), b), points_to_segments(np.concatenate(b), a))
