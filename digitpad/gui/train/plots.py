"""The Train tab's plots: loss and accuracy curves, test accuracy per digit, and the log.

Curves are PlotDataItems created once and refreshed with ``setData`` from a
:class:`digitpad.training.curves.CurveHistory`; axis ranges change only when the
history's ranges do (a range change repaints the whole plot).
"""

from __future__ import annotations

import math
import time

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QFrame, QPlainTextEdit, QVBoxLayout, QWidget

from digitpad.base.constants import NUM_CLASSES
from digitpad.gui.common.charts import TenBarChart, add_curve, make_plot
from digitpad.gui.common.style import Palette, box, splitter, titled_panel
from digitpad.training.config import EpochResult
from digitpad.training.curves import CurveHistory, per_class_axis

#: The Train tab's splitter handles (px): wide enough to find between its white panels.
HANDLE_WIDTH = 8
#: Legend of the training curves: smoothed means over the last few batches.
TRAIN_LEGEND = "training (smoothed)"
#: Loss axis labels (the axis is logarithmic).
LOSS_TICKS = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10, 30)
LOSS_TOOLTIP = (
    "The training loss includes label smoothing, so it levels off near 0.5 while the test loss keeps falling."
)


class TrainingPlots(QWidget):
    """Loss, accuracy, per-digit accuracy and the log, in splitters."""

    def __init__(self, filters: QWidget | None = None, parent: QWidget | None = None) -> None:
        """``filters``: the first layer's filters (:mod:`kernel_view`), between the per-digit bars and the log."""
        super().__init__(parent)
        self.filters = filters
        self.loss_plot = make_plot("loss (log scale)")
        self.loss_plot.setObjectName("lossPlot")
        self.loss_plot.setLogMode(y=True)
        self.loss_plot.getAxis("left").setTicks([[(math.log10(v), f"{v:g}") for v in LOSS_TICKS], []])
        self.loss_plot.setToolTip(LOSS_TOOLTIP)
        self.accuracy_plot = make_plot("accuracy (%)")
        self.accuracy_plot.setObjectName("accuracyPlot")
        self._train_loss = add_curve(self.loss_plot, TRAIN_LEGEND, Palette.ACCENT, symbol=False)
        self._test_loss = add_curve(self.loss_plot, "test", Palette.SECOND, symbol=True)
        self._train_accuracy = add_curve(
            self.accuracy_plot, TRAIN_LEGEND, Palette.ACCENT, symbol=False, legend_at_bottom=True
        )
        self._test_accuracy = add_curve(self.accuracy_plot, "test", Palette.SECOND, symbol=True)
        self.per_class_chart = TenBarChart("accuracy (%)")
        self.per_class_chart.setObjectName("perClassPlot")
        self.per_class_chart.getPlotItem().showGrid(x=True, y=True, alpha=0.2)
        self.per_class_chart.set_highlight_colour(Palette.SECOND)
        self.per_class_chart.add_value_labels(NUM_CLASSES)
        self.log_view = QPlainTextEdit(objectName="trainingLog", readOnly=True, maximumBlockCount=5000)
        self.log_view.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.log_view.setFrameShape(QFrame.Shape.NoFrame)
        self._applied_ranges: tuple[tuple[float, float], float] | None = None
        self._lay_out()
        self.reset(CurveHistory())
        self.show_per_class(None)

    def _lay_out(self) -> None:
        horizontal, handle = Qt.Orientation.Horizontal, HANDLE_WIDTH
        curves = splitter(
            horizontal, _panel("Loss", self.loss_plot), _panel("Accuracy", self.accuracy_plot), handle_width=handle
        )
        per_digit, log = _panel("Test accuracy per digit", self.per_class_chart), _panel("Log", self.log_view)
        if self.filters is None:
            bottom = splitter(horizontal, per_digit, log, handle_width=handle)
            bottom.setSizes([400, 500])
        else:
            filters = _panel("First layer's filters", self.filters)
            bottom = splitter(horizontal, per_digit, filters, log, handle_width=handle)
            bottom.setSizes([330, 220, 350])
        self.splitter = splitter(Qt.Orientation.Vertical, curves, bottom, name="trainSplitter", handle_width=handle)
        self.splitter.setSizes([480, 300])
        box(QVBoxLayout(self), self.splitter, margins=0)

    def reset(self, history: CurveHistory) -> None:
        """Empty curves, and axes for ``history``'s run."""
        for curve in (self._train_loss, self._test_loss, self._train_accuracy, self._test_accuracy):
            curve.setData([], [])
        ticks = [history.epoch_ticks(), []]
        for plot in (self.loss_plot, self.accuracy_plot):
            plot.setXRange(0, history.epochs, padding=0.02)
            plot.getAxis("bottom").setTicks(ticks)
        self._applied_ranges = None
        self._apply_ranges(history)

    def show_training(self, history: CurveHistory) -> None:
        self._train_loss.setData(*history.train_loss.thinned())
        self._train_accuracy.setData(*history.train_accuracy.thinned())
        self._apply_ranges(history)

    def show_test(self, history: CurveHistory) -> None:
        self._test_loss.setData(history.test_loss.x, history.test_loss.y)
        self._test_accuracy.setData(history.test_accuracy.x, history.test_accuracy.y)
        self._apply_ranges(history)

    def _apply_ranges(self, history: CurveHistory) -> None:
        ranges = (history.loss_range, history.accuracy_floor())
        if ranges == self._applied_ranges:
            return  # unchanged: no repaint of the axes
        self._applied_ranges = ranges
        low, high = history.loss_range
        self.loss_plot.setYRange(math.log10(low), math.log10(high), padding=0.02)
        self.accuracy_plot.setYRange(ranges[1], 100, padding=0.02)

    def show_per_class(self, per_class: tuple[float | None, ...] | list[float | None] | None) -> None:
        """Bars of per-digit test accuracy, zoomed onto the range they span; the weakest stands out."""
        if per_class is None:
            self.per_class_chart.set_bars(np.zeros(NUM_CLASSES))
            self.per_class_chart.setYRange(0, 100, padding=0)
            return
        values, base = per_class_axis(per_class)
        finite = np.isfinite(values)
        heights = np.where(finite, np.asarray(values) - base, 0.0)
        weakest = int(np.nanargmin(values)) if finite.any() else None
        texts = [(d, v if finite[d] else base, f"{v:.1f}" if finite[d] else "n/a") for d, v in enumerate(values)]
        self.per_class_chart.set_bars(heights, base=base, highlight=weakest, texts=texts)
        self.per_class_chart.setYRange(base, 100 + (100 - base) * 0.12, padding=0)

    def log(self, line: str) -> None:
        self.log_view.appendPlainText(f"{time.strftime('%H:%M:%S')}  {line}")


def describe_epoch(result: EpochResult) -> str:
    """The log's line for a finished epoch."""
    return (
        f"Epoch {result.epoch}/{result.epochs}: train loss {result.train_loss:.4f}, "
        f"accuracy {result.train_accuracy:.2%} · test loss {result.test_loss:.4f}, "
        f"accuracy {result.test_accuracy:.2%}{sample_note(result)} · {result.seconds:.1f} s; autosaved"
    )


def sample_note(result: EpochResult) -> str:
    """' on 2,000 test digits' for an epoch evaluated on a sample (all but a Best run's last), else ''."""
    return f" on {result.test_sample:,} test digits" if result.test_sample else ""


def _panel(title: str, widget: QWidget) -> QFrame:
    frame, layout = titled_panel(title)
    layout.addWidget(widget, 1)
    return frame
