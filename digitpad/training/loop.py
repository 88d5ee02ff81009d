"""The one training routine, shared by the CLI, the GUI's worker and the benches.

Plain functions in the spirit of pytorch/examples' mnist: :func:`train`
seeds the run (:func:`set_up_run`), puts the data on the device
(:func:`prepare_tensors`), builds the model (:func:`build_model`) and its
optimiser and schedule (:func:`build_optimiser`), then runs epochs of
:func:`train_one_epoch` (batches of :func:`training_step`) and
:func:`evaluate`. The data is preloaded as tensors on the device, batches
are cut by index (no DataLoader, no per-sample Python) and augmented as
whole batches. Before a run, :func:`estimate_run_seconds` times a few real
steps to say how long it will take on :func:`expected_train_images` images.

Progress goes to a callback as small dataclasses (``BatchProgress`` about
10 times a second, ``EpochResult`` after each epoch); ``should_stop`` is
polled before every batch, so a stop request is honoured within one batch.
"""

from __future__ import annotations

import functools
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from digitpad.base.constants import NOT_A_DIGIT, NUM_CLASSES
from digitpad.data.augment import augment_batch
from digitpad.data.mnist import Mnist
from digitpad.data.nondigits import make_non_digits
from digitpad.data.pen_data import PenData, PenSample, render_samples
from digitpad.data.pen_styles import add_drawn_ones, add_pen_styles
from digitpad.model.checkpoint import CheckpointInfo, save_checkpoint
from digitpad.model.network import DigitNet, ModelConfig, with_not_a_digit
from digitpad.model.tensors import choose_device, images_to_tensor, normalise_batch, training_memory_format
from digitpad.training.config import (
    ONE_CYCLE_WARM_UP,
    OPTIMIZERS,
    BatchProgress,
    EpochResult,
    TrainConfig,
    TrainResult,
    check_config,
)

ProgressCallback = Callable[[BatchProgress | EpochResult], None]

#: Held-out non-digits a run measures its "not a digit" recall on: as many as
#: the test digits it evaluates, at most this many.
NON_DIGIT_CHECK_COUNT = 2000
#: Their seed: fixed, so that every run is measured on the same set (only the
#: training set's varies with the recipe's seed), and far from any seed a
#: recipe uses. Their partial and overlaid kinds are made from the test
#: digits, which a run never trains on.
NON_DIGIT_CHECK_SEED = 1_000_003


@torch.no_grad()
def evaluate(
    model: DigitNet, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 1000
) -> tuple[float, float, tuple[float, ...]]:
    """(mean loss, accuracy, per-class accuracy over the ten digits) of ``model`` on [0, 1] images.

    With an eleventh class, "not a digit" is just one more wrong answer for a digit.
    ValueError for no images: there is no accuracy to give.
    """
    if len(images) == 0:
        raise ValueError("no images to evaluate on")
    model.eval()
    total_loss = 0.0
    predictions = []
    for start in range(0, len(images), batch_size):
        logits = model(normalise_batch(images[start : start + batch_size]))
        total_loss += F.cross_entropy(logits, labels[start : start + batch_size], reduction="sum").item()
        predictions.append(logits.argmax(1))
    predicted = torch.cat(predictions)
    correct = predicted == labels
    per_class = []
    for digit in range(NUM_CLASSES):
        mask = labels == digit
        per_class.append(float(correct[mask].float().mean()) if mask.any() else float("nan"))
    return total_loss / len(images), float(correct.float().mean()), tuple(per_class)


@torch.no_grad()
def not_a_digit_share(model: nn.Module, images: torch.Tensor, batch_size: int = 1000) -> float:
    """Share of [0, 1] ``images`` that ``model`` reads as NOT_A_DIGIT (0.0 for a ten-class model)."""
    model.eval()
    declined = 0
    for start in range(0, len(images), batch_size):
        declined += int((model(normalise_batch(images[start : start + batch_size])).argmax(1) == NOT_A_DIGIT).sum())
    return declined / max(len(images), 1)


@dataclass(frozen=True)
class TrainingTensors:
    """A run's data on the training device: images float (N, 1, 28, 28) in [0, 1], labels int64 (N,).

    ``x_non_digits``: for a run with non-digits, held-out synthetic ones to
    measure how many the model declines (made from the test digits and
    another seed than the training ones); None otherwise.
    """

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    x_non_digits: torch.Tensor | None = None
    #: The real pen samples whose drawings are the last rows of ``x_train``, drawn afresh every epoch.
    pen_rows: tuple[PenSample, ...] = ()


@dataclass(frozen=True)
class EpochStats:
    """What one pass over the training set measured, before the evaluation."""

    loss: float  # mean training loss over the images trained on
    accuracy: float  # training accuracy over the same images
    images: int  # images trained on; 0 if stopped before the first batch
    stopped: bool  # a stop request ended the pass early
    seconds: float


def run_model_config(
    config: TrainConfig, model_config: ModelConfig | None = None, initial_model: DigitNet | None = None
) -> ModelConfig | None:
    """The architecture a run of ``config`` trains, as :func:`build_model` gets it; ValueError if it cannot learn
    the run's classes.

    Without a model config, a run with non-digits gets the default one with
    11 classes. A given one is taken as it is, so one with 10 classes is
    refused for a run with non-digits: there is no output to learn "not a
    digit" on. A ten-class initial model is widened for such a run
    (:func:`digitpad.model.network.with_not_a_digit`): what it learnt is kept.
    """
    if initial_model is not None:
        model_config = initial_model.config
        if config.declines and not model_config.has_not_a_digit:
            return replace(model_config, num_classes=NOT_A_DIGIT + 1)
    elif model_config is None and config.declines:
        return ModelConfig(num_classes=NOT_A_DIGIT + 1)
    classes = (model_config or ModelConfig()).num_classes
    if config.declines and classes <= NOT_A_DIGIT:
        raise ValueError(
            f"training with non-digits needs a model with {NOT_A_DIGIT + 1} classes (the digits and 'not a digit'); "
            f"this one has {classes}"
        )
    return model_config


def set_up_run(config: TrainConfig) -> tuple[torch.device, torch.Generator]:
    """The run's device and its random generator, with torch's threads set and its global generator seeded.

    Both generators are seeded from the recipe, which is what makes a run
    repeatable: the global one draws the initial weights and the dropout
    masks, the returned one the shuffles and the augmentations.
    """
    device = choose_device(config.device)
    if config.threads:
        torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    return device, torch.Generator(device=device).manual_seed(config.seed)


def prepare_tensors(
    data: Mnist, config: TrainConfig, device: torch.device, pen: PenSets | None = None
) -> TrainingTensors:
    """The run's images and labels on ``device``: subsets cut, pen-style variants and non-digits added to the
    training set, held-out non-digits made for a run with them.

    Everything moves to the device once, up front, so that a batch is just an
    index into tensors already there (no DataLoader, no per-batch copies).
    """
    train, test = config.train_subset or None, config.test_subset or None  # None or 0: every image
    train_images, train_labels = data.train_images[:train], data.train_labels[:train]
    digits = train_images
    ones = int(np.sum(train_labels == 1))
    if config.pen_styles > 0:
        train_images, train_labels = add_pen_styles(
            train_images, train_labels, config.pen_styles, config.seed, config.pen_style_digits
        )
    if config.drawn_ones > 0:
        count = round(config.drawn_ones * ones)
        train_images, train_labels = add_drawn_ones(train_images, train_labels, count, config.seed)
    test_images, test_labels = data.test_images[:test], data.test_labels[:test]
    held_out = None
    if config.non_digits > 0:
        # A share of the digits (before the pen styles), made from them: the
        # partial and overlaid kinds must be MNIST's own strokes.
        non_digits = make_non_digits(round(config.non_digits * len(digits)), config.seed, digits)
        train_images = np.concatenate([train_images, non_digits])
        train_labels = np.concatenate([train_labels, np.full(len(non_digits), NOT_A_DIGIT, train_labels.dtype)])
    if config.declines:
        count = min(NON_DIGIT_CHECK_COUNT, len(test_images))
        held_out = images_to_tensor(make_non_digits(count, NON_DIGIT_CHECK_SEED, test_images), device)
    rows, row_labels = pen_rows(pen or PenSets(), config)
    if rows:
        # Drawn last, so that drawing them afresh each epoch is one copy into the tail of x_train.
        train_images = np.concatenate([train_images, render_samples(rows, config.seed)])
        train_labels = np.concatenate([train_labels, row_labels.astype(train_labels.dtype)])
    return TrainingTensors(
        x_train=images_to_tensor(train_images, device),
        y_train=torch.from_numpy(train_labels.astype(np.int64)).to(device),
        x_test=images_to_tensor(test_images, device),
        y_test=torch.from_numpy(test_labels.astype(np.int64)).to(device),
        x_non_digits=held_out,
        pen_rows=rows,
    )


@dataclass(frozen=True)
class PenSets:
    """Real pen data for a run: files of digits and files of letters (:mod:`digitpad.data.pen_data`)."""

    digits: tuple[PenData, ...] = ()
    letters: tuple[PenData, ...] = ()

    def record(self, config: TrainConfig) -> dict:
        """What a checkpoint's data record says of the files the run used: name, samples, SHA-256 each."""
        used = {"pen_data": self.digits if config.pen_digits else (), "letters": self.letters if config.letters else ()}
        return {key: [pen.record() for pen in files] for key, files in used.items() if files}


def pen_rows(pen: PenSets, config: TrainConfig) -> tuple[tuple[PenSample, ...], np.ndarray]:
    """The real samples a run draws each epoch, and their labels: the digits, then the letters that look like
    no digit as NOT_A_DIGIT, each set repeated or cut to its share (a seeded choice, the same every epoch)."""
    rng = np.random.default_rng(config.seed)
    rows: list[PenSample] = []
    labels: list[int] = []
    digits = [sample for file in pen.digits for sample in file.digits]
    letters = [sample for file in pen.letters for sample in file.no_digit_letters]
    for samples, share in ((digits, config.pen_digits), (letters, config.letters)):
        count = round(share * len(samples))
        if not count:
            continue
        chosen = np.resize(rng.permutation(len(samples)), count)
        rows += [samples[i] for i in chosen]
        labels += [samples[i].label if samples is digits else NOT_A_DIGIT for i in chosen]
    return tuple(rows), np.asarray(labels, dtype=np.int64)


def redraw_pen_rows(tensors: TrainingTensors, config: TrainConfig, epoch: int) -> None:
    """Draw the run's real pen samples afresh into the tail of ``x_train`` for ``epoch`` (1-based; the first
    epoch's were drawn with the tensors): a new size, slant, pen and stroke moves for each."""
    if not tensors.pen_rows or epoch == 1:
        return
    images = images_to_tensor(render_samples(tensors.pen_rows, config.seed + epoch), tensors.x_train.device)
    tensors.x_train[len(tensors.x_train) - len(images) :] = images


def build_model(
    device: torch.device,
    model_config: ModelConfig | None = None,
    *,
    initial_model: DigitNet | None = None,
    model_factory: Callable[[], nn.Module] | None = None,
) -> tuple[nn.Module, ModelConfig]:
    """The model to train, on ``device`` in :func:`training_memory_format`, and the config a checkpoint records.

    A fresh DigitNet of ``model_config`` (the default one if None); or a copy
    of ``initial_model`` to fine-tune, so that the caller's model stays as it
    was (widened to 11 classes if ``model_config`` has them and it has not);
    or whatever ``model_factory`` builds (the benches' other architectures).
    A fresh model's weights come from torch's global random
    generator: seed it first for a repeatable run. :func:`train` passes the
    config :func:`run_model_config` chose (11 classes for a run with non-digits).
    """
    if model_factory is not None:
        model = model_factory()
        model_config = model_config or ModelConfig()
    elif initial_model is not None:
        if model_config is not None and model_config.has_not_a_digit and not initial_model.config.has_not_a_digit:
            model = with_not_a_digit(initial_model)  # a copy with the output a run with non-digits needs
        else:
            model = DigitNet(initial_model.config)
            model.load_state_dict(initial_model.state_dict())
        model_config = model.config
    else:
        model_config = model_config or ModelConfig()
        model = DigitNet(model_config)
    model.to(device, memory_format=training_memory_format(device))
    return model, model_config


def build_optimiser(
    model: nn.Module, config: TrainConfig, total_steps: int
) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler]:
    """The recipe's optimizer and learning-rate schedule for a run of ``total_steps`` batches.

    The one-cycle schedule warms up over the first quarter of the run, then
    anneals: it needs the run's length up front, and is what lets the default
    recipe use a large peak learning rate. A run too short for a warm-up (see
    :func:`has_room_for_one_cycle`: 4 steps or fewer) gets the constant
    schedule instead, whatever the recipe says.
    """
    optimizer = OPTIMIZERS[config.optimizer](
        model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
    )
    if config.schedule == "one_cycle" and has_room_for_one_cycle(total_steps):
        scheduler = torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=config.learning_rate, total_steps=total_steps, pct_start=ONE_CYCLE_WARM_UP
        )
    else:
        scheduler = torch.optim.lr_scheduler.ConstantLR(optimizer, factor=1.0, total_iters=0)
    return optimizer, scheduler


def has_room_for_one_cycle(total_steps: int) -> bool:
    """Whether a run of ``total_steps`` steps is long enough for the one-cycle schedule.

    OneCycleLR ends its warm-up at step ``ONE_CYCLE_WARM_UP * total_steps - 1``
    and divides by that length: at 4 steps or fewer (a 512-image subset for
    one epoch) it is 0 or less and the schedule raises ZeroDivisionError.
    Runs that long have no room to warm up anyway.
    """
    return ONE_CYCLE_WARM_UP * total_steps > 1


def batch_layout(config: TrainConfig, train_images: int) -> tuple[int, int]:
    """(batch size, batches per epoch) for a training set of ``train_images`` images.

    The batch shrinks to the data set if that is smaller. The ragged last
    batch is dropped, as batch norm dislikes tiny ones; each epoch shuffles
    afresh, so no image is left out for good. ValueError for no images: a
    batch of none would divide by zero.
    """
    if train_images < 1:
        raise ValueError("no training images: the data set (or the subset of it) is empty")
    batch_size = min(config.batch_size, train_images)
    return batch_size, train_images // batch_size


def training_step(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    config: TrainConfig,
    generator: torch.Generator,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One optimiser step on a batch of [0, 1] images: augment (if the recipe says so), forward, backward, step.

    Returns (logits, loss), left on the device: reading a value back forces a
    sync, which :func:`train_one_epoch` does only when a report is due.
    Shared with :func:`estimate_run_seconds`, so that the estimate times the very same work.
    """
    if config.augment:
        images = augment_batch(images, config.augment_config, generator)
    with torch.autocast(images.device.type, dtype=torch.bfloat16, enabled=runs_in_bf16(config, images.device)):
        logits = model(normalise_batch(images))
    # The loss in float32 whatever the forward pass ran in: its softmax sums over the classes.
    loss = F.cross_entropy(logits.float(), labels, label_smoothing=config.label_smoothing)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    scheduler.step()
    return logits, loss


def runs_in_bf16(config: TrainConfig, device: torch.device) -> bool:
    """Whether a run of ``config`` on ``device`` runs its convolutions and linear layer in bfloat16.

    Only where the hardware does it natively: on a CPU without bf16 kernels, oneDNN would emulate it and
    train slower than in float32, so the recipe then runs in float32 (same result to rounding).
    """
    return config.bf16 and bf16_is_native(device)


@functools.lru_cache(maxsize=4)
def bf16_is_native(device: torch.device) -> bool:
    """Whether ``device`` runs bfloat16 convolutions natively: oneDNN's bf16 kernels on a CPU, or a CUDA GPU's.
    Asked once per device: :func:`training_step` asks at every step."""
    if device.type == "cpu":
        return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return False


def train_one_epoch(
    model: nn.Module,
    tensors: TrainingTensors,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    config: TrainConfig,
    generator: torch.Generator,
    epoch: int = 1,
    *,
    progress: ProgressCallback | None = None,
    should_stop: Callable[[], bool] | None = None,
    progress_interval: float = 0.1,
    seconds_before: float = 0.0,
) -> EpochStats:
    """One shuffled pass over the training set; ``epoch`` (1-based) of the ``config.epochs`` of the run.

    ``should_stop`` is polled before every batch, so a stop request ends the
    pass within one batch; the batches trained so far count. ``progress``
    gets a :class:`BatchProgress` at most every ``progress_interval`` seconds
    and always after the last batch; its ETA is for the whole run, given the
    training time of the earlier epochs, ``seconds_before``.
    """
    started = time.perf_counter()
    loss_sum = torch.zeros((), device=tensors.x_train.device)
    correct_sum = torch.zeros((), device=tensors.x_train.device, dtype=torch.long)
    seen, last_report, stopped = 0, 0.0, False
    batch_size, batches = batch_layout(config, len(tensors.x_train))
    model.train()
    order = torch.randperm(len(tensors.x_train), generator=generator, device=tensors.x_train.device)
    for batch in range(1, batches + 1):
        if should_stop is not None and should_stop():
            stopped = True
            break
        index = order[(batch - 1) * batch_size : batch * batch_size]
        labels = tensors.y_train[index]
        logits, loss = training_step(model, tensors.x_train[index], labels, optimizer, scheduler, config, generator)
        # Accumulate on the device: reading back forces a sync, so that waits for a report.
        loss_sum += loss.detach() * len(labels)
        correct_sum += (logits.detach().argmax(1) == labels).sum()
        seen += len(labels)
        now = time.perf_counter()
        if progress is not None and (now - last_report >= progress_interval or batch == batches):
            last_report = now
            done = (epoch - 1) * batches + batch
            progress(
                BatchProgress(
                    epoch=epoch,
                    epochs=config.epochs,
                    batch=batch,
                    batches=batches,
                    loss=float(loss_sum) / seen,
                    accuracy=float(correct_sum) / seen,
                    images_per_second=seen / max(now - started, 1e-9),
                    eta_seconds=(seconds_before + (now - started)) / done * (config.epochs * batches - done),
                    first_filters=first_conv_filters(model),
                )
            )
    seconds = time.perf_counter() - started
    seen_or_one = max(seen, 1)
    return EpochStats(float(loss_sum) / seen_or_one, float(correct_sum) / seen_or_one, seen, stopped, seconds)


def first_conv_filters(model: nn.Module) -> np.ndarray | None:
    """A copy of the first conv's weights, float32 (out channels, k, k) for one input channel; None without a conv."""
    conv = next((module for module in model.modules() if isinstance(module, nn.Conv2d)), None)
    if conv is None:
        return None
    weights = conv.weight.detach().to("cpu", torch.float32)
    return weights.reshape(weights.shape[0], -1, *weights.shape[2:]).sum(dim=1).numpy().copy()


def train(
    data: Mnist,
    config: TrainConfig | None = None,
    model_config: ModelConfig | None = None,
    *,
    progress: ProgressCallback | None = None,
    should_stop: Callable[[], bool] | None = None,
    checkpoint_path: str | os.PathLike | None = None,
    initial_model: DigitNet | None = None,
    progress_interval: float = 0.1,
    model_factory: Callable[[], nn.Module] | None = None,
    on_save_error: Callable[[OSError], None] | None = None,
    pen: PenSets | None = None,
) -> TrainResult:
    """Train a model on ``data`` and return it with its history.

    ``checkpoint_path``: if given, the model is saved there (atomically) at
    the end of every epoch, so a crash loses at most one epoch; a failed save
    ends the run, unless ``on_save_error`` takes the OSError and the run goes
    on (the app's autosave is a safety net: a full disk must not cost the model).
    ``initial_model``: fine-tune this model instead of starting afresh.
    ``model_factory``: build the model to train instead of a DigitNet (the benches' other architectures),
    called once the seed is set and the data is on the device; it maps normalised (B, 1, 28, 28) images to
    (B, 10) logits, (B, 11) with non-digits, and cannot be checkpointed (checkpoints describe DigitNets).
    A run that declines (``config.declines``) needs an 11-class model: without ``model_config`` it gets the
    default one with 11 classes; a given 10-class one raises ValueError (see :func:`run_model_config`).
    ``pen``: real pen data, used as far as ``config.pen_digits`` and ``config.letters`` say.
    """
    config = config or TrainConfig()
    pen = pen or PenSets()
    model_config = _check_run(data, config, model_config, initial_model, model_factory, checkpoint_path, pen)
    device, generator = set_up_run(config)
    tensors = prepare_tensors(data, config, device, pen)
    model, model_config = build_model(device, model_config, initial_model=initial_model, model_factory=model_factory)
    _, batches = batch_layout(config, len(tensors.x_train))
    optimizer, scheduler = build_optimiser(model, config, total_steps=config.epochs * batches)
    info = _run_info(data, config, model_config, tensors, pen)
    history: list[EpochResult] = []
    saved: Path | None = None
    started, seconds_before = time.perf_counter(), 0.0
    reporting = {"progress": progress, "should_stop": should_stop, "progress_interval": progress_interval}
    for epoch in range(1, config.epochs + 1):
        redraw_pen_rows(tensors, config, epoch)
        stats = train_one_epoch(
            model, tensors, optimizer, scheduler, config, generator, epoch, seconds_before=seconds_before, **reporting
        )
        seconds_before += stats.seconds
        if stats.stopped and stats.images == 0:
            break  # nothing new to evaluate or save
        history.append(_epoch_result(model, tensors, config, epoch, stats))
        info = replace(info, metrics=_metrics(history, stats.stopped, time.perf_counter() - started))
        if checkpoint_path is not None:
            saved = _autosave(checkpoint_path, model, info, device, on_save_error) or saved
        if progress is not None:
            progress(history[-1])
        if stats.stopped:
            break
    # The caller gets a plain CPU model in eval mode, whatever it was trained on.
    model.cpu().to(memory_format=torch.contiguous_format).eval()
    return TrainResult(model=model, history=history, stopped=stats.stopped, checkpoint=saved, info=info)


def _run_info(
    data: Mnist, config: TrainConfig, model_config: ModelConfig, tensors: TrainingTensors, pen: PenSets
) -> CheckpointInfo:
    """What the run's checkpoints say of it before its first epoch: the recipe, and the data by name and hash."""
    counts = {"train_images": len(tensors.x_train), "test_images": len(tensors.x_test)}
    data_record = {**data.description(), **counts, **pen.record(config)}
    return CheckpointInfo(model_config=model_config, recipe=config.to_dict(), data=data_record)


def _autosave(
    path: str | os.PathLike,
    model: nn.Module,
    info: CheckpointInfo,
    device: torch.device,
    on_save_error: Callable[[OSError], None] | None,
) -> Path | None:
    """Save ``model`` to ``path`` between epochs; None if that failed and ``on_save_error`` took the error."""
    try:
        return save_checkpoint(path, model.cpu(), info)
    except OSError as error:
        if on_save_error is None:
            raise
        on_save_error(error)
        return None
    finally:
        model.to(device, memory_format=training_memory_format(device))


def _check_run(
    data: Mnist,
    config: TrainConfig,
    model_config: ModelConfig | None,
    initial_model: DigitNet | None,
    model_factory: Callable[[], nn.Module] | None,
    checkpoint_path: str | os.PathLike | None,
    pen: PenSets,
) -> ModelConfig | None:
    """Raise ValueError for a run that cannot go ahead, before any data is moved; the model config to build."""
    check_config(config)
    # No training or no test images once the subsets are cut: an empty set would divide by zero in the batches or
    # the accuracy.
    splits = (("training", data.train_images, config.train_subset), ("test", data.test_images, config.test_subset))
    for split, images, subset in splits:
        if len(images[: subset or None]) == 0:
            raise ValueError(f"no {split} images in {data.source}: the run needs at least one")
    if config.pen_digits and not any(file.digits for file in pen.digits):
        raise ValueError("pen_digits needs pen data with digits (train(pen=PenSets(digits=...)))")
    if config.letters and not any(file.no_digit_letters for file in pen.letters):
        raise ValueError("letters needs pen data with letters that look like no digit (PenSets(letters=...))")
    if model_factory is not None and (initial_model is not None or checkpoint_path is not None):
        raise ValueError("model_factory cannot be combined with initial_model or checkpoint_path")
    return model_config if model_factory is not None else run_model_config(config, model_config, initial_model)


def _epoch_result(
    model: nn.Module, tensors: TrainingTensors, config: TrainConfig, epoch: int, stats: EpochStats
) -> EpochResult:
    x_test, y_test = tensors.x_test, tensors.y_test
    sample = config.epoch_test_images or 0
    sampled = 0 < sample < len(x_test) and epoch < config.epochs and not stats.stopped
    if sampled:
        step = len(x_test) // sample  # an even sample: MNIST's halves differ
        x_test, y_test = x_test[::step][:sample], y_test[::step][:sample]
    test_loss, test_accuracy, per_class = evaluate(model, x_test, y_test)
    declining = {}
    if tensors.x_non_digits is not None:
        declining = {
            "non_digit_recall": not_a_digit_share(model, tensors.x_non_digits),
            "digits_declined": not_a_digit_share(model, tensors.x_test),
        }
    return EpochResult(
        epoch=epoch,
        epochs=config.epochs,
        train_loss=stats.loss,
        train_accuracy=stats.accuracy,
        test_loss=test_loss,
        test_accuracy=test_accuracy,
        per_class_accuracy=per_class,
        seconds=stats.seconds,
        test_sample=len(x_test) if sampled else 0,
        **declining,
    )


def _metrics(history: list[EpochResult], stopped: bool, seconds: float) -> dict:
    last = history[-1]
    declining = {}
    if last.non_digit_recall is not None:
        declining = {"non_digit_recall": last.non_digit_recall, "digits_declined": last.digits_declined}
    return {
        "test_accuracy": last.test_accuracy,
        "test_loss": last.test_loss,
        "per_class_accuracy": [None if math.isnan(a) else a for a in last.per_class_accuracy],
        "train_accuracy": last.train_accuracy,
        "epochs_completed": last.epoch,
        "stopped_early": stopped,
        "seconds": round(seconds, 1),
        **declining,
    }
