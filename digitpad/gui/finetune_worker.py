"""The fine-tuning worker: loads MNIST and the model in use, runs :func:`digitpad.finetune.finetune`, saves.

Like the training worker (:mod:`digitpad.gui.workers`): a QObject moved to
its own QThread, talking to the GUI only through signals, stopped through a
flag, at a lower priority so that the pad stays live.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QThread, Signal, Slot

from digitpad.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from digitpad.data import DataError
from digitpad.finetune import FinetuneConfig, FinetuneProgress, finetune
from digitpad.gui.workers import (
    TRAINING_NICENESS,
    TRAINING_SWITCH_INTERVAL_S,
    DataLoader,
    ProgressThrottle,
    StoppableWorker,
    lower_thread_priority,
)
from digitpad.paths import user_weights_dir

log = logging.getLogger(__name__)


def fine_tuned_path() -> Path:
    """A new file in the per-user weights folder: one per run, so a run never overwrites the model in use."""
    return user_weights_dir() / time.strftime("fine-tuned-%Y%m%d-%H%M%S.safetensors")


class FinetuneWorker(StoppableWorker):
    """Fine-tunes the weights in ``weights`` on personal ``images``/``labels`` with MNIST from ``data_dir``.

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
        data_dir: Path,
        data_loader: DataLoader,
        config: FinetuneConfig,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.weights, self.images, self.labels = weights, images, labels
        self.data_dir, self._load, self.config = data_dir, data_loader, config
        self._throttle = ProgressThrottle()

    @Slot()
    def run(self) -> None:
        lower_thread_priority(TRAINING_NICENESS)
        previous_switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(min(previous_switch_interval, TRAINING_SWITCH_INTERVAL_S))
        try:
            self.finished.emit(self._work())
        except (DataError, CheckpointError) as error:
            self.failed.emit(str(error))
        except (ValueError, RuntimeError, OSError) as error:
            log.exception("fine-tuning failed")
            self.failed.emit(f"{type(error).__name__}: {error}")
        except Exception as error:
            log.exception("fine-tuning failed unexpectedly")
            self.failed.emit(f"unexpected {type(error).__name__}: {error}")
        finally:
            sys.setswitchinterval(previous_switch_interval)
            QThread.currentThread().quit()

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
            progress=self._report,
            should_stop=self.stop_requested,
        )
        if result is None:
            return None
        path = save_checkpoint(fine_tuned_path(), result.model, result.info)
        self.message.emit(f"Fine-tuned in {result.seconds:.1f} s; saved to {path}")
        return result, path

    def _report(self, event: FinetuneProgress) -> None:
        if self._throttle.ready(force=event.done == event.total):
            self.progress.emit(event)
