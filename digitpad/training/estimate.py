"""How long a run will take: a few real training steps timed, scaled to the images the run will see
(:func:`estimate_run_seconds`); and, while a job of several kinds of work runs, how far it has come and how
long the rest will take (:class:`WorkMeter`)."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import replace

import numpy as np
import torch

from digitpad.base.constants import MNIST_SIZE, NUM_CLASSES
from digitpad.model.network import ModelConfig
from digitpad.model.tensors import choose_device
from digitpad.training.config import TrainConfig, check_config
from digitpad.training.loop import batch_layout, build_model, build_optimiser, evaluate, training_step

#: Shares of MNIST's training set that are each digit with a pen style
#: (:func:`digitpad.data.pen_styles.add_pen_styles`), and the share of the chosen ones
#: that the style's maker keeps: ``serif_one`` skips ones that are already
#: wide (81-82% kept on MNIST, for seeds 0, 1 and 3); the others keep all but
#: about one in a thousand.
MNIST_STYLE_SHARES = {"0": 5923 / 60000, "1": 6742 / 60000, "5": 5421 / 60000, "9": 5949 / 60000}
STYLE_KEPT = {"0": 1.0, "1": 0.818, "5": 0.999, "9": 0.9995}


def expected_train_images(config: TrainConfig, available: int) -> int:
    """About how many images a run of ``config`` trains on, given ``available`` training images.

    The subset cut first, then the pen-style variants added: ``pen_styles`` of
    the digits with a style again, a few skipped; the drawn ones,
    ``drawn_ones`` times the subset's 1s; and the non-digits, exactly
    ``non_digits`` of the subset. Assumes MNIST's share of each
    digit; on MNIST it is within 0.1% of the real count (60,000 images at
    0.5 with the styles of 0 and 1: 65,718 estimated, 65,719 real). The count
    to pass to :func:`estimate_run_seconds`.
    """
    count = min(available, config.train_subset) if config.train_subset else available
    non_digits = round(config.non_digits * count)
    drawn_ones = round(config.drawn_ones * round(count * MNIST_STYLE_SHARES["1"]))
    if config.pen_styles <= 0:
        return count + non_digits + drawn_ones
    variants = sum(
        round(int(round(count * MNIST_STYLE_SHARES[digit]) * config.pen_styles) * STYLE_KEPT[digit])
        for digit in config.pen_style_digits
    )
    return count + variants + non_digits + drawn_ones


def estimate_run_seconds(
    config: TrainConfig,
    model_config: ModelConfig,
    train_images: int,
    test_images: int = 10_000,
    *,
    steps: int = 8,
    device: str | torch.device | None = None,
) -> float:
    """Seconds a run of ``config`` would train and evaluate for, from timing a few of its steps.

    Builds the architecture on ``device`` (default: the recipe's), takes one
    warm-up step (the first ones allocate memory and pick kernels), then times
    ``steps`` real training steps (:func:`training_step`: augmentation as
    configured, forward, backward, optimiser step) on random images at the
    recipe's batch size, and one evaluation of twice that many. Extrapolates
    to ``config.epochs`` epochs of ``train_images`` images, each followed by
    an evaluation (:func:`evaluated_test_images` of ``test_images``).
    ``train_images`` is what the run trains on: pen styles add images, so pass
    :func:`expected_train_images`.

    Left out: loading the data, drawing the pen styles (:func:`synthesis_seconds`
    says how long), saving checkpoints. :func:`evaluate`'s batches of 1000 cost a little more per
    image than the batch timed here (2% of the shipped recipe's run on 2 CPU
    cores). The figure reflects how busy the machine is now; it took 0.5 s
    for the 32-64-128 model on 2 CPU cores (plus about a second the first
    time a process builds a torch optimizer, which imports ``torch._dynamo``).

    Runs with ``config.threads`` torch threads if set, as the run would, and
    restores the count after; torch's global random state is left as it was.
    """
    if train_images < 1 or test_images < 0 or steps < 1:
        raise ValueError("train_images and steps must be at least 1, test_images not negative")
    check_config(config)
    device = choose_device(config.device if device is None else str(device))
    batch_size, batches = batch_layout(config, train_images)
    threads_before = torch.get_num_threads()
    try:
        if config.threads:
            torch.set_num_threads(config.threads)
        with _forked_rng(device):
            step_seconds, evaluation_seconds_per_image = _time_steps(config, model_config, device, batch_size, steps)
    finally:
        torch.set_num_threads(threads_before)
    evaluated = evaluated_test_images(config, test_images)
    return config.epochs * batches * step_seconds + evaluated * evaluation_seconds_per_image


def evaluated_test_images(config: TrainConfig, test_images: int) -> int:
    """Test images a run of ``config`` evaluates over all its epochs: every one after the last epoch, and
    ``config.epoch_test_images`` (if set) after each of the others."""
    per_epoch = min(config.epoch_test_images or test_images, test_images)
    return test_images + (config.epochs - 1) * per_epoch


#: Training steps taken before the timed ones.
WARM_UP_STEPS = 3

#: Images drawn for timing the synthesis of pen styles and drawn ones.
SYNTHESIS_PROBES = 6


def synthesis_seconds(config: TrainConfig, available: int) -> float:
    """Seconds a run of ``config`` on ``available`` training images spends drawing its pen styles and drawn ones
    before the first epoch: a few drawn ones timed (a style costs about as much: strokes rendered and preprocessed
    as a drawing), times how many the run adds (see :func:`expected_train_images`)."""
    from digitpad.data.pen_styles import drawn_one

    if config.pen_styles <= 0 and config.drawn_ones <= 0:
        return 0.0
    base = expected_train_images(replace(config, pen_styles=0.0, drawn_ones=0.0), available)
    added = expected_train_images(config, available) - base
    rng = np.random.default_rng(0)
    drawn_one(rng)  # the first one imports and allocates
    started = time.perf_counter()
    for _ in range(SYNTHESIS_PROBES):
        drawn_one(rng)
    return added * (time.perf_counter() - started) / SYNTHESIS_PROBES


def _time_steps(
    config: TrainConfig, model_config: ModelConfig, device: torch.device, batch_size: int, steps: int
) -> tuple[float, float]:
    """(seconds per training step, seconds per evaluated image) on random data, after a warm-up step."""
    generator = torch.Generator(device=device).manual_seed(config.seed)
    torch.manual_seed(config.seed)  # the model's initial weights; the caller's state is restored after
    model, _ = build_model(device, model_config)
    optimizer, scheduler = build_optimiser(model, config, total_steps=steps + WARM_UP_STEPS)
    # Twice the batch, so that each step gathers a shuffled batch as the real loop does.
    images = torch.rand(2 * batch_size, 1, MNIST_SIZE, MNIST_SIZE, generator=generator, device=device)
    labels = torch.randint(0, NUM_CLASSES, (2 * batch_size,), generator=generator, device=device)
    model.train()

    def step() -> None:
        index = torch.randperm(len(images), generator=generator, device=device)[:batch_size]
        training_step(model, images[index], labels[index], optimizer, scheduler, config, generator)

    # Warm-up: the first steps allocate memory and pick kernels (oneDNN builds its bfloat16 ones then: a
    # process's first step of the Best recipe took 0.3 s, which counted would have doubled the estimate).
    for _ in range(WARM_UP_STEPS):
        step()
    _synchronise(device)
    started = time.perf_counter()
    for _ in range(steps):
        step()
    _synchronise(device)
    step_seconds = (time.perf_counter() - started) / steps
    # Evaluation (eval mode, no gradients) costs about a third of a step per
    # image; timed rather than assumed, since that ratio varies with the device.
    evaluate(model, images, labels, batch_size=len(images))  # its batch's kernels picked
    started = time.perf_counter()
    evaluate(model, images, labels, batch_size=len(images))
    _synchronise(device)
    return step_seconds, (time.perf_counter() - started) / len(images)


def _forked_rng(device: torch.device):
    """A context that restores torch's global random state (CPU and ``device``) on exit."""
    if device.type == "cpu":
        return torch.random.fork_rng(devices=[], device_type="cpu")
    index = device.index if device.index is not None else (torch.cuda.current_device() if device.type == "cuda" else 0)
    return torch.random.fork_rng(devices=[index], device_type=device.type)


def _synchronise(device: torch.device) -> None:
    """Wait for the device's queued work, so that the clock measures it (CPU work is synchronous)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


#: No time left is guessed before this many seconds of work have been timed: from less, one slow piece
#: (the first step allocates memory) or one fast one makes the figure absurd.
ETA_AFTER_SECONDS = 2.0
#: The pace of a kind of work is measured over its latest this many seconds, so a machine that became busy
#: or idle shows in the estimate within that time.
PACE_WINDOW_SECONDS = 10.0
#: A kind of work timed for less than this, or in fewer pieces, takes the pace of all the work timed so far.
KIND_TIMED_SECONDS = 1.0
KIND_TIMED_PIECES = 3


class _Pace:
    """Seconds taken against seconds expected, over the latest pieces of work (about ``window`` seconds)."""

    def __init__(self, window: float) -> None:
        self.window = window
        self.pieces: deque[tuple[float, float]] = deque()
        #: Sums over the pieces kept.
        self.taken = self.expected = 0.0
        #: Every second and piece ever timed (the window forgets; these do not).
        self.timed, self.count = 0.0, 0

    def add(self, taken: float, expected: float) -> None:
        self.pieces.append((taken, expected))
        self.taken, self.expected, self.timed = self.taken + taken, self.expected + expected, self.timed + taken
        self.count += 1
        while len(self.pieces) > 1 and self.taken - self.pieces[0][0] >= self.window:
            old_taken, old_expected = self.pieces.popleft()
            self.taken, self.expected = self.taken - old_taken, self.expected - old_expected

    def ratio(self) -> float | None:
        """Seconds taken per second expected, over the window; None before any expected work."""
        return self.taken / self.expected if self.expected > 0 else None


class WorkMeter:
    """How far a job made of several kinds of work has come, and how long the rest will take.

    ``expected``: per kind of work (re-drawing samples, training steps, reading
    images...), the seconds it is expected to take, from measured costs per
    piece on a reference machine. Those weigh the kinds in :meth:`fraction`,
    which so moves at an even pace through every kind and never goes back.
    The pieces' real costs differ from one machine and load to the next, and
    not in the same ratio for every kind (threads that wait on each other
    slow the training, not the re-drawing), so :meth:`eta_seconds` scales
    each kind's expected seconds left by the pace measured on its own latest
    work, or, for a kind not yet timed long enough, by that of all the work
    timed so far. It says nothing (None) before ``min_seconds`` of work.

    ``clock``: seconds, monotonic; injectable for tests. Each :meth:`advance`
    charges the time since the previous one (or since the meter was made, or
    :meth:`set_aside`) to the piece it reports.
    """

    def __init__(
        self,
        expected: Mapping[str, float],
        *,
        clock: Callable[[], float] = time.perf_counter,
        min_seconds: float = ETA_AFTER_SECONDS,
        window: float = PACE_WINDOW_SECONDS,
    ) -> None:
        self.expected = dict(expected)
        self.done = dict.fromkeys(self.expected, 0.0)
        self._paces = {kind: _Pace(window) for kind in self.expected}
        self._all = _Pace(window)
        self._clock = clock
        self._min_seconds = min_seconds
        self._last = clock()

    def advance(self, kind: str, expected_seconds: float) -> None:
        """A piece of ``kind`` expected to take ``expected_seconds`` is done."""
        now = self._clock()
        taken, self._last = max(now - self._last, 0.0), now
        self.done[kind] += expected_seconds
        self._paces[kind].add(taken, expected_seconds)
        self._all.add(taken, expected_seconds)

    def set_aside(self) -> None:
        """The time since the last piece went to a one-off (building a model, the first optimiser's imports:
        seconds on a busy machine) that the work ahead does not repeat: it is charged to no kind."""
        self._last = self._clock()

    def fraction(self) -> float:
        """Of the whole job, each kind weighed by its expected seconds: 0 to 1, never going back."""
        total = sum(self.expected.values())
        done = sum(min(self.done[kind], expected) for kind, expected in self.expected.items())
        # The pieces' sums may miss the totals by a rounding error: done is done.
        return 1.0 if total <= 0 or done >= total * (1 - 1e-9) else done / total

    def eta_seconds(self) -> float | None:
        """Seconds the rest should take at the pace measured lately; None until it has been timed long enough."""
        overall = self._all.ratio()
        if self._all.timed < self._min_seconds or overall is None:
            return None
        if self.fraction() == 1.0:
            return 0.0
        left = 0.0
        for kind, expected in self.expected.items():
            pace = self._paces[kind]
            ratio = pace.ratio() if pace.timed >= KIND_TIMED_SECONDS and pace.count >= KIND_TIMED_PIECES else None
            left += max(expected - self.done[kind], 0.0) * (overall if ratio is None else ratio)
        return left
