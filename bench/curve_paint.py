"""What one redraw of the Train tab's training curves costs the GUI thread, as a run goes on.

Builds the Train tab's plots (``digitpad.gui.train.plots.TrainingPlots``,
1280x780, offscreen), feeds them the progress of a 9-epoch run (20 reports
a second for 20 s an epoch, as a Best run sends them on 2 cores; a smoothed
curve with a little noise), and every 20 reports sets the curves' data and
repaints both plots synchronously, timing it. Printed: the mean
milliseconds of a redraw in epochs 1, 3, 5, 7 and 9, with the curves drawn
as the app draws them (antialiased, 2 px, as separate segments) and as one
path (pyqtgraph's default for an antialiased pen).

The GUI thread holds the GIL while it paints, so a training run in a worker
thread waits through every redraw: what a redraw costs, times how often it
happens (``digitpad.gui.train.tab.CURVE_REFRESH_S``), is taken from the run.

    python bench/curve_paint.py
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
from PySide6.QtWidgets import QApplication

from digitpad.gui.train.plots import TrainingPlots
from digitpad.training.config import BatchProgress, EpochResult
from digitpad.training.curves import CurveHistory

EPOCHS = 9
BATCHES = 545  # a Best epoch at batch 128
REPORTS_PER_EPOCH = 400  # 20 a second for 20 s
REDRAW_EVERY = 20  # reports


def redraw_ms(app: QApplication, segmented: bool) -> dict[int, float]:
    """Mean ms of a redraw of both training curves, per epoch."""
    plots = TrainingPlots()
    plots.resize(1280, 780)
    plots.show()
    app.processEvents()
    curves = (plots.loss_plot, plots.accuracy_plot)
    for plot in curves:
        plot.getPlotItem().listDataItems()[0].curve.setSegmentedLineMode("on" if segmented else "auto")
    history = CurveHistory()
    history.reset(EPOCHS, 128)
    plots.reset(history)
    rng = np.random.default_rng(0)
    times: dict[int, list[float]] = {}
    for epoch in range(1, EPOCHS + 1):
        for report in range(1, REPORTS_PER_EPOCH + 1):
            batch = round(report * BATCHES / REPORTS_PER_EPOCH)
            done = epoch - 1 + batch / BATCHES
            loss = 0.55 + 0.3 / (1 + done) + 0.01 * rng.standard_normal()
            accuracy = min(1.0, 0.99 - 0.05 / (1 + done) + 0.004 * rng.standard_normal())
            history.add_batch(BatchProgress(epoch, EPOCHS, batch, BATCHES, loss, accuracy, 4000.0, 100.0))
            if report % REDRAW_EVERY == 0:
                started = time.perf_counter()
                plots.show_training(history)
                for plot in curves:
                    plot.viewport().repaint()
                times.setdefault(epoch, []).append(time.perf_counter() - started)
        result = EpochResult(epoch, EPOCHS, 0.6, 0.98, 0.05, 0.985 + 0.0012 * epoch, (0.99,) * 10, 20.0)
        history.add_epoch(result)
        plots.show_test(history)
    plots.close()
    return {epoch: 1000 * float(np.mean(values)) for epoch, values in times.items()}


def main() -> int:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    print(f"a redraw of both training curves (ms), {REPORTS_PER_EPOCH // REDRAW_EVERY} redraws an epoch timed")
    for segmented, name in ((True, "as separate segments (the app)"), (False, "as one path")):
        figures = redraw_ms(app, segmented)
        print(f"  {name:32s} " + "  ".join(f"epoch {e}: {figures[e]:5.1f}" for e in (1, 3, 5, 7, 9)))
    print(f"load average {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
