"""Accuracy on real pen drawings: UNIPEN trajectories replayed through the pad and read as the app reads them.

Each digit of ../shared/data/unipen-dev is scaled to 45-80% of the pad's
height and put at a random place near the centre (seeded), then read:

- ``offline``: the strokes as the pad records them (its pen width) read
  without Qt by ``digitpad.model.reader.Reader``: split into characters, each
  rasterised with the model's pen, preprocessed and predicted, "?" where the
  model is unsure. The model's own accuracy through the app's pipeline;
- ``offline-pad``: the whole pad rasterised with the pad's pen
  (``digitpad.ink.strokes.render``) and predicted as one digit, as the app did
  before ``digitpad.ink.characters`` (same "?" rule), for comparison;
- ``offline-tablet``: ``offline`` with the tablet's pressures;
- ``mouse``: replayed through the real pad of MainWindow as Qt mouse events,
  reading ``predictionLabel``;
- ``tablet``: the same with tablet events and varying pen pressure.

A digit is right when the text read is exactly its label ("7"; "?" or "17"
are wrong). Comparing modes separates GUI effects from model effects. Prints
accuracy per writer group (the five UNIPEN contributors) and overall, the
share of "?" and of digits read as more than one character.

``--group K`` writes K digits side by side as a number, on a pad K times as
wide as it is high (a square slot per digit), and compares reading the
number with reading each of its digits alone at the same place. With
``--overlap LOW,HIGH`` each slot overlaps the one before by LOW to HIGH of its
width (0,0.2: digits closer together, as people write numbers).
``--letters [FILE]`` reads UNIPEN letters that look like no digit instead
(the dev letters, or FILE: the training letters), and prints how often they
are read as no digit. ``--data FILE`` reads another digits file (the
training digits).

Every digit report also prints, per writer group, the accuracy, "?" and
split shares and the confusions (a digit read as one other digit): 1>7,
7>1 and 0>8 always, and the three most common others.

``--folds K`` (with ``--fold-seed S``) cross-validates by writer on a
training file: its writers (never single samples) are cut into K folds by
:func:`writer_folds`, and each fold's writers are read and reported apart,
then a summary line per fold. ``--fold N`` reads fold N only; ``--gates
PATTERN`` reads fold k with the gate at PATTERN with ``{fold}`` replaced
by k (the gate trained without fold k's writers).

    python bench/drawn_digits.py [--modes offline,mouse,tablet] [--weights PATH] [--data FILE]
        [--group K [--overlap LOW,HIGH] | --letters [FILE]]
        [--folds K [--fold-seed S] [--fold N] [--gates PATTERN] [--fold-writers FILE]]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from digitpad.data.pen_data import NO_DIGIT_LETTERS  # noqa: E402
from digitpad.ink.preprocess import PEN_WIDTH_FRACTION  # noqa: E402
from digitpad.ink.strokes import MOUSE_PRESSURE, Stroke, pressure_factor, render  # noqa: E402
from digitpad.model.reader import UNKNOWN, UNSURE_BELOW, Reader  # noqa: E402

DATA = REPO.parent / "shared" / "data" / "unipen-dev"
DEFAULT_DATA = DATA / "unipen-1a-dev.json.gz"
LETTERS_DATA = DATA / "unipen-1bc-dev.json.gz"
#: The pad's height; a single digit's pad is square, a number's has a square slot per digit.
PAD_SIZE = 400
#: Writers with fewer digits than this are only counted in their group.
MIN_WRITER_DIGITS = 20
#: Target for reading a number against reading its digits alone.
NUMBER_RATIO_TARGET = 0.97
#: Confusions (true>read) always printed per group, even at 0: the ones the project tracks.
CONFUSIONS_OF_INTEREST = ("1>7", "7>1", "0>8")
#: How many of the other confusions each group lists, most common first.
OTHER_CONFUSIONS = 3


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


def writer_folds(writers, k: int, seed: int) -> dict[str, int]:
    """Each writer's fold (0 to k-1): the sorted distinct ids, permuted by ``default_rng(seed)``, writer i of
    the permutation in fold i % k.

    Other scripts cut folds by this exact rule (a gate trained without fold
    k's writers must be measured on fold k's writers), so keep it as it is.
    """
    ids = sorted(set(writers))
    order = np.random.default_rng(seed).permutation(len(ids))
    return {ids[j]: i % k for i, j in enumerate(order)}


@dataclass
class PlacedDigit:
    """A digit (or, with --letters, a letter) placed on the pad."""

    label: int | str
    writer: str
    #: Strokes in pad coordinates, each an (N, 2) array of (x, y).
    paths: list[np.ndarray]
    #: Pen pressure per point for the tablet variant, each (N,).
    pressures: list[np.ndarray]
    #: The writer's UNIPEN contributor.
    group: str = ""

    @property
    def text(self) -> str:
        """What a perfect reading shows."""
        return str(self.label)


@dataclass
class PlacedNumber:
    """Digits side by side on one pad, written left to right."""

    digits: list[PlacedDigit]

    @property
    def paths(self) -> list[np.ndarray]:
        return [path for digit in self.digits for path in digit.paths]

    @property
    def pressures(self) -> list[np.ndarray]:
        return [pressure for digit in self.digits for pressure in digit.pressures]

    @property
    def text(self) -> str:
        return "".join(digit.text for digit in self.digits)


def load_unipen(path: Path) -> list[dict]:
    with gzip.open(path, "rt") as stream:
        return json.load(stream)["samples"]


def load_letters(path: Path = LETTERS_DATA) -> list[dict]:
    """The letters of ``path`` that look like no digit (the dev letters by default: never train on them)."""
    return [sample for sample in load_unipen(path) if sample["label"] in NO_DIGIT_LETTERS]


def place_sample(
    sample: dict,
    rng: np.random.Generator,
    heights: tuple[float, float],
    pad_height: float = PAD_SIZE,
    slot: tuple[float, float] = (0.0, PAD_SIZE),
) -> PlacedDigit:
    """Scale ``sample`` to ``heights`` of the pad's height at a random spot near the centre of ``slot``.

    ``slot`` is (left, width) in pad pixels. The ink (pen radius included)
    stays inside the slot and the pad.
    """
    left, width = slot
    paths = [np.asarray(stroke, dtype=np.float64).reshape(-1, 2) for stroke in sample["strokes"] if stroke]
    points = np.concatenate(paths)
    low, high = points.min(0), points.max(0)
    size = np.maximum(high - low, 1e-6)
    target_height = rng.uniform(*heights) * pad_height
    scale = min(target_height / size[1], 0.9 * width / size[0])
    centre = np.array([left + width / 2, pad_height / 2]) + rng.uniform(-0.08, 0.08, 2) * np.array([width, pad_height])
    half = size * scale / 2 + PEN_WIDTH_FRACTION * pad_height / 2
    lowest, highest = np.array([left, 0.0]) + half, np.array([left + width, pad_height]) - half
    centre = np.where(lowest <= highest, np.clip(centre, lowest, highest), (lowest + highest) / 2)
    paths = [(p - (low + high) / 2) * scale + centre for p in paths]
    pressures = []
    for p in paths:
        # A pen presses harder mid-stroke and lightly at the ends, with a per-writer level.
        base = rng.uniform(0.35, 0.75)
        t = np.linspace(0, np.pi, len(p))
        pressures.append(np.clip(base + 0.2 * np.sin(t) + rng.normal(0, 0.03, len(p)), 0.05, 1.0))
    group = sample.get("group") or writer_group(sample["writer"])
    label = sample["label"] if isinstance(sample["label"], str) else int(sample["label"])
    return PlacedDigit(label, sample["writer"], paths, pressures, group)


def place_samples(
    samples: list[dict], pad: int = PAD_SIZE, seed: int = 0, heights: tuple[float, float] = (0.45, 0.8)
) -> list[PlacedDigit]:
    """Each sample alone on a square pad, in the file's order (seeded)."""
    rng = np.random.default_rng(seed)
    return [place_sample(sample, rng, heights, pad, (0.0, pad)) for sample in samples]


def place_numbers(
    samples: list[dict],
    size: int,
    pad: int = PAD_SIZE,
    seed: int = 0,
    heights: tuple[float, float] = (0.45, 0.8),
    overlap: tuple[float, float] = (0.0, 0.0),
) -> list[PlacedNumber]:
    """Numbers of ``size`` consecutive samples of the shuffled set, one per square slot (a pad ``size`` x wide).

    Each slot overlaps the one before by a share of its width drawn from
    ``overlap`` (LOW, HIGH), as people write numbers closer than in boxes;
    (0, 0) gives equal slots side by side. Every sample is used once; the
    last ``len(samples) % size`` are left out.
    """
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(samples))
    numbers = []
    for first in range(0, len(order) - size + 1, size):
        chosen = [samples[i] for i in order[first : first + size]]
        lefts = [0.0]
        for _ in chosen[1:]:
            # Drawn only when asked, so that equal slots place exactly as before.
            share = rng.uniform(*overlap) if overlap != (0.0, 0.0) else 0.0
            lefts.append(lefts[-1] + pad * (1.0 - share))
        numbers.append(
            PlacedNumber(
                [place_sample(s, rng, heights, pad, (left, pad)) for left, s in zip(lefts, chosen, strict=True)]
            )
        )
    return numbers


def to_strokes(drawing: PlacedDigit | PlacedNumber, pen_width: float, tablet: bool) -> list[Stroke]:
    """The strokes the pad records: its pen width times the pressure's factor, and the pressure."""
    strokes = []
    for path, pressure in zip(drawing.paths, drawing.pressures, strict=True):
        stroke = Stroke()
        for (x, y), p in zip(path, pressure, strict=True):
            if tablet:
                stroke.add(x, y, pen_width * pressure_factor(p), float(p))
            else:
                stroke.add(x, y, pen_width, MOUSE_PRESSURE)
        strokes.append(stroke)
    return strokes


Result = tuple[object, str]


def read_offline(
    predictor, drawings: list, pad_height: int = PAD_SIZE, tablet: bool = False, misread: list | None = None
) -> list[Result]:
    """Read each drawing with ``digitpad.model.reader.Reader``; ``misread`` collects (drawing, text, prediction)."""
    reader = Reader(predictor)
    pen_width = PEN_WIDTH_FRACTION * pad_height
    results = []
    for drawing in drawings:
        reading = reader.read(to_strokes(drawing, pen_width, tablet))
        results.append((drawing, reading.text))
        if misread is not None and isinstance(drawing, PlacedDigit) and reading.text != drawing.text:
            wrong = [c for c in reading.characters if c.symbol != drawing.text] or list(reading.characters)
            if wrong:
                misread.append((drawing, reading.text, wrong[0].prediction))
    return results


def read_whole_pad(predictor, drawings: list, pad: tuple[int, int]) -> list[Result]:
    """The whole pad rasterised with the pad's pen and predicted as one digit (the app before it split characters)."""
    width, height = pad
    pen_width = PEN_WIDTH_FRACTION * height
    results = []
    for drawing in drawings:
        prediction = predictor.predict(render(to_strokes(drawing, pen_width, False), height, width))
        if prediction is None:
            text = ""
        else:
            text = UNKNOWN if prediction.confidence < UNSURE_BELOW else str(prediction.digit)
        results.append((drawing, text))
    return results


def run_qt(drawings: list, weights: str | None, tablet: bool, pad: tuple[int, int]) -> list[Result]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from digitpad.gui.testing import draw_digit_in_window

    return draw_digit_in_window(drawings, weights=weights, tablet=tablet, pad_size=pad)


class StricterGate:
    """A predictor that declines (confidence 0, so "?") every character whose "not a digit" is above
    ``threshold``, on top of the app's rule: the trade-off between letters declined and digits read.
    Offline modes only: the window reads as the app does."""

    def __init__(self, predictor, threshold: float) -> None:
        self.predictor, self.threshold = predictor, threshold

    def predict(self, *args, **kwargs):
        prediction = self.predictor.predict(*args, **kwargs)
        if prediction is not None and prediction.not_digit > self.threshold:
            prediction = replace(prediction, confidence=0.0)
        return prediction

    def __getattr__(self, name: str):
        return getattr(self.predictor, name)


def read_mode(mode: str, drawings: list, predictor, args, pad: tuple[int, int], misread: list) -> list[Result]:
    """Read ``drawings`` in ``mode``; misread digits go to ``misread`` in the ``offline`` mode."""
    if mode == "offline":
        return read_offline(predictor, drawings, pad[1], misread=misread)
    if mode == "offline-tablet":
        return read_offline(predictor, drawings, pad[1], tablet=True)
    if mode == "offline-pad":
        return read_whole_pad(predictor, drawings, pad)
    if mode in ("mouse", "tablet"):
        return run_qt(drawings, args.weights, mode == "tablet", pad)
    raise SystemExit(f"unknown mode {mode!r}")


def share(count: int, total: int) -> str:
    """``0.0123 (18 of 1508)``."""
    return f"{count / max(total, 1):.4f} ({count} of {total})"


def report(name: str, results: list[Result], seconds: float, every_writer: bool = False) -> float:
    """Accuracy overall, per writer group and for the worst writers; the share of "?" and of splits."""
    by_group: dict[str, list[bool]] = defaultdict(list)
    for digit, text in results:
        by_group[digit.group].append(text == digit.text)
    overall = float(np.mean([text == digit.text for digit, text in results]))
    groups = "  ".join(f"{group} {np.mean(v):.4f} ({len(v)})" for group, v in sorted(by_group.items()))
    worst = min(np.mean(v) for v in by_group.values())
    print(f"{name:8s} accuracy {overall:.4f}  worst group {worst:.4f}  |  {groups}  [{seconds:.1f}s]", flush=True)
    # Individual writers: only those with enough digits for a percentage to mean something.
    by_writer: dict[str, list[bool]] = defaultdict(list)
    for digit, text in results:
        by_writer[digit.writer].append(text == digit.text)
    sizeable = sorted((np.mean(v), writer, len(v)) for writer, v in by_writer.items() if len(v) >= MIN_WRITER_DIGITS)
    listed = "  ".join(f"{writer} {accuracy:.4f} ({count})" for accuracy, writer, count in sizeable[:4])
    print(f"{'':8s} worst writers with >= {MIN_WRITER_DIGITS} digits: {listed}", flush=True)
    report_unsure_and_splits(results)
    report_groups(results)
    if every_writer:
        for writer, outcomes in sorted(by_writer.items()):
            errors = len(outcomes) - sum(outcomes)
            print(f"{'':8s}   {writer:14s} {np.mean(outcomes):.4f}  {errors:2d} wrong of {len(outcomes)}", flush=True)
    return overall


def report_unsure_and_splits(results: list[Result]) -> None:
    """The share of digits with a "?", and of digits read as more (or fewer) than one character."""
    unsure = sum(UNKNOWN in text for _, text in results)
    print(f"{'':8s} unsure {share(unsure, len(results))}", flush=True)
    # Each character shows one symbol, so the text's length is the character count.
    split = Counter(f"{digit.text}>{text}" for digit, text in results if len(text) > 1)
    empty = sum(not text for _, text in results)
    labels = ", ".join(f"{label} x{count}" for label, count in sorted(split.items()))
    line = f"{'':8s} read as 2+ characters {share(sum(split.values()), len(results))}"
    print(line + (f": {labels}" if labels else "") + (f"; nothing read {empty}" if empty else ""), flush=True)


def confusions(results: list[Result]) -> Counter:
    """``true>read`` counts of digits read as exactly one other digit ("?" and splits are counted apart)."""
    return Counter(
        f"{digit.text}>{text}" for digit, text in results if len(text) == 1 and text.isdigit() and text != digit.text
    )


def report_groups(results: list[Result]) -> None:
    """Per writer group: accuracy, "?" and split shares, the confusions of interest and the commonest others."""
    by_group: dict[str, list[Result]] = defaultdict(list)
    for result in results:
        by_group[result[0].group].append(result)
    for group, outcomes in sorted(by_group.items()):
        count = len(outcomes)
        right = sum(text == digit.text for digit, text in outcomes)
        unsure = sum(UNKNOWN in text for _, text in outcomes)
        split = sum(len(text) > 1 for _, text in outcomes)
        confused = confusions(outcomes)
        # The tracked ones are printed even at 0, so that runs line up; the others only when they happen.
        tracked = "  ".join(f"{pair} {confused.pop(pair, 0)}" for pair in CONFUSIONS_OF_INTEREST)
        others = ", ".join(f"{pair} x{n}" for pair, n in confused.most_common(OTHER_CONFUSIONS)) or "none"
        print(
            f"{'':8s} group {group:4s} accuracy {right / count:.4f} ({count})  unsure {unsure / count:.4f} ({unsure})"
            f"  split {split / count:.4f} ({split})  |  {tracked}  |  others {others}",
            flush=True,
        )


def report_numbers(name: str, numbers: list[Result], alone: list[Result], seconds: float) -> float:
    """Numbers read right against all of their digits read right alone, and wrong character counts."""
    size = len(numbers[0][0].digits)
    right_alone = {id(digit): text == digit.text for digit, text in alone}
    right = sum(text == number.text for number, text in numbers)
    all_alone = sum(all(right_alone[id(digit)] for digit in number.digits) for number, _ in numbers)
    ratio = (right / all_alone) if all_alone else float("nan")
    verdict = "met" if ratio >= NUMBER_RATIO_TARGET else "NOT met"
    print(
        f"{name:8s} numbers of {size}: read right {share(right, len(numbers))}  "
        f"all {size} right alone {share(all_alone, len(numbers))}  "
        f"ratio {ratio:.4f} (target >= {NUMBER_RATIO_TARGET}: {verdict})  [{seconds:.1f}s]",
        flush=True,
    )
    fewer = sum(len(text) < size for _, text in numbers)
    more = sum(len(text) > size for _, text in numbers)
    unsure = sum(UNKNOWN in text for _, text in numbers)
    print(
        f"{'':8s} wrong character count {share(fewer + more, len(numbers))}: {fewer} fewer (merged), "
        f'{more} more (split)  |  numbers with a "?" {share(unsure, len(numbers))}',
        flush=True,
    )
    return ratio


def report_letters(name: str, results: list[Result], seconds: float) -> float:
    """The share read as no digit (only "?"), overall and per writer group, and which letters read as digits."""

    def no_digit(text: str) -> bool:
        return all(symbol == UNKNOWN for symbol in text)

    by_group: dict[str, list[bool]] = defaultdict(list)
    for letter, text in results:
        by_group[letter.group].append(no_digit(text))
    overall = float(np.mean([no_digit(text) for _, text in results]))
    groups = "  ".join(f"{group} {np.mean(v):.4f} ({len(v)})" for group, v in sorted(by_group.items()))
    worst = min(np.mean(v) for v in by_group.values())
    print(f"{name:8s} read as no digit {overall:.4f}  worst group {worst:.4f}  |  {groups}  [{seconds:.1f}s]")
    unsure = sum(UNKNOWN in text for _, text in results)
    print(f'{"":8s} with at least one "?" {share(unsure, len(results))}', flush=True)
    totals = Counter(letter.text for letter, _ in results)
    read_as: dict[str, Counter] = defaultdict(Counter)
    for letter, text in results:
        if not no_digit(text):
            read_as[letter.text][text] += 1
    worst_letters = sorted(read_as, key=lambda label: -sum(read_as[label].values()))[:8]
    listed = "  ".join(
        f"{label} {sum(read_as[label].values())}/{totals[label]} (mostly {read_as[label].most_common(1)[0][0]})"
        for label in worst_letters
    )
    print(f"{'':8s} letters most often read as digits: {listed}", flush=True)
    return overall


def save_errors(misread: list, path: Path, columns: int = 12, zoom: int = 4) -> None:
    """A PNG sheet of the 28x28 inputs the model misread, each captioned "label>read writer"."""
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
    for index, (digit, text, prediction) in enumerate(misread):
        ink = np.ascontiguousarray(np.kron(prediction.stages.centred, np.ones((zoom, zoom))) * 255).astype(np.uint8)
        tile = QImage(ink.data, cell, cell, cell, QImage.Format.Format_Grayscale8)
        x, y = (index % columns) * (cell + 4) + 2, (index // columns) * (cell + caption + 4) + 2
        painter.drawImage(x, y, tile)
        painter.setPen(QColor(255, 255, 255))
        painter.drawText(
            QRect(x, y + cell, cell, caption), Qt.AlignmentFlag.AlignLeft, f"{digit.text}>{text} {digit.writer}"
        )
    painter.end()
    sheet.save(str(path))
    print(f"{len(misread)} misread digits (offline) drawn in {path}", flush=True)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--weights", help="checkpoint to test (default: the shipped weights)")
    parser.add_argument(
        "--modes", default="offline,mouse,tablet", help="any of offline, offline-pad, offline-tablet, mouse, tablet"
    )
    parser.add_argument(
        "--gate",
        metavar="off|PATH",
        help="read without the 'not a digit' gate (off) or with another one (default: the shipped gate)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=int, help="use only the first N digits (or letters)")
    parser.add_argument("--writers", action="store_true", help="also print every writer's accuracy")
    parser.add_argument(
        "--heights",
        default="0.45,0.8",
        metavar="LOW,HIGH",
        help="digit heights as fractions of the pad's (default 0.45,0.8, as the issue asks)",
    )
    parser.add_argument("--group", type=int, default=1, metavar="K", help="write K digits side by side as a number")
    parser.add_argument(
        "--overlap",
        default="0,0",
        metavar="LOW,HIGH",
        help="with --group: each digit's slot overlaps the one before by LOW to HIGH of its width "
        "(default 0,0: equal slots side by side; 0,0.2 as people write numbers)",
    )
    parser.add_argument(
        "--letters",
        nargs="?",
        const=LETTERS_DATA,
        type=Path,
        metavar="FILE",
        help="read the letters that look like no digit instead of digits: the dev letters, or FILE's "
        "(e.g. ../shared/data/unipen-train/unipen-1bc-train.json.gz)",
    )
    parser.add_argument(
        "--folds",
        type=int,
        metavar="K",
        help="cross-validate by writer: cut the file's writers into K folds and report each fold's writers apart",
    )
    parser.add_argument(
        "--fold-seed", type=int, default=0, metavar="S", help="the seed of the writers' permutation (default 0)"
    )
    parser.add_argument("--fold", type=int, metavar="N", help="with --folds: read fold N's writers only")
    parser.add_argument(
        "--fold-writers",
        type=Path,
        action="append",
        metavar="FILE",
        help="with --folds: cut the writers of FILE too (repeatable), as bench/gate_cv.py cuts both files' writers",
    )
    parser.add_argument(
        "--gates",
        metavar="PATTERN",
        help="with --folds: read fold k with the gate at PATTERN, {fold} replaced by k "
        "(e.g. /tmp/gate-fold{fold}.safetensors: the gate trained without fold k's writers)",
    )
    parser.add_argument("--errors", type=Path, metavar="PNG", help="draw the digits misread offline into this PNG")
    parser.add_argument(
        "--decline-above",
        type=float,
        metavar="P",
        help="offline modes: also read as no digit every character whose 'not a digit' is above P "
        "(a stricter gate than the app's; shows what more letters declined would cost in digits)",
    )
    parser.add_argument(
        "--record",
        action="store_true",
        help="write the mouse accuracy into the weights' metadata (the Train tab compares new models with it)",
    )
    args = parser.parse_args()
    if args.group < 1:
        parser.error("--group must be at least 1")
    if args.overlap != "0,0" and args.group < 2:
        parser.error("--overlap applies to numbers: add --group K")
    if args.letters and args.group > 1:
        parser.error("--letters places letters alone: leave out --group")
    if args.decline_above is not None and not set(args.modes.split(",")) <= {"offline", "offline-tablet"}:
        parser.error("--decline-above applies to the offline modes only: add --modes offline")
    if args.folds is None:
        if args.fold is not None or args.gates:
            parser.error("--fold and --gates need --folds K")
    else:
        if args.folds < 2:
            parser.error("--folds must be at least 2")
        if args.fold is not None and not 0 <= args.fold < args.folds:
            parser.error(f"--fold must be 0 to {args.folds - 1}")
        if args.group > 1:
            parser.error("--folds reads digits alone: leave out --group (a number mixes writers)")
        if args.record:
            parser.error("--record records the whole dev set's figure: leave out --folds")
    if args.gates:
        if "{fold}" not in args.gates:
            parser.error("--gates needs {fold} in its path, e.g. /tmp/gate-fold{fold}.safetensors")
        if args.gate:
            parser.error("--gates sets each fold's gate: leave out --gate")
    return args


def main() -> None:
    args = parse_args()
    from digitpad.model.gate import GATE_ENV, load_gated_predictor

    if args.gate:
        os.environ[GATE_ENV] = args.gate  # the window's reader honours it as well

    heights = tuple(float(value) for value in args.heights.split(","))
    samples = (load_letters(args.letters) if args.letters else load_unipen(args.data))[: args.limit]
    pad = (args.group * PAD_SIZE, PAD_SIZE)
    if args.group > 1:
        overlap = tuple(float(value) for value in args.overlap.split(","))
        numbers = place_numbers(samples, args.group, seed=args.seed, heights=heights, overlap=overlap)
        drawings = [digit for number in numbers for digit in number.digits]
    else:
        numbers, drawings = [], place_samples(samples, seed=args.seed, heights=heights)
    predictor = stricter_if_asked(load_gated_predictor(args.weights), args)
    what = "letters that look like no digit" if args.letters else "digits"
    layout = f", in {len(numbers)} numbers of {args.group} on a {pad[0]}x{pad[1]} pad" if numbers else ""
    if numbers and args.overlap != "0,0":
        layout += f", slots overlapping by {args.overlap.replace(',', '-')} of their width"
    gate = predictor.gate.source if predictor.gate is not None else "none"
    if args.gates:
        gate = f"per fold {args.gates}"
    stricter = f", declined above {args.decline_above:g} 'not a digit'" if args.decline_above is not None else ""
    print(f"{len(drawings)} {what}{layout}, weights {predictor.source}, gate {gate}{stricter}")
    print(f"data {args.letters or args.data}")
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    if args.folds:
        run_folds(args, drawings, predictor, pad)
        print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
        return
    for mode in args.modes.split(","):
        started = time.perf_counter()
        misread: list = []
        results = read_mode(mode, numbers + drawings, predictor, args, pad, misread)
        seconds = time.perf_counter() - started
        if args.letters:
            report_letters(mode, results, seconds)
            continue
        accuracy = report(mode, results[len(numbers) :], seconds, every_writer=args.writers)
        if numbers:
            report_numbers(mode, results[: len(numbers)], results[len(numbers) :], seconds)
        if args.errors and mode == "offline":
            save_errors(misread, args.errors)
        default_run = args.limit is None and args.heights == "0.45,0.8" and args.group == 1
        if args.record and mode == "mouse" and default_run:
            record_drawn_accuracy(predictor.source, accuracy)
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)


def stricter_if_asked(predictor, args):
    """``predictor`` wrapped in :class:`StricterGate` with --decline-above, else as it is."""
    if args.decline_above is None:
        return predictor
    if predictor.gate is None and not predictor.model.config.has_not_a_digit:
        raise SystemExit("--decline-above needs a gate (leave out --gate off)")
    return StricterGate(predictor, args.decline_above)


def fold_predictor(args, fold: int, predictor):
    """The predictor for ``fold``: with --gates, the weights with that fold's gate; else ``predictor``."""
    if not args.gates:
        return predictor
    from digitpad.model.gate import GATE_ENV, attach_gate
    from digitpad.model.inference import Predictor

    path = args.gates.format(fold=fold)
    gate = Predictor.from_checkpoint(path)
    if not gate.model.config.has_not_a_digit:
        raise SystemExit(f"{path} has no 'not a digit' output, so it cannot be a gate")
    # A fresh digit predictor: attach_gate keeps a gate already attached, so one predictor cannot change gates.
    fresh = Predictor.from_checkpoint(args.weights)
    if fresh.model.config.has_not_a_digit:
        raise SystemExit("--gates needs ten-class weights: these have their own 'not a digit' output")
    os.environ[GATE_ENV] = path  # the window (mouse, tablet) loads its gate from here
    return stricter_if_asked(attach_gate(fresh, gate), args)


def run_folds(args, drawings: list[PlacedDigit], predictor, pad: tuple[int, int]) -> None:
    """Read and report each fold's writers apart (cross-validation by writer), then a line per fold."""
    writers = [drawing.writer for drawing in drawings]
    for path in args.fold_writers or ():
        # The writers of other files join the cut, so that the folds are those a gate was trained
        # without (bench/gate_cv.py cuts the digits' and the letters' writers together).
        writers += [sample["writer"] for sample in load_unipen(path)]
    assignment = writer_folds(writers, args.folds, args.fold_seed)
    folds = [args.fold] if args.fold is not None else list(range(args.folds))
    modes = args.modes.split(",")
    done: dict[str, list[tuple[int, list[Result]]]] = defaultdict(list)
    misread: list = []
    for fold in folds:
        held_out = [drawing for drawing in drawings if assignment[drawing.writer] == fold]
        reader = fold_predictor(args, fold, predictor)
        gate = reader.gate.source if reader.gate is not None else "none"
        writers = len({drawing.writer for drawing in held_out})
        print(
            f"fold {fold} of {args.folds} (seed {args.fold_seed}): {writers} writers, {len(held_out)} samples, "
            f"gate {gate}",
            flush=True,
        )
        for mode in modes:
            started = time.perf_counter()
            results = read_mode(mode, held_out, reader, args, pad, misread)
            seconds = time.perf_counter() - started
            if args.letters:
                report_letters(mode, results, seconds)
            else:
                report(mode, results, seconds, every_writer=args.writers)
            done[mode].append((fold, results))
    for mode in modes:
        report_folds(mode, done[mode], bool(args.letters), args)
    if args.errors and "offline" in modes and not args.letters:
        save_errors(misread, args.errors)


def report_folds(mode: str, folds: list[tuple[int, list[Result]]], letters: bool, args) -> None:
    """One line per fold (its figures side by side), then all the folds read together and the spread."""
    print(f"{mode:8s} by fold ({args.folds} folds of writers, seed {args.fold_seed}):", flush=True)
    figures = []
    pooled = [("all", [result for _, fold_results in folds for result in fold_results])] if len(folds) > 1 else []
    for fold, results in [*folds, *pooled]:
        count = len(results)
        writers = len({drawing.writer for drawing, _ in results})
        unsure = sum(UNKNOWN in text for _, text in results) / count
        if letters:
            figure = sum(all(symbol == UNKNOWN for symbol in text) for _, text in results) / count
            line = f"declined {figure:.4f}  with a ? {unsure:.4f}"
        else:
            figure = sum(text == drawing.text for drawing, text in results) / count
            split = sum(len(text) > 1 for _, text in results) / count
            line = f"accuracy {figure:.4f}  unsure {unsure:.4f}  split {split:.4f}"
        by_group: dict[str, list[bool]] = defaultdict(list)
        for drawing, text in results:
            right = all(s == UNKNOWN for s in text) if letters else text == drawing.text
            by_group[drawing.group].append(right)
        groups = "  ".join(f"{group} {np.mean(v):.4f} ({len(v)})" for group, v in sorted(by_group.items()))
        if fold != "all":
            figures.append(figure)
        name = f"fold {fold}" if fold != "all" else "all"
        print(f"{'':8s} {name:7s} {writers:4d} writers {count:5d} samples  {line}  |  {groups}", flush=True)
    if len(figures) > 1:
        print(
            f"{'':8s} folds: mean {np.mean(figures):.4f}  sd {np.std(figures):.4f}  "
            f"min {min(figures):.4f}  max {max(figures):.4f}",
            flush=True,
        )


def record_drawn_accuracy(path: Path, accuracy: float) -> None:
    """Keep ``accuracy`` in the checkpoint's metrics, tensors untouched (an atomic rewrite)."""
    from dataclasses import replace

    from digitpad.model.accuracy import DRAWN_DIGITS_METRIC
    from digitpad.model.checkpoint import load_checkpoint, save_checkpoint

    loaded = load_checkpoint(path)
    metrics = {**loaded.info.metrics, DRAWN_DIGITS_METRIC: round(accuracy, 4)}
    save_checkpoint(path, loaded.model, replace(loaded.info, metrics=metrics))
    print(f"recorded {DRAWN_DIGITS_METRIC} = {accuracy:.4f} in {path}", flush=True)


if __name__ == "__main__":
    main()
