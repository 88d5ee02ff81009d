"""Training speed: the seed article's CNN against digitpad's default recipe, through the same loop.

Both models are trained by :func:`digitpad.training.loop.train` (the routine behind
``digitpad train`` and the GUI), the seed's with its own recipe (plain Adam at
1e-3, batch 64, no augmentation, constant learning rate), digitpad's with
``TrainConfig()`` and ``ModelConfig()`` as they are (what ``digitpad train``
does: a one-epoch one-cycle schedule), and on request (``--runs
seed,default,default-3ep``) with the Train tab's 3-epoch budget. Every 1/8 epoch the
whole 10,000-image test set is evaluated with the clock paused; a run stops
once it first reaches the target accuracy (or at its epoch budget).

Printed: one line per evaluation, then per model the seconds of training to
the target and the images/s, then the ratio, in a block meant for quoting.

    python bench/train_speed.py                 # seed, default
    python bench/train_speed.py --runs default,default-3ep --repeats 3
    python bench/train_speed.py --help
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

import torch
from torch import nn

# Run from a checkout without installing: the repository root comes first.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from digitpad.data.mnist import load_mnist
from digitpad.model.network import DigitNet, ModelConfig
from digitpad.model.tensors import images_to_tensor
from digitpad.training.config import BatchProgress, EpochResult, TrainConfig
from digitpad.training.loop import evaluate, train
from digitpad.training.recipes import APP_DEFAULT, BEST

TARGET_ACCURACY = 0.99


class SeedCnn(nn.Module):
    """The seed article's Keras CNN, layer for layer.

    Conv2D(32, 3) relu, MaxPool 2, Conv2D(64, 3) relu, MaxPool 2, Conv2D(64, 3)
    relu, Flatten, Dense(64) relu, Dense(10); valid padding, so 28 -> 26 -> 13
    -> 11 -> 5 -> 3 and the dense layer sees 64 * 3 * 3 values. Initialised as
    Keras does (Glorot uniform weights, zero biases), which is what the
    article's numbers were obtained with.
    """

    def __init__(self) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.Conv2d(1, 32, 3),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(64, 64, 3),
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(64 * 3 * 3, 64),
            nn.ReLU(),
            nn.Linear(64, 10),
        )
        for layer in self.layers:
            if isinstance(layer, nn.Conv2d | nn.Linear):
                nn.init.xavier_uniform_(layer.weight)
                nn.init.zeros_(layer.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


#: The seed article's recipe: Adam (no weight decay), lr 1e-3 throughout,
#: batch 64, plain cross-entropy, no augmentation; capped at 5 epochs.
SEED_RECIPE = TrainConfig(
    epochs=5,
    batch_size=64,
    learning_rate=1e-3,
    weight_decay=0.0,
    label_smoothing=0.0,
    augment=False,
    optimizer="adam",
    schedule="constant",
)

# The seed trains on MNIST as it is: switch off extra training data the
# default recipe may add (pen styles, see digitpad/data/pen_styles.py) where it exists.
if "pen_styles" in {f.name for f in fields(TrainConfig)}:
    SEED_RECIPE = replace(SEED_RECIPE, pen_styles=0.0)


@dataclass
class Contender:
    name: str
    description: str
    build: Callable[[], nn.Module]
    recipe: TrainConfig
    #: What train() records of the model; None for the seed's (not a DigitNet).
    model_config: ModelConfig | None = None
    #: Trained to the end of its epochs whatever --full says (the clock to the finished model).
    to_the_end: bool = False


@dataclass
class RunResult:
    #: (epochs done, training seconds, test accuracy) at every evaluation.
    points: list[tuple[float, float, float]] = field(default_factory=list)
    seconds_to_target: float | None = None
    accuracy_at_target: float | None = None
    images: int = 0
    training_seconds: float = 0.0
    threads: int = 0
    load_before: tuple[float, float, float] = (0.0, 0.0, 0.0)
    load_after: tuple[float, float, float] = (0.0, 0.0, 0.0)
    #: From calling train() to its return (data preparation, pen styles, training, train()'s own evaluations),
    #: less the bench's own evaluations.
    wall_seconds: float = 0.0
    #: train()'s evaluation after its last epoch (the whole test set).
    final_accuracy: float | None = None

    @property
    def images_per_second(self) -> float:
        return self.images / self.training_seconds if self.training_seconds else 0.0

    @property
    def epochs_to_target(self) -> float:
        """Epochs trained when the target was first reached (nan if never)."""
        return next((done for done, _, accuracy in self.points if accuracy >= TARGET_ACCURACY), float("nan"))

    @property
    def best_accuracy(self) -> float:
        return max((accuracy for _, _, accuracy in self.points), default=0.0)


def run_one(contender: Contender, data, evals_per_epoch: int, run_to_end: bool, verbose: bool) -> RunResult:
    """Train one contender; the clock runs only while training batches."""
    result = RunResult(load_before=os.getloadavg())
    run_to_end = run_to_end or contender.to_the_end
    device = torch.device("cpu")
    x_test = images_to_tensor(data.test_images, device)
    y_test = torch.from_numpy(data.test_labels.astype("int64"))
    holder: dict[str, nn.Module] = {}
    # The clock starts when train() builds the model, i.e. after the data is
    # on the device, and stops around every evaluation (ours and train()'s own
    # at each epoch's end).
    clock = {"resumed": 0.0, "bench_evaluations": 0.0}
    reached = [False]

    def build() -> nn.Module:
        model = contender.build()
        holder["model"] = model
        clock["resumed"] = time.perf_counter()
        return model

    def record(epochs_done: float, accuracy: float) -> None:
        result.points.append((epochs_done, result.training_seconds, accuracy))
        if verbose:
            print(
                f"  {contender.name:8s} epoch {epochs_done:6.3f}  trained {result.training_seconds:7.2f} s  "
                f"test {accuracy * 100:6.2f}%",
                flush=True,
            )
        if accuracy >= TARGET_ACCURACY and result.seconds_to_target is None:
            result.seconds_to_target = result.training_seconds
            result.accuracy_at_target = accuracy
            reached[0] = True

    def progress(event: BatchProgress | EpochResult) -> None:
        now = time.perf_counter()
        if isinstance(event, EpochResult):
            result.final_accuracy = event.test_accuracy
            if reached[0] and not run_to_end:
                return  # the evaluation train() makes of a run stopped at the target
            # Only train()'s own evaluation happened since the last batch report (on a subset if the recipe
            # says so: then the bench's own whole-test-set evaluation is the point on the curve).
            if contender.recipe.epoch_test_images and event.epoch < event.epochs:
                if not reached[0]:
                    timed_evaluation(float(event.epoch))
            else:
                record(float(event.epoch), event.test_accuracy)
            clock["resumed"] = time.perf_counter()
            return
        result.training_seconds += now - clock["resumed"]
        clock["resumed"] = now
        result.images += contender.recipe.batch_size
        due = {round(k * event.batches / evals_per_epoch) for k in range(1, evals_per_epoch)}
        # After the target, a run to the end needs no more curve points: they would cost minutes of a long run.
        if event.batch in due and not reached[0]:
            timed_evaluation(event.epoch - 1 + event.batch / event.batches)
            clock["resumed"] = time.perf_counter()

    def timed_evaluation(epochs_done: float) -> None:
        started = time.perf_counter()
        model = holder["model"]
        _, accuracy, _ = evaluate(model, x_test, y_test)
        model.train()
        record(epochs_done, accuracy)
        clock["bench_evaluations"] += time.perf_counter() - started

    def should_stop() -> bool:
        return reached[0] and not run_to_end

    # progress_interval=0: a report after every batch, so that evaluations land
    # on exact fractions of an epoch. The report itself costs microseconds.
    started = time.perf_counter()
    train(
        data,
        contender.recipe,
        contender.model_config,
        progress=progress,
        should_stop=should_stop,
        progress_interval=0.0,
        model_factory=build,
    )
    result.wall_seconds = time.perf_counter() - started - clock["bench_evaluations"]
    result.threads = torch.get_num_threads()
    result.load_after = os.getloadavg()
    return result


def parse_overrides(settings: list[str], recipe: TrainConfig) -> dict:
    """``["batch_size=256", "augment=false"]`` -> typed values for :func:`dataclasses.replace`."""
    overrides = {}
    for setting in settings:
        name, _, text = setting.partition("=")
        if not hasattr(recipe, name) or name == "augment_config":
            raise SystemExit(f"--set {setting}: TrainConfig has no simple field {name!r}")
        current = getattr(recipe, name)
        if isinstance(current, bool):
            value = text.lower() in ("1", "true", "yes", "on")
        elif isinstance(current, int) or (current is None and text.isdigit()):
            value = int(text)
        elif isinstance(current, float):
            value = float(text)
        else:
            value = None if text.lower() == "none" else text
        overrides[name] = value
    return overrides


def format_load(load: tuple[float, float, float]) -> str:
    return " ".join(f"{value:.2f}" for value in load)


RUN_NAMES = ("seed", "default", "default-3ep", "quick", "best")
DEFAULT_RUNS = ("seed", "default")


def describe_default(recipe: TrainConfig, overrides: list[str]) -> str:
    return (
        f"DigitNet {ModelConfig().channels}, AdamW one-cycle peak {recipe.learning_rate:g}, "
        f"batch {recipe.batch_size}, {recipe.epochs}-epoch schedule, "
        f"augmentation {'on' if recipe.augment else 'off'}" + (f", with {' '.join(overrides)}" if overrides else "")
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", help="folder with the MNIST IDX files (default: $DIGITPAD_MNIST_DIR)")
    parser.add_argument(
        "--runs",
        default=",".join(DEFAULT_RUNS),
        help=f"comma-separated subset of {', '.join(RUN_NAMES)} (default: {','.join(DEFAULT_RUNS)})",
    )
    parser.add_argument(
        "--recipe",
        choices=("best",),
        help="best: the Best recipe (digitpad.training.recipes.BEST) to its end beside the seed and the quick recipe "
        "(the same as --runs seed,quick,best)",
    )
    parser.add_argument("--seed-epochs", type=int, default=SEED_RECIPE.epochs, help="epoch cap for the seed model")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="override a TrainConfig field of both default runs (repeatable), e.g. --set batch_size=256",
    )
    parser.add_argument("--evals-per-epoch", type=int, default=8, help="test-set evaluations per epoch")
    parser.add_argument("--repeats", type=int, default=1, help="runs of each; the summary takes medians")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's choice, one per core)")
    parser.add_argument("--full", action="store_true", help="train to the end instead of stopping at the target")
    parser.add_argument("--quiet", action="store_true", help="no line per evaluation")
    args = parser.parse_args(argv)
    if args.recipe == "best":
        args.runs = "seed,quick,best"
    names = [name.strip() for name in args.runs.split(",") if name.strip()]
    unknown = set(names) - set(RUN_NAMES)
    if unknown:
        parser.error(f"--runs: unknown {', '.join(sorted(unknown))}; choose from {', '.join(RUN_NAMES)}")

    if args.threads:
        torch.set_num_threads(args.threads)
    data = load_mnist(args.data_dir)
    default_recipe = TrainConfig()
    default_recipe = replace(default_recipe, **parse_overrides(args.set, default_recipe))
    three_epoch_recipe = replace(default_recipe, epochs=3)
    quick = replace(APP_DEFAULT.train_config, **{"epochs": 1, **parse_overrides(args.set, APP_DEFAULT.train_config)})
    contenders = {
        "quick": Contender(
            "quick",
            f"the Train tab's Quick recipe in a one-epoch schedule: DigitNet {APP_DEFAULT.model_config.channels} "
            f"pooled before its first norm, bf16 {'on' if quick.bf16 else 'off'}, peak {quick.learning_rate:g}",
            lambda: DigitNet(APP_DEFAULT.model_config),
            quick,
            APP_DEFAULT.model_config,
        ),
        "best": Contender(
            "best",
            f"the Best recipe ({BEST.title}): DigitNet {BEST.model_config.channels} pooled before its first norm, "
            f"bf16 where the CPU has it, to its end (--set does not apply)",
            lambda: DigitNet(BEST.model_config),
            BEST.train_config,
            BEST.model_config,
            to_the_end=True,
        ),
        "seed": Contender(
            "seed",
            "the seed article's CNN (conv32-pool-conv64-pool-conv64-dense64-dense10), Adam 1e-3 constant, "
            "batch 64, no augmentation",
            SeedCnn,
            replace(SEED_RECIPE, epochs=args.seed_epochs),
        ),
        "default": Contender(
            "default",
            f"digitpad's default recipe, TrainConfig() as is: {describe_default(default_recipe, args.set)}",
            lambda: DigitNet(ModelConfig()),
            default_recipe,
        ),
        "default-3ep": Contender(
            "default-3ep",
            "the default recipe with the Train tab's 3-epoch budget (`digitpad train --epochs 3`): "
            f"{describe_default(three_epoch_recipe, args.set)}",
            lambda: DigitNet(ModelConfig()),
            three_epoch_recipe,
        ),
    }

    load = os.getloadavg()
    print(f"train_speed: torch {torch.__version__}, python {platform.python_version()}, {os.cpu_count()} CPUs")
    print(f"torch threads {torch.get_num_threads()}, load average at start {format_load(load)}")
    if load[0] > 0.5 * (os.cpu_count() or 1):
        print("WARNING: the machine is busy; the seconds below are not comparable with a quiet run")
    print(
        f"target: {TARGET_ACCURACY:.1%} on all {len(data.test_images)} test digits, evaluated every "
        f"1/{args.evals_per_epoch} epoch with the clock paused; {'full runs' if args.full else 'stop at target'}"
    )
    results: dict[str, list[RunResult]] = {name: [] for name in names}
    for repeat in range(args.repeats):
        for name in names:
            contender = contenders[name]
            print(f"[{name} run {repeat + 1}/{args.repeats}] {contender.description}", flush=True)
            outcome = run_one(contender, data, args.evals_per_epoch, args.full, not args.quiet)
            results[name].append(outcome)
            print(
                f"  -> to {TARGET_ACCURACY:.1%}: "
                + (f"{outcome.seconds_to_target:.2f} s" if outcome.seconds_to_target is not None else "not reached")
                + f", {outcome.images_per_second:.0f} images/s, best {outcome.best_accuracy:.2%}, "
                f"load {format_load(outcome.load_before)} -> {format_load(outcome.load_after)}",
                flush=True,
            )

    print()
    print("=" * 100)
    print(
        f"SUMMARY train_speed (median of {args.repeats} run(s) each), torch threads {torch.get_num_threads()}, "
        f"load average at start {format_load(load)}, now {format_load(os.getloadavg())}"
    )
    medians: dict[str, float | None] = {}
    for name in names:
        runs = results[name]
        times = [run.seconds_to_target for run in runs]
        reached = [t for t in times if t is not None]
        medians[name] = statistics.median(reached) if len(reached) == len(runs) else None
        rate = statistics.median(run.images_per_second for run in runs)
        epochs = statistics.median(
            next((done for done, _, accuracy in run.points if accuracy >= TARGET_ACCURACY), float("nan"))
            for run in runs
        )
        shown = f"{medians[name]:6.2f} s" if medians[name] is not None else "not reached"
        print(
            f"  {name:11s} to {TARGET_ACCURACY:.1%}: {shown} ({epochs:.3g} epochs)  {rate:6.0f} images/s  "
            f"best {max(run.best_accuracy for run in runs):.2%}"
        )
        print(f"              {contenders[name].description}")
    seed_time = medians.get("seed")
    if "best" in names:
        runs = results["best"]
        wall = statistics.median(run.wall_seconds for run in runs)
        final = statistics.median(run.final_accuracy or 0.0 for run in runs)
        print(
            f"  best: to the finished model {wall:.1f} s wall-clock (data preparation and pen styles included), "
            f"final MNIST test {final:.2%}; <= 180 s: {'met' if wall <= 180 else 'NOT met'}, "
            f">= 99.6%: {'met' if final >= 0.996 else 'NOT met'}"
            + (f"; seed's time to 99.0% / best's wall = {seed_time / wall:.3f}" if seed_time else "")
        )
    if "quick" in names:
        own = medians.get("quick")
        parts = [f"to 99.0% <= 3 s: {'met' if own is not None and own <= 3 else 'NOT met'}"]
        if seed_time and own:
            parts.append(f"seed/quick = {seed_time / own:.2f}x, >= 6x: {'met' if seed_time / own >= 6 else 'NOT met'}")
        print("  targets for quick: " + "; ".join(parts))
    for name in ("default", "default-3ep"):
        own = medians.get(name)
        if name not in names:
            continue
        parts = [f"<= 10 s: {'met' if own is not None and own <= 10 else 'NOT met'}"]
        if seed_time and own:
            ratio = seed_time / own
            parts.append(f"seed/{name} = {ratio:.2f}x, >= 3x: {'met' if ratio >= 3 else 'NOT met'}")
        print(f"  targets for {name}: " + "; ".join(parts))
    print("=" * 100)
    return 0


if __name__ == "__main__":
    sys.exit(main())
