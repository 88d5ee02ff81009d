"""Prediction for one drawing: preprocessing + the model, fast at batch 1."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from digitpad.checkpoint import CheckpointInfo, load_checkpoint
from digitpad.constants import MNIST_SIZE
from digitpad.model import DigitNet, fold_batch_norm
from digitpad.paths import shipped_weights_path
from digitpad.preprocess import PreprocessResult, preprocess


@dataclass(frozen=True)
class Prediction:
    """What the window shows for one drawing."""

    digit: int
    confidence: float
    #: Softmax over the ten digits, float32 (10,).
    probabilities: np.ndarray
    #: Every preprocessing stage (the 28x28 input is ``stages.centred``).
    stages: PreprocessResult
    #: Per conv block, float32 (channels, height, width); None unless asked for.
    activations: tuple[np.ndarray, ...] | None = None


class Predictor:
    """Wraps a trained model for inference on drawings.

    BatchNorm is folded into the convs and autograd is off; at batch 1 the
    cost is per-op overhead, so fewer ops is what makes it fast.
    """

    def __init__(self, model: DigitNet, info: CheckpointInfo | None = None, source: Path | None = None) -> None:
        self.model = fold_batch_norm(model.cpu())
        self.info = info
        self.source = source

    @classmethod
    def from_checkpoint(cls, path: str | os.PathLike | None = None) -> Predictor:
        """Load ``path``, or the shipped weights when None. Raises CheckpointError."""
        loaded = load_checkpoint(path if path is not None else shipped_weights_path())
        return cls(loaded.model, loaded.info, loaded.path)

    @property
    def block_names(self) -> list[str]:
        return self.model.block_names

    @torch.inference_mode()
    def predict_input(self, normalised: np.ndarray, with_activations: bool = False):
        """Probabilities (10,) and optional activations for one normalised 28x28 image."""
        x = torch.from_numpy(np.ascontiguousarray(normalised, dtype=np.float32)).view(1, 1, MNIST_SIZE, MNIST_SIZE)
        if with_activations:
            logits, activations = self.model.forward_with_activations(x)
            maps = tuple(a[0].numpy().copy() for a in activations)
        else:
            logits, maps = self.model(x), None
        probabilities = torch.softmax(logits[0], 0).numpy().astype(np.float32, copy=True)
        return probabilities, maps

    def predict(
        self,
        canvas: np.ndarray,
        bbox: tuple[int, int, int, int] | None = None,
        with_activations: bool = False,
    ) -> Prediction | None:
        """Predict the digit drawn on ``canvas`` (bright ink on dark); None if nothing is drawn."""
        stages = preprocess(canvas, bbox)
        if stages is None:
            return None
        probabilities, maps = self.predict_input(stages.normalised, with_activations)
        digit = int(probabilities.argmax())
        return Prediction(
            digit=digit,
            confidence=float(probabilities[digit]),
            probabilities=probabilities,
            stages=stages,
            activations=maps,
        )

    @torch.inference_mode()
    def predict_batch(self, normalised: np.ndarray, batch_size: int = 1000) -> np.ndarray:
        """Probabilities (N, 10) for normalised images (N, 28, 28)."""
        outputs = []
        for start in range(0, len(normalised), batch_size):
            x = torch.from_numpy(np.ascontiguousarray(normalised[start : start + batch_size], dtype=np.float32))
            outputs.append(torch.softmax(self.model(x.unsqueeze(1)), 1).numpy())
        return np.concatenate(outputs) if outputs else np.zeros((0, 10), np.float32)
