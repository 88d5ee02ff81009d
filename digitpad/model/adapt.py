"""Instant adaptation to the user's own handwriting: their taught digits change the next reading, no training.

Each taught sample (:mod:`digitpad.ink.samples`) is kept as two things: its
feature (the network's penultimate features: the flattened output of the
last conv block, the linear head's input, L2-normalised) and how far the
network is from reading it as taught. That distance is the *need*: the
log-odds its label lacks to beat every other class (the other digits, and
"not a digit" where the reading has it) by :attr:`AdaptRule.margin`; 0
when the network already reads the sample so. A character is then read
with its log-probabilities raised, for each taught digit d, by

    share_d(x) x max over d's samples j of closeness(x, j) x need_j

- ``closeness`` goes from 0 at cosine similarity :attr:`AdaptRule.far` to 1
  at :attr:`AdaptRule.near` and above: a character like a misread sample
  gets the whole correction that sample needed;
- ``share_d`` is how much d's samples, rather than another taught digit's,
  are the ones the character is like (a softmax over the taught digits of
  the mean similarity to each one's :attr:`AdaptRule.neighbours` nearest
  samples, at :attr:`AdaptRule.sharpness`), so a writer whose flagged 1s the
  network calls 7 gets 1s, while their own 7s, closer to their taught 7s,
  stay 7s;

and the probabilities renormalised. What the network already reads right
needs nothing, so it changes nothing: a digit never taught, or taught and
read well, keeps the network's judgement, and one taught sample moves only
the characters that look like it. "Not a digit" is one more class that is
never taught: a shape the gate declines but the user taught as a 0 (a φ
zero) reads as 0 next time, and letters unlike the user's samples stay
declined. The "?" rule then applies to the adapted probabilities.

The constants were chosen by cross-validation on whole writers of UNIPEN's
training digits (``bench/adapt_cv.py``), never on the dev writers.

Why corrections and not a vote. The first rule tried multiplied each
digit's probability by ``exp(weight x (similarity - threshold))``, a kNN
vote of all the samples. On the training writers (3 of each digit taught,
2,526 digits read, 41 errors) its best constants gave 33 errors in-sample
with "not a digit" left as the gate said, 26 with it one more class, but
then the letters read as no digit fell from 73.8% to 49.9%; with the
letters held, 37 cross-validated; and one ordinary taught sample moved other
digits' MNIST readings by 0.3 to 1.6 points, because a sample the network
already reads well still pulls everything like it. The training writers'
errors are mostly splits, the gate's "?" and one-off slips, which no
similarity to other digits mends; a writer whose digit looks like another
one (simulated by exchanging two digits' labels) is what adaptation is for.

Cost per reading: one product of the samples' features (N x 1,152 for the
shipped model) with the character's and a few passes over N numbers: tens
of microseconds with 300 samples. The samples' features and readings are
computed once per model, as a batch, and cached by image, so teaching one
more sample costs one forward pass; another model recomputes them all.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch

from digitpad.base.constants import MNIST_SIZE, NUM_CLASSES
from digitpad.ink.preprocess import normalise
from digitpad.model.network import DigitNet
from digitpad.model.threads import usual_threads

#: Images per forward pass when computing many samples' features.
FEATURE_BATCH = 500
#: Added to probabilities before their logarithm: a probability of exactly 0 stays finite.
_TINY = 1e-30


class Predictor(Protocol):
    """What the adapter needs of a :class:`digitpad.model.inference.Predictor` (which holds the adapter, so
    this module does not import it)."""

    model: DigitNet
    gate: object

    def predict_batch(self, normalised: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class AdaptRule:
    """How the user's samples correct a reading (see the module's docstring)."""

    #: Cosine similarity from which a sample's correction applies in full.
    near: float = 0.6
    #: Cosine similarity below which a sample corrects nothing (linear in between).
    far: float = 0.5
    #: Log-odds by which a sample's own reading should favour its label over the next class.
    margin: float = 5.0
    #: A taught digit's similarity to a character: the mean of its this many nearest samples.
    neighbours: int = 1
    #: Temperature of the softmax that shares a correction between taught digits by similarity.
    sharpness: float = 0.02


def unit_rows(features: np.ndarray) -> np.ndarray:
    """Each row scaled to length 1 (a row of zeros stays zero), float32."""
    features = np.asarray(features, dtype=np.float32)
    norms = np.linalg.norm(features, axis=-1, keepdims=True)
    return (features / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)


def penultimate_features(model: DigitNet, normalised: np.ndarray, batch_size: int = FEATURE_BATCH) -> np.ndarray:
    """L2-normalised features float32 (N, D) of normalised images (N, 28, 28): the last conv block's output,
    flattened (what the linear head reads), computed in batches by the eager ``model``."""
    outputs = []
    with torch.inference_mode(), usual_threads(len(normalised)):
        for start in range(0, len(normalised), batch_size):
            chunk = np.ascontiguousarray(normalised[start : start + batch_size], dtype=np.float32)
            x = torch.from_numpy(chunk).view(-1, 1, MNIST_SIZE, MNIST_SIZE)
            for block in model.blocks:
                x = block(x)
            outputs.append(x.flatten(1).numpy())
    if not outputs:
        return np.zeros((0, 0), np.float32)
    return unit_rows(np.concatenate(outputs))


def feature_from_map(last_map: np.ndarray) -> np.ndarray:
    """The same feature (D,) from the last block's map before its pooling, (C, H, W) as
    :meth:`~digitpad.model.inference.Predictor.predict_input` returns it: the live path already has it, so the
    feature costs a 2x2 max-pool (floor, as ``nn.MaxPool2d(2)``) and a norm, not a forward pass."""
    height, width = last_map.shape[1] // 2 * 2, last_map.shape[2] // 2 * 2
    corners = [last_map[:, dy:height:2, dx:width:2] for dy in (0, 1) for dx in (0, 1)]
    pooled = np.maximum(np.maximum(corners[0], corners[1]), np.maximum(corners[2], corners[3]))
    return unit_rows(pooled.reshape(-1))


def sample_inputs(images: np.ndarray) -> np.ndarray:
    """The model's inputs float32 (N, 28, 28) for samples' uint8 images (bright ink on black, as MNIST)."""
    return normalise(np.asarray(images, dtype=np.float32) / 255.0)


def needs(probabilities: np.ndarray, labels: np.ndarray, margin: float) -> np.ndarray:
    """Per sample (N,): the log-odds its label lacks, in the network's ``probabilities`` (N, classes), to beat
    every other class by ``margin``; 0 where it already does."""
    logs = np.log(np.asarray(probabilities, dtype=np.float64) + _TINY)
    rows = np.arange(len(labels))
    own = logs[rows, labels].copy()
    logs[rows, labels] = -np.inf
    return np.maximum(0.0, margin + logs.max(axis=1) - own) if len(labels) else np.zeros(0)


def class_similarities(similarities: np.ndarray, spans, neighbours: int) -> np.ndarray:
    """(M, 10): per row and digit, the mean of the ``neighbours`` largest finite similarities among the digit's
    columns ``spans[d]`` of ``similarities`` (M, N); NaN for a digit with none (never taught, or all left out)."""
    result = np.full((similarities.shape[0], NUM_CLASSES), np.nan, np.float64)
    for digit, (start, stop) in enumerate(spans):
        if stop == start:
            continue
        block = similarities[:, start:stop]
        k = min(neighbours, stop - start)
        if k == 1:  # the nearest alone: a max, the commonest case and the cheapest
            nearest = block.max(axis=1)
            result[:, digit] = np.where(np.isfinite(nearest), nearest, np.nan)
            continue
        top = block if k == stop - start else -np.partition(-block, k - 1, axis=1)[:, :k]
        finite = np.isfinite(top)
        counts = finite.sum(axis=1)
        total = np.where(finite, top, 0.0).sum(axis=1, dtype=np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            result[:, digit] = np.where(counts > 0, total / counts, np.nan)
    return result


def digit_shares(similarity: np.ndarray, sharpness: float) -> np.ndarray:
    """(M, 10) softmax over the taught digits (not NaN) of ``similarity / sharpness``; 0 for the others."""
    scaled = np.where(np.isnan(similarity), -np.inf, similarity / sharpness)
    top = scaled.max(axis=1, keepdims=True)
    weights = np.exp(scaled - np.where(np.isfinite(top), top, 0.0))
    total = weights.sum(axis=1, keepdims=True)
    return np.divide(weights, total, out=np.zeros_like(weights), where=total > 0)


def strongest_pulls(similarities: np.ndarray, spans, sample_needs: np.ndarray, rule: AdaptRule) -> np.ndarray:
    """(M, 10): per character and taught digit, the largest closeness x need over the digit's samples (sorted by
    label, ``spans`` per digit); ``similarities`` (M, N), where -inf marks a sample left out."""
    closeness = np.clip((similarities - rule.far) / (rule.near - rule.far), 0.0, 1.0)
    pulls = closeness * sample_needs  # a sample left out (-inf) has a closeness of 0: it pulls nothing
    strongest = np.zeros((similarities.shape[0], NUM_CLASSES))
    for digit, (start, stop) in enumerate(spans):
        if stop > start and sample_needs[start:stop].any():
            strongest[:, digit] = pulls[:, start:stop].max(axis=1)
    return strongest


def corrections(similarities: np.ndarray, spans, sample_needs: np.ndarray, rule: AdaptRule) -> np.ndarray:
    """(M, 10) log-odds added to each digit for characters whose similarities to the samples (sorted by label,
    ``spans`` per digit) are ``similarities`` (M, N); -inf marks a sample left out."""
    strongest = strongest_pulls(similarities, spans, sample_needs, rule)
    if not strongest.any():
        return strongest
    shares = digit_shares(class_similarities(similarities, spans, rule.neighbours), rule.sharpness)
    return shares * strongest


def apply_corrections(probabilities: np.ndarray, digit_corrections: np.ndarray) -> np.ndarray:
    """``probabilities`` (M, classes: the ten digits, then "not a digit" if there) with ``digit_corrections``
    (M, 10) added to the digits' log-probabilities, renormalised to each row's own sum; float32."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    total = probabilities.sum(axis=1, keepdims=True)
    logs = np.log(probabilities + _TINY)
    logs[:, :NUM_CLASSES] += digit_corrections
    weighted = np.exp(logs - logs.max(axis=1, keepdims=True))
    adapted = weighted / weighted.sum(axis=1, keepdims=True) * total
    return np.where(np.isfinite(adapted).all(axis=1, keepdims=True), adapted, probabilities).astype(np.float32)


@dataclass(frozen=True)
class _Bank:
    """The samples as one model reads them, sorted by label: what each reading is compared with."""

    features: np.ndarray  # (N, D)
    labels: np.ndarray  # (N,)
    #: The network's probabilities of each sample (N, classes), as the predictor reads a character.
    probabilities: np.ndarray
    #: Per digit, its rows [start, stop).
    spans: tuple[tuple[int, int], ...]
    #: Each row's index in the order the samples were given.
    order: np.ndarray
    #: Each row's need (see :func:`needs`) at ``margin``.
    needs: np.ndarray
    margin: float

    @classmethod
    def build(cls, features: np.ndarray, labels: np.ndarray, probabilities: np.ndarray, margin: float) -> _Bank:
        order = np.argsort(labels, kind="stable")
        sorted_labels, sorted_probabilities = labels[order], probabilities[order]
        edges = np.searchsorted(sorted_labels, np.arange(NUM_CLASSES + 1))
        spans = tuple((int(edges[d]), int(edges[d + 1])) for d in range(NUM_CLASSES))
        sample_needs = needs(sorted_probabilities, sorted_labels, margin)
        features = np.ascontiguousarray(features[order])
        return cls(features, sorted_labels, sorted_probabilities, spans, order, sample_needs, margin)

    @classmethod
    def empty(cls, margin: float = 0.0) -> _Bank:
        nothing = np.zeros((0, NUM_CLASSES), np.float32)
        return cls.build(np.zeros((0, 0), np.float32), np.zeros(0, np.int64), nothing, margin)

    def given_order(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(features, labels, probabilities) in the order the samples were given."""
        features, labels = np.empty_like(self.features), np.empty_like(self.labels)
        probabilities = np.empty_like(self.probabilities)
        features[self.order], labels[self.order], probabilities[self.order] = (
            self.features, self.labels, self.probabilities,
        )  # fmt: skip
        return features, labels, probabilities

    def without(self, index: int) -> _Bank:
        """The bank without the sample given at ``index``; indices after it move down by one."""
        features, labels, probabilities = self.given_order()
        keep = np.arange(len(labels)) != index
        if not keep.any():
            return _Bank.empty(self.margin)
        return _Bank.build(features[keep], labels[keep], probabilities[keep], self.margin)


class Adapter:
    """The user's samples as corrections to each reading (see the module's docstring).

    :meth:`set_samples` gives the samples (uint8 images and labels); how a
    predictor reads them (features and probabilities) is computed by
    :meth:`prepare` (batched, cached by image; all again for another
    predictor or gate) and used by :meth:`adapt`. :meth:`leave_out` gives an
    adapter without one sample, for judging the samples themselves. Reading
    and preparing may happen on different threads: a reading uses one
    consistent snapshot.
    """

    def __init__(self, rule: AdaptRule | None = None) -> None:
        self.rule = rule or AdaptRule()
        self._enabled = True
        self._images = np.zeros((0, MNIST_SIZE, MNIST_SIZE), np.uint8)
        self._labels = np.zeros(0, np.int64)
        # Replaced whole, never changed: a reading on another thread sees the old bank or the new one.
        self._bank = _Bank.empty(self.rule.margin)
        #: What ``_bank`` was built for: (a weak reference to the predictor, its gate); None: to be built.
        self._bank_for: tuple | None = None
        #: (feature, probabilities) already computed, by image bytes, for ``_known_for``.
        self._known: dict[bytes, tuple[np.ndarray, np.ndarray]] = {}
        self._known_for: tuple | None = None
        self._lock = threading.Lock()
        #: Changes whenever a reading could change: other samples, the toggle.
        self.version = 0

    @property
    def enabled(self) -> bool:
        return self._enabled

    @enabled.setter
    def enabled(self, value: bool) -> None:
        if bool(value) != self._enabled:
            self._enabled = bool(value)
            self.version += 1

    @property
    def count(self) -> int:
        """How many samples it adapts to."""
        return len(self._labels)

    @property
    def active(self) -> bool:
        """Whether readings are adapted: it is enabled and has samples."""
        return self._enabled and self.count > 0

    def set_samples(self, images: np.ndarray, labels: np.ndarray) -> None:
        """Adapt to these samples: uint8 images (N, 28, 28) (bright ink on black) and digit labels (N,)."""
        images = np.asarray(images, dtype=np.uint8).reshape(-1, MNIST_SIZE, MNIST_SIZE)
        labels = np.asarray(labels, dtype=np.int64).reshape(-1)
        if len(images) != len(labels) or not np.all((labels >= 0) & (labels < NUM_CLASSES)):
            raise ValueError("samples need one digit label 0-9 per image")
        with self._lock:
            self._images, self._labels = images.copy(), labels.copy()
            self._bank_for = None  # rebuilt at the next prepare, from what is already known
            self.version += 1

    def prepare(self, predictor: Predictor) -> None:
        """Make sure the samples are read by ``predictor`` (and its gate); reads only the new ones."""
        with self._lock:
            if _is_for(self._bank_for, predictor):
                return
            if not _is_for(self._known_for, predictor):
                self._known, self._known_for = {}, _key(predictor)
            keys = [image.tobytes() for image in self._images]
            missing = [i for i, key in enumerate(keys) if key not in self._known]
            if missing:
                inputs = sample_inputs(self._images[missing])
                features = penultimate_features(predictor.model, inputs)
                probabilities = predictor.predict_batch(inputs)
                read = zip(features, probabilities, strict=True)
                self._known.update(zip((keys[i] for i in missing), read, strict=True))
            if keys:
                features = np.stack([self._known[key][0] for key in keys])
                probabilities = np.stack([self._known[key][1] for key in keys])
                self._bank = _Bank.build(features, self._labels, probabilities, self.rule.margin)
            else:
                self._bank = _Bank.empty(self.rule.margin)
            self._bank_for = _key(predictor)

    def samples(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(features (N, D), labels (N,), the network's probabilities (N, classes)) of the samples in the order
        given, as the predictor last prepared for reads them."""
        return self._bank.given_order()

    def adapt(self, probabilities: np.ndarray, feature: np.ndarray) -> np.ndarray:
        """A character's ``probabilities`` (the ten digits, then "not a digit" if the reading has it) adapted
        for its ``feature`` (D,): same shape and sum."""
        return self.adapt_batch(np.asarray(probabilities)[None, :], np.asarray(feature)[None, :])[0]

    def adapt_batch(
        self, probabilities: np.ndarray, features: np.ndarray, exclude: np.ndarray | None = None
    ) -> np.ndarray:
        """:meth:`adapt` for many characters: probabilities (M, classes), features (M, D); ``exclude`` (M,)
        names for each row a sample (its index as given) that must not count for it (-1: none)."""
        bank = self._bank
        probabilities = np.asarray(probabilities, dtype=np.float32)
        if not self._enabled or not bank.needs.any():
            # No sample the network misreads: nothing to correct, the network's reading as it is.
            return probabilities.copy()
        similarities = np.asarray(features, dtype=np.float32) @ bank.features.T
        if exclude is not None:
            exclude = np.asarray(exclude)
            position = np.empty(len(bank.order), np.int64)
            position[bank.order] = np.arange(len(bank.order))
            rows = np.flatnonzero(exclude >= 0)
            similarities[rows, position[exclude[rows]]] = -np.inf
        return apply_corrections(probabilities, corrections(similarities, bank.spans, bank.needs, self.rule))

    def leave_out(self, index: int) -> Adapter:
        """A copy that adapts to every sample but the one given at ``index`` (as last prepared)."""
        other = Adapter(self.rule)
        other._enabled = self._enabled
        keep = np.arange(self.count) != index
        other._images, other._labels = self._images[keep], self._labels[keep]
        other._bank = self._bank.without(index)
        other._bank_for = self._bank_for
        return other

    def read_samples(self) -> tuple[np.ndarray, np.ndarray]:
        """(the network's probabilities, the adapted ones) of each sample, each read with every other sample
        but itself (leave-one-out: a sample must not vote for itself), in the order given; (N, classes) each."""
        features, _, probabilities = self.samples()
        exclude = np.arange(len(features))
        return probabilities, self.adapt_batch(probabilities, features, exclude)

    def adapt_reading(self, predictor: Predictor, probabilities: np.ndarray, last_map: np.ndarray) -> np.ndarray:
        """What a :class:`~digitpad.model.inference.Predictor` calls for one character: ``probabilities``
        adapted, the samples read by ``predictor`` first and the character's feature taken from its last
        block's map."""
        self.prepare(predictor)
        return self.adapt(probabilities, feature_from_map(last_map))

    def state(self) -> tuple:
        """What identifies the readings it gives (a reader drops its cached readings when this changes)."""
        return (id(self), self.version, self._enabled)


def _key(predictor: Predictor) -> tuple:
    return (weakref.ref(predictor), predictor.gate)


def _is_for(key: tuple | None, predictor: Predictor) -> bool:
    return key is not None and key[0]() is predictor and key[1] is predictor.gate
