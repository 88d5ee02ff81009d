"""Personal samples: digits a person drew and labelled, to fine-tune the model on their hand.

A sample is one digit: its strokes with timing and pressure (the drawing
format of :mod:`digitpad.ink.drawings`), the 28x28 input the model reads from
them, its label and when it was taught. Each sample is its own JSON file in
``<user home>/samples/`` (:func:`samples_dir`), written atomically, so a
crash loses at most the sample being written and never damages another.

:class:`SampleStore` lists, adds, deletes, relabels, exports and imports
them; loading never fails because of one broken file.
"""

from __future__ import annotations

import math
import os
import secrets
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from digitpad.base.constants import MNIST_SIZE, NUM_CLASSES
from digitpad.base.paths import user_home
from digitpad.ink.characters import Character, render_character
from digitpad.ink.drawings import (
    SUFFIX,
    Drawing,
    DrawingError,
    drawing_from_json,
    drawing_to_json,
    read_json_file,
    write_json_atomically,
)
from digitpad.ink.preprocess import mnist_image
from digitpad.ink.strokes import Stroke

#: The folder under the per-user home that holds the samples.
SAMPLES_FOLDER = "samples"
#: Sample files are named ``sample-<time>-<random>.json``.
NAME_PREFIX = "sample-"
#: The latest 'created' time a sample may have (2**32 s after 1970: the year 2106).
MAX_CREATED = 2.0**32


class SampleError(Exception):
    """A sample cannot be made, read or written; the message says why in one line."""


def samples_dir() -> Path:
    """Where personal samples live by default (not created here)."""
    return user_home() / SAMPLES_FOLDER


def model_input(strokes: list) -> np.ndarray | None:
    """The 28x28 uint8 image (bright ink on black) the model reads for ``strokes`` as one character; None if blank.

    The same rendering as the pad's live reading (:mod:`digitpad.ink.characters`):
    the character's own size sets the stroke width, then MNIST's preprocessing.
    """
    ink = tuple(i for i, stroke in enumerate(strokes) if stroke.points and not stroke.erase)
    if not ink:
        return None
    erasers = tuple(i for i, stroke in enumerate(strokes) if stroke.points and stroke.erase)
    bounds = strokes[ink[0]].bounds()
    return mnist_image(render_character(strokes, Character(ink, erasers, bounds)))


@dataclass
class PersonalSample:
    """One taught digit: its drawing, the model's input for it, its label and when it was taught."""

    drawing: Drawing
    label: int
    #: 28x28 uint8, bright ink on black, as MNIST's images.
    image: np.ndarray
    #: Unix time it was taught.
    created: float = field(default_factory=time.time)
    #: The file it is kept in (None: not saved yet).
    path: Path | None = None

    def to_json(self) -> dict:
        document = drawing_to_json(self.drawing)
        document.update(
            label=int(self.label),
            created=round(self.created, 3),
            input={"size": MNIST_SIZE, "pixels": self.image.astype(np.uint8).ravel().tolist()},
        )
        return document


def make_sample(drawing: Drawing, label: int) -> PersonalSample:
    """A sample of ``drawing`` (one digit) labelled ``label``; SampleError if it is blank or the label no digit."""
    check_label(label)
    image = model_input(drawing.strokes)
    if image is None:
        raise SampleError("nothing drawn: draw a digit first")
    return PersonalSample(drawing, int(label), image)


def check_label(label: object) -> int:
    if isinstance(label, bool) or not isinstance(label, (int, np.integer)) or not 0 <= int(label) < NUM_CLASSES:
        raise SampleError(f"a sample's label must be a digit 0-9, not {label!r}")
    return int(label)


def sample_from_json(document: object, path: Path | None = None) -> PersonalSample:
    """The sample a JSON document holds; SampleError (one line) if it is not a sample."""
    try:
        drawing = drawing_from_json(document)
    except DrawingError as error:
        raise SampleError(str(error)) from error
    assert isinstance(document, dict)
    label = check_label(document.get("label"))
    created = _created(document.get("created", 0.0))
    image = _stored_image(document.get("input"))
    if image is None:  # no usable stored input: the strokes say it all
        image = model_input(drawing.strokes)
        if image is None:
            raise SampleError("the sample's strokes draw nothing")
    return PersonalSample(drawing, label, image, float(created), path)


def _created(value: object) -> float:
    """When a sample was taught, as read from its file: seconds since 1970, checked to be a time a clock gives
    (a NaN, 1e308 or an integer of hundreds of digits would break the dialog's dates and the file names)."""
    try:
        created = float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else math.nan
    except OverflowError:
        created = math.nan
    if not 0.0 <= created <= MAX_CREATED:
        raise SampleError(
            f"'created' must be a time (seconds since 1970, at most {MAX_CREATED:,}), not {value!r}"[:200]
        )
    return created


def folder_problem(folder: Path) -> str | None:
    """Why ``folder`` cannot hold samples, if it is there but is no folder (a file, a FIFO...); None otherwise."""
    if folder.exists() and not folder.is_dir():
        return f"{folder} is a file, not a folder of samples"
    return None


def _stored_image(stored: object) -> np.ndarray | None:
    """The 28x28 input kept in the file, or None if it is missing or malformed."""
    if not isinstance(stored, dict) or stored.get("size") != MNIST_SIZE:
        return None
    pixels = stored.get("pixels")
    if not isinstance(pixels, list) or len(pixels) != MNIST_SIZE * MNIST_SIZE:
        return None
    if not all(isinstance(p, int) and not isinstance(p, bool) and 0 <= p <= 255 for p in pixels):
        return None
    return np.asarray(pixels, dtype=np.uint8).reshape(MNIST_SIZE, MNIST_SIZE)


def read_sample(path: Path) -> PersonalSample:
    """Read one sample file; SampleError naming the file if it cannot be used."""
    try:
        return sample_from_json(read_json_file(path, "a sample"), path)
    except DrawingError as error:
        raise SampleError(str(error)) from error
    except SampleError as error:
        raise SampleError(f"{path}: {error}") from error


def _new_name(created: float) -> str:
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(created))
    return f"{NAME_PREFIX}{stamp}-{secrets.token_hex(4)}{SUFFIX}"


class SampleStore:
    """The personal samples in a folder (default: :func:`samples_dir`).

    :meth:`load` reads them all, skipping broken files (named in
    :attr:`warnings`); every change writes or removes one file at once.
    """

    def __init__(self, folder: str | os.PathLike | None = None) -> None:
        self.folder = Path(folder) if folder is not None else samples_dir()
        self.samples: list[PersonalSample] = []
        #: One line per file that could not be read at the last load or import.
        self.warnings: list[str] = []

    def load(self) -> list[PersonalSample]:
        """Read every sample file of the folder, oldest first; broken ones are skipped with a warning."""
        self.samples, self.warnings = read_folder(self.folder)
        return self.samples

    def counts(self) -> list[int]:
        """How many samples there are of each digit."""
        counts = [0] * NUM_CLASSES
        for sample in self.samples:
            counts[sample.label] += 1
        return counts

    def add(self, sample: PersonalSample, name: str | None = None) -> PersonalSample:
        """Write ``sample`` as a new file (atomically; ``name`` or a fresh one) and keep it; SampleError if
        the write fails."""
        path = self.folder / (name or _new_name(sample.created))
        problem = folder_problem(self.folder)
        if problem:
            raise SampleError(f"cannot save the sample: {problem}")
        try:
            write_json_atomically(path, sample.to_json())
        except OSError as error:
            raise SampleError(f"cannot save the sample in {self.folder}: {error.strerror or error}") from error
        sample.path = path
        self.samples.append(sample)
        return sample

    def delete(self, sample: PersonalSample) -> None:
        """Remove ``sample`` and its file (a file already gone is fine)."""
        if sample.path is not None:
            try:
                sample.path.unlink(missing_ok=True)
            except OSError as error:
                raise SampleError(f"cannot delete {sample.path}: {error.strerror or error}") from error
        self.samples = [s for s in self.samples if s is not sample]

    def relabel(self, sample: PersonalSample, label: int) -> None:
        """Give ``sample`` another label, rewriting its file atomically."""
        label = check_label(label)
        old = sample.label
        sample.label = label
        if sample.path is not None:
            try:
                write_json_atomically(sample.path, sample.to_json())
            except OSError as error:
                sample.label = old
                raise SampleError(f"cannot relabel {sample.path}: {error.strerror or error}") from error

    def export_to(self, folder: str | os.PathLike) -> int:
        """Copy every sample file into ``folder`` (created if needed); how many were copied."""
        folder = Path(folder)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            for sample in self.samples:
                if sample.path is not None:
                    shutil.copyfile(sample.path, folder / sample.path.name)
        except OSError as error:
            raise SampleError(f"cannot export to {folder}: {error.strerror or error}") from error
        return sum(sample.path is not None for sample in self.samples)

    def import_from(self, folder: str | os.PathLike) -> int:
        """Add the samples of ``folder`` (each as a new file here); broken files are skipped into
        :attr:`warnings`. Files already here (same name) are not added twice. How many were added."""
        folder = Path(folder)
        if not folder.is_dir():
            raise SampleError(folder_problem(folder) or f"{folder}: no such folder")
        found, self.warnings = read_folder(folder)
        present = {sample.path.name for sample in self.samples if sample.path is not None}
        added = 0
        for sample in found:
            if sample.path is not None and sample.path.name in present:
                continue
            name = sample.path.name if sample.path is not None and sample.path.name.startswith(NAME_PREFIX) else None
            self.add(PersonalSample(sample.drawing, sample.label, sample.image, sample.created), name)
            added += 1
        return added


def read_folder(folder: Path) -> tuple[list[PersonalSample], list[str]]:
    """(samples, warnings) for every ``*.json`` file in ``folder``, oldest first; a broken file is a warning."""
    if not folder.is_dir():
        problem = folder_problem(folder)
        return [], [problem] if problem else []
    samples, warnings = [], []
    for path in sorted(folder.glob(f"*{SUFFIX}")):
        if path.name.startswith("."):
            continue  # a temporary file of a write in progress (or killed)
        try:
            samples.append(read_sample(path))
        except SampleError as error:
            warnings.append(f"Skipped a broken sample: {error}")
    samples.sort(key=lambda sample: sample.created)
    return samples, warnings


def sample_strokes(samples: list) -> list[list[Stroke]]:
    """Each :class:`digitpad.ink.samples.PersonalSample`'s strokes (for :func:`finetune`'s re-drawn variants)."""
    return [list(sample.drawing.strokes) for sample in samples]


def sample_arrays(samples: list) -> tuple[np.ndarray, np.ndarray]:
    """(images (N, 28, 28) uint8, labels (N,)) of :class:`digitpad.ink.samples.PersonalSample` objects."""
    if not samples:
        return np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.int64)
    return np.stack([s.image for s in samples]).astype(np.uint8), np.array([s.label for s in samples], np.int64)
