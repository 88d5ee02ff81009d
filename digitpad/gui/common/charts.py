"""pyqtgraph charts built one way: plots with the window's axes, and the ten-bar chart.

Plots are built once and updated in place (``setData``, ``setOpts``) on
ranges set by hand: an auto-ranged axis repaints the whole plot with new
ticks at every update, which at ten updates a second costs the GUI thread
tens of milliseconds each time.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QGraphicsItem, QWidget

from digitpad.base.constants import NUM_CLASSES
from digitpad.gui.common.style import Palette, small_font


def style_axes(plot: pg.PlotWidget, labels: dict[str, str] | None = None, font: QFont | None = None) -> None:
    """The window's axis look on ``plot``: grey axes, small dark labels (``font``), cached drawing."""
    font = font or small_font(plot)
    for name in ("left", "bottom"):
        axis = plot.getAxis(name)
        axis.setPen(Palette.AXIS)
        axis.setTextPen(Palette.AXIS_TEXT)
        if labels and name in labels:
            axis.setLabel(labels[name], color=Palette.AXIS_TEXT)
        # Major ticks only: a finer grid is clutter at this size.
        axis.setStyle(tickFont=font, maxTickLevel=0)
        # Redraw axes (and their grid lines) only when their range changes, not with every update.
        axis.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)


def hold_still(plot: pg.PlotWidget | pg.PlotItem) -> None:
    """No context menu, no mouse pan or zoom, no auto-range button: a figure to read, not to explore."""
    plot.setMenuEnabled(False)
    plot.setMouseEnabled(x=False, y=False)
    plot.hideButtons()


def add_image(plot: pg.PlotItem, axes: bool = False) -> pg.ImageItem:
    """Make ``plot`` a still frame for one image (square pixels, rows downwards; axes only if ``axes``); its item."""
    if not axes:
        for axis in ("left", "bottom"):
            plot.hideAxis(axis)
    hold_still(plot)
    plot.invertY(True)
    plot.setAspectLocked(True)
    image = pg.ImageItem(axisOrder="row-major")
    plot.addItem(image)
    return image


def make_plot(y_label: str, x_label: str = "epoch", parent: QWidget | None = None) -> pg.PlotWidget:
    """A white plot with a light grid and the window's axes, no menu and no auto-range button."""
    plot = pg.PlotWidget(parent, background="w")
    plot.setMinimumSize(220, 150)
    item = plot.getPlotItem()
    item.showGrid(x=True, y=True, alpha=0.2)
    hold_still(item)
    style_axes(plot, {"left": y_label, "bottom": x_label})
    return plot


def add_curve(plot: pg.PlotWidget, name: str, colour: str, *, symbol: bool, legend_at_bottom: bool = False):
    """A named curve (with a legend entry) on ``plot``; ``symbol`` marks each point with a dot."""
    if plot.getPlotItem().legend is None:
        # Negative offsets anchor the legend at the right / bottom edge.
        offset = (-10, -10) if legend_at_bottom else (-10, 10)
        legend = plot.addLegend(offset=offset, labelTextColor=Palette.AXIS_TEXT)
        legend.setBrush(pg.mkBrush(255, 255, 255, 220))
        legend.setPen(pg.mkPen(Palette.AXIS))
    options = {"pen": pg.mkPen(colour, width=2), "name": name, "antialias": True}
    if symbol:
        options.update(symbol="o", symbolSize=8, symbolBrush=colour, symbolPen=pg.mkPen("w", width=1))
    curve = plot.plot([], [], **options)
    # Drawn as separate segments, not one path: Qt's raster engine strokes a wide antialiased path of 600
    # points in 45-120 ms (2 cores, more as the curve crosses the plot), the segments in 8-22 ms, and they look
    # the same (bench/curve_paint.py). The GUI thread holds the GIL while it paints: a training run waits.
    curve.curve.setSegmentedLineMode("on")
    return curve


class TenBarChart(pg.PlotWidget):
    """One bar per digit, with a figure written over some of them; built once, updated with ``setOpts``.

    The Draw tab's probabilities and the Train tab's per-digit accuracy are both this chart.
    """

    def __init__(self, y_label: str | None = None, *, font: QFont | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent, background="w")
        self._font = font or small_font(self)
        self.setMinimumHeight(150)
        hold_still(self)
        self.getPlotItem().setXRange(-0.6, NUM_CLASSES - 0.4, padding=0)
        style_axes(self, {"left": y_label, "bottom": "digit"} if y_label else None, self._font)
        self.getAxis("bottom").setTicks([[(digit, str(digit)) for digit in range(NUM_CLASSES)]])
        self._plain = pg.mkBrush(Palette.BAR)
        self._highlight = pg.mkBrush(Palette.ACCENT)
        self.bars = pg.BarGraphItem(
            x=np.arange(NUM_CLASSES),
            height=np.zeros(NUM_CLASSES),
            width=0.72,
            brushes=[self._plain] * NUM_CLASSES,
            pen=pg.mkPen(None),
        )
        self.addItem(self.bars)
        self._labels: list[pg.TextItem] = []
        self._heights = np.zeros(NUM_CLASSES, np.float32)

    def set_highlight_colour(self, colour: str) -> None:
        self._highlight = pg.mkBrush(colour)

    def add_value_labels(self, count: int) -> None:
        """Room for ``count`` figures written over bars (see :meth:`set_bars`)."""
        for _ in range(count):
            label = pg.TextItem("", color=Palette.VALUE_TEXT, anchor=(0.5, 1.0))
            label.setFont(self._font)
            self.addItem(label)
            self._labels.append(label)

    def set_bars(
        self,
        heights: np.ndarray,
        *,
        base: float = 0.0,
        highlight: int | None = None,
        texts: Sequence[tuple[int, float, str]] = (),
    ) -> None:
        """Bars of ``heights`` from ``base``; ``highlight`` one; write each (digit, y, text) of ``texts``."""
        self._heights = np.asarray(heights, np.float32).copy()
        brushes = [self._plain] * NUM_CLASSES
        if highlight is not None:
            brushes[highlight] = self._highlight
        self.bars.setOpts(height=self._heights, y0=base, brushes=brushes)
        for index, label in enumerate(self._labels):
            if index < len(texts):
                digit, y, text = texts[index]
                label.setText(text)
                label.setPos(digit, y)
            else:
                label.setText("")

    def heights(self) -> np.ndarray:
        """The bar heights shown (for tests)."""
        return self._heights.copy()
