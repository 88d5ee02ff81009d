"""Training on the tiny synthetic data set: it learns, reports, stops on request, checkpoints, repeats;
its pieces compose to it; the estimate of a run's duration."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import quick

from digitpad.base.constants import NOT_A_DIGIT
from digitpad.data.augment import AugmentConfig, augment_batch
from digitpad.data.mnist import Mnist
from digitpad.data.pen_styles import FIRST_STYLES
from digitpad.model.checkpoint import load_checkpoint
from digitpad.model.network import DigitNet, ModelConfig
from digitpad.model.tensors import choose_device
from digitpad.training.config import BatchProgress, EpochResult, TrainConfig
from digitpad.training.estimate import estimate_run_seconds, expected_train_images
from digitpad.training.loop import (
    batch_layout,
    build_model,
    build_optimiser,
    evaluate,
    not_a_digit_share,
    prepare_tensors,
    run_model_config,
    set_up_run,
    train,
    train_one_epoch,
)

SMALL = ModelConfig(channels=(8, 16, 16))
SMALL_ELEVEN = ModelConfig(channels=(8, 16, 16), num_classes=NOT_A_DIGIT + 1)


pytestmark = pytest.mark.usefixtures("one_thread")


def test_short_training_learns(tiny_mnist: Mnist) -> None:
    result = train(tiny_mnist, quick(), SMALL)
    assert not result.stopped
    assert [h.epoch for h in result.history] == [1, 2]
    last = result.history[-1]
    assert last.test_accuracy > 0.6  # chance is 0.1
    assert last.train_loss < result.history[0].train_loss
    assert not result.model.training
    assert next(result.model.parameters()).device.type == "cpu"
    assert result.info.metrics["test_accuracy"] == last.test_accuracy
    assert result.info.metrics["epochs_completed"] == 2
    assert result.info.data["train_images"] >= 600


def test_training_with_augmentation_learns(tiny_mnist: Mnist) -> None:
    result = train(tiny_mnist, quick(augment=True, epochs=3, batch_size=64, train_subset=None), SMALL)
    assert result.history[-1].test_accuracy > 0.6


def test_progress_reports_are_sane(tiny_mnist: Mnist) -> None:
    events: list[BatchProgress | EpochResult] = []
    train(tiny_mnist, quick(), SMALL, progress=events.append, progress_interval=0)
    batches = [e for e in events if isinstance(e, BatchProgress)]
    epochs = [e for e in events if isinstance(e, EpochResult)]
    assert [e.epoch for e in epochs] == [1, 2]
    per_epoch = batches[0].batches
    assert per_epoch >= 600 // 32
    assert len(batches) == 2 * per_epoch  # interval 0: every batch
    for event in batches:
        assert event.epochs == 2 and 1 <= event.epoch <= 2 and 1 <= event.batch <= event.batches == per_epoch
        assert math.isfinite(event.loss) and event.loss > 0
        assert 0.0 <= event.accuracy <= 1.0
        assert event.images_per_second > 0
        assert event.eta_seconds >= 0 and math.isfinite(event.eta_seconds)
        assert 0 < event.fraction_done <= 1
    fractions = [e.fraction_done for e in batches]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert batches[-1].eta_seconds == 0
    # Each epoch's result comes right after its last batch.
    for result in epochs:
        index = events.index(result)
        assert isinstance(events[index - 1], BatchProgress) and events[index - 1].batch == per_epoch
        assert events[index - 1].epoch == result.epoch
        assert len(result.per_class_accuracy) == 10
        assert 0 <= result.test_accuracy <= 1 and result.seconds > 0


def test_progress_is_throttled(tiny_mnist: Mnist) -> None:
    events = []
    train(tiny_mnist, quick(epochs=1), SMALL, progress=events.append, progress_interval=60)
    batches = [e for e in events if isinstance(e, BatchProgress)]
    # At most the first batch (nothing reported yet) and, always, the epoch's last one.
    assert len(batches) <= 2
    assert batches[-1].batch == batches[-1].batches > 2


def test_stop_request_is_honoured_within_one_batch(tiny_mnist: Mnist) -> None:
    calls = 0

    def should_stop() -> bool:
        nonlocal calls
        calls += 1
        return calls >= 5

    events = []
    result = train(tiny_mnist, quick(), SMALL, progress=events.append, should_stop=should_stop, progress_interval=0)
    assert result.stopped
    assert calls == 5  # not polled again after it said stop
    batches = [e for e in events if isinstance(e, BatchProgress)]
    assert [e.batch for e in batches] == [1, 2, 3, 4]  # four batches trained, the fifth never started
    assert len(result.history) == 1  # the partial epoch is still evaluated
    assert result.info.metrics["stopped_early"] is True


def test_stop_before_the_first_batch(tiny_mnist: Mnist, tmp_path: Path) -> None:
    out = tmp_path / "never.safetensors"
    result = train(tiny_mnist, quick(), SMALL, should_stop=lambda: True, checkpoint_path=out)
    assert result.stopped and result.history == [] and result.checkpoint is None
    assert not out.exists()


def test_checkpoint_is_written_after_every_epoch(tiny_mnist: Mnist, tmp_path: Path) -> None:
    out = tmp_path / "weights" / "run.safetensors"
    seen_on_disk = []

    def on_progress(event) -> None:
        if isinstance(event, EpochResult):
            # When an epoch's result is reported, that epoch is already saved.
            seen_on_disk.append(load_checkpoint(out).info.metrics["epochs_completed"])

    result = train(tiny_mnist, quick(), SMALL, progress=on_progress, checkpoint_path=out)
    assert seen_on_disk == [1, 2]
    assert result.checkpoint == out
    loaded = load_checkpoint(out)
    assert loaded.model.config == SMALL
    assert loaded.info.metrics["test_accuracy"] == result.history[-1].test_accuracy
    assert loaded.info.recipe["batch_size"] == 32
    for name, tensor in result.model.state_dict().items():
        assert torch.equal(loaded.model.state_dict()[name], tensor), name


def test_same_seed_same_run(tiny_mnist: Mnist) -> None:
    config = quick(augment=True, epochs=1, seed=3)
    first, second = train(tiny_mnist, config, SMALL), train(tiny_mnist, config, SMALL)
    for name, tensor in first.model.state_dict().items():
        assert torch.equal(second.model.state_dict()[name], tensor), name
    assert first.history[0].test_loss == second.history[0].test_loss
    other = train(tiny_mnist, quick(augment=True, epochs=1, seed=4), SMALL)
    assert not torch.equal(other.model.head[-1].weight, first.model.head[-1].weight)


def test_fine_tuning_starts_from_the_given_model(tiny_mnist: Mnist) -> None:
    base = train(tiny_mnist, quick(epochs=1), SMALL)
    before = {name: tensor.clone() for name, tensor in base.model.state_dict().items()}
    tuned = train(tiny_mnist, quick(epochs=1, learning_rate=1e-4), initial_model=base.model)
    assert tuned.model.config == SMALL
    assert tuned.history[0].test_accuracy >= base.history[0].test_accuracy - 0.05
    for name, tensor in base.model.state_dict().items():
        assert torch.equal(tensor, before[name]), "the initial model must not be changed"


@pytest.mark.parametrize(
    "changes",
    [
        {"epochs": 0},
        {"batch_size": 0},
        {"learning_rate": 0.0},
        {"non_digits": -0.1},
        {"non_digits": 0.6},
        {"drawn_ones": -0.1},
        {"drawn_ones": 2.5},
    ],
)
def test_bad_recipe_is_refused(tiny_mnist: Mnist, changes: dict) -> None:
    with pytest.raises(ValueError):
        train(tiny_mnist, quick(**changes), SMALL)


def pieces(data: Mnist, config: TrainConfig, model_config: ModelConfig = SMALL):
    """What train() sets up before its first epoch, from the public pieces."""
    device, generator = set_up_run(config)
    tensors = prepare_tensors(data, config, device)
    model, _ = build_model(device, model_config)
    _, batches = batch_layout(config, len(tensors.x_train))
    optimizer, scheduler = build_optimiser(model, config, total_steps=config.epochs * batches)
    return model, tensors, optimizer, scheduler, generator


def test_the_pieces_compose_to_train(tiny_mnist: Mnist) -> None:
    """train() is these calls and nothing more: the same seed gives bit-identical weights."""
    config = quick(augment=True, seed=2)
    model, tensors, optimizer, scheduler, generator = pieces(tiny_mnist, config)
    for epoch in range(1, config.epochs + 1):
        stats = train_one_epoch(model, tensors, optimizer, scheduler, config, generator, epoch)
        evaluate(model, tensors.x_test, tensors.y_test)
    result = train(tiny_mnist, config, SMALL)
    assert result.history[-1].train_loss == stats.loss and result.history[-1].train_accuracy == stats.accuracy
    for name, tensor in result.model.state_dict().items():
        assert torch.equal(model.state_dict()[name].cpu(), tensor), name


def test_train_one_epoch_reports_a_full_pass(tiny_mnist: Mnist) -> None:
    config = quick(epochs=1)
    model, tensors, optimizer, scheduler, generator = pieces(tiny_mnist, config)
    events: list[BatchProgress] = []
    stats = train_one_epoch(
        model, tensors, optimizer, scheduler, config, generator, progress=events.append, progress_interval=0
    )
    batches = len(tensors.x_train) // 32  # more than 600 // 32: the pen styles add images
    assert not stats.stopped and stats.images == batches * 32 and stats.seconds > 0
    assert math.isfinite(stats.loss) and 0 <= stats.accuracy <= 1
    assert [event.batch for event in events] == list(range(1, batches + 1))
    assert events[-1].loss == pytest.approx(stats.loss) and events[-1].eta_seconds == 0


def test_train_one_epoch_honours_should_stop_within_one_batch(tiny_mnist: Mnist) -> None:
    config = quick(epochs=1)
    model, tensors, optimizer, scheduler, generator = pieces(tiny_mnist, config)
    polls = 0

    def should_stop() -> bool:
        nonlocal polls
        polls += 1
        return polls > 3

    stats = train_one_epoch(model, tensors, optimizer, scheduler, config, generator, should_stop=should_stop)
    assert stats.stopped and polls == 4
    assert stats.images == 3 * 32  # three batches trained, the fourth never started
    never = train_one_epoch(model, tensors, optimizer, scheduler, config, generator, should_stop=lambda: True)
    assert never.stopped and never.images == 0 and never.loss == 0.0


def test_prepare_tensors_applies_subsets_and_pen_styles(tiny_mnist: Mnist) -> None:
    plain = prepare_tensors(tiny_mnist, quick(train_subset=100, test_subset=50, pen_styles=0), torch.device("cpu"))
    assert plain.x_train.shape == (100, 1, 28, 28) and plain.y_train.shape == (100,)
    assert plain.x_test.shape == (50, 1, 28, 28) and plain.y_test.shape == (50,)
    assert plain.x_train.dtype == torch.float32 and plain.y_train.dtype == torch.int64
    assert float(plain.x_train.min()) >= 0 and float(plain.x_train.max()) == 1.0
    assert torch.equal(plain.y_train, torch.from_numpy(tiny_mnist.train_labels[:100].astype("int64")))
    styled = prepare_tensors(
        tiny_mnist, quick(train_subset=100, pen_styles=1.0, pen_style_digits="0159"), torch.device("cpu")
    )
    added = len(styled.x_train) - 100
    assert added > 0 and torch.equal(styled.x_train[:100], plain.x_train)
    assert set(styled.y_train[100:].tolist()) <= {0, 1, 5, 9}  # variants of the styled digits only
    first_pass = quick(train_subset=100, pen_styles=1.0, pen_style_digits=FIRST_STYLES)
    first = prepare_tensors(tiny_mnist, first_pass, torch.device("cpu"))
    assert set(first.y_train[100:].tolist()) <= {0, 1} and len(first.x_train) < len(styled.x_train)
    assert len(styled.x_test) == len(tiny_mnist.test_images)  # no test subset: all of it


def test_prepare_tensors_adds_drawn_ones_after_the_same_pen_styles(tiny_mnist: Mnist) -> None:
    styled = quick(train_subset=100, pen_styles=1.0)
    without = prepare_tensors(tiny_mnist, styled, torch.device("cpu"))
    with_ones = prepare_tensors(tiny_mnist, replace(styled, drawn_ones=0.5), torch.device("cpu"))
    ones = int(np.sum(tiny_mnist.train_labels[:100] == 1))
    assert ones > 0 and len(with_ones.x_train) == len(without.x_train) + round(0.5 * ones)
    assert torch.equal(with_ones.x_train[: len(without.x_train)], without.x_train)
    assert set(with_ones.y_train[len(without.x_train) :].tolist()) == {1}
    assert expected_train_images(TrainConfig(pen_styles=0, drawn_ones=0.5), 60_000) == 60_000 + round(0.5 * 6742)
    # Recorded when used only: recipes from before the field read as they did.
    assert replace(styled, drawn_ones=0.5).to_dict()["drawn_ones"] == 0.5 and "drawn_ones" not in styled.to_dict()


def test_training_with_non_digits_learns_to_decline_them(tiny_mnist: Mnist, tmp_path: Path) -> None:
    out = tmp_path / "eleven.safetensors"
    config = quick(non_digits=0.25, epochs=3, test_subset=200)
    result = train(tiny_mnist, config, SMALL_ELEVEN, checkpoint_path=out)
    last = result.history[-1]
    # Bars and letters are easy to tell apart: most held-out non-digits are declined, few digits.
    assert last.non_digit_recall > 0.7 and last.digits_declined < 0.2
    assert last.test_accuracy > 0.5 and len(last.per_class_accuracy) == 10
    metrics = result.info.metrics
    assert metrics["non_digit_recall"] == last.non_digit_recall and metrics["digits_declined"] == last.digits_declined
    assert result.info.recipe["non_digits"] == 0.25
    loaded = load_checkpoint(out)
    assert loaded.model.config == SMALL_ELEVEN
    with torch.no_grad():
        assert loaded.model(torch.zeros(1, 1, 28, 28)).shape == (1, 11)


def test_a_run_without_non_digits_reports_and_records_none(tiny_mnist: Mnist) -> None:
    result = train(tiny_mnist, quick(epochs=1), SMALL)
    assert result.history[0].non_digit_recall is None and result.history[0].digits_declined is None
    assert "non_digit_recall" not in result.info.metrics
    # As recorded before TrainConfig had the field: the shipped weights' recipe compares equal.
    assert "non_digits" not in result.info.recipe


def test_non_digits_choose_eleven_classes_refuse_ten_or_widen_an_initial_model(tiny_mnist: Mnist) -> None:
    assert run_model_config(TrainConfig(non_digits=0.1)) == ModelConfig(num_classes=11)
    assert run_model_config(TrainConfig()) is None  # the default model, as before
    assert run_model_config(TrainConfig(non_digits=0.1), SMALL_ELEVEN) == SMALL_ELEVEN
    with pytest.raises(ValueError, match="needs a model with 11 classes"):
        train(tiny_mnist, quick(non_digits=0.1), SMALL)
    result = train(
        tiny_mnist, quick(non_digits=0.1, epochs=1, train_subset=320, test_subset=32), initial_model=DigitNet(SMALL)
    )
    assert result.model.config == SMALL_ELEVEN  # a ten-class model to fine-tune gets the output it needs
    result = train(tiny_mnist, quick(non_digits=0.1, epochs=1, train_subset=320, test_subset=32))
    assert result.model.config == ModelConfig(num_classes=11)


def test_prepare_tensors_adds_non_digits_and_holds_some_out(tiny_mnist: Mnist) -> None:
    config = quick(train_subset=100, test_subset=50, pen_styles=0, non_digits=0.2)
    tensors = prepare_tensors(tiny_mnist, config, torch.device("cpu"))
    assert tensors.x_train.shape == (120, 1, 28, 28)
    assert tensors.y_train[100:].tolist() == [NOT_A_DIGIT] * 20
    assert torch.equal(tensors.y_train[:100], torch.from_numpy(tiny_mnist.train_labels[:100].astype("int64")))
    assert tensors.x_non_digits is not None and tensors.x_non_digits.shape == (50, 1, 28, 28)
    assert float(tensors.x_non_digits.max()) == 1.0
    # Made by seed: the same again, and unlike the training ones.
    again = prepare_tensors(tiny_mnist, config, torch.device("cpu"))
    assert torch.equal(again.x_train, tensors.x_train) and torch.equal(again.x_non_digits, tensors.x_non_digits)
    assert not torch.equal(tensors.x_non_digits[:20], tensors.x_train[100:])
    assert prepare_tensors(tiny_mnist, quick(train_subset=100), torch.device("cpu")).x_non_digits is None


def test_not_a_digit_counts_as_wrong(tiny_mnist: Mnist) -> None:
    model = DigitNet(SMALL_ELEVEN)
    with torch.no_grad():
        model.head[-1].bias[NOT_A_DIGIT] = 1e4  # reads everything as "not a digit"
    tensors = prepare_tensors(tiny_mnist, quick(train_subset=64, test_subset=64), torch.device("cpu"))
    _, accuracy, per_class = evaluate(model, tensors.x_test, tensors.y_test)
    assert accuracy == 0.0 and len(per_class) == 10
    assert not_a_digit_share(model, tensors.x_test) == 1.0
    assert not_a_digit_share(DigitNet(SMALL), tensors.x_test) == 0.0  # ten classes: it cannot decline


def test_build_model_copies_the_initial_model_and_uses_channels_last() -> None:
    device = torch.device("cpu")
    fresh, config = build_model(device)
    assert config == ModelConfig() and fresh.config == config
    assert fresh.blocks[0][0][0].weight.is_contiguous(memory_format=torch.channels_last)
    tuned, tuned_config = build_model(device, ModelConfig(channels=(4, 4, 4)), initial_model=fresh)
    assert tuned is not fresh and tuned_config == fresh.config  # the initial model's architecture wins
    for name, tensor in fresh.state_dict().items():
        assert torch.equal(tuned.state_dict()[name], tensor), name


@pytest.mark.parametrize("schedule", ["one_cycle", "constant"])
def test_build_optimiser_follows_the_recipe(schedule: str) -> None:
    model = torch.nn.Linear(2, 2)
    optimizer, scheduler = build_optimiser(model, quick(optimizer="adam", schedule=schedule), total_steps=100)
    assert type(optimizer) is torch.optim.Adam
    rates = [optimizer.param_groups[0]["lr"]]  # the rate of each of the 100 steps
    for _ in range(99):
        optimizer.step()
        scheduler.step()
        rates.append(optimizer.param_groups[0]["lr"])
    if schedule == "constant":
        assert rates == [6e-3] * 100
    else:  # warm up to the peak over the first quarter, then anneal
        assert rates.index(max(rates)) == 24 and max(rates) == pytest.approx(6e-3)
        assert rates[0] < 6e-4 and rates[-1] < 1e-6


def test_batch_layout_drops_the_ragged_batch_and_shrinks_to_the_data() -> None:
    assert batch_layout(quick(batch_size=32), 600) == (32, 18)
    assert batch_layout(quick(batch_size=128), 50) == (50, 1)


def test_expected_train_images_counts_subsets_and_pen_styles() -> None:
    assert expected_train_images(quick(train_subset=None, pen_styles=0), 1200) == 1200
    assert expected_train_images(quick(train_subset=600, pen_styles=0), 1200) == 600
    assert expected_train_images(quick(train_subset=5000, pen_styles=0), 1200) == 1200

    # On all of MNIST, the shipped recipe's 0.5 added 5,719 variants (its checkpoint records 65,719 images).
    # Real counts on MNIST: the first pass's styles (0s and 1s), then all four.
    def count(pen_styles: float, digits: str) -> int:
        return expected_train_images(quick(train_subset=None, pen_styles=pen_styles, pen_style_digits=digits), 60_000)

    assert count(0.5, FIRST_STYLES) == pytest.approx(65_719, abs=20)
    assert count(0.4, FIRST_STYLES) == pytest.approx(64_564, abs=40)
    assert count(0.5, "0159") == pytest.approx(71_399, abs=40)
    assert expected_train_images(quick(train_subset=600, pen_styles=0, non_digits=0.15), 1200) == 690


def test_expected_train_images_matches_a_real_mnist_subset(mnist: Mnist) -> None:
    config = quick(train_subset=4000, pen_styles=0.4, test_subset=10)
    real = len(prepare_tensors(mnist, config, torch.device("cpu")).x_train)
    assert expected_train_images(config, len(mnist.train_images)) == pytest.approx(real, rel=0.005)


def test_estimate_run_seconds_is_finite_and_grows_with_the_run() -> None:
    config = quick(batch_size=64, augment=True, epochs=1)
    torch.manual_seed(123)
    expected_draw = torch.rand(3)
    torch.manual_seed(123)
    threads = torch.get_num_threads()
    one = estimate_run_seconds(config, SMALL, train_images=6400, test_images=1000)
    assert torch.equal(torch.rand(3), expected_draw), "the caller's random state is untouched"
    assert torch.get_num_threads() == threads, "the thread count is restored"
    assert math.isfinite(one) and one > 0
    ten = estimate_run_seconds(replace(config, epochs=10), SMALL, train_images=6400, test_images=1000)
    # Independent timings on a shared machine: roughly ten times, not exactly.
    assert 3 < ten / one < 30
    with pytest.raises(ValueError):
        estimate_run_seconds(config, SMALL, train_images=0)


def test_device_choice() -> None:
    assert choose_device("cpu").type == "cpu"
    assert choose_device("auto").type in {"cpu", "cuda", "mps"}
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA"):
            choose_device("cuda")


def _digit_batch(count: int = 16) -> torch.Tensor:
    images = torch.zeros(count, 1, 28, 28)
    images[:, :, 6:22, 12:16] = 1.0  # a vertical bar
    images[:, :, 6:9, 9:19] = 0.6
    return images


def test_augment_keeps_shape_and_range_and_changes_the_images() -> None:
    images = _digit_batch()
    out = augment_batch(images, AugmentConfig(), torch.Generator().manual_seed(0))
    assert out.shape == images.shape and out.dtype == images.dtype
    assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0
    assert not torch.equal(out, images)
    assert torch.equal(images, _digit_batch()), "the input is not modified in place"
    # Every sample gets its own deformation.
    assert not torch.allclose(out[0], out[1])
    # Still a digit-sized blob of ink, not smeared away or blown up.
    ratio = out.sum((1, 2, 3)) / images.sum((1, 2, 3))
    assert bool(((ratio > 0.4) & (ratio < 2.5)).all())


def test_augment_is_deterministic_for_a_seed() -> None:
    images = _digit_batch()
    first = augment_batch(images, AugmentConfig(), torch.Generator().manual_seed(7))
    again = augment_batch(images, AugmentConfig(), torch.Generator().manual_seed(7))
    other = augment_batch(images, AugmentConfig(), torch.Generator().manual_seed(8))
    assert torch.equal(first, again)
    assert not torch.equal(first, other)


def test_augment_with_everything_off_is_the_identity() -> None:
    off = AugmentConfig(
        rotation_degrees=0, shear=0, scale_range=(1.0, 1.0), aspect_jitter=0, translate_px=0, elastic_px=0, thickness=0
    )
    images = _digit_batch()
    torch.testing.assert_close(augment_batch(images, off, torch.Generator().manual_seed(0)), images)


needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")


@needs_cuda
def test_training_on_cuda_learns_and_returns_a_cpu_model(tiny_mnist: Mnist, tmp_path: Path) -> None:
    out = tmp_path / "cuda.safetensors"
    result = train(tiny_mnist, quick(device="auto", augment=True, epochs=3, threads=None), SMALL, checkpoint_path=out)
    assert choose_device("auto").type == "cuda"
    assert result.history[-1].test_accuracy > 0.6
    assert all(tensor.device.type == "cpu" for tensor in result.model.state_dict().values())
    assert load_checkpoint(out).info.metrics["epochs_completed"] == 3


@needs_cuda
def test_augment_on_cuda_is_deterministic_for_a_seed() -> None:
    images = _digit_batch().cuda()
    first = augment_batch(images, AugmentConfig(), torch.Generator(device="cuda").manual_seed(7))
    again = augment_batch(images, AugmentConfig(), torch.Generator(device="cuda").manual_seed(7))
    assert first.device.type == "cuda" and first.shape == images.shape
    assert torch.equal(first, again)
    assert float(first.min()) >= 0.0 and float(first.max()) <= 1.0


def test_a_failed_autosave_ends_the_run_unless_someone_takes_the_error(tiny_mnist: Mnist, tmp_path: Path) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    with pytest.raises(OSError):
        train(tiny_mnist, quick(epochs=1), SMALL, checkpoint_path=blocked / "model.safetensors")
    errors: list[OSError] = []
    result = train(
        tiny_mnist, quick(), SMALL, checkpoint_path=blocked / "model.safetensors", on_save_error=errors.append
    )
    assert len(errors) == 2 and result.checkpoint is None and len(result.history) == 2
    assert next(result.model.parameters()).device.type == "cpu"
