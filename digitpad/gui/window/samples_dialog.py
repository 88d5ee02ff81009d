"""*My samples*: the personal samples as thumbnails grouped by digit; delete, relabel, export, import.

A non-modal dialog (objectName ``samplesDialog``): one row per digit with
its count and a thumbnail of every sample (the 28x28 input the model
learns from, dark ink on paper). Click thumbnails to select them, then
*Delete* or *Relabel as* another digit; *Export…* copies every sample file
into a folder, *Import…* adds the samples of a folder (a sample already
here is not added twice, broken files are skipped and named). The import
runs in a worker thread with a progress dialog (objectName
``importProgress``) whose *Cancel* stops it between two files, keeping the
samples added so far. While the samples load, the dialog says so and its
buttons wait.
"""

from __future__ import annotations

import time

import numpy as np
from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressDialog,
    QPushButton,
    QScrollArea,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from digitpad.base.constants import NUM_CLASSES
from digitpad.gui.common.image_io import array_image
from digitpad.gui.common.style import box, error_label, muted, section_title, show_text
from digitpad.gui.state.personal_samples import PersonalSamples
from digitpad.ink.samples import ImportResult, PersonalSample

#: Thumbnails show the 28x28 input at this zoom.
THUMBNAIL_ZOOM = 2
#: Thumbnails built per pass of the event loop (about 0.1 s of work): the first ones show at once, and
#: thousands of samples fill in without blocking the window.
THUMBNAILS_PER_PASS = 200


def thumbnail_icon(image: np.ndarray, zoom: int = THUMBNAIL_ZOOM) -> QIcon:
    """The model's input as dark ink on white paper, ``zoom`` times larger."""
    return QIcon(QPixmap.fromImage(array_image(255 - np.repeat(np.repeat(image, zoom, 0), zoom, 1))))


class SampleThumbnail(QToolButton):
    """One sample; checked when selected."""

    def __init__(self, sample: PersonalSample, parent: QWidget | None = None) -> None:
        super().__init__(parent, objectName="sampleThumbnail", checkable=True)
        self.sample = sample
        self.setIcon(thumbnail_icon(sample.image))
        self.setIconSize(QSize(28 * THUMBNAIL_ZOOM, 28 * THUMBNAIL_ZOOM))
        self.setAutoRaise(True)
        created = time.localtime(sample.created)
        taught = time.strftime("%Y-%m-%d %H:%M", created) if sample.created else "at an unknown time"
        self.setToolTip(f"A {sample.label}, taught {taught}. Click to select.")


class SamplesDialog(QDialog):
    """The *My samples* window (see the module docstring)."""

    def __init__(self, samples: PersonalSamples, parent: QWidget | None = None) -> None:
        super().__init__(parent, objectName="samplesDialog")
        self.setWindowTitle("My samples")
        self.samples = samples
        self.thumbnails: list[SampleThumbnail] = []
        #: Thumbnails still to build: (the row's layout, the sample), in order.
        self._pending: list[tuple[QHBoxLayout, PersonalSample]] = []
        self._fill_timer = QTimer(self, singleShot=True, interval=0)
        self._fill_timer.timeout.connect(self._fill)
        #: The progress of the import running (None: none).
        self.import_progress: QProgressDialog | None = None
        # Word-wrapped: a long folder path must not widen the window.
        self.summary = muted(QLabel(objectName="samplesSummary", wordWrap=True))
        self.rows = QWidget(objectName="sampleRows")
        self.rows_layout = box(QVBoxLayout(self.rows), spacing=2)
        scroll = QScrollArea()
        scroll.setWidget(self.rows)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.problem = error_label("samplesProblem")
        box(QVBoxLayout(self), self.summary, (scroll, 1), self.problem, self._build_buttons())
        samples.changed.connect(self.refresh)
        samples.problem.connect(lambda text: show_text(self.problem, text))
        samples.importProgress.connect(self._show_import_progress)
        samples.importFinished.connect(self._import_finished)
        self.resize(720, 780)
        self.refresh()
        show_text(self.problem, samples.skipped())

    def _build_buttons(self) -> QHBoxLayout:
        self.delete_button = QPushButton("Delete", objectName="deleteSamplesButton")
        self.delete_button.clicked.connect(self.delete_selected)
        self.relabel_combo = QComboBox(objectName="relabelCombo")
        self.relabel_combo.addItems([str(digit) for digit in range(NUM_CLASSES)])
        self.relabel_button = QPushButton("Relabel as", objectName="relabelButton")
        self.relabel_button.clicked.connect(self.relabel_selected)
        self.export_button = QPushButton("Export…", objectName="exportSamplesButton")
        self.export_button.clicked.connect(self._choose_export_folder)
        self.import_button = QPushButton("Import…", objectName="importSamplesButton")
        self.import_button.clicked.connect(self._choose_import_folder)
        close = QPushButton("Close", objectName="closeSamplesButton")
        close.clicked.connect(self.close)
        selection = (self.delete_button, self.relabel_button, self.relabel_combo)
        return box(QHBoxLayout(), *selection, None, self.export_button, self.import_button, close)

    def refresh(self) -> None:
        """Rebuild the rows from the samples (selection is lost: the samples may have moved rows)."""
        while self.rows_layout.count():
            item = self.rows_layout.takeAt(0)
            widget = item.widget()
            if widget is not None:
                # Out of the tree at once (findChildren, painting), deleted once the event loop gets to it.
                widget.setParent(None)
                widget.deleteLater()
        self.thumbnails, self._pending = [], []
        counts = self.samples.counts()
        samples = self.samples.samples
        for digit in range(NUM_CLASSES):
            self.rows_layout.addWidget(self._row(digit, [s for s in samples if s.label == digit]))
        self.rows_layout.addStretch(1)
        self._fill()
        total = sum(counts)
        self.summary.setText(
            "Loading your samples…"
            if self.samples.is_loading()
            else f"{total} samples of your handwriting, in {self.samples.store.folder}. "
            "Teach more with the buttons under the pad; fine-tune on them in the Train tab."
            if total
            else "No samples yet: draw a digit and press its teach button under the pad (or its key)."
        )
        self._update_buttons()

    def _row(self, digit: int, members: list[PersonalSample]) -> QWidget:
        row = QWidget(objectName=f"sampleRow{digit}")
        title = section_title(str(digit))
        title.setFixedWidth(24)
        count = muted(QLabel(f"{len(members)}"))
        count.setFixedWidth(28)
        layout = box(QHBoxLayout(row), title, count, margins=0)
        self._pending += [(layout, sample) for sample in members]
        if not members:
            layout.addWidget(muted(QLabel("none yet")))
        layout.addStretch(1)
        row.setMinimumHeight(28 * THUMBNAIL_ZOOM + 10)
        return row

    def _fill(self) -> None:
        """Build the next THUMBNAILS_PER_PASS thumbnails (each before its row's stretch); the rest in a later pass."""
        batch, self._pending = self._pending[:THUMBNAILS_PER_PASS], self._pending[THUMBNAILS_PER_PASS:]
        for layout, sample in batch:
            thumbnail = SampleThumbnail(sample)
            thumbnail.toggled.connect(self._update_buttons)
            layout.insertWidget(layout.count() - 1, thumbnail)
            self.thumbnails.append(thumbnail)
        if self._pending:
            self._fill_timer.start()

    def is_filling(self) -> bool:
        """True while thumbnails are still being built (a few thousand samples take a moment)."""
        return bool(self._pending)

    def selected(self) -> list[PersonalSample]:
        return [thumbnail.sample for thumbnail in self.thumbnails if thumbnail.isChecked()]

    def _update_buttons(self) -> None:
        chosen = bool(self.selected())
        self.delete_button.setEnabled(chosen)
        self.relabel_button.setEnabled(chosen)
        self.export_button.setEnabled(bool(self.samples.samples))
        self.import_button.setEnabled(not self.samples.is_loading() and not self.samples.is_importing())

    def delete_selected(self) -> None:
        chosen = self.selected()
        if chosen and self.samples.delete(chosen):
            show_text(self.problem, "")

    def relabel_selected(self) -> None:
        chosen = self.selected()
        if chosen and self.samples.relabel(chosen, self.relabel_combo.currentIndex()):
            show_text(self.problem, "")

    def _choose_export_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export samples to folder")
        if folder:
            copied = self.samples.export_to(folder)
            if copied is not None:
                self.summary.setText(f"Exported {copied} samples to {folder}.")

    def _choose_import_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Import samples from folder")
        if folder:
            self.start_import(folder)

    def start_import(self, folder: str) -> bool:
        """Import the samples of ``folder`` in a worker thread, showing its progress with a Cancel button."""
        if not self.samples.start_import(folder):
            return False
        self.import_progress = QProgressDialog(
            f"Importing samples from {folder}…", "Cancel", 0, 0, self, objectName="importProgress"
        )
        self.import_progress.setWindowTitle("Importing samples")
        # Not modal: the pad and this window stay usable while it runs.
        self.import_progress.setWindowModality(Qt.WindowModality.NonModal)
        self.import_progress.setMinimumDuration(0)
        self.import_progress.setAutoClose(False)
        self.import_progress.setAutoReset(False)
        self.import_progress.canceled.connect(self._cancel_import)
        self.import_progress.show()
        self.summary.setText(f"Importing samples from {folder}…")
        self._update_buttons()
        return True

    def _show_import_progress(self, done: int, total: int) -> None:
        progress = self.import_progress
        if progress is not None and not progress.wasCanceled():
            progress.setMaximum(total)
            progress.setValue(done)
            progress.setLabelText(f"Importing samples: {done:,} of {total:,} files…")

    def _cancel_import(self) -> None:
        self.samples.cancel_import()
        self.summary.setText("Cancelling the import (the samples added so far are kept)…")

    def _import_finished(self, result: ImportResult | None) -> None:
        if self.import_progress is not None:
            self.import_progress.hide()
            # Out of the tree at once (findChild), deleted once the event loop gets to it.
            self.import_progress.setParent(None)
            self.import_progress.deleteLater()
            self.import_progress = None
        if result is not None:
            self.summary.setText(result.message())
        self._update_buttons()
