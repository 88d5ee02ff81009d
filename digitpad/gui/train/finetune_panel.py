"""The Train tab's *Your handwriting* panel: fine-tune the model in use on the personal samples.

*Fine-tune with my samples* runs :func:`digitpad.training.finetune.finetune` in a
worker thread (:mod:`digitpad.gui.train.finetune_worker`); the pad stays live.
When it ends, the panel shows before and after side by side: the personal
digits left out of the training (cross-validated when there are few) and
MNIST's test set. *Use this model* puts the fine-tuned model in use; its
file (in the per-user weights folder) is remembered like a trained model's,
so it is still in use after a restart.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QThread, Signal, Slot
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from digitpad.gui.common.format import format_duration
from digitpad.gui.common.style import Palette, box, error_label, muted, show_text, titled_panel
from digitpad.gui.state.model_in_use import ModelInUse
from digitpad.gui.state.personal_samples import PersonalSamples
from digitpad.gui.train.finetune_worker import FinetuneWorker
from digitpad.gui.train.session import TrainingSession
from digitpad.ink.samples import sample_arrays, sample_strokes
from digitpad.model.inference import Predictor
from digitpad.training.finetune import FinetuneConfig, FinetuneProgress, FinetuneResult

PROGRESS_STEPS = 1000


def comparison_table(result: FinetuneResult) -> str:
    """Rich text: before and after side by side."""

    def cell(text: str, colour: str = "") -> str:
        style = f' style="color:{colour}"' if colour else ""
        return f'<td align="right"{style}>&nbsp;&nbsp;{text}</td>'

    better = (result.personal_after.accuracy or 0) >= (result.personal_before.accuracy or 0)
    after_colour = Palette.GOOD if better else Palette.ERROR
    mnist_colour = Palette.GOOD if result.mnist_after >= result.mnist_before - 0.001 else Palette.ERROR
    rows = [
        f"<tr><td></td>{cell('<b>before</b>')}{cell('<b>after</b>')}</tr>",
        f"<tr><td>Your digits*</td>{cell(result.personal_before.describe())}"
        f"{cell(result.personal_after.describe(), after_colour)}</tr>",
        f"<tr><td>MNIST test</td>{cell(f'{result.mnist_before:.2%}')}"
        f"{cell(f'{result.mnist_after:.2%}', mnist_colour)}</tr>",
    ]
    note = f"* left out of the training: {result.method}. Took {format_duration(result.seconds)}."
    return f"<table cellspacing='2'>{''.join(rows)}</table><div style='color:{Palette.MUTED_TEXT}'>{note}</div>"


class FinetunePanel(QFrame):
    """Fine-tuning controls, progress and the before/after figures (objectName ``finetunePanel``).

    Signals:
        useModel(Predictor): the fine-tuned model was put in use.
        finetuneFinished(object): the run's thread has ended: (FinetuneResult, path), or None
            (stopped or failed).
        message(str): a line for the log.
    """

    useModel = Signal(object)
    finetuneFinished = Signal(object)
    message = Signal(str)

    def __init__(
        self,
        session: TrainingSession,
        model_in_use: ModelInUse,
        samples: PersonalSamples | None = None,
        parent: QWidget | None = None,
    ) -> None:
        """``samples``: the window's personal samples (see :meth:`use_samples`); the per-user folder's if None."""
        super().__init__(parent, objectName="finetunePanel")
        self.session, self.model_in_use = session, model_in_use
        self.samples = samples if samples is not None else PersonalSamples(parent=self)
        #: The recipe; tests make it tiny.
        self.config = FinetuneConfig()
        self.thread: QThread | None = None
        self.outcome: tuple[FinetuneResult, Path] | None = None
        self._build()
        self.samples.changed.connect(self.update_state)
        session.busyChanged.connect(self.update_state)
        model_in_use.changed.connect(self.update_state)
        self.update_state()

    def use_samples(self, samples: PersonalSamples) -> None:
        """Fine-tune on ``samples`` (the window's, shared with the teach buttons) from now on."""
        self.samples.changed.disconnect(self.update_state)
        self.samples = samples
        samples.changed.connect(self.update_state)
        self.update_state()

    def _build(self) -> None:
        _, layout = titled_panel("Your handwriting", self)
        self.samples_label = muted(QLabel(objectName="finetuneSamplesLabel", wordWrap=True))
        self.start_button = QPushButton("Fine-tune with my samples", objectName="finetuneButton")
        self.start_button.clicked.connect(self.start)
        self.stop_button = QPushButton("Stop", objectName="stopFinetuneButton")
        self.stop_button.clicked.connect(self.stop)
        buttons = box(QHBoxLayout(), (self.start_button, 2), (self.stop_button, 1))
        self.progress = QProgressBar(objectName="finetuneProgress")
        self.progress.setRange(0, PROGRESS_STEPS)
        self.progress.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.progress.setFormat("Idle")
        self.result_label = QLabel(objectName="finetuneResult", textFormat=Qt.TextFormat.RichText, wordWrap=True)
        self.result_label.hide()
        self.use_button = QPushButton("Use this model", objectName="useFinetunedButton")
        self.use_button.clicked.connect(self.use_model)
        self.use_button.hide()
        self.error = error_label("finetuneErrorLabel")
        box(layout, self.samples_label, buttons, self.progress, self.result_label, self.use_button, self.error)

    def is_running(self) -> bool:
        return self.session.is_finetuning()

    def _blocker(self) -> str:
        """Why fine-tuning cannot start now ("" if it can)."""
        if self.samples.is_loading():
            return "Your samples are still loading."
        if not sum(self.samples.counts()):
            return "Teach a few digits first: draw one and press its button under the pad (3 of each is a good start)."
        if self.model_in_use.predictor is None or self.model_in_use.source is None:
            return "No model in use from a file: open weights or use a trained model first."
        if not self.session.data_ready():
            return (
                "MNIST is needed (mixed in so that the model does not forget): download it or choose its folder above."
            )
        if self.session.is_busy() and not self.is_running():
            return "Wait for the training run or the download to end."
        return ""

    def update_state(self) -> None:
        counts = self.samples.counts()
        total = sum(counts)
        by_digit = " ".join(f"{d}:{n}" for d, n in enumerate(counts))
        self.samples_label.setText(
            f"{total} personal samples ({by_digit}). Fine-tuning teaches the model in use your hand, "
            "keeping MNIST in the mix so that it does not forget."
            if total
            else "Loading your personal samples…"
            if self.samples.is_loading()
            else "No personal samples yet. " + self._blocker()
        )
        blocker = self._blocker()
        running = self.is_running()
        self.start_button.setEnabled(not blocker and not running)
        self.start_button.setToolTip(blocker or "Fine-tune the model in use on your samples (seconds)")
        self.stop_button.setEnabled(running)

    def start(self) -> bool:
        """Start fine-tuning in a worker thread; False (and a reason shown) if it cannot start now."""
        blocker = self._blocker()
        if blocker or self.is_running():
            show_text(self.error, blocker)
            return False
        samples = self.samples.samples
        images, labels = sample_arrays(samples)
        worker = FinetuneWorker(
            self.model_in_use.source,
            images,
            labels,
            sample_strokes(samples),
            self.session.data_dir,
            self.session.mnist_loader(),
            self.config,
        )
        worker.message.connect(self.message)
        worker.progress.connect(self._on_progress)
        worker.finished.connect(self._on_finished)
        worker.failed.connect(self._on_failed)
        thread = self.session.start_finetune(worker, on_finished=[self._on_thread_finished])
        if thread is None:
            return False
        self.outcome, self.thread = None, thread
        show_text(self.error, "")
        self.result_label.hide()
        self.use_button.hide()
        self.progress.setValue(0)
        self.progress.setFormat("Loading MNIST…")
        self.update_state()
        return True

    def stop(self) -> None:
        if self.is_running():
            self.session.stop_finetune()
            self.progress.setFormat("Stopping…")

    @Slot(object)
    def _on_progress(self, event: FinetuneProgress) -> None:
        # No ETA until the routine has timed enough of the work for one to mean something.
        eta = "" if event.eta_seconds is None else f" · ETA {format_duration(event.eta_seconds)}"
        self.progress.setFormat(f"{event.stage[:1].upper()}{event.stage[1:]} · {event.fraction_done:.0%}{eta}")
        # The label first: whoever watches the bar move reads the stage it moved in.
        self.progress.setValue(round(PROGRESS_STEPS * event.fraction_done))

    @Slot(object)
    def _on_finished(self, outcome: tuple | None) -> None:
        self.outcome = outcome
        if outcome is None:
            self.progress.setFormat("Stopped: the model in use is unchanged")
            return
        result, _ = outcome
        self.progress.setValue(PROGRESS_STEPS)
        self.progress.setFormat(f"Done in {format_duration(result.seconds)}")
        self.result_label.setText(comparison_table(result))
        self.result_label.show()
        self.use_button.show()
        self.use_button.setEnabled(True)

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self.progress.setFormat("Failed")
        show_text(self.error, f"Fine-tuning failed: {message}")
        self.message.emit(f"Fine-tuning failed: {message}")

    @Slot()
    def _on_thread_finished(self) -> None:
        self.update_state()
        self.finetuneFinished.emit(self.outcome)

    def use_model(self) -> Predictor | None:
        """Put the fine-tuned model in use (its file is remembered as the weights last used)."""
        if self.outcome is None:
            return None
        result, path = self.outcome
        predictor = Predictor(result.model, result.info, path)
        self.model_in_use.set(predictor)
        self.use_button.setEnabled(False)
        self.message.emit(f"Now drawing with the fine-tuned model ({path.name})")
        self.useModel.emit(predictor)
        return predictor
