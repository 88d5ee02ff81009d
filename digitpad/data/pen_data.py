"""Real pen data: digits and letters written on tablets, read from a file and drawn as the pad's reader draws them.

A file is JSON, optionally gzipped: ``{"samples": [{"label": 7 or "a",
"writer": str, "strokes": [[[x, y], ...], ...]}, ...]}``, each stroke one
pen-down trace in tablet units, y down (the UNIPEN train_r01_v07 exports
the project trains on: CC BY 4.0, doi:10.5281/zenodo.1195803). Digits carry
an int label; letters a one-character string.

Every image is made through the app's own reading path: the sample is
scaled to a random size on a 400-pixel pad, slanted, written with a random
pen width and pressure, its strokes moved apart as :mod:`digitpad.data.redraw`
moves a taught sample's, then rendered as the reader renders a character
and preprocessed as MNIST (:func:`digitpad.ink.samples.model_input`). Each
call draws afresh, so a training run sees a new drawing every epoch.

Which letters are "not a digit": those that look like no digit whoever
reads them (:data:`NO_DIGIT_LETTERS`). Letters written like digits (O o D
Q: 0; I l J: 1; Z z: 2; S s: 5; G b: 6; B: 8; g q: 9; L: a 4's or a 1's
piece, i j: a 1 with a dot) are left out: teaching the gate to decline them
would teach it to decline those digits.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import math
import os
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from digitpad.base.files import FileReadError, read_regular_file
from digitpad.data.redraw import moved_strokes
from digitpad.ink.preprocess import PEN_WIDTH_FRACTION
from digitpad.ink.samples import model_input
from digitpad.ink.strokes import Stroke, pressure_factor

#: The letters an honest reader declines: they look like no digit (see the module's docstring).
NO_DIGIT_LETTERS = frozenset("ACEFHKMNPRTUVWXYacefhkmnprtuvwxy")
#: Bounds on what a file may hold: the largest UNIPEN export (39,202 letters) is 4.6 MB gzipped, 31 MB of JSON.
MAX_FILE_BYTES = 64 * 2**20
MAX_JSON_BYTES = 256 * 2**20
MAX_SAMPLES = 200_000
MAX_POINTS_PER_SAMPLE = 20_000
#: The pad the samples are drawn on (pixels), and the share of its height a sample's height takes.
PAD_HEIGHT = 400.0
HEIGHTS = (0.3, 0.8)
#: Largest slant (x shift per unit of height) and the range of the pen's width, as factors of the pad's pen.
SLANT = 0.2
PEN_FACTORS = (0.6, 1.6)
#: How far each stroke moves on its own (see :func:`digitpad.data.redraw.moved_strokes`).
STROKE_JITTER = 0.25


class PenDataError(Exception):
    """A pen-data file cannot be used; the message is one line naming the file."""


@dataclass(frozen=True)
class PenSample:
    """One written character: its label (0-9 for a digit, a letter as a str), writer, and pen paths (N, 2)."""

    label: int | str
    writer: str
    strokes: tuple[np.ndarray, ...]


@dataclass(frozen=True)
class PenData:
    """The samples of one file, and what a recipe records of it: its name, count and SHA-256 (never its path)."""

    name: str
    sha256: str
    samples: tuple[PenSample, ...]

    def record(self) -> dict:
        return {"name": self.name, "samples": len(self.samples), "sha256": self.sha256}

    @property
    def digits(self) -> tuple[PenSample, ...]:
        return tuple(sample for sample in self.samples if isinstance(sample.label, int))

    @property
    def no_digit_letters(self) -> tuple[PenSample, ...]:
        return tuple(sample for sample in self.samples if sample.label in NO_DIGIT_LETTERS)


def load_pen_data(path: str | os.PathLike) -> PenData:
    """Read a pen-data file (JSON or gzipped JSON); PenDataError with one line for anything unusable."""
    path = Path(path)
    try:
        raw = read_regular_file(path, MAX_FILE_BYTES, "a pen-data file")
    except FileReadError as error:
        raise PenDataError(str(error)) from error
    digest = hashlib.sha256(raw).hexdigest()
    try:
        text = _decompressed(raw)
        # The hook, called for every JSON object (each sample), is Python code: there the interpreter lets other
        # threads in. Without it json.loads holds the GIL throughout, and the app's GUI thread, while a worker
        # reads a large file, froze for its whole parse (2.5 s for a 31 MB export; 0.3 s with the hook).
        document = json.loads(text, object_hook=_let_threads_in)
    except (OSError, EOFError, zlib.error, UnicodeDecodeError, ValueError, RecursionError) as error:
        raise PenDataError(f"{path}: not a pen-data file (not JSON: {str(error)[:100]})") from error
    samples = document.get("samples") if isinstance(document, dict) else None
    if not isinstance(samples, list) or not samples:
        raise PenDataError(f'{path}: not a pen-data file (no list of "samples")')
    if len(samples) > MAX_SAMPLES:
        raise PenDataError(f"{path}: too many samples ({len(samples):,}; at most {MAX_SAMPLES:,})")
    parsed = []
    for index, entry in enumerate(samples):
        try:
            parsed.append(_sample(entry))
        except ValueError as error:
            raise PenDataError(f"{path}: sample {index}: {error}") from error
    return PenData(name=path.name, sha256=digest, samples=tuple(parsed))


def _let_threads_in(entry: dict) -> dict:
    return entry


def _decompressed(raw: bytes) -> str:
    """The file's text: gunzipped if it is gzip (its magic number), at most MAX_JSON_BYTES of it."""
    if raw[:2] == b"\x1f\x8b":
        with gzip.GzipFile(fileobj=io.BytesIO(raw)) as stream:
            data = stream.read(MAX_JSON_BYTES + 1)
        if len(data) > MAX_JSON_BYTES:
            raise ValueError(f"over {MAX_JSON_BYTES // 2**20} MiB once unpacked")
        raw = data
    return raw.decode("utf-8")


def _sample(entry: object) -> PenSample:
    """One sample of the file, checked: ValueError saying what is wrong."""
    if not isinstance(entry, dict):
        raise ValueError("not an object")
    label = entry.get("label")
    if isinstance(label, bool) or not (
        (isinstance(label, int) and 0 <= label <= 9) or (isinstance(label, str) and len(label) == 1)
    ):
        raise ValueError(f"the label must be a digit 0-9 or one character, not {str(label)[:20]!r}")
    writer = entry.get("writer", "")
    if not isinstance(writer, str):
        raise ValueError("the writer must be a string")
    strokes = entry.get("strokes")
    if not isinstance(strokes, list) or not strokes:
        raise ValueError("no list of strokes")
    paths = tuple(_path(stroke) for stroke in strokes)
    paths = tuple(path for path in paths if len(path))
    if not paths:
        raise ValueError("every stroke is empty")
    if sum(len(path) for path in paths) > MAX_POINTS_PER_SAMPLE:
        raise ValueError(f"more than {MAX_POINTS_PER_SAMPLE:,} points")
    return PenSample(label=label, writer=writer, strokes=paths)


def _path(stroke: object) -> np.ndarray:
    if not isinstance(stroke, list):
        raise ValueError("a stroke is not a list of points")
    for point in stroke:
        if not (isinstance(point, list) and len(point) == 2) or not all(_finite_number(v) for v in point):
            raise ValueError("a point is not [x, y] with two finite numbers")
    return np.asarray(stroke, dtype=np.float64).reshape(-1, 2)


def _finite_number(value: object) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return math.isfinite(float(value)) and abs(float(value)) < 1e9
    except OverflowError:  # an int too large for a float
        return False


def pad_strokes(sample: PenSample, rng: np.random.Generator) -> list[Stroke]:
    """``sample`` written on the pad: a random size, slant, pen width and pressure, each stroke moved a little."""
    points = np.concatenate(sample.strokes)
    low, high = points.min(0), points.max(0)
    size = np.maximum(high - low, 1e-6)
    height = rng.uniform(*HEIGHTS) * PAD_HEIGHT
    # A flat character (a dash, an "m" written wide) is scaled by its width, so it is not made huge.
    scale = min(height / size[1], 1.5 * height / size[0])
    slant = rng.uniform(-SLANT, SLANT)
    pen = PEN_WIDTH_FRACTION * PAD_HEIGHT * rng.uniform(*PEN_FACTORS)
    strokes = []
    for path in sample.strokes:
        moved = (path - low) * scale
        moved[:, 0] += slant * (moved[:, 1].max(initial=0.0) - moved[:, 1])
        pressure = float(rng.uniform(0.35, 0.75))
        width = pen * pressure_factor(pressure)
        stroke = Stroke()
        for x, y in moved:
            stroke.add(float(x), float(y), width, pressure)
        strokes.append(stroke)
    return moved_strokes(strokes, rng, STROKE_JITTER)


def render_samples(samples: tuple[PenSample, ...] | list[PenSample], seed: int) -> np.ndarray:
    """(N, 28, 28) uint8: each sample drawn afresh through the reader's path (:func:`pad_strokes`), as MNIST.

    A drawing that comes out blank (it cannot, short of a degenerate file) is an all-black image.
    """
    rng = np.random.default_rng(seed)
    images = np.zeros((len(samples), 28, 28), np.uint8)
    for index, sample in enumerate(samples):
        image = model_input(pad_strokes(sample, rng))
        if image is not None:
            images[index] = image
    return images
