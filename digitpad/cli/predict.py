"""``digitpad predict`` (images and drawing files) and ``digitpad export``."""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

from digitpad.base.files import FileReadError, check_regular_file
from digitpad.cli.common import EXIT_ERROR, EXIT_OK, CliError, load_predictor, reported


def read_image(path: Path):
    """Read a PNG or JPEG as a grey float array in [0, 1] (Pillow, or Qt if Pillow is missing).

    CliError unless ``path`` is a regular file (symlinks followed), saying what it is instead: only stat is used,
    so a FIFO is named, never opened (opening one would wait for a writer); Pillow or Qt open it themselves.
    Images over MAX_IMAGE_PIXELS are refused from their header, before decoding.
    """
    with reported(FileReadError):
        check_regular_file(path, "an image file")
    if importlib.util.find_spec("PIL") is None:
        from digitpad.gui.common.image_io import read_grey_image

        with reported(ValueError):
            return read_grey_image(path)
    return _read_with_pillow(path)


def _read_with_pillow(path: Path):
    """:func:`read_image` with Pillow: transparency composited onto white paper."""
    import warnings

    import numpy as np
    from PIL import Image, UnidentifiedImageError

    from digitpad.ink.preprocess import MAX_IMAGE_PIXELS, image_too_large

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
                raise CliError(image_too_large(path, width, height))
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


def predict_command(args: argparse.Namespace) -> int:
    from digitpad.ink.drawings import DrawingError, load_drawing
    from digitpad.ink.preprocess import image_to_ink
    from digitpad.model.reader import Reader

    predictor = load_predictor(args.weights, gate=True)
    if not args.no_adapt:
        adapt_to_samples(predictor)
    failures = 0
    for name in args.images:
        path = Path(name)
        try:
            if path.suffix.lower() == ".json":  # a drawing saved by the app: read as the app reads it
                with reported(DrawingError):  # load_drawing refuses anything but a regular file itself, naming it
                    drawing = load_drawing(path)
                text = Reader(predictor).read(drawing.strokes).text
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


def adapt_to_samples(predictor) -> None:
    """Adapt ``predictor`` to the user's taught samples, loaded as the app loads them; one line on stderr says
    how many (nothing without samples, so that output stays as it was for those who never taught any)."""
    from digitpad.ink.samples import SampleStore, sample_arrays
    from digitpad.model.adapt import Adapter

    store = SampleStore()
    samples = store.load()
    skipped = f"; {len(store.warnings)} broken sample file(s) skipped: {store.warnings[0]}" if store.warnings else ""
    if not samples:
        if skipped:
            print(f"digitpad: not adapted to your handwriting{skipped}", file=sys.stderr)
        return
    adapter = Adapter()
    adapter.set_samples(*sample_arrays(samples))
    predictor.adapter = adapter
    count = f"{len(samples)} sample{'s' if len(samples) != 1 else ''}"
    print(f"digitpad: adapted to your handwriting ({count} in {store.folder}; --no-adapt reads without){skipped}",
          file=sys.stderr)  # fmt: skip


def export_command(args: argparse.Namespace) -> int:
    from digitpad.model.export import ExportError, export_onnx

    predictor = load_predictor(args.weights)
    with reported(ExportError):
        out = export_onnx(predictor.model, Path(args.onnx))
    print(f"wrote {out}")
    return EXIT_OK
