"""Fine-tuning on personal samples (core and ``digitpad finetune``), on tiny data: seconds, not minutes."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from helpers import assert_one_line_error, run_cli, write_mnist_folder
from test_samples import seven

from digitpad.data.augment import AugmentConfig
from digitpad.data.mnist import Mnist
from digitpad.ink.drawings import Drawing, save_drawing
from digitpad.ink.samples import SampleStore, make_sample
from digitpad.model.checkpoint import CheckpointInfo, load_checkpoint, save_checkpoint
from digitpad.model.network import DigitNet, ModelConfig
from digitpad.training.config import TrainConfig
from digitpad.training.finetune import (
    FINE_TUNED,
    FinetuneConfig,
    FinetuneProgress,
    finetune,
    held_out_splits,
)
from digitpad.training.loop import train

QUICK = FinetuneConfig(steps=30, personal_per_batch=16, mnist_per_batch=16, learning_rate=3e-3, mnist_pool=600)


def rings(count: int, seed: int = 0) -> np.ndarray:
    """Rings of random size and place: a "personal style" the bar data never shows."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:28, 0:28] - 13.5
    images = np.zeros((count, 28, 28), np.uint8)
    for index in range(count):
        dy, dx = rng.normal(0, 1.0, 2)
        radius = np.hypot(yy - dy, xx - dx)
        images[index][np.abs(radius - rng.uniform(6, 9)) < 1.5] = 255
    return images


@pytest.fixture(scope="module")
def bar_model(tiny_mnist: Mnist) -> DigitNet:
    """A small model that reads the bars well (one quick epoch)."""
    config = TrainConfig(epochs=2, batch_size=64, learning_rate=5e-3, augment=False, pen_styles=0, threads=1)
    return train(tiny_mnist, config, ModelConfig(channels=(8, 16, 16))).model


def test_fine_tuning_learns_a_personal_style_and_leaves_the_given_model_alone(bar_model, tiny_mnist) -> None:
    images, labels = rings(9), np.full(9, 3)
    before = {name: tensor.clone() for name, tensor in bar_model.state_dict().items()}
    events: list[FinetuneProgress] = []
    result = finetune(bar_model, images, labels, tiny_mnist, QUICK, progress=events.append, progress_interval=0)
    assert result is not None
    # Held out by 3-fold cross-validation: the rings it never saw are read as 3 after, not before.
    assert result.method == "3-fold cross-validation" and result.personal_after.total == 9
    assert result.personal_before.correct <= 2 and result.personal_after.correct >= 7
    assert result.mnist_after > 0.8 and result.mnist_before > 0.8
    assert sorted(i for fold in result.folds for i in fold) == list(range(9))
    assert all(torch.equal(before[name], tensor) for name, tensor in bar_model.state_dict().items())
    assert events[-1].fraction_done == 1.0
    assert [e.fraction_done for e in events] == sorted(e.fraction_done for e in events)


def test_the_result_describes_itself_and_saves_atomically(bar_model, tiny_mnist, tmp_path) -> None:
    # A base as digitpad recorded them before: the data's folder, the machine's settings, the ranges multiplied out.
    base_recipe = {"epochs": 3, "device": "auto", "threads": 1, "augment_config": {"rotation_degrees": 6.0}}
    base_info = CheckpointInfo(
        bar_model.config,
        metrics={"test_accuracy": 0.9, "calibration": {"temperature": 1.3}},
        recipe=base_recipe,
        data={"source": str(tmp_path / "mnist")},
    )
    result = finetune(bar_model, rings(4), np.array([3, 3, 8, 8]), tiny_mnist, QUICK, base_info=base_info)
    path = save_checkpoint(tmp_path / "tuned.safetensors", result.model, result.info)
    info = load_checkpoint(path).info
    assert info.recipe["kind"] == FINE_TUNED and info.recipe["fine_tune"]["steps"] == QUICK.steps
    # No machine's settings, no path: the data by name and content, the base's recipe in today's form.
    assert "threads" not in info.recipe["fine_tune"]
    assert info.recipe["base_recipe"] == {"epochs": 3, "augment_config": AugmentConfig(rotation_degrees=6.0).to_dict()}
    assert info.data == {**tiny_mnist.description(), "personal_samples": 4, "test_images": 300}
    assert str(tmp_path) not in json.dumps(info.data)
    assert info.metrics["fine_tuning"]["samples"] == 4
    assert info.metrics["test_accuracy"] == pytest.approx(result.mnist_after)
    assert info.metrics["calibration"] == {"temperature": 1.3}  # kept from the model it started from


def test_a_stop_request_ends_it_within_a_step(bar_model, tiny_mnist) -> None:
    steps: list[int] = []

    def stop_after_five() -> bool:
        return len(steps) >= 5

    def record(event: FinetuneProgress) -> None:
        if event.stage.startswith("cross-validation"):
            steps.append(event.stage_done)

    result = finetune(
        bar_model,
        rings(6),
        np.full(6, 3),
        tiny_mnist,
        QUICK,
        progress=record,
        should_stop=stop_after_five,
        progress_interval=0,
    )
    assert result is None
    assert steps == [1, 2, 3, 4, 5]


def test_held_out_splits_are_stratified_folds_while_few_and_one_share_when_many() -> None:
    labels = np.repeat(np.arange(10), 3)
    splits, method = held_out_splits(labels, FinetuneConfig())
    assert method == "3-fold cross-validation" and len(splits) == 3
    assert sorted(np.concatenate(splits).tolist()) == list(range(30))
    assert all(sorted(labels[split].tolist()) == list(range(10)) for split in splits)
    many = np.repeat(np.arange(10), 12)
    splits, method = held_out_splits(many, FinetuneConfig())
    assert len(splits) == 1 and method == "24 samples held out"
    assert held_out_splits(np.array([4]), FinetuneConfig()) == ([], "too few samples to leave any out")


def test_unusable_samples_are_refused_with_a_clear_reason(bar_model, tiny_mnist) -> None:
    with pytest.raises(ValueError, match="teach a few digits"):
        finetune(bar_model, np.zeros((0, 28, 28), np.uint8), np.zeros(0), tiny_mnist, QUICK)
    with pytest.raises(ValueError, match="digits 0-9"):
        finetune(bar_model, rings(2), np.array([3, 12]), tiny_mnist, QUICK)


# --- digitpad finetune and predict FILE.json -------------------------------------------


def teach_sevens(count: int) -> SampleStore:
    store = SampleStore()
    for index in range(count):
        store.add(make_sample(Drawing(seven(left=80 + 10 * index), (520.0, 520.0), 36.4), 7))
    return store


def small_checkpoint(path, model: DigitNet):
    return save_checkpoint(path, model, CheckpointInfo(model.config, metrics={"test_accuracy": 0.9}))


def test_cli_finetune_reports_before_and_after_and_saves(bar_model, tiny_mnist, tmp_path, capsys) -> None:
    teach_sevens(3)
    data = write_mnist_folder(tmp_path / "mnist", tiny_mnist)
    weights = small_checkpoint(tmp_path / "base.safetensors", bar_model)
    out = tmp_path / "out" / "tuned.safetensors"
    argv = ["finetune", "--data-dir", str(data), "--weights", str(weights), "--out", str(out), "--steps", "3"]
    code, stdout, err = run_cli(argv, capsys)
    assert code == 0, err
    lines = stdout.splitlines()
    assert lines[0].startswith(f"fine-tuning {weights} on 3 personal samples")
    assert any(line.split() == ["before", "after"] for line in lines)
    assert any(line.startswith("your digits (held out)") for line in lines)
    assert any(line.startswith("MNIST test") and line.count("%") == 2 for line in lines)
    assert "personal figures: 3-fold cross-validation" in stdout
    assert lines[-1] == f"saved {out}"
    assert load_checkpoint(out).info.recipe["kind"] == FINE_TUNED


def test_cli_finetune_errors_are_one_line(bar_model, tiny_mnist, tmp_path, capsys) -> None:
    data = write_mnist_folder(tmp_path / "mnist", tiny_mnist)
    weights = small_checkpoint(tmp_path / "base.safetensors", bar_model)
    base = ["finetune", "--data-dir", str(data), "--out", str(tmp_path / "o.safetensors")]
    assert_one_line_error(*run_cli([*base, "--weights", str(weights)], capsys)[::2], "no personal samples")
    teach_sevens(1)
    (SampleStore().folder / "sample-broken.json").write_text("{")
    code, _, err = run_cli([*base, "--weights", str(tmp_path / "missing.safetensors")], capsys)
    assert code == 1 and err.count("\n") == 2  # the skipped file's warning, then the error
    assert "Skipped a broken sample" in err and "missing.safetensors" in err.splitlines()[-1]
    (SampleStore().folder / "sample-broken.json").unlink()
    assert_one_line_error(*run_cli([*base, "--weights", str(weights), "--steps", "0"], capsys)[::2], "steps")
    assert_one_line_error(*run_cli([*base, "--samples", str(tmp_path / "none")], capsys)[::2], "no such folder")


def test_cli_predict_reads_a_saved_drawing(tmp_path, capsys) -> None:
    path = save_drawing(tmp_path / "seven.json", Drawing(seven(), (520.0, 520.0), 36.4))
    code, stdout, _ = run_cli(["predict", str(path)], capsys)
    assert code == 0 and stdout.strip() == f"{path}: 7"
    (tmp_path / "bad.json").write_text('{"format": "digitpad-drawing", "version": 7}')
    assert_one_line_error(*run_cli(["predict", str(tmp_path / "bad.json")], capsys)[::2], "bad.json", "version 7")
