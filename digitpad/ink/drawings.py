"""Drawings as files: strokes with their timing and pressure, in JSON.

One format for everything that keeps a drawing: File > Save drawing and
Open drawing, the personal samples (:mod:`digitpad.ink.samples`, which add a
label and the model's 28x28 input) and ``digitpad predict FILE.json``::

    {"format": "digitpad-drawing", "version": 1,
     "pad": {"width": 520, "height": 520}, "pen_width": 36.4,
     "strokes": [{"points": [[x, y], ...], "t": [0.0, 0.016, ...],
                  "pressure": [0.5, ...], "erase": false}, ...]}

Coordinates are the pad's logical pixels; ``t`` is in seconds from the
drawing's first point; ``pressure`` is in [0, 1] (0.5 for a mouse). The
widths the pad paints are not stored: they are ``pen_width`` times the
pressure's factor, so a file opened on another pad size is re-scaled exactly.

Reading is strict but never fatal: :func:`drawing_from_json` raises
:class:`DrawingError` with one line saying what is wrong. :func:`load_drawing`
(File > Open drawing, ``digitpad predict``) also refuses, in one line, a
drawing past the bounds that keep opening it well under a second
(:func:`check_can_open`). Writes are atomic.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from digitpad.base.atomic import atomic_write_bytes
from digitpad.base.files import FileReadError, read_regular_file
from digitpad.ink.strokes import ERASER_WIDTH_FACTOR, MOUSE_PRESSURE, Stroke, pressure_factor

FORMAT_NAME = "digitpad-drawing"
FORMAT_VERSION = 1
#: File name suffix of saved drawings and samples.
SUFFIX = ".json"
#: A drawing file larger than this is not one: MAX_OPEN_POINTS points with their times and pressures take
#: about 300 kB, or 1 MB written out one number a line. Parsing takes time in proportion to the file.
MAX_FILE_BYTES = 4 * 2**20
#: Points read from one document at most (samples too): more is a runaway file.
MAX_POINTS = 200_000
#: The largest coordinate, pad side and pen width, in px (a pad is a few thousand px): more overflows the
#: arithmetic of splitting and fitting a drawing (1e308 squared is infinite).
MAX_COORDINATE = 1e6
#: What File > Open drawing and ``digitpad predict`` open, so that opening any drawing takes well under a
#: second: the pad paints every piece between two points with the pen's round caps, and the reader reads
#: every character on its own. Points at most: a digit has fifty to a few hundred, so this is dozens of digits.
MAX_OPEN_POINTS = 5_000
#: Strokes at most: a digit has one to three, and each stroke written apart is a character to read.
MAX_OPEN_STROKES = 100
#: The strokes' length at most, in heights of the pad they were drawn on: a digit's path is about twice as long
#: as the pad is high, and painting takes time in proportion to it.
MAX_OPEN_INK_HEIGHTS = 50
#: The longest a drawing may take, in seconds from its first point (a day: no one draws a digit for longer).
MAX_SECONDS = 86_400


class DrawingError(Exception):
    """A drawing file cannot be used; the message says why, naming the file."""


@dataclass
class Drawing:
    """Strokes as drawn on a pad of ``pad_size`` (width, height) logical px with a pen ``pen_width`` px wide."""

    strokes: list[Stroke] = field(default_factory=list)
    pad_size: tuple[float, float] = (520.0, 520.0)
    pen_width: float = 36.4

    def duration(self) -> float:
        """Seconds from the first point to the last (0 without timing)."""
        times = [t for stroke in self.strokes for t in stroke.times]
        return max(times) - min(times) if times else 0.0

    def scaled_to(self, pad_size: tuple[float, float], pen_width: float) -> Drawing:
        """The drawing on another pad: coordinates scaled to fit, widths from ``pen_width``, centred."""
        factor = min(pad_size[0] / max(self.pad_size[0], 1e-6), pad_size[1] / max(self.pad_size[1], 1e-6))
        shift = ((pad_size[0] - self.pad_size[0] * factor) / 2, (pad_size[1] - self.pad_size[1] * factor) / 2)
        strokes = []
        for stroke in self.strokes:
            moved = Stroke(erase=stroke.erase, pressures=list(stroke.pressures), times=list(stroke.times))
            moved.points = [(x * factor + shift[0], y * factor + shift[1]) for x, y in stroke.points]
            moved.widths = stroke_widths(moved.pressures, pen_width, stroke.erase)
            strokes.append(moved)
        return Drawing(strokes, (float(pad_size[0]), float(pad_size[1])), float(pen_width))


def stroke_widths(pressures: list[float], pen_width: float, erase: bool) -> list[float]:
    """What the pad paints for these pressures with a pen ``pen_width`` px wide."""
    factors = pressure_factor(np.asarray(pressures, dtype=np.float64)) * (ERASER_WIDTH_FACTOR if erase else 1.0)
    return [float(w) for w in pen_width * factors]


def drawing_to_json(drawing: Drawing) -> dict:
    """The JSON document of ``drawing`` (times made relative to its first point)."""
    times = [t for stroke in drawing.strokes for t in stroke.times]
    origin = min(times) if times else 0.0
    strokes = []
    for stroke in drawing.strokes:
        entry: dict = {
            "points": [[round(x, 2), round(y, 2)] for x, y in stroke.points],
            "pressure": [round(p, 4) for p in stroke.point_pressures()],
            "erase": bool(stroke.erase),
        }
        if len(stroke.times) == len(stroke.points):
            entry["t"] = [round(t - origin, 4) for t in stroke.times]
        strokes.append(entry)
    return {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "pad": {"width": round(drawing.pad_size[0], 2), "height": round(drawing.pad_size[1], 2)},
        "pen_width": round(drawing.pen_width, 3),
        "strokes": strokes,
    }


def short_repr(value: object, limit: int = 40) -> str:
    """``value`` as a message names it, cut to ``limit`` characters (a 4,000-digit integer would fill a screen)."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 3]}..."


def _number(value: object, what: str) -> float:
    try:
        number = float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else math.nan
    except OverflowError:  # an integer of hundreds of digits: no float holds it
        raise DrawingError(f"{what} must be a finite number, not an integer of {len(str(value))} digits") from None
    if not math.isfinite(number):
        raise DrawingError(f"{what} must be a finite number, not {value!r}"[:200])
    return number


def _number_list(values: object, what: str, count: int | None = None) -> list[float]:
    if not isinstance(values, list) or (count is not None and len(values) != count):
        expected = f"{count} numbers" if count is not None else "a list of numbers"
        raise DrawingError(f"{what} must be {expected}")
    plain = _plain_floats(values)
    return plain if plain is not None else [_number(value, what) for value in values]


def _plain_floats(values: list) -> list[float] | None:
    """``values`` as floats if all are finite floats or integers a float holds exactly (a drawing's thousands
    of numbers, checked at once rather than one by one); None for anything else, which :func:`_number` names."""
    if not all(type(v) is float or (type(v) is int and -(2**53) <= v <= 2**53) for v in values):
        return None
    array = np.array(values, dtype=np.float64)
    return array.tolist() if np.isfinite(array).all() else None


def _points(listed: list, what: str) -> list[tuple[float, float]]:
    """A stroke's points, each two finite numbers."""
    if all(type(point) is list and len(point) == 2 for point in listed):
        plain = _plain_floats([value for point in listed for value in point])
        if plain is not None:
            return list(zip(plain[0::2], plain[1::2], strict=True))
    return [tuple(_number_list(point, what, 2)) for point in listed]


def _stroke_from_json(entry: object, index: int, pen_width: float) -> Stroke:
    what = f"stroke {index + 1}"
    if not isinstance(entry, dict) or not isinstance(entry.get("points"), list) or not entry["points"]:
        raise DrawingError(f"{what} has no points")
    points = _points(entry["points"], f"{what}'s points")
    if any(abs(value) > MAX_COORDINATE for point in points for value in point):
        raise DrawingError(f"{what}'s points must lie within {MAX_COORDINATE:,.0f} px of the pad's corner")
    count = len(points)
    pressures = _number_list(entry.get("pressure", [MOUSE_PRESSURE] * count), f"{what}'s pressure", count)
    if any(not 0.0 <= p <= 1.0 for p in pressures):
        raise DrawingError(f"{what}'s pressure must lie between 0 and 1")
    times = _number_list(entry["t"], f"{what}'s times", count) if "t" in entry else []
    if any(not 0.0 <= t <= MAX_SECONDS for t in times):
        # Times count from the drawing's first point: one far off would make its replay last for ever.
        raise DrawingError(f"{what}'s times must lie between 0 and {MAX_SECONDS:,} s")
    erase = entry.get("erase", False)
    if not isinstance(erase, bool):
        raise DrawingError(f"{what}'s 'erase' must be true or false")
    stroke = Stroke(points=points, erase=erase, pressures=pressures, times=times)
    stroke.widths = stroke_widths(pressures, pen_width, erase)
    return stroke


def drawing_from_json(document: object) -> Drawing:
    """The drawing a JSON document describes; DrawingError (one line) for anything else."""
    if not isinstance(document, dict) or document.get("format") != FORMAT_NAME:
        raise DrawingError(f'not a digitpad drawing (no "format": "{FORMAT_NAME}")')
    version = document.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version > FORMAT_VERSION or version < 1:
        raise DrawingError(f"drawing format version {short_repr(version)} is not supported (this digitpad reads 1)")
    pad = document.get("pad")
    if not isinstance(pad, dict):
        raise DrawingError("the drawing has no pad size")
    pad_size = (_number(pad.get("width"), "the pad's width"), _number(pad.get("height"), "the pad's height"))
    pen_width = _number(document.get("pen_width"), "the pen width")
    if not all(0 < size <= MAX_COORDINATE for size in (*pad_size, pen_width)):
        raise DrawingError(f"the pad's size and the pen width must be positive, at most {MAX_COORDINATE:,.0f} px")
    strokes_json = document.get("strokes")
    if not isinstance(strokes_json, list):
        raise DrawingError("the drawing has no list of strokes")
    if _listed_points(strokes_json) > MAX_POINTS:
        raise DrawingError(f"the drawing has more than {MAX_POINTS:,} points")
    strokes = [_stroke_from_json(entry, index, pen_width) for index, entry in enumerate(strokes_json)]
    return Drawing(strokes, pad_size, pen_width)


def _listed_points(strokes: list) -> int:
    """How many points a document's strokes list, before any is built (malformed strokes count none)."""
    return sum(len(s["points"]) for s in strokes if isinstance(s, dict) and isinstance(s.get("points"), list))


def check_can_open(drawing: Drawing) -> None:
    """DrawingError (one line) if File > Open drawing and ``digitpad predict`` refuse ``drawing``: more than
    MAX_OPEN_STROKES strokes or MAX_OPEN_POINTS points, or strokes longer than MAX_OPEN_INK_HEIGHTS pad heights."""
    _check_counts(len(drawing.strokes), sum(len(stroke.points) for stroke in drawing.strokes))
    with np.errstate(over="ignore", invalid="ignore"):  # coordinates near the float limit: an infinite length
        length = sum(
            float(np.hypot(*np.diff(np.asarray(s.points), axis=0).T).sum()) for s in drawing.strokes if s.points
        )
        heights = length / drawing.pad_size[1]
    if not heights <= MAX_OPEN_INK_HEIGHTS:
        long = f"{heights:,.0f} times as long as its pad is high" if math.isfinite(heights) else "too long to measure"
        raise DrawingError(
            f"the drawing's strokes are {long}, more than the {MAX_OPEN_INK_HEIGHTS} pad heights a drawing may have"
        )


def _check_counts(strokes: int, points: int) -> None:
    if strokes > MAX_OPEN_STROKES:
        raise DrawingError(f"the drawing has {strokes:,} strokes, more than the {MAX_OPEN_STROKES} a drawing may have")
    if points > MAX_OPEN_POINTS:
        raise DrawingError(f"the drawing has {points:,} points, more than the {MAX_OPEN_POINTS:,} a drawing may have")


def read_json_file(path: Path, what: str = "a drawing") -> object:
    """A JSON file's content, read with a size bound; DrawingError naming the file for anything unreadable.

    ``what`` names the file in the messages ("is a folder, not a drawing").
    """
    path = Path(path)
    try:
        raw = read_regular_file(path, MAX_FILE_BYTES, what)
    except FileReadError as error:
        raise DrawingError(str(error)) from error
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as error:  # ValueError: not UTF-8, not JSON, or an int of 4,300+ digits
        raise DrawingError(f"{path}: not JSON ({str(error)[:120]})") from error


def load_drawing(path: str | os.PathLike) -> Drawing:
    """Read a drawing file to open it (see :func:`check_can_open`); DrawingError naming the file when it cannot
    be used."""
    path = Path(path)
    document = read_json_file(path)
    try:
        strokes = document.get("strokes") if isinstance(document, dict) else None
        if isinstance(strokes, list):  # counted before any stroke is built
            _check_counts(len(strokes), _listed_points(strokes))
        drawing = drawing_from_json(document)
        check_can_open(drawing)
    except DrawingError as error:
        raise DrawingError(f"{path}: {error}") from error
    return drawing


def write_json_atomically(path: Path, document: dict) -> Path:
    """Write ``document`` to ``path``: readers see the old file or the new one, never a part (OSError on failure)."""
    path = Path(path)
    atomic_write_bytes(path, json.dumps(document, separators=(",", ":")).encode())
    return path


def save_drawing(path: str | os.PathLike, drawing: Drawing) -> Path:
    """Write ``drawing`` to ``path`` atomically (``.json`` added if it has no suffix)."""
    path = Path(path)
    if not path.suffix:
        path = path.with_suffix(SUFFIX)
    return write_json_atomically(path, drawing_to_json(drawing))
