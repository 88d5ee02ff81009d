"""The gate on real letters, cross-validated by writer: how its mixing weights and temperature were chosen.

The shipped gate is the earlier gate (synthetic non-digits only) fine-tuned
for a few epochs on MNIST, the synthetic non-digits, and the real pen data
of ../shared/data/unipen-train: its letters that look like no digit as "not
a digit" and its digits as digits, each drawn afresh every epoch through the
reader's path (digitpad.data.pen_data). Which share of each, and the
temperature, are chosen here on whole writers held out of those files,
never on the dev set:

- the writers of both files (sorted ids, permuted by ``--fold-seed``; writer
  i of the permutation in fold i % K, as bench/drawn_digits.py --folds) make
  K folds;
- for each fold, a gate is fine-tuned without that fold's writers (saved as
  ``--out-dir``/gate-fold{k}.safetensors), then the fold's letters and
  digits are placed on the pad as ``bench/drawn_digits.py`` places them,
  read offline with the shipped digit model and that gate, and counted:
  letters read as "?", digits read as "?", digits read right; the shipped
  gate is read on the same drawings for comparison;
- the gate's temperature is fitted on the gates' logits for their own
  held-out writers, pooled (digits labelled as themselves, letters as "not
  a digit"), so it is calibrated on writers it never saw;
- ``--shift S`` moves "not a digit" by S in the logits the temperature has
  scaled (its prior odds times e^S) when the fold gates are read, as a
  check of an operating point chosen on the same held-out writers;
- ``--final OUT`` then fine-tunes a gate on every writer with the same
  settings, its temperature fitted on MNIST test digits 0-4999, and folds
  the shift into its output bias (recorded in its metrics);
- ``--scratch`` trains each gate afresh instead of fine-tuning ``--init``
  (which is then only the comparison): the 32-64-128 architecture with
  "not a digit", the first block pooled first and bfloat16 where the CPU
  has it (the Best recipe's levers), for ``--epochs`` at a peak of ``--lr``;
- ``--synthetic-letters SHARE`` sets the share of the hand-made letter
  shapes (``digitpad.data.letters``) among the synthetic non-digits (0:
  none, the other kinds keep theirs): whether the real letters make them
  redundant (bench/README.md, 2026-12-08, later).

    python bench/gate_cv.py [--folds K] [--only 0,1] [--letter-share F] [--pen-digits F] [--epochs N]
                            [--shift S] [--final OUT [--final-only]] [--init GATE | --scratch] [--data DIR]
                            [--synthetic-letters SHARE]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from drawn_digits import PAD_SIZE, place_sample, to_strokes, writer_folds  # noqa: E402

from digitpad.base.constants import NOT_A_DIGIT  # noqa: E402
from digitpad.base.paths import shipped_gate_path  # noqa: E402
from digitpad.data import nondigits  # noqa: E402
from digitpad.data.augment import AugmentConfig  # noqa: E402
from digitpad.data.mnist import load_mnist  # noqa: E402
from digitpad.data.pen_data import PenSample, load_pen_data  # noqa: E402
from digitpad.ink.preprocess import PEN_WIDTH_FRACTION, normalise  # noqa: E402
from digitpad.ink.samples import model_input  # noqa: E402
from digitpad.model.checkpoint import load_checkpoint, save_checkpoint  # noqa: E402
from digitpad.model.inference import Predictor  # noqa: E402
from digitpad.model.network import ModelConfig  # noqa: E402
from digitpad.model.reader import Reader  # noqa: E402
from digitpad.model.temperature import (  # noqa: E402
    CALIBRATION_METRIC,
    MAX_TEMPERATURE,
    MIN_TEMPERATURE,
    softmax,
    stored_temperature,
)
from digitpad.training.calibration import Calibration, calibrate, expected_calibration_error  # noqa: E402
from digitpad.training.config import TrainConfig  # noqa: E402
from digitpad.training.loop import PenSets, train  # noqa: E402

TRAIN_DATA = REPO.parent / "shared" / "data" / "unipen-train"
DIGITS_FILE = TRAIN_DATA / "unipen-1a-train.json.gz"
LETTERS_FILE = TRAIN_DATA / "unipen-1bc-train.json.gz"
MNIST_DIR = Path(os.environ.get("DIGITPAD_MNIST_DIR", REPO.parent / "shared" / "data" / "mnist"))


def gate_config(args: argparse.Namespace) -> TrainConfig:
    """The fine-tuning: the earlier gate's recipe (augmentation 0.6, pen styles, synthetic non-digits) at a
    lower learning rate, plus the real letters and digits at their shares; with --scratch, the Best recipe's
    levers too (bfloat16, cheaper mid-run evaluations)."""
    config = TrainConfig(
        epochs=args.epochs,
        learning_rate=args.lr,
        augment_config=AugmentConfig().scaled(0.6),
        pen_styles=0.5,
        non_digits=0.15,
        letters=args.letter_share,
        pen_digits=args.pen_digits,
        seed=1,
    )
    return replace(config, bf16=True, epoch_test_images=2000) if args.scratch else config


#: The gate trained afresh by --scratch: the shipped gate's width, with "not a digit", pooled first (Best's lever).
SCRATCH_MODEL = ModelConfig(channels=(32, 64, 128), num_classes=NOT_A_DIGIT + 1, pool_first=True)

#: Metric name of the shift folded into a gate's "not a digit" output bias.
SHIFT_METRIC = "not_a_digit_shift"


def shift_not_a_digit(model: torch.nn.Module, shift: float, temperature: float) -> None:
    """Move the "not a digit" logit by ``shift`` after the temperature (so by shift x T before it) by
    adding it to the output layer's bias: a change of its prior odds by e^shift that every reader of the
    checkpoint sees, with no code of its own."""
    with torch.no_grad():
        model.head[-1].bias[NOT_A_DIGIT] += shift * temperature


def fine_tune(pen: PenSets, args: argparse.Namespace, out: Path) -> None:
    """Fine-tune ``--init`` (with --scratch: train a new gate) with ``pen`` into ``out``, its temperature fitted on
    MNIST test digits 0-4999 as ``digitpad calibrate`` fits the shipped gate's (see :func:`binary_calibration` for
    why not on the writers)."""
    started = time.perf_counter()
    mnist = load_mnist(args.mnist_dir)
    initial = None if args.scratch else load_checkpoint(args.init).model
    result = train(mnist, gate_config(args), SCRATCH_MODEL if args.scratch else None, initial_model=initial,
                   pen=pen, checkpoint_path=out)  # fmt: skip
    calibration = calibrate(result.model, mnist.test_images, mnist.test_labels)
    metrics = {**result.info.metrics, CALIBRATION_METRIC: calibration.to_dict()}
    if args.shift and out == args.final:
        shift_not_a_digit(result.model, args.shift, calibration.temperature)
        metrics[SHIFT_METRIC] = {
            "shift": args.shift,
            "chosen_on": f"digits and no-digit letters of {args.folds} folds by writer of {LETTERS_FILE.name} "
            f"and {DIGITS_FILE.name} (fold seed {args.fold_seed}), each read by a gate that never saw them: "
            "the folds' digits shown '?' stay within 0.05 points of the gate before's (bench/README.md, 2026-12-07)",
        }
    # What it was fine-tuned from, by content (the gate shipped before it), never by path.
    data = dict(result.info.data)
    if not args.scratch:
        data["initial_weights"] = {"name": args.init.name, "sha256": hashlib.sha256(args.init.read_bytes()).hexdigest()}
    save_checkpoint(out, result.model, replace(result.info, metrics=metrics, data=data))
    last = result.history[-1]
    print(
        f"  fine-tuned in {time.perf_counter() - started:.0f}s: MNIST {last.test_accuracy:.4f}, "
        f"test digits declined {last.digits_declined:.4f}, synthetic non-digits {last.non_digit_recall:.4f}, "
        f"T {calibration.temperature:.4f}",
        flush=True,
    )


def as_bench_sample(sample: PenSample) -> dict:
    return {
        "label": sample.label,
        "writer": sample.writer,
        "group": "-",
        "strokes": [p.tolist() for p in sample.strokes],
    }


def placed_strokes(samples: list[PenSample], seed: int) -> list:
    """Each sample on the pad as bench/drawn_digits.py places it (45-80% of the height, the mouse's pen)."""
    rng = np.random.default_rng(seed)
    pen = PEN_WIDTH_FRACTION * PAD_SIZE
    return [to_strokes(place_sample(as_bench_sample(s), rng, (0.45, 0.8)), pen, tablet=False) for s in samples]


def read_texts(gate: Predictor, drawings: list) -> list[str]:
    predictor = Predictor.from_checkpoint()
    predictor.gate = gate
    reader = Reader(predictor)
    return [reader.read(strokes).text for strokes in drawings]


def gate_logits(gate: Predictor, drawings: list) -> np.ndarray:
    """The gate's logits for each drawing read as one character (as a single letter or digit is)."""
    images = []
    for strokes in drawings:
        image = model_input(strokes)
        images.append(np.zeros((28, 28), np.uint8) if image is None else image)
    return gate.logits_batch(normalise(np.stack(images).astype(np.float32) / 255))


def report(name: str, letters: list[str], digits: list[str], labels: list[int]) -> dict:
    figures = {
        "letters_declined": float(np.mean([t == "?" for t in letters])),
        "digits_unsure": float(np.mean([t == "?" for t in digits])),
        "digits_right": float(np.mean([t == str(label) for t, label in zip(digits, labels, strict=True)])),
    }
    print(
        f"  {name:22} letters declined {figures['letters_declined']:.2%} of {len(letters)}, "
        f"digits '?' {figures['digits_unsure']:.2%}, right {figures['digits_right']:.2%} of {len(digits)}",
        flush=True,
    )
    return figures


def not_a_digit_probability(logits: np.ndarray, temperature: float) -> np.ndarray:
    return np.clip(softmax(logits, temperature)[:, NOT_A_DIGIT], 1e-7, 1 - 1e-7)


def binary_nll(logits: np.ndarray, declined: np.ndarray, temperature: float) -> float:
    """Negative log-likelihood of "not a digit" (the one output of the gate the app uses) at ``temperature``,
    letters and digits weighted equally: the held-out writers wrote eight letters for every digit, and a
    temperature fitted to that mix would serve letters at the digits' cost."""
    p = not_a_digit_probability(logits, temperature)
    return float(-(np.mean(np.log(p[declined])) + np.mean(np.log1p(-p[~declined]))) / 2)


def binary_calibration(logits: np.ndarray, declined: np.ndarray, folds: int) -> Calibration:
    """The temperature that would make the gate's "not a digit" honest on held-out writers (golden-section
    search on log T, as digitpad.training.calibration does for the digits), and what it did there.

    Printed, and the folds read again at it, as a check beside the stored temperature, which is fitted on
    MNIST's test digits as the shipped gate's was (bench/README.md, 2026-12-07, says what each gives).
    """
    low, high = np.log(MIN_TEMPERATURE), np.log(MAX_TEMPERATURE)
    ratio = (np.sqrt(5) - 1) / 2
    for _ in range(60):
        a, b = high - ratio * (high - low), low + ratio * (high - low)
        if binary_nll(logits, declined, np.exp(a)) < binary_nll(logits, declined, np.exp(b)):
            high = b
        else:
            low = a
    temperature = round(float(np.exp((low + high) / 2)), 4)

    def ece(value: float) -> float:
        p = not_a_digit_probability(logits, value)
        return expected_calibration_error(np.stack([1 - p, p], axis=1), declined.astype(np.int64))

    return Calibration(
        temperature=temperature,
        fitted_on=f"'not a digit' of the gates' own held-out writers of {LETTERS_FILE.name} and {DIGITS_FILE.name} "
        f"({len(declined)} drawings, {folds} folds by writer)",
        nll_before=binary_nll(logits, declined, 1.0),
        nll_after=binary_nll(logits, declined, temperature),
        ece_before=ece(1.0),
        ece_after=ece(temperature),
    )


def run_fold(fold: int, folds: dict, data: tuple, args: argparse.Namespace) -> tuple:
    """Fine-tune (or, with --reuse, load) fold ``fold``'s gate and read its held-out writers; what the
    calibration and the second reading need."""
    digits_data, letters_data = data
    held_letters = [s for s in letters_data.no_digit_letters if folds[s.writer] == fold]
    held_digits = [s for s in digits_data.digits if folds[s.writer] == fold]
    gate_file = args.out_dir / f"gate-fold{fold}.safetensors"
    if not (args.reuse and gate_file.exists()):
        kept = PenSets(
            digits=(replace(digits_data, samples=tuple(s for s in digits_data.samples if folds[s.writer] != fold)),),
            letters=(replace(letters_data, samples=tuple(s for s in letters_data.samples if folds[s.writer] != fold)),),
        )
        fine_tune(kept, args, gate_file)
    # Shifted before the Predictor is made: its optimised copy of the model freezes the weights.
    loaded = load_checkpoint(gate_file)
    shift_not_a_digit(loaded.model, args.shift, stored_temperature(loaded.info.metrics))
    gate = Predictor(loaded.model, loaded.info, loaded.path)
    drawings = (placed_strokes(held_letters, 0), placed_strokes(held_digits, 1))
    labels = [int(s.label) for s in held_digits]
    logits = np.concatenate([gate_logits(gate, drawings[0]), gate_logits(gate, drawings[1])])
    declined = np.concatenate([np.ones(len(held_letters), bool), np.zeros(len(held_digits), bool)])
    return gate, drawings, labels, logits, declined


def mean_report(name: str, rows: list[dict]) -> None:
    mean = {key: float(np.mean([row[key] for row in rows])) for key in rows[0]}
    print(f"mean over folds, {name}: " + ", ".join(f"{key} {value:.2%}" for key, value in mean.items()), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--only", help="run these folds only, e.g. 0,1")
    parser.add_argument("--fold-seed", type=int, default=12345)
    parser.add_argument("--letter-share", type=float, default=0.5)
    parser.add_argument("--pen-digits", type=float, default=1.0)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--out-dir", type=Path, default=Path("/tmp/gate-cv"))
    parser.add_argument("--reuse", action="store_true", help="read a fold's gate from --out-dir if it is there")
    parser.add_argument("--shift", type=float, default=0.0, help="'not a digit' logit shift after T (see above)")
    parser.add_argument("--final", type=Path, help="then fine-tune on every writer, calibrated, into this file")
    parser.add_argument("--final-only", action="store_true", help="skip the folds: only make --final")
    parser.add_argument(
        "--init", type=Path, default=shipped_gate_path(), help="the gate to fine-tune (default: the shipped one)"
    )
    parser.add_argument("--scratch", action="store_true", help="train each gate afresh, not from --init")
    parser.add_argument(
        "--synthetic-letters",
        type=float,
        default=nondigits.KIND_SHARES["letter"],
        help="share of the hand-made letter shapes among the synthetic non-digits (0: none; the other kinds keep "
        "their shares); to measure whether the real letters make them redundant",
    )
    parser.add_argument("--data", type=Path, default=TRAIN_DATA, help="the folder of UNIPEN's training files")
    parser.add_argument("--mnist-dir", type=Path, default=MNIST_DIR)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    if args.final_only and not args.final:
        parser.error("--final-only needs --final")
    torch.set_num_threads(args.threads)
    # Read by make_non_digits at call time; a kind whose candidates all fail still falls back to a letter (rare).
    nondigits.KIND_SHARES["letter"] = args.synthetic_letters
    args.out_dir.mkdir(parents=True, exist_ok=True)
    data = load_pen_data(args.data / DIGITS_FILE.name), load_pen_data(args.data / LETTERS_FILE.name)
    folds = writer_folds({s.writer for s in data[0].samples + data[1].samples}, args.folds, args.fold_seed)
    before = Predictor.from_checkpoint(args.init)  # the comparison
    print(f"load {os.getloadavg()[0]:.1f}; {json.dumps(gate_config(args).to_dict())}", flush=True)
    if args.final_only:
        make_final(data, args)
        return
    chosen = range(args.folds) if not args.only else [int(k) for k in args.only.split(",")]
    runs, rows = [], {"before": [], "fine-tuned": [], "at the writers' temperature": []}
    for fold in chosen:
        print(f"fold {fold}:", flush=True)
        gate, drawings, labels, logits, declined = run_fold(fold, folds, data, args)
        runs.append((fold, gate, drawings, labels, logits, declined))
        for name, reading_gate in (("before", before), ("fine-tuned", gate)):
            rows[name].append(
                report(name, read_texts(reading_gate, drawings[0]), read_texts(reading_gate, drawings[1]), labels)
            )
    logits, declined = np.concatenate([run[4] for run in runs]), np.concatenate([run[5] for run in runs])
    calibration = binary_calibration(logits, declined, len(runs))
    print(
        f"temperature of 'not a digit' on held-out writers: {calibration.temperature:.4f} "
        f"(NLL {calibration.nll_before:.4f} -> {calibration.nll_after:.4f}, "
        f"ECE {calibration.ece_before:.4f} -> {calibration.ece_after:.4f})",
        flush=True,
    )
    for fold, gate, drawings, labels, _, _ in runs:
        gate.temperature = calibration.temperature
        texts = read_texts(gate, drawings[0]), read_texts(gate, drawings[1])
        rows["at the writers' temperature"].append(report(f"fold {fold}, writers' T", *texts, labels))
    for name, figures in rows.items():
        mean_report(name, figures)
    if args.final:
        make_final(data, args)


def make_final(data: tuple, args: argparse.Namespace) -> None:
    print("final gate, every writer:", flush=True)
    fine_tune(PenSets(digits=(data[0],), letters=(data[1],)), args, args.final)
    print(f"saved {args.final}")


if __name__ == "__main__":
    main()
