"""``digitpad train`` and ``digitpad eval``."""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from digitpad.cli.common import EXIT_OK, CliError, check_writable, load_data, load_predictor, read_checkpoint

if TYPE_CHECKING:  # imported where used: torch takes a second to import, the app should not wait for it
    from digitpad.model.network import ModelConfig
    from digitpad.training.config import TrainConfig
    from digitpad.training.loop import PenSets
    from digitpad.training.recipes import Recipe


def chosen_recipe(args: argparse.Namespace) -> Recipe:
    """--recipe's recipe, the Best recipe without one."""
    from digitpad.training.recipes import DEFAULT_RECIPE, recipe_named

    return recipe_named(args.recipe) or DEFAULT_RECIPE


def train_settings(args: argparse.Namespace) -> tuple[TrainConfig, ModelConfig]:
    """The run's (TrainConfig, ModelConfig): --recipe's (the Best recipe without one), with every option given on
    the command line put over them."""
    from dataclasses import replace

    from digitpad.base.constants import NOT_A_DIGIT
    from digitpad.data.augment import AugmentConfig
    from digitpad.training.config import LETTER_FILE_SHARE, PEN_FILE_SHARE

    recipe = chosen_recipe(args)
    config, model_config = recipe.train_config, recipe.model_config
    given = {
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "learning_rate": args.lr,
        "augment": False if args.no_augment else None,
        # The strength scales the default ranges, whatever the recipe's.
        "augment_config": None if args.augment_strength is None else AugmentConfig().scaled(args.augment_strength),
        "seed": args.seed,
        "pen_styles": args.pen_styles,
        "pen_style_digits": args.pen_style_digits,
        "drawn_ones": args.drawn_ones,
        "device": args.device,
        "train_subset": args.subset,
        "non_digits": args.non_digits,
        "pen_digits": args.pen_digits,
        "letters": args.letter_share,
    }
    config = replace(config, **{name: value for name, value in given.items() if value is not None})
    # A file given without its share gets the default share; a share given without its file is refused by train().
    if args.pen_data and not config.pen_digits:
        config = replace(config, pen_digits=PEN_FILE_SHARE)
    if args.letters and not config.letters:
        config = replace(config, letters=LETTER_FILE_SHARE)
    if args.channels:
        try:
            channels = tuple(int(c) for c in args.channels.split(","))
        except ValueError as error:
            raise CliError(f"--channels: expected numbers separated by commas, got {args.channels!r}") from error
        try:
            model_config = replace(model_config, channels=channels)
        except ValueError as error:  # out of the architecture's bounds (ModelConfig says which)
            raise CliError(f"--channels: {error}") from error
    if config.declines:
        # Non-digits are learnt as an eleventh class: whatever the recipe's
        # architecture, it gets that output (--recipe shipped --non-digits 0.15).
        model_config = replace(model_config, num_classes=NOT_A_DIGIT + 1)
    return config, model_config


def _progress_printer():
    """The progress callback of ``digitpad train``: a line every 2 s at most, one per finished epoch."""
    from digitpad.training.config import BatchProgress

    last_line = [0.0]

    def report(event) -> None:
        if isinstance(event, BatchProgress):
            now = time.monotonic()
            if now - last_line[0] < 2 and event.batch != event.batches:
                return
            last_line[0] = now
            print(
                f"epoch {event.epoch}/{event.epochs} batch {event.batch}/{event.batches} "
                f"loss {event.loss:.4f} acc {event.accuracy:.4f} "
                f"{event.images_per_second:.0f} img/s eta {event.eta_seconds:.0f}s",
                flush=True,
            )
        else:
            declining = ""
            if event.non_digit_recall is not None:
                declining = (
                    f", not a digit: {event.non_digit_recall:.4f} of non-digits, "
                    f"{event.digits_declined:.4f} of test digits"
                )
            print(
                f"epoch {event.epoch}/{event.epochs} done in {event.seconds:.1f}s: "
                f"train loss {event.train_loss:.4f} acc {event.train_accuracy:.4f}, "
                f"test loss {event.test_loss:.4f} acc {event.test_accuracy:.4f}"
                + (f" (on {event.test_sample:,} test images)" if event.test_sample else "")
                + declining,
                flush=True,
            )

    return report


def load_pen_sets(digit_files: Sequence[str], letter_files: Sequence[str]) -> PenSets:
    """The pen-data files of --pen-data and --letters, read and checked; CliError naming a file that is not one."""
    from digitpad.data.pen_data import PenDataError, load_pen_data
    from digitpad.training.loop import PenSets

    try:
        digits = tuple(load_pen_data(path) for path in digit_files)
        letters = tuple(load_pen_data(path) for path in letter_files)
    except PenDataError as error:
        raise CliError(str(error)) from error
    for file in digits:
        if not file.digits:
            raise CliError(f"{file.name}: --pen-data needs digits (labels 0-9), and this file has none")
    for file in letters:
        if not file.no_digit_letters:
            raise CliError(f"{file.name}: --letters needs letters that look like no digit, and this file has none")
    for file in digits + letters:
        print(f"pen data {file.name}: {len(file.samples)} samples, sha256 {file.sha256[:12]}", flush=True)
    return PenSets(digits=digits, letters=letters)


def train_command(args: argparse.Namespace) -> int:
    from digitpad.base.paths import user_weights_dir
    from digitpad.training.loop import train

    config, model_config = train_settings(args)
    out = Path(args.out) if args.out else user_weights_dir() / time.strftime("trained-%Y%m%d-%H%M%S.safetensors")
    check_writable(out)
    data = load_data(args.data_dir, args.download)
    count = min(len(data.train_images), config.train_subset or len(data.train_images))
    recipe = chosen_recipe(args)
    print(f"recipe {recipe.name}: {recipe.title}", flush=True)
    print(f"training on {count} images from {data.source}; saving to {out}", flush=True)
    initial_model = read_checkpoint(args.init).model if args.init else None  # --init: fine-tune it
    pen = load_pen_sets(args.pen_data or (), args.letters or ())
    try:
        result = train(
            data,
            config,
            model_config,
            progress=_progress_printer(),
            checkpoint_path=out,
            initial_model=initial_model,
            pen=pen,
        )
    except ValueError as error:
        raise CliError(str(error)) from error
    except OSError as error:  # --out was writable at the start; a full disk can still stop a save
        raise CliError(f"{out}: cannot save the model: {error.strerror or error}") from error
    print(f"saved {result.checkpoint}")
    last = result.history[-1]
    if last.non_digit_recall is not None:
        print(f"non-digits read as not a digit: {last.non_digit_recall:.4f}")
        print(f"test digits read as not a digit: {last.digits_declined:.4f}")
    print(f"accuracy: {last.test_accuracy:.4f}")
    return EXIT_OK


def eval_command(args: argparse.Namespace) -> int:
    """Accuracy on MNIST's test digits, per digit and overall. For a model with "not a digit", that answer
    counts as wrong, and the share of digits that got it is printed too."""
    import numpy as np

    from digitpad.base.constants import NOT_A_DIGIT, NUM_CLASSES
    from digitpad.ink.preprocess import normalise

    predictor = load_predictor(args.weights)
    data = load_data(args.data_dir)
    if len(data.test_images) == 0:
        raise CliError(f"{data.source}: no test images to evaluate on")
    images = normalise(data.test_images.astype(np.float32) / 255)
    # Logits, not probabilities: the argmax is the same, and it spares a softmax.
    predicted = predictor.logits_batch(images).argmax(1)
    labels = data.test_labels
    print(f"weights: {predictor.source}")
    for digit in range(NUM_CLASSES):
        mask = labels == digit
        print(f"  {digit}: {float((predicted[mask] == digit).mean()):.4f} ({int(mask.sum())} digits)")
    if predictor.model.config.has_not_a_digit:
        print(f"read as not a digit: {float((predicted == NOT_A_DIGIT).mean()):.4f}")
    print(f"accuracy: {float((predicted == labels).mean()):.4f}")
    return EXIT_OK
