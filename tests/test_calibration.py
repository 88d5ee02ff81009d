"""Temperature scaling: the fit finds a known temperature, ECE measures what it should, Predictor applies it."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from digitpad.base.paths import shipped_weights_path
from digitpad.data.mnist import Mnist
from digitpad.model.checkpoint import CheckpointInfo, load_checkpoint
from digitpad.model.inference import Predictor
from digitpad.model.network import DigitNet, ModelConfig
from digitpad.model.temperature import (
    CALIBRATION_METRIC,
    MAX_TEMPERATURE,
    MIN_TEMPERATURE,
    softmax,
    stored_temperature,
)
from digitpad.training.calibration import (
    Calibration,
    calibrate,
    expected_calibration_error,
    fit_temperature,
    model_logits,
    negative_log_likelihood,
)

SMALL = ModelConfig(channels=(4, 8, 8))


def sampled_labels(probabilities: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One label per row, drawn from that row's probabilities."""
    cumulative = probabilities.cumsum(axis=1)
    draws = rng.random((len(probabilities), 1)) * cumulative[:, -1:]
    return (draws > cumulative).sum(axis=1)


def synthetic(temperature: float, count: int = 20000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Logits and labels drawn from softmax(logits / temperature): ``temperature`` calibrates them."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 4, (count, 10))
    return logits, sampled_labels(softmax(logits, temperature), rng)


def small_model(seed: int = 0) -> DigitNet:
    torch.manual_seed(seed)
    return DigitNet(SMALL).eval()


def info_with(temperature: object) -> CheckpointInfo:
    return CheckpointInfo(model_config=SMALL, metrics={CALIBRATION_METRIC: {"temperature": temperature}})


@pytest.mark.parametrize("true_temperature", [0.5, 2.0])
def test_fit_recovers_a_known_temperature(true_temperature: float) -> None:
    logits, labels = synthetic(true_temperature)
    fitted = fit_temperature(logits, labels)
    assert fitted == pytest.approx(true_temperature, rel=0.05)
    assert fit_temperature(logits, labels) == fitted  # deterministic
    # It is the minimum: a step either way costs likelihood.
    best = negative_log_likelihood(logits, labels, fitted)
    assert best < negative_log_likelihood(logits, labels, fitted * 1.02)
    assert best < negative_log_likelihood(logits, labels, fitted / 1.02)


def test_fit_stays_in_range() -> None:
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 10, 2000)
    # Logits that say nothing about the labels: the flattest softmax is best.
    assert fit_temperature(rng.normal(0, 1, (2000, 10)), labels) == pytest.approx(MAX_TEMPERATURE, rel=1e-4)
    # Always right by a wide margin: the sharpest softmax is best.
    certain = np.eye(10)[labels] * 5
    assert fit_temperature(certain, labels) == pytest.approx(MIN_TEMPERATURE, rel=1e-4)


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError):
        fit_temperature(np.zeros((0, 10)), np.zeros(0, int))
    with pytest.raises(ValueError):
        fit_temperature(np.zeros((3, 10)), np.zeros(4, int))
    with pytest.raises(ValueError):
        expected_calibration_error(np.full((2, 10), 0.1), np.array([0, 10]))


def test_nll_is_the_cross_entropy() -> None:
    logits, labels = synthetic(1.0, count=500)
    expected = F.cross_entropy(torch.from_numpy(logits / 3), torch.from_numpy(labels)).item()
    assert negative_log_likelihood(logits, labels, 3.0) == pytest.approx(expected, rel=1e-9)


def test_ece_of_calibrated_data_is_small_and_of_overconfident_data_large() -> None:
    logits, labels = synthetic(1.0)
    assert expected_calibration_error(softmax(logits), labels) < 0.015
    assert expected_calibration_error(softmax(logits, 0.3), labels) > 0.1
    # Fitting the temperature of miscalibrated logits brings the ECE down.
    scaled = logits * 3
    fitted = fit_temperature(scaled, labels)
    assert expected_calibration_error(softmax(scaled, fitted), labels) < 0.015


def test_ece_by_hand() -> None:
    probabilities = np.array([[0.9, 0.1], [0.58, 0.42], [0.55, 0.45]])
    labels = np.array([0, 1, 0])
    # 15 bins: 0.9 alone (right); 0.58 and 0.55 share (8/15, 9/15], one right: |1 - 0.9| + 2 |0.5 - 0.565|.
    assert expected_calibration_error(probabilities, labels) == pytest.approx((0.1 + 2 * 0.065) / 3)
    # One bin: |2/3 right - mean confidence 2.03/3|.
    assert expected_calibration_error(probabilities, labels, bins=1) == pytest.approx(abs(2 / 3 - 2.03 / 3))


def test_calibration_round_trips_through_json() -> None:
    calibration = Calibration(0.75, "MNIST test 0-4999; checked on 5000-9999", 0.1, 0.05, 0.04, 0.01)
    document = json.loads(json.dumps(calibration.to_dict()))
    assert Calibration.from_dict(document) == calibration
    assert Calibration.from_dict({**document, "added_later": 1}) == calibration
    with pytest.raises(ValueError, match="temperature"):
        Calibration.from_dict({k: v for k, v in document.items() if k != "temperature"})
    with pytest.raises(ValueError, match="nll_after"):
        Calibration.from_dict({**document, "nll_after": "low"})


@pytest.mark.parametrize(
    "metrics",
    [
        None,
        {},
        {CALIBRATION_METRIC: None},
        {CALIBRATION_METRIC: [2.0]},
        {CALIBRATION_METRIC: {}},
        *({CALIBRATION_METRIC: {"temperature": bad}} for bad in (math.nan, math.inf, 0, -2.0, 21.0, 0.01)),
        *({CALIBRATION_METRIC: {"temperature": bad}} for bad in ("2", True, None, [2.0])),
    ],
)
def test_a_missing_or_broken_temperature_is_one(metrics: object) -> None:
    assert stored_temperature(metrics) == 1.0


def test_a_sane_temperature_is_read() -> None:
    assert stored_temperature({CALIBRATION_METRIC: {"temperature": 2}}) == 2.0
    assert stored_temperature({CALIBRATION_METRIC: {"temperature": MIN_TEMPERATURE}}) == MIN_TEMPERATURE


def test_predictor_applies_the_temperature() -> None:
    model = small_model()
    image = np.random.default_rng(0).normal(0, 1, (28, 28)).astype(np.float32)
    with torch.no_grad():
        logits = model(torch.from_numpy(image).view(1, 1, 28, 28))[0].numpy()
    plain, warm = Predictor(model, info_with(1.0)), Predictor(model, info_with(2.0))
    assert (plain.temperature, warm.temperature) == (1.0, 2.0)
    assert warm.optimised, "the fast path failed to build; the temperature must apply to it"
    for predictor, temperature in ((plain, 1.0), (warm, 2.0)):
        probabilities, _ = predictor.predict_input(image, with_activations=True)
        assert probabilities.dtype == np.float32
        assert probabilities.sum() == pytest.approx(1.0, abs=1e-5)
        np.testing.assert_allclose(probabilities, softmax(logits, temperature), atol=1e-4)
        np.testing.assert_allclose(predictor.predict_batch(image[None])[0], probabilities, atol=1e-5)
    flat, sharp = warm.predict_input(image)[0], plain.predict_input(image)[0]
    assert flat.argmax() == sharp.argmax() and flat.max() < sharp.max()
    np.testing.assert_allclose(warm.logits_batch(image[None])[0], logits, atol=1e-4)


@pytest.mark.parametrize("bad", [math.nan, 0.0, 100.0, "hot"])
def test_predictor_ignores_a_broken_temperature(bad: object) -> None:
    model = small_model()
    predictor = Predictor(model, info_with(bad))
    assert predictor.temperature == 1.0
    images = np.random.default_rng(1).normal(0, 1, (3, 28, 28)).astype(np.float32)
    np.testing.assert_array_equal(predictor.predict_batch(images), Predictor(model).predict_batch(images))


def test_calibrate_fits_on_one_part_and_checks_on_the_other(tiny_mnist: Mnist) -> None:
    model = small_model()
    images, labels = tiny_mnist.test_images[:200], tiny_mnist.test_labels[:200]
    calibration = calibrate(model, images, labels, fit_count=120, name="bars")
    assert calibration.fitted_on == "bars 0-119; checked on 120-199"
    logits = model_logits(model, images)
    assert calibration.temperature == pytest.approx(fit_temperature(logits[:120], labels[:120]), abs=1e-4)
    assert calibration.nll_before == pytest.approx(negative_log_likelihood(logits[120:], labels[120:]))
    assert calibration.nll_after == pytest.approx(
        negative_log_likelihood(logits[120:], labels[120:], calibration.temperature)
    )
    with pytest.raises(ValueError):
        calibrate(model, images[:1], labels[:1])


def test_shipped_weights_carry_a_calibration() -> None:
    info = load_checkpoint(shipped_weights_path()).info
    calibration = Calibration.from_dict(info.metrics[CALIBRATION_METRIC])
    assert 0.3 <= calibration.temperature <= 5
    assert calibration.fitted_on == "MNIST test 0-4999; checked on 5000-9999"
    assert calibration.nll_after < calibration.nll_before and calibration.ece_after < calibration.ece_before
    assert Predictor.from_checkpoint().temperature == calibration.temperature


def test_shipped_calibration_is_the_shipped_weights_own(mnist: Mnist) -> None:
    """Weights retrained without running ``digitpad calibrate`` again would fail here."""
    loaded = load_checkpoint(shipped_weights_path())
    stored = Calibration.from_dict(loaded.info.metrics[CALIBRATION_METRIC])
    fresh = calibrate(loaded.model, mnist.test_images, mnist.test_labels)
    assert fresh.temperature == pytest.approx(stored.temperature, abs=2e-4)
    assert fresh.fitted_on == stored.fitted_on
    assert fresh.ece_after == pytest.approx(stored.ece_after, abs=1e-4)


def test_a_model_whose_outputs_are_not_finite_cannot_be_calibrated(tiny_mnist: Mnist) -> None:
    # Issue 24, item 8: calibrate once fitted such a model, printed "NLL: nan -> nan" and wrote the file.
    model = small_model()
    with torch.no_grad():
        model.head[-1].bias[3] = float("nan")
    with pytest.raises(ValueError, match="not finite"):
        calibrate(model, tiny_mnist.test_images[:200], tiny_mnist.test_labels[:200])
