"""UI latency: from a pen event to the prediction, chart and feature maps updated.

Builds the real MainWindow offscreen, replays handwritten-looking digits on
the pad as Qt mouse events at a 125 Hz mouse's pace (one event every 8 ms),
and for every event measures the time from sending it to:

- ``updated``: the Draw tab's ``predictionUpdated`` signal, emitted once the
  prediction label, the bar chart, the 28x28 preview and the visible
  feature-map layer hold the new prediction;
- ``painted``: the same plus the repaints that follow (the pending events
  processed until Qt has nothing left to do).

Live predictions are throttled (see digitpad/gui/draw_tab.py: a pause of
4 to 16 ms after each), so an event that follows a prediction closely waits
for the next slot: that wait is part of the figures.
Both are measured idle and while a training runs in a background thread
(digitpad.train.train on MNIST if $DIGITPAD_MNIST_DIR points at it, else a
synthetic stand-in), the way the Train tab runs it.

Also measures ``digitpad`` to a painted window: the command is started as a
process (offscreen) and reports when its pad was first painted and when the
model and Train tab were in place.

    python bench/ui_latency.py [--digits N] [--startup-runs N]
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


def measure_latencies(window, app, digits: int) -> tuple[list[float], list[float], list[float]]:
    """Replay digits; per event, seconds to 'updated' and to 'painted', and per update the work time."""
    from PySide6.QtCore import QPoint, Qt
    from PySide6.QtTest import QTest

    pad = window.draw_tab.pad
    updates = [0]
    work: list[float] = []
    original_predict = window.draw_tab.predict_now

    def timed_predict() -> None:
        started = time.perf_counter()
        original_predict()
        work.append(time.perf_counter() - started)

    # Time the work of each update too (the slot the timer and the pad call).
    window.draw_tab._live_timer.timeout.disconnect()
    window.draw_tab._live_timer.timeout.connect(timed_predict)
    window.draw_tab.predictionUpdated.connect(lambda _: updates.__setitem__(0, updates[0] + 1))
    # Events that add no ink (the pen moved less than a pixel) have nothing to update: not counted.
    ink_changes = [0]
    pad.inkChanged.connect(lambda: ink_changes.__setitem__(0, ink_changes[0] + 1))
    pad.drawingChanged.connect(lambda: ink_changes.__setitem__(0, ink_changes[0] + 1))
    updated: list[float] = []
    painted: list[float] = []
    shapes = digit_paths(pad.width(), pad.height())
    next_send = time.perf_counter()
    for index in range(digits):
        pad.clear()
        app.processEvents()
        for stroke in shapes[index % len(shapes)]:
            points = [QPoint(round(x), round(y)) for x, y in stroke]
            for number, point in enumerate(points):
                delay = next_send - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                before, inked = updates[0], ink_changes[0]
                sent = time.perf_counter()
                next_send = sent + EVENT_INTERVAL_S
                if number == 0:
                    QTest.mousePress(pad, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, point)
                elif number == len(points) - 1:
                    QTest.mouseRelease(pad, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, point)
                else:
                    QTest.mouseMove(pad, point)
                if ink_changes[0] == inked:
                    continue
                deadline = sent + 1.0
                while updates[0] == before and time.perf_counter() < deadline:
                    app.processEvents()
                updated.append(time.perf_counter() - sent)
                app.processEvents()
                app.processEvents()
                painted.append(time.perf_counter() - sent)
    return updated, painted, work


def report(name: str, updated: list[float], painted: list[float], work: list[float]) -> None:
    ms = 1000
    print(
        f"{name}: p50 {percentile(updated, 50) * ms:.1f} ms p95 {percentile(updated, 95) * ms:.1f} ms "
        f"(max {max(updated) * ms:.1f} ms, {len(updated)} pen events); "
        f"with repaint p50 {percentile(painted, 50) * ms:.1f} ms p95 {percentile(painted, 95) * ms:.1f} ms; "
        f"work per live update p50 {percentile(work, 50) * ms:.1f} ms p95 {percentile(work, 95) * ms:.1f} ms",
        flush=True,
    )


def training_data():
    from digitpad.data import MNIST_DIR_ENV, has_mnist, load_mnist

    folder = os.environ.get(MNIST_DIR_ENV)
    if folder and has_mnist(Path(folder)):
        return load_mnist(Path(folder)), "MNIST"
    from digitpad.data import Mnist

    rng = np.random.default_rng(0)
    images = (rng.random((6000, 28, 28)) > 0.8).astype(np.uint8) * 255
    labels = rng.integers(0, 10, 6000).astype(np.uint8)
    return Mnist(images, labels, images[:500], labels[:500], source="synthetic noise"), "synthetic data"


def start_training() -> tuple[threading.Thread, threading.Event, dict]:
    """A training run in a plain thread, as the Train tab's worker runs it; stops when the event is set."""
    from digitpad.train import TrainConfig, train

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
        report("idle", *measure_latencies(window, app, args.digits))

        thread, stop, state = start_training()
        while state["batches"] == 0 and thread.is_alive():
            time.sleep(0.05)
        started_batches = state["batches"]
        result = measure_latencies(window, app, args.digits)
        batches = state["batches"] - started_batches
        stop.set()
        thread.join()
        if state["error"] is not None:
            raise SystemExit(f"training failed: {state['error']!r}")
        report("training", *result)
        print(f"(training on {state['source']} ran about {batches} batches during the measurement)")
        print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
        window.close()


if __name__ == "__main__":
    main()
