"""The Best recipe and its levers: the first block pooled before its norm, mixed precision, cheap mid-run
evaluations, the time estimate, the record a run leaves and the promise about thread counts."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from digitpad.data.mnist import Mnist
from digitpad.model.checkpoint import load_checkpoint
from digitpad.model.network import DigitNet, ModelConfig, fold_batch_norm
from digitpad.training import loop
from digitpad.training.config import TrainConfig
from digitpad.training.estimate import evaluated_test_images, expected_train_images, synthesis_seconds
from digitpad.training.loop import runs_in_bf16, train
from digitpad.training.recipes import APP_DEFAULT, BEST, DEFAULT_RECIPE, RECIPES

# ------------------------------------------------------------------------ the network


def test_pool_first_pools_the_first_conv_before_its_norm() -> None:
    torch.manual_seed(0)
    model = DigitNet(ModelConfig(channels=(8, 16, 16), pool_first=True)).eval()
    first = model.blocks[0][0]
    assert [type(layer).__name__ for layer in first] == ["Conv2d", "MaxPool2d", "BatchNorm2d", "ReLU"]
    logits, maps = model.forward_with_activations(torch.randn(2, 1, 28, 28))
    assert logits.shape == (2, 10)
    # The first block's map is pooled already; the others as before.
    assert [tuple(m.shape[1:]) for m in maps] == [(8, 14, 14), (16, 14, 14), (16, 7, 7)]


def test_pool_first_computes_the_plain_block_where_the_norm_scales_up() -> None:
    """With every norm scale positive, pooling commutes with the norm and the ReLU: the same function."""
    torch.manual_seed(1)
    plain = DigitNet(ModelConfig(channels=(8, 16), pool_first=False)).eval()
    pooled = DigitNet(ModelConfig(channels=(8, 16), pool_first=True)).eval()
    with torch.no_grad():
        for module in plain.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.weight.uniform_(0.5, 2.0)
                module.bias.uniform_(-0.5, 0.5)
                module.running_mean.uniform_(-0.2, 0.2)
                module.running_var.uniform_(0.5, 2.0)
    state = plain.state_dict()
    # The same tensors under the pooled layout's names: the norm moved from index 1 to 2 of the first unit.
    renamed = {name.replace("blocks.0.0.1.", "blocks.0.0.2."): value for name, value in state.items()}
    pooled.load_state_dict(renamed)
    x = torch.randn(4, 1, 28, 28)
    torch.testing.assert_close(pooled(x), plain(x), rtol=1e-5, atol=1e-5)


def test_folding_keeps_a_pool_first_model_exact() -> None:
    torch.manual_seed(2)
    model = DigitNet(ModelConfig(channels=(8, 16, 16), pool_first=True))
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.weight.uniform_(-1.0, 1.0)  # negative scales too: that norm must stay unfolded
                module.running_var.uniform_(0.5, 2.0)
    model.eval()
    folded = fold_batch_norm(model)
    x = torch.randn(3, 1, 28, 28)
    torch.testing.assert_close(folded(x), model(x), rtol=1e-4, atol=1e-4)
    # The other blocks' norms are folded away.
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in folded.modules()) == 1


def test_pool_first_is_recorded_only_when_used_and_checked() -> None:
    assert "pool_first" not in ModelConfig().to_dict()
    config = ModelConfig(pool_first=True)
    assert config.to_dict()["pool_first"] is True
    assert ModelConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError, match="pool_first"):
        ModelConfig(pool_first=1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="pool_first"):
        ModelConfig(pool_first=True, convs_per_block=2)


# ------------------------------------------------------------------------ the recipes


def test_best_is_first_and_the_default() -> None:
    assert next(iter(RECIPES.values())) is BEST and DEFAULT_RECIPE is BEST
    assert BEST.model_config == ModelConfig(channels=(32, 64, 128), pool_first=True)
    assert BEST.train_config.bf16 and BEST.train_config.epoch_test_images
    assert APP_DEFAULT.model_config.pool_first and APP_DEFAULT.train_config.bf16


def test_mixed_precision_only_where_the_device_has_it(monkeypatch: pytest.MonkeyPatch) -> None:
    cpu = torch.device("cpu")
    assert not runs_in_bf16(TrainConfig(bf16=False), cpu)
    monkeypatch.setattr(loop, "bf16_is_native", lambda device: False)
    assert not runs_in_bf16(TrainConfig(bf16=True), cpu)
    monkeypatch.setattr(loop, "bf16_is_native", lambda device: True)
    assert runs_in_bf16(TrainConfig(bf16=True), cpu)


def test_a_bf16_run_keeps_float32_weights(tiny_mnist: Mnist, one_thread, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real_autocast = torch.autocast

    def autocast(device_type, dtype=None, enabled=True):
        calls.append(enabled)
        return real_autocast(device_type, dtype=dtype, enabled=enabled)

    monkeypatch.setattr(loop, "bf16_is_native", lambda device: True)  # emulated where the CPU lacks it
    monkeypatch.setattr(loop.torch, "autocast", autocast)
    config = TrainConfig(epochs=1, batch_size=64, train_subset=256, pen_styles=0.0, bf16=True, threads=1, device="cpu")
    result = train(tiny_mnist, config, ModelConfig(channels=(8, 16), pool_first=True))
    assert calls and all(calls)
    assert all(p.dtype == torch.float32 for p in result.model.parameters())
    assert result.info.recipe["bf16"] is True


def test_epochs_but_the_last_evaluate_an_even_sample(
    tiny_mnist: Mnist, one_thread, monkeypatch: pytest.MonkeyPatch
) -> None:
    sizes: list[int] = []
    real_evaluate = loop.evaluate

    def evaluate(model, images, labels, batch_size=1000):
        sizes.append(len(images))
        return real_evaluate(model, images, labels, batch_size)

    monkeypatch.setattr(loop, "evaluate", evaluate)
    config = TrainConfig(
        epochs=3, batch_size=64, train_subset=128, pen_styles=0.0, epoch_test_images=100, threads=1, device="cpu"
    )
    result = train(tiny_mnist, config, ModelConfig(channels=(4, 8)))
    assert sizes == [100, 100, len(tiny_mnist.test_images)]
    assert [epoch.test_sample for epoch in result.history] == [100, 100, 0]  # the last: the whole test set
    assert len(result.history) == 3 and result.info.metrics["test_accuracy"] == result.history[-1].test_accuracy


def test_a_best_run_records_the_recipe(mnist_dir, tmp_path, one_thread) -> None:
    """A shortened Best run on real MNIST records the recipe (as changed), its architecture and its data."""
    from digitpad.data.mnist import load_mnist

    data = load_mnist(mnist_dir)
    config = replace(BEST.train_config, epochs=1, train_subset=300, threads=1, device="cpu")
    model_config = replace(BEST.model_config, channels=(8, 16, 16))
    path = tmp_path / "best.safetensors"
    train(data, replace(config, test_subset=200), model_config, checkpoint_path=path)
    info = load_checkpoint(path).info
    assert info.recipe == replace(config, test_subset=200).to_dict()
    assert info.recipe["bf16"] is True and info.recipe["epoch_test_images"] == BEST.train_config.epoch_test_images
    assert "threads" not in info.recipe and "device" not in info.recipe
    assert info.model_config == model_config and info.model_config.pool_first
    assert info.data["train_images"] > 300  # the pen styles and drawn ones joined the subset


# ------------------------------------------------------------------------ threads and estimates


def test_one_and_two_threads_give_the_same_accuracy(tiny_mnist: Mnist, one_thread) -> None:
    """Not bitwise (oneDNN splits its sums by thread), but the same recipe: the same data, order and
    initial weights, so the accuracies agree within a test image or two and the weights stay close."""
    results = {}
    for threads in (1, 2):
        config = TrainConfig(epochs=4, batch_size=64, pen_styles=0.0, bf16=True, threads=threads, device="cpu", seed=3)
        results[threads] = train(tiny_mnist, config, ModelConfig(channels=(8, 16), pool_first=True))
    one, two = (results[t].history[-1].test_accuracy for t in (1, 2))
    assert one > 0.9 and abs(one - two) <= 2 / len(tiny_mnist.test_images)
    first, second = results[1].model.state_dict(), results[2].model.state_dict()
    for name in first:
        if first[name].is_floating_point():
            torch.testing.assert_close(first[name], second[name], rtol=0.1, atol=0.1)


def test_the_estimate_counts_the_evaluations_and_the_pen_styles() -> None:
    assert evaluated_test_images(TrainConfig(epochs=3), 10_000) == 30_000
    assert evaluated_test_images(TrainConfig(epochs=3, epoch_test_images=2000), 10_000) == 14_000
    assert evaluated_test_images(TrainConfig(epochs=1, epoch_test_images=2000), 10_000) == 10_000
    assert synthesis_seconds(TrainConfig(pen_styles=0.0, drawn_ones=0.0), 60_000) == 0.0
    added = expected_train_images(BEST.train_config, 60_000) - 60_000
    assert added > 9000  # pen styles for half the 0s and 1s, drawn ones for 0.6 of the 1s
    assert 0 < synthesis_seconds(BEST.train_config, 60_000) < added * 0.05
