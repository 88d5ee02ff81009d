"""The personal samples off the GUI thread (issue 24, items 11 and 17), through real Qt events: the window is
there before its samples are read, teaching meanwhile loses nothing, an import runs in a worker with progress and
Cancel, and closing the window during a load or an import stops it and leaves no thread."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from helpers import pad_of
from PySide6.QtCore import QThread
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QFileDialog, QLabel, QProgressDialog, QPushButton, QToolButton, QWidget
from test_samples_bounds import a_sample

import digitpad.ink.samples as samples_module
from digitpad.gui import MainWindow
from digitpad.gui.testing import draw_mouse_stroke, line
from digitpad.ink.samples import SampleStore


def text_of(parent, name: str) -> str:
    return parent.findChild(QLabel, name).text()


def click(qtbot, widget) -> None:
    from PySide6.QtCore import Qt

    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)


def write_samples(folder: Path, count: int, first_digit: int = 0) -> SampleStore:
    store = SampleStore(folder)
    for index in range(count):
        store.add(a_sample((first_digit + index) % 10, shift=index, created=1_700_000_000 + index))
    return store


@pytest.fixture
def slow_reads(monkeypatch) -> threading.Event:
    """Every sample file read waits until the event is set (at most 10 s): the test sees what happens meanwhile."""
    release = threading.Event()
    read_sample = samples_module.read_sample

    def waiting(path: Path):
        release.wait(10)
        return read_sample(path)

    monkeypatch.setattr(samples_module, "read_sample", waiting)
    yield release
    release.set()


def no_thread_left(owner) -> bool:
    return all(thread.isFinished() for thread in owner.findChildren(QThread))


@pytest.fixture
def new_window(qtbot):
    """Makes MainWindows; after the test, each is closed and none has a thread left."""
    windows: list[MainWindow] = []

    def make() -> MainWindow:
        window = MainWindow()
        qtbot.addWidget(window)
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.close()
        assert no_thread_left(window.personal_samples)


def test_the_window_comes_before_its_samples_and_a_sample_taught_meanwhile_is_kept(
    new_window, qtbot, slow_reads
) -> None:
    write_samples(SampleStore().folder, 3, first_digit=7)  # a 7, an 8 and a 9
    window = new_window()  # back before the reads, each held until the test releases them
    samples = window.personal_samples
    assert samples.is_loading() and samples.samples == []
    assert text_of(window, "teachCount7") == "…"
    dialog = window.show_samples()
    assert text_of(dialog, "samplesSummary") == "Loading your samples…"
    assert not dialog.findChild(QPushButton, "importSamplesButton").isEnabled()
    assert not dialog.findChild(QPushButton, "exportSamplesButton").isEnabled()
    # Fine-tuning waits for them too, and says so rather than "no samples".
    assert not window.findChild(QPushButton, "finetuneButton").isEnabled()
    assert text_of(window, "finetuneSamplesLabel") == "Loading your personal samples…"

    # Teach a 1 while they load: written at once, and kept with them.
    window.resize(1240, 860)
    window.show()
    qtbot.waitExposed(window)
    pad = pad_of(window)
    draw_mouse_stroke(pad, line((pad.width() * 0.5, pad.height() * 0.2), (pad.width() * 0.5, pad.height() * 0.8)))
    QApplication.processEvents()
    click(qtbot, window.findChild(QPushButton, "teachButton1"))
    assert "Taught a 1 (your samples are loading)" == text_of(window, "teachStatus")
    slow_reads.set()
    qtbot.waitUntil(lambda: not samples.is_loading())
    assert [text_of(window, f"teachCount{digit}") for digit in (1, 7, 8, 9, 2)] == ["1", "1", "1", "1", "0"]
    assert sorted(sample.label for sample in samples.samples) == [1, 7, 8, 9]
    assert text_of(window, "finetuneSamplesLabel").startswith("4 personal samples")
    assert len(dialog.findChildren(QToolButton, "sampleThumbnail")) == 4
    assert text_of(dialog, "samplesSummary").startswith("4 samples of your handwriting")
    assert dialog.findChild(QPushButton, "importSamplesButton").isEnabled()
    qtbot.waitUntil(lambda: no_thread_left(samples))


def test_closing_the_window_while_its_samples_load_stops_the_reading(new_window, monkeypatch) -> None:
    write_samples(SampleStore().folder, 30)
    read_sample = samples_module.read_sample
    reads = []

    def slow(path: Path):
        reads.append(path)
        time.sleep(0.05)
        return read_sample(path)

    monkeypatch.setattr(samples_module, "read_sample", slow)
    window = new_window()
    window.close()  # waits for the loader, which stops before its next file
    assert no_thread_left(window.personal_samples) and len(reads) < 30


@pytest.fixture
def import_source(tmp_path: Path, monkeypatch) -> Path:
    """A folder of 12 samples to import (one of them twice, under another name), chosen in the folder dialog."""
    store = write_samples(tmp_path / "to-import", 11)
    (store.folder / "again.json").write_bytes(store.samples[0].path.read_bytes())
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *args, **kwargs: str(store.folder))
    return store.folder


def open_samples_dialog(window, qtbot):
    qtbot.waitUntil(lambda: not window.personal_samples.is_loading())
    dialog = window.show_samples()
    qtbot.waitExposed(dialog)
    return dialog


def test_an_import_runs_in_a_worker_with_progress_and_cancel_keeps_what_was_added(
    new_window, qtbot, import_source: Path, monkeypatch
) -> None:
    window = new_window()
    samples = window.personal_samples
    dialog = open_samples_dialog(window, qtbot)
    button = dialog.findChild(QPushButton, "importSamplesButton")
    with qtbot.waitSignal(samples.importFinished, timeout=20_000) as finished:
        click(qtbot, button)
        assert samples.is_importing() and not button.isEnabled()
        assert dialog.findChild(QProgressDialog, "importProgress").isVisible()
    result = finished.args[0]
    assert len(result.added) == 11 and result.duplicates == 1
    assert text_of(dialog, "samplesSummary").startswith(f"Imported 11 samples from {import_source}.")
    assert "1 already here, not added twice" in text_of(dialog, "samplesSummary")
    assert len(dialog.findChildren(QToolButton, "sampleThumbnail")) == 11 and button.isEnabled()
    qtbot.waitUntil(lambda: no_thread_left(samples))

    # Again, with 12 more; the worker waits in its fourth file until the Cancel button is clicked.
    write_samples(import_source, 12, first_digit=5)
    release, reads = threading.Event(), []
    read_sample = samples_module.read_sample

    def held(path: Path):
        reads.append(path)
        if len(reads) == 4:
            release.wait(10)
        return read_sample(path)

    monkeypatch.setattr(samples_module, "read_sample", held)
    progressed = []
    samples.importProgress.connect(lambda done, total: progressed.append((done, total)))
    with qtbot.waitSignal(samples.importFinished, timeout=20_000) as finished:
        click(qtbot, button)
        progress = dialog.findChild(QProgressDialog, "importProgress")
        qtbot.waitUntil(lambda: progress.value() >= 1 and len(reads) == 4)
        assert progressed[0] == (1, 24) and progress.maximum() == 24
        click(qtbot, progress.findChild(QPushButton))
        assert "Cancelling" in text_of(dialog, "samplesSummary")
        release.set()
    result = finished.args[0]
    assert result.stopped and result.done == 4 and len(reads) == 4
    summary = text_of(dialog, "samplesSummary")
    assert summary.startswith("Import cancelled after 4 of 24 files") and "added so far are kept" in summary
    assert len(samples.samples) == 11 + len(result.added) == len(list(SampleStore().folder.glob("*.json")))
    assert dialog.findChild(QProgressDialog, "importProgress") is None or not progress.isVisible()
    qtbot.waitUntil(lambda: no_thread_left(samples))


def test_closing_the_window_during_an_import_stops_it_and_waits(new_window, qtbot, import_source, monkeypatch) -> None:
    window = new_window()
    samples = window.personal_samples
    dialog = open_samples_dialog(window, qtbot)
    read_sample = samples_module.read_sample
    reads = []

    def slow(path: Path):
        reads.append(path)
        time.sleep(0.1)
        return read_sample(path)

    monkeypatch.setattr(samples_module, "read_sample", slow)
    click(qtbot, dialog.findChild(QPushButton, "importSamplesButton"))
    qtbot.waitUntil(lambda: len(reads) >= 2)
    window.close()
    assert no_thread_left(samples) and len(reads) < 12
    # What was added before the stop is on disk, whole; nothing else.
    kept = SampleStore()
    assert len(kept.load()) == len(list(kept.folder.glob("*.json"))) < 12 and kept.warnings == []
    QTest.qWait(50)  # the worker's last signal, queued, finds the store still there


def test_my_samples_builds_many_thumbnails_a_batch_per_pass_of_the_event_loop(new_window, qtbot, monkeypatch) -> None:
    import digitpad.gui.window.samples_dialog as dialog_module

    monkeypatch.setattr(dialog_module, "THUMBNAILS_PER_PASS", 3)
    write_samples(SampleStore().folder, 8)
    window = new_window()
    dialog = open_samples_dialog(window, qtbot)
    # The first batch at once, the rest from the event loop: the window repaints in between.
    assert len(dialog.findChildren(QToolButton, "sampleThumbnail")) == 3 and dialog.is_filling()
    qtbot.waitUntil(lambda: not dialog.is_filling())
    thumbnails = dialog.findChildren(QToolButton, "sampleThumbnail")
    assert sorted(thumbnail.sample.label for thumbnail in thumbnails) == list(range(8))
    assert all(dialog.findChild(QWidget, f"sampleRow{t.sample.label}").isAncestorOf(t) for t in thumbnails)
