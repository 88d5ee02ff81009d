"""Comparing a new model with the one in use, from what their checkpoints record."""

from __future__ import annotations

from types import SimpleNamespace

from digitpad.base.paths import shipped_weights_path
from digitpad.model.accuracy import DRAWN_DIGITS_METRIC, ModelFigures, compare, describe_beside
from digitpad.model.checkpoint import load_checkpoint


def info(metrics: object, data: object = None) -> SimpleNamespace:
    return SimpleNamespace(metrics=metrics, data=data if data is not None else {"test_images": 10_000})


def test_figures_come_from_the_checkpoint_and_odd_values_count_as_unknown():
    figures = ModelFigures.from_info(info({"test_accuracy": 0.9931, DRAWN_DIGITS_METRIC: 0.97}))
    assert figures == ModelFigures(0.9931, 10_000, 0.97)
    assert ModelFigures.from_info(info({"test_accuracy": "high"}, data=[])) == ModelFigures()
    assert ModelFigures.from_info(info({"test_accuracy": float("nan")})).mnist_accuracy is None
    assert ModelFigures.from_info(info({"test_accuracy": True})).mnist_accuracy is None
    assert ModelFigures.from_info(None) == ModelFigures()


def test_the_shipped_weights_record_their_figures():
    figures = ModelFigures.from_info(load_checkpoint(shipped_weights_path()).info)
    assert figures.mnist_accuracy is not None and figures.mnist_accuracy > 0.99
    # Written by bench/drawn_digits.py --record: the Train tab shows it beside new models.
    assert figures.drawn_accuracy is not None and figures.drawn_accuracy > 0.95
    assert "MNIST 99." in figures.describe() and "drawn digits" in figures.describe()


def test_a_worse_model_is_called_worse():
    in_use = ModelFigures(0.9964, 10_000, 0.986)
    comparison = compare(ModelFigures(0.9931, 10_000), in_use)
    assert comparison.worse
    assert "0.33 points lower" in comparison.summary
    # The drawn-digit figure the new one lacks is named as missing.
    assert describe_beside(ModelFigures(0.9931, 10_000), in_use) == "MNIST 99.31% · drawn digits not measured"
    assert describe_beside(ModelFigures(0.9931, 10_000), ModelFigures(0.99)) == "MNIST 99.31%"


def test_better_same_and_unknown():
    in_use = ModelFigures(0.9930)
    assert compare(ModelFigures(0.9964), in_use).verdict == "better"
    assert compare(ModelFigures(0.9932), in_use).verdict == "same"
    assert compare(ModelFigures(None), in_use).verdict == "unknown"
    assert compare(ModelFigures(0.99), None).verdict == "unknown"
    assert not compare(ModelFigures(0.9964), in_use).worse


def test_a_test_subset_is_named():
    assert "on 1,000 test images" in ModelFigures(0.95, 1000).describe()
