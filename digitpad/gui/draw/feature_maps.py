"""The feature-map panel: every channel of one conv block as a grid of small images, or the dense layer.

One layer is shown at a time (a combo box picks it): each conv block, then
the dense layer, whose units (one per class) are a bar chart. A click on a
channel's map opens it enlarged with the kernels that produced it
(:mod:`digitpad.gui.draw.layer_details`). Its channels are tiled
into a single image with numpy, shown by one pyqtgraph ImageItem created
once and updated with ``setImage``; only the visible layer is ever tiled, so
a live update costs one small numpy copy and one repaint whatever the model's
size. A colour bar gives the scale.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtGui import QResizeEvent, QShowEvent
from PySide6.QtWidgets import QComboBox, QGraphicsItem, QHBoxLayout, QLabel, QStackedWidget, QVBoxLayout, QWidget

from digitpad.gui.common.charts import add_image
from digitpad.gui.common.style import Palette, box, muted, section_title
from digitpad.gui.common.tiles import TILE_GAP, grid_shape, tile_channels
from digitpad.gui.draw.layer_details import DenseUnitsChart, MapDetail

if TYPE_CHECKING:
    from digitpad.model.inference import Predictor

COLOUR_MAP_NAME = "inferno"
#: Pixels of the view's width taken by the colour bar, its axis and its label.
COLOUR_BAR_ALLOWANCE = 90


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 1.5, 2, 3, 5, 7.5 times a power of ten that is >= ``value`` (> 0).

    The colour scale's top snaps to these, so it moves only when the maps'
    peak crosses one: a steadier legend, and one fewer axis redraw per update.
    """
    if value <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    for step in (1.0, 1.5, 2.0, 3.0, 5.0, 7.5, 10.0):
        if step * power >= value * (1 - 1e-9):
            return step * power
    return 10.0 * power


class FeatureMapPanel(QWidget):
    """Feature maps of the current prediction (objectName ``featureMaps``)."""

    layerChanged = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, objectName="featureMaps")
        self._names: list[str] = []
        self._shapes: list[tuple[int, int, int]] = []
        self._activations: tuple[np.ndarray, ...] | None = None
        self._grid: tuple[int, int] | None = None
        self._shown_layer = -1
        self._levels: tuple[float, float] | None = None
        self._predictor: Predictor | None = None
        self._kernels: list[np.ndarray] = []

        header = self._build_header()
        self._build_view()
        self.dense_chart = DenseUnitsChart()
        self.pages = QStackedWidget()
        self.pages.addWidget(self.view)
        self.pages.addWidget(self.dense_chart)
        self.detail: MapDetail | None = None
        box(QVBoxLayout(self), header, (self.pages, 1), margins=0, spacing=6)
        self.plot.scene().sigMouseClicked.connect(self._on_clicked)
        self.clear()

    def _build_header(self) -> QHBoxLayout:
        """Title, layer selector and a summary of the layer shown."""
        self.title = section_title("Feature maps")
        self.layer_selector = QComboBox(objectName="layerSelector")
        self.layer_selector.setToolTip(
            "Which layer to show: a conv block's small images are its channels' outputs (after ReLU) "
            "for the current drawing, bright means strongly active, and a click on one enlarges it with its "
            "kernels; the dense layer's bars are its outputs, one per class."
        )
        self.layer_selector.currentIndexChanged.connect(self._on_layer_selected)
        self.summary = muted(QLabel("", objectName="featureSummary"))
        return box(
            QHBoxLayout(), self.title, 12, QLabel("Layer:"), self.layer_selector, 12, (self.summary, 1), margins=0
        )

    def _build_view(self) -> None:
        """One image of all the channels' maps, tiled, with a colour bar on a shared scale."""
        self.view = pg.GraphicsLayoutWidget()
        self.view.setObjectName("featureMapView")
        self.view.setBackground(Palette.DARK_PANEL)
        self.view.setMinimumHeight(120)
        self.view.ci.layout.setContentsMargins(4, 4, 4, 4)
        self.plot = self.view.addPlot()
        self.image = add_image(self.plot)
        self.plot.getViewBox().setDefaultPadding(0.01)
        colour_map = pg.colormap.get(COLOUR_MAP_NAME)
        self.colour_bar = pg.ColorBarItem(
            values=(0.0, 1.0), colorMap=colour_map, interactive=False, width=14, label="activation", colorMapMenu=False
        )
        self.colour_bar.setImageItem(self.image, insert_in=self.plot)
        colour_bar_axis = self.colour_bar.getAxis("right")
        colour_bar_axis.setTextPen(Palette.DARK_PANEL_TEXT)
        colour_bar_axis.setPen(Palette.DARK_PANEL_TEXT)
        # Redrawn only when the scale changes, not with every new image.
        colour_bar_axis.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)

    def set_layers(self, names: list[str], shapes: list[tuple[int, int, int]]) -> None:
        """The model's blocks: names and (channels, height, width) of their outputs."""
        current = self.layer_selector.currentIndex()
        self._names, self._shapes = list(names), [tuple(int(v) for v in shape) for shape in shapes]
        with QSignalBlocker(self.layer_selector):
            self.layer_selector.clear()
            for name, (channels, height, width) in zip(self._names, self._shapes, strict=True):
                self.layer_selector.addItem(f"{name}: {channels} × {height}×{width}")
            if self._names:
                self.layer_selector.setCurrentIndex(min(max(current, 0), len(self._names) - 1))
        self._activations = None
        self._grid = None
        self._shown_layer = -1
        self._refresh()

    def set_model(self, predictor: Predictor | None) -> None:
        """The model whose kernels and dense layer are shown (call after :meth:`set_layers`)."""
        from digitpad.model.explain import conv_kernels

        self._predictor = predictor
        self._kernels = conv_kernels(predictor) if predictor is not None else []
        if predictor is not None:
            units = predictor.model.config.num_classes
            with QSignalBlocker(self.layer_selector):
                self.layer_selector.addItem(f"dense: {units} units (one per class)")
            self.dense_chart.set_units(units)
        if self.detail is not None:
            self.detail.hide()
        self._refresh()

    def is_dense(self, index: int) -> bool:
        """Whether layer ``index`` of the selector is the dense layer (it follows the conv blocks)."""
        return index == len(self._shapes) and self._predictor is not None

    def current_layer(self) -> int:
        return self.layer_selector.currentIndex()

    def set_current_layer(self, index: int) -> None:
        if 0 <= index < self.layer_selector.count():
            self.layer_selector.setCurrentIndex(index)

    def show_activations(self, activations: tuple[np.ndarray, ...] | None) -> None:
        """Show the maps of a new prediction (None: nothing drawn).

        While the panel is hidden (another tab is shown) the maps are only
        kept; showing the panel draws the latest ones.
        """
        self._activations = activations
        if self.isVisible():
            self._refresh()

    def clear(self) -> None:
        self.show_activations(None)

    def displayed_image(self) -> np.ndarray | None:
        """The tiled image currently shown (for tests), or None."""
        return self.image.image

    def _on_layer_selected(self, index: int) -> None:
        self._grid = None
        self._refresh()
        self.layerChanged.emit(index)

    def _layer_grid(self, layer: int) -> tuple[int, int]:
        if self._grid is None or self._shown_layer != layer:
            channels, height, width = self._shapes[layer]
            # The colour bar and its axis take a strip on the right; tiles get the rest.
            tiles_width = max(self.view.width() - COLOUR_BAR_ALLOWANCE, 1)
            aspect = tiles_width / self.view.height() if self.view.height() > 0 else 3.0
            self._grid = grid_shape(channels, height, width, max(aspect, 0.2))
        return self._grid

    def _refresh(self) -> None:
        layer = self.layer_selector.currentIndex()
        if self.is_dense(layer):
            self._refresh_dense()
            return
        self.pages.setCurrentIndex(0)
        if layer < 0 or layer >= len(self._shapes):
            self.image.setImage(np.full((1, 1), np.nan, np.float32), autoLevels=False)
            self.summary.setText("No model loaded")
            return
        channels, height, width = self._shapes[layer]
        rows, columns = self._layer_grid(layer)
        maps = None if self._activations is None else self._activations[layer]
        if maps is None or maps.shape != (channels, height, width):
            maps = np.zeros((channels, height, width), np.float32)
            peak = 1.0
            self.summary.setText(f"{channels} channels of {height}×{width}: draw a digit to see them")
        else:
            peak = float(maps.max())
            active = int((maps.reshape(channels, -1).max(axis=1) > 0).sum())
            self.summary.setText(f"{channels} channels of {height}×{width}, {active} active; max {peak:.2f}")
        tiled = tile_channels(maps, rows, columns)
        first_show = self._shown_layer != layer
        levels = (0.0, nice_ceiling(peak))
        self.image.setImage(tiled, autoLevels=False, levels=levels)
        if levels != self._levels:
            self._levels = levels
            self.colour_bar.setLevels(levels)
        if first_show:
            self._shown_layer = layer
            self.plot.getViewBox().autoRange(padding=0.01)
        if self.detail is not None and self.detail.isVisible() and self.detail.layer == layer:
            self.detail.show_map(maps[self.detail.channel])

    def _refresh_dense(self) -> None:
        from digitpad.model.explain import dense_outputs

        self.pages.setCurrentIndex(1)
        units = self._predictor.model.config.num_classes
        if self._activations is None:
            self.dense_chart.set_outputs(np.zeros(units, np.float32))
            self.summary.setText(f"{units} units: draw a digit to see them")
            return
        outputs = dense_outputs(self._predictor, self._activations[-1])
        self.dense_chart.set_outputs(outputs)
        self.summary.setText(
            f"{units} units, from the last block's pooled maps; the largest, {int(outputs.argmax())}, "
            f"is the answer (its logit {outputs.max():.1f})"
        )

    def tile_grid(self) -> tuple[int, int] | None:
        """(rows, columns) of the tiles shown, or None before the first."""
        return self._grid

    def channel_at(self, x: float, y: float) -> int | None:
        """The channel whose tile holds the point (x, y) of the tiled image, or None (a gap, outside)."""
        layer = self.layer_selector.currentIndex()
        if not 0 <= layer < len(self._shapes) or self._grid is None or x < 0 or y < 0:
            return None
        channels, height, width = self._shapes[layer]
        rows, columns = self._grid
        column, across = divmod(x, width + TILE_GAP)
        row, down = divmod(y, height + TILE_GAP)
        channel = int(row) * columns + int(column)
        if across >= width or down >= height or column >= columns or channel >= channels:
            return None
        return channel

    def _on_clicked(self, event: object) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        point = self.image.mapFromScene(event.scenePos())
        channel = self.channel_at(point.x(), point.y())
        if channel is not None:
            self.open_detail(channel)

    def open_detail(self, channel: int) -> MapDetail:
        """Show ``channel`` of the current conv block enlarged, with its kernels."""
        layer = self.layer_selector.currentIndex()
        if self.detail is None:
            self.detail = MapDetail(self)
        kernels = self._kernels[layer][channel]
        rows, columns = grid_shape(kernels.shape[0], kernels.shape[1], kernels.shape[2], 1.0)
        self.detail.show_channel(self._names[layer], layer, channel, kernels, tile_channels(kernels, rows, columns))
        maps = None if self._activations is None else self._activations[layer]
        self.detail.show_map(None if maps is None else maps[channel])
        self.detail.show()
        self.detail.raise_()
        return self.detail

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self._shapes:
            self._grid = None
            self._shown_layer = -1
            self._refresh()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._grid = None
        self._shown_layer = -1
        self._refresh()
