"""The ``digitpad`` command: no arguments opens the app, subcommands work headless.

Every error ends with a one-line message on stderr and a non-zero exit
status, never a traceback (set DIGITPAD_DEBUG=1 to see one).
"""

from __future__ import annotations

import argparse
import errno
import importlib.util
import os
import stat
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported where used: torch takes a second to import, the app should not wait for it
    from digitpad.model import ModelConfig
    from digitpad.train import TrainConfig

# numpy's OpenBLAS splits even the small matrix products of preprocessing
# over every core, and each then waits for a helper thread: 0.08 ms becomes
# 12-28 ms when the other core is busy. Only effective before numpy is
# imported, which is why it is here, at the top of the entry point (the
# window also sets it at run time, see gui/threads.py).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

#: Exit statuses.
EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class CliError(Exception):
    """An expected failure, reported as one line."""


def _add_data_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        help="folder with the four MNIST IDX files, gzipped or raw "
        "(default: $DIGITPAD_MNIST_DIR, else the downloaded copy)",
    )


def _add_train_parser(commands: argparse._SubParsersAction) -> None:
    """``digitpad train``. Its settings default to None, meaning "not given": they then come from
    --recipe, or without one from TrainConfig() and ModelConfig() (see train_settings)."""
    from digitpad.recipes import RECIPES
    from digitpad.train import TrainConfig

    defaults = TrainConfig()
    train = commands.add_parser("train", help="train a model on MNIST")
    _add_data_dir(train)
    train.add_argument(
        "--recipe",
        choices=list(RECIPES),
        help="start from a named recipe: "
        + " or ".join(f"{name} ({recipe.title})" for name, recipe in RECIPES.items())
        + "; the options given override it, and without a recipe the defaults shown apply",
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
    _add_data_dir(calibrate)
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
    _add_data_dir(finetune)


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
    _add_data_dir(evaluate)

    predict = commands.add_parser(
        "predict", help="read digits from image files (PNG, JPEG) or drawings saved by the app (JSON)"
    )
    predict.add_argument("images", nargs="+", metavar="FILE")
    predict.add_argument("--weights", metavar="PATH")

    export = commands.add_parser("export", help="export the model")
    export.add_argument("--onnx", metavar="OUT", required=True, help="ONNX file to write")
    export.add_argument("--weights", metavar="PATH")

    _add_calibrate_parser(commands)
    _add_finetune_parser(commands)

    download = commands.add_parser("download", help="download MNIST into the per-user folder")
    download.add_argument("--dest", metavar="DIR", help="folder to put the files in")
    return parser


def _run_gui(weights: str | None) -> int:
    try:
        from digitpad.gui.app import run_app
    except ImportError as error:
        raise CliError(f"the app needs PySide6 and pyqtgraph: {error}") from error
    return run_app(weights=weights)


def _load_data(data_dir: str | None, download: bool = False):
    from digitpad.data import DataError, has_mnist, load_mnist, resolve_data_dir

    folder = resolve_data_dir(data_dir)
    if download and not has_mnist(folder):
        _download(str(folder))
    try:
        return load_mnist(folder)
    except DataError as error:
        hint = "" if has_mnist(folder) else " (run 'digitpad download' or pass --data-dir)"
        raise CliError(f"{error}{hint}") from error


def _download(dest: str | None) -> Path:
    from digitpad.download import DownloadError, download_mnist

    last = [0.0]

    def report(name: str, done: int, total: int | None) -> None:
        now = time.monotonic()
        if now - last[0] >= 0.5 or (total and done >= total):
            last[0] = now
            size = f"{done / 1e6:.1f}/{total / 1e6:.1f} MB" if total else f"{done / 1e6:.1f} MB"
            print(f"  {name}: {size}", flush=True)

    try:
        folder = download_mnist(Path(dest) if dest else None, progress=report)
    except DownloadError as error:
        raise CliError(str(error)) from error
    print(f"MNIST is in {folder}")
    return folder


def train_settings(args: argparse.Namespace) -> tuple[TrainConfig, ModelConfig]:
    """The run's (TrainConfig, ModelConfig): --recipe's, or without one TrainConfig() and ModelConfig(),
    with every option given on the command line put over them."""
    from dataclasses import replace

    from digitpad.augment import AugmentConfig
    from digitpad.constants import NOT_A_DIGIT
    from digitpad.model import ModelConfig
    from digitpad.recipes import RECIPES
    from digitpad.train import TrainConfig

    if args.recipe:
        config, model_config = RECIPES[args.recipe].train_config, RECIPES[args.recipe].model_config
    else:
        config, model_config = TrainConfig(), ModelConfig()
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
    }
    config = replace(config, **{name: value for name, value in given.items() if value is not None})
    if args.channels:
        try:
            channels = tuple(int(c) for c in args.channels.split(","))
        except ValueError as error:
            raise CliError(f"--channels: expected numbers separated by commas, got {args.channels!r}") from error
        try:
            model_config = replace(model_config, channels=channels)
        except ValueError as error:  # out of the architecture's bounds (ModelConfig says which)
            raise CliError(f"--channels: {error}") from error
    if config.non_digits > 0:
        # Non-digits are learnt as an eleventh class: whatever the recipe's
        # architecture, it gets that output (--recipe shipped --non-digits 0.15).
        model_config = replace(model_config, num_classes=NOT_A_DIGIT + 1)
    return config, model_config


def _progress_printer():
    """The progress callback of ``digitpad train``: a line every 2 s at most, one per finished epoch."""
    from digitpad.train import BatchProgress

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
                f"test loss {event.test_loss:.4f} acc {event.test_accuracy:.4f}{declining}",
                flush=True,
            )

    return report


def _load_checkpoint(path: str | os.PathLike):
    """The checkpoint at ``path``; CliError (one line naming the file) if it cannot be used."""
    from digitpad.checkpoint import CheckpointError, load_checkpoint

    try:
        return load_checkpoint(path)
    except CheckpointError as error:
        raise CliError(str(error)) from error


def _save_checkpoint(out: Path, model, info) -> Path:
    """Save atomically to ``out``; CliError if the disk refuses (``out`` was checked writable up front)."""
    from digitpad.checkpoint import save_checkpoint

    try:
        return save_checkpoint(out, model, info)
    except OSError as error:
        raise CliError(f"{out}: cannot save the model: {error.strerror or error}") from error


def _load_initial_model(path: str | None):
    """The model to fine-tune (--init), or None to train a fresh one."""
    return _load_checkpoint(path).model if path else None


def check_writable(out: Path) -> None:
    """CliError unless the weights can be saved to ``out``: checked before a run, not after its first epoch.

    Creates the folder, then creates and removes a temporary file in it, which
    is what the atomic save will do (so an existing read-only ``out`` is fine).
    """
    import tempfile

    if out.is_dir():
        raise CliError(f"--out {out}: is a folder; name the file to write")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise CliError(f"{out}: cannot create the folder {out.parent}: {error.strerror or error}") from error
    try:
        with tempfile.NamedTemporaryFile(prefix=f".{out.name}.", suffix=".check", dir=out.parent):
            pass
    except OSError as error:
        raise CliError(f"{out}: cannot write in {out.parent}: {error.strerror or error}") from error


def _train(args: argparse.Namespace) -> int:
    from digitpad.paths import user_weights_dir
    from digitpad.recipes import RECIPES
    from digitpad.train import train

    config, model_config = train_settings(args)
    out = Path(args.out) if args.out else user_weights_dir() / time.strftime("trained-%Y%m%d-%H%M%S.safetensors")
    check_writable(out)
    data = _load_data(args.data_dir, args.download)
    count = min(len(data.train_images), config.train_subset or len(data.train_images))
    if args.recipe:
        print(f"recipe {args.recipe}: {RECIPES[args.recipe].title}", flush=True)
    print(f"training on {count} images from {data.source}; saving to {out}", flush=True)
    initial_model = _load_initial_model(args.init)
    try:
        result = train(
            data, config, model_config, progress=_progress_printer(), checkpoint_path=out, initial_model=initial_model
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


def _load_predictor(weights: str | None, gate: bool = False):
    """The weights' predictor; with ``gate``, the shipped gate too, as the app reads (see digitpad.gate)."""
    from digitpad.checkpoint import CheckpointError
    from digitpad.gate import attach_gate
    from digitpad.inference import Predictor

    try:
        predictor = Predictor.from_checkpoint(weights)
    except CheckpointError as error:
        raise CliError(str(error)) from error
    return attach_gate(predictor) if gate else predictor


def _eval(args: argparse.Namespace) -> int:
    """Accuracy on MNIST's test digits, per digit and overall. For a model with "not a digit", that answer
    counts as wrong, and the share of digits that got it is printed too."""
    import numpy as np

    from digitpad.constants import NOT_A_DIGIT, NUM_CLASSES
    from digitpad.preprocess import normalise

    predictor = _load_predictor(args.weights)
    data = _load_data(args.data_dir)
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


def check_image_path(path: Path) -> None:
    """CliError unless ``path`` is a regular file (symlinks followed): say what it is instead.

    Only stat is used, so a FIFO is named, never opened (opening one would wait for a writer).
    """
    try:
        mode = path.stat().st_mode
    except FileNotFoundError as error:
        # A dangling symlink also lands here: name where it points.
        target = f" (a symlink to {os.readlink(path)}, which does not exist)" if path.is_symlink() else ""
        raise CliError(f"{path}: no such file{target}") from error
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise CliError(f"{path}: a symlink loop (the links never reach a file)") from error
        raise CliError(f"{path}: cannot read: {error.strerror or error}") from error
    if stat.S_ISDIR(mode):
        raise CliError(f"{path}: is a folder, not an image file")
    if not stat.S_ISREG(mode):
        kind = "a FIFO (named pipe)" if stat.S_ISFIFO(mode) else "a device or a socket"
        raise CliError(f"{path}: is {kind}, not a regular file")


def read_image(path: Path):
    """Read a PNG or JPEG as a grey float array in [0, 1] (Pillow, or Qt if Pillow is missing).

    Images over MAX_IMAGE_PIXELS are refused from their header, before decoding.
    """
    check_image_path(path)
    if importlib.util.find_spec("PIL") is None:
        from digitpad.gui.image_io import read_grey_image

        try:
            return read_grey_image(path)
        except ValueError as error:
            raise CliError(str(error)) from error
    return _read_with_pillow(path)


def _read_with_pillow(path: Path):
    """:func:`read_image` with Pillow: transparency composited onto white paper."""
    import warnings

    import numpy as np
    from PIL import Image, UnidentifiedImageError

    from digitpad.preprocess import MAX_IMAGE_PIXELS

    try:
        with warnings.catch_warnings():
            # Pillow warns from 89M pixels (our own, lower limit below refuses those anyway) and about
            # damaged metadata such as corrupt EXIF: the image is read or refused in one line regardless.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            warnings.simplefilter("ignore", UserWarning)
            opened = Image.open(path)
        with opened as image, warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            width, height = image.size
            if width * height > MAX_IMAGE_PIXELS:
                raise CliError(_too_large(path, width, height))
            if "transparency" in image.info:
                # Palette or single-colour transparency (PNG tRNS): make it an alpha
                # band first, or the grey conversion drops it and shows the hidden colour.
                image = image.convert("RGBA")
            image = image.convert("LA") if "A" in image.getbands() else image.convert("L")
            array = np.asarray(image, dtype=np.float32) / 255
    except Image.DecompressionBombError as error:
        raise CliError(f"{path}: image too large ({error})") from error
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        # Pillow reports some damaged files (a broken PNG chunk) as SyntaxError.
        raise CliError(f"{path}: not a readable image ({error})") from error
    if array.ndim == 3:  # composite transparency onto white paper
        grey, alpha = array[..., 0], array[..., 1]
        array = grey * alpha + (1 - alpha)
    return array


def _too_large(path: Path, width: int, height: int) -> str:
    from digitpad.preprocess import MAX_IMAGE_PIXELS

    return f"{path}: image too large ({width}x{height} pixels; at most {MAX_IMAGE_PIXELS:,}, e.g. 4096x4096)"


def _read_drawing_file(predictor, path: Path) -> str:
    """What the app reads in a drawing saved as JSON (a digit or a number; "" when nothing is drawn)."""
    from digitpad.drawings import DrawingError, load_drawing
    from digitpad.reading import Reader

    check_image_path(path)
    try:
        drawing = load_drawing(path)
    except DrawingError as error:
        raise CliError(str(error)) from error
    return Reader(predictor).read(drawing.strokes).text


def _predict(args: argparse.Namespace) -> int:
    from digitpad.preprocess import image_to_ink

    predictor = _load_predictor(args.weights, gate=True)
    failures = 0
    for name in args.images:
        path = Path(name)
        try:
            if path.suffix.lower() == ".json":
                text = _read_drawing_file(predictor, path)
                print(f"{path}: {text}" if text else f"{path}: nothing drawn")
                continue
            try:
                prediction = predictor.predict(image_to_ink(read_image(path)))
            except ValueError as error:  # an image the pipeline cannot use, e.g. an empty one
                raise CliError(f"{path}: {error}") from error
        except CliError as error:
            print(f"digitpad: {error}", file=sys.stderr)
            failures += 1
            continue
        if prediction is None:
            print(f"{path}: nothing drawn")
        elif prediction.not_digit > prediction.confidence:
            print(f"{path}: ? (not a digit: {prediction.not_digit:.1%})")
        else:
            print(f"{path}: {prediction.digit} ({prediction.confidence:.1%})")
    return EXIT_ERROR if failures else EXIT_OK


def _export(args: argparse.Namespace) -> int:
    from digitpad.export import ExportError, export_onnx

    predictor = _load_predictor(args.weights)
    try:
        out = export_onnx(predictor.model, Path(args.onnx))
    except ExportError as error:
        raise CliError(str(error)) from error
    print(f"wrote {out}")
    return EXIT_OK


def _calibration_target(weights: Path, out: str | None) -> Path:
    """Where ``digitpad calibrate`` writes: --out, else over --weights unless those are the shipped ones."""
    from digitpad.paths import shipped_weights_dir

    if out is not None:
        if Path(out).is_dir():
            raise CliError(f"--out {out}: is a folder; name the file to write")
        return Path(out)
    if weights.resolve().parent == shipped_weights_dir().resolve():
        raise CliError(f"{weights}: these are the shipped weights; to rewrite them, name the file with --out")
    return weights


def _calibrate(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from digitpad.calibration import CALIBRATION_METRIC, calibrate

    weights = Path(args.weights)
    out = _calibration_target(weights, args.out)
    loaded = _load_checkpoint(weights)
    data = _load_data(args.data_dir)
    try:
        calibration = calibrate(loaded.model, data.test_images, data.test_labels)
    except ValueError as error:
        raise CliError(f"{data.source}: {error}") from error
    print(f"weights: {weights}")
    print(f"fitted on {calibration.fitted_on}")
    print(f"temperature: {calibration.temperature:.4f}")
    print(f"NLL: {calibration.nll_before:.4f} -> {calibration.nll_after:.4f}")
    print(f"ECE: {calibration.ece_before:.4f} -> {calibration.ece_after:.4f}")
    # Only the metrics change: the tensors are written back as they were loaded.
    metrics = {**loaded.info.metrics, CALIBRATION_METRIC: calibration.to_dict()}
    print(f"saved {_save_checkpoint(out, loaded.model, replace(loaded.info, metrics=metrics))}")
    return EXIT_OK


def _finetune_progress_printer():
    """A line every 2 s at most, and one per stage."""
    last = {"time": 0.0, "stage": ""}

    def report(event) -> None:
        now = time.monotonic()
        if now - last["time"] < 2 and event.stage == last["stage"]:
            return
        last.update(time=now, stage=event.stage)
        print(f"{event.stage}: {event.fraction_done:.0%} done, eta {event.eta_seconds:.0f}s", flush=True)

    return report


def _load_samples(folder: str | None) -> list:
    from digitpad.samples import SampleStore

    store = SampleStore(folder)
    if folder is not None and not store.folder.is_dir():
        raise CliError(f"--samples {folder}: no such folder")
    samples = store.load()
    for warning in store.warnings:
        print(f"digitpad: warning: {warning}", file=sys.stderr)
    if not samples:
        raise CliError(f"no personal samples in {store.folder}: teach some digits in the app (Draw tab) first")
    return samples


def _finetune(args: argparse.Namespace) -> int:
    from digitpad.finetune import FinetuneConfig, finetune, sample_arrays, sample_strokes
    from digitpad.paths import shipped_weights_path, user_weights_dir

    if args.steps is not None and args.steps < 1:
        raise CliError(f"--steps must be at least 1, not {args.steps}")
    out = Path(args.out) if args.out else user_weights_dir() / time.strftime("fine-tuned-%Y%m%d-%H%M%S.safetensors")
    check_writable(out)
    samples = _load_samples(args.samples)
    weights = Path(args.weights) if args.weights else shipped_weights_path()
    loaded = _load_checkpoint(weights)
    data = _load_data(args.data_dir)
    images, labels = sample_arrays(samples)
    # Every core: the command has no pad to keep live (the app's Train tab runs on one thread, see FinetuneConfig).
    config = FinetuneConfig(threads=None, **({} if args.steps is None else {"steps": args.steps}))
    print(f"fine-tuning {weights} on {len(samples)} personal samples, mixed with MNIST from {data.source}", flush=True)
    try:
        result = finetune(
            loaded.model,
            images,
            labels,
            data,
            config,
            base_info=loaded.info,
            strokes=sample_strokes(samples),
            progress=_finetune_progress_printer(),
        )
    except ValueError as error:
        raise CliError(str(error)) from error
    assert result is not None  # nothing asks it to stop
    saved = _save_checkpoint(out, result.model, result.info)
    print(f"{'':24}{'before':>16}{'after':>16}")
    print(f"{'your digits (held out)':24}{result.personal_before.describe():>16}{result.personal_after.describe():>16}")
    print(f"{'MNIST test':24}{result.mnist_before:>16.2%}{result.mnist_after:>16.2%}")
    print(f"personal figures: {result.method}")
    print(f"fine-tuning took {result.seconds:.1f}s")
    print(f"saved {saved}")
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else list(argv)
    if not arguments:
        # Plain `digitpad` opens the app: skip the parser, whose training defaults
        # import torch (a second or more) before the window could show.
        args = argparse.Namespace(command=None, weights=None)
    else:
        args = build_parser().parse_args(arguments)
    try:
        if args.command in (None, "gui"):
            return _run_gui(getattr(args, "weights", None))
        handler = {
            "train": _train,
            "eval": _eval,
            "predict": _predict,
            "export": _export,
            "calibrate": _calibrate,
            "finetune": _finetune,
            "download": lambda a: (_download(a.dest), EXIT_OK)[1],
        }[args.command]
        return handler(args)
    except CliError as error:
        print(f"digitpad: {error}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("digitpad: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as error:  # the last resort: one line, not a traceback
        if os.environ.get("DIGITPAD_DEBUG"):
            raise
        print(f"digitpad: unexpected error: {type(error).__name__}: {error}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
