"""Real pen digits in the digit model, cross-validated by writer: do they help writers the model never saw?

Issue 20 lets UNIPEN's training digits (``../shared/data/unipen-train``)
into the digit model only as far as validation on whole writers held out of
the file allows. This bench trains, with a recipe of
:mod:`digitpad.training.recipes` (``--recipe``, Best by default: 9 epochs,
about 3-4 minutes a run here):

- one model without pen data (``OUT/base.safetensors``): it never sees
  the file's writers, so it is the comparison for every fold;
- per fold k (``--folds`` by writer, the writers of the digit and letter
  files permuted by ``--fold-seed`` exactly as ``bench/gate_cv.py`` and
  ``drawn_digits.py --folds`` cut them), one model with the pen digits of
  every writer outside fold k at ``--share`` (``OUT/fold{k}.safetensors``);

calibrates each as ``digitpad calibrate`` does (MNIST test digits 0-4999),
then reads fold k's digits with the base model and with fold k's model
through ``bench/drawn_digits.py --modes offline --folds K --fold k`` (the
shipped gate, the app's reader; its per-group 1→7, 7→1 and 0→8 counts and
confusions are printed there), and sums the folds. The dev writers are never
read here; ``drawn_digits.py --weights`` on a model trained on every writer
is the last check.

    DIGITPAD_MNIST_DIR=../shared/data/mnist python bench/pen_digits_cv.py [--share 1.0] [--folds 5] [--only 0,1]
        [--recipe best] [--out-dir /tmp/pen-digits-cv] [--reuse]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from drawn_digits import writer_folds  # noqa: E402

from digitpad.data.mnist import load_mnist, resolve_data_dir  # noqa: E402
from digitpad.data.pen_data import load_pen_data  # noqa: E402
from digitpad.training.loop import PenSets, train  # noqa: E402
from digitpad.training.recipes import RECIPES  # noqa: E402

TRAIN_DATA = REPO.parent / "shared" / "data" / "unipen-train"
DIGITS_FILE = "unipen-1a-train.json.gz"
LETTERS_FILE = "unipen-1bc-train.json.gz"
#: drawn_digits.py's line for the fold read: "fold k  W writers  N samples  accuracy A  unsure U  split S".
FOLD_LINE = re.compile(r"fold\s+\d+\s+\d+ writers\s+(\d+) samples\s+accuracy ([\d.]+)")


def train_model(args: argparse.Namespace, pen: PenSets | None, out: Path) -> None:
    """Train the recipe (with ``pen`` at ``--share``, or none) into ``out`` and calibrate it there."""
    recipe = RECIPES[args.recipe]
    config = replace(recipe.train_config, pen_digits=args.share if pen else 0.0)
    started = time.perf_counter()
    result = train(load_mnist(args.data_dir), config, recipe.model_config, pen=pen, checkpoint_path=out)
    subprocess.run(
        [sys.executable, "-m", "digitpad", "calibrate", "--weights", str(out), "--data-dir", str(args.data_dir)],
        check=True,
        capture_output=True,
    )
    samples = sum(len(data.samples) for data in pen.digits) if pen else 0
    print(
        f"  {out.name}: {time.perf_counter() - started:.0f} s, MNIST {result.history[-1].test_accuracy:.4f}, "
        f"{samples} pen digits",
        flush=True,
    )


def read_fold(args: argparse.Namespace, fold: int, weights: Path) -> tuple[int, int, str]:
    """(digits read, digits right, drawn_digits.py's report) of fold ``fold``'s writers with ``weights``."""
    command = [
        sys.executable,
        str(REPO / "bench" / "drawn_digits.py"),
        "--modes",
        "offline",
        "--data",
        str(args.data / DIGITS_FILE),
        "--fold-writers",
        str(args.data / LETTERS_FILE),
        "--folds",
        str(args.folds),
        "--fold-seed",
        str(args.fold_seed),
        "--fold",
        str(fold),
        "--weights",
        str(weights),
    ]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    match = FOLD_LINE.search(output)
    if match is None:
        raise SystemExit(f"drawn_digits.py printed no fold line:\n{output}")
    count = int(match.group(1))
    report = "\n".join(line for line in output.splitlines() if line.lstrip().startswith("group "))
    return count, round(count * float(match.group(2))), report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--share", type=float, default=1.0, help="pen digits drawn per epoch, times the file's")
    parser.add_argument("--recipe", default="best", choices=sorted(RECIPES))
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--fold-seed", type=int, default=12345)
    parser.add_argument("--only", help="these folds only, e.g. 0,1")
    parser.add_argument("--out-dir", type=Path, default=Path("/tmp/pen-digits-cv"))
    parser.add_argument("--reuse", action="store_true", help="use a model already in --out-dir instead of training")
    parser.add_argument("--data", type=Path, default=TRAIN_DATA, help="the folder of UNIPEN's training files")
    parser.add_argument("--data-dir", type=Path, help="MNIST (default: $DIGITPAD_MNIST_DIR)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    if "unipen-dev" in str(args.data):
        raise SystemExit("the dev set is for measuring only: train and choose on unipen-train")
    args.data_dir = resolve_data_dir(args.data_dir)
    torch.set_num_threads(args.threads)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    digits = load_pen_data(args.data / DIGITS_FILE)
    letters = load_pen_data(args.data / LETTERS_FILE)
    folds = writer_folds({s.writer for s in digits.samples + letters.samples}, args.folds, args.fold_seed)
    print(f"load average {os.getloadavg()[0]:.1f}; recipe {args.recipe}, pen digits at {args.share:g}", flush=True)
    base = args.out_dir / "base.safetensors"
    if not (args.reuse and base.exists()):
        train_model(args, None, base)
    chosen = range(args.folds) if not args.only else [int(k) for k in args.only.split(",")]
    totals = {"base": [0, 0], "pen": [0, 0]}
    for fold in chosen:
        weights = args.out_dir / f"fold{fold}.safetensors"
        if not (args.reuse and weights.exists()):
            kept = replace(digits, samples=tuple(s for s in digits.samples if folds[s.writer] != fold))
            train_model(args, PenSets(digits=(kept,)), weights)
        for name, path in (("base", base), ("pen", weights)):
            count, right, report = read_fold(args, fold, path)
            totals[name][0] += count
            totals[name][1] += right
            print(f"fold {fold}, {name:4}: {right}/{count} right ({right / count:.2%})\n{report}", flush=True)
    for name, (count, right) in totals.items():
        print(f"all folds, {name:4}: {right}/{count} right ({right / max(count, 1):.2%}), {count - right} errors")
    print(f"load average {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
