"""The Train tab's run controls: Start, Stop, the progress bar and the line under it."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from digitpad.gui.common.format import format_duration
from digitpad.gui.common.style import box, error_label, muted, scaled_font, show_text
from digitpad.training.config import BatchProgress

#: The progress bar counts in tenths of a percent.
PROGRESS_STEPS = 1000


class RunControls(QWidget):
    """Buttons and progress of a run; the Train tab wires the buttons and feeds the progress."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.start_button = QPushButton("Start training", objectName="startTrainingButton", default=True)
        self.start_button.setMinimumHeight(34)
        self.start_button.setFont(scaled_font(self.start_button, 1.0, bold=True))
        self.stop_button = QPushButton("Stop", objectName="stopTrainingButton", minimumHeight=34)
        self.stop_button.setToolTip("Stop after the current batch; the partial model stays usable")
        self.progress = QProgressBar(objectName="trainingProgress")
        self.progress.setRange(0, PROGRESS_STEPS)
        self.progress.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.status_label = muted(QLabel(objectName="trainingStatusLabel"))
        self.error_label = error_label("trainingErrorLabel")
        buttons = box(QHBoxLayout(), (self.start_button, 2), (self.stop_button, 1))
        box(QVBoxLayout(self), buttons, self.progress, self.status_label, self.error_label, margins=(0, 4, 0, 4))
        self.show_state("Idle", 0)

    def show_state(self, text: str, fraction: float | None = None) -> None:
        """``text`` in the progress bar, which is set to ``fraction`` unless None."""
        if fraction is not None:
            self.progress.setValue(round(PROGRESS_STEPS * fraction))
        self.progress.setFormat(text)

    def fraction_done(self) -> float:
        return self.progress.value() / PROGRESS_STEPS

    def show_started(self) -> None:
        self.show_state("Loading data…", 0)
        self.status_label.setText("")
        show_text(self.error_label, "")

    def show_progress(self, event: BatchProgress, loss: float, accuracy: float) -> None:
        """The run's share done and ETA; the recent (smoothed) training loss and accuracy."""
        fraction = event.fraction_done
        self.show_state(
            f"Epoch {event.epoch}/{event.epochs} · {fraction:.0%} · ETA {format_duration(event.eta_seconds)}", fraction
        )
        self.status_label.setText(
            f"training loss {loss:.3f} · accuracy {accuracy:.1%} · {event.images_per_second:,.0f} images/s"
        )

    def show_warning(self, message: str) -> None:
        """A problem that does not stop the run (a failed autosave), shown where run errors are."""
        show_text(self.error_label, message)

    def show_failed(self, message: str) -> None:
        show_text(self.error_label, message)
        self.show_state("Failed")

    def set_buttons(self, *, can_start: bool, can_stop: bool, start_tip: str) -> None:
        self.start_button.setEnabled(can_start)
        self.start_button.setToolTip(start_tip)
        self.stop_button.setEnabled(can_stop)
