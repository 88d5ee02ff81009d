"""Accuracy on real pen drawings: UNIPEN trajectories replayed through the pad.

Each digit of ../shared/data/unipen-dev is scaled to 45-80% of the pad's
height and put at a random place near the centre (seeded), then drawn:

- ``offline``: rasterised without Qt (digitpad.strokes.render, like the
  pad's painter), preprocessed and predicted: the model's own accuracy;
- ``mouse``: replayed through the real pad of MainWindow as Qt mouse events;
- ``tablet``: the same with tablet events and varying pen pressure.

Comparing them separates GUI effects from model effects. Prints accuracy per
writer group (the five UNIPEN contributors) and overall.

    python bench/drawn_digits.py [--modes offline,mouse,tablet] [--weights PATH] [--writers] [--errors PNG]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from digitpad.preprocess import PEN_WIDTH_FRACTION  # noqa: E402
from digitpad.strokes import Stroke, pressure_factor, render  # noqa: E402

DEFAULT_DATA = REPO.parent / "shared" / "data" / "unipen-dev" / "unipen-1a-dev.json.gz"
PAD_SIZE = 400
#: Writers with fewer digits than this are only counted in their group.
MIN_WRITER_DIGITS = 20


def writer_group(writer: str) -> str:
    """The UNIPEN contributor a writer id belongs to (the file lists five)."""
    if writer.startswith("art"):
        return "art"
    if writer.startswith("imp"):
        return "imp"
    if writer.startswith("pri"):
        return "pri"
    # Two-letter ids are aga's writers; full names are uqb's.
    return "aga" if len(writer) <= 3 else "uqb"


@dataclass
class PlacedDigit:
    label: int
    writer: str
    #: Strokes in pad coordinates, each an (N, 2) array of (x, y).
    paths: list[np.ndarray]
    #: Pen pressure per point for the tablet variant, each (N,).
    pressures: list[np.ndarray]


def load_unipen(path: Path) -> list[dict]:
    with gzip.open(path, "rt") as stream:
        return json.load(stream)["samples"]


def place_samples(
    samples: list[dict], pad: int = PAD_SIZE, seed: int = 0, heights: tuple[float, float] = (0.45, 0.8)
) -> list[PlacedDigit]:
    """Scale each sample to ``heights`` (45-80%) of the pad's height at a random spot near the centre."""
    rng = np.random.default_rng(seed)
    placed = []
    for sample in samples:
        paths = [np.asarray(stroke, dtype=np.float64).reshape(-1, 2) for stroke in sample["strokes"] if stroke]
        points = np.concatenate(paths)
        low, high = points.min(0), points.max(0)
        size = np.maximum(high - low, 1e-6)
        target_height = rng.uniform(*heights) * pad
        scale = min(target_height / size[1], 0.9 * pad / size[0])
        centre = pad / 2 + rng.uniform(-0.08, 0.08, 2) * pad
        paths = [(p - (low + high) / 2) * scale + centre for p in paths]
        pressures = []
        for p in paths:
            # A pen presses harder mid-stroke and lightly at the ends, with a per-writer level.
            base = rng.uniform(0.35, 0.75)
            t = np.linspace(0, np.pi, len(p))
            pressures.append(np.clip(base + 0.2 * np.sin(t) + rng.normal(0, 0.03, len(p)), 0.05, 1.0))
        placed.append(PlacedDigit(int(sample["label"]), sample["writer"], paths, pressures))
    return placed


def to_strokes(digit: PlacedDigit, pen_width: float, tablet: bool) -> list[Stroke]:
    strokes = []
    for path, pressure in zip(digit.paths, digit.pressures, strict=True):
        stroke = Stroke()
        for (x, y), p in zip(path, pressure, strict=True):
            stroke.add(x, y, pen_width * (pressure_factor(p) if tablet else 1.0))
        strokes.append(stroke)
    return strokes


def report(
    name: str, results: list[tuple[PlacedDigit, int | None]], seconds: float, every_writer: bool = False
) -> float:
    by_group: dict[str, list[bool]] = defaultdict(list)
    for digit, predicted in results:
        by_group[writer_group(digit.writer)].append(predicted == digit.label)
    overall = float(np.mean([predicted == digit.label for digit, predicted in results]))
    groups = "  ".join(f"{group} {np.mean(v):.4f} ({len(v)})" for group, v in sorted(by_group.items()))
    worst = min(np.mean(v) for v in by_group.values())
    print(f"{name:8s} accuracy {overall:.4f}  worst group {worst:.4f}  |  {groups}  [{seconds:.1f}s]", flush=True)
    # Individual writers: only those with enough digits for a percentage to mean something.
    by_writer: dict[str, list[bool]] = defaultdict(list)
    for digit, predicted in results:
        by_writer[digit.writer].append(predicted == digit.label)
    sizeable = sorted((np.mean(v), writer, len(v)) for writer, v in by_writer.items() if len(v) >= MIN_WRITER_DIGITS)
    listed = "  ".join(f"{writer} {accuracy:.4f} ({count})" for accuracy, writer, count in sizeable[:4])
    print(f"{'':8s} worst writers with >= {MIN_WRITER_DIGITS} digits: {listed}", flush=True)
    if every_writer:
        for writer, outcomes in sorted(by_writer.items()):
            errors = len(outcomes) - sum(outcomes)
            print(f"{'':8s}   {writer:14s} {np.mean(outcomes):.4f}  {errors:2d} wrong of {len(outcomes)}", flush=True)
    return overall


def run_offline(
    predictor, digits: list[PlacedDigit], tablet: bool = False, misread: list | None = None
) -> list[tuple[PlacedDigit, int | None]]:
    """Rasterise, preprocess and predict each digit; ``misread`` collects (digit, prediction) of the errors."""
    pen_width = PEN_WIDTH_FRACTION * PAD_SIZE
    results = []
    for digit in digits:
        canvas = render(to_strokes(digit, pen_width, tablet), PAD_SIZE, PAD_SIZE)
        prediction = predictor.predict(canvas)
        results.append((digit, None if prediction is None else prediction.digit))
        if misread is not None and prediction is not None and prediction.digit != digit.label:
            misread.append((digit, prediction))
    return results


def save_errors(misread: list, path: Path, columns: int = 12, zoom: int = 4) -> None:
    """A PNG sheet of the 28x28 inputs the model misread, each captioned "label>predicted writer"."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QRect, Qt
    from PySide6.QtGui import QColor, QFont, QGuiApplication, QImage, QPainter

    app = QGuiApplication.instance() or QGuiApplication([])  # noqa: F841 - fonts need an application
    cell, caption = 28 * zoom, 14
    rows = max(1, -(-len(misread) // columns))
    sheet = QImage(columns * (cell + 4), rows * (cell + caption + 4), QImage.Format.Format_RGB32)
    sheet.fill(QColor(60, 60, 60))
    painter = QPainter(sheet)
    font = QFont()
    font.setPixelSize(11)
    painter.setFont(font)
    for index, (digit, prediction) in enumerate(misread):
        ink = np.ascontiguousarray(np.kron(prediction.stages.centred, np.ones((zoom, zoom))) * 255).astype(np.uint8)
        tile = QImage(ink.data, cell, cell, cell, QImage.Format.Format_Grayscale8)
        x, y = (index % columns) * (cell + 4) + 2, (index // columns) * (cell + caption + 4) + 2
        painter.drawImage(x, y, tile)
        painter.setPen(QColor(255, 255, 255))
        text = f"{digit.label}>{prediction.digit} {digit.writer}"
        painter.drawText(QRect(x, y + cell, cell, caption), Qt.AlignmentFlag.AlignLeft, text)
    painter.end()
    sheet.save(str(path))
    print(f"{len(misread)} misread digits (offline) drawn in {path}", flush=True)


def run_qt(digits: list[PlacedDigit], weights: str | None, tablet: bool) -> list[tuple[PlacedDigit, int | None]]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from digitpad.gui.replay import replay_digit_in_window

    return replay_digit_in_window(digits, weights=weights, tablet=tablet, pad_size=PAD_SIZE)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--weights", help="checkpoint to test (default: the shipped weights)")
    parser.add_argument("--modes", default="offline,mouse,tablet")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=int, help="use only the first N digits")
    parser.add_argument("--writers", action="store_true", help="also print every writer's accuracy")
    parser.add_argument(
        "--heights",
        default="0.45,0.8",
        metavar="LOW,HIGH",
        help="digit heights as fractions of the pad's (default 0.45,0.8, as the issue asks)",
    )
    parser.add_argument("--errors", type=Path, metavar="PNG", help="draw the digits misread offline into this PNG")
    parser.add_argument(
        "--record",
        action="store_true",
        help="write the mouse accuracy into the weights' metadata (the Train tab compares new models with it)",
    )
    args = parser.parse_args()

    from digitpad.inference import Predictor

    samples = load_unipen(args.data)[: args.limit]
    low, high = (float(value) for value in args.heights.split(","))
    digits = place_samples(samples, seed=args.seed, heights=(low, high))
    predictor = Predictor.from_checkpoint(args.weights)
    print(f"{len(digits)} digits, weights {predictor.source}")
    for mode in args.modes.split(","):
        started = time.perf_counter()
        if mode == "offline":
            misread: list = []
            results = run_offline(predictor, digits, misread=misread)
            if args.errors:
                save_errors(misread, args.errors)
        elif mode == "offline-tablet":
            results = run_offline(predictor, digits, tablet=True)
        elif mode in ("mouse", "tablet"):
            results = run_qt(digits, args.weights, tablet=mode == "tablet")
        else:
            raise SystemExit(f"unknown mode {mode!r}")
        accuracy = report(mode, results, time.perf_counter() - started, every_writer=args.writers)
        if args.record and mode == "mouse" and args.limit is None and args.heights == "0.45,0.8":
            record_drawn_accuracy(predictor.source, accuracy)


def record_drawn_accuracy(path: Path, accuracy: float) -> None:
    """Keep ``accuracy`` in the checkpoint's metrics, tensors untouched (an atomic rewrite)."""
    from dataclasses import replace

    from digitpad.checkpoint import load_checkpoint, save_checkpoint
    from digitpad.model_figures import DRAWN_DIGITS_METRIC

    loaded = load_checkpoint(path)
    metrics = {**loaded.info.metrics, DRAWN_DIGITS_METRIC: round(accuracy, 4)}
    save_checkpoint(path, loaded.model, replace(loaded.info, metrics=metrics))
    print(f"recorded {DRAWN_DIGITS_METRIC} = {accuracy:.4f} in {path}", flush=True)


if __name__ == "__main__":
    main()
