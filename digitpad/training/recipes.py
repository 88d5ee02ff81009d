"""Named training recipes: training settings and the architecture they were chosen for.

One definition, shared by ``digitpad train --recipe``, the GUI's Train tab
and the tests, of "the app's default run" and "what the shipped weights were
trained with", so that neither drifts from what it claims to be (a test
checks :data:`SHIPPED` against the shipped checkpoint's own record).
Qt-free, like the rest of the core.
"""

from __future__ import annotations

from dataclasses import dataclass

from digitpad.data.augment import AugmentConfig
from digitpad.data.pen_styles import FIRST_STYLES
from digitpad.model.network import ModelConfig
from digitpad.training.config import TrainConfig


@dataclass(frozen=True)
class Recipe:
    """A named, described pair of training settings and architecture."""

    #: The key in :data:`RECIPES` and the value of ``digitpad train --recipe``.
    name: str
    #: A few words for a menu.
    title: str
    #: What the recipe gives and what it costs, in a sentence or two.
    description: str
    train_config: TrainConfig
    model_config: ModelConfig


#: The Train tab's default run: the quick default recipe and model, three epochs.
APP_DEFAULT = Recipe(
    name="default",
    title="App default, 3 epochs",
    description="The default model (16-32-64 channels) for 3 epochs of the default recipe: "
    "about 99.3% on MNIST's test set, after about 40 s of training on 2 CPU cores.",
    train_config=TrainConfig(epochs=3),
    model_config=ModelConfig(),
)

#: Exactly what the shipped weights were trained with (README: "Reproduce"):
#: ``digitpad train --channels 32,64,128 --epochs 30 --lr 4e-3 --augment-strength 0.6 --pen-styles 0.5
#: --drawn-ones 0.6 --seed 1``.
#: The device is left to "auto", as that command does: it picks the hardware, not the result's recipe.
SHIPPED = Recipe(
    name="shipped",
    title="Shipped weights, 30 epochs",
    description="The recipe of the weights that come with digitpad: the 32-64-128 model, 30 epochs at a "
    "peak learning rate of 4e-3, augmentation at 0.6 strength, pen styles for half of the 0s and 1s, "
    "ones drawn from pen strokes (0.6 times MNIST's ones), seed 1. 99.64% on MNIST's test set, after "
    "about 15 minutes of training on 2 CPU cores (two on a GPU).",
    train_config=TrainConfig(
        epochs=30,
        learning_rate=4e-3,
        augment_config=AugmentConfig().scaled(0.6),
        pen_styles=0.5,
        pen_style_digits=FIRST_STYLES,
        drawn_ones=0.6,
        seed=1,
    ),
    model_config=ModelConfig(channels=(32, 64, 128)),
)

#: Recipe.name -> recipe, in menu order.
RECIPES: dict[str, Recipe] = {recipe.name: recipe for recipe in (APP_DEFAULT, SHIPPED)}
