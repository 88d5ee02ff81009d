"""The command line's parser: every subcommand and its options."""

from __future__ import annotations

import argparse

from digitpad.cli.common import add_data_dir_option


def _add_train_parser(commands: argparse._SubParsersAction) -> None:
    """``digitpad train``. Its settings default to None, meaning "not given": they then come from
    --recipe, or without one from the Best recipe (see train_settings)."""
    from digitpad.training.recipes import DEFAULT_RECIPE, RECIPES

    defaults = DEFAULT_RECIPE.train_config
    train = commands.add_parser("train", help="train a model on MNIST")
    add_data_dir_option(train)
    train.add_argument(
        "--recipe",
        choices=list(RECIPES),
        help="start from a named recipe: "
        + " or ".join(f"{name} ({recipe.title})" for name, recipe in RECIPES.items())
        + f" (default {DEFAULT_RECIPE.name}, whose settings the defaults below show); the options given override it",
    )
    train.add_argument("--epochs", type=int, help=f"default {defaults.epochs}")
    train.add_argument("--batch-size", type=int, help=f"default {defaults.batch_size}")
    train.add_argument("--lr", type=float, help=f"peak learning rate (default {defaults.learning_rate:g})")
    train.add_argument("--no-augment", action="store_true", default=None, help="train on the plain images")
    train.add_argument("--augment-strength", type=float, help="scale every augmentation range (default 1.0)")
    train.add_argument(
        "--pen-styles",
        type=float,
        help="fraction of 0s, 1s, 5s and 9s also added as slashed zeros, serif ones, detached-bar fives "
        f"and curled nines (0: off; default {defaults.pen_styles})",
    )
    train.add_argument(
        "--pen-style-digits",
        metavar="DIGITS",
        help=f"which of those styles to add, e.g. 01 as the first pass did (default {defaults.pen_style_digits})",
    )
    train.add_argument(
        "--drawn-ones",
        type=float,
        metavar="SHARE",
        help="add ones drawn from pen strokes (flag and stem in one stroke, as many people write them), "
        f"this many times the training 1s (0: off; default {defaults.drawn_ones:g})",
    )
    train.add_argument(
        "--non-digits",
        type=float,
        metavar="FRACTION",
        help="add synthetic non-digits (letters, scribbles) as this fraction of the training images, "
        "as an eleventh class, 'not a digit', which the model then has (0: off; default "
        f"{defaults.non_digits:g})",
    )
    _add_pen_data_options(train)
    train.add_argument("--seed", type=int, help=f"default {defaults.seed}")
    train.add_argument("--device", help=f"auto, cpu, cuda or mps (default {defaults.device})")
    train.add_argument("--channels", help="conv channels per block, e.g. 32,64,128")
    train.add_argument("--subset", type=int, help="train on the first N images only")
    train.add_argument("--init", metavar="PATH", help="start from these weights (fine-tuning) instead of a fresh model")
    train.add_argument(
        "--out",
        metavar="PATH",
        help="where to save the weights (default: <digitpad home>/weights/trained-<time>.safetensors)",
    )
    train.add_argument("--download", action="store_true", help="download MNIST first if it is not there")


def _add_pen_data_options(train: argparse.ArgumentParser) -> None:
    """``digitpad train``'s real pen data: files of digits and of letters, and the share of each per epoch."""
    from digitpad.training.config import LETTER_FILE_SHARE, PEN_FILE_SHARE

    train.add_argument(
        "--pen-data",
        action="append",
        metavar="FILE",
        help="real pen digits (JSON, gzipped or not; repeatable), drawn afresh each epoch as the pad draws them, "
        "each --pen-digits times an epoch",
    )
    train.add_argument(
        "--letters",
        action="append",
        metavar="FILE",
        help="real pen letters (repeatable): those that look like no digit are learnt as 'not a digit', "
        "--letter-share of them an epoch",
    )
    train.add_argument("--pen-digits", type=float, metavar="SHARE", help=f"default {PEN_FILE_SHARE:g} with --pen-data")
    train.add_argument(
        "--letter-share", type=float, metavar="SHARE", help=f"default {LETTER_FILE_SHARE:g} with --letters"
    )


def _add_calibrate_parser(commands: argparse._SubParsersAction) -> None:
    """``digitpad calibrate``. --weights is required, so that no default can rewrite the shipped file."""
    calibrate = commands.add_parser(
        "calibrate",
        help="calibrate the confidence (stored in the weights)",
        # Raw, so that the maintainers' command stays on one line.
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Fits a temperature on MNIST test digits 0-4999 (the shipped weights never saw the\n"
        "test set) so that the top probability is the chance of being right, prints the negative\n"
        "log-likelihood and the expected calibration error without and with it on digits\n"
        "5000-9999, and writes the weights with it in their metadata, the tensors unchanged.\n"
        "The shipped weights are rewritten only when --out names the file; from the source tree:\n\n"
        "  digitpad calibrate --weights weights/digitpad-cnn.safetensors --out weights/digitpad-cnn.safetensors",
    )
    calibrate.add_argument("--weights", metavar="PATH", required=True, help="the weights to calibrate")
    add_data_dir_option(calibrate)
    calibrate.add_argument(
        "--out", metavar="PATH", help="the file to write (default: over --weights, unless they are the shipped ones)"
    )


def _add_finetune_parser(commands: argparse._SubParsersAction) -> None:
    finetune = commands.add_parser(
        "finetune", help="fine-tune a model on your personal samples (taught in the app), mixed with MNIST"
    )
    finetune.add_argument("--weights", metavar="PATH", help="weights to start from (default: the shipped ones)")
    finetune.add_argument(
        "--out", metavar="PATH", help="where to save (default: the user folder's weights/fine-tuned-<time>.safetensors)"
    )
    finetune.add_argument("--samples", metavar="DIR", help="folder of personal samples (default: the app's)")
    finetune.add_argument("--steps", type=int, metavar="N", help="training steps of each run (default: 100)")
    add_data_dir_option(finetune)


def build_parser() -> argparse.ArgumentParser:
    from digitpad import __version__

    parser = argparse.ArgumentParser(
        prog="digitpad",
        description="Handwritten digit recognition: draw a digit and watch a CNN read it. "
        "Without a command, opens the app.",
    )
    parser.add_argument("--version", action="version", version=f"digitpad {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    gui = commands.add_parser("gui", help="open the app (the default)")
    gui.add_argument("--weights", metavar="PATH", help="weights to start with")

    _add_train_parser(commands)

    evaluate = commands.add_parser("eval", help="accuracy on MNIST's 10,000 test digits")
    evaluate.add_argument("--weights", metavar="PATH", help="weights to evaluate (default: the shipped ones)")
    add_data_dir_option(evaluate)

    predict = commands.add_parser(
        "predict", help="read digits from image files (PNG, JPEG) or drawings saved by the app (JSON)"
    )
    predict.add_argument("images", nargs="+", metavar="FILE")
    predict.add_argument("--weights", metavar="PATH")
    predict.add_argument(
        "--no-adapt",
        action="store_true",
        help="read with the model alone, not adapted to your taught samples (in the per-user folder)",
    )

    export = commands.add_parser("export", help="export the model")
    export.add_argument("--onnx", metavar="OUT", required=True, help="ONNX file to write")
    export.add_argument("--weights", metavar="PATH")

    _add_calibrate_parser(commands)
    _add_finetune_parser(commands)

    download = commands.add_parser("download", help="download MNIST into the per-user folder")
    download.add_argument("--dest", metavar="DIR", help="folder to put the files in")
    return parser
