"""Images between numpy and Qt: files read with Qt (the CLI's ``predict`` without Pillow), arrays shown as QImages."""

from __future__ import annotations

import os

import numpy as np
from PySide6.QtGui import QImage, QImageReader

from digitpad.ink.preprocess import MAX_IMAGE_PIXELS, image_too_large


def read_grey_image(path: str | os.PathLike) -> np.ndarray:
    """Read a PNG, JPEG (or any format Qt reads) as grey float32 in [0, 1].

    Transparent parts are composited onto white paper, as with Pillow in the
    CLI, so a digit drawn on a transparent background reads like ink on paper.
    Raises ValueError naming the file when Qt cannot read it, or when its
    header declares more than MAX_IMAGE_PIXELS: checked before decoding, as
    Qt's own limit (256 MB of decoded image) still lets through 64M pixels,
    several hundred megabytes once converted to float32 grey.
    """
    name = os.fspath(path)
    reader = QImageReader(name)
    size = reader.size()  # from the header; invalid if the format does not tell
    if size.isValid() and size.width() * size.height() > MAX_IMAGE_PIXELS:
        raise ValueError(image_too_large(name, size.width(), size.height()))
    image = reader.read()
    if image.isNull():
        raise ValueError(f"{name}: not a readable image ({reader.errorString()})")
    if image.hasAlphaChannel():
        # Premultiplied ARGB over white: grey = value + (1 - alpha).
        rgba = image.convertToFormat(QImage.Format.Format_RGBA8888_Premultiplied)
        pixels = _as_array(rgba, channels=4).astype(np.float32) / 255
        grey = pixels[..., 0] * 0.299 + pixels[..., 1] * 0.587 + pixels[..., 2] * 0.114
        return np.clip(grey + (1.0 - pixels[..., 3]), 0.0, 1.0).astype(np.float32)
    grey8 = image.convertToFormat(QImage.Format.Format_Grayscale8)
    return _as_array(grey8, channels=1).astype(np.float32) / 255


def _as_array(image: QImage, channels: int) -> np.ndarray:
    """Copy of ``image``'s pixels as (height, width[, channels]) uint8, without row padding."""
    height, width = image.height(), image.width()
    buffer = np.frombuffer(image.constBits(), dtype=np.uint8, count=image.bytesPerLine() * height)
    rows = buffer.reshape(height, image.bytesPerLine())[:, : width * channels]
    array = rows.reshape(height, width, channels) if channels > 1 else rows
    return array.copy()


Format = QImage.Format
_FORMATS = {1: Format.Format_Grayscale8, 3: Format.Format_RGB888, 4: Format.Format_ARGB32_Premultiplied}


def array_image(pixels: np.ndarray) -> QImage:
    """uint8 pixels as a QImage that owns a copy of them: grey (H, W), RGB (H, W, 3) or premultiplied ARGB32
    (H, W, 4: B, G, R, A in memory on little-endian machines). A grey image of floats is taken to be in [0, 1]."""
    pixels = np.asarray(pixels)
    if pixels.dtype != np.uint8:
        pixels = np.rint(np.clip(pixels, 0.0, 1.0) * 255).astype(np.uint8)
    pixels = np.ascontiguousarray(pixels)
    height, width = pixels.shape[:2]
    channels = pixels.shape[2] if pixels.ndim == 3 else 1
    # A copy: the QImage would otherwise point into the numpy buffer, which goes away.
    return QImage(pixels.data, width, height, width * channels, _FORMATS[channels]).copy()
