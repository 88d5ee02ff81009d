"""The Train tab's pen-data file: chosen, read off the GUI thread, shown, remembered, cleared, trained on.

Buttons are clicked with real mouse events; the file dialog is replaced as
the Train tab's tests replace the MNIST folder chooser. Runs use the small
synthetic data set (``tiny_mnist``) through the tab's injectable loader.
"""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path

import pytest
from helpers import find
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QFileDialog

from digitpad.data.mnist import Mnist
from digitpad.gui.state import preferences as prefs
from digitpad.gui.train import pen_choice
from digitpad.gui.train.tab import TrainTab
from digitpad.training.config import PEN_FILE_SHARE, TrainResult

RUN_TIMEOUT_MS = 120_000
READ_TIMEOUT_MS = 20_000
#: Strokes in tablet units, y down: a 1 (one bar), a 7 (a bar and a slant), a 0 (a square loop).
STROKES = {
    1: [[[50, 10], [50, 90]]],
    7: [[[20, 10], [80, 10], [40, 90]]],
    0: [[[30, 10], [70, 10], [70, 90], [30, 90], [30, 10]]],
}


def write_pen_file(path: Path, labels: list[int | str]) -> Path:
    """A pen-data file in UNIPEN's export format with one sample per label (letters get the 1's bar)."""
    samples = [
        {"label": label, "writer": f"w{i % 3}", "strokes": STROKES.get(label, STROKES[1])}
        for i, label in enumerate(labels)
    ]
    path.write_text(json.dumps({"samples": samples}), encoding="utf-8")
    return path


@pytest.fixture
def settings_path(tmp_path: Path) -> Path:
    return tmp_path / "settings.ini"


@pytest.fixture
def make_tab(qtbot, settings_path, mnist_dir):
    """Build a shown TrainTab on the INI file ``settings_path`` (a QSettings of its own each time, so that
    a second tab reads what the first one stored); every tab is shut down before it is destroyed. Start needs
    an MNIST folder, so these tests skip without $DIGITPAD_MNIST_DIR, as the Train tab's own do."""
    tabs: list[TrainTab] = []

    def make(**kwargs) -> TrainTab:
        tab = TrainTab(QSettings(str(settings_path), QSettings.Format.IniFormat), **kwargs)
        qtbot.addWidget(tab)
        tab.resize(1200, 760)
        tab.show()
        tabs.append(tab)
        return tab

    yield make
    for tab in tabs:
        tab.shutdown()
        assert not tab.is_busy() and not tab.session.pen_data.job.running()


def click(qtbot, button) -> None:
    assert button.isEnabled(), f"{button.objectName()} is disabled"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def answer_dialog(monkeypatch, *paths: Path) -> None:
    """The file dialog answers ``paths``, one per click of Pen data…"""
    answers = [str(path) for path in paths]
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *args, **kwargs: (answers.pop(0), ""))


def choose(qtbot, tab: TrainTab) -> None:
    """Click Pen data… and wait until the file has been read (or refused)."""
    click(qtbot, find(tab, "choosePenDataButton"))
    wait_until_read(qtbot, tab)


def wait_until_read(qtbot, tab: TrainTab) -> None:
    qtbot.waitUntil(lambda: not tab.session.pen_data.is_reading(), timeout=READ_TIMEOUT_MS)
    qtbot.waitUntil(lambda: not tab.session.pen_data.job.running(), timeout=READ_TIMEOUT_MS)


def tiny_loader(data: Mnist):
    return lambda folder: data


def stored(settings_path: Path) -> str:
    """The pen-data key as the INI file on disk has it ("" when absent)."""
    return prefs.read_str(QSettings(str(settings_path), QSettings.Format.IniFormat), prefs.TRAIN_PEN_DATA_KEY, "")


def test_a_chosen_file_is_read_in_the_background_shown_and_remembered(
    make_tab, qtbot, monkeypatch, tmp_path, settings_path
):
    pen_file = write_pen_file(tmp_path / "pen digits.json", [1, 7, 0, 1, 7])
    tab = make_tab()
    label = find(tab, "penDataLabel")
    assert label.text() == "MNIST alone (no pen data)"
    assert not find(tab, "clearPenDataButton").isEnabled()

    # The reader waits until the test has looked at the tab while it reads: the GUI thread answers meanwhile.
    release = threading.Event()
    reader_threads: list[threading.Thread] = []

    def held_load(path):
        reader_threads.append(threading.current_thread())
        release.wait(10)
        return load(path)

    load = pen_choice.load_pen_data
    monkeypatch.setattr(pen_choice, "load_pen_data", held_load)
    answer_dialog(monkeypatch, pen_file)
    click(qtbot, find(tab, "choosePenDataButton"))
    assert label.text() == "Reading pen digits.json…"
    assert not find(tab, "startTrainingButton").isEnabled()
    assert not find(tab, "choosePenDataButton").isEnabled()
    release.set()
    wait_until_read(qtbot, tab)
    assert reader_threads and reader_threads[0] is not threading.main_thread()

    assert label.text() == "Pen data: pen digits.json, 5\N{NO-BREAK SPACE}digits"
    assert label.toolTip() == str(pen_file)
    assert find(tab, "startTrainingButton").isEnabled()
    assert find(tab, "clearPenDataButton").isEnabled()
    assert not find(tab, "penDataErrorLabel").isVisible()
    assert stored(settings_path) == str(pen_file)

    # A new tab (as a new window builds) reads the remembered file again when it is shown.
    monkeypatch.setattr(pen_choice, "load_pen_data", load)
    again = make_tab()
    wait_until_read(qtbot, again)
    assert find(again, "penDataLabel").text() == label.text()
    assert again.session.pen_data.data is not None and len(again.session.pen_data.data.digits) == 5


def test_a_file_read_before_the_gui_thread_looks_again_still_ends_the_reading(make_tab, qtbot, monkeypatch, tmp_path):
    """A small file can be read before the GUI thread gets back from starting the reader (a loaded machine):
    the end of its thread must still be seen, or the tab says "Reading…" for ever and no run can start."""
    from PySide6.QtCore import QThread

    pen_file = write_pen_file(tmp_path / "small.json", [1, 7])
    tab = make_tab()
    started = QThread.start

    def start_then_stall(thread, *args):
        started(thread, *args)
        thread.wait(5000)  # as if the GUI thread lost the CPU until the reader had ended

    monkeypatch.setattr(QThread, "start", start_then_stall)
    answer_dialog(monkeypatch, pen_file)
    click(qtbot, find(tab, "choosePenDataButton"))
    monkeypatch.setattr(QThread, "start", started)
    wait_until_read(qtbot, tab)
    assert find(tab, "penDataLabel").text() == "Pen data: small.json, 2\N{NO-BREAK SPACE}digits"
    assert find(tab, "startTrainingButton").isEnabled()


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"{not json", "not JSON"),
        (b'{"pictures": []}', 'no list of "samples"'),
        (json.dumps({"samples": [{"label": 12, "strokes": STROKES[1]}]}).encode(), "sample 0: the label"),
        (None, "no digits"),  # letters only: nothing a run could learn digits from
    ],
)
def test_a_broken_or_foreign_file_says_why_in_one_line_and_keeps_the_choice(
    make_tab, qtbot, monkeypatch, tmp_path, settings_path, content, fragment
):
    good = write_pen_file(tmp_path / "good.json", [1, 7, 0])
    bad = tmp_path / "bad.json"
    if content is None:
        write_pen_file(bad, ["A", "x"])
    else:
        bad.write_bytes(content)
    tab = make_tab()
    answer_dialog(monkeypatch, good, bad)
    choose(qtbot, tab)
    shown = find(tab, "penDataLabel").text()
    assert "good.json" in shown

    choose(qtbot, tab)
    error = find(tab, "penDataErrorLabel")
    assert error.isVisible()
    assert fragment in error.text() and "bad.json" in error.text()
    assert "\n" not in error.text() and "Traceback" not in error.text()
    # Nothing changed: the previous file is still shown, used and remembered.
    assert find(tab, "penDataLabel").text() == shown
    assert tab.session.pen_data.data.name == "good.json"
    assert stored(settings_path) == str(good)
    assert find(tab, "clearPenDataButton").isEnabled() and find(tab, "startTrainingButton").isEnabled()


def test_clearing_returns_to_mnist_alone_and_is_remembered(make_tab, qtbot, monkeypatch, tmp_path, settings_path):
    pen_file = write_pen_file(tmp_path / "pen.json", [1, 7])
    tab = make_tab()
    answer_dialog(monkeypatch, pen_file)
    choose(qtbot, tab)
    assert stored(settings_path) == str(pen_file)

    click(qtbot, find(tab, "clearPenDataButton"))
    assert find(tab, "penDataLabel").text() == "MNIST alone (no pen data)"
    assert find(tab, "penDataLabel").toolTip() == ""
    assert not find(tab, "clearPenDataButton").isEnabled()
    assert tab.session.pen_data.data is None
    assert stored(settings_path) == ""

    again = make_tab()
    assert find(again, "penDataLabel").text() == "MNIST alone (no pen data)"
    assert not again.session.pen_data.is_reading()


def test_a_remembered_file_that_went_away_is_reported_and_forgotten(make_tab, qtbot, tmp_path, settings_path):
    gone = tmp_path / "gone.json"
    QSettings(str(settings_path), QSettings.Format.IniFormat).setValue(prefs.TRAIN_PEN_DATA_KEY, str(gone))
    tab = make_tab()
    wait_until_read(qtbot, tab)
    assert find(tab, "penDataLabel").text() == "MNIST alone (no pen data)"
    assert find(tab, "penDataErrorLabel").isVisible() and "gone.json" in find(tab, "penDataErrorLabel").text()
    assert stored(settings_path) == ""


def run_to_end(qtbot, tab: TrainTab) -> TrainResult:
    find(tab, "quickRunCheck").setChecked(False)
    find(tab, "epochsSpin").setValue(1)
    find(tab, "batchSizeSpin").setValue(64)
    with qtbot.waitSignal(tab.trainingFinished, timeout=RUN_TIMEOUT_MS) as blocker:
        click(qtbot, find(tab, "startTrainingButton"))
    result = blocker.args[0]
    assert isinstance(result, TrainResult) and not result.stopped
    assert tab.training_thread.isFinished()
    return result


def test_a_run_trains_on_the_chosen_file_and_records_it(make_tab, qtbot, monkeypatch, tmp_path, tiny_mnist):
    pen_file = write_pen_file(tmp_path / "pen.json", [1, 7, 0] * 4)
    tab = make_tab(data_loader=tiny_loader(tiny_mnist))
    answer_dialog(monkeypatch, pen_file)
    choose(qtbot, tab)
    result = run_to_end(qtbot, tab)

    sha256 = hashlib.sha256(pen_file.read_bytes()).hexdigest()
    assert result.info.data["pen_data"] == [{"name": "pen.json", "samples": 12, "sha256": sha256}]
    # The recipe gave pen digits no share: the file gets the default one, as `digitpad train --pen-data` gives it.
    assert result.info.recipe["pen_digits"] == PEN_FILE_SHARE
    # MNIST's images and the recipe's pen-style variants, and the twelve pen digits drawn afresh.
    assert result.info.data["train_images"] >= len(tiny_mnist.train_images) + round(PEN_FILE_SHARE * 12)
    assert str(tmp_path) not in json.dumps(result.info.data)
    assert "Data: MNIST and pen.json (12 pen digits)" in find(tab, "trainingLog").toPlainText()


def test_without_a_file_a_run_trains_on_mnist_alone_and_says_so(make_tab, qtbot, tiny_mnist):
    tab = make_tab(data_loader=tiny_loader(tiny_mnist))
    result = run_to_end(qtbot, tab)
    assert "pen_data" not in result.info.data and "pen_digits" not in result.info.recipe
    assert "Data: MNIST alone (no pen data)" in find(tab, "trainingLog").toPlainText()
