"""Instant adaptation (digitpad/model/adapt.py): its constants chosen, and checked, by writer on UNIPEN's training data.

Every digit of ``../shared/data/unipen-train/unipen-1a-train.json.gz`` is
placed on a 400x400 pad as ``bench/drawn_digits.py`` places it and read
offline as the app reads it (``digitpad.model.reader.Reader``, the shipped
model and gate), keeping each character's probabilities (the ten digits and
"not a digit") and feature; each digit is also made into the sample the
teach buttons would store (``digitpad.ink.samples.model_input``) and read as
the Adapter reads samples. The same for the letters that look like no digit
(``unipen-1bc-train``) of the same writers, and 2,000 others.

Protocol, per writer with at least ``--min-digits`` digits (20): for each
digit, ``--taught`` (3) of the writer's samples of it are taught, chosen at
random, or one fewer than the writer has (so at least one of each is read);
the writer's other digits are read before and after adaptation, ``--draws``
(3) random choices per writer. A digit is right when its text is exactly its
label ("?", a split into two characters, another digit are wrong).

- ``as written``: the writers' own labels;
- ``swapped``: the same, with two of the writer's digits (a random pair per
  writer and draw) swapping labels throughout, taught and read: a writer whose
  a looks like everyone else's b (a flagged 1 that is a 7 elsewhere), the
  errors adaptation is for. The training writers' own errors are few and
  mostly splits, "?" from the gate and one-off slips, which no similarity to
  other digits can mend;
- letters: each episode also reads the writer's own letters and 100 others;
  the share read as no digit must not fall.

The writers are cut into ``--folds`` (5) folds by ``drawn_digits.writer_folds``
(``--fold-seed``, 0). For each fold, the rule (AdaptRule's constants, on a
grid) with the fewest errors (as written and swapped together) on the other
folds is applied to the fold's writers; a rule is only eligible if, on those
other folds, it makes no more errors as written than the network alone, and
declines at least as many letters (within 0.5 points), and if one taught
sample of one digit moves no other digit's reading on 10,000 MNIST
*training* images by more than 0.1 points. Then the same choice on every
training writer: the constants to ship.

    DIGITPAD_MNIST_DIR=../shared/data/mnist python bench/adapt_cv.py [--cache FILE] [--folds 5] [--draws 3]
    python bench/adapt_cv.py --one-sample     # one taught sample against MNIST test
    python bench/adapt_cv.py --timing         # adapt() per reading, 300 samples

``--one-sample`` teaches one sample of one digit at a time (10 random
training samples of each digit, and a straight stroke taught as a 7) and
reads MNIST test with and without it: how far each other digit's share of
test images read right moves (target: <= 0.1 points). ``--timing`` times
``Adapter.adapt`` for one reading against 300 samples, and the whole
``Predictor.predict``. Both use ``AdaptRule()`` as shipped and choose
nothing. The dev writers are never read here: ``bench/teach.py`` reports them.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass, field
from itertools import product
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from drawn_digits import PAD_SIZE, load_letters, load_unipen, place_samples, to_strokes, writer_folds  # noqa: E402

from digitpad.base.constants import NUM_CLASSES  # noqa: E402
from digitpad.ink.preprocess import PEN_WIDTH_FRACTION  # noqa: E402
from digitpad.ink.samples import model_input  # noqa: E402
from digitpad.model.adapt import (  # noqa: E402
    Adapter,
    AdaptRule,
    class_similarities,
    digit_shares,
    feature_from_map,
    needs,
    penultimate_features,
    sample_inputs,
    strongest_pulls,
)
from digitpad.model.reader import UNSURE_BELOW, Reader  # noqa: E402

TRAIN = REPO.parent / "shared" / "data" / "unipen-train"
TRAIN_DATA = TRAIN / "unipen-1a-train.json.gz"
TRAIN_LETTERS = TRAIN / "unipen-1bc-train.json.gz"
#: Letters of writers who wrote no digits here, read in every episode (100 of them each).
OTHER_LETTERS = 2000
LETTERS_PER_EPISODE = 100
#: The grid the rule is chosen on (``far`` < ``near`` only).
GRID = {
    "near": (0.5, 0.6, 0.7, 0.8),
    "far": (0.2, 0.3, 0.4, 0.5),
    "margin": (2.0, 3.0, 5.0),
    "neighbours": (1, 2),
    "sharpness": (0.01, 0.02, 0.05),
}
#: Eligible rules decline at least as many letters as the network alone, within this many points.
LETTER_SLACK_POINTS = 0.5
#: Target (and eligibility): one taught sample moves no other digit's MNIST reading by more than this many points.
ONE_SAMPLE_POINTS = 0.1
#: Target: errors after adaptation at most a third of those before.
ERROR_RATIO_TARGET = 1 / 3
ONE_SAMPLE_CASES = 10  # per digit


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


@dataclass
class Read:
    """Drawings read offline once: per drawing its text; per character its drawing, probabilities, feature."""

    texts: np.ndarray  # (D,) str
    char_item: np.ndarray  # (C,) the drawing each character belongs to
    probabilities: np.ndarray  # (C, classes): the ten digits, then "not a digit"
    features: np.ndarray  # (C, F)


def read_drawings(predictor, drawings: list) -> Read:
    """Read each placed drawing with the app's Reader (the network alone), keeping what adaptation needs."""
    assert predictor.adapter is None
    reader = Reader(predictor)
    pen_width = PEN_WIDTH_FRACTION * PAD_SIZE
    texts, items, probabilities, features = [], [], [], []
    for index, drawing in enumerate(drawings):
        reading = reader.read(to_strokes(drawing, pen_width, False))
        texts.append(reading.text)
        for character in reading.characters:
            prediction = character.prediction
            items.append(index)
            probabilities.append(np.append(prediction.probabilities, prediction.not_digit))
            features.append(feature_from_map(prediction.activations[-1]))
    return Read(np.array(texts), np.array(items, np.int64), np.stack(probabilities), np.stack(features))


@dataclass
class Collected:
    """The training digits (read, and as samples) and letters, read once by the shipped model and gate."""

    labels: np.ndarray  # (D,)
    writers: np.ndarray  # (D,) str
    images: np.ndarray  # (D, 28, 28) uint8: the sample a teach button would store
    sample_features: np.ndarray  # (D, F)
    sample_probabilities: np.ndarray  # (D, classes): how the Adapter's predictor reads the sample
    digits: Read
    letter_writers: np.ndarray  # (L,) str
    letters: Read


def collect(predictor, digits_path: Path, letters_path: Path, seed: int) -> Collected:
    samples = load_unipen(digits_path)
    drawings = place_samples(samples, PAD_SIZE, seed=seed)
    pen_width = PEN_WIDTH_FRACTION * PAD_SIZE
    images = np.stack([model_input(to_strokes(drawing, pen_width, False)) for drawing in drawings])
    inputs = sample_inputs(images)
    writers = {sample["writer"] for sample in samples}
    letters = load_letters(letters_path)
    own = [letter for letter in letters if letter["writer"] in writers]
    others = [letter for letter in letters if letter["writer"] not in writers]
    rng = np.random.default_rng(seed)
    chosen = own + [others[i] for i in sorted(rng.choice(len(others), min(OTHER_LETTERS, len(others)), False))]
    return Collected(
        labels=np.array([d.label for d in drawings], np.int64),
        writers=np.array([d.writer for d in drawings]),
        images=images,
        sample_features=penultimate_features(predictor.model, inputs),
        sample_probabilities=predictor.predict_batch(inputs),
        digits=read_drawings(predictor, drawings),
        letter_writers=np.array([letter["writer"] for letter in chosen]),
        letters=read_drawings(predictor, place_samples(chosen, PAD_SIZE, seed=seed)),
    )


def load_or_collect(predictor, args) -> Collected:
    if args.cache is not None and args.cache.exists():
        with np.load(args.cache, allow_pickle=False) as stored:
            values = {name: stored[name] for name in stored.files}
        reads = {kind: Read(*(values.pop(f"{kind}.{name}") for name in Read.__dataclass_fields__))
                 for kind in ("digits", "letters")}  # fmt: skip
        return Collected(**values, **reads)
    started = time.perf_counter()
    data = collect(predictor, args.data, args.letters, args.seed)
    print(f"read {len(data.labels)} digits and {len(data.letter_writers)} letters offline "
          f"in {time.perf_counter() - started:.1f} s", flush=True)  # fmt: skip
    if args.cache is not None:
        flat = {k: v for k, v in data.__dict__.items() if not isinstance(v, Read)}
        for kind in ("digits", "letters"):
            flat.update({f"{kind}.{name}": value for name, value in getattr(data, kind).__dict__.items()})
        np.savez_compressed(args.cache, **flat)
    return data


@dataclass
class Episode:
    """One writer's digits split into those taught and those read, and the letters read with them."""

    writer: str
    draw: int
    taught: np.ndarray  # digit indices
    read: np.ndarray  # digit indices
    letters: np.ndarray  # letter indices
    #: The label each digit is taught and read as: the identity, or two digits exchanged ("swapped").
    relabel: np.ndarray = field(default_factory=lambda: np.arange(NUM_CLASSES))


def choose_episodes(data: Collected, writers: list[str], per_digit: int, draws: int, seed: int) -> list[Episode]:
    """Per writer and draw: ``per_digit`` of each digit taught (one fewer than the writer has, if fewer), the
    rest read. Seeded by the writer's id and the draw, so a writer's episodes do not depend on the others."""
    episodes = []
    others = np.flatnonzero(~np.isin(data.letter_writers, np.unique(data.writers)))
    for writer in writers:
        mine = np.flatnonzero(data.writers == writer)
        for draw in range(draws):
            rng = np.random.default_rng([seed, draw, *writer.encode()])
            taught = []
            for digit in range(NUM_CLASSES):
                of_digit = mine[data.labels[mine] == digit]
                count = min(per_digit, len(of_digit) - 1)
                if count > 0:
                    taught.extend(rng.choice(of_digit, count, replace=False).tolist())
            taught_array = np.array(sorted(taught), np.int64)
            strangers = rng.choice(others, min(LETTERS_PER_EPISODE, len(others)), replace=False)
            letters = np.concatenate([np.flatnonzero(data.letter_writers == writer), strangers])
            episodes.append(Episode(writer, draw, taught_array, np.setdiff1d(mine, taught_array), letters))
    return episodes


def swapped(episodes: list[Episode], seed: int) -> list[Episode]:
    """The same episodes with two digits (a random pair each) exchanging labels throughout."""
    result = []
    for episode in episodes:
        rng = np.random.default_rng([seed, 7, episode.draw, *episode.writer.encode()])
        a, b = rng.choice(NUM_CLASSES, 2, replace=False)
        relabel = np.arange(NUM_CLASSES)
        relabel[[a, b]] = b, a
        result.append(Episode(episode.writer, episode.draw, episode.taught, episode.read, episode.letters, relabel))
    return result


def near_far_pairs() -> list[tuple[float, float]]:
    return [(near, far) for near, far in product(GRID["near"], GRID["far"]) if far < near]


def grid_rules() -> list[AdaptRule]:
    return [AdaptRule(near, far, margin, k, sharpness)
            for (near, far), margin, k, sharpness in product(near_far_pairs(), GRID["margin"], GRID["neighbours"],
                                                             GRID["sharpness"])]  # fmt: skip


@dataclass
class Rows:
    """Characters read in some episodes, with every rule-independent piece of their adaptation precomputed."""

    episode: np.ndarray  # (R,) the episode of each row
    logs: np.ndarray  # (R, classes) log-probabilities of the network
    strongest: dict  # (near, far, margin) -> (R, 10)
    shares: dict  # (neighbours, sharpness) -> (R, 10)
    labels: np.ndarray | None = None  # (R,) for digits
    item: np.ndarray | None = None  # (R,) a letter's id (episode, letter), for letters


def episode_rows(data: Collected, episode: Episode, read: Read, chars: np.ndarray) -> dict:
    """The precomputed pieces for ``chars`` (rows of ``read``) against the episode's taught samples."""
    labels = episode.relabel[data.labels[episode.taught]]
    order = np.argsort(labels, kind="stable")
    edges = np.searchsorted(labels[order], np.arange(NUM_CLASSES + 1))
    spans = tuple((int(edges[d]), int(edges[d + 1])) for d in range(NUM_CLASSES))
    taught = episode.taught[order]
    sims = read.features[chars] @ data.sample_features[taught].T
    pieces = {"strongest": {}, "shares": {}}
    for margin in GRID["margin"]:
        sample_needs = needs(data.sample_probabilities[taught], labels[order], margin)
        for near, far in near_far_pairs():
            rule = AdaptRule(near=near, far=far, margin=margin)
            pieces["strongest"][near, far, margin] = strongest_pulls(sims, spans, sample_needs, rule).astype(np.float32)
    for k in GRID["neighbours"]:
        similarity = class_similarities(sims, spans, k)
        for sharpness in GRID["sharpness"]:
            pieces["shares"][k, sharpness] = digit_shares(similarity, sharpness).astype(np.float32)
    return pieces


def build_rows(data: Collected, episodes: list[Episode], letters: bool) -> Rows:
    read = data.letters if letters else data.digits
    chars_of: dict[int, list[int]] = {}
    for char, item in enumerate(read.char_item):
        chars_of.setdefault(int(item), []).append(char)
    parts, episode_of, labels, items = [], [], [], []
    for number, episode in enumerate(episodes):
        if letters:
            chars = np.array([c for i in episode.letters for c in chars_of.get(int(i), [])], np.int64)
            items.extend(number * len(read.texts) + read.char_item[chars])
        else:
            single = [d for d in episode.read if len(chars_of.get(int(d), [])) == 1]
            chars = np.array([chars_of[int(d)][0] for d in single], np.int64)
            labels.extend(episode.relabel[data.labels[single]])
        parts.append(episode_rows(data, episode, read, chars))
        episode_of.extend([number] * len(chars))
        parts[-1]["chars"] = chars
    all_chars = np.concatenate([part["chars"] for part in parts])
    return Rows(
        episode=np.array(episode_of, np.int64),
        logs=np.log(read.probabilities[all_chars].astype(np.float64) + 1e-30).astype(np.float32),
        strongest={key: np.concatenate([p["strongest"][key] for p in parts]) for key in parts[0]["strongest"]},
        shares={key: np.concatenate([p["shares"][key] for p in parts]) for key in parts[0]["shares"]},
        labels=np.array(labels, np.int64) if not letters else None,
        item=np.array(items, np.int64) if letters else None,
    )


def read_rows(rows: Rows, rule: AdaptRule | None) -> tuple[np.ndarray, np.ndarray]:
    """(digit read, its probability) per row with ``rule`` (None: the network alone), as the reader names it."""
    logs = rows.logs
    if rule is not None:
        logs = logs.copy()
        logs[:, :NUM_CLASSES] += (
            rows.shares[rule.neighbours, rule.sharpness] * rows.strongest[rule.near, rule.far, rule.margin]
        )
    top = logs.max(axis=1, keepdims=True)
    total = np.log(np.exp(logs - top).sum(axis=1)) + top[:, 0]
    digit = logs[:, :NUM_CLASSES].argmax(axis=1)
    return digit, np.exp(logs[np.arange(len(digit)), digit] - total)


@dataclass
class Protocol:
    """The episodes of one protocol and their rows; digits read as no or several characters are fixed errors."""

    name: str
    episodes: list[Episode]
    digits: Rows
    letters: Rows
    fixed: np.ndarray  # (E,)

    @classmethod
    def build(cls, name: str, data: Collected, episodes: list[Episode]) -> Protocol:
        texts = data.digits.texts
        fixed = np.array([sum(len(texts[d]) != 1 for d in e.read) for e in episodes], np.int64)
        return cls(name, episodes, build_rows(data, episodes, False), build_rows(data, episodes, True), fixed)

    def errors(self, rule: AdaptRule | None) -> np.ndarray:
        """Errors per episode."""
        digit, confidence = read_rows(self.digits, rule)
        wrong = (digit != self.digits.labels) | (confidence < UNSURE_BELOW)
        return self.fixed + np.bincount(self.digits.episode[wrong], minlength=len(self.episodes))

    def declined(self, rule: AdaptRule | None, episodes: np.ndarray) -> float:
        """The share (points) of the letters of ``episodes`` (indices) read as no digit (every character "?")."""
        _, confidence = read_rows(self.letters, rule)
        mine = np.isin(self.letters.episode, episodes)
        items, inverse = np.unique(self.letters.item[mine], return_inverse=True)
        digit_read = np.zeros(len(items), bool)
        np.logical_or.at(digit_read, inverse, confidence[mine] >= UNSURE_BELOW)
        return 100 * float(1 - digit_read.mean())


class MnistGuard:
    """One taught sample of one digit against 10,000 MNIST images: the most any other digit's reading moves."""

    def __init__(self, predictor, data: Collected, images: np.ndarray, labels: np.ndarray, seed: int) -> None:
        from digitpad.ink.preprocess import as_ink, normalise

        inputs = np.stack([normalise(as_ink(image)) for image in images])
        self.labels = labels.astype(np.int64)
        self.logs = np.log(predictor.predict_batch(inputs).astype(np.float64) + 1e-30)
        features = penultimate_features(predictor.model, inputs)
        rng = np.random.default_rng(seed)
        picks = [int(i) for d in range(NUM_CLASSES)
                 for i in rng.choice(np.flatnonzero(data.labels == d), ONE_SAMPLE_CASES, replace=False)]  # fmt: skip
        self.cases = [(data.labels[i], data.sample_features[i], data.sample_probabilities[i]) for i in picks]
        self.similarities = np.stack([features @ feature for _, feature, _ in self.cases])
        self.plain = self.by_digit(self.logs)
        self._cache: dict = {}

    def by_digit(self, logs: np.ndarray) -> np.ndarray:
        digit = logs[:, :NUM_CLASSES].argmax(axis=1)
        top = logs.max(axis=1, keepdims=True)
        confidence = np.exp(logs[np.arange(len(digit)), digit] - top[:, 0]) / np.exp(logs - top).sum(axis=1)
        right = (digit == self.labels) & (confidence >= UNSURE_BELOW)
        return np.array([100 * right[self.labels == d].mean() for d in range(NUM_CLASSES)])

    def worst(self, rule: AdaptRule) -> float:
        """The largest move (points) of a digit other than the one taught, over the cases (one sample: its digit
        alone is taught, so only ``near``, ``far`` and ``margin`` matter)."""
        key = (rule.near, rule.far, rule.margin)
        if key not in self._cache:
            worst = 0.0
            for (digit, _, probabilities), sims in zip(self.cases, self.similarities, strict=True):
                need = needs(probabilities[None], np.array([digit]), rule.margin)[0]
                if need == 0:
                    continue  # read as taught already: it corrects nothing
                logs = self.logs.copy()
                logs[:, digit] += np.clip((sims - rule.far) / (rule.near - rule.far), 0, 1) * need
                worst = max(worst, float(np.abs(np.delete(self.by_digit(logs) - self.plain, digit)).max()))
            self._cache[key] = worst
        return self._cache[key]


def choose_rule(protocols: list[Protocol], subset: list[np.ndarray], rules: list[AdaptRule], guard: MnistGuard):
    """(the eligible rule with the fewest errors over ``protocols`` restricted to the episodes ``subset`` (one
    index array per protocol), its errors, how many rules with fewer were set aside and why); ties go to the
    smaller margin, then the higher ``far`` (gentler)."""
    written, *_ = protocols
    base_written = int(written.errors(None)[subset[0]].sum())
    base_letters = min(p.declined(None, s) for p, s in zip(protocols, subset, strict=True))
    skipped = {"more errors as written": 0, "fewer letters declined": 0, "MNIST one-sample": 0}
    scored = sorted((sum(int(p.errors(rule)[s].sum()) for p, s in zip(protocols, subset, strict=True)),
                     rule.margin, -rule.far, -rule.near, i) for i, rule in enumerate(rules))  # fmt: skip
    for errors, *_, index in scored:
        rule = rules[index]
        letters = min(p.declined(rule, s) for p, s in zip(protocols, subset, strict=True))
        if int(written.errors(rule)[subset[0]].sum()) > base_written:
            skipped["more errors as written"] += 1
        elif letters < base_letters - LETTER_SLACK_POINTS:
            skipped["fewer letters declined"] += 1
        elif guard.worst(rule) > ONE_SAMPLE_POINTS:
            skipped["MNIST one-sample"] += 1
        else:
            return rule, errors, skipped
    raise SystemExit("no rule on the grid is eligible")


def rule_text(rule: AdaptRule) -> str:
    return (f"near={rule.near:g} far={rule.far:g} margin={rule.margin:g} neighbours={rule.neighbours} "
            f"sharpness={rule.sharpness:g}")  # fmt: skip


def writers_with(data: Collected, min_digits: int) -> list[str]:
    names, counts = np.unique(data.writers, return_counts=True)
    return [str(name) for name, count in zip(names, counts, strict=True) if count >= min_digits]


def by_writer(episodes: list[Episode], values: np.ndarray) -> dict[str, int]:
    totals: dict[str, int] = {}
    for episode, value in zip(episodes, values, strict=True):
        totals[episode.writer] = totals.get(episode.writer, 0) + int(value)
    return totals


def cross_validate(data: Collected, protocols: list[Protocol], guard: MnistGuard, args) -> AdaptRule:
    """Per fold: the rule chosen on the other folds, read on this one; then the rule chosen on every writer."""
    episodes = protocols[0].episodes
    folds = writer_folds(sorted({e.writer for e in episodes}), args.folds, args.fold_seed)
    fold_of = np.array([folds[e.writer] for e in episodes])
    rules = grid_rules()
    print(f"{len(folds)} writers with >= {args.min_digits} digits, {args.draws} draws each, {args.taught} of each "
          f"digit taught (one fewer where the writer has fewer); {len(rules)} rules", flush=True)  # fmt: skip
    header = "".join(f"{p.name + ' before':>17}{'after':>7}" for p in protocols)
    print(f"{'fold':>4}{'writers':>8}{'read':>6}{header}{'letters declined':>22}   rule chosen on the other folds")
    totals = np.zeros(2 * len(protocols), np.int64)
    per_writer: dict[str, list[int]] = {}
    for fold in range(args.folds):
        inside, outside = np.flatnonzero(fold_of == fold), np.flatnonzero(fold_of != fold)
        rule, *_ = choose_rule(protocols, [outside] * len(protocols), rules, guard)
        counts = []
        for protocol in protocols:
            before, after = protocol.errors(None)[inside], protocol.errors(rule)[inside]
            counts += [int(before.sum()), int(after.sum())]
            if protocol is protocols[0]:
                chosen = [episodes[i] for i in inside]
                for writer, b in by_writer(chosen, before).items():
                    per_writer[writer] = [fold, b, by_writer(chosen, after)[writer]]
        totals += counts
        letters = f"{protocols[0].declined(None, inside):.1f}% -> {protocols[0].declined(rule, inside):.1f}%"
        read = sum(len(episodes[i].read) for i in inside)
        cells = "".join(f"{counts[2 * i]:>17}{counts[2 * i + 1]:>7}" for i in range(len(protocols)))
        print(f"{fold:>4}{len({episodes[i].writer for i in inside}):>8}{read:>6}"
              f"{cells}{letters:>22}   {rule_text(rule)}", flush=True)  # fmt: skip
    cells = "".join(f"{totals[2 * i]:>17}{totals[2 * i + 1]:>7}" for i in range(len(protocols)))
    print(f"{'all':>4}{len(folds):>8}{sum(len(e.read) for e in episodes):>6}{cells}")
    report_writers(per_writer)
    for i, protocol in enumerate(protocols):
        before, after = totals[2 * i], totals[2 * i + 1]
        verdict = "met" if after <= before * ERROR_RATIO_TARGET else "NOT met"
        print(f"{protocol.name}: cross-validated errors {before} -> {after} ({after / max(before, 1):.2f} of before; "
              f"target <= 1/3: {verdict})")  # fmt: skip
    explain_floor(protocols[0])
    everyone = [np.arange(len(episodes))] * len(protocols)
    rule, errors, skipped = choose_rule(protocols, everyone, rules, guard)
    reasons = ", ".join(f"{count} for {why}" for why, count in skipped.items() if count)
    print(f"chosen on every training writer: {rule_text(rule)} ({errors} errors in-sample, both protocols; "
          f"rules with fewer set aside: {reasons or 'none'})")  # fmt: skip
    shipped = AdaptRule()
    print(f"AdaptRule() as shipped: {rule_text(shipped)}" + ("" if shipped == rule else "  (differs!)"))
    return rule


def report_writers(per_writer: dict[str, list[int]]) -> None:
    worse = sorted(w for w, (_, b, a) in per_writer.items() if a > b)
    better = sorted(w for w, (_, b, a) in per_writer.items() if a < b)
    print(
        f"as written, per writer (summed over the draws): {len(better)} better, {len(worse)} worse"
        + (f" ({', '.join(f'{w} {per_writer[w][1]} -> {per_writer[w][2]}' for w in worse)})" if worse else "")
    )
    shown = sorted((w for w, (_, b, a) in per_writer.items() if a or b), key=lambda w: (-per_writer[w][1], w))
    for start in range(0, len(shown), 6):
        row = shown[start : start + 6]
        print("  " + "   ".join(f"{w} ({per_writer[w][0]}: {per_writer[w][1]} -> {per_writer[w][2]})" for w in row))


def explain_floor(protocol: Protocol) -> None:
    """What the network's errors as written are made of: the splits no character's reading can mend."""
    digit, confidence = read_rows(protocol.digits, None)
    wrong = (digit != protocol.digits.labels) | (confidence < UNSURE_BELOW)
    declined = wrong & (np.exp(protocol.digits.logs[:, NUM_CLASSES:]).max(axis=1) >= 0.5)
    unsure = wrong & ~declined & (confidence < UNSURE_BELOW)
    print(f"as written, the network's errors: {protocol.fixed.sum()} read as no or several characters (beyond any "
          f"reading's reach), {declined.sum()} declined by the gate, {unsure.sum()} unsure, "
          f"{(wrong & ~declined & ~unsure).sum()} another digit")  # fmt: skip


def straight_stroke_image() -> np.ndarray:
    """A straight, slightly slanted stroke (a 1 to anyone), drawn on the pad: taught as a 7 by --one-sample."""
    from digitpad.ink.strokes import MOUSE_PRESSURE, Stroke

    stroke = Stroke()
    for t in np.linspace(0.0, 1.0, 40):
        stroke.add(190 + 20 * t, 80 + 240 * t, PEN_WIDTH_FRACTION * PAD_SIZE, MOUSE_PRESSURE)
    return model_input([stroke])


def read_right_by_digit(probabilities: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Per digit, the share (points) of its images read right: the digit, at UNSURE_BELOW or more."""
    digits = probabilities[:, :NUM_CLASSES]
    right = (digits.argmax(axis=1) == labels) & (digits.max(axis=1) >= UNSURE_BELOW)
    return np.array([100 * right[labels == d].mean() for d in range(NUM_CLASSES)])


def same_without_samples(predictor, mnist) -> int:
    """How many MNIST test images Predictor.predict reads identically (probabilities, "not a digit", feature
    maps) with an empty Adapter and with none."""
    same = 0
    for image in mnist.test_images:
        canvas = image.astype(np.float32) / 255
        predictor.adapter = None
        plain = predictor.predict(canvas, with_activations=True)
        predictor.adapter = Adapter()
        adapted = predictor.predict(canvas, with_activations=True)
        same += bool(
            np.array_equal(plain.probabilities, adapted.probabilities)
            and plain.not_digit == adapted.not_digit
            and all(np.array_equal(a, b) for a, b in zip(plain.activations, adapted.activations, strict=True))
        )
    predictor.adapter = None
    return same


def one_sample_check(predictor, data: Collected, data_dir: str | None, rule: AdaptRule, seed: int) -> None:
    """Teach one sample of one digit (the real Adapter) and read MNIST test: how far each digit's reading moves.

    Cases: 10 random training samples of each digit (most of them read right by the network, so they change
    nothing), every training sample the network misreads or doubts (the ones that do change readings), and a
    straight stroke taught as a 7."""
    from digitpad.data.mnist import load_mnist
    from digitpad.ink.preprocess import as_ink, normalise

    mnist = load_mnist(data_dir)
    inputs = np.stack([normalise(as_ink(image)) for image in mnist.test_images])
    labels = mnist.test_labels.astype(np.int64)
    probabilities = predictor.predict_batch(inputs)
    features = penultimate_features(predictor.model, inputs)
    plain = read_right_by_digit(probabilities, labels)
    print(f"MNIST test read right by the network alone: {plain.mean():.2f}% (mean over the digits)")
    print(f"  with an adapter and no samples, Predictor.predict reads {same_without_samples(predictor, mnist)} of "
          f"{len(labels)} MNIST test images bit for bit as without one")  # fmt: skip
    rng = np.random.default_rng(seed)
    random = [int(i) for d in range(NUM_CLASSES)
              for i in rng.choice(np.flatnonzero(data.labels == d), ONE_SAMPLE_CASES, replace=False)]  # fmt: skip
    doubted = np.flatnonzero(needs(data.sample_probabilities, data.labels, rule.margin) > 0).tolist()

    def moves(image: np.ndarray, digit: int) -> np.ndarray:
        adapter = Adapter(rule)
        adapter.set_samples(image[None], np.array([digit]))
        adapter.prepare(predictor)
        return read_right_by_digit(adapter.adapt_batch(probabilities, features), labels) - plain

    worst = 0.0
    for name, cases in (("random training samples", random), ("samples the network misreads or doubts", doubted)):
        others = [float(np.abs(np.delete(moves(data.images[i], data.labels[i]), data.labels[i])).max()) for i in cases]
        over = [f"{data.writers[i]}'s {data.labels[i]} {o:.2f}" for i, o in zip(cases, others, strict=True) if o > 0.1]
        print(f"  one of the {len(cases)} {name} taught alone: other digits moved at most {max(others):.2f} points "
              f"(median {np.median(others):.2f}); over {ONE_SAMPLE_POINTS}: {', '.join(over) or 'none'}")  # fmt: skip
        worst = max(worst, max(others))
    stroke = moves(straight_stroke_image(), 7)
    print(f"  a straight stroke taught as a 7 (a deliberate mis-teaching): per digit {np.round(stroke, 2).tolist()}")
    verdict = "met" if worst <= ONE_SAMPLE_POINTS else "NOT met"
    print(f"target one taught sample moves no other digit by more than {ONE_SAMPLE_POINTS} points: {verdict} "
          f"(worst {worst:.2f} points over the {len(random) + len(doubted)} training writers' samples)")  # fmt: skip


def measure(call, calls: int) -> tuple[float, float]:
    """(p50, p95) in microseconds of ``calls`` calls after 100 warm-up calls."""
    for _ in range(100):
        call()
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return float(np.percentile(times, 50) * 1e6), float(np.percentile(times, 95) * 1e6)


def timing(predictor, data: Collected, rule: AdaptRule, calls: int = 3000) -> None:
    """Microseconds per reading: Adapter.adapt with 300 samples, and Predictor.predict with and without it."""
    taught = np.concatenate([np.flatnonzero(data.labels == d)[:30] for d in range(NUM_CLASSES)])
    adapter = Adapter(rule)
    adapter.set_samples(data.images[taught], data.labels[taught])
    started = time.perf_counter()
    adapter.prepare(predictor)
    prepare_ms = (time.perf_counter() - started) * 1000
    misread = int((adapter.samples()[2][:, :NUM_CLASSES].argmax(axis=1) != data.labels[taught]).sum())
    probabilities, feature = data.digits.probabilities[0], data.digits.features[0]
    adapt_us = measure(lambda: adapter.adapt(probabilities, feature), calls)
    canvas = data.images[taught[-1]].astype(np.float32) / 255  # a 9 of the training writers
    plain_us = measure(lambda: predictor.predict(canvas, with_activations=True), calls)
    predictor.adapter = adapter
    adapted_us = measure(lambda: predictor.predict(canvas, with_activations=True), calls)
    predictor.adapter = None
    print(f"{adapter.count} samples ({misread} misread by the network) read for the adapter in {prepare_ms:.0f} ms")
    print(f"adapt() per reading: p50 {adapt_us[0]:.0f} us, p95 {adapt_us[1]:.0f} us")
    print(f"Predictor.predict with feature maps: network alone p50 {plain_us[0]:.0f} us, p95 {plain_us[1]:.0f} us; "
          f"adapted p50 {adapted_us[0]:.0f} us, p95 {adapted_us[1]:.0f} us")  # fmt: skip


def check_against_reader(predictor, data: Collected, protocol: Protocol, rule: AdaptRule, count: int, args) -> None:
    """The figures above come from precomputed pieces; read ``count`` episodes again through the app's own path
    (Reader, a Predictor with an Adapter of the taught samples) and check that every text agrees."""
    drawings = place_samples(load_unipen(args.data), PAD_SIZE, seed=args.seed)
    pen_width = PEN_WIDTH_FRACTION * PAD_SIZE
    digit, confidence = read_rows(protocol.digits, rule)
    agree = total = 0
    for number, episode in enumerate(protocol.episodes[:count]):
        adapter = Adapter(rule)
        adapter.set_samples(data.images[episode.taught], episode.relabel[data.labels[episode.taught]])
        predictor.adapter = adapter
        reader = Reader(predictor)
        rows = iter(np.flatnonzero(protocol.digits.episode == number))
        for index in episode.read:
            if len(data.digits.texts[index]) != 1:
                continue
            row = next(rows)
            expected = "?" if confidence[row] < UNSURE_BELOW else str(digit[row])
            agree += reader.read(to_strokes(drawings[index], pen_width, False)).text == expected
            total += 1
    predictor.adapter = None
    print(f"check ({protocol.name}): the app's Reader with an Adapter reads {agree} of {total} digits as above")
    if agree != total:
        raise SystemExit("the precomputed readings differ from the app's: the figures above are not the app's")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=TRAIN_DATA, help="training digits (never the dev set)")
    parser.add_argument("--letters", type=Path, default=TRAIN_LETTERS, help="training letters")
    parser.add_argument("--weights", help="checkpoint (default: the shipped weights), read with the gate")
    parser.add_argument("--cache", type=Path, help="keep the offline readings in this .npz and reuse them")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--fold-seed", type=int, default=0)
    parser.add_argument("--draws", type=int, default=3, help="random choices of the taught digits per writer")
    parser.add_argument("--taught", type=int, default=3, help="taught samples of each digit per writer")
    parser.add_argument("--min-digits", type=int, default=20, help="writers with fewer digits are left out")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--one-sample", action="store_true", help="one taught sample against MNIST test")
    parser.add_argument("--timing", action="store_true", help="time adapt() and predict with 300 samples")
    parser.add_argument("--data-dir", help="MNIST (default: $DIGITPAD_MNIST_DIR)")
    parser.add_argument("--check", type=int, default=4, help="episodes per protocol read again through the app")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    if "unipen-dev" in f"{args.data} {args.letters}":
        raise SystemExit("the dev set is for bench/teach.py's last check only: choose nothing on it")
    from digitpad.model.gate import load_gated_predictor

    print(f"load average {load_average()} (at the start); {os.cpu_count()} cores", flush=True)
    predictor = load_gated_predictor(args.weights)
    data = load_or_collect(predictor, args)
    print(f"{len(data.labels)} digits of {len(set(data.writers.tolist()))} writers from {args.data}, "
          f"{len(data.letter_writers)} letters; weights {predictor.source}", flush=True)  # fmt: skip
    if args.one_sample or args.timing:
        print(f"AdaptRule() as shipped: {rule_text(AdaptRule())}")
        if args.one_sample:
            one_sample_check(predictor, data, args.data_dir, AdaptRule(), args.seed)
        if args.timing:
            timing(predictor, data, AdaptRule())
    else:
        from digitpad.data.mnist import load_mnist

        mnist = load_mnist(args.data_dir)
        guard = MnistGuard(predictor, data, mnist.train_images[:10000], mnist.train_labels[:10000], args.seed)
        episodes = choose_episodes(data, writers_with(data, args.min_digits), args.taught, args.draws, args.seed)
        protocols = [Protocol.build("as written", data, episodes),
                     Protocol.build("swapped", data, swapped(episodes, args.seed))]  # fmt: skip
        rule = cross_validate(data, protocols, guard, args)
        for protocol in protocols:
            check_against_reader(predictor, data, protocol, rule, args.check, args)
    print(f"load average {load_average()} (at the end)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
