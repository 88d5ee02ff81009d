"""Deletion test of the saliency map on the dev pen-drawn digits: does it point at the ink that matters?

Each UNIPEN dev digit (../shared/data/unipen-dev, for measuring only) is
placed on a 400x400 pad as in bench/drawn_digits.py and read offline as the
app reads it (split into characters, rendered with the model's pen,
preprocessed); digits read as more than one character are left out. Then,
on the model's 28x28 input:

- ``saliency``: the 10% of ink pixels (input > preprocess.INK_THRESHOLD)
  that ``digitpad.model.explain.saliency`` ranks highest are set to paper;
- ``random``: as many random ink pixels are set to paper (``--draws``
  draws per digit, averaged);

and the fall of the predicted digit's probability is averaged over digits.
The ratio saliency / random says how much better than chance the map finds
the ink the prediction needs (1: no better). The same is printed for
gradient x input (``digitpad.model.explain.gradient_times_input``), for comparison.

    python bench/saliency.py [--limit N] [--share 0.1] [--draws 5] [--weights PATH]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from drawn_digits import DEFAULT_DATA, load_unipen, place_samples, to_strokes  # noqa: E402

from digitpad.ink.characters import render_character, split_characters  # noqa: E402
from digitpad.ink.preprocess import INK_THRESHOLD, PEN_WIDTH_FRACTION  # noqa: E402
from digitpad.model.explain import PAPER, gradient_times_input, saliency  # noqa: E402

#: The issue's target: the map's fall at least this many times random deletion's.
TARGET_RATIO = 3.0
PAD = 400


def dev_inputs(predictor, limit: int | None) -> tuple[np.ndarray, np.ndarray]:
    """(normalised inputs (N, 28, 28), centred [0, 1] inputs) of the dev digits read as one character."""
    samples = load_unipen(DEFAULT_DATA)
    if limit:
        samples = samples[:limit]
    normalised, centred = [], []
    for digit in place_samples(samples, PAD):
        strokes = to_strokes(digit, PEN_WIDTH_FRACTION * PAD, tablet=False)
        characters = split_characters(strokes)
        if len(characters) != 1:
            continue
        prediction = predictor.predict(render_character(strokes, characters[0]))
        if prediction is not None:
            normalised.append(prediction.stages.normalised)
            centred.append(prediction.stages.centred)
    return np.stack(normalised), np.stack(centred)


def deletion_drops(
    predictor, inputs: np.ndarray, centred: np.ndarray, maps: np.ndarray, share: float, draws: int
) -> tuple[float, float]:
    """Mean fall of the predicted digit's probability: top ``share`` of ink by ``maps``, and random ink."""
    rng = np.random.default_rng(0)
    before = predictor.predict_batch(inputs)[:, :10]
    predicted = before.argmax(axis=1)
    by_map, by_chance = [], []
    for index in range(len(inputs)):
        ink = np.flatnonzero(centred[index].ravel() > INK_THRESHOLD)
        count = max(1, round(share * len(ink)))
        # Stable order: ties (e.g. zeros) are broken the same way every run.
        ranked = ink[np.argsort(-maps[index].ravel()[ink], kind="stable")[:count]]
        by_map.append(_blanked(inputs[index], ranked))
        by_chance.extend(_blanked(inputs[index], rng.choice(ink, count, replace=False)) for _ in range(draws))
    rows = np.arange(len(inputs))
    after_map = predictor.predict_batch(np.stack(by_map))[rows, predicted]
    after_chance = predictor.predict_batch(np.stack(by_chance)).reshape(len(inputs), draws, -1)[:, :, :10]
    start = before[rows, predicted]
    return float(np.mean(start - after_map)), float(np.mean(start[:, None] - after_chance[rows, :, predicted[rows]]))


def _blanked(image: np.ndarray, pixels: np.ndarray) -> np.ndarray:
    flat = image.copy().ravel()
    flat[pixels] = PAPER
    return flat.reshape(image.shape)


def run_method(
    name: str, method: Callable, predictor, inputs: np.ndarray, centred: np.ndarray, args: argparse.Namespace
) -> float:
    started = time.perf_counter()
    maps = np.stack([method(predictor, image) for image in inputs])
    per_map_ms = (time.perf_counter() - started) / len(inputs) * 1000
    top, chance = deletion_drops(predictor, inputs, centred, maps, args.share, args.draws)
    ratio = top / chance if chance > 0 else float("inf")
    print(
        f"{name}: probability falls by {top:.4f} (top {args.share:.0%} of ink) vs {chance:.4f} "
        f"(random ink): ratio {ratio:.2f}; {per_map_ms:.1f} ms per map",
        flush=True,
    )
    return ratio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=None, help="only the first N dev digits")
    parser.add_argument("--share", type=float, default=0.1, help="share of ink pixels blanked (default 0.1)")
    parser.add_argument("--draws", type=int, default=5, help="random draws per digit (default 5)")
    parser.add_argument("--weights", default=None, help="checkpoint (default: the shipped weights)")
    args = parser.parse_args()
    print(f"load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())} on {os.cpu_count()} CPUs")

    from digitpad.model.inference import Predictor

    predictor = Predictor.from_checkpoint(args.weights)
    inputs, centred = dev_inputs(predictor, args.limit)
    print(f"{len(inputs)} dev digits read as one character ({DEFAULT_DATA.name})")
    ratio = run_method("saliency (integrated gradients)", saliency, predictor, inputs, centred, args)
    run_method("gradient x input", gradient_times_input, predictor, inputs, centred, args)
    verdict = "meets" if ratio >= TARGET_RATIO else "misses"
    print(f"saliency ratio {ratio:.2f} {verdict} the target of {TARGET_RATIO:g}")
    print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
