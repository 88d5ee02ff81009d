"""The fine-tuning worker: loads MNIST and the model in use, runs :func:`digitpad.training.finetune.finetune`, saves.

A worker as the training one (:mod:`digitpad.gui.common.workers`), at a lower priority so that the pad stays live.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal, Slot

from digitpad.base.paths import user_weights_dir
from digitpad.data.mnist import DataError
from digitpad.gui.common.workers import ProgressThrottle, StoppableWorker, heavy_work
from digitpad.gui.train.workers import DataLoader
from digitpad.ink.strokes import Stroke
from digitpad.model.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from digitpad.training.finetune import FinetuneConfig, FinetuneProgress, finetune


def fine_tuned_path() -> Path:
    """A new file in the per-user weights folder: one per run, so a run never overwrites the model in use."""
    return user_weights_dir() / time.strftime("fine-tuned-%Y%m%d-%H%M%S.safetensors")


class FinetuneWorker(StoppableWorker):
    """Fine-tunes the weights in ``weights`` on personal ``images``/``labels`` (drawn with ``strokes``) with MNIST
    from ``data_dir``.

    Signals: ``progress(FinetuneProgress)`` (throttled), ``finished(object)``: (FinetuneResult, saved path),
    or None when stopped; ``failed(str)``: one line.
    """

    progress = Signal(object)
    finished = Signal(object)
    failed = Signal(str)

    def __init__(
        self,
        weights: Path,
        images: np.ndarray,
        labels: np.ndarray,
        strokes: list[list[Stroke]],
        data_dir: Path,
        data_loader: DataLoader,
        config: FinetuneConfig,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.weights, self.images, self.labels, self.strokes = weights, images, labels, strokes
        self.data_dir, self._load, self.config = data_dir, data_loader, config
        self._throttle = ProgressThrottle()
        self._stage = ""

    @Slot()
    def run(self) -> None:
        with heavy_work("fine-tuning", self.failed, reported=(DataError, CheckpointError)):
            self.finished.emit(self._work())

    def _work(self) -> tuple | None:
        self.message.emit(f"Fine-tuning {self.weights.name} on {len(self.labels)} samples; loading MNIST")
        data = self._load(self.data_dir)
        base = load_checkpoint(self.weights)
        if self.stop_requested():
            return None
        result = finetune(
            base.model,
            self.images,
            self.labels,
            data,
            self.config,
            base_info=base.info,
            strokes=self.strokes,
            progress=self._report,
            should_stop=self.stop_requested,
        )
        if result is None:
            return None
        path = save_checkpoint(fine_tuned_path(), result.model, result.info)
        self.message.emit(f"Fine-tuned in {result.seconds:.1f} s; saved to {path}")
        return result, path

    def _report(self, event: FinetuneProgress) -> None:
        # Every new stage and the end get through, so that the bar's label never names a stage that is over.
        new_stage, self._stage = event.stage != self._stage, event.stage
        if self._throttle.ready(force=new_stage or event.fraction_done >= 1.0):
            self.progress.emit(event)
