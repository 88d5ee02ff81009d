"""Calibrated confidence: one temperature that makes the softmax's top probability honest.

A network trained with label smoothing (as the shipped one is) is less sure
than it is right, one trained without it often more: either way its top
probability is not the chance that it is right, and the app's "?" (shown
when no digit is at least 50% likely) needs that chance. Temperature scaling
(Guo et al. 2017) divides the logits by one number T fitted on held-out
images; it changes no argmax, so no accuracy, only how sure the model says it is.

The temperature lives in the checkpoint's metadata as
``metrics["calibration"]`` (:meth:`Calibration.to_dict`), with where it was
fitted and what it did there; :func:`stored_temperature` reads it back.
Held-out data: the shipped model saw all 60,000 training images, so the fit
uses half of MNIST's test set and the figures come from the other half.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np
import torch

from digitpad.model.network import DigitNet
from digitpad.model.temperature import MAX_TEMPERATURE, MIN_TEMPERATURE, softmax
from digitpad.model.tensors import images_to_tensor, normalise_batch

#: The search stops when the bracket on log T is this narrow (T to ~1e-7 relative).
_LOG_TOLERANCE = 1e-7
_GOLDEN = (math.sqrt(5) - 1) / 2

#: Decimals kept in the checkpoint; the figures after are computed with the rounded value.
TEMPERATURE_DECIMALS = 4


@dataclass(frozen=True)
class Calibration:
    """A fitted temperature and what it did, as stored in a checkpoint's metrics."""

    temperature: float
    #: Which images the temperature was fitted on and which the figures come from.
    fitted_on: str
    #: Mean negative log-likelihood on the check images without and with the temperature.
    nll_before: float
    nll_after: float
    #: Expected calibration error (15 bins) on the check images without and with it.
    ece_before: float
    ece_after: float

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Calibration:
        """Raises ValueError for a missing or ill-typed field; ignores unknown ones (a newer digitpad's)."""
        values: dict[str, Any] = {}
        for field in fields(cls):
            if field.name not in data:
                raise ValueError(f"calibration: missing {field.name!r}")
            value = data[field.name]
            if field.name == "fitted_on":
                if not isinstance(value, str):
                    raise ValueError(f"calibration: fitted_on must be text, got {value!r}")
            elif isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"calibration: {field.name} must be a number, got {value!r}")
            else:
                value = float(value)
            values[field.name] = value
        return cls(**values)


# --- the maths ---------------------------------------------------------------


def _check(logits: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    logits = np.asarray(logits, dtype=np.float64)
    labels = np.asarray(labels).astype(np.int64, copy=False)
    if logits.ndim != 2 or labels.shape != (len(logits),) or len(logits) == 0:
        raise ValueError(f"need logits (N, classes) and labels (N,) with N > 0, got {logits.shape} and {labels.shape}")
    if labels.min() < 0 or labels.max() >= logits.shape[1]:
        raise ValueError(f"labels must lie in 0..{logits.shape[1] - 1}")
    return logits, labels


def negative_log_likelihood(logits: np.ndarray, labels: np.ndarray, temperature: float = 1.0) -> float:
    """Mean of -log softmax(logits / temperature)[label]."""
    logits, labels = _check(logits, labels)
    scaled = logits / temperature
    top = scaled.max(axis=1, keepdims=True)
    log_norm = top[:, 0] + np.log(np.exp(scaled - top).sum(axis=1))
    return float(np.mean(log_norm - scaled[np.arange(len(labels)), labels]))


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The T in [MIN_TEMPERATURE, MAX_TEMPERATURE] minimising the mean NLL of softmax(logits / T).

    Golden-section search on log T: the NLL is convex in 1/T (log-sum-exp of
    a linear function, minus a linear term), so it has a single minimum along
    log T and the search cannot be led astray; no gradients, no start value,
    the same answer every time. An optimum beyond the range gives its end.
    """
    logits, labels = _check(logits, labels)

    def loss(log_t: float) -> float:
        return negative_log_likelihood(logits, labels, math.exp(log_t))

    low, high = math.log(MIN_TEMPERATURE), math.log(MAX_TEMPERATURE)
    left, right = high - _GOLDEN * (high - low), low + _GOLDEN * (high - low)
    loss_left, loss_right = loss(left), loss(right)
    while high - low > _LOG_TOLERANCE:
        if loss_left <= loss_right:
            high, right, loss_right = right, left, loss_left
            left = high - _GOLDEN * (high - low)
            loss_left = loss(left)
        else:
            low, left, loss_left = left, right, loss_right
            right = low + _GOLDEN * (high - low)
            loss_right = loss(right)
    return math.exp((low + high) / 2)


def expected_calibration_error(probabilities: np.ndarray, labels: np.ndarray, bins: int = 15) -> float:
    """Top-label ECE: the images binned by their top probability into ``bins`` equal-width bins
    over (0, 1], the mean over images of |accuracy - mean top probability| of their bin."""
    probabilities, labels = _check(probabilities, labels)
    if bins < 1:
        raise ValueError(f"bins must be at least 1, got {bins}")
    confidence = probabilities.max(axis=1)
    correct = (probabilities.argmax(axis=1) == labels).astype(np.float64)
    # Bin b holds confidences in (b / bins, (b + 1) / bins]; the first also holds 0.
    index = np.clip(np.ceil(confidence * bins).astype(np.int64) - 1, 0, bins - 1)
    count = np.bincount(index, minlength=bins)
    gap = np.bincount(index, weights=correct, minlength=bins) - np.bincount(index, weights=confidence, minlength=bins)
    # sum over bins of |acc_b - conf_b| * n_b / N, with acc_b * n_b the bin's correct count.
    return float(np.abs(gap[count > 0]).sum() / len(labels))


# --- on a model --------------------------------------------------------------


@torch.inference_mode()
def model_logits(model: DigitNet, images: np.ndarray, batch_size: int = 1000) -> np.ndarray:
    """Logits float32 (N, 10) of uint8 MNIST-style images (N, 28, 28), through the training code's
    own conversion and normalisation, so they are the logits the test accuracy was measured on."""
    model.eval()
    device = next(model.parameters()).device
    outputs = [
        model(normalise_batch(images_to_tensor(images[start : start + batch_size], device))).float().cpu().numpy()
        for start in range(0, len(images), batch_size)
    ]
    return np.concatenate(outputs) if outputs else np.zeros((0, 10), np.float32)


def calibrate(
    model: DigitNet, images: np.ndarray, labels: np.ndarray, fit_count: int | None = None, name: str = "MNIST test"
) -> Calibration:
    """Fit a temperature on ``images[:fit_count]`` (default: the first half) and measure it on the rest.

    ``name`` says what the images are, for :attr:`Calibration.fitted_on`,
    e.g. "MNIST test 0-4999; checked on 5000-9999". Raises ValueError if
    either part would be empty.
    """
    total = len(images)
    fit_count = total // 2 if fit_count is None else fit_count
    if not 0 < fit_count < total or len(labels) != total:
        raise ValueError(f"need images to fit on and others to check on; got {total} images, fitting on {fit_count}")
    logits = model_logits(model, images)
    if not np.isfinite(logits).all():
        raise ValueError("the model's outputs are not finite numbers (NaN or infinity): it cannot be calibrated")
    labels = np.asarray(labels).astype(np.int64)
    temperature = round(fit_temperature(logits[:fit_count], labels[:fit_count]), TEMPERATURE_DECIMALS)
    check_logits, check_labels = logits[fit_count:].astype(np.float64), labels[fit_count:]
    return Calibration(
        temperature=temperature,
        fitted_on=f"{name} 0-{fit_count - 1}; checked on {fit_count}-{total - 1}",
        nll_before=negative_log_likelihood(check_logits, check_labels),
        nll_after=negative_log_likelihood(check_logits, check_labels, temperature),
        ece_before=expected_calibration_error(softmax(check_logits), check_labels),
        ece_after=expected_calibration_error(softmax(check_logits, temperature), check_labels),
    )
