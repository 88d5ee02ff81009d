"""Personal-sample files and folders a careless user leaves behind (issue 24, items 3, 4, 5 and 14): a broken
sample is skipped with one line and never costs another sample, and a folder that is a file is called that."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import run_cli

from digitpad.cli.common import EXIT_ERROR
from digitpad.ink.drawings import Drawing
from digitpad.ink.samples import SampleError, SampleStore, make_sample
from digitpad.ink.strokes import Stroke


def a_sample(label: int = 1):
    stroke = Stroke()
    for y in range(80, 330, 10):
        stroke.add(200.0, float(y), 28.0, 0.5, y / 1000)
    return make_sample(Drawing([stroke], (400.0, 400.0), 28.0), label)


def write_with(folder: Path, name: str, **changes) -> Path:
    """A good sample's file with some fields replaced (raw JSON text, so NaN and huge integers stay as written)."""
    document = {**a_sample().to_json(), **{key: "@" + key for key in changes}}
    text = json.dumps(document)
    for key, raw in changes.items():
        text = text.replace(f'"@{key}"', raw)
    path = folder / name
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("created", "name"),
    [
        ("1" + "0" * 400, "sample-huge.json"),
        ("NaN", "sample-nan.json"),
        ("1e308", "sample-far.json"),
        ("-1e308", "sample-before.json"),
        ("1e308", "other-name.json"),
    ],
)
def test_a_sample_with_an_impossible_time_is_skipped_and_the_others_load(
    tmp_path: Path, created: str, name: str
) -> None:
    store = SampleStore(tmp_path / "samples")
    kept = store.add(a_sample(7))
    write_with(store.folder, name, created=created)
    loaded = SampleStore(store.folder).load()
    assert [sample.label for sample in loaded] == [7] and loaded[0].path == kept.path
    (warning,) = read_warnings(store.folder)
    assert name in warning and "'created' must be a time" in warning and "\n" not in warning


def read_warnings(folder: Path) -> list[str]:
    store = SampleStore(folder)
    store.load()
    return store.warnings


def test_importing_a_file_with_an_impossible_time_adds_the_rest(tmp_path: Path) -> None:
    source = tmp_path / "from"
    source.mkdir()
    write_with(source, "exported.json", created="1e308")
    SampleStore(source).add(a_sample(3))
    store = SampleStore(tmp_path / "samples")
    assert len(store.import_from(source).added) == 1
    assert [sample.label for sample in store.samples] == [3]
    assert any("exported.json" in warning for warning in store.warnings)


def test_a_samples_folder_that_is_a_file_is_called_a_file(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    folder = tmp_path / "samples"
    folder.write_text("not a folder")
    store = SampleStore(folder)
    assert store.load() == [] and store.warnings == [f"{folder} is a file, not a folder of samples"]
    with pytest.raises(SampleError, match="is a file, not a folder"):
        store.add(a_sample())  # teaching said "File exists"
    with pytest.raises(SampleError, match="is a file, not a folder"):
        SampleStore(tmp_path / "other").import_from(folder)
    code, _, err = run_cli(["finetune", "--samples", str(folder), "--data-dir", str(tmp_path / "none")], capsys)
    assert code == EXIT_ERROR and err.count("\n") == 1 and "is a file, not a folder" in err
