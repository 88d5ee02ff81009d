"""Feature maps and kernels laid out as tiles: the grid, the tiling and the kernels' colour map."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg

#: Empty pixels between the channel tiles (shown in the background colour).
TILE_GAP = 1


def grid_shape(channels: int, tile_height: int, tile_width: int, view_aspect: float) -> tuple[int, int]:
    """(rows, columns) that show ``channels`` tiles as large as possible in a view of width/height ``view_aspect``."""
    best, best_scale = (channels, 1), -1.0
    for columns in range(1, channels + 1):
        rows = math.ceil(channels / columns)
        grid_width = columns * (tile_width + TILE_GAP) - TILE_GAP
        grid_height = rows * (tile_height + TILE_GAP) - TILE_GAP
        scale = min(view_aspect / grid_width, 1.0 / grid_height)
        if scale > best_scale + 1e-12:
            best, best_scale = (rows, columns), scale
    return best


def tile_channels(maps: np.ndarray, rows: int, columns: int, gap: int = TILE_GAP) -> np.ndarray:
    """Tile (C, H, W) maps into one (rows*(H+gap)-gap, columns*(W+gap)-gap) float32 image, NaN between tiles."""
    channels, height, width = maps.shape
    padded = np.full((rows * columns, height + gap, width + gap), np.nan, dtype=np.float32)
    padded[:channels, :height, :width] = maps
    tiled = padded.reshape(rows, columns, height + gap, width + gap).transpose(0, 2, 1, 3)
    tiled = tiled.reshape(rows * (height + gap), columns * (width + gap))
    return tiled[: tiled.shape[0] - gap, : tiled.shape[1] - gap]


#: Colours of kernel weights: negative blue, zero white, positive red.
KERNEL_COLOURS = pg.ColorMap(pos=[0.0, 0.5, 1.0], color=[(33, 102, 172), (247, 247, 247), (178, 24, 43)])
