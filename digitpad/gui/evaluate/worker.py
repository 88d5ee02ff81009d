"""The evaluation's worker: loads the test set (or takes the images given) and runs
digitpad.model.evaluation.evaluate_images off the GUI thread.

On the user's own samples with ``adapt``, each sample is read as the Draw tab
would read it, adapted to the user's other samples (leave-one-out: a sample
must not vote for itself, :meth:`digitpad.model.adapt.Adapter.read_samples`);
the network's own accuracy on them comes with it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import Signal, Slot

from digitpad.data.mnist import DataError, Mnist, load_mnist
from digitpad.gui.common.workers import StoppableWorker, heavy_work

if TYPE_CHECKING:
    from digitpad.model.evaluation import Evaluation
    from digitpad.model.inference import Predictor


@dataclass(frozen=True)
class LabelledImages:
    """A labelled set to evaluate on, already in memory (the user's samples, taken on the GUI thread)."""

    #: (N, 28, 28) as :func:`digitpad.model.evaluation.evaluate_images` takes them (uint8 MNIST-style here).
    images: np.ndarray
    labels: np.ndarray
    #: How the summary names it, e.g. "your 3 personal samples".
    name: str


@dataclass(frozen=True)
class EvaluationOutcome:
    """What the view shows: the evaluation, the mistakes' images, and what was evaluated on what."""

    evaluation: Evaluation
    #: uint8 or float (len(evaluation.mistakes), 28, 28), in the order of ``evaluation.mistakes``.
    mistake_images: np.ndarray
    model_name: str
    set_name: str
    #: The network's own accuracy when ``evaluation`` is of readings adapted to the other samples; None if not.
    network_accuracy: float | None = None


class EvaluationWorker(StoppableWorker):
    """Builds the predictor if needed, loads MNIST's test set (unless ``given`` a set) and evaluates,
    reporting progress."""

    #: (images done, total).
    progress = Signal(int, int)
    #: EvaluationOutcome, or None if stopped.
    finished = Signal(object)
    #: A one-line reason.
    failed = Signal(str)

    def __init__(
        self,
        predictor: Callable[[], Predictor],
        model_name: str,
        data_dir: Path,
        data_loader: Callable[[Path], Mnist] | None = None,
        *,
        given: LabelledImages | None = None,
        adapt: bool = False,
    ) -> None:
        super().__init__()
        self._predictor = predictor
        self.model_name = model_name
        self.data_dir = data_dir
        self._load = data_loader or load_mnist
        self._given = given
        self._adapt = adapt and given is not None

    def _labelled_images(self) -> LabelledImages:
        if self._given is not None:
            return self._given
        self.message.emit(f"Loading MNIST's test set from {self.data_dir}")
        data = self._load(self.data_dir)
        name = f"the MNIST test set ({len(data.test_labels):,} digits)"
        return LabelledImages(data.test_images, data.test_labels, name)

    @Slot()
    def run(self) -> None:
        from digitpad.model.evaluation import evaluate_images

        with heavy_work("evaluation", self.failed, reported=(DataError,)):
            data = self._labelled_images()
            predictor = self._predictor()
            if self._adapt:
                self._evaluate_adapted(predictor, data)
                return
            evaluation = evaluate_images(
                predictor, data.images, data.labels, progress=self.progress.emit, should_stop=self.stop_requested
            )
            if evaluation is None:
                self.finished.emit(None)
                return
            images = data.images[[mistake.index for mistake in evaluation.mistakes]]
            self.finished.emit(EvaluationOutcome(evaluation, images, self.model_name, data.name))

    def _evaluate_adapted(self, predictor: Predictor, data: LabelledImages) -> None:
        from digitpad.model.adapt import Adapter
        from digitpad.model.evaluation import evaluate_probabilities

        total = len(data.labels)
        self.progress.emit(0, total)
        # An adapter of its own: the Draw tab's may take other samples meanwhile, and its lock is the GUI's.
        adapter = Adapter()
        adapter.set_samples(data.images, data.labels)
        adapter.prepare(predictor)
        network, adapted = adapter.read_samples()
        if self.stop_requested():
            self.finished.emit(None)
            return
        self.progress.emit(total, total)
        evaluation = evaluate_probabilities(adapted, data.labels)
        network_accuracy = evaluate_probabilities(network, data.labels, worst=0).accuracy
        images = data.images[[mistake.index for mistake in evaluation.mistakes]]
        self.finished.emit(EvaluationOutcome(evaluation, images, self.model_name, data.name, network_accuracy))
