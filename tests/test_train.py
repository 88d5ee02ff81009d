"""Training on the tiny synthetic data set: it learns, reports, stops on request, checkpoints, repeats."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from digitpad.augment import AugmentConfig, augment_batch
from digitpad.checkpoint import load_checkpoint
from digitpad.data import Mnist
from digitpad.model import ModelConfig
from digitpad.train import BatchProgress, EpochResult, TrainConfig, choose_device, train

SMALL = ModelConfig(channels=(8, 16, 16))


@pytest.fixture(autouse=True)
def one_thread():
    """One thread is fastest for these tiny batches on a shared 2-core machine; restore torch's setting after."""
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def quick(**changes) -> TrainConfig:
    """A recipe that trains in a fraction of a second on tiny_mnist."""
    settings = {"epochs": 2, "batch_size": 32, "augment": False, "device": "cpu", "threads": 1, "train_subset": 600}
    settings.update(changes)
    return TrainConfig(**settings)


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


@pytest.mark.parametrize("changes", [{"epochs": 0}, {"batch_size": 0}, {"learning_rate": 0.0}])
def test_bad_recipe_is_refused(tiny_mnist: Mnist, changes: dict) -> None:
    with pytest.raises(ValueError):
        train(tiny_mnist, quick(**changes), SMALL)


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
