"""The named recipes say what they claim: SHIPPED is what the shipped weights record, BEST the default run, APP_DEFAULT
the quick one."""

from __future__ import annotations

import dataclasses

import pytest

from digitpad.base.paths import shipped_weights_path
from digitpad.model.checkpoint import load_checkpoint
from digitpad.model.network import ModelConfig
from digitpad.training.config import TrainConfig
from digitpad.training.recipes import APP_DEFAULT, BEST, DEFAULT_RECIPE, RECIPES, SHIPPED, Recipe, recipe_named


def test_shipped_recipe_is_what_the_shipped_weights_were_trained_with() -> None:
    info = load_checkpoint(shipped_weights_path()).info
    # All of it: the machine's settings (device, threads) are not part of a recipe's record.
    assert SHIPPED.train_config.to_dict() == info.recipe
    assert SHIPPED.model_config == info.model_config
    # Fields a recipe records only when it uses them (see TrainConfig.to_dict) are the only ones it may lack.
    assert set(TrainConfig(non_digits=0.1).to_dict()) - set(info.recipe) <= {"non_digits", "pen_style_digits"}


def test_app_default_is_three_fast_epochs_of_the_defaults() -> None:
    assert APP_DEFAULT.train_config == dataclasses.replace(TrainConfig(), epochs=3, bf16=True, epoch_test_images=2000)
    assert APP_DEFAULT.model_config == ModelConfig(pool_first=True)


def test_best_is_the_shipped_recipe_made_fast() -> None:
    """The same data, augmentation, learning rate and seed as the shipped weights; only the levers of speed differ."""
    fast = {"epochs": 9, "bf16": True, "epoch_test_images": 2000}
    assert BEST.train_config == dataclasses.replace(SHIPPED.train_config, **fast)
    assert BEST.model_config == dataclasses.replace(SHIPPED.model_config, pool_first=True)


def test_recipes_are_named_by_their_keys_and_described() -> None:
    assert list(RECIPES) == ["best", "default", "shipped"]
    assert DEFAULT_RECIPE is BEST and recipe_named("best") is BEST and recipe_named("other") is None
    assert RECIPES["default"] is APP_DEFAULT and RECIPES["shipped"] is SHIPPED
    for name, recipe in RECIPES.items():
        assert recipe.name == name
        assert recipe.title and recipe.description.endswith(".")
    with pytest.raises(dataclasses.FrozenInstanceError):
        SHIPPED.name = "other"  # type: ignore[misc]
    assert isinstance(SHIPPED, Recipe)
