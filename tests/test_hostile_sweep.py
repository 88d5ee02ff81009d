"""Issue 24's sweep: a few hundred generated hostile drawing and sample files, each one clear line and no traceback.

A seeded generator mutates a valid drawing and a valid sample: every field
(every key, and the first and last item of every list) gets a wrong type
(null, numbers, text, lists, objects, booleans), an integer of 400 or 5,000
digits, NaN, an infinity, 1e308, a time far off or negative, deep nesting, or
is deleted, or gets extra fields beside it, alone or several at once; and some
files are spoiled as bytes (cut short, not UTF-8, a BOM, UTF-16, empty), or
are no file at all (a folder, a FIFO, a symlink loop, a dangling symlink, a
sparse file far over the size bound). Some mutations leave a usable file (an
extra field, another pressure): such a file must be read as any other.

What must hold, file by file:

- ``digitpad predict`` over all the drawings in one call: exit 1, exactly one
  line per file (its reading, or an error naming it), the good drawings
  before and after the hostile ones read, no traceback, no "unexpected error";
- :func:`load_drawing` (File > Open drawing) gives a drawing of finite numbers,
  also once fitted to the pad, or a one-line DrawingError naming the file;
- the samples folder (:func:`read_folder`, as the window and ``finetune`` load
  it) loads every good sample and every usable one, and names each other file
  in exactly one line; an import of the same folder adds, skips as a
  duplicate, or names each file, and writes nothing broken.

The numbers of the bounds are not asserted here (test_drawing_files_hostile.py
and test_samples_bounds.py do), only that each file gets its one line.
"""

from __future__ import annotations

import copy
import json
import math
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers import run_cli

from digitpad.cli.common import EXIT_ERROR
from digitpad.ink.drawings import MAX_FILE_BYTES, Drawing, DrawingError, drawing_to_json, load_drawing
from digitpad.ink.samples import (
    MAX_CREATED,
    MAX_SAMPLE_BYTES,
    PersonalSample,
    SampleStore,
    make_sample,
    read_folder,
    samples_dir,
)
from digitpad.ink.strokes import Stroke

SEED = 24
#: A line longer than this is no longer "one clear line" (a path of 100 characters and a reason fit easily).
LONGEST_LINE = 400
#: How many hostile files of each kind.
COUNT = 200

#: Raw JSON put in place of a field (raw text, so that NaN, infinities and integers too long for Python's
#: int-to-text limit are written as a careless editor or a hostile program would).
VALUES = [
    "null",
    "true",
    "false",
    "0",
    "5",
    "-1",
    '"x"',
    '""',
    '"\\ud800"',
    "[]",
    "[1, 2]",
    '[[1, 2], "x"]',
    "{}",
    '{"points": 5}',
    "1" + "0" * 400,
    "-" + "9" * 400,
    "9" * 5000,
    "NaN",
    "Infinity",
    "-Infinity",
    "1e308",
    "-1e308",
    "1e309",
    "5e-324",
    "-2.9e10",
    "1e301",
    "86401",
    "0.5",
    "[" * 50 + "]" * 50,
    "[" * 100_000 + "]" * 100_000,
]


def a_drawing() -> Drawing:
    """Two strokes, as the pad records them (a 1 with a foot), on a 400 px pad."""
    strokes = []
    for points in ([(200.0, float(y)) for y in range(80, 330, 10)], [(160.0 + x, 320.0) for x in range(0, 90, 10)]):
        stroke = Stroke()
        for index, (x, y) in enumerate(points):
            stroke.add(x, y, 28.0, 0.5, index / 100)
        strokes.append(stroke)
    return Drawing(strokes, (400.0, 400.0), 28.0)


def a_sample(label: int) -> PersonalSample:
    return make_sample(a_drawing(), label)


def field_paths(document: object, prefix: tuple = ()) -> list[tuple]:
    """Every key's path in ``document``, and the paths of the first and last item of every list."""
    paths = []
    if isinstance(document, dict):
        items = list(document.items())
    elif isinstance(document, list):
        items = [(0, document[0]), (-1, document[-1])] if document else []
    else:
        items = []
    for key, value in items:
        paths.append((*prefix, key))
        paths.extend(field_paths(value, (*prefix, key)))
    return paths


@dataclass
class Mutated:
    """A document with some fields replaced by raw JSON text (``@@n@@`` markers until written)."""

    document: object
    raw: dict[str, str]

    def set(self, path: tuple, raw: str) -> None:
        parent = self._parent(path)
        if parent is not None:
            marker = f"@@{len(self.raw)}@@"
            self.raw[marker] = raw
            parent[path[-1]] = marker

    def delete(self, path: tuple) -> None:
        parent = self._parent(path)
        if parent is not None:
            del parent[path[-1]]

    def add_field(self, path: tuple, raw: str) -> None:
        """An extra key in the object at ``path`` (or at the top)."""
        parent = self._parent((*path, "zz-extra"))
        if isinstance(parent, dict):
            self.set((*path, f"zz-extra-{len(self.raw)}"), raw)

    def _parent(self, path: tuple) -> dict | list | None:
        """The container ``path``'s last step indexes, or None if an earlier mutation removed the way there."""
        node = self.document
        for step in path[:-1]:
            try:
                node = node[step]
            except (KeyError, IndexError, TypeError):
                return None
        last = path[-1]
        if isinstance(node, dict) and isinstance(last, str):
            return node
        if isinstance(node, list) and isinstance(last, int) and -len(node) <= last < len(node):
            return node
        return None

    def text(self) -> str:
        text = json.dumps(self.document)
        for marker, raw in self.raw.items():
            text = text.replace(f'"{marker}"', raw)
        return text


def mutate_fields(valid: dict, paths: list[tuple], rng: random.Random, first: int) -> tuple[str, str]:
    """(a name, the JSON text) of ``valid`` with field ``paths[first]`` spoiled, and sometimes a few more."""
    mutated = Mutated(copy.deepcopy(valid), {})
    names = []
    for step in range(1 + (rng.random() < 0.35) * rng.randint(1, 3)):
        path = paths[first % len(paths)] if step == 0 else rng.choice(paths)
        action = rng.random()
        if action < 0.8:
            value = rng.choice(VALUES)
            mutated.set(path, value)
            names.append(f"{'.'.join(map(str, path))}={value[:12]}")
        elif action < 0.9:
            mutated.delete(path)
            names.append(f"no {'.'.join(map(str, path))}")
        else:
            mutated.add_field(path[:-1], rng.choice(VALUES))
            names.append(f"extra field beside {'.'.join(map(str, path))}")
    return " + ".join(names), mutated.text()


def spoil_bytes(text: str, rng: random.Random) -> tuple[str, bytes]:
    """(a name, the bytes) of ``text`` spoiled as bytes rather than as JSON."""
    data = text.encode()
    where = rng.randrange(len(data))
    spoils: list[tuple[str, Callable[[], bytes]]] = [
        ("cut short", lambda: data[:where]),
        (
            "not UTF-8",
            lambda: data[:where] + rng.choice([b"\xff", b"\xc3\x28", b"\x80", b"\xed\xa0\x80"]) + data[where:],
        ),
        ("a BOM", lambda: b"\xef\xbb\xbf" + data),
        ("UTF-16", lambda: text.encode("utf-16")),
        ("a NUL inside", lambda: data[:where] + b"\x00" + data[where:]),
        ("empty", lambda: b""),
        ("whitespace", lambda: b" \n\t" * 10),
        ("a bare 5000-digit integer", lambda: b"9" * 5000),
        ("a bare list", lambda: b"[" + data + b"]"),
        ("twice", lambda: data + data),
    ]
    name, make = rng.choice(spoils)
    return name, make()


def no_files(folder: Path, stem: str) -> list[tuple[str, Path]]:
    """Paths named like files that are no regular file, or too large a one (sparse: no disk used)."""
    made = []
    directory = folder / f"{stem}-folder.json"
    directory.mkdir()
    made.append(("a folder", directory))
    if hasattr(os, "mkfifo"):
        fifo = folder / f"{stem}-fifo.json"
        os.mkfifo(fifo)
        made.append(("a FIFO", fifo))
    loop_a, loop_b = folder / f"{stem}-loop-a.json", folder / f"{stem}-loop-b.json"
    loop_a.symlink_to(loop_b.name)
    loop_b.symlink_to(loop_a.name)
    made += [("a symlink loop", loop_a), ("a symlink loop", loop_b)]
    dangling = folder / f"{stem}-dangling.json"
    dangling.symlink_to("nowhere.json")
    made.append(("a dangling symlink", dangling))
    huge = folder / f"{stem}-huge.json"
    with huge.open("wb") as stream:
        stream.truncate(max(MAX_FILE_BYTES, MAX_SAMPLE_BYTES) + 1)
    made.append(("far too large", huge))
    unreadable = folder / f"{stem}-unreadable.json"
    unreadable.write_text("{}")
    unreadable.chmod(0)  # root reads it anyway: then it is one more file that is not a drawing
    made.append(("unreadable", unreadable))
    return made


def hostile_files(folder: Path, valid: dict, stem: str, count: int, name: Callable[[int], str]) -> dict[Path, str]:
    """``count`` seeded hostile files written in ``folder`` (plus the non-files): {path: what was done}."""
    rng = random.Random(f"{SEED}-{stem}")
    paths = field_paths(valid)
    text = json.dumps(valid)
    made = {}
    for index in range(count):
        if index % 8 == 7:
            what, data = spoil_bytes(text, rng)
        else:
            what, mutated = mutate_fields(valid, paths, rng, index)
            data = mutated.encode()
        path = folder / name(index)
        path.write_bytes(data)
        made[path] = what
    made.update({path: what for what, path in no_files(folder, stem)})
    return made


def assert_finite(drawing: Drawing) -> None:
    numbers = [*drawing.pad_size, drawing.pen_width, drawing.duration()]
    for stroke in drawing.strokes:
        numbers += [value for point in stroke.points for value in point]
        numbers += [*stroke.times, *stroke.pressures, *stroke.widths]
    assert all(isinstance(value, float) and math.isfinite(value) for value in numbers)
    assert min(drawing.pad_size) > 0 and drawing.pen_width > 0
    assert all(0 <= p <= 1 for stroke in drawing.strokes for p in stroke.pressures)


# --- drawings: digitpad predict and File > Open drawing ---------------------------------------------


@pytest.fixture
def drawing_files(tmp_path: Path) -> tuple[Path, Path, dict[Path, str]]:
    """(a good drawing, another good one, {hostile file: what was done}) in one folder."""
    folder = tmp_path / "drawings"
    folder.mkdir()
    valid = drawing_to_json(a_drawing())
    good_first, good_last = folder / "good-first.json", folder / "good-last.json"
    good_first.write_text(json.dumps(valid))
    good_last.write_text(json.dumps(valid))
    made = hostile_files(folder, valid, "d", COUNT, lambda index: f"d{index:03d}.json")
    return good_first, good_last, made


def lines_by_file(text: str, files: list[Path], prefix: str) -> dict[Path, list[str]]:
    """Each line of ``text`` under the file it starts by naming (after ``prefix``); unnamed lines under None."""
    by_name = {f"{path}: ": path for path in files}
    found: dict = {}
    for line in text.splitlines():
        rest = line.removeprefix(prefix) if line.startswith(prefix) else ""
        head = rest[: rest.find(": ") + 2]
        found.setdefault(by_name.get(head), []).append(line)
    return found


def test_predict_gives_one_line_per_hostile_drawing_and_reads_the_good_ones(
    drawing_files: tuple[Path, Path, dict[Path, str]], capsys: pytest.CaptureFixture
) -> None:
    good_first, good_last, made = drawing_files
    files = [good_first, *made, good_last]
    code, out, err = run_cli(["predict", *map(str, files)], capsys)
    assert code == EXIT_ERROR
    assert "Traceback" not in out + err and "unexpected error" not in err
    assert max(map(len, (out + err).splitlines())) < LONGEST_LINE
    read, refused = lines_by_file(out, files, ""), lines_by_file(err, files, "digitpad: ")
    assert None not in read and None not in refused, (read.get(None), refused.get(None))
    for path in files:
        lines = read.get(path, []) + refused.get(path, [])
        assert len(lines) == 1, (made.get(path), lines)
    assert read[good_first] == [f"{good_first}: 1"] and read[good_last] == [f"{good_last}: 1"]
    assert len(refused) >= len(made) // 2  # most mutations break the file: the sweep is not a no-op


def test_open_drawing_gives_a_finite_drawing_or_one_line_naming_the_file(
    drawing_files: tuple[Path, Path, dict[Path, str]],
) -> None:
    _, _, made = drawing_files
    for path, what in made.items():
        try:
            drawing = load_drawing(path)
        except DrawingError as error:
            message = str(error)
            assert "\n" not in message and message.startswith(f"{path}: "), (what, message)
            assert len(message) < LONGEST_LINE, (what, message)
            continue
        assert_finite(drawing)
        # What Open drawing puts on the pad: fitted to it, on any pad size the window may have.
        for pad in ((520.0, 520.0), (1.0, 1.0), (4000.0, 300.0)):
            assert_finite(drawing.scaled_to(pad, 36.4))


# --- samples: the samples folder, as the window and finetune load it, and importing it ----------


@pytest.fixture
def samples_folder() -> tuple[list[PersonalSample], dict[Path, str]]:
    """The per-user samples folder ($DIGITPAD_HOME, private to each test) with good samples and hostile files."""
    store = SampleStore()
    good = [store.add(a_sample(label)) for label in range(10)]
    valid = good[0].to_json()

    def name(index: int) -> str:
        # Half named as the app names them (then read newest first), half as a user might.
        return f"sample-9999-{index:03d}.json" if index % 2 else f"mine-{index:03d}.json"

    return good, hostile_files(store.folder, valid, "s", COUNT, name)


def check_loaded(sample: PersonalSample) -> None:
    assert_finite(sample.drawing)
    assert sample.drawing.strokes and all(stroke.points for stroke in sample.drawing.strokes)
    assert 0 <= sample.label <= 9 and sample.image.shape == (28, 28) and sample.image.dtype.name == "uint8"
    assert 0 <= sample.created <= MAX_CREATED
    time.localtime(sample.created)  # what My samples shows and file names use


def test_the_samples_folder_loads_every_good_sample_and_names_each_bad_file_once(
    samples_folder: tuple[list[PersonalSample], dict[Path, str]],
) -> None:
    good, made = samples_folder
    read = read_folder(samples_dir())
    assert not read.stopped and read.not_read == 0
    loaded = {sample.path: sample for sample in read.samples}
    assert {sample.path for sample in good} <= set(loaded)
    for sample in read.samples:
        check_loaded(sample)
    named = lines_by_file("\n".join(read.warnings), list(made), "Skipped a broken sample: ")
    assert None not in named, named.get(None)
    assert all("\n" not in warning and len(warning) < LONGEST_LINE for warning in read.warnings)
    for path, what in made.items():
        lines = named.get(path, [])
        assert len(lines) + (path in loaded) == 1, (what, lines)
    assert len(named) >= len(made) // 2


def test_importing_the_hostile_folder_adds_skips_or_names_each_file(
    samples_folder: tuple[list[PersonalSample], dict[Path, str]], tmp_path: Path
) -> None:
    good, made = samples_folder
    store = SampleStore(tmp_path / "elsewhere")
    result = store.import_from(samples_dir())
    assert not result.error and not result.stopped and not result.full
    named = lines_by_file("\n".join(result.warnings), list(made), "Skipped a broken sample: ")
    assert None not in named and all(len(lines) == 1 for lines in named.values())
    assert len(result.added) + result.duplicates + len(named) == result.files
    assert {sample.key() for sample in good} <= {sample.key() for sample in result.added}
    reread = read_folder(store.folder)  # every file the import wrote reads back
    assert not reread.warnings and len(reread.samples) == len(result.added)
    assert "\n" not in result.message()


# --- what the sweep and the properties found (each test fails without its fix) -----------------------


def two_strokes(**changes: object) -> dict:
    """A good drawing's document (a 1 with a foot: two strokes the reader measures against each other), changed."""
    return {**drawing_to_json(a_drawing()), **changes}


@pytest.mark.parametrize(
    ("document", "fragment"),
    [
        # 1e308 is a finite number, but the reader's distances between strokes square it: an overflow,
        # "unexpected error: RuntimeWarning" under warnings-as-errors, and two lines of warning otherwise.
        (two_strokes(strokes=[{"points": [[1e308, 80], [200, 320]]}, {"points": [[160, 320], [240, 320]]}]), "points"),
        # Widths are the pen width times up to 1.6 for a firm touch: infinite.
        (
            two_strokes(pen_width=1.5e308, strokes=[{"points": [[200, 80], [200, 320]], "pressure": [1, 1]}]),
            "pen width",
        ),
        # Harmless alone (fitted to the pad, every point lands on one), refused with the pen width for one bound.
        (two_strokes(pad={"width": 1e308, "height": 400}), "pad's size"),
    ],
)
def test_a_number_too_large_for_the_arithmetic_is_refused_in_one_line(
    document: dict, fragment: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    bad, good = tmp_path / "bad.json", tmp_path / "good.json"
    bad.write_text(json.dumps(document))
    good.write_text(json.dumps(two_strokes()))
    with pytest.raises(DrawingError, match=fragment):
        load_drawing(bad)
    code, out, err = run_cli(["predict", str(bad), str(good)], capsys)
    assert code == EXIT_ERROR and err.count("\n") == 1 and err.startswith(f"digitpad: {bad}: ")
    assert out == f"{good}: 1\n"


def test_a_version_of_hundreds_of_digits_is_not_written_out(tmp_path: Path) -> None:
    path = tmp_path / "version.json"
    path.write_text(json.dumps(two_strokes(version=10**400)))
    with pytest.raises(DrawingError, match="is not supported") as raised:
        load_drawing(path)
    assert len(str(raised.value)) < len(str(path)) + 120


def test_a_label_of_hundreds_of_digits_is_skipped_in_a_short_line() -> None:
    store = SampleStore()
    kept = store.add(a_sample(4))
    document = {**kept.to_json(), "label": 10**400}
    (store.folder / "long-label.json").write_text(json.dumps(document))
    read = read_folder(store.folder)
    assert [sample.path for sample in read.samples] == [kept.path]
    (warning,) = read.warnings
    assert "long-label.json" in warning and "label must be a digit" in warning and len(warning) < 300
