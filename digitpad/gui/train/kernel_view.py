"""The first layer's kernels as they learn (objectName ``trainingFilters``), in the Train tab.

Each progress report of a run carries a copy of the first conv's kernels
(``BatchProgress.first_filters``, a few kilobytes made on the training
thread), so this view never touches the model being trained. The kernels
are tiled into one image on a blue-white-red scale (negative, zero,
positive weights), each kernel scaled by its largest weight so that its
shape shows, updated with ``setImage``; the line under it says how far
they have moved since the run began.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from digitpad.gui.common.charts import add_image
from digitpad.gui.common.style import Palette, box, muted
from digitpad.gui.common.tiles import KERNEL_COLOURS, grid_shape, tile_channels
from digitpad.gui.train.session import TrainingSession
from digitpad.training.config import BatchProgress

#: Width / height of the tiles' area, for the grid's shape.
VIEW_ASPECT = 1.2


class KernelView(QWidget):
    """The first conv's kernels of the run under way (or the last one) of ``session``."""

    def __init__(self, session: TrainingSession | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent, objectName="trainingFilters")
        self.setToolTip(
            "The first layer's filters (5x5 kernels, one per channel) as training changes them: "
            "blue weights are negative, red positive. They start as noise and turn into stroke and edge detectors."
        )
        self.view = pg.GraphicsLayoutWidget()
        self.view.setBackground(Palette.DARK_PANEL)
        self.view.setMinimumSize(120, 100)
        self.view.ci.layout.setContentsMargins(2, 2, 2, 2)
        self.plot = self.view.addPlot()
        self.image = add_image(self.plot)
        self.image.setColorMap(KERNEL_COLOURS)
        self.caption = muted(
            QLabel("Start a run to watch them learn", objectName="trainingFiltersCaption", wordWrap=True)
        )
        box(QVBoxLayout(self), (self.view, 1), self.caption, margins=0, spacing=4)
        self._first: np.ndarray | None = None
        self._filters: np.ndarray | None = None
        self._grid: tuple[int, int] | None = None
        if session is not None:
            session.runStarted.connect(lambda _config: self.start_run())
            session.batchProgress.connect(self.show_progress)

    def start_run(self) -> None:
        """A new run: the next filters are its starting point."""
        self._first = None

    def show_progress(self, event: BatchProgress) -> None:
        """Show the filters a progress report carries (reports without them are ignored)."""
        if event.first_filters is None:
            return
        filters = np.asarray(event.first_filters, np.float32)
        if self._first is None or self._first.shape != filters.shape:
            self._first = filters.copy()
            channels, height, width = filters.shape
            self._grid = grid_shape(channels, height, width, VIEW_ASPECT)
        self._filters = filters
        # Each kernel on its own scale: the shape of each filter shows, however small its weights.
        peaks = np.abs(filters).reshape(len(filters), -1).max(axis=1)
        scaled = filters / np.maximum(peaks, 1e-12)[:, None, None]
        self.image.setImage(tile_channels(scaled, *self._grid), autoLevels=False, levels=(-1.0, 1.0))
        self.plot.getViewBox().autoRange(padding=0.02)
        moved = float(np.linalg.norm(filters - self._first) / max(np.linalg.norm(self._first), 1e-12))
        self.caption.setText(
            f"{filters.shape[0]} kernels {filters.shape[1]}×{filters.shape[2]} (each on its own scale), "
            f"epoch {event.epoch}, batch {event.batch}: moved {moved:.0%} since the run began"
        )

    def shown_filters(self) -> np.ndarray | None:
        """The kernels shown (for tests)."""
        return None if self._filters is None else self._filters.copy()
