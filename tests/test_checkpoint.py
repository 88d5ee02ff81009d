"""Checkpoints: round trip, refusal of pickles and broken files, atomic saves."""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from digitpad.base.constants import PREPROCESS_VERSION
from digitpad.base.paths import shipped_weights_path
from digitpad.model import checkpoint
from digitpad.model.checkpoint import (
    FORMAT_VERSION,
    METADATA_KEY,
    CheckpointError,
    CheckpointInfo,
    load_checkpoint,
    save_checkpoint,
)
from digitpad.model.network import DigitNet, ModelConfig

SMALL = ModelConfig(channels=(4, 8, 8), dropout=0.2)


def small_model(seed: int = 0) -> DigitNet:
    torch.manual_seed(seed)
    model = DigitNet(SMALL)
    with torch.no_grad():  # non-default running statistics, so they are checked too
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-1, 1)
                module.running_var.uniform_(0.5, 2)
    return model


def info() -> CheckpointInfo:
    return CheckpointInfo(
        model_config=SMALL,
        metrics={"test_accuracy": 0.9912, "per_class_accuracy": [0.99] * 10, "epochs_completed": 3},
        recipe={"epochs": 3, "learning_rate": 0.006, "augment": True},
        data={"source": "/somewhere/mnist", "train_images": 60000, "test_images": 10000},
    )


def rewrite_metadata(path: Path, **changes) -> None:
    """Re-save ``path`` with some fields of its digitpad metadata changed."""
    from safetensors import safe_open

    with safe_open(str(path), "pt") as handle:
        tensors = {name: handle.get_tensor(name) for name in handle.keys()}
        document = json.loads(handle.metadata()[METADATA_KEY])
    document.update(changes)
    save_file(tensors, str(path), metadata={METADATA_KEY: json.dumps(document)})


@pytest.fixture
def saved(tmp_path: Path) -> Path:
    return save_checkpoint(tmp_path / "model.safetensors", small_model(), info())


def test_round_trip_keeps_weights_and_metadata(saved: Path) -> None:
    original = small_model()
    loaded = load_checkpoint(saved)
    assert loaded.path == saved
    assert not loaded.model.training
    assert loaded.model.config == SMALL
    expected = original.state_dict()
    actual = loaded.model.state_dict()
    assert actual.keys() == expected.keys()
    for name in expected:
        assert torch.equal(actual[name], expected[name]), name
    assert loaded.info.to_json() == info().to_json()
    assert loaded.info.metrics["test_accuracy"] == 0.9912
    x = torch.randn(3, 1, 28, 28)
    original.eval()
    with torch.no_grad():
        assert torch.equal(loaded.model(x), original(x))


def test_save_creates_the_folder(tmp_path: Path) -> None:
    path = save_checkpoint(tmp_path / "a" / "b" / "model.safetensors", small_model(), info())
    assert load_checkpoint(path).model.config == SMALL


def test_torch_save_pickle_is_refused(tmp_path: Path) -> None:
    for name, legacy in (("zip.pt", False), ("legacy.pt", True)):
        path = tmp_path / name
        torch.save(small_model().state_dict(), path, _use_new_zipfile_serialization=not legacy)
        with pytest.raises(CheckpointError, match="refused: this is a pickle") as caught:
            load_checkpoint(path)
        assert str(path) in str(caught.value)


class _CreatesMarker:
    """Unpickling this calls ``Path.touch(marker)``: what a malicious checkpoint would do, harmlessly."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


@pytest.mark.parametrize("protocol", [2, pickle.HIGHEST_PROTOCOL])
def test_malicious_pickle_is_refused_without_running(tmp_path: Path, protocol: int) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    path.write_bytes(pickle.dumps({"weights": _CreatesMarker(marker)}, protocol=protocol))
    # The payload works: plain unpickling would create the marker.
    pickle.loads(path.read_bytes())
    assert marker.exists()
    marker.unlink()

    with pytest.raises(CheckpointError, match="pickle"):
        load_checkpoint(path)
    assert not marker.exists()


def test_malicious_pickle_in_a_torch_zip_is_refused_without_running(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pth"
    torch.save({"weights": _CreatesMarker(marker)}, path)
    with pytest.raises(CheckpointError, match="pickle"):
        load_checkpoint(path)
    assert not marker.exists()


def test_protocol_0_pickle_is_refused(tmp_path: Path) -> None:
    """A text-protocol pickle does not start with the PROTO opcode; it must still not be unpickled."""
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps(_CreatesMarker(marker), protocol=0))
    with pytest.raises(CheckpointError):
        load_checkpoint(path)
    assert not marker.exists()


@pytest.mark.parametrize("keep", [0, 5, 8, 100, -1])
def test_truncated_file_is_refused(saved: Path, keep: int) -> None:
    data = saved.read_bytes()
    saved.write_bytes(data[:keep] if keep >= 0 else data[:-1])
    with pytest.raises(CheckpointError) as caught:
        load_checkpoint(saved)
    assert str(saved) in str(caught.value)


def test_safetensors_without_digitpad_metadata_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.safetensors"
    save_file(small_model().state_dict(), str(path), metadata={"format": "pt"})
    with pytest.raises(CheckpointError, match="not a digitpad checkpoint"):
        load_checkpoint(path)


def test_random_bytes_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "noise.safetensors"
    path.write_bytes(os.urandom(256))
    with pytest.raises(CheckpointError):
        load_checkpoint(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="no such file"):
        load_checkpoint(tmp_path / "absent.safetensors")


def test_shape_mismatch_is_refused(tmp_path: Path) -> None:
    path = save_checkpoint(tmp_path / "model.safetensors", small_model(), info())
    rewrite_metadata(path, model_config=ModelConfig(channels=(4, 8, 16), dropout=0.2).to_dict())
    with pytest.raises(CheckpointError, match=r"has shape .* the architecture needs"):
        load_checkpoint(path)


def test_missing_weights_are_refused(tmp_path: Path) -> None:
    path = save_checkpoint(tmp_path / "model.safetensors", small_model(), info())
    rewrite_metadata(path, model_config=ModelConfig(channels=(4, 8, 8, 8), dropout=0.2).to_dict())
    with pytest.raises(CheckpointError, match="do not match the architecture: missing"):
        load_checkpoint(path)


def test_unknown_architecture_setting_is_refused(saved: Path) -> None:
    rewrite_metadata(saved, model_config={**SMALL.to_dict(), "attention_heads": 4})
    with pytest.raises(CheckpointError, match="attention_heads"):
        load_checkpoint(saved)


def test_nan_weights_are_refused(tmp_path: Path) -> None:
    model = small_model()
    with torch.no_grad():
        model.head[-1].weight[0, 0] = float("nan")
    path = save_checkpoint(tmp_path / "model.safetensors", model, info())
    with pytest.raises(CheckpointError, match="NaN"):
        load_checkpoint(path)


def test_newer_format_is_refused(saved: Path) -> None:
    rewrite_metadata(saved, format_version=FORMAT_VERSION + 1)
    with pytest.raises(CheckpointError, match="newer than this digitpad understands.*update digitpad"):
        load_checkpoint(saved)


def test_other_format_name_is_refused(saved: Path) -> None:
    rewrite_metadata(saved, format="someone-elses-checkpoint")
    with pytest.raises(CheckpointError, match="unknown checkpoint format"):
        load_checkpoint(saved)


@pytest.mark.parametrize("version", [PREPROCESS_VERSION + 1, PREPROCESS_VERSION - 1, None])
def test_other_preprocessing_version_is_refused(saved: Path, version: int | None) -> None:
    rewrite_metadata(saved, preprocess_version=version)
    with pytest.raises(CheckpointError, match="preprocessing version.*retrain"):
        load_checkpoint(saved)


def test_interrupted_save_keeps_the_previous_file(saved: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = saved.read_bytes()

    def crash(*args, **kwargs):
        raise OSError("disk unplugged")

    with monkeypatch.context() as patch:
        patch.setattr(checkpoint.os, "replace", crash)
        with pytest.raises(OSError, match="disk unplugged"):
            save_checkpoint(saved, small_model(seed=1), info())
    assert saved.read_bytes() == before
    assert [p.name for p in saved.parent.iterdir()] == [saved.name]
    assert load_checkpoint(saved).model.state_dict().keys() == small_model().state_dict().keys()


def test_write_failing_midway_keeps_the_previous_file(saved: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = saved.read_bytes()
    real_fdopen = os.fdopen

    class FailingStream:
        def __init__(self, stream) -> None:
            self.stream = stream

        def __enter__(self):
            return self

        def __exit__(self, *exc) -> None:
            self.stream.close()

        def write(self, data: bytes) -> int:
            self.stream.write(data[: len(data) // 2])
            raise OSError(28, "No space left on device")

    monkeypatch.setattr(checkpoint.os, "fdopen", lambda *a, **k: FailingStream(real_fdopen(*a, **k)))
    with pytest.raises(OSError, match="No space left"):
        save_checkpoint(saved, small_model(seed=1), info())
    assert saved.read_bytes() == before
    assert [p.name for p in saved.parent.iterdir()] == [saved.name]


def test_keyboard_interrupt_during_save_leaves_no_temp_file(saved: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(fd: int) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(checkpoint.os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(saved, small_model(seed=1), info())
    assert [p.name for p in saved.parent.iterdir()] == [saved.name]


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_saved_file_has_the_usual_mode(saved: Path) -> None:
    umask = os.umask(0)
    os.umask(umask)
    assert saved.stat().st_mode & 0o777 == 0o666 & ~umask


def test_shipped_weights_load_and_describe_themselves() -> None:
    loaded = load_checkpoint(shipped_weights_path())
    assert loaded.info.preprocess_version == PREPROCESS_VERSION
    assert 0.0 < loaded.info.metrics["test_accuracy"] <= 1.0
    assert loaded.info.recipe and loaded.info.data


def test_safetensors_whose_header_size_starts_with_0x80_is_not_taken_for_a_pickle(tmp_path) -> None:
    """Regression: the pickle sniffing looked at byte 0 only, and a header of 0x..80 bytes was refused."""
    from digitpad.model.checkpoint import CheckpointInfo, load_checkpoint, save_checkpoint
    from digitpad.model.network import DigitNet, ModelConfig

    model = DigitNet(ModelConfig())
    for padding in range(300):
        path = save_checkpoint(
            tmp_path / "model.safetensors", model, CheckpointInfo(ModelConfig(), data={"pad": "x" * padding})
        )
        if path.read_bytes()[0] == 0x80:
            break
    else:
        raise AssertionError("could not make a header whose size starts with 0x80")
    assert load_checkpoint(path).info.data["pad"] == "x" * padding
