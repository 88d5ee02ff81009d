"""The saliency overlay: which ink makes the selected digit *this* digit, on the 28x28 preview and on the pad.

A checkable button (objectName ``saliencyToggle``) turns it on. The map is
:func:`digitpad.model.explain.saliency` (integrated gradients from paper) of the
selected character's input, drawn as a translucent heat colour over the
preview and, through :func:`digitpad.model.explain.input_on_pad`, over the strokes
on the pad.

While the pen moves, the map is made with :data:`LIVE_STEPS` steps of the
integral (half the cost; the deletion test ranks pixels as well with 8 as
with 16), and only while that costs less than :data:`LIVE_BUDGET_MS`,
judged by the last map's cost per step. When it would cost more (a busy
machine, a slow CPU), the overlay is taken off while the pen moves and the
map is computed when the pen lifts, so drawing never waits for it. When
the pen lifts the map has the full :data:`~digitpad.model.explain.DEFAULT_STEPS`.
A character whose strokes did not change keeps its map (the reader hands
back the same prediction object for it).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QObject, QRectF
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QPushButton, QWidget

from digitpad.gui.common.image_io import array_image
from digitpad.gui.common.style import Palette, qcolor
from digitpad.model.explain import DEFAULT_STEPS, input_on_pad, saliency

if TYPE_CHECKING:
    from digitpad.ink.strokes import Stroke
    from digitpad.model.inference import Prediction, Predictor
    from digitpad.model.reader import Reading

#: Steps of the integral for a live map (while the pen moves).
LIVE_STEPS = 8
#: A live map is made only if it should cost less than this (CPU ms, from the last map's cost per
#: step): with the prediction's own few milliseconds a pen event's update stays within 33 ms.
LIVE_BUDGET_MS = 10.0
#: The overlay's opacity where the map is at its peak.
PEAK_ALPHA = 0.85


def _strength_and_colours(heat: np.ndarray) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """``heat`` scaled to [0, 1] by its peak, square-rooted; and (weak, strong) colour of each channel in ARGB32's
    memory order (B, G, R): the saliency colour, and the peak colour.

    The square root spreads the colour over the weaker pixels too, so the
    shape of what matters shows, not only its single brightest pixel.
    """
    peak = float(heat.max()) if heat.size else 0.0
    strength = np.sqrt(heat / peak) if peak > 0 else np.zeros_like(heat)
    low, high = qcolor(Palette.SALIENCY), qcolor(Palette.SALIENCY_PEAK)
    return strength, [(low.blue(), high.blue()), (low.green(), high.green()), (low.red(), high.red())]


def heat_image(heat: np.ndarray) -> QImage:
    """``heat`` (H, W) >= 0 as a premultiplied ARGB image: transparent where it is 0, opaque at its peak,
    from the saliency colour (weak) to the peak colour (strong)."""
    strength, colours = _strength_and_colours(heat)
    alpha = np.clip(strength * PEAK_ALPHA, 0.0, 1.0)
    pixels = np.empty((*heat.shape, 4), np.uint8)
    for channel, (weak, strong) in enumerate(colours):
        pixels[..., channel] = np.rint(alpha * (weak + (strong - weak) * strength)).astype(np.uint8)
    pixels[..., 3] = np.rint(alpha * 255).astype(np.uint8)
    return array_image(pixels)


def glow_image(heat: np.ndarray) -> QImage:
    """``heat`` as an opaque image for the pad, black (nothing) through red to yellow (the peak).

    The pad screens it over its ink (``CompositionMode_Screen``): black ink takes
    the colour, white paper stays white, and black leaves everything as it was.
    """
    strength, colours = _strength_and_colours(heat)
    # Black -> the saliency colour over the first half, -> the peak colour over the second.
    first, second = np.clip(2 * strength, 0.0, 1.0), np.clip(2 * strength - 1, 0.0, 1.0)
    pixels = np.full((*heat.shape, 4), 255, np.uint8)
    for channel, (weak, strong) in enumerate(colours):
        pixels[..., channel] = np.rint(first * weak + second * (strong - weak)).clip(0, 255).astype(np.uint8)
    return array_image(pixels)


class SaliencyOverlay(QObject):
    """Owns the toggle, computes the map of the shown character and hands the images to the preview and pad.

    ``preview`` and ``pad`` need ``set_overlay(QImage | None)`` and
    ``set_overlay(QImage | None, QRectF | None)`` respectively.
    """

    def __init__(self, preview: QWidget, pad: QWidget, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.preview, self.pad = preview, pad
        self.toggle = QPushButton("Show why", objectName="saliencyToggle", checkable=True)
        self.toggle.setToolTip(
            "Colour the ink that makes the network read this digit (integrated gradients from blank paper), "
            "on the 28x28 input and on the pad"
        )
        self.toggle.toggled.connect(self._on_toggled)
        self._last: tuple[Predictor | None, list[Stroke], Reading | None, int | None] = (None, [], None, None)
        self._shown_for: Prediction | None = None
        self._heat: np.ndarray | None = None
        #: CPU time of the last map, and per step of its integral.
        self.last_ms = 0.0
        self._ms_per_step = 0.0
        self._final = False

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
        live = self.pad.is_drawing()
        if prediction is self._shown_for and (live or self._final):
            return  # its strokes did not change: the map neither
        if live and self._ms_per_step * LIVE_STEPS > LIVE_BUDGET_MS:
            self._show(None, None, None)  # too slow to follow the pen here: made when it lifts
            return
        steps = LIVE_STEPS if live else DEFAULT_STEPS
        started = time.thread_time()
        heat = saliency(predictor, prediction.stages.normalised, steps=steps)
        mapping = input_on_pad(strokes, reading.characters[selected].character, prediction.stages)
        self.last_ms = (time.thread_time() - started) * 1000
        self._ms_per_step = self.last_ms / steps
        self._show(prediction, heat, QRectF(*mapping.rect()))
        self._final = not live

    def _show(self, prediction: Prediction | None, heat: np.ndarray | None, rect: QRectF | None) -> None:
        self._shown_for, self._heat, self._final = prediction, heat, False
        self.preview.set_overlay(heat_image(heat) if heat is not None else None)
        self.pad.set_overlay(glow_image(heat) if heat is not None else None, rect)

    def _on_toggled(self, on: bool) -> None:
        if on:
            self._shown_for = None
            self.update_for(*self._last)
        else:
            self._show(None, None, None)
