"""File > Save drawing, Open drawing and Replay: drawings as JSON files, redrawn at their recorded pace.

The files are :mod:`digitpad.ink.drawings`' JSON, the same as the personal
samples' and what ``digitpad predict FILE.json`` reads. *Open drawing*
fits the drawing to the pad as it is now (a file saved on a larger pad
opens whole). *Replay* clears the pad and draws the drawing again stroke by
stroke at the pace it was drawn, as real tablet events with its pressures
(the eraser's strokes with the eraser end), so the pad and the prediction
follow it as they followed the hand.
"""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMainWindow, QWidget

from digitpad.base.paths import user_home
from digitpad.gui.common.tablet import send_tablet_event
from digitpad.ink.drawings import Drawing, DrawingError, check_can_open, load_drawing, save_drawing

#: Pace of strokes recorded without timing (points per second, pause between strokes).
UNTIMED_POINT_SECONDS = 0.01
UNTIMED_PAUSE_SECONDS = 0.2
#: A pause between strokes longer than this is shortened to it on replay.
LONGEST_PAUSE_SECONDS = 1.5
#: How often the replay timer wakes up (ms): finer than a screen frame.
REPLAY_TICK_MS = 8
FILE_FILTER = "digitpad drawings (*.json)"


def drawings_dir() -> Path:
    return user_home() / "drawings"


def replay_schedule(drawing: Drawing) -> list[tuple[float, QEvent.Type, tuple[float, float], float, bool]]:
    """(seconds from the start, event type, point, pressure, eraser) for every point, in drawing order."""
    events = []
    clock = 0.0
    previous_end: float | None = None
    for stroke in drawing.strokes:
        count = len(stroke.points)
        if not count:
            continue
        timed = len(stroke.times) == count
        times = list(stroke.times) if timed else [UNTIMED_POINT_SECONDS * k for k in range(count)]
        if previous_end is not None:
            gap = times[0] - previous_end if timed else UNTIMED_PAUSE_SECONDS
            clock += min(max(gap, 0.0), LONGEST_PAUSE_SECONDS)
        start = clock
        pressures = stroke.point_pressures()
        for index, (point, pressure) in enumerate(zip(stroke.points, pressures, strict=True)):
            kind = QEvent.Type.TabletPress if index == 0 else QEvent.Type.TabletMove
            events.append((start + times[index] - times[0], kind, point, pressure, stroke.erase))
        clock = start + times[-1] - times[0]
        events.append((clock, QEvent.Type.TabletRelease, stroke.points[-1], pressures[-1], stroke.erase))
        previous_end = times[-1] if timed else None
    return events


class Replayer(QObject):
    """Sends a drawing's points to the pad on a timer. Signals: ``finished()``."""

    finished = Signal()

    def __init__(self, pad: QWidget, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.pad = pad
        self._events: list = []
        self._next = 0
        self._started = 0.0
        self._timer = QTimer(self, interval=REPLAY_TICK_MS)
        self._timer.timeout.connect(self._tick)

    def is_running(self) -> bool:
        return self._timer.isActive()

    def start(self, drawing: Drawing) -> bool:
        """Clear the pad and redraw ``drawing`` (pad coordinates); False if it has no points."""
        self.stop()
        self._events = replay_schedule(drawing)
        if not self._events:
            return False
        self.pad.clear()
        self._next, self._started = 0, time.perf_counter()
        self._timer.start()
        self._tick()
        return True

    def stop(self) -> None:
        if self._timer.isActive():
            self._timer.stop()
            # Lift the pen where it is, so that no stroke is left half-drawn.
            while self._next < len(self._events) and self._events[self._next - 1][1] != QEvent.Type.TabletRelease:
                self._send(self._events[self._next])
            self._next = len(self._events)
            self.finished.emit()

    def _send(self, event: tuple) -> None:
        _, kind, point, pressure, eraser = event
        send_tablet_event(self.pad, kind, point, pressure, eraser)
        self._next += 1

    def _tick(self) -> None:
        elapsed = time.perf_counter() - self._started
        while self._next < len(self._events) and self._events[self._next][0] <= elapsed:
            self._send(self._events[self._next])
        if self._next >= len(self._events):
            self._timer.stop()
            self.finished.emit()


class DrawingFiles(QObject):
    """The File menu's drawing actions for ``window`` (a QMainWindow with a ``draw_tab``)."""

    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.pad = window.draw_tab.pad
        self.replayer = Replayer(self.pad, self)
        self.menu = window.menuBar().addMenu("&File")
        self.menu.setObjectName("fileMenu")
        self.save_action = self._action("&Save drawing…", "saveDrawingAction", QKeySequence.StandardKey.Save)
        self.save_action.triggered.connect(self.choose_save_path)
        self.open_action = self._action("&Open drawing…", "openDrawingAction", QKeySequence.StandardKey.Open)
        self.open_action.triggered.connect(self.choose_file_to_open)
        self.replay_action = self._action("&Replay", "replayAction", QKeySequence("Ctrl+R"))
        self.replay_action.triggered.connect(self.replay)
        self.menu.addSeparator()

    def _action(self, text: str, name: str, shortcut) -> QAction:
        action = QAction(text, self.window, objectName=name)
        action.setShortcut(QKeySequence(shortcut))
        self.menu.addAction(action)
        return action

    def current_drawing(self) -> Drawing:
        return Drawing(self.pad.strokes, (float(self.pad.width()), float(self.pad.height())), self.pad.pen_width())

    def _say(self, text: str) -> None:
        self.window.statusBar().showMessage(text, 8000)

    def choose_save_path(self) -> None:
        if self.pad.is_empty():
            self._say("Nothing to save: the pad is empty")
            return
        drawings_dir().mkdir(parents=True, exist_ok=True)
        path, _ = QFileDialog.getSaveFileName(
            self.window, "Save drawing", str(drawings_dir() / "drawing.json"), FILE_FILTER
        )
        if path:
            self.save_to(Path(path))

    def save_to(self, path: Path) -> Path | None:
        drawing = self.current_drawing()
        try:
            saved = save_drawing(path, drawing)
        except OSError as error:
            self._say(f"Could not save the drawing to {path}: {error.strerror or error}")
            return None
        try:  # the pad draws without bounds; opening keeps them
            check_can_open(drawing)
        except DrawingError as error:
            self._say(f"Saved the drawing to {saved}, but Open drawing will refuse it: {error}")
            return saved
        self._say(f"Saved the drawing to {saved}")
        return saved

    def choose_file_to_open(self) -> None:
        start = drawings_dir() if drawings_dir().is_dir() else Path.home()
        path, _ = QFileDialog.getOpenFileName(self.window, "Open drawing", str(start), FILE_FILTER)
        if path:
            self.open_file(Path(path))

    def open_file(self, path: Path) -> bool:
        """Put the drawing of ``path`` on the pad (fitted to it); False (and a message) if it cannot be used."""
        try:
            drawing = load_drawing(path)
        except DrawingError as error:
            self._say(f"Could not open the drawing: {error}")
            return False
        self.replayer.stop()
        fitted = drawing.scaled_to((float(self.pad.width()), float(self.pad.height())), self.pad.pen_width())
        self.pad.set_strokes(fitted.strokes)
        self._say(f"Opened {path.name}: {len(fitted.strokes)} strokes, drawn in {drawing.duration():.1f} s")
        return True

    def replay(self) -> bool:
        """Redraw what is on the pad stroke by stroke at its recorded pace."""
        if self.replayer.is_running():
            self.replayer.stop()
            return False
        if not self.replayer.start(self.current_drawing()):
            self._say("Nothing to replay: draw or open a drawing first")
            return False
        self._say("Replaying…")
        return True
