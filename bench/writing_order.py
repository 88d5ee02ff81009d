"""Would how a character was written help the gate tell letters from digits? Measured, not shipped (2026-12-08).

    python bench/writing_order.py --gates /tmp/gate-cv/gate-fold{fold}.safetensors [--features all|lift|start]
                                  [--all-sources | --lookalikes] [--dev-check] [--hidden 16] [--seed 0]

The gate reads a character's raster, which forgets the order of the ink; people's
pens do not (a "b" goes down its stem first, a 6 starts at its top). This bench
fits a small network (two hidden layers of ``--hidden`` ReLUs) that reads the
gate's "not a digit" log-odds, the digit model's and the gate's top digit
probabilities, and writing features of the strokes (:func:`writing_features`),
and gives P(not a digit) for the app's product rule.

- Folds by writer as ``bench/gate_cv.py`` cuts them; each fold's letters that look
  like no digit and its digits are placed as gate_cv.py places them and read as
  single characters by the shipped digit model and by the fold's gate (from
  ``gate_cv.py --out-dir``: a gate that never saw those writers), with the shipped
  gate's "not a digit" shift added.
- Per fold, the network learns on the other folds. It learns only from writers of
  the sources that gave digits (ids ``app...``), unless ``--all-sources``: letters of
  sources without digits would otherwise teach it their digitisers as much as
  their letters. The other sources' letters are then a check on sources it never
  saw.
- The shift on its log-odds is the largest at which the pooled held-out digits shown
  "?" are no more than with the gate alone.
- ``--features``: ``all`` (the list below), ``lift`` (only those that do not depend on
  where the pen was lifted: the box's aspect, where the ink starts and ends, the
  start's direction, the ink's length), ``start`` (where it starts and which way).
- ``--lookalikes``: the network learns from every source, with its letters written like digits (O, l, Z, S, b,
  g...) on the digits' side, so that every source shows both sides (it made things worse: bench/README.md).
- ``--dev-check``: the network trained on every fold, with that shift and the shipped
  gate, reads the dev set's digits and letters offline as single characters, against
  the shipped gate alone. The dev set is measured, never learned from.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from drawn_digits import writer_folds  # noqa: E402
from gate_cv import DIGITS_FILE, LETTERS_FILE, SHIFT_METRIC, placed_strokes  # noqa: E402

from digitpad.base.constants import NOT_A_DIGIT, NUM_CLASSES  # noqa: E402
from digitpad.base.paths import shipped_gate_path  # noqa: E402
from digitpad.data.pen_data import NO_DIGIT_LETTERS, load_pen_data  # noqa: E402
from digitpad.ink.preprocess import normalise  # noqa: E402
from digitpad.ink.samples import model_input  # noqa: E402
from digitpad.model.inference import Predictor  # noqa: E402
from digitpad.model.reader import UNSURE_BELOW  # noqa: E402
from digitpad.model.temperature import softmax  # noqa: E402

DEV_DATA = REPO.parent / "shared" / "data" / "unipen-dev"
#: The writing features (see writing_features), and the subsets --features names.
FEATURES = (
    "strokes",  # the stroke count over 4, at most 1
    "log_aspect",  # log(width / height) of the ink
    "start_x", "start_y",  # where the first stroke starts, in the box (longer side 1)
    "end_x", "end_y",  # where the last stroke ends
    "first_end_x", "first_end_y",  # where the first stroke ends
    "start_dx", "start_dy",  # the first stroke's direction over its first 15%
    "turning", "abs_turning", "corners",  # the first stroke's signed and total turning (turns), sharp turns / 4
    "ink_length",  # all strokes' length over the box's side, over 4
    "second_start_x", "second_start_y", "second_end_x", "second_end_y", "has_second",
)  # fmt: skip
SUBSETS = {
    "all": FEATURES,
    "lift": ("log_aspect", "start_x", "start_y", "end_x", "end_y", "start_dx", "start_dy", "ink_length"),
    "start": ("start_x", "start_y", "start_dx", "start_dy"),
}
#: Inputs from the networks, before the writing features.
MODEL_INPUTS = ("gate_log_odds", "log_top_digit", "log_gate_top_digit")
#: Characters of a writer id that name its source (UNIPEN's writer ids begin with their contributor's tag).
SOURCE_TAG = 3
SHIFTS = np.round(np.arange(-12.0, 12.0001, 0.05), 2)
EPOCHS, LEARNING_RATE, WEIGHT_DECAY = 300, 3e-3, 1e-4


def writing_features(strokes: list) -> np.ndarray:
    """FEATURES for a character's strokes in writing order; each stroke resampled evenly (1/24 of the box) first,
    so that sparse mouse events and dense tablet ones give the same numbers."""
    paths = [np.asarray(s.points, np.float64) for s in strokes if not s.erase and s.points]
    ink = np.concatenate(paths)
    corner = ink.min(axis=0)
    width, height = np.maximum(ink.max(axis=0) - corner, 1e-3)
    side = max(width, height)
    paths = [_resample((p - corner) / side, 1 / 24) for p in paths]
    first, last = paths[0], paths[-1]
    steps = np.diff(first, axis=0)
    turns = np.angle(np.exp(1j * np.diff(np.arctan2(steps[:, 1], steps[:, 0])))) if len(first) > 2 else np.zeros(1)
    target = first[min(max(1, round(0.15 * (len(first) - 1))), len(first) - 1)] - first[0]
    direction = target / (math.hypot(*target) or 1.0)
    second = paths[1] if len(paths) > 1 else np.zeros((1, 2))
    length = sum(float(np.hypot(*np.diff(p, axis=0).T).sum()) for p in paths if len(p) > 1)
    return np.array(
        [
            min(len(paths), 4) / 4,
            np.clip(math.log(width / height), -3, 3),
            *first[0],
            *last[-1],
            *first[-1],
            *direction,
            turns.sum() / (2 * math.pi),
            np.abs(turns).sum() / (2 * math.pi),
            (np.abs(turns) > math.pi / 2).sum() / 4,
            length / 4,
            *second[0],
            *second[-1],
            float(len(paths) > 1),
        ],
        np.float32,
    )


def _resample(path: np.ndarray, spacing: float) -> np.ndarray:
    steps = np.hypot(*np.diff(path, axis=0).T) if len(path) > 1 else np.zeros(0)
    keep = np.concatenate([[True], steps > 0])
    distance = np.concatenate([[0.0], np.cumsum(steps)])[keep]
    path = path[keep]
    if distance[-1] < spacing:
        return path[[0, -1]] if len(path) > 1 else path
    at = np.linspace(0.0, distance[-1], max(1, round(distance[-1] / spacing)) + 1)
    return np.stack([np.interp(at, distance, path[:, 0]), np.interp(at, distance, path[:, 1])], axis=1)


def read(samples: list, seed: int, model: Predictor, gate: Predictor, gate_shift: float) -> dict:
    """Each sample placed on the pad and read as one character: the inputs, and what the product rule needs."""
    drawings = placed_strokes(samples, seed)
    images = [model_input(strokes) for strokes in drawings]
    images = [np.zeros((28, 28), np.uint8) if image is None else image for image in images]
    normalised = normalise(np.stack(images).astype(np.float32) / 255)
    digits = model.predict_batch(normalised)[:, :NUM_CLASSES]
    logits = gate.logits_batch(normalised) / gate.temperature
    logits[:, NOT_A_DIGIT] += gate_shift
    gate_probabilities = softmax(logits.astype(np.float64))
    gate_digits = gate_probabilities[:, :NUM_CLASSES].sum(axis=1)
    networks = np.stack(
        [
            np.log(np.maximum(gate_probabilities[:, NOT_A_DIGIT], 1e-9)) - np.log(np.maximum(gate_digits, 1e-9)),
            np.log(np.maximum(digits.max(axis=1), 1e-9)),
            np.log(np.maximum(gate_probabilities[:, :NUM_CLASSES].max(axis=1) / gate_digits, 1e-9)),
        ],
        axis=1,
    )
    return {
        "inputs": np.concatenate([networks, np.stack([writing_features(d) for d in drawings])], axis=1),
        "top": digits.max(axis=1),
        "gate_not_digit": gate_probabilities[:, NOT_A_DIGIT],
        "right": digits.argmax(axis=1),
    }


def fit(inputs: np.ndarray, is_letter: np.ndarray, hidden: int, seed: int):
    """A network telling letters from digits (each class weighted alike); returns inputs -> log-odds."""
    mean, scale = inputs.mean(axis=0), inputs.std(axis=0) + 1e-6
    x, y = torch.tensor((inputs - mean) / scale, dtype=torch.float32), torch.tensor(is_letter, dtype=torch.float32)
    torch.manual_seed(seed)
    net = torch.nn.Sequential(
        torch.nn.Linear(inputs.shape[1], hidden),
        torch.nn.ReLU(),
        torch.nn.Linear(hidden, hidden),
        torch.nn.ReLU(),
        torch.nn.Linear(hidden, 1),
    )
    optimiser = torch.optim.Adam(net.parameters(), lr=LEARNING_RATE, weight_decay=WEIGHT_DECAY)
    balance = torch.tensor((~is_letter).sum() / max(is_letter.sum(), 1))
    for _ in range(EPOCHS):
        optimiser.zero_grad()
        torch.nn.functional.binary_cross_entropy_with_logits(net(x)[:, 0], y, pos_weight=balance).backward()
        optimiser.step()

    def log_odds(z: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return net(torch.tensor((z - mean) / scale, dtype=torch.float32))[:, 0].numpy()

    return log_odds


def declined(top: np.ndarray, not_digit: np.ndarray) -> np.ndarray:
    """The app's product rule: "?" where the top digit's probability, times P(a digit), is under UNSURE_BELOW."""
    return top * (1.0 - not_digit) < UNSURE_BELOW


def with_shift(log_odds: np.ndarray, shift: float) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(log_odds + shift, -60, 60)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gates", required=True, help="fold gates of gate_cv.py, {fold} for the fold's number")
    parser.add_argument("--features", choices=sorted(SUBSETS), default="all")
    parser.add_argument("--all-sources", action="store_true", help="learn from every source's letters too")
    parser.add_argument(
        "--lookalikes",
        action="store_true",
        help="learn from every source, with its letters written like digits (O, l, Z, S, b, g...) on the digits' "
        "side: every source then shows both sides, so its digitiser says nothing",
    )
    parser.add_argument("--dev-check", action="store_true", help="then read the dev set with the shipped gate")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--fold-seed", type=int, default=12345)
    parser.add_argument("--hidden", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    torch.set_num_threads(2)
    started = time.perf_counter()
    columns = [*range(len(MODEL_INPUTS)), *(len(MODEL_INPUTS) + FEATURES.index(f) for f in SUBSETS[args.features])]

    digit_data, letter_data = load_pen_data(DIGITS_FILE), load_pen_data(LETTERS_FILE)
    folds = writer_folds({s.writer for s in digit_data.samples + letter_data.samples}, args.folds, args.fold_seed)
    model, shipped_gate = Predictor.from_checkpoint(), Predictor.from_checkpoint(shipped_gate_path())
    shift_record = shipped_gate.info.metrics.get(SHIFT_METRIC, {}) if shipped_gate.info is not None else {}
    gate_shift = float(shift_record.get("shift", 0.0)) if isinstance(shift_record, dict) else 0.0
    parts = []
    for k in range(args.folds):
        letters = [s for s in letter_data.no_digit_letters if folds[s.writer] == k]
        digits = [s for s in digit_data.digits if folds[s.writer] == k]
        if args.lookalikes:  # read with the digits, marked apart (see --lookalikes)
            digits += [s for s in letter_data.samples if s.label not in NO_DIGIT_LETTERS and folds[s.writer] == k]
        gate = Predictor.from_checkpoint(Path(args.gates.format(fold=k)))
        part = {name: np.concatenate([a, b]) for (name, a), b in zip(
            read(letters, 0, model, gate, gate_shift).items(), read(digits, 1, model, gate, gate_shift).values(),
            strict=True,
        )}  # fmt: skip
        part["is_letter"] = np.r_[np.ones(len(letters), bool), np.zeros(len(digits), bool)]
        part["writer"] = np.array([s.writer for s in letters + digits])
        part["label"] = np.array([str(s.label) for s in letters + digits])
        part["fold"] = np.full(len(letters) + len(digits), k)
        parts.append(part)
        print(f"fold {k}: {len(letters)} letters, {len(digits)} digits read ({time.perf_counter() - started:.0f} s)")
    data = {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}
    inputs, is_letter, fold = data["inputs"][:, columns], data["is_letter"], data["fold"]
    lookalike = np.array([not str(label).isdigit() for label in data["label"]]) & ~is_letter
    is_digit = ~is_letter & ~lookalike
    sources = {writer[:SOURCE_TAG] for writer in data["writer"][is_digit]}
    same_source = np.array([writer[:SOURCE_TAG] in sources for writer in data["writer"]])
    learn = np.ones(len(fold), bool) if args.all_sources or args.lookalikes else same_source

    log_odds = np.zeros(len(fold), np.float32)
    for k in range(args.folds):
        rows = (fold != k) & learn
        log_odds[fold == k] = fit(inputs[rows], is_letter[rows], args.hidden, args.seed)(inputs[fold == k])
    gate_alone = declined(data["top"], data["gate_not_digit"])
    allowed = gate_alone[is_digit].sum()
    shift = max(s for s in SHIFTS if declined(data["top"], with_shift(log_odds, s))[is_digit].sum() <= allowed)
    rule = declined(data["top"], with_shift(log_odds, shift))
    learned = "every source" + (" and its look-alikes" if args.lookalikes else "") if learn.all() else sorted(sources)
    print(f"\nfeatures {args.features}; learned from {learned}; shift {shift:+.2f}")
    if args.lookalikes:
        print(
            f"look-alike letters declined: {100 * gate_alone[lookalike].mean():.2f}% -> "
            f"{100 * rule[lookalike].mean():.2f}%"
        )
    print("fold   letters of the digits' sources: gate -> rule   other sources' letters: gate -> rule   digits '?'")
    for k in [*range(args.folds), None]:
        rows = np.ones(len(fold), bool) if k is None else fold == k
        mine, others, digits = rows & is_letter & same_source, rows & is_letter & ~same_source, rows & is_digit
        print(
            f"{'all' if k is None else k:>4}   {mine.sum():6d}  {100 * gate_alone[mine].mean():6.2f}% -> "
            f"{100 * rule[mine].mean():6.2f}%     {others.sum():6d}  {100 * gate_alone[others].mean():6.2f}% -> "
            f"{100 * rule[others].mean():6.2f}%     {digits.sum():5d}: {gate_alone[digits].sum():3d} -> "
            f"{rule[digits].sum():3d}"
        )

    if args.dev_check:
        final = fit(inputs[learn], is_letter[learn], args.hidden, args.seed)
        print(
            "\ndev set, offline, single characters, the shipped gate alone -> with the rule (measured, not chosen on)"
        )
        for name, samples in (
            ("digits", load_pen_data(DEV_DATA / "unipen-1a-dev.json.gz").digits),
            ("letters", load_pen_data(DEV_DATA / "unipen-1bc-dev.json.gz").no_digit_letters),
        ):
            dev = read(list(samples), 1 if name == "digits" else 0, model, shipped_gate, 0.0)
            alone = declined(dev["top"], dev["gate_not_digit"])
            ruled = declined(dev["top"], with_shift(final(dev["inputs"][:, columns]), shift))
            if name == "digits":
                labels = np.array([int(s.label) for s in samples])
                print(
                    f"  digits {len(samples)}: shown '?' {alone.sum()} -> {ruled.sum()}; right "
                    f"{100 * np.mean(~alone & (dev['right'] == labels)):.2f}% -> "
                    f"{100 * np.mean(~ruled & (dev['right'] == labels)):.2f}%"
                )
            else:
                print(f"  letters {len(samples)}: declined {100 * alone.mean():.2f}% -> {100 * ruled.mean():.2f}%")
    print(f"({time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
