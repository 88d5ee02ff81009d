"""Soak test: a long random session on the real window, counting errors and memory growth.

Builds ``digitpad.gui.MainWindow()`` offscreen with a temporary per-user
folder, shows it, and drives it with real Qt input events for a few
minutes: mouse and tablet strokes (random walks, digit-like curves, lines
and taps; tiny, huge and off the edge; some with the stylus's eraser end;
some drawn point by point with the event loop running between points, so
that live predictions run), numbers of 2 to 5 digits side by side, bursts
of Undo and Clear clicks, window resizes, tab switches, and training
cycles in the Train tab (a quick run of one epoch, stopped after a random
time or left to finish) while the drawing goes on.

Counted as errors: Python exceptions anywhere (``sys.excepthook``,
``threading.excepthook``, ``sys.unraisablehook``), Python warnings, log
records at WARNING or above, Qt warnings and criticals (the offscreen
plugin's harmless "does not support propagateSizeHints()" excepted), the
Train tab's ``trainingFailed``, a training cycle that does not end, and a
``predictionLabel`` text other than digits and "?".

Memory: the process's RSS (after ``gc.collect()``) once warmed up (10% of
the strokes and 2 training cycles done), then at the end.

    DIGITPAD_MNIST_DIR=../shared/data/mnist python bench/soak.py
    python bench/soak.py --strokes 2000 --training-cycles 3 --seed 1

Target (issue 12): 20,000 strokes and 20 training cycles, 0 errors, memory
growth under 30 MB after warm-up, the run under 5 minutes. Exit status 1 if
any error was counted, 2 if it cannot start (no MNIST), else 0.
"""

from __future__ import annotations

import argparse
import gc
import logging
import math
import os
import re
import shutil
import sys
import tempfile
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Run from a checkout without installing: the repository root comes first.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
from PySide6.QtCore import QEvent, QPoint, Qt, QtMsgType, qInstallMessageHandler
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QCheckBox, QLabel, QPushButton, QSpinBox

from digitpad.data.mnist import has_mnist, resolve_data_dir
from digitpad.gui import testing as replay

TARGET_ERRORS = 0
TARGET_GROWTH_MB = 30.0
TARGET_MINUTES = 5.0
#: Qt messages that are no problem: the offscreen platform plugin says this when a window is resized.
HARMLESS_QT_MESSAGES = ("This plugin does not support propagateSizeHints()",)
LABEL_TEXT = re.compile(r"[0-9?]*")
#: The quick run's size: a cycle takes seconds, not a minute.
QUICK_TRAIN_IMAGES, QUICK_TEST_IMAGES = 2000, 1000
#: Seconds a training cycle may take before it counts as hung.
CYCLE_TIMEOUT_S = 120.0
#: More strokes than this on the pad and it is cleared (a person would have long ago).
MAX_STROKES_ON_PAD = 60
DRAW_TAB, TRAIN_TAB = 0, 1

Point = tuple[float, float]


# -- errors -------------------------------------------------------------------------------


class ErrorLog:
    """Every error seen, grouped by kind and by its last line; the first message of each group kept in full."""

    KEEP = 8

    def __init__(self) -> None:
        self.count = 0
        self.by_kind: dict[str, int] = {}
        #: "kind: last line" -> (count, the first full message).
        self.distinct: dict[str, list] = {}
        self._lock = threading.Lock()

    def add(self, kind: str, message: str) -> None:
        text = message.strip()
        key = f"{kind}: {text.splitlines()[-1][:200] if text else ''}"
        with self._lock:
            self.count += 1
            self.by_kind[kind] = self.by_kind.get(kind, 0) + 1
            if key in self.distinct:
                self.distinct[key][0] += 1
            else:
                self.distinct[key] = [1, text[:1500]]


class _CountingHandler(logging.Handler):
    def __init__(self, errors: ErrorLog) -> None:
        super().__init__(logging.WARNING)
        self.errors = errors

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info:
            text += "\n" + logging.Formatter().formatException(record.exc_info)
        self.errors.add(f"log {record.levelname.lower()}", f"{record.name}: {text}")


def install_error_hooks(errors: ErrorLog) -> None:
    """Count exceptions, warnings, log records and Qt messages, and still print them to stderr."""
    import traceback

    def excepthook(kind, value, tb) -> None:
        errors.add("exception", "".join(traceback.format_exception(kind, value, tb)))
        sys.__excepthook__(kind, value, tb)

    def thread_hook(args: threading.ExceptHookArgs) -> None:
        name = args.thread.name if args.thread is not None else "?"
        text = "".join(traceback.format_exception(args.exc_type, args.exc_value, args.exc_traceback))
        errors.add("thread exception", f"in {name}: {text}")
        threading.__excepthook__(args)

    def unraisable_hook(unraisable) -> None:
        errors.add("unraisable", f"{unraisable.err_msg or 'Exception ignored'}: {unraisable.exc_value!r}")
        sys.__unraisablehook__(unraisable)

    def show_warning(message, category, filename, lineno, file=None, line=None) -> None:
        errors.add("python warning", f"{category.__name__}: {message} ({filename}:{lineno})")
        print(warnings.formatwarning(message, category, filename, lineno, line), file=sys.stderr, end="")

    def qt_messages(mode: QtMsgType, context, message: str) -> None:
        if mode in (QtMsgType.QtDebugMsg, QtMsgType.QtInfoMsg):
            return
        if any(harmless in message for harmless in HARMLESS_QT_MESSAGES):
            return
        errors.add(f"qt {mode.name.removeprefix('Qt').removesuffix('Msg').lower()}", message)
        print(f"Qt: {message}", file=sys.stderr)

    sys.excepthook = excepthook
    threading.excepthook = thread_hook
    sys.unraisablehook = unraisable_hook
    warnings.simplefilter("default")
    warnings.showwarning = show_warning
    logging.getLogger().addHandler(_CountingHandler(errors))
    qInstallMessageHandler(qt_messages)


# -- memory and load ----------------------------------------------------------------------


def _trim_heap() -> None:
    """Hand the C heap's free pages back to the system (glibc), so that RSS counts memory in use."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def rss_mb() -> float:
    """Resident set size in MB after a full collection and a heap trim (/proc; the peak from ``resource`` elsewhere)."""
    gc.collect()
    _trim_heap()
    try:
        with open("/proc/self/statm") as statm:
            pages = int(statm.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def load_average() -> str:
    try:
        return " ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "n/a"


@dataclass
class MemoryReading:
    rss_mb: float
    python_objects: int
    threads: int
    at_stroke: int
    at_cycle: int

    @classmethod
    def now(cls, strokes: int, cycles: int) -> MemoryReading:
        rss = rss_mb()
        return cls(rss, len(gc.get_objects()), threading.active_count(), strokes, cycles)

    def describe(self) -> str:
        return (
            f"{self.rss_mb:.1f} MB RSS, {self.python_objects:,} Python objects, {self.threads} threads "
            f"(after {self.at_stroke:,} strokes, {self.at_cycle} cycles)"
        )


# -- strokes ------------------------------------------------------------------------------


class StrokeMaker:
    """Random pen paths in pad coordinates: walks, curves, lines and taps; any size, some off the edge."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng

    def size(self, width: float, height: float) -> float:
        side = min(width, height)
        roll = self.rng.random()
        if roll < 0.1:
            return float(self.rng.uniform(1, 10))  # tiny
        if roll < 0.15:
            return float(self.rng.uniform(1.0, 1.6) * side)  # bigger than the pad
        return float(self.rng.uniform(0.1, 0.8) * side)

    def centre(self, width: float, height: float) -> Point:
        margin = 0.3 if self.rng.random() < 0.1 else 0.0  # some strokes start or run off the edge
        return (
            float(self.rng.uniform(-margin, 1 + margin) * width),
            float(self.rng.uniform(-margin, 1 + margin) * height),
        )

    def path(self, width: float, height: float) -> list[Point]:
        """One stroke: 2 to 60 points (a tap: 1 or 2 points at the same place)."""
        centre, size = self.centre(width, height), self.size(width, height)
        roll = self.rng.random()
        if roll < 0.08:
            return [centre] * int(self.rng.integers(1, 3))
        count = int(self.rng.integers(2, 61))
        if roll < 0.4:
            return self.walk(centre, size, count)
        if roll < 0.5:
            angle = self.rng.uniform(0, 2 * math.pi)
            half = (size / 2 * math.cos(angle), size / 2 * math.sin(angle))
            start = (centre[0] - half[0], centre[1] - half[1])
            return replay.line(start, (centre[0] + half[0], centre[1] + half[1]), count - 1)
        return self.curve(centre, size, count)

    def walk(self, start: Point, size: float, count: int) -> list[Point]:
        """A random walk with momentum, steps scaled to ``size``."""
        steps = self.rng.normal(0, 1, (count - 1, 2)).cumsum(axis=0) * 0.3 + self.rng.normal(0, 1, (count - 1, 2))
        points = np.vstack([[0.0, 0.0], np.cumsum(steps * size / max(count, 4), axis=0)]) + np.asarray(start)
        return [(float(x), float(y)) for x, y in points]

    def curve(self, centre: Point, size: float, count: int) -> list[Point]:
        """A digit-like curve: an arc of an ellipse (0, 6, 9, the bowl of a 2) or a cubic Bezier (2, 3, 5, 7)."""
        t = np.linspace(0.0, 1.0, count)
        if self.rng.random() < 0.5:
            start = self.rng.uniform(0, 2 * math.pi)
            sweep = self.rng.uniform(0.5, 2.3) * math.pi * self.rng.choice([-1, 1])
            angle = start + sweep * t
            aspect = self.rng.uniform(0.4, 1.0)
            x = centre[0] + size / 2 * aspect * np.cos(angle)
            y = centre[1] + size / 2 * np.sin(angle)
        else:
            controls = np.asarray(centre) + self.rng.uniform(-0.5, 0.5, (4, 2)) * size
            basis = np.stack([(1 - t) ** 3, 3 * (1 - t) ** 2 * t, 3 * (1 - t) * t**2, t**3], axis=1)
            x, y = (basis @ controls).T
        return [(float(a), float(b)) for a, b in zip(x, y, strict=True)]

    def pressures(self, count: int) -> list[float]:
        """A smooth pressure curve, sometimes starting and ending near 0, as a real pen does."""
        base = self.rng.uniform(0.05, 1.0)
        wobble = np.cumsum(self.rng.normal(0, 0.05, count))
        values = np.clip(base + wobble, 0.0, 1.0)
        if self.rng.random() < 0.3:
            values *= np.sin(np.linspace(0.05, math.pi - 0.05, count))
        return [float(v) for v in values]

    def digit_in_slot(self, left: float, width: float, height: float) -> list[list[Point]]:
        """One to three curves that fit the slot [left, left + width): a digit of a number."""
        size = min(width * 0.8, height * self.rng.uniform(0.3, 0.7))
        centre = (left + width / 2, height * self.rng.uniform(0.35, 0.65))
        strokes = int(self.rng.choice([1, 1, 1, 2, 3]))
        return [self.curve(centre, size, int(self.rng.integers(8, 41))) for _ in range(strokes)]


# -- the session --------------------------------------------------------------------------


@dataclass
class Counters:
    strokes: int = 0
    mouse: int = 0
    tablet: int = 0
    eraser: int = 0
    taps: int = 0
    live: int = 0
    numbers: int = 0
    undo_clicks: int = 0
    clear_clicks: int = 0
    resizes: int = 0
    tab_switches: int = 0
    readings: int = 0
    label_texts: dict[str, int] = field(default_factory=dict)


@dataclass
class Cycle:
    started: float
    stop_after: float | None
    stop_clicked: bool = False


class Soak:
    """The window, its widgets and the random session played on it."""

    def __init__(self, app: QApplication, args: argparse.Namespace, errors: ErrorLog) -> None:
        from digitpad.gui import MainWindow

        self.app, self.args, self.errors = app, args, errors
        self.rng = np.random.default_rng(args.seed)
        self.maker = StrokeMaker(self.rng)
        self.count = Counters()
        self.window = MainWindow()
        self.window.show()
        self.pad = self.window.draw_tab.pad
        self.train_tab = self.window.train_tab
        self.label = self.window.findChild(QLabel, "predictionLabel")
        self.undo_button = self.window.findChild(QPushButton, "undoButton")
        self.clear_button = self.window.findChild(QPushButton, "clearButton")
        self.start_button = self.train_tab.findChild(QPushButton, "startTrainingButton")
        self.stop_button = self.train_tab.findChild(QPushButton, "stopTrainingButton")
        self.cycle: Cycle | None = None
        self.cycles_done = 0
        self.cycles_stopped = 0
        self.cycle_seconds: list[float] = []
        self.finished: list[object] = []
        self.train_tab.trainingFinished.connect(self.finished.append)
        self.train_tab.trainingFailed.connect(lambda message: errors.add("trainingFailed", message))
        self.window.draw_tab.readingUpdated.connect(self._on_reading)
        self.app.processEvents()

    def _on_reading(self, _reading: object) -> None:
        self.count.readings += 1

    # -- checks -------------------------------------------------------------------------

    def check_label(self, where: str) -> None:
        text = self.label.text()
        if not LABEL_TEXT.fullmatch(text):
            self.errors.add("label", f"predictionLabel reads {text!r} after {where}")
        kind = "empty" if not text else "?" if set(text) == {"?"} else f"{min(len(text), 5)} chars"
        self.count.label_texts[kind] = self.count.label_texts.get(kind, 0) + 1

    # -- drawing ------------------------------------------------------------------------

    def draw(self, points: list[Point], tablet: bool, live: bool) -> None:
        """One stroke on the pad: all events at once (``replay``), or with the event loop run after each."""
        count = self.count
        count.strokes += 1
        count.taps += len({(round(x), round(y)) for x, y in points}) == 1
        if tablet:
            count.tablet += 1
            eraser = bool(self.rng.random() < 0.15)
            count.eraser += eraser
            pressures = self.maker.pressures(len(points))
            if live:
                self._draw_tablet_live(points, pressures, eraser)
            else:
                replay.draw_tablet_stroke(self.pad, points, pressures, eraser=eraser)
        else:
            count.mouse += 1
            if live:
                self._draw_mouse_live(points)
            else:
                replay.draw_mouse_stroke(self.pad, points)
        count.live += live

    def _draw_tablet_live(self, points: list[Point], pressures: list[float], eraser: bool) -> None:
        replay.send_tablet_event(self.pad, QEvent.Type.TabletPress, points[0], pressures[0], eraser)
        for point, pressure in zip(points[1:], pressures[1:], strict=True):
            self.app.processEvents()
            replay.send_tablet_event(self.pad, QEvent.Type.TabletMove, point, pressure, eraser)
        self.app.processEvents()
        replay.send_tablet_event(self.pad, QEvent.Type.TabletRelease, points[-1], pressures[-1], eraser)

    def _draw_mouse_live(self, points: list[Point]) -> None:
        left, none = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier

        def at(point: Point) -> QPoint:
            return QPoint(round(point[0]), round(point[1]))

        QTest.mousePress(self.pad, left, none, at(points[0]))
        for point in points[1:]:
            self.app.processEvents()
            QTest.mouseMove(self.pad, at(point))
        self.app.processEvents()
        QTest.mouseRelease(self.pad, left, none, at(points[-1]))

    def stroke(self) -> None:
        if len(self.pad.strokes) >= MAX_STROKES_ON_PAD:
            self.click(self.clear_button)
        points = self.maker.path(self.pad.width(), self.pad.height())
        self.draw(points, tablet=bool(self.rng.random() < 0.45), live=bool(self.rng.random() < 0.1))

    def number(self) -> None:
        """Clear, then write 2 to 5 digits side by side, left to right, and check what is read."""
        self.click(self.clear_button)
        digits = int(self.rng.integers(2, 6))
        width, height = self.pad.width(), self.pad.height()
        slot = width / digits
        tablet = bool(self.rng.random() < 0.45)
        for index in range(digits):
            for points in self.maker.digit_in_slot(index * slot, slot, height):
                if self.count.strokes < self.args.strokes:
                    self.draw(points, tablet=tablet, live=False)
        self.count.numbers += 1

    def click(self, button: QPushButton) -> None:
        if button is self.undo_button:
            self.count.undo_clicks += 1
        elif button is self.clear_button:
            self.count.clear_clicks += 1
        if button.isVisible():
            QTest.mouseClick(button, Qt.MouseButton.LeftButton)
        else:
            button.click()

    def undo_burst(self) -> None:
        for _ in range(int(self.rng.integers(1, 8))):
            self.click(self.undo_button)
            if self.rng.random() < 0.5:
                self.app.processEvents()

    def clear_burst(self) -> None:
        for _ in range(int(self.rng.choice([1, 1, 1, 2, 3]))):
            self.click(self.clear_button)

    def resize(self) -> None:
        self.count.resizes += 1
        self.window.resize(int(self.rng.integers(500, 1700)), int(self.rng.integers(400, 1100)))

    def switch_tab(self, index: int | None = None) -> None:
        tabs = self.window.tabs
        index = (1 - tabs.currentIndex()) if index is None else index
        if tabs.currentIndex() != index:
            self.count.tab_switches += 1
            tabs.setCurrentIndex(index)

    # -- training -----------------------------------------------------------------------

    def start_cycle(self) -> bool:
        """Start a quick one-epoch run from the Train tab as a user would; False if Start is not enabled."""
        self.switch_tab(TRAIN_TAB)
        self.app.processEvents()
        if not self.start_button.isEnabled():
            return False
        self.train_tab.findChild(QCheckBox, "quickRunCheck").setChecked(True)
        self.train_tab.findChild(QSpinBox, "epochsSpin").setValue(1)
        stop_after = None if self.rng.random() < 0.35 else float(self.rng.uniform(0.05, 4.0))
        self.finished.clear()
        self.click(self.start_button)
        self.cycle = Cycle(time.perf_counter(), stop_after)
        if not self.train_tab.is_training():
            self.errors.add("training", "Start was clicked but no run started")
        if self.rng.random() < 0.8:
            self.switch_tab(DRAW_TAB)  # and draw while it trains
        return True

    def tend_cycle(self) -> None:
        """Stop the run when its time is up; count it when it has finished."""
        cycle = self.cycle
        if cycle is None:
            return
        elapsed = time.perf_counter() - cycle.started
        if self.finished:
            self.cycle, self.cycles_done = None, self.cycles_done + 1
            self.cycle_seconds.append(elapsed)
            result = self.finished[0]
            self.cycles_stopped += bool(result is None or getattr(result, "stopped", False))
        elif elapsed > CYCLE_TIMEOUT_S:
            self.errors.add("training", f"a training cycle did not finish within {CYCLE_TIMEOUT_S:.0f} s")
            self.train_tab.stop_training()
            self.cycle, self.cycles_done = None, self.cycles_done + 1
        elif cycle.stop_after is not None and not cycle.stop_clicked and elapsed > cycle.stop_after:
            if self.stop_button.isEnabled():
                self.switch_tab(TRAIN_TAB)
                self.click(self.stop_button)
            cycle.stop_clicked = True

    def close(self) -> None:
        self.window.close()
        self.window.deleteLater()
        self.app.processEvents()


# -- the run ------------------------------------------------------------------------------


@dataclass
class Plan:
    strokes: int
    cycles: int
    deadline: float
    started: float
    minutes: float

    def progress(self, strokes: int) -> float:
        """How far the run is: by strokes, or by time when that is further along."""
        by_strokes = strokes / self.strokes if self.strokes else 1.0
        by_time = (time.perf_counter() - self.started) / max(self.deadline - self.started, 1e-9)
        return max(by_strokes, by_time)

    def out_of_time(self) -> bool:
        return time.perf_counter() > self.deadline


def step(soak: Soak, plan: Plan) -> None:
    """One random action; training cycles start as the run's progress passes k / cycles."""
    count = soak.count
    soak.tend_cycle()
    due = soak.cycle is None and soak.cycles_done < plan.cycles
    if due and plan.progress(count.strokes) >= soak.cycles_done / plan.cycles:
        soak.start_cycle()
    elif soak.window.tabs.currentIndex() == TRAIN_TAB:
        soak.switch_tab(DRAW_TAB)  # a look at the curves, then back to drawing
    elif count.strokes >= plan.strokes:
        time.sleep(0.005)  # strokes done: only training cycles left
    else:
        roll = soak.rng.random()
        if roll < 0.015:
            soak.switch_tab()
        elif roll < 0.025:
            soak.resize()
        elif roll < 0.055:
            soak.undo_burst()
        elif roll < 0.085:
            soak.clear_burst()
        elif roll < 0.1:
            soak.number()
        else:
            soak.stroke()
    soak.app.processEvents()
    soak.check_label("a step")


def run(soak: Soak, plan: Plan) -> dict:
    """The session; returns the memory readings and timings."""
    warm: MemoryReading | None = None
    next_report = 0.1
    samples: list[MemoryReading] = []
    while (soak.count.strokes < plan.strokes or soak.cycles_done < plan.cycles) and not plan.out_of_time():
        step(soak, plan)
        strokes = soak.count.strokes
        progress = plan.progress(strokes)
        # Warm once 10% of the run and 2 cycles are done, read between runs (as the end is).
        if warm is None and progress >= 0.1 and soak.cycles_done >= min(2, plan.cycles) and soak.cycle is None:
            warm = MemoryReading.now(strokes, soak.cycles_done)
            print(f"warm-up done: {warm.describe()}", flush=True)
        if progress >= next_report:
            samples.append(MemoryReading.now(strokes, soak.cycles_done))
            report_progress(soak, plan, samples[-1])
            next_report += 0.1
    timed_out = plan.out_of_time()
    # Let a run still going end (stopping it if it was to be stopped), bounded.
    ending = time.perf_counter()
    while soak.cycle is not None and time.perf_counter() - ending < CYCLE_TIMEOUT_S:
        soak.tend_cycle()
        soak.app.processEvents()
        time.sleep(0.005)
    soak.switch_tab(DRAW_TAB)
    soak.app.processEvents()
    end = MemoryReading.now(soak.count.strokes, soak.cycles_done)
    return {"warm": warm, "end": end, "samples": samples, "timed_out": timed_out}


def report_progress(soak: Soak, plan: Plan, memory: MemoryReading) -> None:
    seconds = time.perf_counter() - plan.started
    count = soak.count
    print(
        f"[{seconds:6.1f} s] {count.strokes:,}/{plan.strokes:,} strokes ({count.strokes / max(seconds, 1e-9):.0f}/s), "
        f"{soak.cycles_done}/{plan.cycles} cycles, {soak.errors.count} errors, RSS {memory.rss_mb:.1f} MB, "
        f"{memory.python_objects:,} objects, {memory.threads} threads, load {load_average()}",
        flush=True,
    )


def summarise(soak: Soak, plan: Plan, result: dict, timing: dict) -> bool:
    """Print the SUMMARY block; True if every target is met."""
    count, errors = soak.count, soak.errors
    warm, end = result["warm"], result["end"]
    growth = end.rss_mb - warm.rss_mb if warm is not None else float("nan")
    wall = timing["wall"]
    print("\nSUMMARY")
    print(f"  strokes: {count.strokes:,} of {plan.strokes:,} asked ({count.strokes / timing['soak']:.0f}/s)")
    print(
        f"    mouse {count.mouse:,}, tablet {count.tablet:,} (eraser {count.eraser:,}), taps {count.taps:,}, "
        f"drawn point by point (live predictions) {count.live:,}, numbers of 2-5 digits {count.numbers:,}"
    )
    print(
        f"    undo clicks {count.undo_clicks:,}, clear clicks {count.clear_clicks:,}, resizes {count.resizes:,}, "
        f"tab switches {count.tab_switches:,}, readings {count.readings:,}"
    )
    print("    label after a step: " + ", ".join(f"{k} {v:,}" for k, v in sorted(count.label_texts.items())))
    seconds = soak.cycle_seconds
    cycle_line = f"{min(seconds):.1f}-{max(seconds):.1f} s each" if seconds else "none finished"
    print(
        f"  training cycles: {soak.cycles_done} of {plan.cycles} asked ({soak.cycles_stopped} stopped early, "
        f"the rest finished; {cycle_line})"
    )
    kinds = ", ".join(f"{kind} {n}" for kind, n in errors.by_kind.items())
    print(f"  errors: {errors.count}" + (f" ({kinds}; {len(errors.distinct)} distinct)" if errors.count else ""))
    for key, (n, first) in list(errors.distinct.items())[: errors.KEEP]:
        print(f"    {n} x {key}")
        print("      first: " + first.replace("\n", "\n        "))
    print(f"  memory at warm-up: {warm.describe() if warm else 'not reached'}")
    print(f"  memory at the end: {end.describe()}")
    print(f"  memory growth after warm-up: {growth:+.1f} MB")
    print(f"  wall time: {wall:.1f} s in all ({timing['soak']:.1f} s of session, {timing['setup']:.1f} s start-up)")
    print(f"  load average: {timing['load_before']} before, {load_average()} after (1, 5, 15 min)")
    complete = count.strokes >= plan.strokes and soak.cycles_done >= plan.cycles
    verdicts = (
        (f"{errors.count} errors (target {TARGET_ERRORS})", errors.count <= TARGET_ERRORS),
        (f"memory growth {growth:+.1f} MB (target < {TARGET_GROWTH_MB:.0f} MB)", growth < TARGET_GROWTH_MB),
        (f"wall time {wall / 60:.2f} min (target < {TARGET_MINUTES:.0f} min)", wall < TARGET_MINUTES * 60),
        (f"ran everything asked ({count.strokes:,} strokes, {soak.cycles_done} cycles)", complete),
    )
    for text, met in verdicts:
        print(f"  {'MET    ' if met else 'NOT MET'} {text}")
    if result["timed_out"]:
        print(f"  stopped by the time budget (--minutes {plan.minutes:g})")
    return all(met for _, met in verdicts)


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--strokes", type=int, default=20_000, help="strokes to draw (default: 20000)")
    parser.add_argument("--training-cycles", type=int, default=20, help="training runs to start (default: 20)")
    parser.add_argument("--seed", type=int, default=0, help="random seed of the session (default: 0)")
    parser.add_argument(
        "--minutes", type=float, default=5.0, help="time budget; the session stops early when it is spent (default: 5)"
    )
    parser.add_argument("--data-dir", default=None, help="MNIST folder (default: $DIGITPAD_MNIST_DIR)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    started = time.perf_counter()
    load_before = load_average()
    data_dir = resolve_data_dir(args.data_dir)
    if not has_mnist(data_dir):
        print(f"no MNIST in {data_dir}: pass --data-dir or set $DIGITPAD_MNIST_DIR", file=sys.stderr)
        return 2
    os.environ["DIGITPAD_MNIST_DIR"] = str(data_dir)
    # Keep the session's settings, autosaves and trained models out of the user's folder.
    home = tempfile.mkdtemp(prefix="digitpad-soak-")
    os.environ["DIGITPAD_HOME"] = home
    from digitpad.gui.train.settings_form import SettingsForm

    SettingsForm.QUICK_RUN_TRAIN_IMAGES, SettingsForm.QUICK_RUN_TEST_IMAGES = QUICK_TRAIN_IMAGES, QUICK_TEST_IMAGES
    errors = ErrorLog()
    install_error_hooks(errors)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    print(
        f"soak: {args.strokes:,} strokes, {args.training_cycles} training cycles (quick runs of "
        f"{QUICK_TRAIN_IMAGES:,} images, 1 epoch), seed {args.seed}, budget {args.minutes:g} min; "
        f"{os.cpu_count()} cores, load average {load_before}",
        flush=True,
    )
    try:
        soak = Soak(app, args, errors)
        soak_started = time.perf_counter()
        # 7% of the budget is kept for the last run to end and the window to close.
        deadline = started + args.minutes * 60 * 0.93
        plan = Plan(args.strokes, args.training_cycles, deadline, soak_started, args.minutes)
        result = run(soak, plan)
        soak_seconds = time.perf_counter() - soak_started
        soak.close()
        timing = {
            "wall": time.perf_counter() - started,
            "soak": soak_seconds,
            "setup": soak_started - started,
            "load_before": load_before,
        }
        summarise(soak, plan, result, timing)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    return 1 if errors.count else 0


if __name__ == "__main__":
    sys.exit(main())
