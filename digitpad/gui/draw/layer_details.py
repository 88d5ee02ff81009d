"""The feature-map panel's extra views: the dense layer's units as bars, and one map enlarged with its kernels.

The dense layer's bars are its logits, before the softmax: what the last
layer makes of the conv blocks' maps. The kernels are those of the block's
last conv, batch norm folded in, on a blue-white-red scale (negative, zero,
positive weights); the window's note says how they make the map.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QDialog, QLabel, QVBoxLayout, QWidget

from digitpad.base.constants import NOT_A_DIGIT
from digitpad.gui.common.charts import add_image, hold_still, style_axes
from digitpad.gui.common.style import Palette, box, muted, section_title
from digitpad.gui.common.tiles import KERNEL_COLOURS


class DenseUnitsChart(pg.PlotWidget):
    """One bar per unit of the dense layer (its output for the current drawing), the largest highlighted."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, background="w")
        self.setObjectName("denseUnits")
        hold_still(self)
        style_axes(self, {"left": "output (logit)", "bottom": "unit (class)"})
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.72, pen=pg.mkPen(None))
        self.addItem(self.bars)
        self._heights = np.zeros(0, np.float32)
        self._range = 0.0

    def set_units(self, count: int) -> None:
        """The layer has ``count`` units: the ten digits, and "no digit" for an eleventh."""
        names = [str(digit) for digit in range(min(count, NOT_A_DIGIT))] + ["no"] * (count > NOT_A_DIGIT)
        self.getAxis("bottom").setTicks([list(enumerate(names))])
        self.getPlotItem().setXRange(-0.6, count - 0.4, padding=0)
        self.set_outputs(np.zeros(count, np.float32))

    def set_outputs(self, outputs: np.ndarray) -> None:
        self._heights = np.asarray(outputs, np.float32).copy()
        count = len(self._heights)
        brushes = [pg.mkBrush(Palette.BAR)] * count
        if count and np.any(self._heights):
            brushes[int(self._heights.argmax())] = pg.mkBrush(Palette.ACCENT)
        self.bars.setOpts(x=np.arange(count), height=self._heights, brushes=brushes)
        extent = float(np.abs(self._heights).max()) if count else 0.0
        # The axis only moves when the outputs outgrow it, or shrink to a quarter of it.
        if extent > self._range or extent < self._range / 4:
            self._range = max(extent * 1.15, 1.0)
            self.getPlotItem().setYRange(-self._range, self._range, padding=0)

    def outputs(self) -> np.ndarray:
        """The bar heights shown (for tests)."""
        return self._heights.copy()


class MapDetail(QDialog):
    """One channel's map enlarged, with the kernels of the conv that produced it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, objectName="featureMapDetail")
        self.setWindowTitle("Feature map")
        self.resize(760, 420)
        self.title = section_title("")
        self.note = muted(QLabel("", wordWrap=True))
        self.view = pg.GraphicsLayoutWidget()
        self.view.setBackground(Palette.DARK_PANEL)
        self.map_plot = self.view.addPlot(row=0, col=0, title="the map")
        self.kernel_plot = self.view.addPlot(row=0, col=1, title="its kernels")
        self.map_image, self.kernel_image = add_image(self.map_plot), add_image(self.kernel_plot)
        self.map_image.setColorMap(pg.colormap.get("inferno"))
        self.kernel_image.setColorMap(KERNEL_COLOURS)
        box(QVBoxLayout(self), self.title, (self.view, 1), self.note)
        self.layer, self.channel = -1, -1

    def show_channel(
        self, layer_name: str, layer: int, channel: int, kernels: np.ndarray, kernel_tiles: np.ndarray
    ) -> None:
        """Show ``channel`` of ``layer``: its ``kernels`` (in, k, k), tiled as ``kernel_tiles``."""
        self.layer, self.channel = layer, channel
        inputs, size = kernels.shape[0], kernels.shape[-1]
        source = "the input image" if inputs == 1 else f"the {inputs} maps of the block before"
        self.title.setText(f"{layer_name}, channel {channel + 1}")
        self.note.setText(
            f"This map is ReLU of the sum, over {source}, of each convolved with its {size}×{size} kernel "
            f"(right; blue negative, red positive; batch norm folded in), plus a bias; then max-pooled for "
            f"the next block. Weights from {kernels.min():+.2f} to {kernels.max():+.2f}."
        )
        peak = max(float(np.nanmax(np.abs(kernel_tiles))), 1e-6)
        self.kernel_image.setImage(kernel_tiles, autoLevels=False, levels=(-peak, peak))
        self.kernel_plot.getViewBox().autoRange(padding=0.02)
        self.setWindowTitle(f"Feature map: {layer_name}, channel {channel + 1}")

    def show_map(self, activation: np.ndarray | None) -> None:
        """The channel's map for the current drawing (None: blank)."""
        if activation is None:
            activation = np.zeros((1, 1), np.float32)
        self.map_image.setImage(activation, autoLevels=False, levels=(0.0, max(float(activation.max()), 1e-6)))
        self.map_plot.getViewBox().autoRange(padding=0.02)

    def shown_map(self) -> np.ndarray | None:
        """The enlarged map shown (for tests)."""
        return self.map_image.image
