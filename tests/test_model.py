"""The CNN: shapes, activations per block, BatchNorm folding, config round trip; the "not a digit" class."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from digitpad.base.constants import NOT_A_DIGIT
from digitpad.base.paths import shipped_weights_path
from digitpad.model.checkpoint import load_checkpoint
from digitpad.model.network import (
    DigitNet,
    ModelConfig,
    count_parameters,
    example_input,
    fold_batch_norm,
    with_not_a_digit,
)


def trained_looking(model: DigitNet, seed: int = 0) -> DigitNet:
    """Give BatchNorm non-trivial statistics and affine parameters, as training would."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                size = module.num_features
                module.running_mean.copy_(torch.randn(size, generator=generator) * 0.5)
                module.running_var.copy_(torch.rand(size, generator=generator) + 0.5)
                module.weight.copy_(torch.rand(size, generator=generator) + 0.5)
                module.bias.copy_(torch.randn(size, generator=generator) * 0.2)
    return model.eval()


@pytest.mark.parametrize(
    "config",
    [ModelConfig(), ModelConfig(channels=(32, 64, 128)), ModelConfig(channels=(8, 16), convs_per_block=2)],
    ids=["default", "shipped-size", "two-blocks"],
)
@pytest.mark.parametrize("batch", [1, 5])
def test_logits_shape(config: ModelConfig, batch: int) -> None:
    model = DigitNet(config).eval()
    with torch.no_grad():
        assert model(example_input(batch)).shape == (batch, 10)


def test_activations_per_block() -> None:
    config = ModelConfig(channels=(8, 16, 24), convs_per_block=2)
    model = DigitNet(config).eval()
    x = torch.randn(3, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        logits, activations = model.forward_with_activations(x)
        plain = model(x)
    assert model.block_names == ["block1", "block2", "block3"]
    assert [tuple(a.shape) for a in activations] == [(3, 8, 28, 28), (3, 16, 14, 14), (3, 24, 7, 7)]
    assert all(bool((a >= 0).all()) for a in activations)  # after ReLU
    torch.testing.assert_close(logits, plain)


def test_fold_batch_norm_gives_the_same_outputs() -> None:
    torch.manual_seed(0)
    model = trained_looking(DigitNet(ModelConfig(channels=(8, 16, 32), convs_per_block=2)))
    folded = fold_batch_norm(model)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in folded.modules())
    assert any(isinstance(m, nn.BatchNorm2d) for m in model.modules()), "the original is left alone"
    x = torch.randn(16, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected_logits, expected_maps = model.forward_with_activations(x)
        logits, maps = folded.forward_with_activations(x)
    torch.testing.assert_close(logits, expected_logits, atol=1e-5, rtol=1e-5)
    for got, want in zip(maps, expected_maps, strict=True):
        torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)
    # And the difference is not trivial: folding changed the conv weights.
    assert not torch.equal(folded.blocks[0][0][0].weight, model.blocks[0][0][0].weight)


def test_config_round_trip() -> None:
    config = ModelConfig(channels=(32, 64, 128), convs_per_block=2, first_kernel=3, dropout=0.25)
    data = config.to_dict()
    assert data["channels"] == [32, 64, 128]  # JSON-friendly
    assert ModelConfig.from_dict(data) == config
    assert ModelConfig.from_dict({}) == ModelConfig()


def test_eleven_classes_add_a_not_a_digit_output() -> None:
    config = ModelConfig(channels=(8, 16, 16), num_classes=NOT_A_DIGIT + 1)
    assert config.has_not_a_digit and not ModelConfig().has_not_a_digit
    torch.manual_seed(0)
    model = trained_looking(DigitNet(config))
    x = torch.randn(4, 1, 28, 28, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        logits = model(x)
        folded = fold_batch_norm(model)(x)
    assert logits.shape == (4, 11)
    torch.testing.assert_close(folded, logits, atol=1e-5, rtol=1e-5)


def test_a_widened_model_keeps_its_digits_and_starts_with_not_a_digit_unlikely() -> None:
    torch.manual_seed(0)
    ten = trained_looking(DigitNet(ModelConfig(channels=(8, 16, 16)))).eval()
    eleven = with_not_a_digit(ten).eval()
    assert eleven.config == ModelConfig(channels=(8, 16, 16), num_classes=NOT_A_DIGIT + 1)
    x = torch.randn(8, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        before, after = ten(x), eleven(x)
    torch.testing.assert_close(after[:, :NOT_A_DIGIT], before)  # the digits' logits are untouched
    assert float(after.softmax(1)[:, NOT_A_DIGIT].max()) < 0.01
    assert with_not_a_digit(eleven) is not eleven and with_not_a_digit(eleven).config == eleven.config
    for name, value in ten.state_dict().items():  # the original is left as it was
        assert value.shape == DigitNet(ten.config).state_dict()[name].shape


def test_num_classes_round_trip_and_old_configs_are_ten_classes() -> None:
    eleven = ModelConfig(channels=(32, 64, 128), num_classes=11)
    assert eleven.to_dict()["num_classes"] == 11
    assert ModelConfig.from_dict(eleven.to_dict()) == eleven
    # A ten-class config is written as before the field existed, and such a description reads as 10.
    assert "num_classes" not in ModelConfig().to_dict()
    assert ModelConfig.from_dict({"channels": [32, 64, 128]}).num_classes == 10


@pytest.mark.parametrize("classes", [9, 12, 0, 11.0, True])
def test_other_class_counts_are_refused(classes) -> None:
    with pytest.raises(ValueError, match="num_classes must be 10 or 11"):
        ModelConfig(num_classes=classes)


def test_the_shipped_weights_still_load_as_ten_classes() -> None:
    loaded = load_checkpoint(shipped_weights_path())
    assert loaded.model.config.num_classes == 10
    with torch.no_grad():
        assert loaded.model(example_input(2)).shape == (2, 10)


def test_config_rejects_unknown_keys() -> None:
    with pytest.raises(ValueError, match="unknown model settings: heads, width"):
        ModelConfig.from_dict({**ModelConfig().to_dict(), "width": 2, "heads": 4})


def test_folded_model_predicts_a_batch_of_one() -> None:
    model = fold_batch_norm(DigitNet(ModelConfig(channels=(32, 64, 128))))
    with torch.inference_mode():
        logits = model(example_input(1))
    assert logits.shape == (1, 10) and torch.isfinite(logits).all()


@pytest.mark.slow
def test_batch_one_prediction_is_quick() -> None:
    """Wall-clock, a loose bound (shared 2-core machine): bench/latency.py measures the real figure."""
    import time

    model = fold_batch_norm(DigitNet(ModelConfig(channels=(32, 64, 128))))
    x = example_input(1)
    with torch.inference_mode():
        for _ in range(20):
            model(x)
        started = time.perf_counter()
        for _ in range(50):
            model(x)
    assert (time.perf_counter() - started) / 50 < 0.02


def test_parameter_count_is_small() -> None:
    assert count_parameters(DigitNet()) < 200_000
