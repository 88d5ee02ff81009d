"""Where a model goes wrong: a confusion matrix and its most confident mistakes, on any labelled images.

:func:`evaluate_images` takes any (images, labels) arrays: MNIST's test set,
or a user's own samples once they exist, so every set is judged the same
way. The work is plain numpy and batched inference; a caller with a GUI runs
it in a worker thread and follows ``progress``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from digitpad.base.constants import MNIST_SIZE, NUM_CLASSES
from digitpad.ink.preprocess import as_ink, normalise

if TYPE_CHECKING:
    from digitpad.model.inference import Predictor

#: How many of the most confident mistakes an evaluation keeps.
WORST_MISTAKES = 24
#: Images per batch: a progress report after each.
EVALUATION_BATCH = 500


@dataclass(frozen=True)
class Mistake:
    """One image the model got wrong."""

    #: Its index in the images evaluated.
    index: int
    label: int
    predicted: int
    #: The (calibrated) probability the model gave its wrong answer.
    confidence: float


@dataclass(frozen=True)
class Evaluation:
    """A model's answers on a labelled set."""

    #: int64 (10, classes): row = true digit, column = the model's answer (the last column is
    #: "not a digit" for a model that has it).
    confusion: np.ndarray
    #: The most confident mistakes first (at most WORST_MISTAKES).
    mistakes: tuple[Mistake, ...]

    @property
    def count(self) -> int:
        return int(self.confusion.sum())

    @property
    def correct(self) -> int:
        return int(np.trace(self.confusion[:, :NUM_CLASSES]))

    @property
    def accuracy(self) -> float:
        return self.correct / self.count if self.count else 0.0


def confusion_matrix(labels: np.ndarray, predicted: np.ndarray, classes: int = NUM_CLASSES) -> np.ndarray:
    """int64 (10, ``classes``): how often each true digit (row) was read as each class (column)."""
    labels, predicted = np.asarray(labels, dtype=np.int64), np.asarray(predicted, dtype=np.int64)
    if labels.shape != predicted.shape:
        raise ValueError(f"{len(labels)} labels for {len(predicted)} predictions")
    if labels.size and (labels.min() < 0 or labels.max() >= NUM_CLASSES):
        raise ValueError("labels must be digits 0-9")
    if predicted.size and (predicted.min() < 0 or predicted.max() >= classes):
        raise ValueError(f"predictions must be classes 0-{classes - 1}")
    return np.bincount(labels * classes + predicted, minlength=NUM_CLASSES * classes).reshape(NUM_CLASSES, classes)


def evaluate_probabilities(probabilities: np.ndarray, labels: np.ndarray, worst: int = WORST_MISTAKES) -> Evaluation:
    """The confusion matrix and the ``worst`` most confident mistakes of probabilities (N, classes)."""
    probabilities = np.asarray(probabilities, dtype=np.float32)
    labels = np.asarray(labels, dtype=np.int64)
    predicted = probabilities.argmax(axis=1) if len(probabilities) else np.zeros(0, np.int64)
    confusion = confusion_matrix(labels, predicted, probabilities.shape[1])
    wrong = np.flatnonzero(predicted != labels)
    confidence = probabilities[wrong, predicted[wrong]]
    # Most confident first; ties by index, so the order is reproducible.
    order = np.lexsort((wrong, -confidence))[:worst]
    mistakes = tuple(
        Mistake(int(wrong[k]), int(labels[wrong[k]]), int(predicted[wrong[k]]), float(confidence[k])) for k in order
    )
    return Evaluation(confusion, mistakes)


def evaluate_images(
    predictor: Predictor,
    images: np.ndarray,
    labels: np.ndarray,
    *,
    progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    worst: int = WORST_MISTAKES,
) -> Evaluation | None:
    """Evaluate ``predictor`` on 28x28 ``images`` (N, 28, 28: uint8 0..255, or floats in [0, 1],
    bright ink on dark, as MNIST) with digit ``labels`` (N,).

    ``progress(done, total)`` follows each batch; ``should_stop`` is polled
    before each, and a stop returns None.
    """
    images = np.asarray(images)
    labels = np.asarray(labels)
    if images.ndim != 3 or images.shape[1:] != (MNIST_SIZE, MNIST_SIZE):
        raise ValueError(f"expected images of shape (N, {MNIST_SIZE}, {MNIST_SIZE}), got {images.shape}")
    if len(images) != len(labels):
        raise ValueError(f"{len(images)} images but {len(labels)} labels")
    batches = []
    for start in range(0, len(images), EVALUATION_BATCH):
        if should_stop is not None and should_stop():
            return None
        chunk = np.stack([normalise(as_ink(image)) for image in images[start : start + EVALUATION_BATCH]])
        batches.append(predictor.predict_batch(chunk))
        if progress is not None:
            progress(min(start + EVALUATION_BATCH, len(images)), len(images))
    classes = predictor.model.config.num_classes
    probabilities = np.concatenate(batches) if batches else np.zeros((0, classes), np.float32)
    return evaluate_probabilities(probabilities, labels, worst)
