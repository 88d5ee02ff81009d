"""Turn a drawing into the 28x28 image that MNIST itself would have made of it.

MNIST's recipe (LeCun et al.): the digit's bounding box is scaled so that its
longer side is 20 px, keeping the aspect ratio, with anti-aliasing (which
turns the binary scan into grey levels); the result is put in a 28x28 frame
so that its intensity centre of mass sits at the centre. Measured on the 60k
training digits, that centre is pixel index (14.0, 14.0) with a spread of
0.29 px, i.e. an integer translation, which is what we do too.

Pure numpy: no Qt, no torch. The GUI passes the pad's pixels in, and the
training code uses the same constants, so both see the same images.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from digitpad.base.constants import MNIST_BOX, MNIST_MEAN, MNIST_SIZE, MNIST_STD

#: Pixels at or below this ink level (0..1) do not count for the bounding
#: box: they are the faint fringe of anti-aliasing, not the digit.
INK_THRESHOLD = 0.05

#: Where MNIST puts the centre of mass (row, column), in pixel indices.
MNIST_CENTRE = 14.0

#: The most pixels an image file may decode to (4096x4096). A photo or scan
#: of a digit needs far fewer, and the pipeline keeps several float32 copies
#: of it: Pillow's own limit (89M pixels, a warning; 179M, an error) lets a
#: 12000x12000 PNG take about 2 GB before anything is read from it.
MAX_IMAGE_PIXELS = 4096 * 4096


def image_too_large(name: object, width: int, height: int) -> str:
    """The one line refusing an image of ``width`` x ``height`` pixels, more than MAX_IMAGE_PIXELS."""
    return f"{name}: image too large ({width}x{height} pixels; at most {MAX_IMAGE_PIXELS:,}, e.g. 4096x4096)"


#: Median stroke width of MNIST digits at 28x28, measured as 2*area/perimeter
#: of the pixels above 0.5 over the training set (10th-90th percentile:
#: 1.8 to 3.5 px).
MNIST_STROKE_WIDTH = 2.5

#: The pad's default pen width as a fraction of the pad's height. A digit
#: drawn at a typical size, about 60% of the pad's height, is scaled by
#: 20 / (0.6 * height) into the 20 px box, so its stroke lands at
#: 0.07 * height * 20 / (0.6 * height) = 2.3 px, plus about half a pixel of
#: anti-aliasing blur: MNIST's 2.5 px. Digits drawn smaller come out bolder,
#: larger ones thinner, exactly as with a real pen; training augments stroke
#: width over that range (see augment.py).
PEN_WIDTH_FRACTION = 0.07


@dataclass(frozen=True)
class PreprocessResult:
    """Every stage of the pipeline, for display and for the model.

    All arrays are float32. Ink is bright (1.0), paper is 0.0, as in MNIST.
    """

    #: The ink's bounding box cut out of the canvas, at canvas resolution.
    cropped: np.ndarray
    #: ``cropped`` scaled so that its longer side is MNIST_BOX px.
    scaled: np.ndarray
    #: ``scaled`` placed in the MNIST_SIZE square by its centre of mass, in [0, 1].
    centred: np.ndarray
    #: ``centred`` standardised with MNIST's mean and std: the model's input.
    normalised: np.ndarray
    #: (top, left, bottom, right) of the ink in canvas pixels, bottom/right exclusive.
    bbox: tuple[int, int, int, int]


def as_ink(canvas: np.ndarray) -> np.ndarray:
    """Return ``canvas`` as float32 ink in [0, 1] (bright ink on dark paper).

    Accepts uint8 (0..255), bool, or float arrays already in [0, 1].
    """
    array = np.asarray(canvas)
    if array.ndim != 2:
        raise ValueError(f"expected a 2-D grey image, got shape {array.shape}")
    if np.issubdtype(array.dtype, np.integer):
        # Integer images are 0..255 grey levels whatever their width.
        return np.clip(array.astype(np.float32) * np.float32(1 / 255), 0.0, 1.0)
    if array.dtype == np.bool_:
        return array.astype(np.float32)
    if not np.all(np.isfinite(array)):
        raise ValueError("image contains NaN or infinite values")
    # Clipped before the cast: a float64 beyond float32's range would overflow to infinity.
    return np.clip(array, 0.0, 1.0).astype(np.float32, copy=False)


def ink_bbox(ink: np.ndarray, threshold: float = INK_THRESHOLD) -> tuple[int, int, int, int] | None:
    """Bounding box (top, left, bottom, right) of pixels above ``threshold``, or None."""
    mask = ink > threshold
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask[rows[0] : rows[-1] + 1].any(axis=0))
    return int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1


def area_weights(source: int, target: int) -> np.ndarray:
    """(target, source) matrix that resamples a line by pixel-area averaging.

    Each target pixel covers source/target source pixels; its weight on each
    source pixel is the overlap length. For downsampling this is the exact
    box filter (the anti-aliasing MNIST's scanner-to-grey step amounts to);
    for upsampling it reduces to nearest-neighbour of whole pixels.
    """
    scale = source / target
    starts = np.arange(target, dtype=np.float64)[:, None] * scale
    ends = starts + scale
    left = np.arange(source, dtype=np.float64)[None, :]
    overlap = np.clip(np.minimum(ends, left + 1) - np.maximum(starts, left), 0.0, None)
    return (overlap / scale).astype(np.float32)


def scale_to_box(cropped: np.ndarray, box: int = MNIST_BOX) -> np.ndarray:
    """Scale so that the longer side is ``box`` px, aspect kept, area-averaged."""
    height, width = cropped.shape
    longer = max(height, width)
    new_height = max(1, round(height * box / longer))
    new_width = max(1, round(width * box / longer))
    # Separable resampling: (new_h, h) @ (h, w) @ (w, new_w).
    scaled = area_weights(height, new_height) @ cropped @ area_weights(width, new_width).T
    return np.clip(scaled, 0.0, 1.0, out=scaled)


def mass_placement(scaled: np.ndarray, size: int = MNIST_SIZE) -> tuple[int, int]:
    """(top, left) where :func:`centre_by_mass` puts ``scaled`` in the ``size`` square.

    The translation is a whole number of pixels (as MNIST's), clamped so that
    the digit never leaves the frame.
    """
    height, width = scaled.shape
    mass = float(scaled.sum())
    if mass <= 0.0:
        centre_row, centre_col = (height - 1) / 2, (width - 1) / 2
    else:
        centre_row = float(scaled.sum(axis=1) @ np.arange(height)) / mass
        centre_col = float(scaled.sum(axis=0) @ np.arange(width)) / mass
    top = int(np.clip(round(MNIST_CENTRE - centre_row), 0, size - height))
    left = int(np.clip(round(MNIST_CENTRE - centre_col), 0, size - width))
    return top, left


def centre_by_mass(scaled: np.ndarray, size: int = MNIST_SIZE) -> np.ndarray:
    """Place ``scaled`` in a ``size`` square with its centre of mass at MNIST_CENTRE (see :func:`mass_placement`)."""
    height, width = scaled.shape
    top, left = mass_placement(scaled, size)
    frame = np.zeros((size, size), dtype=np.float32)
    frame[top : top + height, left : left + width] = scaled
    return frame


def normalise(image: np.ndarray) -> np.ndarray:
    """Standardise a [0, 1] image exactly as training does."""
    return ((image - MNIST_MEAN) / MNIST_STD).astype(np.float32, copy=False)


def preprocess(canvas: np.ndarray, bbox: tuple[int, int, int, int] | None = None) -> PreprocessResult | None:
    """Run the whole pipeline on a canvas of any size.

    ``canvas``: 2-D array, bright ink on dark paper (see :func:`as_ink`).
    ``bbox``: the ink's bounding box if the caller already knows it (the pad
    does), which spares a scan of a large canvas.

    Returns None when nothing is drawn: callers must show "nothing drawn",
    never a prediction.
    """
    ink = as_ink(canvas)
    if bbox is None:
        bbox = ink_bbox(ink)
        if bbox is None:
            return None
    top, left, bottom, right = bbox = check_bbox(bbox, ink.shape)
    cropped = ink[top:bottom, left:right]
    if cropped.size == 0 or float(cropped.max()) <= INK_THRESHOLD:
        return None
    scaled = scale_to_box(cropped)
    # Every MNIST digit has full-black ink somewhere (peak 255); a thin
    # stroke averaged down to 20 px would otherwise come out faint grey.
    scaled /= max(float(scaled.max()), 1e-6)
    centred = centre_by_mass(scaled)
    return PreprocessResult(cropped=cropped, scaled=scaled, centred=centred, normalised=normalise(centred), bbox=bbox)


def check_bbox(bbox: tuple[int, int, int, int], shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    """``bbox`` as four Python ints, or ValueError unless it is (top, left, bottom, right) inside ``shape``.

    Slicing would silently wrap a negative index or clip one past the edge,
    cutting out some other region than the caller meant. An empty box
    (top == bottom or left == right) is allowed: it is nothing drawn.
    """
    try:
        values = tuple(bbox) if isinstance(bbox, (tuple, list, np.ndarray)) else ()
    except TypeError:  # a 0-d array
        values = ()
    if len(values) != 4 or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in values):
        raise ValueError(f"bbox must be four integers (top, left, bottom, right), not {bbox!r}")
    top, left, bottom, right = (int(v) for v in values)
    height, width = shape[:2]
    if not (0 <= top <= bottom <= height and 0 <= left <= right <= width):
        raise ValueError(
            f"bbox (top, left, bottom, right) = {(top, left, bottom, right)} is not inside the {height}x{width} canvas"
        )
    return top, left, bottom, right


def image_to_ink(image: np.ndarray) -> np.ndarray:
    """Grey photo or scan of a digit (either polarity) to bright-on-dark ink.

    The paper is taken to be the colour of the image's border: if the border
    is light, the image is inverted. The result is stretched so that paper
    is 0 and the darkest ink is 1.
    """
    ink = as_ink(image)
    if ink.size == 0:
        # It has no border to take the paper's colour from.
        raise ValueError(f"empty image ({ink.shape[0]}x{ink.shape[1]} pixels)")
    border = np.concatenate([ink[0], ink[-1], ink[:, 0], ink[:, -1]])
    paper = float(np.median(border))
    if paper > 0.5:
        ink = 1.0 - ink
        paper = 1.0 - paper
    top = float(ink.max())
    if top - paper <= 1e-6:
        return np.zeros_like(ink)
    return np.clip((ink - paper) / (top - paper), 0.0, 1.0)


def mnist_image(ink: np.ndarray) -> np.ndarray | None:
    """MNIST's preprocessing of an ink image, as MNIST stores it: uint8 (28, 28); None if there is no ink."""
    stages = preprocess(ink)
    return None if stages is None else np.round(stages.centred * 255).astype(np.uint8)
