"""The longest stall of the GUI event loop while the Train tab trains an epoch in its worker thread.

Builds the whole window (``digitpad.gui.MainWindow``; the Train tab alone if
that is not importable), shows the Train tab, starts a real training run on
MNIST through the tab's worker exactly as the Start button does, and
meanwhile runs a 5 ms timer on the GUI thread that records the time between
its ticks: a gap much above 5 ms is the event loop stalled. With the window
present it also draws on the pad during the run (mouse events at 60 Hz:
strokes, live prediction, feature maps), as someone trying the Draw tab
while a model trains would.

Showing the Train tab starts a one-off preparation on background threads
(torch's lazy imports, loading MNIST into memory), so that pressing Start
does neither; its stalls are measured on their own, before the run, as is
the same drawing without training (the GUI thread's own work and the
machine's load).

    python bench/ui_stall.py                          # one epoch on all 60,000 images
    python bench/ui_stall.py --images 10000 --view draw
    python bench/ui_stall.py --epochs 3 --no-pen --screenshot /tmp/train-tab.png

Prints ``longest stall: X ms`` and ``p99 gap: Y ms`` for the training run; target <= 50 ms. Also the
training seconds of each epoch and the CPU the run used (the process, the GUI thread, the others, and the
system time): a GUI run should train as fast as ``digitpad train`` (bench/README.md, 2026-12-08, later).
The bench waits in an event loop, as the app does; ``--probe-ms`` sets the stall timer's interval.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Run from a checkout without installing: the repository root comes first.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import torch
from PySide6.QtCore import QEvent, QEventLoop, QPointF, QSettings, Qt, QTimer
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication, QCheckBox, QLabel, QPushButton, QSpinBox, QTabWidget, QWidget

from digitpad.data.mnist import has_mnist, resolve_data_dir
from digitpad.gui.train.settings_form import SettingsForm
from digitpad.gui.train.tab import TrainTab
from digitpad.gui.train.workers import warm_up_training

TARGET_MS = 50.0


class GapRecorder:
    """A precise timer on the GUI thread (5 ms unless ``--probe-ms``); records every interval between ticks with
    its phase."""

    def __init__(self, interval_ms: int = 5) -> None:
        self.gaps: list[float] = []
        self.phases: list[str] = []
        self.phase = "idle"
        self._last = time.perf_counter()
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self._tick)

    def start(self) -> None:
        self.gaps.clear()
        self.phases.clear()
        self._last = time.perf_counter()
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()

    def _tick(self) -> None:
        now = time.perf_counter()
        self.gaps.append(now - self._last)
        self.phases.append(self.phase)
        self._last = now


class PenFeeder:
    """Draws circles and strokes on the pad with mouse events, 60 a second, as a hand would."""

    def __init__(self, canvas: QWidget, clear_button: QPushButton | None) -> None:
        self.canvas = canvas
        self.clear_button = clear_button
        self.step = 0
        self.events = 0
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(16)
        self.timer.timeout.connect(self._next)

    def _send(self, kind: QEvent.Type, point: QPointF, buttons: Qt.MouseButton) -> None:
        button = Qt.MouseButton.NoButton if kind == QEvent.Type.MouseMove else Qt.MouseButton.LeftButton
        global_point = QPointF(self.canvas.mapToGlobal(point.toPoint()))
        event = QMouseEvent(kind, point, global_point, button, buttons, Qt.KeyboardModifier.NoModifier)
        QApplication.sendEvent(self.canvas, event)
        self.events += 1

    def _next(self) -> None:
        # A stroke of 40 moves (a loop, like a 0 or a 6), then lift, then clear every third stroke.
        width, height = max(self.canvas.width(), 100), max(self.canvas.height(), 100)
        phase = self.step % 42
        stroke = self.step // 42
        angle = 2 * math.pi * phase / 40
        radius = 0.3 * min(width, height)
        point = QPointF(width / 2 + radius * math.sin(angle) * 0.7, height / 2 - radius * math.cos(angle))
        if phase == 0:
            if stroke % 3 == 0 and self.clear_button is not None:
                self.clear_button.click()
            self._send(QEvent.Type.MouseButtonPress, point, Qt.MouseButton.LeftButton)
        elif phase < 40:
            self._send(QEvent.Type.MouseMove, point, Qt.MouseButton.LeftButton)
        elif phase == 40:
            self._send(QEvent.Type.MouseButtonRelease, point, Qt.MouseButton.NoButton)
        self.step += 1


def build(settings_path: Path) -> tuple[QWidget, TrainTab, QWidget | None]:
    """The main window (or a bare Train tab), its Train tab and its drawing pad."""
    try:
        from digitpad.gui import MainWindow
    except ImportError:
        MainWindow = None
    if MainWindow is None:
        tab = TrainTab(QSettings(str(settings_path), QSettings.Format.IniFormat))
        tab.resize(1280, 800)
        return tab, tab, None
    # As the app opens it (digitpad.gui.window.app): the model loads on a thread of its own.
    window = MainWindow(load_in_background=True)
    window.resize(1280, 860)
    return window, None, window.findChild(QWidget, "canvas")


#: How often :func:`wait` looks at its condition, in its event loop.
POLL_MS = 20


def wait(app: QApplication, condition, timeout: float) -> bool:
    """Run the event loop, as ``app.exec()`` would, until ``condition()`` holds or ``timeout`` seconds pass.

    The loop sleeps between events, as the app's does. (Polling ``processEvents`` every 2 ms, as this bench
    did before, woke the GUI thread 500 times a second; 2-epoch runs measured no slower for it.)
    """
    deadline = time.perf_counter() + timeout
    if condition():
        return True
    loop = QEventLoop()
    poll = QTimer()
    poll.setInterval(POLL_MS)
    poll.timeout.connect(lambda: loop.quit() if condition() or time.perf_counter() > deadline else None)
    poll.start()
    loop.exec()
    poll.stop()
    return bool(condition())


def cpu_seconds() -> tuple[float, float, float]:
    """CPU seconds used so far by the whole process (user + system), by the GUI thread, and the process's system
    time alone (Linux; NaN for the GUI thread elsewhere)."""
    times = os.times()
    try:
        fields = Path(f"/proc/self/task/{os.getpid()}/stat").read_text().rsplit(")", 1)[1].split()
        gui = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        gui = float("nan")
    return times.user + times.system, gui, times.system


def _load_average() -> float:
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


def summarise(gaps_s: list[float], phases: list[str]) -> dict:
    gaps = np.asarray(gaps_s) * 1000
    order = np.argsort(gaps)[::-1][:5]
    return {
        "ticks": len(gaps),
        "longest": float(gaps.max()) if len(gaps) else float("nan"),
        "p99": float(np.percentile(gaps, 99)) if len(gaps) else float("nan"),
        "p50": float(np.percentile(gaps, 50)) if len(gaps) else float("nan"),
        "over_target": int((gaps > TARGET_MS).sum()),
        "worst": [(float(gaps[i]), phases[i]) for i in order],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=None, help="MNIST folder (default: $DIGITPAD_MNIST_DIR)")
    parser.add_argument("--epochs", type=int, default=None, help="default: 1, or the recipe's with --recipe")
    parser.add_argument(
        "--recipe",
        default=None,
        help="start the form from this recipe (e.g. best) and print the form's time estimate beside the run's time",
    )
    parser.add_argument("--images", type=int, default=None, help="train on the first N images (default: all)")
    parser.add_argument(
        "--view", choices=("train", "draw"), default="train", help="the tab on screen during the run (default: train)"
    )
    parser.add_argument("--no-pen", action="store_true", help="do not draw on the pad during the run")
    parser.add_argument(
        "--baseline-seconds",
        type=float,
        default=10.0,
        help="first draw this long without training, for comparison (default: 10; 0: skip)",
    )
    parser.add_argument("--screenshot", type=Path, default=None, help="save a grab of the Train tab after the run")
    parser.add_argument(
        "--probe-ms",
        type=int,
        default=5,
        help="interval of the timer that measures the stalls (default: 5); its ticks cost the run a little",
    )
    args = parser.parse_args(argv)

    data_dir = resolve_data_dir(args.data_dir)
    if not has_mnist(data_dir):
        print(f"no MNIST in {data_dir}: pass --data-dir or set $DIGITPAD_MNIST_DIR", file=sys.stderr)
        return 2
    bench_home = None
    if "DIGITPAD_HOME" not in os.environ:
        # Keep the bench's settings and autosaves out of the user's folder.
        bench_home = tempfile.mkdtemp(prefix="digitpad-bench-")
        os.environ["DIGITPAD_HOME"] = bench_home
    app = QApplication.instance() or QApplication(sys.argv[:1])
    window, tab, canvas = build(Path(os.environ["DIGITPAD_HOME"]) / "bench-settings.ini")
    window.show()
    if tab is None:
        # The main window builds its Train tab once the model has loaded.
        if not wait(app, lambda: isinstance(window.findChild(QWidget, "trainTab"), TrainTab), 60):
            print("the window's Train tab did not appear", file=sys.stderr)
            return 1
        tab = window.findChild(QWidget, "trainTab")
    tabs = window.findChild(QTabWidget)

    def show(view: str) -> None:
        if tabs is not None:
            tabs.setCurrentWidget(tab if view == "train" else tabs.widget(0))

    # Showing the Train tab starts its preparation (torch's lazy imports,
    # loading MNIST) on background threads; measure that on its own.
    recorder = GapRecorder(args.probe_ms)
    recorder.phase = "warm-up"
    recorder.start()
    show("train")
    if not tab.set_data_dir(data_dir):
        print(tab.findChild(QLabel, "dataErrorLabel").text(), file=sys.stderr)
        return 2
    warm_up = warm_up_training()
    wait(app, lambda: not warm_up.is_alive() and tab.wait_until_prepared(0), 120)
    wait(app, lambda: False, 0.3)
    recorder.stop()
    warm = summarise(recorder.gaps, recorder.phases)

    if args.images:
        SettingsForm.QUICK_RUN_TRAIN_IMAGES = args.images
    estimates: list[float] = []
    form = tab.settings_form
    # Only the estimate of the settings as they end up (an earlier one may still arrive, for the recipe's epochs).
    tab.session.estimateReady.connect(
        lambda key, seconds: estimates.append(seconds) if key == (form.config(), form.model_config()) else None
    )
    if args.recipe:
        tab.settings_form.set_recipe(args.recipe)
    tab.findChild(QCheckBox, "quickRunCheck").setChecked(bool(args.images))
    if args.epochs or not args.recipe:
        tab.findChild(QSpinBox, "epochsSpin").setValue(args.epochs or 1)
    if args.recipe:
        # The form's estimate for these settings, as a user sees it before pressing Start.
        estimates.clear()
        wait(app, lambda: bool(estimates), 120)
    show(args.view)

    pen = None
    if canvas is not None and not args.no_pen:
        pen = PenFeeder(canvas, window.findChild(QPushButton, "clearButton"))
    finished: list[object] = []
    tab.trainingFinished.connect(finished.append)
    failed: list[str] = []
    tab.trainingFailed.connect(failed.append)

    # The same drawing without training: what the GUI thread's own work and this machine's load cost.
    baseline = None
    if pen is not None and args.baseline_seconds > 0:
        recorder.phase = "drawing, no training"
        recorder.start()
        pen.timer.start()
        wait(app, lambda: False, args.baseline_seconds)
        pen.timer.stop()
        recorder.stop()
        baseline = summarise(recorder.gaps, recorder.phases)

    load_before = _load_average()
    cpu_before = cpu_seconds()
    started = time.perf_counter()
    recorder.phase = "loading data"
    recorder.start()
    click_started = time.perf_counter()
    tab.start_training()
    start_call_ms = (time.perf_counter() - click_started) * 1000
    worker = tab.session.training_worker

    def on_progress(event) -> None:
        recorder.phase = f"training (epoch {event.epoch})"

    epoch_seconds: list[float] = []

    def on_epoch(result) -> None:
        recorder.phase = f"after epoch {result.epoch}"
        epoch_seconds.append(result.seconds)

    def on_message(line: str) -> None:
        if line.startswith("Data ready"):
            recorder.phase = "preparing the run"

    worker.message.connect(on_message)
    worker.progress.connect(on_progress)
    worker.epochFinished.connect(on_epoch)
    if pen is not None:
        pen.timer.start()
    wait(app, lambda: bool(finished), 3600)
    if pen is not None:
        pen.timer.stop()
    recorder.stop()
    seconds = time.perf_counter() - started
    cpu_after = cpu_seconds()
    if failed:
        print(f"training failed: {failed[0]}", file=sys.stderr)
        return 1
    run = summarise(recorder.gaps, recorder.phases)

    result = finished[0]
    images = result.info.data["train_images"] if result is not None else 0
    accuracy = result.history[-1].test_accuracy if result is not None and result.history else float("nan")
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
        f"load average {load_before:.1f} before the run, {_load_average():.1f} after (other processes count too)"
    )
    print(f"window: {type(window).__name__}, view: {args.view} tab, pen events: {pen.events if pen else 0}")
    epochs = len(result.history) if result is not None else 0
    print(f"run: {epochs} epoch(s) of {images:,} images in {seconds:.1f} s, test accuracy {accuracy:.2%}")
    if estimates:
        print(
            f"the form's estimate before Start: {estimates[-1]:.1f} s; the run from Start to the finished model "
            f"{seconds:.1f} s ({(estimates[-1] - seconds) / seconds:+.0%})"
        )
    if epoch_seconds:
        print("training seconds of each epoch: " + ", ".join(f"{value:.1f}" for value in epoch_seconds))
    print(
        "preparation when the Train tab is first shown (one-off: torch's lazy imports, loading MNIST): "
        f"longest stall {warm['longest']:.0f} ms"
    )
    if baseline is not None:
        print(
            f"baseline, drawing for {args.baseline_seconds:.0f} s without training: "
            f"longest stall {baseline['longest']:.0f} ms, p99 gap {baseline['p99']:.1f} ms"
        )
    process_cpu, gui_cpu, system_cpu = (after - before for after, before in zip(cpu_after, cpu_before, strict=True))
    print(
        f"CPU during the run: {process_cpu / seconds:.2f} cores, of which the GUI thread {gui_cpu / seconds:.2f} "
        f"and the others (training) {(process_cpu - gui_cpu) / seconds:.2f}; system time {system_cpu:.1f} s"
    )
    print(f"GUI event loop during the run: {run['ticks']} ticks of a {args.probe_ms} ms timer")
    print(f"  the Start click itself (building the worker, starting its thread): {start_call_ms:.0f} ms")
    print("  worst gaps: " + ", ".join(f"{ms:.0f} ms ({phase})" for ms, phase in run["worst"]))
    print(f"  gaps over {TARGET_MS:.0f} ms: {run['over_target']}")
    print(f"  p50 gap: {run['p50']:.1f} ms")
    print(f"p99 gap: {run['p99']:.1f} ms")
    print(f"longest stall: {run['longest']:.0f} ms (target <= {TARGET_MS:.0f} ms)")

    if args.screenshot is not None:
        show("train")
        wait(app, lambda: False, 0.3)
        args.screenshot.parent.mkdir(parents=True, exist_ok=True)
        # Grab the whole window where there is one: the tab bar shows where the Train tab lives.
        window.grab().save(str(args.screenshot))
        print(f"screenshot: {args.screenshot}")
    window.close()
    tab.shutdown()
    if bench_home is not None:
        shutil.rmtree(bench_home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
