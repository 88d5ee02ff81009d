"""Drawing files and the GUI thread: the worst drawings File > Open drawing accepts, opened in the real window.

Each case is a drawing at the bounds of digitpad/ink/drawings.py
(MAX_OPEN_STROKES strokes, MAX_OPEN_POINTS points, MAX_OPEN_INK_HEIGHTS pad
heights of ink), saved with the app's own writer, then opened through
``window.drawing_files.open_file`` (what File > Open drawing calls) in a
shown ``MainWindow`` while a 10 ms timer on the GUI thread records the
gaps between its ticks. Reported per case: whether it opened, the longest
gap (how long the window could not repaint or take a click: the target is
under 1 s), the reading, and the increase of the resident memory (RSS;
target under 500 MB). Also the two red-team files of issue 24 (100,000
two-point strokes; one stroke of 199,000 points): refused, and how fast.

    python bench/drawings_open.py
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
from samples_load import rss_mib, run_until

from digitpad.ink.drawings import (
    MAX_OPEN_INK_HEIGHTS,
    MAX_OPEN_POINTS,
    MAX_OPEN_STROKES,
    Drawing,
    save_drawing,
)
from digitpad.ink.strokes import Stroke

PAD = (800.0, 500.0)
PEN = 28.0


def stroke(points: np.ndarray, pressures: np.ndarray | None = None) -> Stroke:
    result = Stroke()
    pressures = np.full(len(points), 0.5) if pressures is None else pressures
    for index, ((x, y), pressure) in enumerate(zip(points, pressures, strict=True)):
        result.add(float(x), float(y), PEN, float(pressure), index * 0.01)
    return result


def walk(rng: np.random.Generator, count: int, length: float, box: tuple[float, float, float, float]) -> np.ndarray:
    """A random walk of ``count`` points and about ``length`` px of ink, kept inside ``box``."""
    steps = rng.normal(size=(count, 2))
    steps *= length / max(float(np.hypot(*steps.T).sum()), 1e-9)
    path = np.cumsum(steps, axis=0)
    left, top, right, bottom = box
    path[:, 0] = left + np.abs(np.mod(path[:, 0], 2 * (right - left)) - (right - left))
    path[:, 1] = top + np.abs(np.mod(path[:, 1], 2 * (bottom - top)) - (bottom - top))
    return path


def cases(rng: np.random.Generator) -> dict[str, list[Stroke]]:
    ink = 0.95 * MAX_OPEN_INK_HEIGHTS * PAD[1]
    per_stroke = MAX_OPEN_POINTS // MAX_OPEN_STROKES
    width = PAD[0] / MAX_OPEN_STROKES
    side_by_side = [
        stroke(walk(rng, per_stroke, ink / MAX_OPEN_STROKES, (i * width, 100, (i + 1) * width, 400)))
        for i in range(MAX_OPEN_STROKES)
    ]
    return {
        f"{MAX_OPEN_STROKES} strokes side by side": side_by_side,
        f"one walk of {MAX_OPEN_POINTS:,} points": [stroke(walk(rng, MAX_OPEN_POINTS, ink, (20, 20, 780, 480)))],
        "the same with random pressure": [
            stroke(walk(rng, MAX_OPEN_POINTS, ink, (20, 20, 780, 480)), rng.uniform(0, 1, MAX_OPEN_POINTS))
        ],
        f"{MAX_OPEN_STROKES} scribbles on one spot": [
            stroke(walk(rng, per_stroke, ink / MAX_OPEN_STROKES, (350, 200, 450, 300))) for _ in range(MAX_OPEN_STROKES)
        ],
    }


def red_team(rng: np.random.Generator) -> dict[str, list[Stroke]]:
    return {
        "100,000 two-point strokes (issue 24)": [
            stroke(np.array([[x, 100.0], [x, 140.0]])) for x in np.linspace(0, PAD[0], 100_000)
        ],
        "one stroke of 199,000 points (issue 24)": [stroke(walk(rng, 199_000, 5e5, (20, 20, 780, 480)))],
    }


def open_case(app, window, path: Path) -> tuple[bool, float, str]:
    """Open ``path`` from the event loop (as the menu does) while a 10 ms timer ticks: (opened, longest gap
    between ticks in s, the reading shown)."""
    from PySide6.QtCore import Qt, QTimer
    from PySide6.QtWidgets import QLabel

    ticks: list[float] = []
    timer = QTimer(interval=10, timerType=Qt.TimerType.PreciseTimer)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start()
    run_until(app, lambda: len(ticks) > 5, 2)
    opened: list[bool] = []
    QTimer.singleShot(0, lambda: opened.append(window.drawing_files.open_file(path)))
    run_until(app, lambda: bool(opened), 60)
    done = time.perf_counter()
    run_until(app, lambda: time.perf_counter() > done + 1.0, 5)  # the reading and the paint that follow
    timer.stop()
    longest = float(np.diff(ticks).max()) if len(ticks) > 1 else 0.0
    return opened[0], longest, window.findChild(QLabel, "predictionLabel").text()


def main() -> None:
    from PySide6.QtWidgets import QApplication

    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as scratch:
        os.environ["DIGITPAD_HOME"] = str(Path(scratch) / "home")
        app = QApplication.instance() or QApplication([])
        from digitpad.gui import MainWindow

        window = MainWindow()
        window.resize(1240, 860)
        window.show()
        run_until(app, lambda: False, 2)
        for name, strokes in {**cases(rng), **red_team(rng)}.items():
            path = Path(scratch) / "case.json"
            save_drawing(path, Drawing(strokes, PAD, PEN))
            size = path.stat().st_size
            before = rss_mib()
            opened, gap, text = open_case(app, window, path)
            print(
                f"{name}: {size / 2**20:.1f} MiB, {'opened' if opened else 'refused'}, longest GUI-thread gap "
                f"{gap * 1000:.0f} ms, read {text[:20]!r}, RSS +{rss_mib() - before:.0f} MiB",
                flush=True,
            )
            window.draw_tab.pad.clear()
        window.close()


if __name__ == "__main__":
    main()
