"""Why the model reads what it reads: a saliency map, the preprocessing stages, the layers' weights.

The saliency map is **integrated gradients** (Sundararajan et al., 2017)
from a blank sheet of paper: the input is faded in from paper (every pixel
at MNIST's paper value) to the drawing in :data:`DEFAULT_STEPS` steps, and
each pixel's gradient of the target's logit is averaged along the
way and multiplied by how much ink the pixel adds. Why this method:

- It is *faithful* by construction: the attributions add up to the
  difference between the target's logit on the drawing and on blank paper
  (completeness), so a pixel ranked high is one whose ink the prediction
  needs. Plain gradients only say what would change the output a little,
  and saturate on confident digits (a 99.9% "7" has tiny gradients
  everywhere); gradient x input is one step of this integral, from the
  drawing only.
- Its baseline is exactly what erasing ink gives: paper. The deletion test
  (``bench/saliency.py``) blanks pixels to paper, and so does the user's
  eraser; integrated gradients from paper ranks pixels by what that removal
  costs. (Its ratio there is in bench/README.md, against gradient x input's.)
- The logit, not the probability: a confident digit's probability is flat
  along most of the path and jumps in a narrow stretch that 16 steps miss
  (36-80% off the 256-step integral on dev digits, against 10% for the
  logit), and the logit's map ranks pixels better in the deletion test.
- It costs one batched forward and backward pass of the small CNN
  (:data:`DEFAULT_STEPS` images at once), a few milliseconds on a CPU:
  cheap enough to follow the pen. Occlusion needs a forward pass per patch
  and is blurred by the patch size; SmoothGrad's noise is off the data's
  manifold for binary-ish ink; Grad-CAM's 7x7 map is coarser than a stroke.

Only the part that supports the target is returned (attributions below
zero, ink that speaks against the digit, are set to 0): the overlay shows
what makes it *this* digit.

:func:`input_on_pad` maps the 28x28 input back onto the pad, through the
same transforms that made it, so the overlay sits on the strokes that caused it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from digitpad.base.constants import MNIST_BOX, MNIST_SIZE, NUM_CLASSES
from digitpad.ink.characters import Character, character_raster
from digitpad.ink.preprocess import PreprocessResult, mass_placement, normalise
from digitpad.ink.strokes import Stroke

if TYPE_CHECKING:  # torch is imported where it is used: the GUI imports this module before torch is loaded
    import torch
    from torch import nn

    from digitpad.model.inference import Predictor

#: Steps of the path from paper to the drawing: 16 midpoints come within about 10% of 256 (the
#: median on dev digits; the deletion test ranks pixels as well with 8 or 32), in about 10 ms.
DEFAULT_STEPS = 16
#: The value of blank paper in the model's (normalised) input.
PAPER = float(normalise(np.zeros(1, np.float32))[0])


def _as_input(normalised: np.ndarray) -> torch.Tensor:
    import torch

    array = np.asarray(normalised, dtype=np.float32)
    if array.shape != (MNIST_SIZE, MNIST_SIZE):
        raise ValueError(f"expected a normalised {MNIST_SIZE}x{MNIST_SIZE} image, got shape {array.shape}")
    return torch.from_numpy(np.ascontiguousarray(array)).view(1, 1, MNIST_SIZE, MNIST_SIZE)


def _target(model: nn.Module, x: torch.Tensor, target: int | None) -> int:
    """``target``, checked, or the digit the model reads (as Prediction.digit: never "not a digit")."""
    import torch

    with torch.inference_mode():
        logits = model(x)[0]
    if target is None:
        return int(logits[:NUM_CLASSES].argmax())
    if not 0 <= int(target) < len(logits):
        raise ValueError(f"target {target} is not one of the model's {len(logits)} classes")
    return int(target)


def _path_gradients(model: nn.Module, images: torch.Tensor, target: int) -> torch.Tensor:
    """Gradient of the target's logit for each image of a batch (N, 1, 28, 28)."""
    import torch

    images = images.detach().requires_grad_(True)
    with torch.enable_grad():
        logits = model(images)[:, target]
        # autograd.grad, not backward(): nothing accumulates in the model's parameters' .grad.
        (gradients,) = torch.autograd.grad(logits.sum(), images)
    return gradients


def integrated_gradients(
    predictor: Predictor, normalised: np.ndarray, target: int | None = None, steps: int = DEFAULT_STEPS
) -> tuple[np.ndarray, int]:
    """Signed integrated gradients (28, 28) of ``target``'s logit from paper, and the target used
    (default: the predicted class)."""
    import torch

    from digitpad.model.threads import use_one_thread_here

    use_one_thread_here()
    model = predictor.model
    x = _as_input(normalised)
    target = _target(model, x, target)
    baseline = torch.full_like(x, PAPER)
    # Midpoints of ``steps`` equal slices of the path: a better Riemann sum than either end.
    alphas = (torch.arange(steps, dtype=torch.float32) + 0.5) / steps
    path = baseline + alphas.view(-1, 1, 1, 1) * (x - baseline)
    gradients = _path_gradients(model, path, target)
    attributions = (x - baseline)[0, 0] * gradients.mean(dim=0)[0]
    return attributions.numpy().astype(np.float32, copy=False), target


def saliency(
    predictor: Predictor, normalised: np.ndarray, target: int | None = None, *, steps: int = DEFAULT_STEPS
) -> np.ndarray:
    """How much each pixel of ``normalised`` (28, 28) drives class ``target`` (default: the predicted one).

    Float32 (28, 28), >= 0: the positive part of integrated gradients from
    blank paper (see the module's docstring for why). Paper pixels get 0.
    """
    attributions, _ = integrated_gradients(predictor, normalised, target, steps)
    return np.maximum(attributions, 0.0)


def gradient_times_input(predictor: Predictor, normalised: np.ndarray, target: int | None = None) -> np.ndarray:
    """Gradient x input (signed, (28, 28)): the logit's gradient at the drawing times its ink over paper.

    For comparison only (``bench/saliency.py``): one step of the integral above.
    """
    x = _as_input(normalised)
    target = _target(predictor.model, x, target)
    gradients = _path_gradients(predictor.model, x, target)
    return ((x - PAPER)[0, 0] * gradients[0, 0]).numpy().astype(np.float32, copy=False)


@dataclass(frozen=True)
class InputOnPad:
    """Where the model's 28x28 input lies on the pad: an axis-aligned scale and shift.

    Input pixel (row, column) covers the pad's rectangle from
    (``left + column * pixel_width``, ``top + row * pixel_height``), ``pixel_width``
    by ``pixel_height``, in the strokes' coordinates (the pad's logical pixels).
    """

    left: float
    top: float
    pixel_width: float
    pixel_height: float

    def rect(self) -> tuple[float, float, float, float]:
        """(x, y, width, height) of the whole 28x28 input on the pad."""
        return self.left, self.top, self.pixel_width * MNIST_SIZE, self.pixel_height * MNIST_SIZE

    def to_pad(self, row: float, column: float) -> tuple[float, float]:
        """Pad (x, y) of a point given in input pixel coordinates (pixel (r, c) spans [r, r + 1))."""
        return self.left + column * self.pixel_width, self.top + row * self.pixel_height


def input_on_pad(strokes: list[Stroke], character: Character, stages: PreprocessResult) -> InputOnPad:
    """Map ``character``'s 28x28 input (``stages``, from its rendering) back onto the pad.

    Each step inverts one transform of the pipeline: the character's raster
    (``reading.character_raster``), the crop (``stages.bbox``), the scaling into
    the box (the shapes of ``stages.cropped`` and ``stages.scaled``: each scaled
    pixel covers ``cropped / scaled`` raster pixels, see ``preprocess.area_weights``)
    and the move by the centre of mass (``preprocess.mass_placement``).
    """
    raster = character_raster(strokes, character)
    top, left = stages.bbox[0], stages.bbox[1]
    (crop_height, crop_width), (box_height, box_width) = stages.cropped.shape, stages.scaled.shape
    placed_top, placed_left = mass_placement(stages.scaled)
    step_y, step_x = crop_height / box_height, crop_width / box_width  # raster pixels per input pixel
    origin_x, origin_y = raster.origin
    return InputOnPad(
        left=origin_x + (left - placed_left * step_x - raster.margin) / raster.scale,
        top=origin_y + (top - placed_top * step_y - raster.margin) / raster.scale,
        pixel_width=step_x / raster.scale,
        pixel_height=step_y / raster.scale,
    )


@dataclass(frozen=True)
class PreprocessingStage:
    """One labelled step of the pipeline, as an image to show."""

    label: str
    #: Float32 (height, width). In [0, 1] (bright ink) except the normalised input.
    image: np.ndarray
    #: One line on what the step did.
    description: str


def preprocessing_stages(stages: PreprocessResult) -> list[PreprocessingStage]:
    """The pipeline's steps for display, straight from what :func:`digitpad.ink.preprocess.preprocess` kept.

    Nothing is recomputed: the fitted digit is ``stages.scaled`` shown in
    MNIST's 20x20 box where it fits (top left), the rest are the stages as is.
    """
    box = np.zeros((MNIST_BOX, MNIST_BOX), np.float32)
    height, width = stages.scaled.shape
    box[: min(height, MNIST_BOX), : min(width, MNIST_BOX)] = stages.scaled[:MNIST_BOX, :MNIST_BOX]
    top, left = mass_placement(stages.scaled)
    crop_height, crop_width = stages.cropped.shape
    return [
        PreprocessingStage("1 · ink cropped", stages.cropped, f"the ink's bounding box, {crop_width}×{crop_height} px"),
        PreprocessingStage("2 · fitted in 20×20", box, f"scaled to {width}×{height}, longer side {MNIST_BOX} px"),
        PreprocessingStage("3 · centred by mass", stages.centred, f"placed at ({left}, {top}) in 28×28"),
        PreprocessingStage(
            "4 · normalised",
            stages.normalised,
            f"(x − mean) / std: {stages.normalised.min():.2f} to {stages.normalised.max():.2f}",
        ),
    ]


def conv_kernels(predictor: Predictor) -> list[np.ndarray]:
    """Per conv block, the kernels of the conv that makes its maps: float32 (out, in, k, k).

    The last conv of the block (its output is the block's activation), with
    batch norm folded in, as the model computes it.
    """
    from torch import nn

    kernels = []
    for block in predictor.model.blocks:
        convs = [module for module in block.modules() if isinstance(module, nn.Conv2d)]
        kernels.append(convs[-1].weight.detach().numpy().astype(np.float32, copy=True))
    return kernels


def dense_outputs(predictor: Predictor, last_activation: np.ndarray) -> np.ndarray:
    """The dense layer's outputs (the logits, one per class) from the last conv block's maps (C, H, W)."""
    import torch

    model = predictor.model
    with torch.inference_mode():
        x = torch.from_numpy(np.ascontiguousarray(last_activation, dtype=np.float32))[None]
        pooled = model.blocks[-1][-1](x)  # the block's max pooling, as in forward()
        return model.head(pooled)[0].numpy().astype(np.float32, copy=True)
