"""Real pen data: the file loader (broken files included), drawing a sample as the pad's reader does, the recipe's
record of the files, and ``digitpad train --pen-data/--letters``."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pytest
from helpers import assert_one_line_error, quick, run_cli, write_mnist_folder

from digitpad.base.constants import NOT_A_DIGIT
from digitpad.data import pen_data
from digitpad.data.mnist import Mnist
from digitpad.data.pen_data import PenDataError, load_pen_data, pad_strokes, render_samples
from digitpad.ink.characters import render_character, split_characters
from digitpad.ink.preprocess import mnist_image
from digitpad.ink.samples import model_input
from digitpad.model.checkpoint import load_checkpoint
from digitpad.training.loop import PenSets, pen_rows, train

#: A 1 in one stroke, an "A" in three (tablet units, y down), and an "O", which looks like a 0.
ONE = [[[50, 10], [50, 40], [50, 90]]]
LETTER_A = [[[10, 90], [30, 10], [50, 90]], [[18, 60], [42, 60]]]
LETTER_O = [[[30, 10], [10, 50], [30, 90], [50, 50], [30, 10]]]


def write(path: Path, samples: list, zipped: bool = False) -> Path:
    text = json.dumps({"samples": samples})
    path.write_bytes(gzip.compress(text.encode()) if zipped else text.encode())
    return path


def digits_file(path: Path, count: int = 6, zipped: bool = False) -> Path:
    return write(path, [{"label": i % 10, "writer": f"w{i % 3}", "strokes": ONE} for i in range(count)], zipped)


def letters_file(path: Path) -> Path:
    samples = [{"label": "A", "writer": "w1", "strokes": LETTER_A}, {"label": "O", "writer": "w2", "strokes": LETTER_O}]
    return write(path, samples * 3)


@pytest.mark.parametrize("zipped", [False, True])
def test_a_file_is_read_with_its_name_count_and_hash(tmp_path: Path, zipped: bool) -> None:
    path = digits_file(tmp_path / ("digits.json.gz" if zipped else "digits.json"), zipped=zipped)
    loaded = load_pen_data(path)
    assert loaded.record() == {
        "name": path.name,
        "samples": 6,
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
    }
    assert [sample.label for sample in loaded.digits] == [0, 1, 2, 3, 4, 5]
    assert loaded.samples[0].strokes[0].shape == (3, 2)


def test_only_letters_that_look_like_no_digit_are_non_digits(tmp_path: Path) -> None:
    loaded = load_pen_data(letters_file(tmp_path / "letters.json"))
    assert len(loaded.samples) == 6 and loaded.digits == ()
    assert {sample.label for sample in loaded.no_digit_letters} == {"A"}  # an O is written like a 0


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"{not json", "not JSON"),
        (b"[1, 2]", 'no list of "samples"'),
        (b'{"samples": []}', 'no list of "samples"'),
        (json.dumps({"samples": [{"label": 12, "strokes": ONE}]}).encode(), "sample 0: the label"),
        (json.dumps({"samples": [{"label": "ab", "strokes": ONE}]}).encode(), "sample 0: the label"),
        (json.dumps({"samples": [{"label": True, "strokes": ONE}]}).encode(), "sample 0: the label"),
        (json.dumps({"samples": [{"label": 1, "strokes": 5}]}).encode(), "sample 0: no list of strokes"),
        (json.dumps({"samples": [{"label": 1, "strokes": [[[1, "x"]]]}]}).encode(), "two finite numbers"),
        (json.dumps({"samples": [{"label": 1, "strokes": [[[1, 10**400]]]}]}).encode(), "two finite numbers"),
        (json.dumps({"samples": [{"label": 1, "strokes": [[]]}]}).encode(), "every stroke is empty"),
        (json.dumps({"samples": [{"label": 1, "writer": 3, "strokes": ONE}]}).encode(), "the writer"),
        (b"\x1f\x8b\x08 broken gzip", "not JSON"),
        (b"\xff\xfe not utf-8", "not JSON"),
    ],
)
def test_a_broken_file_is_one_line_naming_it(tmp_path: Path, content: bytes, fragment: str) -> None:
    path = tmp_path / "broken.json"
    path.write_bytes(content)
    with pytest.raises(PenDataError) as caught:
        load_pen_data(path)
    message = str(caught.value)
    assert message.startswith(str(path)) and fragment in message and "\n" not in message


def test_what_is_not_a_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(PenDataError, match="no such file"):
        load_pen_data(tmp_path / "missing.json")
    with pytest.raises(PenDataError, match="is a folder"):
        load_pen_data(tmp_path)
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    with pytest.raises(PenDataError, match="FIFO"):
        load_pen_data(fifo)  # refused by its type, never opened: this would block otherwise


def test_a_file_that_unpacks_too_large_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pen_data, "MAX_JSON_BYTES", 1000)
    path = digits_file(tmp_path / "big.json.gz", count=40, zipped=True)
    assert path.stat().st_size < 1000
    with pytest.raises(PenDataError, match="once unpacked"):
        load_pen_data(path)


def test_a_sample_is_drawn_as_the_reader_draws_the_character(tmp_path: Path) -> None:
    (sample,) = load_pen_data(write(tmp_path / "a.json", [{"label": "A", "strokes": LETTER_A}])).samples
    strokes = pad_strokes(sample, np.random.default_rng(3))
    (character,) = split_characters(strokes)  # the two strokes of an A read as one character
    through_the_reader = mnist_image(render_character(strokes, character))
    assert through_the_reader is not None and through_the_reader.max() == 255
    np.testing.assert_array_equal(model_input(strokes), through_the_reader)
    np.testing.assert_array_equal(render_samples([sample], seed=3)[0], through_the_reader)


def test_each_epoch_draws_afresh_and_a_seed_repeats(tmp_path: Path) -> None:
    samples = load_pen_data(letters_file(tmp_path / "letters.json")).samples[:2]
    first, again, other = render_samples(samples, 1), render_samples(samples, 1), render_samples(samples, 2)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    assert all(image.max() == 255 for image in first)


def test_pen_rows_take_each_set_at_its_share(tmp_path: Path) -> None:
    sets = PenSets(
        digits=(load_pen_data(digits_file(tmp_path / "d.json")),),
        letters=(load_pen_data(letters_file(tmp_path / "l.json")),),
    )
    rows, labels = pen_rows(sets, quick(pen_digits=0.5, letters=2.0, non_digits=0.1))
    assert len(rows) == 3 + 6  # half of the six digits; twice the three "A"s
    assert sorted(labels[:3]) == sorted(int(row.label) for row in rows[:3])
    assert (labels[3:] == NOT_A_DIGIT).all() and {row.label for row in rows[3:]} == {"A"}


def test_the_recipe_records_the_files_by_name_count_and_hash(tmp_path: Path, tiny_mnist: Mnist) -> None:
    digits, letters = digits_file(tmp_path / "digits.json.gz", zipped=True), letters_file(tmp_path / "letters.json")
    sets = PenSets(digits=(load_pen_data(digits),), letters=(load_pen_data(letters),))
    result = train(tiny_mnist, quick(pen_digits=1.0, letters=1.0, test_subset=50, pen_styles=0.0), pen=sets)
    assert result.model.config.num_classes == NOT_A_DIGIT + 1  # real letters teach "not a digit"
    data = result.info.data
    assert data["pen_data"] == [{"name": "digits.json.gz", "samples": 6, "sha256": sha256(digits)}]
    assert data["letters"] == [{"name": "letters.json", "samples": 6, "sha256": sha256(letters)}]
    assert data["train_images"] == 600 + 6 + 3
    assert result.info.recipe["pen_digits"] == 1.0 and result.info.recipe["letters"] == 1.0
    assert str(tmp_path) not in json.dumps(result.info.data) + json.dumps(result.info.recipe)


def test_a_share_without_its_data_is_refused(tiny_mnist: Mnist) -> None:
    with pytest.raises(ValueError, match="pen_digits needs pen data"):
        train(tiny_mnist, quick(pen_digits=1.0))
    with pytest.raises(ValueError, match="letters needs"):
        train(tiny_mnist, quick(letters=1.0))


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_train_command_takes_pen_data_and_letters(
    tmp_path: Path, tiny_mnist: Mnist, capsys: pytest.CaptureFixture
) -> None:
    data_dir = write_mnist_folder(tmp_path / "mnist", tiny_mnist)
    out = tmp_path / "gate.safetensors"
    digits, letters = digits_file(tmp_path / "digits.json"), letters_file(tmp_path / "letters.json")
    argv = ["train", "--data-dir", str(data_dir), "--subset", "300", "--epochs", "1", "--channels", "8,16,16"]
    code, out_text, err = run_cli(
        [*argv, "--pen-data", str(digits), "--letters", str(letters), "--out", str(out)], capsys
    )
    assert code == 0, err
    assert f"pen data letters.json: 6 samples, sha256 {sha256(letters)[:12]}" in out_text
    info = load_checkpoint(out).info
    assert info.model_config.num_classes == NOT_A_DIGIT + 1
    assert [record["name"] for record in info.data["letters"]] == ["letters.json"]
    assert info.recipe["letters"] == 0.5 and info.recipe["pen_digits"] == 1.0  # the shares of a file given alone


def test_train_command_refuses_a_broken_pen_file_before_training(
    tmp_path: Path, tiny_mnist: Mnist, capsys: pytest.CaptureFixture
) -> None:
    data_dir = write_mnist_folder(tmp_path / "mnist", tiny_mnist)
    broken = tmp_path / "letters.json"
    broken.write_text('{"samples": 3}')
    out = tmp_path / "never.safetensors"
    argv = ["train", "--data-dir", str(data_dir), "--letters", str(broken), "--out", str(out)]
    code, _, err = run_cli(argv, capsys)
    assert_one_line_error(code, err, str(broken), 'no list of "samples"')
    assert not out.exists()
    code, _, err = run_cli(["train", "--data-dir", str(data_dir), "--pen-data", str(letters_file(broken))], capsys)
    assert_one_line_error(code, err, "--pen-data needs digits")
