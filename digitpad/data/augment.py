"""Batched augmentation on tensors: what makes pen drawings look like MNIST.

Everything runs on whole batches (one ``grid_sample`` per batch, no
per-sample Python), on the training device. Images are in [0, 1], ink bright,
shape (B, 1, 28, 28).

What varies between MNIST and drawing on a pad, and the knob for each:
- slant and rotation: people lean their digits; a shear plus a small rotation;
- proportions: a narrow or wide hand; independent x and y scale;
- placement: the preprocessing centres by mass, but a stroke's end can move
  the centre; small translations;
- wobble: hands are not rigid; a smooth elastic displacement field;
- stroke width: a pad's pen is uniform, MNIST's ink is not; blending each
  image towards its dilation or erosion thickens or thins the strokes by a
  continuous amount.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from functools import lru_cache

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class AugmentConfig:
    rotation_degrees: float = 10.0
    shear: float = 0.25
    scale_range: tuple[float, float] = (0.85, 1.1)
    aspect_jitter: float = 0.12
    translate_px: float = 1.5
    elastic_px: float = 1.2
    #: Largest thickening/thinning, as a fraction of one dilation step.
    thickness: float = 0.8

    def to_dict(self) -> dict:
        return {**asdict(self), "scale_range": list(self.scale_range)}

    def scaled(self, strength: float) -> AugmentConfig:
        """Every deformation multiplied by ``strength`` (1.0: these defaults, 0: none)."""
        low, high = self.scale_range
        return AugmentConfig(
            rotation_degrees=self.rotation_degrees * strength,
            shear=self.shear * strength,
            scale_range=(1 - (1 - low) * strength, 1 + (high - 1) * strength),
            aspect_jitter=self.aspect_jitter * strength,
            translate_px=self.translate_px * strength,
            elastic_px=self.elastic_px * strength,
            thickness=self.thickness * strength,
        )


@lru_cache(maxsize=8)
def _bicubic_matrix(size: int, coarse: int) -> torch.Tensor:
    """(size, coarse) matrix A with A @ field @ A.T == bicubic upsampling (align_corners=True).

    Bicubic interpolation is separable and linear, so two small matrix
    products replace F.interpolate, which costs about 4x more per batch.
    """
    basis = torch.eye(coarse).view(coarse, 1, coarse, 1).expand(coarse, 1, coarse, coarse).contiguous()
    return F.interpolate(basis, size=(size, size), mode="bicubic", align_corners=True)[:, 0, :, 0].T.contiguous()


def _extreme_3x3(images: torch.Tensor, pick, border: float) -> torch.Tensor:
    """3x3 max (pick=torch.maximum) or min filter from shifted slices: a third of max_pool2d's time."""
    padded = F.pad(images, (1, 1, 1, 1), value=border)
    rows = pick(pick(padded[..., :, :-2], padded[..., :, 1:-1]), padded[..., :, 2:])
    return pick(pick(rows[..., :-2, :], rows[..., 1:-1, :]), rows[..., 2:, :])


def _uniform(batch: int, low: float, high: float, generator: torch.Generator, device) -> torch.Tensor:
    return torch.rand(batch, generator=generator, device=device) * (high - low) + low


def augment_batch(images: torch.Tensor, config: AugmentConfig, generator: torch.Generator) -> torch.Tensor:
    """Return a randomly deformed copy of ``images`` (B, 1, H, W) in [0, 1]."""
    batch, _, height, width = images.shape
    device = images.device

    def uniform(low: float, high: float) -> torch.Tensor:
        return _uniform(batch, low, high, generator, device)

    # Affine part, in normalised coordinates [-1, 1]. grid_sample maps output
    # to input positions, so this is the inverse transform; all ranges are
    # symmetric, so that does not matter for sampling.
    angle = uniform(-config.rotation_degrees, config.rotation_degrees) * (math.pi / 180)
    shear = uniform(-config.shear, config.shear)
    scale = uniform(*config.scale_range)
    aspect = uniform(-config.aspect_jitter, config.aspect_jitter)
    cos, sin = torch.cos(angle), torch.sin(angle)
    zeros, ones = torch.zeros_like(angle), torch.ones_like(angle)
    rotation = torch.stack([torch.stack([cos, -sin], 1), torch.stack([sin, cos], 1)], 1)
    shearing = torch.stack([torch.stack([ones, shear], 1), torch.stack([zeros, ones], 1)], 1)
    inverse_scale = torch.diag_embed(torch.stack([1 / (scale * (1 + aspect)), 1 / (scale * (1 - aspect))], 1))
    linear = rotation @ shearing @ inverse_scale  # (B, 2, 2)
    shift = config.translate_px * 2 / width
    offset = torch.stack([uniform(-shift, shift), uniform(-shift, shift)], 1)[:, :, None]
    theta = torch.cat([linear, offset], dim=2)  # (B, 2, 3)
    grid = F.affine_grid(theta, [batch, 1, height, width], align_corners=False)

    if config.elastic_px > 0:
        # Smooth displacement: 4x4 random vectors, bicubically upsampled.
        coarse = torch.randn(batch, 2, 4, 4, generator=generator, device=device)
        rows = _bicubic_matrix(height, 4).to(device)
        columns = _bicubic_matrix(width, 4).to(device)
        field = rows @ coarse @ columns.T  # (B, 2, H, W)
        grid = grid + field.permute(0, 2, 3, 1) * (config.elastic_px * 2 / width / 2)

    warped = F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)

    if config.thickness > 0:
        amount = uniform(-config.thickness, config.thickness).view(batch, 1, 1, 1)
        # warped >= 0, so a zero border acts as max_pool2d's -inf padding.
        thicker = _extreme_3x3(warped, torch.maximum, 0.0)
        thinner = _extreme_3x3(warped, torch.minimum, float("inf"))
        warped = torch.where(
            amount >= 0,
            torch.lerp(warped, thicker, amount.clamp(min=0)),
            torch.lerp(warped, thinner, (-amount).clamp(min=0)),
        )
    return warped.clamp_(0.0, 1.0)
