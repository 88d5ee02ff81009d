"""Batch-1 latency of a live prediction: preprocessing + forward, as the pad makes it.

A "2" is drawn on a 400x400 pad with the pad's default pen (rasterised by
digitpad.ink.strokes.render, stored as uint8 like the pad's ink image) and
predicted with ``Predictor.predict``:

- ``pad``: the call the Draw tab makes, the ink cropped to its bounding box
  (a view into the pad's image) with that box passed as ``bbox``;
- ``scan``: the whole 400x400 canvas and no ``bbox``, so preprocessing
  finds the ink itself.

Each with and without the feature maps (the live view asks for them), for the
shipped weights and for a (32, 64, 128) model. Configurations are measured in
interleaved rounds (so that a change of machine load hits all of them) after
a warm-up; p50 and p95 in ms over all calls. Also printed: preprocessing
alone and the forward pass alone (``predict_input``), the torch threads used
by the predicting thread, and the load average.

    python bench/latency.py [--calls 2000] [--rounds 4] [--eager] [--large-weights PATH]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

# Run from a checkout without installing: the repository root comes first.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from digitpad.ink.preprocess import PEN_WIDTH_FRACTION, ink_bbox, preprocess
from digitpad.ink.strokes import Stroke, render
from digitpad.model.inference import Predictor
from digitpad.model.network import DigitNet, ModelConfig

PAD_SIZE = 400
TARGET_P50_MS = 0.5
TARGET_P95_MS = 1.0
LARGE_CHANNELS = (32, 64, 128)


def drawn_two(size: int = PAD_SIZE) -> np.ndarray:
    """A '2' about 60% of the pad's height, drawn with the default pen, as the pad's uint8 ink."""
    stroke = Stroke()
    width = PEN_WIDTH_FRACTION * size
    for t in np.linspace(0.0, 1.0, 80):
        if t < 0.5:  # the arc
            angle = np.pi * (1.0 - 2.2 * t)
            stroke.add(size * (0.5 + 0.17 * np.cos(angle)), size * (0.37 - 0.15 * np.sin(angle)), width)
        elif t < 0.8:  # the diagonal
            u = (t - 0.5) / 0.3
            stroke.add(size * (0.65 - 0.33 * u), size * (0.45 + 0.32 * u), width)
        else:  # the base
            u = (t - 0.8) / 0.2
            stroke.add(size * (0.32 + 0.35 * u), size * 0.77, width)
    return np.rint(render([stroke], size, size) * 255).astype(np.uint8)


def make_predictor(large: bool, eager: bool, large_weights: str | None) -> Predictor:
    previous = os.environ.pop("DIGITPAD_EAGER_INFERENCE", None)
    if eager:
        os.environ["DIGITPAD_EAGER_INFERENCE"] = "1"
    try:
        if not large:
            return Predictor.from_checkpoint()
        if large_weights:
            return Predictor.from_checkpoint(large_weights)
        torch.manual_seed(0)
        return Predictor(DigitNet(ModelConfig(channels=LARGE_CHANNELS)).eval())
    finally:
        os.environ.pop("DIGITPAD_EAGER_INFERENCE", None)
        if previous is not None:
            os.environ["DIGITPAD_EAGER_INFERENCE"] = previous


def threads_of_a_new_thread() -> int:
    """torch's intra-op thread count as a thread starting now sees it (e.g. the GUI's training thread)."""
    seen = []
    thread = threading.Thread(target=lambda: seen.append(torch.get_num_threads()))
    thread.start()
    thread.join()
    return seen[0]


def percentiles(samples: list[float]) -> tuple[float, float, float]:
    """(p50, p95, max) in ms."""
    values = np.sort(np.asarray(samples)) * 1e3
    return float(np.percentile(values, 50)), float(np.percentile(values, 95)), float(values[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=2000, help="timed calls per configuration (default 2000)")
    parser.add_argument("--rounds", type=int, default=4, help="interleaved rounds the calls are split into")
    parser.add_argument("--warmup", type=int, default=200, help="untimed calls per configuration first")
    parser.add_argument("--eager", action="store_true", help="also measure the eager model (no TorchScript)")
    parser.add_argument("--large-weights", help=f"a trained {LARGE_CHANNELS} checkpoint (default: random weights)")
    args = parser.parse_args(argv)

    canvas = drawn_two()
    bbox = ink_bbox(canvas.astype(np.float32) / 255)
    assert bbox is not None
    top, left, bottom, right = bbox
    crop = canvas[top:bottom, left:right]  # a view, as the pad hands it over
    crop_box = (0, 0, bottom - top, right - left)

    variants = [(False, False)] + ([(False, True)] if args.eager else [])
    variants += [(True, False)] + ([(True, True)] if args.eager else [])
    predictors: dict[str, Predictor] = {}
    for large, eager in variants:
        predictor = make_predictor(large, eager, args.large_weights)
        channels = predictor.model.config.channels
        name = f"{'large' if large else 'shipped'} {tuple(channels)} {'eager' if eager else 'fast'}"
        if not eager and not predictor.optimised:
            name = name.replace("fast", "eager-fallback")
        predictors[name] = predictor

    stages = preprocess(crop, crop_box)
    assert stages is not None
    normalised = stages.normalised
    cases: dict[str, Callable[[], object]] = {
        "preprocess only (pad)": lambda: preprocess(crop, crop_box),
        "preprocess only (scan)": lambda: preprocess(canvas),
    }
    for name, predictor in predictors.items():
        cases[f"{name} | forward only          "] = lambda p=predictor: p.predict_input(normalised, False)
        cases[f"{name} | forward only +maps    "] = lambda p=predictor: p.predict_input(normalised, True)
        cases[f"{name} | predict pad           "] = lambda p=predictor: p.predict(crop, crop_box, False)
        cases[f"{name} | predict pad +maps     "] = lambda p=predictor: p.predict(crop, crop_box, True)
        cases[f"{name} | predict scan          "] = lambda p=predictor: p.predict(canvas, None, False)
        cases[f"{name} | predict scan +maps    "] = lambda p=predictor: p.predict(canvas, None, True)

    shipped = predictors[next(iter(predictors))].predict(crop, crop_box)
    load_before = os.getloadavg()
    print(
        f"latency: torch {torch.__version__}, numpy {np.__version__}, python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs"
    )
    print(f"load average at start {' '.join(f'{v:.2f}' for v in load_before)}")
    # numpy's OpenBLAS threads serve preprocessing's small matrix products; how many matters (see README).
    blas_env = {name: os.environ.get(name, "unset") for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")}
    print("environment: " + ", ".join(f"{name}={value}" for name, value in blas_env.items()))
    print(
        f"drawing: a '2' on a {PAD_SIZE}x{PAD_SIZE} uint8 pad, ink box {bottom - top}x{right - left} px; "
        f"shipped weights read it as {shipped.digit} ({shipped.confidence:.1%})"
    )

    for case in cases.values():
        for _ in range(args.warmup):
            case()
    threads_in_predicting_thread = torch.get_num_threads()
    samples: dict[str, list[float]] = {name: [] for name in cases}
    per_round = max(1, args.calls // args.rounds)
    clock = time.perf_counter
    for _ in range(args.rounds):
        for name, case in cases.items():
            timings = samples[name]
            for _ in range(per_round):
                started = clock()
                case()
                timings.append(clock() - started)
    load_after = os.getloadavg()

    threads_for_new_threads = threads_of_a_new_thread()
    print(
        f"torch threads: {threads_in_predicting_thread} in the predicting thread, "
        f"{threads_for_new_threads} in a thread that starts using torch now (e.g. training)"
    )
    print(f"{per_round * args.rounds} calls per row in {args.rounds} interleaved rounds after {args.warmup} warm-up")
    print()
    print("=" * 92)
    print(f"SUMMARY latency, ms per call, batch 1, {threads_in_predicting_thread} torch thread(s) while predicting")
    print(f"  load average {' '.join(f'{v:.2f}' for v in load_before)} -> {' '.join(f'{v:.2f}' for v in load_after)}")
    print(f"  {'':58s} {'p50':>7s} {'p95':>7s} {'max':>7s}")
    verdicts: dict[str, list[bool]] = {}
    for name, timings in samples.items():
        p50, p95, worst = percentiles(timings)
        print(f"  {name:58s} {p50:7.3f} {p95:7.3f} {worst:7.2f}")
        model, _, case = name.partition(" | ")
        if case.startswith("predict") and not model.endswith(" eager"):
            verdicts.setdefault(model, []).append(p50 <= TARGET_P50_MS and p95 <= TARGET_P95_MS)
    for model, results in verdicts.items():
        print(
            f"  target p50 <= {TARGET_P50_MS} ms, p95 <= {TARGET_P95_MS} ms, {model}: "
            f"{'met' if all(results) else 'NOT met'} ({sum(results)} of {len(results)} predict rows within both)"
        )
    print("=" * 92)
    return 0


if __name__ == "__main__":
    sys.exit(main())
