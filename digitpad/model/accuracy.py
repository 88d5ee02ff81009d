"""How good a model is, as its checkpoint records it, and how two models compare (Qt-free).

The Train tab puts a new model beside the one in use before the user swaps
it in, so that retraining never quietly makes the app worse.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: Metric a checkpoint may carry: accuracy on pen-drawn digits through the pad
#: (bench/drawn_digits.py, mouse), measured where such drawings are at hand.
DRAWN_DIGITS_METRIC = "drawn_digits_accuracy"
#: Differences smaller than this (5 of MNIST's 10,000 test digits) are what
#: another seed of the same recipe changes: the two models are "about as good".
SAME_WITHIN = 0.0005


@dataclass(frozen=True)
class ModelFigures:
    """A model's recorded accuracies (None where not known)."""

    mnist_accuracy: float | None = None
    #: How many MNIST test images the accuracy was measured on.
    test_images: int | None = None
    drawn_accuracy: float | None = None

    @classmethod
    def from_info(cls, info: Any) -> ModelFigures:
        """From a :class:`digitpad.model.checkpoint.CheckpointInfo` (or None); odd values count as unknown."""
        metrics = getattr(info, "metrics", None)
        data = getattr(info, "data", None)
        metrics = metrics if isinstance(metrics, dict) else {}
        data = data if isinstance(data, dict) else {}
        test_images = data.get("test_images")
        return cls(
            mnist_accuracy=_fraction(metrics.get("test_accuracy")),
            test_images=test_images if isinstance(test_images, int) and not isinstance(test_images, bool) else None,
            drawn_accuracy=_fraction(metrics.get(DRAWN_DIGITS_METRIC)),
        )

    def describe(self) -> str:
        """ "MNIST 99.64% · drawn digits 98.6%"."""
        parts = []
        if self.mnist_accuracy is not None:
            subset = f" (on {self.test_images:,} test images)" if self.test_images and self.test_images < 10_000 else ""
            parts.append(f"MNIST {self.mnist_accuracy:.2%}{subset}")
        else:
            parts.append("MNIST accuracy unknown")
        if self.drawn_accuracy is not None:
            parts.append(f"drawn digits {self.drawn_accuracy:.1%}")
        return " · ".join(parts)


@dataclass(frozen=True)
class Comparison:
    """The verdict on a new model against the one in use."""

    #: "better", "same", "worse" or "unknown" (a figure is missing).
    verdict: str
    #: One sentence for the user.
    summary: str

    @property
    def worse(self) -> bool:
        return self.verdict == "worse"


def compare(new: ModelFigures, in_use: ModelFigures | None) -> Comparison:
    """Compare on MNIST's test accuracy, the one figure every checkpoint has (drawn digits are measured
    only where pen drawings are at hand: :func:`describe_beside` says when one side lacks them)."""
    if in_use is None or new.mnist_accuracy is None or in_use.mnist_accuracy is None:
        return Comparison("unknown", "No figures to compare with the model in use.")
    difference = new.mnist_accuracy - in_use.mnist_accuracy
    points = f"{abs(difference) * 100:.2f} points"
    if difference < -SAME_WITHIN:
        return Comparison("worse", f"Worse than the model in use: {points} lower on MNIST.")
    if difference > SAME_WITHIN:
        return Comparison("better", f"Better than the model in use: {points} higher on MNIST.")
    return Comparison("same", "About as good as the model in use on MNIST.")


def describe_beside(new: ModelFigures, in_use: ModelFigures | None) -> str:
    """The new model's figures, saying so where the model in use has a figure the new one lacks."""
    text = new.describe()
    if in_use is not None and in_use.drawn_accuracy is not None and new.drawn_accuracy is None:
        text += " · drawn digits not measured"
    return text


def _fraction(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    value = float(value)
    return value if 0.0 <= value <= 1.0 else None
