"""Prediction for one drawing: preprocessing + the model, fast at batch 1.

At batch 1 a small CNN costs a few hundred microseconds, most of it per-op
overhead and thread hand-offs rather than arithmetic. Three things keep it
small (measured on 2 CPU cores, batch 1, channels (32, 64, 128)):

- BatchNorm is folded into the convs (:func:`digitpad.model.network.fold_batch_norm`).
- The folded model is traced, frozen and optimised for inference by
  TorchScript: the convs run on oneDNN with weights pre-packed once, and one
  graph returns the logits together with every block's feature maps, so the
  live view with activations costs almost nothing extra. 0.35 -> 0.22 ms for
  (32, 64, 128). TorchScript is deprecated in recent torch, so any failure to
  build it, or any output that differs from the eager model by more than
  :data:`FAST_PATH_TOLERANCE`, falls back to the eager model.
- Batch-1 work runs on one intra-op thread (see :func:`use_one_thread_here`).

Every probability is softmax(logits / T), with the temperature T the
checkpoint carries (:mod:`digitpad.training.calibration`; 1 without one), so that the
top probability is the chance of being right; dividing ten numbers costs
nothing measurable.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from digitpad.base.constants import MNIST_SIZE, NOT_A_DIGIT, NUM_CLASSES
from digitpad.base.paths import shipped_weights_path
from digitpad.ink.preprocess import PreprocessResult, preprocess
from digitpad.model.checkpoint import CheckpointInfo, load_checkpoint
from digitpad.model.network import DigitNet, fold_batch_norm
from digitpad.model.temperature import softmax, stored_temperature
from digitpad.model.threads import use_one_thread_here, usual_threads

if TYPE_CHECKING:  # an adapter is only given, never made, here
    from digitpad.model.adapt import Adapter

logger = logging.getLogger(__name__)

#: Largest difference allowed between the fast path's outputs (logits and
#: feature maps) and the eager model's before the fast path is rejected.
FAST_PATH_TOLERANCE = 1e-4


@dataclass(frozen=True)
class Prediction:
    """What the window shows for one drawing."""

    #: The most likely digit (never "not a digit": see ``not_digit``).
    digit: int
    #: Its probability.
    confidence: float
    #: The ten digits' probabilities (calibrated: see :attr:`Predictor.temperature`), float32 (10,).
    #: With a "not a digit" class they sum to 1 - ``not_digit``.
    probabilities: np.ndarray
    #: Every preprocessing stage (the 28x28 input is ``stages.centred``).
    stages: PreprocessResult
    #: Per conv block, float32 (channels, height, width); None unless asked for.
    activations: tuple[np.ndarray, ...] | None = None
    #: The probability that this is no digit at all (0 for a model without that class).
    not_digit: float = 0.0
    #: The network's own ten probabilities, before adapting to the user's samples (:mod:`digitpad.model.adapt`),
    #: on the same scale as ``probabilities``; the very same array when the reading was not adapted.
    network_probabilities: np.ndarray | None = None
    #: The network's own "not a digit", before adapting (``not_digit`` when the reading was not adapted).
    network_not_digit: float = 0.0
    #: How many of the user's samples the reading adapted to (0: the network's reading as it is).
    adapted_to: int = 0


class _Outputs(nn.Module):
    """A flat tuple, which tracing needs: (logits, block1, block2, ...) with ``activations``, else (logits,), so
    that both paths hand back the same shape of result."""

    def __init__(self, model: DigitNet, activations: bool) -> None:
        super().__init__()
        self.model = model
        self.activations = activations

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        if not self.activations:
            return (self.model(x),)
        logits, activations = self.model.forward_with_activations(x)
        return (logits, *activations)


Forward = Callable[[torch.Tensor], tuple[torch.Tensor, ...]]


def _optimised(module: nn.Module, example: torch.Tensor) -> Forward:
    """``module`` traced, frozen and optimised for inference (oneDNN convs, pre-packed weights)."""
    with warnings.catch_warnings():
        # TorchScript's deprecation notice: the eager fallback covers its removal.
        warnings.simplefilter("ignore", DeprecationWarning)
        with torch.no_grad():
            traced = torch.jit.trace(module.eval(), example, check_trace=False)
            optimised = torch.jit.optimize_for_inference(traced)
            # The profiling executor specialises the graph over the first calls;
            # make them here rather than on the user's first stroke.
            for _ in range(3):
                optimised(example)
    return optimised


def _max_difference(a: tuple[torch.Tensor, ...], b: tuple[torch.Tensor, ...]) -> float:
    if len(a) != len(b) or any(x.shape != y.shape for x, y in zip(a, b, strict=True)):
        return float("inf")
    return max(float((x - y).abs().max()) for x, y in zip(a, b, strict=True))


def _build_fast_paths(model: DigitNet) -> tuple[Forward, Forward, bool]:
    """(logits-only forward, forward with activations, whether they are the optimised ones)."""
    eager_logits, eager_activations = _Outputs(model, False).eval(), _Outputs(model, True).eval()
    if os.environ.get("DIGITPAD_EAGER_INFERENCE"):
        return eager_logits, eager_activations, False
    example = torch.randn(1, 1, MNIST_SIZE, MNIST_SIZE, generator=torch.Generator().manual_seed(0))
    try:
        fast_logits = _optimised(_Outputs(model, False), example)
        fast_activations = _optimised(_Outputs(model, True), example)
        with torch.inference_mode():
            difference = max(
                _max_difference(fast_logits(example), eager_logits(example)),
                _max_difference(fast_activations(example), eager_activations(example)),
            )
    except Exception as error:  # any TorchScript failure: the eager model still works
        logger.warning("optimised inference unavailable, using the eager model: %s", error)
        return eager_logits, eager_activations, False
    if not difference <= FAST_PATH_TOLERANCE:
        logger.warning("optimised inference differs from the eager model by %g; using the eager model", difference)
        return eager_logits, eager_activations, False
    return fast_logits, fast_activations, True


class Predictor:
    """Wraps a trained model for inference on drawings (see the module's docstring).

    ``model`` (the attribute) is the plain eager model with BatchNorm folded,
    for export and evaluation; batch-1 predictions go through an optimised
    copy of it that gives the same outputs.
    """

    def __init__(self, model: DigitNet, info: CheckpointInfo | None = None, source: Path | None = None) -> None:
        self.model = fold_batch_norm(model.cpu())
        self.info = info
        self.source = source
        self.temperature = stored_temperature(info.metrics if info is not None else None)
        self._forward_logits, self._forward_activations, self.optimised = _build_fast_paths(self.model)
        #: A second predictor whose "not a digit" output judges every drawing this one reads, for a model
        #: without that output of its own (see :mod:`digitpad.model.gate`); None for none.
        self.gate: Predictor | None = None
        #: The user's samples that :meth:`predict` adapts its readings to (:mod:`digitpad.model.adapt`); None
        #: (or one with no samples, or disabled) reads with the network alone, exactly as without it.
        #: :meth:`predict_batch` never adapts.
        self.adapter: Adapter | None = None

    @classmethod
    def from_checkpoint(cls, path: str | os.PathLike | None = None) -> Predictor:
        """Load ``path``, or the shipped weights when None. Raises CheckpointError."""
        loaded = load_checkpoint(path if path is not None else shipped_weights_path())
        return cls(loaded.model, loaded.info, loaded.path)

    @property
    def block_names(self) -> list[str]:
        return self.model.block_names

    @torch.inference_mode()
    def predict_input(
        self, normalised: np.ndarray, with_activations: bool = False
    ) -> tuple[np.ndarray, tuple[np.ndarray, ...] | None]:
        """Probabilities (10,) and optional activations for one normalised 28x28 image."""
        use_one_thread_here()
        x = torch.from_numpy(np.ascontiguousarray(normalised, dtype=np.float32)).view(1, 1, MNIST_SIZE, MNIST_SIZE)
        if with_activations:
            logits, *activations = self._forward_activations(x)
            # Fresh tensors every call, so numpy views of them need no copy.
            maps = tuple(a[0].numpy() for a in activations)
        else:
            (logits,) = self._forward_logits(x)
            maps = None
        return softmax(logits[0].numpy(), self.temperature), maps

    def predict(
        self, canvas: np.ndarray, bbox: tuple[int, int, int, int] | None = None, with_activations: bool = False
    ) -> Prediction | None:
        """Predict the digit drawn on ``canvas`` (bright ink on dark); None if nothing is drawn.

        With an active :attr:`adapter`, the reading is adapted to the user's
        samples (the character's feature comes from the last block's map, so
        this runs the forward pass with activations).
        """
        stages = preprocess(canvas, bbox)
        if stages is None:
            return None
        adapter = self.adapter if self.adapter is not None and self.adapter.active else None
        probabilities, maps = self.predict_input(stages.normalised, with_activations or adapter is not None)
        digits = probabilities[:NUM_CLASSES]
        has_not_digit = len(probabilities) > NOT_A_DIGIT or self.gate is not None
        not_digit = float(probabilities[NOT_A_DIGIT]) if len(probabilities) > NOT_A_DIGIT else 0.0
        if self.gate is not None and len(probabilities) <= NOT_A_DIGIT:
            not_digit = float(self.gate.predict_input(stages.normalised)[0][NOT_A_DIGIT])
            digits = digits * np.float32(1.0 - not_digit)  # P(d) = P(a digit) x P(d | a digit)
        if not (np.isfinite(digits).all() and np.isfinite(not_digit)):
            # A network whose outputs are no numbers on this ink (a damaged gate or model) names no digit: "?".
            digits, not_digit, adapter = np.zeros(NUM_CLASSES, np.float32), 1.0, None
        network, network_not_digit = digits, not_digit
        if adapter is not None:
            classes = np.append(digits, np.float32(not_digit)) if has_not_digit else digits
            adapted = adapter.adapt_reading(self, classes, maps[-1])
            digits, not_digit = adapted[:NUM_CLASSES], float(adapted[NOT_A_DIGIT]) if has_not_digit else 0.0
        digit = int(digits.argmax())
        return Prediction(
            digit=digit,
            confidence=float(digits[digit]),
            probabilities=digits,
            stages=stages,
            activations=maps if with_activations else None,
            not_digit=not_digit,
            network_probabilities=network,
            network_not_digit=network_not_digit,
            adapted_to=adapter.count if adapter is not None else 0,
        )

    @torch.inference_mode()
    def logits_batch(self, normalised: np.ndarray, batch_size: int = 1000) -> np.ndarray:
        """Logits float32 (N, classes), before the temperature, for normalised images (N, 28, 28)."""
        outputs = []
        with usual_threads(len(normalised)):
            for start in range(0, len(normalised), batch_size):
                x = torch.from_numpy(np.ascontiguousarray(normalised[start : start + batch_size], dtype=np.float32))
                outputs.append(self.model(x.unsqueeze(1)).numpy())
        return np.concatenate(outputs) if outputs else np.zeros((0, self.model.config.num_classes), np.float32)

    def predict_batch(self, normalised: np.ndarray, batch_size: int = 1000) -> np.ndarray:
        """Probabilities float32 (N, classes) for normalised images (N, 28, 28): the ten digits, and
        "not a digit" last for a model that has it or a gate (then 11 columns, as :meth:`predict` combines them)."""
        # One switch to every core for both networks' batches (the gate's then finds it made).
        with usual_threads(len(normalised)):
            probabilities = softmax(self.logits_batch(normalised, batch_size), self.temperature)
            if self.gate is None or probabilities.shape[1] > NOT_A_DIGIT:
                return probabilities
            not_digit = self.gate.predict_batch(normalised, batch_size)[:, NOT_A_DIGIT : NOT_A_DIGIT + 1]
        combined = np.concatenate([probabilities * (1.0 - not_digit), not_digit], axis=1)
        broken = ~np.isfinite(combined).all(axis=1)
        combined[broken] = np.eye(NOT_A_DIGIT + 1, dtype=combined.dtype)[NOT_A_DIGIT]  # as predict: "?"
        return combined
