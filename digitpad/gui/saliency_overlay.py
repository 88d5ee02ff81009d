"""The saliency overlay: which ink makes the selected digit *this* digit, on the 28x28 preview and on the pad.

A checkable button (objectName ``saliencyToggle``) turns it on. The map is
:func:`digitpad.explain.saliency` (integrated gradients from paper) of the
selected character's input, drawn as a translucent heat colour over the
preview and, through :func:`digitpad.explain.input_on_pad`, over the strokes
on the pad.

It follows the pen while one map costs less than :data:`LIVE_BUDGET_MS`
(a few milliseconds on an idle machine); when it costs more (a busy
machine, a slow CPU), the map is left as it was while the pen moves and is
computed when the pen lifts, so drawing never waits for it. A character
whose strokes did not change keeps its map (the reader hands back the same
prediction object for it).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QObject, QRectF
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QPushButton, QWidget

from digitpad.explain import input_on_pad, saliency
from digitpad.gui.style import Palette, qcolor

if TYPE_CHECKING:
    from digitpad.inference import Prediction, Predictor
    from digitpad.reading import Reading
    from digitpad.strokes import Stroke

#: A live map (while the pen moves) is computed only if the last one took less than this (CPU ms):
#: with the prediction's own ~2 ms it keeps a pen event's update well inside a 33 ms frame budget.
LIVE_BUDGET_MS = 20.0
#: The overlay's opacity where the map is at its peak.
PEAK_ALPHA = 0.85


def heat_image(heat: np.ndarray) -> QImage:
    """``heat`` (H, W) >= 0 as a premultiplied ARGB image: the saliency colour, opaque where it peaks.

    The square root spreads the colour over the weaker pixels too, so the
    shape of what matters shows, not only its single brightest pixel.
    """
    peak = float(heat.max()) if heat.size else 0.0
    strength = np.sqrt(heat / peak) if peak > 0 else np.zeros_like(heat)
    alpha = np.clip(strength * PEAK_ALPHA * 255, 0, 255).astype(np.float32)
    colour = qcolor(Palette.SALIENCY)
    height, width = heat.shape
    pixels = np.empty((height, width, 4), np.uint8)  # B, G, R, A in memory (little-endian ARGB32)
    for channel, value in enumerate((colour.blue(), colour.green(), colour.red())):
        pixels[..., channel] = np.rint(alpha * value / 255).astype(np.uint8)
    pixels[..., 3] = np.rint(alpha).astype(np.uint8)
    image = QImage(pixels.data, width, height, width * 4, QImage.Format.Format_ARGB32_Premultiplied)
    return image.copy()  # owns its pixels: the numpy buffer goes away


class SaliencyOverlay(QObject):
    """Owns the toggle, computes the map of the shown character and hands the images to the preview and pad.

    ``preview`` and ``pad`` need ``set_overlay(QImage | None)`` and
    ``set_overlay(QImage | None, QRectF | None)`` respectively.
    """

    def __init__(self, preview: QWidget, pad: QWidget, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.preview, self.pad = preview, pad
        self.toggle = QPushButton("Show why")
        self.toggle.setObjectName("saliencyToggle")
        self.toggle.setCheckable(True)
        self.toggle.setToolTip(
            "Colour the ink that makes the network read this digit (integrated gradients from blank paper), "
            "on the 28x28 input and on the pad"
        )
        self.toggle.toggled.connect(self._on_toggled)
        self._last: tuple[Predictor | None, list[Stroke], Reading | None, int | None] = (None, [], None, None)
        self._shown_for: Prediction | None = None
        self._heat: np.ndarray | None = None
        self.last_ms = 0.0

    def is_on(self) -> bool:
        return self.toggle.isChecked()

    def heat(self) -> np.ndarray | None:
        """The map shown (28, 28), or None (for tests and tools)."""
        return None if self._heat is None else self._heat.copy()

    def update_for(
        self, predictor: Predictor | None, strokes: list[Stroke], reading: Reading | None, selected: int | None
    ) -> None:
        """The Draw tab shows ``reading``'s ``selected`` character: follow it if the overlay is on."""
        self._last = (predictor, strokes, reading, selected)
        if not self.is_on():
            return
        if predictor is None or reading is None or selected is None:
            self._show(None, None, None)
            return
        prediction = reading.characters[selected].prediction
        if prediction is self._shown_for:
            return  # its strokes did not change: the map neither
        drawing = getattr(self.pad, "is_drawing", lambda: False)()
        if drawing and self.last_ms > LIVE_BUDGET_MS:
            return  # too slow to follow the pen here: computed when it lifts
        started = time.thread_time()
        heat = saliency(predictor, prediction.stages.normalised)
        mapping = input_on_pad(strokes, reading.characters[selected].character, prediction.stages)
        self.last_ms = (time.thread_time() - started) * 1000
        self._show(prediction, heat, QRectF(*mapping.rect()))

    def _show(self, prediction: Prediction | None, heat: np.ndarray | None, rect: QRectF | None) -> None:
        self._shown_for, self._heat = prediction, heat
        image = heat_image(heat) if heat is not None else None
        self.preview.set_overlay(image)
        self.pad.set_overlay(image, rect)

    def _on_toggled(self, on: bool) -> None:
        if on:
            self._shown_for = None
            self.update_for(*self._last)
        else:
            self._show(None, None, None)
