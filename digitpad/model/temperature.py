"""The temperature a checkpoint carries (see :mod:`digitpad.training.calibration`, which fits it) and the softmax
that applies it. Reading it needs no training code."""

from __future__ import annotations

import math

import numpy as np

#: The temperatures searched, and the only ones a checkpoint may carry: a
#: value outside is a broken file, not a model, and is ignored.
MIN_TEMPERATURE, MAX_TEMPERATURE = 0.05, 20.0
#: The key of :attr:`CheckpointInfo.metrics <digitpad.model.checkpoint.CheckpointInfo.metrics>` holding the calibration.
CALIBRATION_METRIC = "calibration"


def stored_temperature(metrics: object) -> float:
    """The temperature in a checkpoint's ``metrics``; 1.0 (none) if absent or not a sane number.

    Never raises: a checkpoint with a damaged calibration still predicts,
    only without it.
    """
    calibration = metrics.get(CALIBRATION_METRIC) if isinstance(metrics, dict) else None
    value = calibration.get("temperature") if isinstance(calibration, dict) else None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 1.0
    return float(value) if math.isfinite(value) and MIN_TEMPERATURE <= value <= MAX_TEMPERATURE else 1.0


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Softmax of ``logits / temperature`` along the last axis (one vector or rows of them).

    Computed in the logits' own float precision: the app's float32 logits stay
    float32 (in numpy, cheaper than a torch op at this size), and calibration
    passes float64. Integer logits are taken as float64.
    """
    logits = np.asarray(logits)
    if not np.issubdtype(logits.dtype, np.floating):
        logits = logits.astype(np.float64)
    exponentials = np.exp((logits - logits.max(axis=-1, keepdims=True)) / temperature)
    return exponentials / exponentials.sum(axis=-1, keepdims=True)
