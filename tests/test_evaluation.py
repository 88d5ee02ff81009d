"""digitpad.model.evaluation: the confusion matrix and the worst mistakes, on tiny data whose answers are known."""

from __future__ import annotations

import numpy as np
import pytest

from digitpad.ink.preprocess import normalise
from digitpad.model.evaluation import Mistake, confusion_matrix, evaluate_images, evaluate_probabilities


def test_confusion_matrix_counts_true_rows_against_predicted_columns() -> None:
    matrix = confusion_matrix(np.array([0, 0, 1, 7, 7, 7]), np.array([0, 6, 1, 7, 1, 7]))
    assert matrix.shape == (10, 10)
    assert matrix[0, 0] == 1 and matrix[0, 6] == 1 and matrix[1, 1] == 1
    assert matrix[7, 7] == 2 and matrix[7, 1] == 1
    assert matrix.sum() == 6
    with pytest.raises(ValueError, match="labels"):
        confusion_matrix(np.array([10]), np.array([1]))
    # A model with "not a digit" gets an eleventh column.
    assert confusion_matrix(np.array([3]), np.array([10]), classes=11)[3, 10] == 1


def test_mistakes_come_most_confident_first() -> None:
    probabilities = np.full((5, 10), 0.01, np.float32)
    for row, (answer, confidence) in enumerate([(1, 0.9), (2, 0.6), (3, 0.95), (4, 0.7), (4, 0.99)]):
        probabilities[row, answer] = confidence
    labels = np.array([1, 5, 3, 9, 8])  # rows 0 and 2 are right
    evaluation = evaluate_probabilities(probabilities, labels, worst=2)
    assert evaluation.mistakes == (
        Mistake(index=4, label=8, predicted=4, confidence=pytest.approx(0.99)),
        Mistake(index=3, label=9, predicted=4, confidence=pytest.approx(0.7)),
    )
    assert evaluation.count == 5 and evaluation.correct == 2
    assert evaluation.accuracy == pytest.approx(0.4)


class _ReadsByBrightness:
    """A stand-in model for the plumbing: reads the digit from the image's mean brightness (known answers)."""

    # Mirrors Predictor.model.config.num_classes.
    model = type("Model", (), {"config": type("Config", (), {"num_classes": 10})})

    def __init__(self) -> None:
        self.seen: list[np.ndarray] = []

    def predict_batch(self, normalised: np.ndarray) -> np.ndarray:
        self.seen.append(normalised)
        digits = np.rint(normalised.mean(axis=(1, 2)) - normalise(np.zeros(1, np.float32))[0]).astype(int) % 10
        return np.eye(10, dtype=np.float32)[digits]


def test_evaluate_images_takes_any_labelled_images_and_reports_progress() -> None:
    # Image k is uniformly at the grey level that the stand-in reads as digit k % 4.
    levels = np.array([0, 1, 2, 3] * 300)
    images = np.broadcast_to((levels * 0.3081 * 255).clip(0, 255).astype(np.uint8)[:, None, None], (1200, 28, 28))
    labels = levels.copy()
    labels[:3] = 9  # three known mistakes
    predictor = _ReadsByBrightness()
    reports: list[tuple[int, int]] = []
    evaluation = evaluate_images(predictor, images, labels, progress=lambda done, total: reports.append((done, total)))
    assert evaluation is not None
    assert reports == [(500, 1200), (1000, 1200), (1200, 1200)]
    assert evaluation.count == 1200 and evaluation.correct == 1197
    assert sorted(m.index for m in evaluation.mistakes) == [0, 1, 2]
    assert evaluation.confusion[9, 0] == 1 and evaluation.confusion[9, 1] == 1 and evaluation.confusion[9, 2] == 1
    # MNIST's normalisation was applied to the images the model saw.
    paper = float(normalise(np.zeros(1))[0])
    assert predictor.seen[0].dtype == np.float32 and predictor.seen[0][0, 0, 0] == pytest.approx(paper)


def test_evaluate_images_stops_when_asked_and_refuses_bad_shapes() -> None:
    images = np.zeros((1200, 28, 28), np.uint8)
    labels = np.zeros(1200, np.int64)
    calls = []
    assert evaluate_images(_ReadsByBrightness(), images, labels, should_stop=lambda: calls.append(1) or True) is None
    assert calls == [1]
    with pytest.raises(ValueError, match="shape"):
        evaluate_images(_ReadsByBrightness(), np.zeros((3, 20, 20)), np.zeros(3))
    with pytest.raises(ValueError, match="labels"):
        evaluate_images(_ReadsByBrightness(), np.zeros((3, 28, 28)), np.zeros(2))
