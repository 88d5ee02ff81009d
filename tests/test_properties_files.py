"""Issue 24, property-based: whatever JSON a drawing or sample file holds, it is read or refused in one line.

Hypothesis generates the documents: any JSON value (nested lists and objects,
NaN, infinities, integers of hundreds of digits, odd text) at any field of a
drawing or sample, and well-formed ones whose numbers are arbitrary floats and
integers. :func:`drawing_from_json` and :func:`sample_from_json` must give a
drawing or sample whose every number is finite and within its bounds (and that
the reader can split into characters and render without a numpy warning, which
the test settings make an error), or raise DrawingError / SampleError with a
one-line message; never another exception. A valid drawing or sample saved
and read back is the same document.

Bounded and reproducible as tests/test_properties.py: fixed ``max_examples``,
``derandomize=True``, no example database, no deadline.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from digitpad.ink.characters import render_character, split_characters
from digitpad.ink.drawings import (
    FORMAT_NAME,
    MAX_COORDINATE,
    MAX_SECONDS,
    Drawing,
    DrawingError,
    check_can_open,
    drawing_from_json,
    drawing_to_json,
    load_drawing,
    save_drawing,
)
from digitpad.ink.samples import MAX_CREATED, PersonalSample, SampleError, read_sample, sample_from_json, write_sample
from digitpad.ink.strokes import Stroke

BOUNDED = settings(derandomize=True, database=None, deadline=None, suppress_health_check=[HealthCheck.too_slow])

#: Text without Hypothesis' Unicode tables, with what matters to JSON: quotes, backslashes, NUL, non-ASCII.
TEXT = st.text(alphabet='abxyzt_-. "\\\x00é€😀', max_size=8)
#: Any number a JSON file can hold, as Python's json reads it: NaN, infinities, 1e308, integers of 400 digits.
NUMBERS = st.one_of(
    st.floats(),
    st.integers(),
    st.integers(-(10**400), 10**400),
    st.sampled_from([0, 1, -1, 1e308, -1e308, 5e-324, 10**400, -(10**400), math.nan, math.inf, -math.inf]),
)
#: Any JSON value, nested a few levels.
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | NUMBERS | TEXT,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(TEXT, children, max_size=3),
    max_leaves=8,
)


@st.composite
def well_formed_strokes(draw: st.DrawFn, scale: float, times: tuple[float, float], low_pressure: float) -> dict:
    """A stroke with every field of the right type; its numbers within the document's ranges."""
    count = draw(st.integers(1, 6))
    coordinate = st.floats(-scale, scale) | st.integers(-int(scale), int(scale))
    points = st.lists(st.lists(coordinate, min_size=2, max_size=2), min_size=count, max_size=count)
    entry: dict = {"points": draw(points)}
    if draw(st.booleans()):
        entry["t"] = draw(st.lists(st.floats(*times), min_size=count, max_size=count))
    if draw(st.booleans()):
        entry["pressure"] = draw(st.lists(st.floats(low_pressure, 1), min_size=count, max_size=count))
    if draw(st.booleans()):
        entry["erase"] = draw(st.booleans())
    return entry


@st.composite
def well_formed_drawings(draw: st.DrawFn) -> dict:
    """A drawing document with every field of the right type; its numbers in a pad's ranges, or (one trouble per
    document, so that many documents are valid throughout) coordinates just past the bound or anywhere a float
    goes, times a lifetime late or before the first point, pressures below 0."""
    trouble = draw(st.sampled_from([None, None, None, "far", "huge", "late", "early", "pressure"]))
    scale = {"far": 1.5 * MAX_COORDINATE, "huge": 1e308}.get(trouble, 1e3)
    span = 1e301 if trouble == "late" else draw(st.sampled_from([10.0, 10.0, float(MAX_SECONDS)]))
    times = (-span / 100 if trouble == "early" else 0.0, span)
    size = st.floats(1, scale) if trouble != "huge" else NUMBERS
    strokes = st.lists(well_formed_strokes(scale, times, -0.5 if trouble == "pressure" else 0.0), max_size=4)
    return {
        "format": FORMAT_NAME,
        "version": 1,
        "pad": {"width": draw(size), "height": draw(size)},
        "pen_width": draw(size),
        "strokes": draw(strokes),
    }


def field_paths(document: object, prefix: tuple = ()) -> list[tuple]:
    """Every key's path in ``document``, and the paths of the first and last item of every list."""
    if isinstance(document, dict):
        items = list(document.items())
    elif isinstance(document, list):
        items = [(0, document[0]), (-1, document[-1])] if document else []
    else:
        return []
    return [path for key, value in items for path in [(*prefix, key), *field_paths(value, (*prefix, key))]]


@st.composite
def spoilt(draw: st.DrawFn, document: dict) -> object:
    """``document`` with up to three fields (any of them, nested too) replaced by any JSON value, deleted, or given
    an extra neighbour; sometimes not an object at all."""
    if draw(st.integers(0, 19)) == 0:
        return draw(JSON_VALUES)
    for _ in range(draw(st.sampled_from([0, 0, 0, 1, 2, 3]))):
        paths = field_paths(document)
        if not paths:  # every field deleted already
            break
        *parents, last = draw(st.sampled_from(paths))
        parent = document
        for step in parents:
            parent = parent[step]
        action = draw(st.sampled_from(["replace", "replace", "delete", "extra"]))
        if action == "delete":
            del parent[last]
        elif action == "extra" and isinstance(parent, dict):
            parent[draw(TEXT)] = draw(JSON_VALUES)
        else:
            parent[last] = draw(JSON_VALUES)
    return document


@st.composite
def drawing_documents(draw: st.DrawFn) -> object:
    """A drawing document, well formed or spoilt at a few fields (or not an object at all)."""
    return draw(spoilt(draw(well_formed_drawings())))


@st.composite
def sample_documents(draw: st.DrawFn) -> object:
    """A sample document (a drawing with a label, a time and maybe a stored input), well formed or spoilt."""
    document = draw(well_formed_drawings())
    document["label"] = draw(st.integers(0, 9))
    document["created"] = draw(st.floats(0, 2e9) | st.floats(-1e9, 2 * MAX_CREATED) | NUMBERS)
    if draw(st.booleans()):
        # Drawing 784 values one by one would cost Hypothesis most of the test's time: a seed makes them.
        pixels = np.random.default_rng(draw(st.integers(0, 2**32 - 1))).integers(0, 256, 784).tolist()
        document["input"] = {"size": 28, "pixels": pixels}
    return draw(spoilt(document))


def check_drawing(drawing: Drawing) -> None:
    """Every number finite and within its bounds, and the reader's split and rendering work on it."""
    assert isinstance(drawing, Drawing)
    assert all(0 < side <= MAX_COORDINATE for side in drawing.pad_size) and 0 < drawing.pen_width <= MAX_COORDINATE
    for stroke in drawing.strokes:
        assert stroke.points and len(stroke.pressures) == len(stroke.widths) == len(stroke.points)
        assert all(math.isfinite(v) and abs(v) <= MAX_COORDINATE for point in stroke.points for v in point)
        assert all(0 <= p <= 1 for p in stroke.pressures) and all(math.isfinite(w) for w in stroke.widths)
        assert not stroke.times or (len(stroke.times) == len(stroke.points) and min(stroke.times) >= 0)
        assert all(t <= MAX_SECONDS for t in stroke.times)
    for character in split_characters(drawing.strokes):
        assert np.isfinite(render_character(drawing.strokes, character)).all()
    for pad in ((520.0, 520.0), (1.0, 1.0)):  # File > Open drawing fits it to the pad
        fitted = drawing.scaled_to(pad, 36.4)
        assert all(math.isfinite(v) for stroke in fitted.strokes for point in stroke.points for v in point)


def one_line(error: Exception) -> None:
    message = str(error)
    event("refused")  # --hypothesis-show-statistics: how many examples are read, how many refused
    assert message and "\n" not in message and len(message) < 400, message


@settings(BOUNDED, max_examples=300)
@given(document=drawing_documents())
def test_a_drawing_document_is_read_or_refused_in_one_line(document: object) -> None:
    try:
        drawing = drawing_from_json(document)
    except DrawingError as error:
        one_line(error)
        return
    event("read")
    check_drawing(drawing)


@settings(BOUNDED, max_examples=300)
@given(document=sample_documents())
def test_a_sample_document_is_read_or_refused_in_one_line(document: object) -> None:
    try:
        sample = sample_from_json(document)
    except SampleError as error:
        one_line(error)
        return
    event("read")
    check_drawing(sample.drawing)
    assert 0 <= sample.label <= 9 and 0 <= sample.created <= MAX_CREATED
    assert sample.image.shape == (28, 28) and sample.image.dtype == np.uint8


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One folder for every example (function-scoped fixtures do not reset between Hypothesis examples)."""
    return tmp_path_factory.mktemp("files")


@settings(BOUNDED, max_examples=150)
@given(document=drawing_documents())
def test_a_drawing_file_is_read_or_refused_in_one_line_naming_it(workdir: Path, document: object) -> None:
    path = workdir / "drawing.json"
    try:
        text = json.dumps(document)
    except ValueError:  # an integer of over 4,300 digits: write it out by hand, as a hostile program would
        text = json.dumps(document, default=str).replace('"', "")  # not JSON then; still must be one line
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        drawing = load_drawing(path)
    except DrawingError as error:
        one_line(error)
        assert str(error).startswith(f"{path}: ")
        return
    event("read")
    check_drawing(drawing)


@st.composite
def drawings(draw: st.DrawFn) -> Drawing:
    """A valid drawing as the pad records one: finite coordinates, pressures in [0, 1], times rising."""
    coordinate = st.floats(-5000, 5000, allow_subnormal=False)
    strokes = []
    clock = draw(st.floats(0, 1e6))
    for _ in range(draw(st.integers(0, 4))):
        stroke = Stroke(erase=draw(st.booleans()))
        timed = draw(st.booleans())
        for _ in range(draw(st.integers(1, 8))):
            clock += draw(st.floats(0, 5))
            stroke.add(draw(coordinate), draw(coordinate), 1.0, draw(st.floats(0, 1)), clock if timed else None)
        strokes.append(stroke)
    pad = (draw(st.floats(1, 4000)), draw(st.floats(1, 4000)))
    return Drawing(strokes, pad, draw(st.floats(0.5, 100)))


@settings(BOUNDED, max_examples=100)
@given(drawing=drawings())
def test_a_valid_drawing_saved_and_opened_is_the_same_drawing(workdir: Path, drawing: Drawing) -> None:
    document = drawing_to_json(drawing)
    saved = save_drawing(workdir / "round-trip", drawing)
    assert saved.suffix == ".json"
    try:
        # As written (rounded), which is what Open measures.
        check_can_open(drawing_from_json(json.loads(saved.read_text(encoding="utf-8"))))
    except DrawingError as error:
        # Past what File > Open takes (strokes, points, ink): refused in one line, naming the file.
        with pytest.raises(DrawingError, match=re.escape(f"{saved}: {error}")):
            load_drawing(saved)
        return
    opened = load_drawing(saved)
    assert drawing_to_json(opened) == document
    assert len(opened.strokes) == len(drawing.strokes)
    for before, after in zip(drawing.strokes, opened.strokes, strict=True):
        assert after.erase == before.erase and len(after.points) == len(before.points)
        assert np.allclose(after.points, before.points, atol=0.006)
    assert opened.duration() == pytest.approx(drawing.duration(), abs=1e-3)


@settings(BOUNDED, max_examples=60)
@given(drawing=drawings(), label=st.integers(0, 9), created=st.floats(0, MAX_CREATED))
def test_a_valid_sample_written_and_read_is_the_same_sample(
    workdir: Path, drawing: Drawing, label: int, created: float
) -> None:
    image = np.arange(784, dtype=np.uint8).reshape(28, 28)
    sample = PersonalSample(drawing, label, image, created)
    folder = workdir / "samples"
    folder.mkdir(exist_ok=True)
    written = write_sample(folder, sample)
    assert written.path is not None
    try:
        read = read_sample(written.path)
    finally:
        written.path.unlink()
    assert read.to_json() == sample.to_json() and read.key() == sample.key()
