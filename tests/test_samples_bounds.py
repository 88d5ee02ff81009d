"""Personal samples, Qt-free (issue 24, items 6, 11 and 17): an import adds each sample once, whatever its file
is called; a sample or a folder over the bounds is one line and the others load; import and load report progress
and stop when asked, keeping what was added."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import digitpad.ink.samples as samples_module
from digitpad.ink.drawings import Drawing
from digitpad.ink.samples import (
    MAX_SAMPLE_POINTS,
    SampleError,
    SampleStore,
    import_samples,
    make_sample,
    read_folder,
)
from digitpad.ink.strokes import Stroke


def a_sample(label: int = 1, shift: float = 0.0, points: int = 25, created: float | None = None):
    """A drawn 1 (``points`` points, with timing and pressure); ``shift`` moves it, so that samples differ."""
    stroke = Stroke()
    for index in range(points):
        y = 80.0 + 250.0 * index / max(points - 1, 1)
        stroke.add(200.0 + shift + 0.123456 * index, y, 28.0, 0.3 + 0.01 * (index % 50), 12.3456 + index / 97)
    sample = make_sample(Drawing([stroke], (400.0, 400.0), 28.0), label)
    if created is not None:
        sample.created = created
    return sample


def test_importing_the_same_folder_three_times_adds_each_sample_once(tmp_path: Path) -> None:
    source = SampleStore(tmp_path / "exported")
    first, second = source.add(a_sample(1)), source.add(a_sample(7, shift=30))
    # The same samples under names of the user's choice, and one of them twice: not new samples either.
    shutil.copyfile(second.path, source.folder / "my seven.json")
    shutil.copyfile(first.path, source.folder / "a one.json")
    shutil.copyfile(first.path, source.folder / "zz copy of a one.json")
    store = SampleStore(tmp_path / "samples")
    added = [len(store.import_from(source.folder).added) for _ in range(3)]
    assert added == [2, 0, 0]  # was 2, then 3, then 3: every file not named sample-… came again
    assert len(list(store.folder.glob("*.json"))) == 2 and sorted(store.counts()) == [0] * 8 + [1, 1]
    again = store.import_from(source.folder)
    assert again.duplicates == 5 and "5 already here, not added twice" in again.message()
    # The same label drawn the same way is the same sample, whether taught here (unrounded numbers in memory),
    # read back from a file, or in another folder; another label is another sample.
    taught = SampleStore(tmp_path / "taught")
    taught.add(a_sample(1))
    assert len(taught.import_from(source.folder).added) == 1
    reloaded = SampleStore(taught.folder)
    reloaded.load()
    assert reloaded.import_from(source.folder).added == []
    relabelled = SampleStore(tmp_path / "relabelled")
    relabelled.add(a_sample(4))
    assert len(relabelled.import_from(source.folder).added) == 2


def write_document(path: Path, sample, **changes) -> Path:
    path.write_text(json.dumps({**sample.to_json(), **changes}, separators=(",", ":")))
    return path


def with_points(sample, count: int) -> dict:
    """``sample``'s document with one stroke of ``count`` points (more than teaching would keep)."""
    stroke = {"points": [[200.0, 80.0 + i / 100] for i in range(count)], "pressure": [0.5] * count, "erase": False}
    return {"strokes": [stroke]}


def test_a_sample_over_the_bounds_of_one_sample_is_one_line_and_the_others_load(tmp_path: Path) -> None:
    store = SampleStore(tmp_path)
    kept = store.add(a_sample(3))
    # The real bounds: one point too many (counted before any stroke is built), and a file over 1 MiB.
    write_document(tmp_path / "sample-long.json", a_sample(1), **with_points(a_sample(1), MAX_SAMPLE_POINTS + 1))
    write_document(tmp_path / "sample-padded.json", a_sample(2), note="x" * samples_module.MAX_SAMPLE_BYTES)
    loaded = SampleStore(tmp_path)
    assert [sample.path for sample in loaded.load()] == [kept.path]
    long_line, padded_line = sorted(loaded.warnings)
    assert "sample-long.json" in long_line and f"more than {MAX_SAMPLE_POINTS:,} points" in long_line
    assert "sample-padded.json" in padded_line and "too large for a sample" in padded_line
    assert all("\n" not in line for line in loaded.warnings)
    # Teaching such a drawing is refused with a line, rather than kept and skipped at the next start.
    with pytest.raises(SampleError, match="too many for one digit"):
        a_sample(1, points=MAX_SAMPLE_POINTS + 1)
    assert len(a_sample(1, points=MAX_SAMPLE_POINTS).drawing.strokes[0].points) == MAX_SAMPLE_POINTS


@pytest.fixture
def small_total(monkeypatch) -> int:
    """All samples together may hold 100 points (four of a_sample's 25)."""
    monkeypatch.setattr(samples_module, "MAX_TOTAL_POINTS", 100)
    return 100


def test_a_folder_over_the_total_bound_loads_the_newest_and_names_the_rest_in_one_line(
    tmp_path: Path, small_total: int
) -> None:
    store = SampleStore(tmp_path)
    taught = [store.add(a_sample(digit, shift=digit, created=1_700_000_000 + digit)) for digit in range(4)]
    # Two older ones written by hand (as another copy of digitpad could): the folder is now over the bound.
    for digit in (4, 5):
        write_document(tmp_path / f"sample-1999{digit}-old.json", a_sample(digit, shift=digit), created=1_000 + digit)
    read = read_folder(tmp_path)
    assert read.not_read == 2 and len(read.samples) == 4 and read.warnings == []
    assert [sample.path for sample in read.samples] == [sample.path for sample in taught]
    assert "2 older sample file(s)" in read.not_read_line and f"at most {small_total} points" in read.not_read_line
    assert "Nothing was deleted" in read.not_read_line and len(list(tmp_path.glob("*.json"))) == 6
    loaded = SampleStore(tmp_path)
    loaded.load()
    assert loaded.warnings == [read.not_read_line]
    # Full: teaching one more is refused with a line (and no file), never kept only to vanish at the next start.
    with pytest.raises(SampleError, match="at most 100 points"):
        loaded.add(a_sample(9, shift=9))
    assert len(list(tmp_path.glob("*.json"))) == 6 and len(loaded.samples) == len(taught)


def test_an_import_stops_at_the_total_bound_and_says_how_many_files_are_left(tmp_path: Path, small_total) -> None:
    source = tmp_path / "from"  # written by hand: a store would refuse the fifth
    source.mkdir()
    for digit in range(6):
        write_document(source / f"sample-2023{digit}.json", a_sample(digit, shift=digit))
    store = SampleStore(tmp_path / "samples")
    store.add(a_sample(9, shift=50))
    result = store.import_from(source)
    assert len(result.added) == 3 and result.full and result.done == 3 and result.files == 6
    assert "3 file(s) not imported: all samples together may hold at most 100 points" in result.message()
    assert len(list(store.folder.glob("*.json"))) == 4


def test_an_import_reports_progress_and_a_stop_keeps_what_was_added(tmp_path: Path) -> None:
    source = SampleStore(tmp_path / "from")
    for digit in range(5):
        source.add(a_sample(digit, shift=digit, created=1_700_000_000 + digit))
    (source.folder / "broken.json").write_text("{")
    seen: list[tuple[int, int]] = []
    result = import_samples(
        source.folder, tmp_path / "samples", [], progress=lambda done, total: seen.append((done, total)),
        should_stop=lambda: len(seen) >= 3,
    )  # fmt: skip
    assert seen == [(1, 6), (2, 6), (3, 6)] and result.stopped and result.done == 3
    # broken.json sorts first: two samples added before the stop, both kept on disk.
    assert len(result.added) == 2 and all(sample.path.exists() for sample in result.added)
    assert len(result.warnings) == 1 and "broken.json" in result.warnings[0]
    message = result.message()
    assert message.startswith("Import cancelled after 3 of 6 files: the 2 samples added so far are kept")
    assert "1 file(s) skipped" in message
    # Importing again adds the rest, and not those already added.
    rest = import_samples(source.folder, tmp_path / "samples", result.added)
    assert len(rest.added) == 3 and rest.duplicates == 2


def test_loading_reports_progress_and_stops_when_asked(tmp_path: Path) -> None:
    store = SampleStore(tmp_path)
    for digit in range(4):
        store.add(a_sample(digit, shift=digit, created=1_700_000_000 + digit))
    seen: list[tuple[int, int]] = []
    read = read_folder(tmp_path, lambda done, total: seen.append((done, total)), lambda: len(seen) >= 2)
    assert seen == [(1, 4), (2, 4)] and read.stopped and len(read.samples) == 2
