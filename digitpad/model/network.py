"""The digit classifier: a small CNN described by a config dataclass.

Three conv blocks, each conv -> batch norm -> ReLU, with max pooling after
the first two; global average pooling and one linear layer. Batch norm is
what lets it learn fast with a large step size; it is folded into the convs
for inference (see :func:`fold_batch_norm`), so it costs nothing at batch 1.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace

import torch
from torch import nn

from digitpad.base.constants import MNIST_SIZE, NOT_A_DIGIT, NUM_CLASSES

#: The class counts a DigitNet may have: the ten digits, or those and "not a digit".
CLASS_COUNTS = (NUM_CLASSES, NOT_A_DIGIT + 1)

# Bounds of the architectures a ModelConfig describes. A checkpoint's metadata
# is untrusted: without them, a few hundred bytes of JSON could ask for a
# model of gigabytes, or one whose forward pass fails on every input.
#: Each block halves the map, which must stay at least 1x1: 28 -> 14 -> 7 -> 3 -> 1.
MAX_BLOCKS = int(math.log2(MNIST_SIZE))
#: Twice the shipped weights' widest block (128). The largest model the caps
#: allow (4 blocks of 256 channels, 4 convs each: about 8.9 M parameters,
#: 36 MB at float32, 71 MB at float64) still fits digitpad.model.checkpoint's file
#: size cap, so every model that can be described can also be saved and loaded.
MAX_CHANNELS = 256
#: Convolutions per block; the shipped weights use 1, deeper blocks learn no better on MNIST.
MAX_CONVS_PER_BLOCK = 4
#: The first kernel is odd (its padding keeps the map's size) and at most 7, a quarter of the image.
MAX_FIRST_KERNEL = 7


@dataclass(frozen=True)
class ModelConfig:
    """Architecture; stored in every checkpoint so that it can be rebuilt."""

    #: Output channels of each conv block. The default is sized for fast
    #: training on a laptop CPU; the shipped weights use (32, 64, 128).
    channels: tuple[int, ...] = (16, 32, 64)
    #: Convolutions per block (3x3 each).
    convs_per_block: int = 1
    #: Kernel size of the first conv (a larger one sees a stroke's width at once).
    first_kernel: int = 5
    #: Pool the first conv's output before its batch norm and ReLU (conv -> pool -> BN -> ReLU), so that they
    #: work on a quarter of the pixels. The same function where the norm's scale is positive (max-pooling
    #: commutes with a rising map), a fifth less training time for the 32-64-128 model on a CPU.
    pool_first: bool = False
    dropout: float = 0.1
    #: Outputs: the ten digits, or 11 with "not a digit" (class NOT_A_DIGIT)
    #: for a model trained to decline letters and scribbles.
    num_classes: int = NUM_CLASSES

    def __post_init__(self) -> None:
        # A list (from JSON or a caller) becomes a tuple, so that configs compare and hash alike.
        if isinstance(self.channels, list):
            object.__setattr__(self, "channels", tuple(self.channels))
        _check_architecture(self)

    @property
    def has_not_a_digit(self) -> bool:
        """Whether the model has the "not a digit" class."""
        return self.num_classes > NOT_A_DIGIT

    def to_dict(self) -> dict:
        values = {**asdict(self), "channels": list(self.channels)}
        # A ten-class model is described as before the field existed, so that
        # its checkpoint reads the same and older digitpads still load it.
        if self.num_classes == NUM_CLASSES:
            del values["num_classes"]
        if not self.pool_first:  # described as before the field existed
            del values["pool_first"]
        return values

    @classmethod
    def from_dict(cls, data: dict) -> ModelConfig:
        if not isinstance(data, dict):
            raise TypeError(f"a model description is a JSON object, not {type(data).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown model settings: {', '.join(sorted(unknown))}")
        # No int() here: it would turn "8", 8.9 or true into a channel count
        # silently; __post_init__ says what is wrong instead.
        return cls(**data)


#: How far below the lowest digit bias the "not a digit" output of a widened
#: model starts (:func:`with_not_a_digit`): e^-5 keeps it under 1% of any digit.
NOT_A_DIGIT_START_MARGIN = 5.0


def _is_int(value: object) -> bool:
    # Not a bool nor a float: JSON's true or 11.0 would pass int(), and nn layers choke on them.
    return isinstance(value, int) and not isinstance(value, bool)


def _check_architecture(config: ModelConfig) -> None:
    """Raise ValueError unless ``config`` is within the bounds above (see MAX_BLOCKS and the rest)."""
    channels = config.channels
    if not isinstance(channels, tuple) or not 1 <= len(channels) <= MAX_BLOCKS:
        raise ValueError(f"channels must list 1 to {MAX_BLOCKS} blocks (each halves the 28x28 map), not {channels!r}")
    if not all(_is_int(c) and 1 <= c <= MAX_CHANNELS for c in channels):
        raise ValueError(f"channels must be whole numbers from 1 to {MAX_CHANNELS}, not {list(channels)!r}")
    if not _is_int(config.convs_per_block) or not 1 <= config.convs_per_block <= MAX_CONVS_PER_BLOCK:
        raise ValueError(f"convs_per_block must be 1 to {MAX_CONVS_PER_BLOCK}, not {config.convs_per_block!r}")
    kernel = config.first_kernel
    if not _is_int(kernel) or not 1 <= kernel <= MAX_FIRST_KERNEL or kernel % 2 == 0:
        raise ValueError(f"first_kernel must be odd, 1 to {MAX_FIRST_KERNEL}, not {kernel!r}")
    if not isinstance(config.pool_first, bool) or (config.pool_first and config.convs_per_block != 1):
        raise ValueError(f"pool_first must be true or false, and false with several convs per block, not {config}")
    dropout = config.dropout
    if not isinstance(dropout, (int, float)) or isinstance(dropout, bool) or not 0 <= dropout < 1:
        raise ValueError(f"dropout must be a number from 0 to below 1, not {dropout!r}")
    if not _is_int(config.num_classes) or config.num_classes not in CLASS_COUNTS:
        raise ValueError(f"num_classes must be {' or '.join(map(str, CLASS_COUNTS))}, not {config.num_classes!r}")


def conv_bn_relu(in_channels: int, out_channels: int, kernel: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel, padding=kernel // 2, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


class DigitNet(nn.Module):
    """x: (B, 1, 28, 28) normalised images -> (B, config.num_classes) logits: the ten digits, then
    "not a digit" (index NOT_A_DIGIT) if the model has it."""

    def __init__(self, config: ModelConfig | None = None) -> None:
        super().__init__()
        self.config = config or ModelConfig()
        blocks = []
        in_channels = 1
        for index, out_channels in enumerate(self.config.channels):
            layers: list[nn.Module] = []
            for conv_index in range(self.config.convs_per_block):
                kernel = self.config.first_kernel if index == conv_index == 0 else 3
                layers.append(conv_bn_relu(in_channels, out_channels, kernel))
                in_channels = out_channels
            # Pool in every block: 28 -> 14 -> 7 -> 3.
            if index == 0 and self.config.pool_first:
                layers[0].insert(1, nn.MaxPool2d(2))  # conv -> pool -> norm -> ReLU
            else:
                layers.append(nn.MaxPool2d(2))
            blocks.append(nn.Sequential(*layers))
        self.blocks = nn.ModuleList(blocks)
        # A linear layer over the whole 3x3 map: unlike global average
        # pooling it keeps where things are (the top of a 7 versus a 1),
        # which makes it learn much faster.
        size = MNIST_SIZE // 2 ** len(self.config.channels)
        self.head = nn.Sequential(
            nn.Flatten(), nn.Dropout(self.config.dropout), nn.Linear(in_channels * size * size, self.config.num_classes)
        )

    @property
    def block_names(self) -> list[str]:
        return [f"block{index + 1}" for index in range(len(self.blocks))]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = block(x)
        return self.head(x)

    def forward_with_activations(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Logits and the output of each conv block (after ReLU, before pooling).

        Shapes for channels (32, 64, 128): (B, 32, 28, 28), (B, 64, 14, 14), (B, 128, 7, 7); with
        ``pool_first`` the first block's is pooled already, (B, 32, 14, 14).
        """
        activations = []
        for block in self.blocks:
            for layer in block:
                x = layer(x)
                if not isinstance(layer, nn.MaxPool2d):
                    last = x
            activations.append(last)
        return self.head(x), activations


def fold_batch_norm(model: DigitNet) -> DigitNet:
    """Return an inference copy with each BatchNorm folded into its conv.

    Same outputs in eval mode (up to float rounding), one op fewer per layer:
    at batch 1 the CPU time is mostly per-op overhead.
    """
    folded = DigitNet(model.config)
    folded.load_state_dict(model.state_dict())
    folded.eval()
    for block in folded.blocks:
        for unit in block:
            if not isinstance(unit, nn.Sequential) or not isinstance(unit[1], nn.BatchNorm2d):
                # A pool between the conv and its norm (ModelConfig.pool_first): a norm with a negative scale
                # does not commute with max-pooling, so it stays; on the pooled map it costs little.
                continue
            conv, norm = unit[0], unit[1]
            scale = norm.weight / torch.sqrt(norm.running_var + norm.eps)
            fused = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, padding=conv.padding, bias=True)
            with torch.no_grad():
                fused.weight.copy_(conv.weight * scale[:, None, None, None])
                fused.bias.copy_(norm.bias - norm.running_mean * scale)
            unit[0] = fused
            unit[1] = nn.Identity()
    return folded


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def example_input(batch: int = 1) -> torch.Tensor:
    return torch.zeros(batch, 1, MNIST_SIZE, MNIST_SIZE)


def with_not_a_digit(model: DigitNet) -> DigitNet:
    """A copy of a ten-class ``model`` with the "not a digit" output added, ready to fine-tune.

    Everything the model learnt is kept: the convolutions, and the ten
    digits' rows of the last layer. The new row starts at zero weights and a
    bias below every digit's, so that until it is trained the copy reads
    every digit exactly as ``model`` does (its digit probabilities barely
    move). A model that already has the output is copied as it is.
    """
    config = model.config if model.config.has_not_a_digit else replace(model.config, num_classes=NOT_A_DIGIT + 1)
    widened = DigitNet(config)
    state = widened.state_dict()
    for name, value in model.state_dict().items():
        if value.shape == state[name].shape:
            state[name] = value.clone()
        else:  # the last layer: (10, features) -> (11, features)
            state[name][:NUM_CLASSES] = value
            state[name][NUM_CLASSES:] = 0.0 if value.dim() > 1 else value.min() - NOT_A_DIGIT_START_MARGIN
    widened.load_state_dict(state)
    return widened
