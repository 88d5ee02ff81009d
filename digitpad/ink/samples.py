"""Personal samples: digits a person drew and labelled, to fine-tune the model on their hand.

A sample is one digit: its strokes with timing and pressure (the drawing
format of :mod:`digitpad.ink.drawings`), the 28x28 input the model reads from
them, its label and when it was taught. Each sample is its own JSON file in
``<user home>/samples/`` (:func:`samples_dir`), written atomically, so a
crash loses at most the sample being written and never damages another.

:class:`SampleStore` lists, adds, deletes, relabels, exports and imports
them; loading never fails because of one broken file.

Bounds (what a careless or hostile folder gets): a sample file holds at most
:data:`MAX_SAMPLE_POINTS` points in :data:`MAX_SAMPLE_BYTES` (more is far beyond
a digit; it is skipped with one line, like a broken file), and a folder is
loaded up to :data:`MAX_TOTAL_POINTS` points or :data:`MAX_TOTAL_BYTES` in all,
newest first: the rest is left on disk and named in one line. A point costs
about 200 bytes of memory once read, so the total bound keeps the samples
under about 250 MB, however many files the folder has.

Loading and importing report progress and stop when asked, between files
(``progress(done, total)`` and ``should_stop()``, as the training routine
does), so that the window can run them in a worker thread.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import secrets
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from digitpad.base.constants import MNIST_SIZE, NUM_CLASSES
from digitpad.base.files import FileReadError, read_regular_file
from digitpad.base.paths import user_home
from digitpad.ink.characters import Character, render_character
from digitpad.ink.drawings import (
    SUFFIX,
    Drawing,
    DrawingError,
    drawing_from_json,
    drawing_to_json,
    short_repr,
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
#: The most points one sample may have: 20 s of drawing at a 1 kHz tablet's rate; a digit has a few hundred.
MAX_SAMPLE_POINTS = 20_000
#: The largest sample file read (a sample of MAX_SAMPLE_POINTS points takes about 600 KB).
MAX_SAMPLE_BYTES = 2**20
#: The most points of all samples together: about 200 MB once read, and 10,000 digits of a few hundred points.
MAX_TOTAL_POINTS = 1_000_000
#: The most bytes of sample files read in all.
MAX_TOTAL_BYTES = 64 * 2**20

#: ``progress(done, total)``: files gone through so far, of how many.
Progress = Callable[[int, int], None]
#: ``should_stop()``: True to stop before the next file.
ShouldStop = Callable[[], bool]


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
    #: The size of that file in bytes (0: not known).
    file_bytes: int = 0
    _strokes_digest: str | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def points(self) -> int:
        return sum(len(stroke.points) for stroke in self.drawing.strokes)

    def key(self) -> tuple[int, str]:
        """What makes two samples the same, whatever their files are called: the label and a hash of the strokes.

        The strokes are hashed as the file writes them (rounded, times from
        the first point), so a sample read back hashes as the one taught; the
        hash is computed once (the strokes of a sample never change).
        """
        if self._strokes_digest is None:
            strokes = json.dumps(drawing_to_json(self.drawing)["strokes"], separators=(",", ":"))
            self._strokes_digest = hashlib.sha256(strokes.encode()).hexdigest()
        return self.label, self._strokes_digest

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
    if sum(len(stroke.points) for stroke in drawing.strokes) > MAX_SAMPLE_POINTS:
        raise SampleError(f"the drawing has more than {MAX_SAMPLE_POINTS:,} points, too many for one digit")
    image = model_input(drawing.strokes)
    if image is None:
        raise SampleError("nothing drawn: draw a digit first")
    return PersonalSample(drawing, int(label), image)


def check_label(label: object) -> int:
    if isinstance(label, bool) or not isinstance(label, (int, np.integer)) or not 0 <= int(label) < NUM_CLASSES:
        raise SampleError(f"a sample's label must be a digit 0-9, not {short_repr(label)}")
    return int(label)


def sample_from_json(document: object, path: Path | None = None) -> PersonalSample:
    """The sample a JSON document holds; SampleError (one line) if it is not a sample."""
    if _listed_points(document) > MAX_SAMPLE_POINTS:  # counted before any stroke is built
        raise SampleError(f"more than {MAX_SAMPLE_POINTS:,} points, too many for one digit")
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


def _listed_points(document: object) -> int:
    """How many points a document's strokes list (0 for anything malformed: drawing_from_json says why)."""
    strokes = document.get("strokes") if isinstance(document, dict) else None
    if not isinstance(strokes, list):
        return 0
    return sum(len(s["points"]) for s in strokes if isinstance(s, dict) and isinstance(s.get("points"), list))


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
    """Read one sample file (at most MAX_SAMPLE_BYTES and MAX_SAMPLE_POINTS); SampleError naming the file if it
    cannot be used."""
    try:
        raw = read_regular_file(path, MAX_SAMPLE_BYTES, "a sample")
    except FileReadError as error:
        raise SampleError(str(error)) from error
    try:
        document = json.loads(raw)
    except (ValueError, RecursionError) as error:  # ValueError: not UTF-8, not JSON, or an int of 4,300+ digits
        raise SampleError(f"{path}: not JSON ({str(error)[:120]})") from error
    try:
        sample = sample_from_json(document, path)
    except SampleError as error:
        raise SampleError(f"{path}: {error}") from error
    sample.file_bytes = len(raw)
    return sample


def _new_name(created: float) -> str:
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(created))
    return f"{NAME_PREFIX}{stamp}-{secrets.token_hex(4)}{SUFFIX}"


def _mib(size: int) -> str:
    return f"{size / 2**20:g} MiB"


@dataclass
class Budget:
    """Points and bytes of the samples taken so far, against MAX_TOTAL_POINTS and MAX_TOTAL_BYTES."""

    points: int = 0
    bytes: int = 0

    @classmethod
    def of(cls, samples: list[PersonalSample]) -> Budget:
        return cls(sum(sample.points for sample in samples), sum(sample.file_bytes for sample in samples))

    def take(self, sample: PersonalSample) -> bool:
        """Count ``sample`` in if it fits (True), else leave the totals as they are (False)."""
        points, size = self.points + sample.points, self.bytes + sample.file_bytes
        if points > MAX_TOTAL_POINTS or size > MAX_TOTAL_BYTES:
            return False
        self.points, self.bytes = points, size
        return True


def bound_line() -> str:
    return f"all samples together may hold at most {MAX_TOTAL_POINTS:,} points ({_mib(MAX_TOTAL_BYTES)} of files)"


@dataclass
class FolderRead:
    """What :func:`read_folder` found."""

    #: The samples read, oldest first.
    samples: list[PersonalSample] = field(default_factory=list)
    #: One line per file skipped.
    warnings: list[str] = field(default_factory=list)
    #: Files not read because the total bound was reached (left on disk).
    not_read: int = 0
    #: One line on those files ("" if none).
    not_read_line: str = ""
    #: Stopped when asked, before the end.
    stopped: bool = False


@dataclass
class ImportResult:
    """What :func:`import_samples` did; :meth:`message` says it in one line."""

    folder: Path
    #: The samples added (each written as a new file of the samples folder).
    added: list[PersonalSample] = field(default_factory=list)
    #: Samples already there (same label and strokes, or the same file name), not added again.
    duplicates: int = 0
    #: One line per file skipped (broken or too large).
    warnings: list[str] = field(default_factory=list)
    #: Sample files found, and how many were gone through.
    files: int = 0
    done: int = 0
    #: Cancelled: the files not gone through are not imported; those added are kept.
    stopped: bool = False
    #: The total bound was reached: the files from there on are not imported.
    full: bool = False
    #: Why the import stopped early otherwise (a sample could not be written), or "".
    error: str = ""

    def message(self) -> str:
        if self.stopped:
            head = (
                f"Import cancelled after {self.done:,} of {self.files:,} files: the {len(self.added):,} samples "
                "added so far are kept (import again for the rest: samples already here are skipped)."
            )
        else:
            head = f"Imported {len(self.added):,} samples from {self.folder}."
        notes = []
        if self.duplicates:
            notes.append(f"{self.duplicates:,} already here, not added twice")
        if self.warnings:
            notes.append(f"{len(self.warnings):,} file(s) skipped")
        if self.full:
            notes.append(f"{self.files - self.done:,} file(s) not imported: {bound_line()}")
        if self.error:
            notes.append(f"stopped: {self.error}")
        text = "; ".join(notes)
        return head + (f" {text[:1].upper()}{text[1:]}." if text else "")


def _sample_files(folder: Path) -> list[Path]:
    """The ``*.json`` files of ``folder`` by name, without the hidden temporary files of writes in progress."""
    return sorted(path for path in folder.glob(f"*{SUFFIX}") if not path.name.startswith("."))


def read_folder(folder: Path, progress: Progress | None = None, should_stop: ShouldStop | None = None) -> FolderRead:
    """The samples of every ``*.json`` file in ``folder``, oldest first; a broken file is a warning.

    Files are read newest first (their names start with the time they were
    taught) up to the total bound: the older ones past it are left on disk,
    named in one warning. ``progress(done, total)`` is called after each
    file; ``should_stop()`` before each (True: stop there).
    """
    if not folder.is_dir():
        problem = folder_problem(folder)
        return FolderRead(warnings=[problem] if problem else [])
    read, budget = FolderRead(), Budget()
    files = _sample_files(folder)[::-1]
    for done, path in enumerate(files):
        if should_stop is not None and should_stop():
            read.stopped = True
            break
        try:
            sample = read_sample(path)
        except SampleError as error:
            read.warnings.append(f"Skipped a broken sample: {error}")
        else:
            if not budget.take(sample):
                read.not_read = len(files) - done
                read.not_read_line = (
                    f"{read.not_read:,} older sample file(s) of {folder} not loaded: {bound_line()}. "
                    "Nothing was deleted; move some files out of the folder to load the others."
                )
                break
            read.samples.append(sample)
        if progress is not None:
            progress(done + 1, len(files))
    read.samples.sort(key=lambda sample: sample.created)
    return read


def write_sample(folder: Path, sample: PersonalSample, name: str | None = None) -> PersonalSample:
    """Write ``sample`` as a new file of ``folder`` (atomically; ``name``, if no file has it yet, or a fresh one);
    SampleError if it cannot be written. The sample now knows its file."""
    problem = folder_problem(folder)
    if problem:
        raise SampleError(f"cannot save the sample: {problem}")
    path = folder / name if name and not (folder / name).exists() else folder / _new_name(sample.created)
    try:
        write_json_atomically(path, sample.to_json())
        sample.file_bytes = path.stat().st_size
    except OSError as error:
        raise SampleError(f"cannot save the sample in {folder}: {error.strerror or error}") from error
    sample.path = path
    return sample


def import_samples(
    source: str | os.PathLike,
    folder: Path,
    present: list[PersonalSample],
    progress: Progress | None = None,
    should_stop: ShouldStop | None = None,
) -> ImportResult:
    """Add the samples of the folder ``source`` to the samples folder ``folder``, which has ``present``.

    A sample already there (same label and strokes, :meth:`PersonalSample.key`,
    or a file of the same name: the same sample, relabelled here since) is not
    added again; broken files are skipped with a line each; the import stops
    at the total bound. Files go oldest first, each written at once, so that
    a stop (``should_stop()``, asked before each file) keeps those added so
    far. SampleError only if nothing can be imported at all (no such folder).
    """
    source = Path(source)
    if not source.is_dir():
        raise SampleError(folder_problem(source) or f"{source}: no such folder")
    problem = folder_problem(folder)
    if problem:
        raise SampleError(f"cannot import: {problem}")
    files = _sample_files(source)
    result, budget = ImportResult(source, files=len(files)), Budget.of(present)
    keys = {sample.key() for sample in present}
    for path in files:
        if should_stop is not None and should_stop():
            result.stopped = True
            break
        if not _import_one(path, folder, keys, budget, result):
            break
        result.done += 1
        if progress is not None:
            progress(result.done, result.files)
    return result


def _import_one(path: Path, folder: Path, keys: set, budget: Budget, result: ImportResult) -> bool:
    """Import one file into ``result``; False if the import cannot go on (the bound is reached, a write failed)."""
    try:
        found = read_sample(path)
    except SampleError as error:
        result.warnings.append(f"Skipped a broken sample: {error}")
        return True
    name = path.name if path.name.startswith(NAME_PREFIX) else None
    if found.key() in keys or (name is not None and (folder / name).exists()):
        result.duplicates += 1
        return True
    if not budget.take(found):
        result.full = True
        return False
    sample = PersonalSample(found.drawing, found.label, found.image, found.created)
    sample._strokes_digest = found.key()[1]
    try:
        result.added.append(write_sample(folder, sample, name))
    except SampleError as error:
        result.error = str(error)
        return False
    keys.add(sample.key())
    return True


class SampleStore:
    """The personal samples in a folder (default: :func:`samples_dir`).

    :meth:`load` reads them all, skipping broken files (named in
    :attr:`warnings`); every change writes or removes one file at once.
    """

    def __init__(self, folder: str | os.PathLike | None = None) -> None:
        self.folder = Path(folder) if folder is not None else samples_dir()
        self.samples: list[PersonalSample] = []
        #: One line per file that could not be read at the last load or import, then the line on the files
        #: left past the total bound at the last load (:attr:`not_read_line`), if any.
        self.warnings: list[str] = []
        self.not_read_line = ""

    def load(self, progress: Progress | None = None, should_stop: ShouldStop | None = None) -> list[PersonalSample]:
        """Read the sample files of the folder (:func:`read_folder`), oldest first; broken ones are skipped with a
        warning."""
        self.samples = []
        self.use(read_folder(self.folder, progress, should_stop))
        return self.samples

    def use(self, read: FolderRead) -> None:
        """Take the samples of ``read``, keeping those added since it began (their files may or may not be in it)."""
        added = {sample.path for sample in self.samples}
        kept = [sample for sample in read.samples if sample.path not in added]
        self.samples = sorted(kept + self.samples, key=lambda sample: sample.created)
        self.not_read_line = read.not_read_line
        self.warnings = read.warnings + ([read.not_read_line] if read.not_read_line else [])

    def counts(self) -> list[int]:
        """How many samples there are of each digit."""
        counts = [0] * NUM_CLASSES
        for sample in self.samples:
            counts[sample.label] += 1
        return counts

    def add(self, sample: PersonalSample, name: str | None = None) -> PersonalSample:
        """Write ``sample`` as a new file (atomically; ``name`` or a fresh one) and keep it; SampleError if
        the write fails or the samples would be over the total bound."""
        if not Budget.of(self.samples).take(sample):
            raise SampleError(f"cannot keep the sample: {bound_line()}; delete some in My samples first")
        self.samples.append(write_sample(self.folder, sample, name))
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

    def import_from(
        self, folder: str | os.PathLike, progress: Progress | None = None, should_stop: ShouldStop | None = None
    ) -> ImportResult:
        """Add the samples of ``folder`` (:func:`import_samples`), each as a new file here; the files skipped
        are in :attr:`warnings`."""
        result = import_samples(folder, self.folder, self.samples, progress, should_stop)
        self.take_imported(result)
        return result

    def take_imported(self, result: ImportResult) -> None:
        """Keep the samples an import added (they are written already)."""
        self.samples.extend(result.added)
        self.warnings = result.warnings
        self.not_read_line = ""


def sample_strokes(samples: list) -> list[list[Stroke]]:
    """Each :class:`digitpad.ink.samples.PersonalSample`'s strokes (for :func:`finetune`'s re-drawn variants)."""
    return [list(sample.drawing.strokes) for sample in samples]


def sample_arrays(samples: list) -> tuple[np.ndarray, np.ndarray]:
    """(images (N, 28, 28) uint8, labels (N,)) of :class:`digitpad.ink.samples.PersonalSample` objects."""
    if not samples:
        return np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.int64)
    return np.stack([s.image for s in samples]).astype(np.uint8), np.array([s.label for s in samples], np.int64)
