"""Fine-tuning on a person's own digits: learn their hand, keep MNIST.

:func:`finetune` starts from the model in use and trains a copy of it on
the personal samples (:mod:`digitpad.ink.samples`), each also re-drawn from its
strokes with the strokes moved apart (:mod:`digitpad.data.redraw`), augmented as
in training (:mod:`digitpad.data.augment`) and oversampled (every batch draws
``personal_per_batch`` of them with replacement), mixed with MNIST training
images so that the model does not forget what it knew. Each step is the one
training routine's :func:`digitpad.training.loop.training_step`.

It reports before and after side by side:

- accuracy on personal samples *left out of the training*: with few samples,
  k-fold cross-validation (each fold fine-tunes a copy without it and reads
  it); with many, one held-out share. The model before fine-tuning has seen
  none of them, so it reads them all;
- accuracy on MNIST's test set.

The model returned is then fine-tuned on every sample. Why these settings
(see :class:`FinetuneConfig`): a person teaches a style the model already
half knows (a 1 with a long flag that it reads as 7), so a short, gentle run
is enough: a quarter of the peak learning rate the model was trained with,
batch-norm statistics frozen at MNIST's (a few dozen personal digits must
not shift what "normal" ink looks like for every digit), and three MNIST
digits for each personal one in every batch. The whole run, folds included,
is a few hundred small steps: seconds on two CPU cores.

Progress: ``progress`` gets a :class:`FinetuneProgress` at most every
``progress_interval`` seconds and at every new stage. Its fraction counts
every piece of the real work (each sample re-drawn, each training step,
each thousand test images read), each weighed by what it is expected to
cost (:data:`RENDER_SECONDS` and the figures below it), so it moves at an
even pace from the first sample re-drawn to the last image read and never
goes back; its time left is None until it means something
(:class:`digitpad.training.estimate.WorkMeter`). ``should_stop`` is polled
before every sample and every step; a stopped run returns None.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace

import numpy as np
import torch
from torch import nn

from digitpad.base.constants import NUM_CLASSES
from digitpad.data.augment import AugmentConfig
from digitpad.data.mnist import Mnist
from digitpad.data.redraw import redrawn_variants
from digitpad.ink.strokes import Stroke
from digitpad.model.checkpoint import CheckpointInfo
from digitpad.model.network import DigitNet, fold_batch_norm
from digitpad.model.temperature import CALIBRATION_METRIC
from digitpad.model.tensors import images_to_tensor, normalise_batch, training_memory_format
from digitpad.model.threads import use_one_thread_here
from digitpad.training.config import TrainConfig, updated_recipe
from digitpad.training.estimate import WorkMeter
from digitpad.training.loop import build_model, build_optimiser, training_step

#: What a checkpoint's recipe says about a fine-tuned model (``recipe["kind"]``).
FINE_TUNED = "fine-tuned"

#: What each piece of the work is expected to cost, in seconds: the weights of the progress's fraction, and
#: the time left until the pieces have been timed. A re-drawn variant costs a fixed part and a part per point
#: of the sample's strokes (1.3 ms for 40 points, 2.4 ms for 160, 3.9 ms for 640); a training step, a part per
#: image of its batch; reading an image, about twice as much as is (the personal samples) as with batch norm
#: folded (MNIST's test set). Their ratios were measured on 2 CPU cores with one torch thread at load 4-5
#: (2026-12-07: 1.2 ms a variant of UNIPEN digits, 102 ms a step of 64 images, 0.5 ms an image read), the scale
#: is a quiet machine's (57 ms a step, 3.6 s for MNIST's test set). With more threads (``digitpad finetune``)
#: steps and reading take THREADED_SHARE of that on a quiet machine (18 s instead of 29 s for 30 samples);
#: re-drawing is numpy, on one thread.
RENDER_SECONDS = 0.9e-3
RENDER_SECONDS_PER_POINT = 3e-6
STEP_SECONDS_PER_IMAGE = 1.1e-3
READ_SECONDS_PER_IMAGE = 0.36e-3
READ_UNFOLDED_FACTOR = 2.0
THREADED_SHARE = 0.6
#: Test images read between two progress reports (evaluate's batch).
READ_CHUNK = 1000

#: The stages' names (``FinetuneProgress.stage``), besides the folds' (:func:`fold_stage`).
REDRAW_STAGE = "re-drawing your samples"
MNIST_BEFORE_STAGE = "MNIST test, before"
PERSONAL_BEFORE_STAGE = "reading your samples, before"
FINAL_STAGE = "fine-tuning on every sample"
MNIST_AFTER_STAGE = "MNIST test, after"


@dataclass(frozen=True)
class FinetuneConfig:
    """How to fine-tune. The defaults are reasoned, not searched (see the module docstring)."""

    #: Optimiser steps of each run (each fold's and the final one).
    steps: int = 100
    #: Personal samples (drawn with replacement, augmented) and MNIST images in every batch.
    personal_per_batch: int = 16
    mnist_per_batch: int = 48
    #: Peak of the one-cycle schedule (AdamW): a quarter of what the shipped model was trained with.
    learning_rate: float = 1e-3
    weight_decay: float = 5e-4
    label_smoothing: float = 0.1
    #: Strength of the training augmentation (the shipped recipe's is 0.6).
    augment_strength: float = 0.6
    #: Drawings of each sample the batches draw from when its strokes are known: the sample itself and
    #: ``redrawn_variants - 1`` re-drawn from its strokes moved apart (:mod:`digitpad.data.redraw`); 1 for none.
    redrawn_variants: int = 32
    #: How far each stroke of a re-drawn variant is stretched on its own (log scale, per axis).
    stroke_jitter: float = 0.3
    #: MNIST training images the run draws its MNIST share from (a random subset, fixed by the seed).
    mnist_pool: int = 10_000
    #: Folds of the cross-validation while there are fewer than ``few_samples`` samples;
    #: from ``few_samples`` on, one held-out share ``held_out_share`` measures instead.
    folds: int = 3
    few_samples: int = 100
    held_out_share: float = 0.2
    #: Keep batch norm's running statistics (MNIST's) as they are.
    freeze_batch_norm: bool = True
    #: Use only the first N test images for the MNIST figures (tests); None for all 10,000.
    test_subset: int | None = None
    seed: int = 0
    #: CPU threads for the run's torch ops (None leaves torch's setting: every core). One, for the app: when the
    #: other core is busy (the GUI, any other program) two threads wait on each other: 57 ms a step with one
    #: thread, 420-780 ms with two, measured on 2 cores at load 4.5. ``digitpad finetune``, with no pad to keep
    #: live, takes every core: 18 s instead of 29 s for 30 samples on a quiet 2-core machine.
    threads: int | None = 1

    def to_dict(self) -> dict:
        """The settings as a checkpoint records them: without ``threads``, the machine's, not the method's."""
        values = asdict(self)
        del values["threads"]
        return values


@dataclass(frozen=True)
class FinetuneProgress:
    #: What it is doing, e.g. "re-drawing your samples", "cross-validation 2/3", "MNIST test, after".
    stage: str
    #: Pieces of the stage done, of how many: samples re-drawn, training steps, images read.
    stage_done: int
    stage_total: int
    #: Of the whole job, its pieces weighed by their expected cost: 0 to 1, never going back.
    fraction_done: float
    #: Seconds left at the pace measured lately; None until enough of the work has been timed.
    eta_seconds: float | None


@dataclass(frozen=True)
class Score:
    """Correct readings out of a number of digits."""

    correct: int
    total: int

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.total if self.total else None

    def describe(self) -> str:
        return f"{self.correct}/{self.total} ({self.accuracy:.0%})" if self.total else "not measured"


@dataclass
class FinetuneResult:
    model: DigitNet
    info: CheckpointInfo
    samples: int
    #: How the personal figures were measured, e.g. "3-fold cross-validation".
    method: str
    personal_before: Score
    personal_after: Score
    mnist_before: float
    mnist_after: float
    seconds: float
    #: Per fold: indices of the samples it left out (for reports).
    folds: list[list[int]] = field(default_factory=list)


ProgressCallback = Callable[[FinetuneProgress], None]


def fold_stage(method: str, number: int, count: int, held_out: int) -> str:
    """The stage's name while the ``number``-th of ``count`` copies trains without its ``held_out`` samples:
    a fold with :func:`held_out_splits`'s k folds, else the one share held out."""
    if method.endswith("-fold cross-validation"):
        return f"cross-validation {number}/{count}"
    return f"fine-tuning without the {held_out} samples held out"


def held_out_splits(labels: np.ndarray, config: FinetuneConfig) -> tuple[list[np.ndarray], str]:
    """(held-out index sets, how) for measuring: stratified k folds while few, else one held-out share.

    Each digit's samples are dealt round the folds in a shuffled order, so
    every fold holds about as many of each digit. Fewer than two samples: no
    split (nothing could be left out and still learnt).
    """
    count = len(labels)
    if count < 2:
        return [], "too few samples to leave any out"
    rng = np.random.default_rng(config.seed)
    folds = min(config.folds, count) if count < config.few_samples else 0
    parts = max(folds, round(1 / config.held_out_share)) if folds == 0 else folds
    assignment = np.empty(count, dtype=np.int64)
    position = int(rng.integers(parts))
    for digit in range(int(labels.max()) + 1):
        members = rng.permutation(np.flatnonzero(labels == digit))
        assignment[members] = (position + np.arange(len(members))) % parts
        position = (position + len(members)) % parts
    splits = [np.flatnonzero(assignment == part) for part in range(parts)]
    splits = [split for split in splits if 0 < len(split) < count]
    if folds:
        return splits, f"{len(splits)}-fold cross-validation"
    return splits[:1], f"{len(splits[0])} samples held out"


@dataclass
class _Job:
    """What every run of one fine-tuning shares: data, settings, progress."""

    pool_x: torch.Tensor
    pool_y: torch.Tensor
    config: FinetuneConfig
    train_config: TrainConfig
    generator: torch.Generator
    progress: ProgressCallback | None
    should_stop: Callable[[], bool] | None
    progress_interval: float
    clock: Callable[[], float]
    #: Share of the one-thread costs that steps and reading take here (1, or THREADED_SHARE).
    share: float = 1.0
    #: Made with the job's plan of work (:func:`_start_meter`), once the samples and the splits are known.
    meter: WorkMeter = field(default_factory=lambda: WorkMeter({}))
    last_report: float = -float("inf")
    last_stage: str = ""

    def step_seconds(self) -> float:
        return (self.config.personal_per_batch + self.config.mnist_per_batch) * STEP_SECONDS_PER_IMAGE * self.share

    def read_seconds(self, images: int, folded: bool) -> float:
        return images * READ_SECONDS_PER_IMAGE * self.share * (1.0 if folded else READ_UNFOLDED_FACTOR)

    def advance(self, kind: str, expected_seconds: float, stage: str, done: int, total: int) -> None:
        """A piece of ``kind`` is done (``done`` of the stage's ``total``); report it if it is time."""
        self.meter.advance(kind, expected_seconds)
        now = self.clock()
        if self.progress is None:
            return
        if stage == self.last_stage and done < total and now - self.last_report < self.progress_interval:
            return
        self.last_report, self.last_stage = now, stage
        self.progress(FinetuneProgress(stage, done, total, self.meter.fraction(), self.meter.eta_seconds()))

    def stopping(self) -> bool:
        return self.should_stop is not None and self.should_stop()


def _fine_tune_once(model: DigitNet, x: torch.Tensor, y: torch.Tensor, job: _Job, stage: str) -> DigitNet | None:
    """A copy of ``model`` fine-tuned on personal images ``x`` (labels ``y``) mixed with MNIST; None if stopped.

    x: (N, V, 1, 28, 28), V drawings of each of the N samples; a batch takes one of them at random.
    """
    config = job.config
    tuned, _ = build_model(x.device, initial_model=model)
    tuned.train()
    if config.freeze_batch_norm:  # eval mode keeps their running statistics as they are
        for module in tuned.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                module.eval()
    optimizer, scheduler = build_optimiser(tuned, job.train_config, total_steps=config.steps)
    job.meter.set_aside()  # not a step: the steps' pace would count it 100 times over
    for step in range(config.steps):
        if job.stopping():
            return None
        personal = torch.randint(len(x), (config.personal_per_batch,), generator=job.generator, device=x.device)
        variant = torch.randint(x.shape[1], (config.personal_per_batch,), generator=job.generator, device=x.device)
        mnist = torch.randint(len(job.pool_x), (config.mnist_per_batch,), generator=job.generator, device=x.device)
        images = torch.cat([x[personal, variant], job.pool_x[mnist]])
        labels = torch.cat([y[personal], job.pool_y[mnist]])
        training_step(tuned, images, labels, optimizer, scheduler, job.train_config, job.generator)
        job.advance("step", job.step_seconds(), stage, step + 1, config.steps)
    tuned.to(memory_format=torch.contiguous_format).eval()
    return tuned


def _mnist_accuracy(model: DigitNet, x_test: torch.Tensor, y_test: torch.Tensor, job: _Job, stage: str) -> float:
    """Test accuracy, computed on a copy with batch norm folded into the convolutions, channels last: the same
    answers, in about half the time on the CPU (10,000 images on one thread: 3.6 s against 6.9 s, at load 3.4).
    Read a thousand at a time (as :func:`digitpad.training.loop.evaluate` does), each thousand a progress step."""
    if len(x_test) == 0:
        raise ValueError("no images to evaluate on")
    memory_format = training_memory_format(x_test.device)
    fast = fold_batch_norm(model).to(memory_format=memory_format)
    x_test = x_test.contiguous(memory_format=memory_format)
    correct = 0
    for start in range(0, len(x_test), READ_CHUNK):
        end = min(start + READ_CHUNK, len(x_test))
        correct += int((_predicted(fast, x_test[start:end]) == y_test[start:end].numpy()).sum())
        job.advance("read", job.read_seconds(end - start, folded=True), stage, end, len(x_test))
    return correct / len(x_test)


@torch.no_grad()
def _predicted(model: nn.Module, x: torch.Tensor) -> np.ndarray:
    model.eval()
    return model(normalise_batch(x)).argmax(1).cpu().numpy()


def _use_threads(config: FinetuneConfig) -> None:
    if config.threads == 1:
        use_one_thread_here()  # this thread only: a training run started later still gets every core
    elif config.threads:
        torch.set_num_threads(config.threads)


def _check(
    model: DigitNet, images: np.ndarray, labels: np.ndarray, config: FinetuneConfig, strokes: Sequence | None
) -> None:
    if strokes is not None and len(strokes) != len(images):
        raise ValueError("one list of strokes per personal sample, please")
    if len(images) == 0:
        raise ValueError("no personal samples: teach a few digits first")
    if images.shape[1:] != (28, 28) or len(images) != len(labels):
        raise ValueError("personal samples must be 28x28 images, one label each")
    if labels.min() < 0 or labels.max() >= min(NUM_CLASSES, model.config.num_classes):
        raise ValueError("personal samples' labels must be digits 0-9")
    if config.steps < 1 or config.personal_per_batch < 1 or config.mnist_per_batch < 0 or not config.learning_rate > 0:
        raise ValueError("steps and personal samples per batch must be at least 1 and the learning rate positive")


def _train_config(config: FinetuneConfig) -> TrainConfig:
    return TrainConfig(
        learning_rate=config.learning_rate,
        weight_decay=config.weight_decay,
        label_smoothing=config.label_smoothing,
        augment=config.augment_strength > 0,
        augment_config=AugmentConfig().scaled(config.augment_strength),
        seed=config.seed,
        device="cpu",
        schedule="one_cycle",
    )


def _make_job(
    data: Mnist,
    config: FinetuneConfig,
    progress: ProgressCallback | None,
    should_stop: Callable[[], bool] | None,
    progress_interval: float,
    clock: Callable[[], float],
) -> _Job:
    """The MNIST pool every run draws from (a random subset, fixed by the seed), and the job's bookkeeping."""
    device = torch.device("cpu")
    pool = np.sort(np.random.default_rng(config.seed).permutation(len(data.train_images))[: config.mnist_pool])
    return _Job(
        pool_x=images_to_tensor(data.train_images[pool], device),
        pool_y=torch.from_numpy(data.train_labels[pool].astype(np.int64)),
        config=config,
        train_config=_train_config(config),
        generator=torch.Generator(device=device).manual_seed(config.seed),
        progress=progress,
        should_stop=should_stop,
        progress_interval=progress_interval,
        clock=clock,
        share=1.0 if torch.get_num_threads() == 1 else THREADED_SHARE,
    )


def _render_seconds(strokes: list[Stroke], variants: int) -> float:
    """The expected cost of re-drawing ``variants - 1`` variants of a sample drawn with ``strokes``."""
    points = sum(len(stroke.points) for stroke in strokes)
    return (variants - 1) * (RENDER_SECONDS + RENDER_SECONDS_PER_POINT * points)


def _start_meter(job: _Job, strokes: Sequence[list[Stroke]] | None, splits: list[np.ndarray], test_images: int) -> None:
    """The job's meter, with every piece of the work ahead expected: it starts timing now."""
    variants = job.config.redrawn_variants if strokes is not None else 1
    held = sum(len(split) for split in splits)
    expected = {
        "render": sum(_render_seconds(sample, variants) for sample in strokes) if variants > 1 else 0.0,
        "step": (len(splits) + 1) * job.config.steps * job.step_seconds(),
        # MNIST's test set twice; the samples left out before, and each fold's after.
        "read": job.read_seconds(2 * test_images, folded=True) + job.read_seconds(2 * held, folded=False),
    }
    job.meter = WorkMeter(expected, clock=job.clock)


def _cross_validate(
    model: DigitNet, drawings: torch.Tensor, y: torch.Tensor, splits: list[np.ndarray], method: str, job: _Job
) -> int | None:
    """How many held-out samples the copies fine-tuned without them read right; None if stopped.

    drawings: (N, V, 1, 28, 28); a held-out sample is read as it was taught (its first drawing), and none of
    its re-drawn variants is trained on.
    """
    labels = y.numpy()
    correct = 0
    for number, held_out in enumerate(splits, 1):
        kept = np.setdiff1d(np.arange(len(labels)), held_out)
        stage = fold_stage(method, number, len(splits), len(held_out))
        fold = _fine_tune_once(model, drawings[kept], y[kept], job, stage)
        if fold is None:
            return None
        correct += int((_predicted(fold, drawings[held_out, 0]) == labels[held_out]).sum())
        job.advance("read", job.read_seconds(len(held_out), folded=False), stage, job.config.steps, job.config.steps)
    return correct


def _redrawn(
    images: np.ndarray, strokes: Sequence[list[Stroke]] | None, config: FinetuneConfig, job: _Job
) -> torch.Tensor | None:
    """(N, V, 1, 28, 28): each sample's image, then its re-drawn variants (the image alone without strokes);
    None if stopped. Each sample re-drawn is a piece of the progress."""
    count = config.redrawn_variants if strokes is not None else 1
    drawings = np.empty((len(images), max(count, 1), *images.shape[1:]), np.uint8)
    drawings[:, 0] = images
    if count > 1:
        rng = np.random.default_rng(config.seed)
        for index, (image, sample_strokes) in enumerate(zip(images, strokes, strict=True)):
            if job.stopping():
                return None
            drawings[index] = redrawn_variants(sample_strokes, image, count, rng, config.stroke_jitter)
            job.advance("render", _render_seconds(sample_strokes, count), REDRAW_STAGE, index + 1, len(images))
    flat = images_to_tensor(drawings.reshape(-1, *images.shape[1:]), torch.device("cpu"))
    return flat.reshape(len(images), drawings.shape[1], *flat.shape[1:])


def _personal_before(model: DigitNet, drawings: torch.Tensor, labels: np.ndarray, held: np.ndarray, job: _Job) -> Score:
    """How many of the samples ``held`` out the model before fine-tuning reads right (as they were taught)."""
    score = Score(int((_predicted(model, drawings[held, 0]) == labels[held]).sum()), len(held))
    job.advance("read", job.read_seconds(len(held), folded=False), PERSONAL_BEFORE_STAGE, len(held), len(held))
    return score


def finetune(
    model: DigitNet,
    images: np.ndarray,
    labels: np.ndarray,
    data: Mnist,
    config: FinetuneConfig | None = None,
    *,
    base_info: CheckpointInfo | None = None,
    strokes: Sequence[list[Stroke]] | None = None,
    progress: ProgressCallback | None = None,
    should_stop: Callable[[], bool] | None = None,
    progress_interval: float = 0.1,
    clock: Callable[[], float] = time.perf_counter,
) -> FinetuneResult | None:
    """Fine-tune a copy of ``model`` on personal ``images`` (N, 28, 28 uint8) and ``labels`` (N,) mixed with
    ``data``'s training images; None if ``should_stop`` ended it. ValueError for samples it cannot use.

    ``base_info``: the checkpoint description of ``model``; the result's says
    what it was fine-tuned from. ``strokes``: each sample's strokes, when
    known; the batches then also draw variants re-drawn from them
    (``config.redrawn_variants``). ``model`` itself is left as it was.
    ``clock``: what progress is timed with (tests give a fake one).
    """
    config = config or FinetuneConfig()
    labels = np.asarray(labels, dtype=np.int64)
    _check(model, images, labels, config, strokes)
    started = time.perf_counter()
    _use_threads(config)
    torch.manual_seed(config.seed)
    y = torch.from_numpy(labels)
    splits, method = held_out_splits(labels, config)
    job = _make_job(data, config, progress, should_stop, progress_interval, clock)
    test = (data.test_images[: config.test_subset], data.test_labels[: config.test_subset])
    x_test, y_test = images_to_tensor(test[0], torch.device("cpu")), torch.from_numpy(test[1].astype(np.int64))
    _start_meter(job, strokes, splits, len(x_test))
    drawings = _redrawn(images, strokes, config, job)
    if drawings is None:
        return None
    mnist_before = _mnist_accuracy(model, x_test, y_test, job, MNIST_BEFORE_STAGE)
    held = np.concatenate(splits) if splits else np.zeros(0, np.int64)
    # "Before" on the very digits "after" is measured on: all of them with k folds, the held-out share otherwise.
    personal_before = _personal_before(model, drawings, labels, held, job)
    correct = _cross_validate(model, drawings, y, splits, method, job)
    tuned = _fine_tune_once(model, drawings, y, job, FINAL_STAGE) if correct is not None else None
    if tuned is None:
        return None
    result = FinetuneResult(
        model=tuned,
        info=CheckpointInfo(model_config=model.config),
        samples=len(labels),
        method=method,
        personal_before=personal_before,
        personal_after=Score(correct, len(held)),
        mnist_before=mnist_before,
        mnist_after=_mnist_accuracy(tuned, x_test, y_test, job, MNIST_AFTER_STAGE),
        seconds=time.perf_counter() - started,
        folds=[split.tolist() for split in splits],
    )
    result.info = fine_tuned_info(result, config, base_info, len(test[0]), data.description())
    return result


def fine_tuned_info(
    result: FinetuneResult,
    config: FinetuneConfig,
    base_info: CheckpointInfo | None,
    test_images: int,
    data_description: dict,
) -> CheckpointInfo:
    """The self-description of a fine-tuned model: what it came from, on how many samples, its figures.

    ``data_description``: the MNIST it was mixed with, as :meth:`Mnist.description` gives it (no path).
    """
    base_metrics = dict(base_info.metrics) if base_info is not None else {}
    metrics = {
        "test_accuracy": result.mnist_after,
        "fine_tuning": {
            "samples": result.samples,
            "method": result.method,
            "personal_before": result.personal_before.accuracy,
            "personal_after": result.personal_after.accuracy,
            "personal_measured_on": result.personal_after.total,
            "mnist_before": result.mnist_before,
            "mnist_after": result.mnist_after,
            "seconds": round(result.seconds, 1),
        },
    }
    if CALIBRATION_METRIC in base_metrics:
        # Kept: a short gentle run hardly moves the logits' scale, and without it every "?" would change.
        metrics[CALIBRATION_METRIC] = base_metrics[CALIBRATION_METRIC]
    recipe = {"kind": FINE_TUNED, "fine_tune": config.to_dict()}
    if base_info is not None:
        # In today's form: an older base recorded its machine's settings and a multiplied-out augmentation.
        recipe["base_recipe"] = updated_recipe(base_info.recipe)
    data = {**data_description, "personal_samples": result.samples, "test_images": test_images}
    info = base_info or CheckpointInfo(model_config=result.model.config)
    return replace(info, model_config=result.model.config, metrics=metrics, recipe=recipe, data=data)
