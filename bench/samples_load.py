"""Personal samples and the GUI thread: loading them at start-up and importing a folder of them.

``load``: ``--count`` samples of ``--points`` points each (one stroke; the
red team's case is 30 of 199,000) in a fresh per-user samples folder.
``MainWindow(load_in_background=True)``, never shown (so that the model and
the Train tab are not loaded: only the samples count), is built from the
event loop while a 10 ms timer on the GUI
thread records the gaps between its ticks; the bench waits until the
samples are in (``personal_samples.is_loading()``, where there is such a
thing) and reports the longest gap, the time until the samples were shown,
how many were loaded and the increase of the resident memory (RSS); then
it opens My samples and reports the longest gap until all its thumbnails
are built.

``import``: ``--count`` small samples (about 60 points each, like a digit
drawn with a mouse) in a folder, imported through My samples' *Import…*
button, with the same timer; reports the longest gap, the time until the
import was over and how many were added.

    python bench/samples_load.py load --count 30 --points 199000
    python bench/samples_load.py import --count 5000

The longest gap is how long the window could not repaint or take a click.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Run from a checkout without installing: the repository root comes first.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def rss_mib() -> float:
    """This process's resident memory (Linux; 0 elsewhere)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def template() -> dict:
    """A real sample's document (a drawn 1), to copy with other strokes."""
    from digitpad.ink.drawings import Drawing
    from digitpad.ink.samples import make_sample
    from digitpad.ink.strokes import Stroke

    stroke = Stroke()
    for i in range(60):
        stroke.add(200.0 + (i % 3), 80.0 + 4 * i, 28.0, 0.5, i / 100)
    return make_sample(Drawing([stroke], (400.0, 400.0), 28.0), 1).to_json()


def write_samples(folder: Path, count: int, points: int, seed: int = 0) -> int:
    """``count`` sample files of ``points`` points (each a little different); their total size in bytes."""
    import numpy as np

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    base = template()
    total = 0
    for index in range(count):
        document = copy.deepcopy(base)
        xs = 200 + 100 * np.sin(np.linspace(0, 20, points)) + rng.uniform(-1, 1, points)
        ys = np.linspace(40, 360, points)
        stroke = document["strokes"][0]
        stroke["points"] = [[round(float(x), 2), round(float(y), 2)] for x, y in zip(xs, ys, strict=True)]
        stroke["pressure"] = [0.5] * points
        stroke["t"] = [round(i * 0.001, 4) for i in range(points)]
        document["label"] = index % 10
        document["created"] = 1_700_000_000 + index
        text = json.dumps(document, separators=(",", ":"))
        (folder / f"sample-20231114-{index:06d}-bench.json").write_text(text)
        total += len(text)
    return total


class GapRecorder:
    """A 10 ms timer on the GUI thread; the longest interval between its ticks."""

    def __init__(self) -> None:
        from PySide6.QtCore import Qt, QTimer

        self.longest = 0.0
        self.last = time.perf_counter()
        self.timer = QTimer(interval=10, timerType=Qt.TimerType.PreciseTimer)
        self.timer.timeout.connect(self.tick)
        self.timer.start()

    def tick(self) -> None:
        now = time.perf_counter()
        self.longest = max(self.longest, now - self.last)
        self.last = now


def run_until(app, done, timeout_s: float) -> bool:
    deadline = time.perf_counter() + timeout_s
    while not done():
        if time.perf_counter() > deadline:
            return False
        app.processEvents()
        time.sleep(0.002)
    return True


def samples_loading(window) -> bool:
    samples = window.personal_samples
    return bool(getattr(samples, "is_loading", lambda: False)())


def bench_load(args: argparse.Namespace, home: Path) -> None:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    size = write_samples(home / "samples", args.count, args.points)
    print(f"{args.count} samples of {args.points:,} points, {size / 2**20:.0f} MiB in all")
    app = QApplication.instance() or QApplication([])
    from digitpad.gui import MainWindow

    before = rss_mib()
    recorder = GapRecorder()
    built: list = []
    started = time.perf_counter()
    # load_in_background and never shown: the model and the Train tab are not loaded, only the samples count.
    QTimer.singleShot(0, lambda: built.append((MainWindow(load_in_background=True), time.perf_counter())))
    run_until(app, lambda: bool(built), 600)
    window, constructed = built[0]
    run_until(app, lambda: not samples_loading(window), 600)
    loaded = time.perf_counter()
    run_until(app, lambda: time.perf_counter() > loaded + 0.3, 5)
    after = rss_mib()
    print(f"MainWindow() returned after {constructed - started:.2f} s; samples in after {loaded - started:.2f} s")
    print(f"samples loaded: {len(window.personal_samples.samples)}")
    print(f"longest GUI-thread gap: {recorder.longest * 1000:.0f} ms")
    print(f"RSS: +{after - before:.0f} MiB ({before:.0f} -> {after:.0f} MiB)")
    recorder.longest = 0.0
    started = time.perf_counter()
    dialog = window.show_samples()
    run_until(app, lambda: not getattr(dialog, "is_filling", lambda: False)(), 600)
    shown = time.perf_counter()
    run_until(app, lambda: time.perf_counter() > shown + 0.3, 5)
    print(f"My samples: all thumbnails after {shown - started:.2f} s, longest gap {recorder.longest * 1000:.0f} ms")
    window.close()


def bench_import(args: argparse.Namespace, home: Path) -> None:
    from PySide6.QtWidgets import QApplication, QFileDialog, QProgressDialog, QPushButton

    source = home.parent / "to-import"
    size = write_samples(source, args.count, args.points)
    print(f"importing {args.count} samples of {args.points} points, {size / 2**20:.1f} MiB in all")
    app = QApplication.instance() or QApplication([])
    from digitpad.gui import MainWindow

    window = MainWindow(load_in_background=True)
    run_until(app, lambda: not samples_loading(window), 60)
    dialog = window.show_samples()
    QFileDialog.getExistingDirectory = staticmethod(lambda *a, **k: str(source))
    recorder = GapRecorder()
    before = rss_mib()
    started = time.perf_counter()
    dialog.findChild(QPushButton, "importSamplesButton").click()

    def over() -> bool:
        progress = dialog.findChild(QProgressDialog)
        importing = getattr(window.personal_samples, "is_importing", lambda: False)()
        filling = getattr(dialog, "is_filling", lambda: False)()
        return not importing and not filling and (progress is None or not progress.isVisible())

    run_until(app, over, 600)
    finished = time.perf_counter()
    run_until(app, lambda: time.perf_counter() > finished + 0.3, 5)
    print(f"import over after {finished - started:.2f} s: {dialog.summary.text()}")
    print(f"samples now: {len(window.personal_samples.samples)}")
    print(f"longest GUI-thread gap: {recorder.longest * 1000:.0f} ms")
    print(f"RSS: +{rss_mib() - before:.0f} MiB")
    window.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=("load", "import"))
    parser.add_argument("--count", type=int, default=None, help="samples (load: 30, import: 5000)")
    parser.add_argument("--points", type=int, default=None, help="points per sample (load: 199000, import: 60)")
    args = parser.parse_args()
    if args.count is None:
        args.count = 30 if args.what == "load" else 5000
    if args.points is None:
        args.points = 199_000 if args.what == "load" else 60
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory() as scratch:
        home = Path(scratch) / "home"
        os.environ["DIGITPAD_HOME"] = str(home)
        (bench_load if args.what == "load" else bench_import)(args, home)


if __name__ == "__main__":
    main()
