"""Checkpoints describe themselves without the machine that made them: no paths, no device, no threads.

The data is recorded by name and the four files' MD5s (of their uncompressed
content), the augmentation by its strength, never the folder it was read from.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import quick, write_mnist_folder
from safetensors import safe_open

from digitpad.base.paths import SHIPPED_GATE_NAME, SHIPPED_WEIGHTS_NAME
from digitpad.data.augment import AugmentConfig
from digitpad.data.download import EXPECTED_MD5, content_md5
from digitpad.data.mnist import MNIST_FILES, MNIST_MD5, MNIST_NAME, OTHER_DATA_NAME, Mnist, load_mnist
from digitpad.model.checkpoint import load_checkpoint
from digitpad.training.config import MACHINE_SETTINGS, updated_recipe
from digitpad.training.loop import train

#: The checkout's weights/ folder, not shipped_weights_dir(): an installed digitpad (an editable
#: install of another checkout) would have these tests read its files instead of the ones committed here.
WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"
SHIPPED_FILES = (SHIPPED_WEIGHTS_NAME, SHIPPED_GATE_NAME)

#: The recipe of the shipped weights as digitpad recorded it before: the machine's settings, the ranges multiplied.
OLD_RECIPE = {
    "augment": True,
    "augment_config": {
        "aspect_jitter": 0.072,
        "elastic_px": 0.72,
        "rotation_degrees": 6.0,
        "scale_range": [0.91, 1.06],
        "shear": 0.15,
        "thickness": 0.48,
        "translate_px": 0.8999999999999999,
    },
    "device": "auto",
    "epochs": 30,
    "threads": 1,
}


def strings(value: object) -> Iterator[str]:
    """Every string in a JSON document, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def looks_like_a_path_of_this_machine(text: str) -> bool:
    """Absolute on Unix or Windows (a drive letter or a UNC share), or naming this user's home folder."""
    home = str(Path.home())
    return (
        text.startswith(("/", "\\"))
        or re.match(r"[A-Za-z]:[\\/]", text) is not None
        or (len(home) > 1 and home in text)
    )


def recipes(recipe: dict) -> Iterator[dict]:
    """The recipe and those nested in it (a fine-tuned model's settings and its base's recipe)."""
    yield recipe
    for name in ("fine_tune", "base_recipe"):
        if isinstance(recipe.get(name), dict):
            yield from recipes(recipe[name])


def assert_self_describing(document: dict) -> None:
    paths = [text for text in strings(document) if looks_like_a_path_of_this_machine(text)]
    assert not paths, f"paths in the metadata: {paths}"
    for recipe in recipes(document.get("recipe") or {}):
        assert not set(recipe) & set(MACHINE_SETTINGS), recipe


def shipped_document(name: str) -> dict:
    with safe_open(WEIGHTS_DIR / name, "pt") as file:
        metadata = file.metadata()
    # The whole safetensors metadata: the digitpad document is one entry of it.
    assert not [text for text in strings(metadata) if looks_like_a_path_of_this_machine(text)]
    return json.loads(metadata["digitpad"])


@pytest.mark.parametrize("name", SHIPPED_FILES)
def test_shipped_metadata_names_no_path_and_no_machine(name: str) -> None:
    assert_self_describing(shipped_document(name))


@pytest.mark.parametrize("name", SHIPPED_FILES)
def test_shipped_weights_say_they_saw_mnist_by_its_published_md5s(name: str) -> None:
    data = shipped_document(name)["data"]
    # MNIST always; besides it only real pen data and the weights a run started from, each by content.
    assert {"name", "content_md5", "train_images", "test_images"} <= set(data)
    assert set(data) <= {"name", "content_md5", "train_images", "test_images", "pen_data", "letters", "initial_weights"}
    files = [
        *data.get("pen_data", []),
        *data.get("letters", []),
        *([data["initial_weights"]] if "initial_weights" in data else []),
    ]
    assert all(len(file["sha256"]) == 64 and "/" not in file["name"] for file in files)
    assert data["name"] == MNIST_NAME and data["content_md5"] == MNIST_MD5
    # One list of the published hashes: the download checks the very same.
    assert EXPECTED_MD5 == {f"{stem}.gz": md5 for stem, md5 in MNIST_MD5.items()}


@pytest.mark.parametrize("name", SHIPPED_FILES)
def test_shipped_recipe_records_the_augmentation_strength(name: str) -> None:
    recorded = shipped_document(name)["recipe"]["augment_config"]
    assert recorded == {**AugmentConfig().to_dict(), "strength": 0.6}
    assert AugmentConfig.from_dict(recorded) == AugmentConfig().scaled(0.6)


def test_the_checks_catch_what_older_metadata_held() -> None:
    with pytest.raises(AssertionError, match="paths in the metadata"):
        assert_self_describing({"data": {"source": "/work/shared/data/mnist"}})
    for path in ("C:\\Users\\me\\mnist", "d:/mnist", "\\\\server\\mnist", f"file:{Path.home() / 'mnist'}"):
        with pytest.raises(AssertionError):
            assert_self_describing({"data": {"source": path}})
    with pytest.raises(AssertionError):
        assert_self_describing({"recipe": {"kind": "fine-tuned", "base_recipe": {"threads": 1}}})


def test_a_trained_checkpoint_records_its_data_by_md5_not_its_folder(tiny_mnist: Mnist, tmp_path: Path) -> None:
    folder = write_mnist_folder(tmp_path / "my-data", tiny_mnist)
    data = load_mnist(folder)
    out = tmp_path / "model.safetensors"
    train(data, quick(epochs=1, train_subset=64, pen_styles=0), checkpoint_path=out)
    with safe_open(out, "pt") as file:
        raw = json.dumps(file.metadata())
    assert str(tmp_path) not in raw and "my-data" not in raw
    info = load_checkpoint(out).info
    assert_self_describing({"recipe": info.recipe, "data": info.data})
    # The files' own MD5s, computed from the files here, not from the arrays as digitpad does.
    files = {stem: content_md5(folder / stem) for stem in MNIST_FILES.values()}
    assert info.data == {"name": OTHER_DATA_NAME, "content_md5": files, "train_images": 64, "test_images": 300}


def test_gzipped_files_are_known_by_their_uncompressed_content(tiny_mnist: Mnist, tmp_path: Path) -> None:
    raw = write_mnist_folder(tmp_path / "raw", tiny_mnist)
    zipped = tmp_path / "gz"
    zipped.mkdir()
    for stem in MNIST_FILES.values():
        (zipped / f"{stem}.gz").write_bytes(gzip.compress((raw / stem).read_bytes()))
    assert load_mnist(zipped).description() == load_mnist(raw).description() == tiny_mnist.description()


def test_mnist_itself_is_called_mnist(mnist: Mnist) -> None:
    assert mnist.description() == {"name": MNIST_NAME, "content_md5": MNIST_MD5}


def test_the_augmentation_is_recorded_as_a_strength() -> None:
    config = AugmentConfig().scaled(0.6)
    assert config.to_dict()["translate_px"] == 1.5 and config.to_dict()["strength"] == 0.6
    # What augment_batch draws from is what the multiplied-out ranges were.
    effective = config.effective()
    assert effective.translate_px == 1.5 * 0.6 and effective.scale_range == (1 - 0.15 * 0.6, 1 + 0.1 * 0.6)
    assert AugmentConfig.from_dict(config.to_dict()) == config


def test_older_records_still_read() -> None:
    # The multiplied-out ranges of a strength of the defaults read as that strength.
    assert AugmentConfig.from_dict(OLD_RECIPE["augment_config"]) == AugmentConfig(strength=0.6)
    # Other ranges at strength 1, rounded.
    odd = AugmentConfig.from_dict({"rotation_degrees": 3.0000000000000004, "translate_px": 0.8999999999999999})
    assert odd == AugmentConfig(rotation_degrees=3.0, translate_px=0.9)
    with pytest.raises(ValueError, match="unknown"):
        AugmentConfig.from_dict({"wobble": 1})
    assert updated_recipe(OLD_RECIPE) == {
        "augment": True,
        "augment_config": AugmentConfig(strength=0.6).to_dict(),
        "epochs": 30,
    }
    # A fine-tuned model's record: its own settings and its base's recipe too; an odd one is kept as it was.
    fine_tuned = {"kind": "fine-tuned", "fine_tune": {"steps": 100, "threads": 1}, "base_recipe": OLD_RECIPE}
    assert updated_recipe(fine_tuned) == {
        "kind": "fine-tuned",
        "fine_tune": {"steps": 100},
        "base_recipe": updated_recipe(OLD_RECIPE),
    }
    assert updated_recipe({"augment_config": {"wobble": 1}, "device": "cpu"}) == {"augment_config": {"wobble": 1}}
