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
from dataclasses import asdict, dataclass, fields, replace
from functools import lru_cache

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class AugmentConfig:
    """Each deformation's range at full strength, and the strength they are used at.

    Kept apart, and recorded so in a checkpoint's recipe, because the product
    reads badly there (1.5 px at 0.6 was recorded as 0.8999999999999999) and
    hides the one number a recipe chose: ``--augment-strength 0.6``.
    """

    rotation_degrees: float = 10.0
    shear: float = 0.25
    scale_range: tuple[float, float] = (0.85, 1.1)
    aspect_jitter: float = 0.12
    translate_px: float = 1.5
    elastic_px: float = 1.2
    #: Largest thickening/thinning, as a fraction of one dilation step.
    thickness: float = 0.8
    #: Multiplies every range above (the scale range's distance from 1): 1.0 uses them as they are, 0 none.
    strength: float = 1.0

    def to_dict(self) -> dict:
        return {**asdict(self), "scale_range": list(self.scale_range)}

    @classmethod
    def from_dict(cls, data: dict) -> AugmentConfig:
        """Read a recipe's record, today's or an older one's; ValueError for what is neither.

        Older records have no strength but every range multiplied by it: one
        that is these defaults at some strength (to 6 decimals) reads as
        that strength, any other at strength 1, its ranges rounded to 12
        significant digits (so 0.8999999999999999 reads 0.9).
        """
        unknown = set(data) - {item.name for item in fields(cls)}
        if unknown:
            raise ValueError(f"augmentation: unknown settings {', '.join(sorted(unknown))}")
        try:
            values = {name: _number(value) for name, value in data.items() if name != "scale_range"}
            if "scale_range" in data:
                low, high = data["scale_range"]
                values["scale_range"] = (_number(low), _number(high))
        except (TypeError, ValueError) as error:
            raise ValueError(f"augmentation: {error}") from error
        config = cls(**values)
        if "strength" in data:
            return config
        defaults = cls()
        strength = round(config.rotation_degrees / defaults.rotation_degrees, 6)
        if _close(defaults.scaled(strength).effective(), config):
            return cls(strength=strength)
        return cls(**{name: _rounded(value) for name, value in values.items()})

    def scaled(self, strength: float) -> AugmentConfig:
        """This configuration at ``strength`` times its strength (1.0: as it is, 0: no deformation)."""
        return replace(self, strength=self.strength * strength)

    def effective(self) -> AugmentConfig:
        """The ranges :func:`augment_batch` draws from: each multiplied by the strength (which is 1 in the result)."""
        strength = self.strength
        if strength == 1.0:
            return self
        low, high = self.scale_range
        others = [item.name for item in fields(self) if item.name not in ("scale_range", "strength")]
        scaled = {name: getattr(self, name) * strength for name in others}
        return AugmentConfig(scale_range=(1 - (1 - low) * strength, 1 + (high - 1) * strength), **scaled)


def _number(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{value!r} is not a number")
    return float(value)


def _rounded(value: float | tuple[float, float]) -> float | tuple[float, float]:
    if isinstance(value, tuple):
        return (float(f"{value[0]:.12g}"), float(f"{value[1]:.12g}"))
    return float(f"{value:.12g}")


def _close(first: AugmentConfig, second: AugmentConfig) -> bool:
    """Whether two configurations' ranges agree to float rounding."""
    left, right = first.to_dict(), second.to_dict()
    flat = [(left[name], right[name]) for name in left if name != "scale_range"]
    flat += list(zip(left["scale_range"], right["scale_range"], strict=True))
    return all(math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12) for a, b in flat)


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


def augment_batch(images: torch.Tensor, config: AugmentConfig, generator: torch.Generator) -> torch.Tensor:
    """Return a randomly deformed copy of ``images`` (B, 1, H, W) in [0, 1]."""
    batch, _, height, width = images.shape
    device = images.device
    config = config.effective()

    def uniform(low: float, high: float) -> torch.Tensor:
        return torch.rand(batch, generator=generator, device=device) * (high - low) + low

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
