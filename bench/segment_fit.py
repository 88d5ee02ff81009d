"""Fit the cost of one more character (PRIOR_PER_CHARACTER, digitpad/model/segmentation.py) on the training writers.

Recognition decides where characters split: of the readings of a drawing
that join adjacent geometric groups, the reader picks the one whose
characters the model is surest of, times PRIOR_PER_CHARACTER per character.
This bench reads, offline with the shipped model and gate (as
bench/drawn_digits.py places and reads them):

- every digit of ../shared/data/unipen-train/unipen-1a-train.json.gz alone
  (it must read as one character, and right);
- numbers of 2, 3 and 4 of those digits side by side, written by writers of
  one fold, each slot overlapping the one before by 0-20% of its width (they
  must split, and read right);

for a grid of priors, and prints per prior the single digits' split rate and
accuracy and the numbers' accuracy. The chosen prior maximises the mean of
the single digits' and the numbers' accuracy over all training writers; the
same choice made on four folds of writers and measured on the fifth shows
how well it carries to writers it never saw. Never the dev writers.

    python bench/segment_fit.py [--data FILE] [--folds 5] [--limit N] [--priors 0.1,0.5,...] [--read-all]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from drawn_digits import PAD_SIZE, load_unipen, place_numbers, place_samples, to_strokes, writer_folds  # noqa: E402

from digitpad.ink.preprocess import PEN_WIDTH_FRACTION  # noqa: E402
from digitpad.model.reader import Reader  # noqa: E402
from digitpad.model.segmentation import PRIOR_PER_CHARACTER  # noqa: E402

TRAIN = REPO.parent / "shared" / "data" / "unipen-train" / "unipen-1a-train.json.gz"
#: The grid; 1e9 makes every geometric group a character, as the reader did before recognition decided.
PRIORS = (0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.8, 0.85, 0.9, 0.95, 1.0, 1.05, 1.2, 1.5, 2.0, 1e9)
NUMBER_SIZES = (2, 3, 4)
OVERLAP = (0.0, 0.2)


def texts_per_prior(reader: Reader, drawings: list, priors: tuple[float, ...]) -> np.ndarray:
    """(drawings, priors) of the text read; each drawing's candidates are read once (the reader's cache)."""
    pen_width = PEN_WIDTH_FRACTION * PAD_SIZE
    texts = np.empty((len(drawings), len(priors)), dtype=object)
    for row, drawing in enumerate(drawings):
        strokes = to_strokes(drawing, pen_width, tablet=False)
        for column, prior in enumerate(priors):
            reader.prior = prior
            texts[row, column] = reader.read(strokes).text
    return texts


def figures(single_texts, singles, number_texts, numbers) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per prior: single digits read as 2+ characters, single digits right, numbers right (shares)."""
    truth = np.array([d.text for d in singles], dtype=object)[:, None]
    split = np.vectorize(len)(single_texts) > 1
    right = single_texts == truth
    number_truth = np.array([n.text for n in numbers], dtype=object)[:, None]
    number_right = number_texts == number_truth
    return split.mean(0), right.mean(0), number_right.mean(0)


def best_prior(priors, single_right: np.ndarray, number_right: np.ndarray) -> int:
    """The column of the prior with the best mean of the two accuracies (the smaller prior on a tie)."""
    objective = (single_right + number_right) / 2
    return int(np.argmax(objective))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=TRAIN, help="the training digits (never the dev set)")
    parser.add_argument("--folds", type=int, default=5, help="folds of writers for the held-out check")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=int, help="use only the first N digits")
    parser.add_argument("--priors", help="comma-separated priors (default: the built-in grid)")
    parser.add_argument(
        "--read-all",
        action="store_true",
        help="also read as one the groups that all read as sure digits or are too wide to be one (the reader "
        "skips them: SURE_PART, MAX_JOINED_ASPECT)",
    )
    args = parser.parse_args()
    if "dev" in args.data.name:
        parser.error("the prior is fitted on training writers only: not on the dev set")
    return args


def main() -> None:
    args = parse_args()
    from digitpad.model.gate import load_gated_predictor

    priors = tuple(float(p) for p in args.priors.split(",")) if args.priors else PRIORS
    samples = load_unipen(args.data)[: args.limit]
    predictor = load_gated_predictor(None)
    print(f"{len(samples)} training digits, weights {predictor.source}, gate {predictor.gate.source}")
    skipped = "read as one too" if args.read_all else "not read as one"
    print(f"groups that all read as sure digits or too wide to be one: {skipped}")
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    started = time.perf_counter()
    singles = place_samples(samples, seed=args.seed)
    fold_of = writer_folds([s["writer"] for s in samples], args.folds, args.seed)
    # Numbers are written by the writers of one fold, so that each fold is read and scored apart.
    numbers, number_fold = [], []
    for fold in range(args.folds):
        own = [s for s in samples if fold_of[s["writer"]] == fold]
        for size in NUMBER_SIZES:
            placed = place_numbers(own, size, seed=args.seed + 100 * fold + size, overlap=OVERLAP)
            numbers += placed
            number_fold += [fold] * len(placed)
    reader = Reader(predictor, skip_sure=not args.read_all)
    single_texts = texts_per_prior(reader, singles, priors)
    number_texts = texts_per_prior(reader, numbers, priors)
    print(
        f"{len(singles)} single digits, {len(numbers)} numbers of {NUMBER_SIZES} digits with slots overlapping "
        f"{OVERLAP[0]:g}-{OVERLAP[1]:g}; read in {time.perf_counter() - started:.0f}s",
        flush=True,
    )
    split, right, number_right = figures(single_texts, singles, number_texts, numbers)
    chosen = best_prior(priors, right, number_right)
    print(f"{'prior':>8s}  {'singles split':>13s}  {'singles right':>13s}  {'numbers right':>13s}  mean")
    for column, prior in enumerate(priors):
        name = "geometry" if prior >= 1e6 else f"{prior:g}"
        mark = "  <- chosen" if column == chosen else ""
        mean = (right[column] + number_right[column]) / 2
        print(
            f"{name:>8s}  {split[column]:13.4f}  {right[column]:13.4f}  {number_right[column]:13.4f}  {mean:.4f}{mark}"
        )
    report_folds(args.folds, priors, singles, fold_of, single_texts, numbers, number_fold, number_texts)
    print(f"chosen prior {priors[chosen]:g} (shipped PRIOR_PER_CHARACTER = {PRIOR_PER_CHARACTER:g})")
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)


def report_folds(folds, priors, singles, fold_of, single_texts, numbers, number_fold, number_texts) -> None:
    """The prior chosen without each fold's writers, and its figures on them."""
    single_fold = np.array([fold_of[d.writer] for d in singles])
    number_fold = np.array(number_fold)
    held = []
    for fold in range(folds):
        s_in, n_in = single_fold != fold, number_fold != fold
        _, right, number_right = figures(
            single_texts[s_in], [d for d, k in zip(singles, s_in, strict=True) if k],
            number_texts[n_in], [n for n, k in zip(numbers, n_in, strict=True) if k],
        )  # fmt: skip
        column = best_prior(priors, right, number_right)
        split, right, number_right = figures(
            single_texts[~s_in], [d for d, k in zip(singles, s_in, strict=True) if not k],
            number_texts[~n_in], [n for n, k in zip(numbers, n_in, strict=True) if not k],
        )  # fmt: skip
        held.append((split[column], right[column], number_right[column]))
        print(
            f"fold {fold}: prior chosen on the other folds {priors[column]:g}; on this fold's writers "
            f"singles split {split[column]:.4f}  singles right {right[column]:.4f}  numbers right "
            f"{number_right[column]:.4f}"
        )
    mean = np.mean(held, axis=0)
    print(
        f"held-out folds, mean: singles split {mean[0]:.4f}  singles right {mean[1]:.4f}  numbers right {mean[2]:.4f}"
    )


if __name__ == "__main__":
    main()
