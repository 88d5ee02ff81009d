"""TODO: split from calibration."""

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
    value = float(value)
    if not (math.isfinite(value) and MIN_TEMPERATURE <= value <= MAX_TEMPERATURE):
        return 1.0
    return value


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Row-wise softmax of ``logits / temperature``, float64."""
    scaled = np.asarray(logits, dtype=np.float64) / temperature
    scaled -= scaled.max(axis=-1, keepdims=True)
    exponentials = np.exp(scaled)
    return exponentials / exponentials.sum(axis=-1, keepdims=True)
