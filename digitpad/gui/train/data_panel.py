"""The Train tab's Data panel: where MNIST is, whether it is usable, Download and Choose folder; the pen data."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import QFileDialog, QFrame, QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from digitpad.gui.common.style import (
    Palette,
    box,
    elide_long_words,
    error_label,
    muted,
    show_text,
    status_dot,
    titled_panel,
)
from digitpad.gui.train.pen_choice import PenDataStatus
from digitpad.gui.train.session import DataStatus, TrainingSession
from digitpad.gui.train.workers import DownloadProgress

#: What the pen-data file dialog lists first: the JSON exports, gzipped or not.
PEN_DATA_FILTER = "Pen data (*.json *.json.gz *.gz);;All files (*)"


class DataPanel(QFrame):
    """Shows the session's data folder and its state; downloads MNIST or takes another folder; takes or
    clears the optional file of real pen digits that runs add to MNIST."""

    def __init__(self, session: TrainingSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        _, layout = titled_panel("Data", self)
        self.status_label = QLabel(objectName="dataStatusLabel", textFormat=Qt.TextFormat.RichText)
        self.folder_label = muted(QLabel(objectName="dataFolderLabel", wordWrap=True))
        self.folder_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.choose_button = QPushButton("Choose folder…", objectName="chooseDataButton")
        self.choose_button.setToolTip("A folder with MNIST's four IDX files (raw or .gz)")
        self.download_button = QPushButton("Download MNIST", objectName="downloadButton")
        self.download_button.setToolTip("Fetch MNIST (about 11 MB) into the per-user folder")
        self.download_progress = QProgressBar(objectName="downloadProgress", textVisible=True)
        self.download_progress.setRange(0, 1000)
        self.cancel_button = QPushButton("Cancel", objectName="cancelDownloadButton")
        self.error_label = error_label("dataErrorLabel")
        self.download_row = QWidget()
        box(QHBoxLayout(self.download_row), (self.download_progress, 1), self.cancel_button, margins=0)
        self.download_row.setVisible(False)
        buttons = box(QHBoxLayout(), self.choose_button, self.download_button)
        pen_buttons = self._pen_data_widgets()
        box(layout, self.status_label, self.folder_label, self.pen_label, buttons, pen_buttons)
        box(layout, self.download_row, self.error_label, self.pen_error_label)
        self._connect()
        self.show_status(session.data_status())
        self.show_pen_data(session.pen_data.status())

    def _pen_data_widgets(self) -> QHBoxLayout:
        """The line under the folder's (the pen-data file in use, or MNIST alone), its error line, and the row
        of Pen data… and Clear, under MNIST's buttons."""
        self.pen_label = muted(QLabel(objectName="penDataLabel", wordWrap=True))
        self.pen_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.choose_pen_button = QPushButton("Pen data…", objectName="choosePenDataButton")
        self.choose_pen_button.setToolTip(
            "Optional: a file of real pen digits (UNIPEN's JSON export) that runs train on beside MNIST"
        )
        self.clear_pen_button = QPushButton("Clear pen data", objectName="clearPenDataButton")
        self.clear_pen_button.setToolTip("Train on MNIST alone")
        self.pen_error_label = error_label("penDataErrorLabel")
        return box(QHBoxLayout(), self.choose_pen_button, self.clear_pen_button)

    def _connect(self) -> None:
        session = self.session
        self.choose_button.clicked.connect(self.choose_folder)
        self.download_button.clicked.connect(self.start_download)
        self.cancel_button.clicked.connect(self.cancel_download)
        self.choose_pen_button.clicked.connect(self.choose_pen_data)
        self.clear_pen_button.clicked.connect(session.pen_data.clear)
        session.pen_data.changed.connect(self.show_pen_data)
        session.pen_data.problem.connect(lambda text: show_text(self.pen_error_label, text))
        session.dataStatusChanged.connect(self.show_status)
        session.dataProblem.connect(lambda text: show_text(self.error_label, text))
        session.downloadProgress.connect(self._on_download_progress)
        session.downloadFailed.connect(lambda text: show_text(self.error_label, f"Download failed: {text}"))
        session.busyChanged.connect(self._on_busy_changed)

    @Slot(object)
    def show_status(self, status: DataStatus) -> None:
        colour = Palette.GOOD if status.ready else Palette.UNSURE
        self.status_label.setText(status_dot(colour, status.text))
        self.folder_label.setText(elide_long_words(str(status.folder), 44))
        self.folder_label.setToolTip(str(status.folder))

    @Slot()
    def choose_folder(self) -> None:
        folder = self.session.data_dir
        start = folder if folder.is_dir() else Path.home()
        chosen = QFileDialog.getExistingDirectory(self, "Folder with the MNIST files", str(start))
        if chosen:
            self.session.set_data_dir(Path(chosen), preload=self.isVisible())

    @Slot(object)
    def show_pen_data(self, status: PenDataStatus) -> None:
        self.pen_label.setText(elide_long_words(status.text, 44))
        self.pen_label.setToolTip(status.path)
        self._enable_pen_buttons()

    @Slot()
    def choose_pen_data(self) -> None:
        """Ask for a pen-data file; it is read in the background and replaces the one in use only if usable."""
        current = self.session.pen_data.status().path
        start = str(Path(current).parent) if current else str(Path.home())
        chosen, _ = QFileDialog.getOpenFileName(self, "A file of real pen digits", start, PEN_DATA_FILTER)
        if chosen:
            self.session.pen_data.choose(Path(chosen))

    def _enable_pen_buttons(self) -> None:
        # No change of file during a run (it has its data already) or while one is being read.
        status = self.session.pen_data.status()
        free = not self.session.is_busy() and not status.reading
        self.choose_pen_button.setEnabled(free)
        self.clear_pen_button.setEnabled(free and status.chosen)

    @Slot()
    def start_download(self) -> None:
        show_text(self.error_label, "")
        if self.session.download():
            self.download_progress.setValue(0)
            self.download_progress.setFormat("Connecting…")
            self.download_row.setVisible(True)
            self.cancel_button.setEnabled(True)

    @Slot()
    def cancel_download(self) -> None:
        if self.session.cancel_download():
            self.cancel_button.setEnabled(False)
            self.download_progress.setFormat("Cancelling…")

    @Slot(object)
    def _on_download_progress(self, event: DownloadProgress) -> None:
        megabytes = event.done_bytes / 1e6
        if event.total_bytes:
            self.download_progress.setValue(int(1000 * event.done_bytes / event.total_bytes))
            self.download_progress.setFormat(f"{event.file_name}: {megabytes:.1f} / {event.total_bytes / 1e6:.1f} MB")
        else:
            self.download_progress.setValue(0)
            self.download_progress.setFormat(f"{event.file_name}: {megabytes:.1f} MB")

    @Slot(bool)
    def _on_busy_changed(self, busy: bool) -> None:
        if not self.session.is_downloading():
            self.download_row.setVisible(False)
        for button in (self.choose_button, self.download_button):
            button.setEnabled(not busy)
        self._enable_pen_buttons()
