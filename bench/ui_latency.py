"""UI latency: from a pen event to the prediction, chart and feature maps updated.

Builds the real MainWindow offscreen, replays handwritten-looking digits on
the pad as Qt mouse events at a 125 Hz mouse's pace (one event every 8 ms),
and for every event measures the time from sending it to:

- ``updated``: the Draw tab's ``predictionUpdated`` signal, emitted once the
  prediction label, the bar chart, the 28x28 preview and the visible
  feature-map layer hold the new prediction;
- ``painted``: the same plus the repaints that follow (the pending events
  processed until Qt has nothing left to do).

Live predictions are throttled (see digitpad/gui/draw/tab.py: a pause of
4 to 16 ms after each), so an event that follows a prediction closely waits
for the next slot: that wait is part of the figures.
Both are measured idle and while a training runs in the background: by
default started with the Train tab's own Start button (a quick run on MNIST
from $DIGITPAD_MNIST_DIR, in its QThread worker, with its live curves), or
with ``--training thread``, digitpad.training.loop.train in a plain Python thread.

Also measures ``digitpad`` to a painted window: the command is started as a
process (offscreen) and reports when its pad was first painted and when the
model and Train tab were in place.

Also idle with each digit written as the last of a four-digit number
(``--number``): the others are on the pad already, so every pen event reads
the whole number (only the candidate characters holding the digit that
changed are rendered and predicted again: it alone, and joined with up to two
neighbours, as digitpad/model/segmentation.py weighs where characters split).

With ``--saliency``, also idle with the saliency overlay on (the Draw
tab's ``saliencyToggle`` clicked): every pen event then also computes the
map of the character being written, when it can keep up, and paints it on
the 28x28 input and the pad (see digitpad/gui/draw/saliency_overlay.py).
``--no-training`` leaves out the measurement while training.

    python bench/ui_latency.py [--digits N] [--number N] [--startup-runs N] [--saliency] [--no-training]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402

#: One mouse event every 8 ms, like a common 125 Hz mouse.
EVENT_INTERVAL_S = 0.008


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def digit_paths(width: float, height: float) -> list[list[list[tuple[float, float]]]]:
    """A few digits as strokes of points in pad coordinates (about 60% of the pad's height)."""
    cx, cy, s = width / 2, height / 2, height * 0.3

    def arc(x0: float, y0: float, rx: float, ry: float, start: float, end: float, steps: int) -> list:
        return [
            (
                x0 + rx * math.cos(start + (end - start) * i / steps),
                y0 + ry * math.sin(start + (end - start) * i / steps),
            )
            for i in range(steps + 1)
        ]

    def segment(a: tuple[float, float], b: tuple[float, float], steps: int) -> list:
        return [(a[0] + (b[0] - a[0]) * i / steps, a[1] + (b[1] - a[1]) * i / steps) for i in range(steps + 1)]

    two = arc(cx, cy - 0.45 * s, 0.6 * s, 0.5 * s, math.pi, 2.25 * math.pi, 30)
    two += (
        segment(two[-1], (cx - 0.65 * s, cy + s), 20)[1:]
        + segment((cx - 0.65 * s, cy + s), (cx + 0.7 * s, cy + s), 14)[1:]
    )
    eight = arc(cx, cy - 0.5 * s, 0.45 * s, 0.5 * s, 0.5 * math.pi, 2.5 * math.pi, 36)
    eight += arc(cx, cy + 0.5 * s, 0.55 * s, 0.5 * s, -0.5 * math.pi, 1.5 * math.pi, 40)
    seven = (
        segment((cx - 0.6 * s, cy - s), (cx + 0.6 * s, cy - s), 16)
        + segment((cx + 0.6 * s, cy - s), (cx - 0.1 * s, cy + s), 30)[1:]
    )
    four = [
        segment((cx + 0.2 * s, cy - s), (cx - 0.6 * s, cy + 0.3 * s), 20)
        + segment((cx - 0.6 * s, cy + 0.3 * s), (cx + 0.6 * s, cy + 0.3 * s), 16)[1:]
    ]
    four.append(segment((cx + 0.25 * s, cy - 0.4 * s), (cx + 0.25 * s, cy + s), 20))
    return [[two], [eight], [seven], four]


def in_slot(stroke: list, slot: int, slots: int, width: float, height: float) -> list:
    """A stroke of :func:`digit_paths` moved into the ``slot``-th of ``slots`` equal slots, shrunk to fit."""
    slot_width = width / slots
    shrink = min(1.0, 0.8 * slot_width / (0.6 * height))
    centre_x = slot_width * (slot + 0.5)
    return [(centre_x + (x - width / 2) * shrink, height / 2 + (y - height / 2) * shrink) for x, y in stroke]


def pre_draw(pad, shapes: list, slots: int) -> None:
    """Put digits in every slot but the last (not measured): the number the measured digit completes."""
    from digitpad.ink.strokes import Stroke

    strokes = []
    for slot in range(slots - 1):
        for path in shapes[slot % len(shapes)]:
            stroke = Stroke()
            for x, y in in_slot(path, slot, slots, pad.width(), pad.height()):
                stroke.add(x, y, pad.pen_width())
            strokes.append(stroke)
    pad.set_strokes(strokes)


def measure_latencies(window, app, digits: int, slots: int = 1) -> dict[str, list[float]]:
    """Replay digits; per pen event, seconds to 'updated', to 'painted', and the GUI thread's CPU time.

    With ``slots`` > 1 each measured digit is the last of a number: the others
    are on the pad already, in equal slots side by side.

    Waiting happens in a real QEventLoop (which sleeps, releasing the GIL, as
    the app's loop does), not by spinning processEvents, which would steal the
    CPU and the GIL from a training thread.
    """
    from PySide6.QtCore import QEventLoop, QPoint, Qt, QTimer
    from PySide6.QtTest import QTest

    pad = window.draw_tab.pad
    loop = QEventLoop()
    updates = [0]
    waiting = [False]

    def on_update(_prediction) -> None:
        updates[0] += 1
        if waiting[0]:
            loop.quit()

    window.draw_tab.predictionUpdated.connect(on_update)
    # Events that add no ink (the pen moved less than a pixel) have nothing to update: not counted.
    ink_changes = [0]
    pad.inkChanged.connect(lambda: ink_changes.__setitem__(0, ink_changes[0] + 1))
    pad.drawingChanged.connect(lambda: ink_changes.__setitem__(0, ink_changes[0] + 1))
    timeout = QTimer()
    timeout.setSingleShot(True)
    timeout.timeout.connect(loop.quit)
    results: dict[str, list[float]] = {"updated": [], "painted": [], "cpu": []}
    shapes = digit_paths(pad.width(), pad.height())
    next_send = time.perf_counter()
    for index in range(digits):
        pad.clear()
        if slots > 1:
            pre_draw(pad, shapes[index + 1 :] + shapes[: index + 1], slots)
        app.processEvents()
        for stroke in shapes[index % len(shapes)]:
            stroke = in_slot(stroke, slots - 1, slots, pad.width(), pad.height()) if slots > 1 else stroke
            points = [QPoint(round(x), round(y)) for x, y in stroke]
            for number, point in enumerate(points):
                delay = next_send - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                before, inked = updates[0], ink_changes[0]
                sent, cpu_before = time.perf_counter(), time.thread_time()
                next_send = sent + EVENT_INTERVAL_S
                if number == 0:
                    QTest.mousePress(pad, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, point)
                elif number == len(points) - 1:
                    QTest.mouseRelease(pad, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, point)
                else:
                    QTest.mouseMove(pad, point)
                if ink_changes[0] == inked:
                    continue
                if updates[0] == before:
                    waiting[0] = True
                    timeout.start(1000)
                    loop.exec()
                    timeout.stop()
                    waiting[0] = False
                results["updated"].append(time.perf_counter() - sent)
                results["cpu"].append(time.thread_time() - cpu_before)
                # The repaints are posted events: a zero timer fires once they are done.
                QTimer.singleShot(0, loop.quit)
                loop.exec()
                results["painted"].append(time.perf_counter() - sent)
    return results


def report(name: str, results: dict[str, list[float]]) -> None:
    def figures(values: list[float]) -> str:
        return f"p50 {percentile(values, 50) * 1000:.1f} ms p95 {percentile(values, 95) * 1000:.1f} ms"

    print(
        f"{name}: {figures(results['updated'])} (max {max(results['updated']) * 1000:.1f} ms, "
        f"{len(results['updated'])} pen events); with repaint {figures(results['painted'])}; "
        f"GUI thread CPU per event {figures(results['cpu'])}",
        flush=True,
    )


def measure_with_saliency(window, app, digits: int) -> None:
    """Idle, with the overlay switched on by a click on its toggle (and off again after)."""
    from PySide6.QtCore import QPoint, Qt
    from PySide6.QtTest import QTest

    toggle = window.draw_tab.saliency.toggle
    QTest.mouseClick(toggle, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(5, 5))
    if not toggle.isChecked():
        raise SystemExit("the saliency toggle did not switch on")
    measure_latencies(window, app, 1)  # warm-up: autograd's first backward pass
    report("idle, saliency overlay on", measure_latencies(window, app, digits))
    print(f"(saliency: last map {window.draw_tab.saliency.last_ms:.1f} ms of CPU)")
    QTest.mouseClick(toggle, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(5, 5))


def training_data():
    from digitpad.data.mnist import MNIST_DIR_ENV, has_mnist, load_mnist

    folder = os.environ.get(MNIST_DIR_ENV)
    if folder and has_mnist(Path(folder)):
        return load_mnist(Path(folder)), "MNIST"
    from digitpad.data.mnist import Mnist

    rng = np.random.default_rng(0)
    images = (rng.random((6000, 28, 28)) > 0.8).astype(np.uint8) * 255
    labels = rng.integers(0, 10, 6000).astype(np.uint8)
    return Mnist(images, labels, images[:500], labels[:500], source="synthetic noise"), "synthetic data"


def start_training() -> tuple[threading.Thread, threading.Event, dict]:
    """A training run in a plain thread, as the Train tab's worker runs it; stops when the event is set."""
    from digitpad.training.config import TrainConfig
    from digitpad.training.loop import train

    data, source = training_data()
    stop = threading.Event()
    state = {"batches": 0, "source": source, "error": None}

    def progress(event) -> None:
        if hasattr(event, "batch"):  # BatchProgress: count batches over all epochs
            state["batches"] = (event.epoch - 1) * event.batches + event.batch

    def run() -> None:
        try:
            train(
                data,
                TrainConfig(epochs=50, train_subset=20000, test_subset=1000),
                progress=progress,
                should_stop=stop.is_set,
            )
        except Exception as error:  # reported by the bench
            state["error"] = error

    thread = threading.Thread(target=run, name="bench-training", daemon=True)
    thread.start()
    return thread, stop, state


def start_training_in_tab(window, app) -> tuple[object, dict]:
    """Start a long training run with the Train tab's own Start button (its QThread worker and live curves)."""
    from PySide6.QtWidgets import QCheckBox, QProgressBar, QPushButton, QSpinBox

    tab = window.train_tab
    tab.findChild(QSpinBox, "epochsSpin").setValue(50)
    tab.findChild(QCheckBox, "quickRunCheck").setChecked(True)
    state = {"finished": False, "source": "MNIST (Train tab, quick run)"}
    tab.trainingFinished.connect(lambda _: state.__setitem__("finished", True))
    tab.trainingFailed.connect(lambda message: state.__setitem__("finished", message))
    tab.findChild(QPushButton, "startTrainingButton").click()
    # Wait until batches are running (data loaded, first progress shown).
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not state["finished"]:
        app.processEvents()
        progress = tab.findChild(QProgressBar, "trainingProgress")
        if tab.is_training() and progress is not None and progress.value() > progress.minimum():
            break
        time.sleep(0.01)
    return tab, state


def stop_training_in_tab(tab, app, state: dict) -> None:
    from PySide6.QtWidgets import QPushButton

    tab.findChild(QPushButton, "stopTrainingButton").click()
    deadline = time.monotonic() + 120
    while tab.is_training() and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.01)
    if isinstance(state["finished"], str):
        raise SystemExit(f"training failed: {state['finished']}")


def measure_startup(runs: int) -> None:
    painted, started, exited = [], [], []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as home:
            times_file = Path(home) / "times.json"
            env = {
                **os.environ,
                "DIGITPAD_HOME": home,
                "DIGITPAD_EXIT_AFTER_SHOWN": "1",
                "DIGITPAD_STARTUP_TIMES": str(times_file),
                "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""),
            }
            launched = time.time()
            result = subprocess.run([sys.executable, "-m", "digitpad"], env=env, capture_output=True, text=True)
            exited.append(time.time() - launched)
            if result.returncode != 0:
                raise SystemExit(f"digitpad failed: {result.stderr}")
            times = json.loads(times_file.read_text())
            painted.append(times["painted"] - launched)
            started.append(times["started"] - launched)
    print(
        f"startup: digitpad to a painted window median {statistics.median(painted):.2f} s "
        f"(max {max(painted):.2f} s); model and Train tab ready median {statistics.median(started):.2f} s; "
        f"process done median {statistics.median(exited):.2f} s ({runs} runs)",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--digits", type=int, default=8, help="digits drawn per condition")
    parser.add_argument("--startup-runs", type=int, default=3)
    parser.add_argument(
        "--number", type=int, default=4, help="also draw each digit as the last of a number this long (default 4)"
    )
    parser.add_argument(
        "--training",
        choices=("tab", "thread"),
        default="tab",
        help="run the background training with the Train tab (default) or digitpad.training.loop in a plain thread",
    )
    parser.add_argument("--saliency", action="store_true", help="also idle with the saliency overlay on")
    parser.add_argument("--no-training", action="store_true", help="leave out the measurement while training")
    args = parser.parse_args()

    print(f"load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())} on {os.cpu_count()} CPUs")
    if args.startup_runs > 0:
        measure_startup(args.startup_runs)

    from PySide6.QtWidgets import QApplication

    with tempfile.TemporaryDirectory() as home:
        os.environ["DIGITPAD_HOME"] = home
        app = QApplication.instance() or QApplication([])
        from digitpad.gui import MainWindow

        window = MainWindow()
        window.resize(1240, 860)
        window.show()
        app.processEvents()
        pad = window.draw_tab.pad
        print(f"pad {pad.width()}x{pad.height()} px, model channels {window.draw_tab.predictor.model.config.channels}")
        measure_latencies(window, app, 1)  # warm-up
        report("idle", measure_latencies(window, app, args.digits))
        if args.number > 1:
            report(f"idle, {args.number}-digit number", measure_latencies(window, app, args.digits, args.number))
        if args.saliency:
            measure_with_saliency(window, app, args.digits)
        if args.no_training:
            print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
            window.close()
            return

        window.tabs.setCurrentIndex(1)  # shown once, as a user would before pressing Start
        app.processEvents()
        if args.training == "tab" and hasattr(window.train_tab, "is_training"):
            tab, state = start_training_in_tab(window, app)
            window.tabs.setCurrentIndex(0)
            app.processEvents()
            result = measure_latencies(window, app, args.digits)
            stop_training_in_tab(tab, app, state)
            source = state["source"]
        else:
            window.tabs.setCurrentIndex(0)
            thread, stop, state = start_training()
            while state["batches"] == 0 and thread.is_alive():
                time.sleep(0.05)
            result = measure_latencies(window, app, args.digits)
            stop.set()
            thread.join()
            if state["error"] is not None:
                raise SystemExit(f"training failed: {state['error']!r}")
            source = f"{state['source']} in a plain thread"
        report("training", result)
        print(f"(training: {source})")
        print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
        window.close()


if __name__ == "__main__":
    main()
