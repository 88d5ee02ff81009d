"""Personal samples and drawing files (Qt-free): atomic writes, broken files skipped, relabel, delete, export."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from digitpad.ink.drawings import Drawing, DrawingError, drawing_from_json, load_drawing, save_drawing
from digitpad.ink.samples import (
    PersonalSample,
    SampleError,
    SampleStore,
    make_sample,
    model_input,
    samples_dir,
)
from digitpad.ink.strokes import Stroke
from digitpad.model.reader import Reader


def seven(left: float = 100.0, top: float = 100.0, size: float = 300.0, t0: float = 50.0) -> list[Stroke]:
    """A 7 in one stroke with timing and varying pressure, as the pad records it."""
    stroke = Stroke()
    corners = [(0.1, 0.05), (0.9, 0.05), (0.4, 0.95)]
    points = []
    for (x0, y0), (x1, y1) in zip(corners, corners[1:], strict=False):
        points += [(x0 + (x1 - x0) * k / 20, y0 + (y1 - y0) * k / 20) for k in range(20)]
    for index, (x, y) in enumerate(points):
        stroke.add(left + x * size, top + y * size, 30.0, 0.3 + 0.01 * index, t0 + 0.01 * index)
    return [stroke]


def drawing_of(strokes: list[Stroke]) -> Drawing:
    return Drawing(strokes, (520.0, 520.0), 36.4)


def test_a_drawing_survives_a_round_trip_with_timing_and_pressure(tmp_path) -> None:
    drawing = drawing_of(seven())
    path = save_drawing(tmp_path / "seven", drawing)
    assert path.suffix == ".json"
    again = load_drawing(path)
    stroke, original = again.strokes[0], drawing.strokes[0]
    assert np.allclose(stroke.points, original.points, atol=0.01)
    assert np.allclose(stroke.pressures, original.pressures, atol=1e-4)
    # Times are kept relative to the first point, with the same gaps.
    assert stroke.times[0] == 0.0
    assert np.allclose(np.diff(stroke.times), np.diff(original.times), atol=1e-4)
    assert again.duration() == pytest.approx(drawing.duration(), abs=1e-3)
    assert again.pad_size == drawing.pad_size and again.pen_width == pytest.approx(drawing.pen_width)


@pytest.mark.parametrize(
    ("document", "fragment"),
    [
        ({"format": "something else"}, "not a digitpad drawing"),
        ({"format": "digitpad-drawing", "version": 99}, "version 99"),
        ({"format": "digitpad-drawing", "version": 1, "pad": {"width": 1, "height": 1}}, "pen width"),
        (
            {"format": "digitpad-drawing", "version": 1, "pad": {"width": 9, "height": 9}, "pen_width": 2,
             "strokes": [{"points": [[1, "x"]]}]},
            "finite number",
        ),
        (
            {"format": "digitpad-drawing", "version": 1, "pad": {"width": 9, "height": 9}, "pen_width": 2,
             "strokes": [{"points": [[1, 2]], "pressure": [3.0]}]},
            "between 0 and 1",
        ),
    ],
)  # fmt: skip
def test_a_bad_drawing_document_is_one_clear_error(document: dict, fragment: str) -> None:
    with pytest.raises(DrawingError, match=fragment):
        drawing_from_json(document)


def test_a_sample_holds_strokes_input_label_and_time_and_is_written_atomically(tmp_path, monkeypatch) -> None:
    store = SampleStore(tmp_path / "samples")
    sample = store.add(make_sample(drawing_of(seven()), 7))
    assert sample.path is not None and sample.path.parent == store.folder
    document = json.loads(sample.path.read_text())
    assert document["label"] == 7 and document["created"] > 0
    assert len(document["input"]["pixels"]) == 28 * 28
    assert "t" in document["strokes"][0] and "pressure" in document["strokes"][0]
    # No temporary file is left behind.
    assert [p.name for p in store.folder.iterdir()] == [sample.path.name]

    # A write that dies before the rename leaves the old file whole and no temporary behind.
    def crash(*args) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(SampleError, match="No space left"):
        store.relabel(sample, 1)
    assert sample.label == 7
    assert json.loads(sample.path.read_text())["label"] == 7
    assert [p.name for p in store.folder.iterdir()] == [sample.path.name]


def test_the_sample_input_is_what_the_pad_reads(tmp_path) -> None:
    strokes = seven()
    image = model_input(strokes)
    assert image.shape == (28, 28) and image.dtype == np.uint8 and image.max() == 255
    from digitpad.model.inference import Predictor

    reader = Reader(Predictor.from_checkpoint())
    read = reader.read(strokes).characters[0].prediction.stages.centred
    assert np.abs(np.round(read * 255) - image).max() <= 1
    assert model_input([]) is None


def test_broken_sample_files_are_skipped_with_a_message_never_fatal(tmp_path) -> None:
    store = SampleStore(tmp_path)
    good = store.add(make_sample(drawing_of(seven()), 7))
    (tmp_path / "sample-truncated.json").write_text(good.path.read_text()[:100])
    (tmp_path / "sample-label.json").write_text(json.dumps({**json.loads(good.path.read_text()), "label": 12}))
    (tmp_path / "sample-binary.json").write_bytes(b"\xff\xfe\x00garbage")
    (tmp_path / ".sample-x.json.abcd1234.tmp").write_text("{")  # a killed write's temporary: not a sample
    again = SampleStore(tmp_path)
    samples = again.load()
    assert [s.path for s in samples] == [good.path]
    assert len(again.warnings) == 3
    assert all(w.startswith("Skipped a broken sample: ") and "\n" not in w for w in again.warnings)
    assert any("sample-label.json" in w and "0-9" in w for w in again.warnings)


def test_a_sample_without_its_stored_input_is_rendered_from_its_strokes(tmp_path) -> None:
    store = SampleStore(tmp_path)
    sample = store.add(make_sample(drawing_of(seven()), 7))
    document = json.loads(sample.path.read_text())
    del document["input"]
    sample.path.write_text(json.dumps(document))
    (loaded,) = SampleStore(tmp_path).load()
    assert np.array_equal(loaded.image, sample.image)


def test_delete_relabel_counts_export_and_import(tmp_path) -> None:
    store = SampleStore(tmp_path / "mine")
    first = store.add(make_sample(drawing_of(seven()), 7))
    second = store.add(make_sample(drawing_of(seven(t0=80.0)), 7))
    assert store.counts()[7] == 2
    store.relabel(second, 1)
    assert store.counts()[7] == 1 and store.counts()[1] == 1
    assert [s.label for s in SampleStore(store.folder).load()] == [7, 1]
    with pytest.raises(SampleError, match="0-9"):
        store.relabel(first, 10)

    assert store.export_to(tmp_path / "export") == 2
    store.delete(first)
    assert not first.path.exists() and store.counts()[7] == 0
    assert [s.label for s in SampleStore(store.folder).load()] == [1]

    # Importing the export brings back the deleted one, and does not double the one still here.
    assert len(store.import_from(tmp_path / "export").added) == 1
    assert sorted(s.label for s in SampleStore(store.folder).load()) == [1, 7]
    with pytest.raises(SampleError, match="no such folder"):
        store.import_from(tmp_path / "nowhere")


def test_blank_drawings_and_bad_labels_make_no_sample() -> None:
    with pytest.raises(SampleError, match="nothing drawn"):
        make_sample(drawing_of([]), 3)
    with pytest.raises(SampleError, match="0-9"):
        make_sample(drawing_of(seven()), -1)


def test_samples_live_in_the_per_user_folder(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("DIGITPAD_HOME", str(tmp_path))
    assert samples_dir() == tmp_path / "samples"
    assert SampleStore().folder == tmp_path / "samples"
    assert isinstance(SampleStore().load(), list)
    assert PersonalSample.__dataclass_fields__.keys() >= {"drawing", "label", "image", "created"}


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX FIFOs")
def test_a_fifo_given_as_a_drawing_or_a_sample_is_called_a_fifo_not_missing(tmp_path) -> None:
    fifo = tmp_path / "sample-pipe.json"
    os.mkfifo(fifo)  # nobody writes to it: opening it would wait for ever
    with pytest.raises(DrawingError, match=r"sample-pipe.json: is a pipe \(FIFO\), not a drawing"):
        load_drawing(fifo)
    store = SampleStore(tmp_path)
    assert store.load() == []
    assert len(store.warnings) == 1 and "is a pipe (FIFO), not a sample" in store.warnings[0]


@pytest.mark.skipif(os.name != "posix", reason="symbolic links need privileges on Windows")
def test_a_symlink_loop_given_as_a_drawing_or_a_sample_is_called_a_loop(tmp_path) -> None:
    first, second = tmp_path / "sample-a.json", tmp_path / "sample-b.json"
    first.symlink_to(second)
    second.symlink_to(first)
    with pytest.raises(DrawingError, match="sample-a.json: a symlink loop"):
        load_drawing(first)
    store = SampleStore(tmp_path)
    assert store.load() == []
    assert len(store.warnings) == 2 and all("a symlink loop" in warning for warning in store.warnings)
    assert "no such file" not in " ".join(store.warnings)
