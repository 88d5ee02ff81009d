"""The Train tab's Data panel: where MNIST is, whether it is usable, Download and Choose folder."""

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
from digitpad.gui.train.session import DataStatus, TrainingSession
from digitpad.gui.train.workers import DownloadProgress


class DataPanel(QFrame):
    """Shows the session's data folder and its state; downloads MNIST or takes another folder."""

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
        box(layout, self.status_label, self.folder_label, buttons, self.download_row, self.error_label)
        self._connect()
        self.show_status(session.data_status())

    def _connect(self) -> None:
        session = self.session
        self.choose_button.clicked.connect(self.choose_folder)
        self.download_button.clicked.connect(self.start_download)
        self.cancel_button.clicked.connect(self.cancel_download)
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
