"""Checkpoints a user could hand digitpad that are broken or hostile (issue 12).

Every one must give one clear CheckpointError (which the CLI prints as one
line), quickly, without large allocations, never hanging and never an
"unexpected error".
"""

from __future__ import annotations

import json
import math
import os
import re
import threading
import time
import warnings
from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import TINY_MODEL, checkpoint_document
from safetensors.torch import save_file

from digitpad.base import atomic
from digitpad.base.atomic import STALE_TEMPORARY_SECONDS, remove_stale_temporaries
from digitpad.base.constants import PREPROCESS_VERSION
from digitpad.cli import main
from digitpad.cli.common import EXIT_ERROR
from digitpad.model import checkpoint
from digitpad.model.checkpoint import (
    MAX_FILE_BYTES,
    METADATA_KEY,
    CheckpointError,
    CheckpointInfo,
    load_checkpoint,
    save_checkpoint,
)
from digitpad.model.inference import Predictor
from digitpad.model.network import (
    MAX_BLOCKS,
    MAX_CHANNELS,
    MAX_CONVS_PER_BLOCK,
    MAX_FIRST_KERNEL,
    DigitNet,
    ModelConfig,
)

SMALL = TINY_MODEL
document = checkpoint_document


def small_model(config: ModelConfig = SMALL) -> DigitNet:
    torch.manual_seed(0)
    model = DigitNet(config)
    with torch.no_grad():  # trained-looking running statistics
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-1, 1)
                module.running_var.uniform_(0.5, 2)
    return model.eval()


def unchecked_config(**values) -> ModelConfig:
    """A ModelConfig that skips validation: what an older digitpad let through and saved."""
    config = object.__new__(ModelConfig)
    defaults = {f.name: f.default for f in fields(ModelConfig)}
    for name, value in {**defaults, **values}.items():
        object.__setattr__(config, name, value)
    return config


def write_tensors(path: Path, tensors: dict[str, torch.Tensor], metadata: dict | None = None) -> Path:
    """A safetensors file of ``tensors`` with ``metadata`` (default: SMALL's) as digitpad's JSON."""
    save_file(tensors, str(path), metadata={METADATA_KEY: json.dumps(metadata or document())})
    return path


def write_header(path: Path, header: str, data: bytes = b"") -> Path:
    """A file of the safetensors layout with any header text, valid or not."""
    text = header.encode()
    path.write_bytes(len(text).to_bytes(8, "little") + text + data)
    return path


def state(model: DigitNet) -> dict[str, torch.Tensor]:
    return {name: tensor.detach().clone().contiguous() for name, tensor in model.state_dict().items()}


def refused(path: Path, match: str) -> str:
    with pytest.raises(CheckpointError, match=match) as caught:
        load_checkpoint(path)
    message = str(caught.value)
    assert str(path) in message and "\n" not in message
    return message


# --- 3. architectures out of bounds --------------------------------------------


@pytest.mark.parametrize(
    ("values", "match"),
    [
        ({"channels": (8, 8, 8, 8, 8)}, "1 to 4 blocks"),
        ({"convs_per_block": 0}, "convs_per_block"),
        ({"dropout": math.nan}, "dropout"),
    ],
)
def test_degenerate_but_self_consistent_checkpoint_is_refused(tmp_path: Path, values: dict, match: str) -> None:
    """Saved by a digitpad that let these through; its weights fit its description, yet it cannot predict."""
    config = unchecked_config(**values)
    with warnings.catch_warnings():  # five blocks leave a 0x0 map: torch warns about initialising no weights
        warnings.simplefilter("ignore", UserWarning)
        tensors = state(DigitNet(config))
    model_config = {**SMALL.to_dict(), **values, "channels": list(config.channels)}
    path = write_tensors(tmp_path / "model.safetensors", tensors, document(model_config=model_config))
    refused(path, f"bad architecture description: .*{match}")


@pytest.mark.parametrize(
    "values",
    [
        {"channels": []},
        {"channels": [8] * (MAX_BLOCKS + 1)},
        {"channels": [0, 8, 8]},
        {"channels": [MAX_CHANNELS + 1]},
        {"channels": ["8", 8, 8]},
        {"channels": [8.5, 8, 8]},
        {"channels": [True, 8, 8]},
        {"channels": 8},
        {"channels": None},
        {"convs_per_block": MAX_CONVS_PER_BLOCK + 1},
        {"convs_per_block": 1.0},
        {"first_kernel": 4},
        {"first_kernel": MAX_FIRST_KERNEL + 2},
        {"first_kernel": 0},
        {"dropout": 1.0},
        {"dropout": -0.1},
        {"dropout": math.inf},
        {"dropout": "0.1"},
        {"dropout": True},
        {"num_classes": 12},
    ],
)
def test_model_config_refuses_out_of_bounds(values: dict) -> None:
    with pytest.raises(ValueError):
        ModelConfig.from_dict({**SMALL.to_dict(), **values})


@pytest.mark.parametrize(
    "config",
    [
        ModelConfig(channels=(1,), convs_per_block=1, first_kernel=1, dropout=0),
        ModelConfig(channels=(MAX_CHANNELS,) * MAX_BLOCKS, convs_per_block=MAX_CONVS_PER_BLOCK, first_kernel=7),
        ModelConfig(channels=(8, 8, 8, 8), dropout=0.99, num_classes=11),
    ],
)
def test_model_config_edges_are_allowed_and_run(config: ModelConfig) -> None:
    with torch.device("meta"):  # the largest would take a while to initialise; the shapes are what matters
        model = DigitNet(config)
    assert model(torch.zeros(2, 1, 28, 28, device="meta")).shape == (2, config.num_classes)
    assert ModelConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config


def test_largest_allowed_model_fits_the_file_cap() -> None:
    config = ModelConfig(channels=(MAX_CHANNELS,) * MAX_BLOCKS, convs_per_block=MAX_CONVS_PER_BLOCK, first_kernel=7)
    with torch.device("meta"):
        values = sum(t.numel() for t in DigitNet(config).state_dict().values())
    assert values * 8 + 2**20 < MAX_FILE_BYTES  # even at float64, with a full header


def test_model_config_from_a_list_compares_equal() -> None:
    assert ModelConfig(channels=[4, 8, 8], dropout=0.2) == SMALL


# --- 4. weights that make NaN ------------------------------------------------------


@pytest.mark.parametrize("variance", [-1.0, -1e-5, -1e-30])
def test_negative_running_variance_is_refused(tmp_path: Path, variance: float) -> None:
    tensors = state(small_model())
    tensors["blocks.1.0.1.running_var"][3] = variance
    refused(write_tensors(tmp_path / "model.safetensors", tensors), "running_var has negative variances")


def test_zero_running_variance_is_allowed(tmp_path: Path) -> None:
    """A dead channel's running variance decays to 0.0 in float32; eps keeps it finite."""
    tensors = state(small_model())
    tensors["blocks.1.0.1.running_var"][3] = 0.0
    load_checkpoint(write_tensors(tmp_path / "model.safetensors", tensors))


@pytest.mark.parametrize("value", [3e38, -3e38, 1e30])
def test_huge_head_weights_are_refused(tmp_path: Path, value: float) -> None:
    tensors = state(small_model())
    tensors["head.2.weight"].fill_(value)
    refused(write_tensors(tmp_path / "model.safetensors", tensors), "outputs are (NaN or infinite|implausibly large)")


@pytest.mark.parametrize("dtype", [torch.int32, torch.int64, torch.uint8, torch.bool])
def test_non_float_weights_are_refused(tmp_path: Path, dtype: torch.dtype) -> None:
    tensors = state(small_model())
    tensors["head.2.weight"] = tensors["head.2.weight"].to(dtype)
    refused(write_tensors(tmp_path / "model.safetensors", tensors), r"head\.2\.weight is stored as '(I|U|BOOL)")


def test_float_counter_is_refused(tmp_path: Path) -> None:
    tensors = state(small_model())
    tensors["blocks.0.0.1.num_batches_tracked"] = tensors["blocks.0.0.1.num_batches_tracked"].float()
    refused(write_tensors(tmp_path / "model.safetensors", tensors), "must be I64")


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float64])
def test_other_float_types_load(tmp_path: Path, dtype: torch.dtype) -> None:
    tensors = {name: t.to(dtype) if t.is_floating_point() else t for name, t in state(small_model()).items()}
    loaded = load_checkpoint(write_tensors(tmp_path / "model.safetensors", tensors))
    assert loaded.model.head[-1].weight.dtype == torch.float32


# --- 5. files that are too big, not files, or never end -------------------------


def test_huge_architecture_is_refused_from_the_header_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The 292-byte file that asked for 2.6 GB of model: nothing is built."""

    def no_model(*args, **kwargs):
        raise AssertionError("a model was built")

    monkeypatch.setattr(checkpoint, "DigitNet", no_model)
    metadata = json.dumps(document(model_config={"channels": [8192, 8192, 8192]}))
    path = write_header(tmp_path / "huge.safetensors", json.dumps({"__metadata__": {METADATA_KEY: metadata}}))
    assert path.stat().st_size < 400
    started = time.perf_counter()
    refused(path, "bad architecture description: channels")
    assert time.perf_counter() - started < 1


def test_tensors_are_checked_from_the_header_before_anything_is_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = checkpoint.DigitNet

    def only_on_meta(config: ModelConfig) -> DigitNet:
        assert torch.get_default_device().type == "meta", "a real model was built"
        return real(config)

    def no_loading(raw: bytes):
        raise AssertionError("tensors were loaded")

    path = write_tensors(tmp_path / "model.safetensors", state(small_model()))
    rewritten = document(model_config=ModelConfig(channels=(8, 8, 8)).to_dict())
    header_size = int.from_bytes(path.read_bytes()[:8], "little")
    header = json.loads(path.read_bytes()[8 : 8 + header_size])
    header["__metadata__"][METADATA_KEY] = json.dumps(rewritten)
    write_header(path, json.dumps(header), path.read_bytes()[8 + header_size :])
    monkeypatch.setattr(checkpoint, "DigitNet", only_on_meta)
    monkeypatch.setattr(checkpoint, "load_safetensors_bytes", no_loading)
    refused(path, r"weight blocks\.0\.0\.0\.weight has shape \(4, 1, 5, 5\), the architecture needs \(8, 1, 5, 5\)")


def test_file_over_the_size_cap_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "huge.safetensors"
    with path.open("wb") as stream:  # sparse: no disk or memory used
        stream.write((1000).to_bytes(8, "little") + b"{")
        stream.truncate(3 * 2**30)
    started = time.perf_counter()
    refused(path, "too large for a digitpad checkpoint")
    assert time.perf_counter() - started < 1


def test_header_over_the_size_cap_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "model.safetensors"
    path.write_bytes((2**40).to_bytes(8, "little") + b'{"a": 1}')
    refused(path, "not a digitpad checkpoint .*header would be")


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_device_is_refused() -> None:
    refused(Path("/dev/zero"), "is a device")


def test_folder_is_refused(tmp_path: Path) -> None:
    refused(tmp_path, "is a folder")


def test_name_with_a_nul_is_refused() -> None:
    with pytest.raises(CheckpointError, match="cannot read: embedded null byte"):
        load_checkpoint("model\0.safetensors")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX FIFOs")
def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "weights.safetensors"
    os.mkfifo(fifo)
    outcome: list[BaseException | None] = []

    def load() -> None:
        try:
            load_checkpoint(fifo)
        except BaseException as error:  # handed to the test's thread
            outcome.append(error)
        else:
            outcome.append(None)

    thread = threading.Thread(target=load, daemon=True)
    thread.start()
    thread.join(1)
    if thread.is_alive():  # blocked opening the FIFO: give it a writer and an end, then fail
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        thread.join(5)
        pytest.fail("loading a FIFO blocked")
    assert isinstance(outcome[0], CheckpointError) and "is a pipe (FIFO)" in str(outcome[0])


@pytest.mark.skipif(os.name != "posix", reason="symbolic links need privileges on Windows")
def test_symlinks_are_followed_and_loops_refused(tmp_path: Path) -> None:
    target = save_checkpoint(tmp_path / "real.safetensors", small_model(), CheckpointInfo(SMALL))
    link = tmp_path / "link.safetensors"
    link.symlink_to(target)
    assert load_checkpoint(link).model.config == SMALL
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    refused(tmp_path / "a", "a loop of symbolic links")


# --- 6. malformed headers and metadata ------------------------------------------------


def metadata_header(text: object) -> str:
    return json.dumps({"__metadata__": {METADATA_KEY: text}})


@pytest.mark.parametrize(
    ("header", "match"),
    [
        ("null", "corrupt safetensors header: not a JSON object but NoneType"),
        ("[]", "corrupt safetensors header: not a JSON object but list"),
        ('"text"', "corrupt safetensors header: not a JSON object but str"),
        ("[" * 200_000 + "]" * 200_000, "corrupt safetensors header: nested too deeply"),
        (json.dumps({"__metadata__": [METADATA_KEY]}), "not a digitpad checkpoint"),
        (json.dumps({"__metadata__": "digitpad"}), "not a digitpad checkpoint"),
        (metadata_header(5), "corrupt digitpad metadata: not a string but int"),
        (metadata_header(["x"]), "corrupt digitpad metadata: not a string but list"),
        (metadata_header("null"), "corrupt digitpad metadata: not a JSON object but NoneType"),
        (metadata_header("[1, 2]"), "corrupt digitpad metadata: not a JSON object but list"),
        (metadata_header("[" * 100_000 + "]" * 100_000), "corrupt digitpad metadata: nested too deeply"),
        (metadata_header("{"), "corrupt digitpad metadata"),
        (metadata_header(json.dumps(document(model_config=[4, 8, 8]))), "'model_config' must be a JSON object"),
        (metadata_header(json.dumps(document(model_config="small"))), "'model_config' must be a JSON object"),
        (metadata_header(json.dumps(document(format_version="1"))), "malformed checkpoint format version '1'"),
        (metadata_header(json.dumps(document(format_version=True))), "malformed checkpoint format version"),
    ],
)
def test_malformed_header_is_refused(tmp_path: Path, header: str, match: str) -> None:
    refused(write_header(tmp_path / "model.safetensors", header), match)


@pytest.mark.parametrize("key", ["metrics", "recipe", "data"])
@pytest.mark.parametrize("value", [[0.99], "0.99", 3])
def test_metadata_fields_of_the_wrong_type_are_refused(tmp_path: Path, key: str, value: object) -> None:
    """Refused rather than read as empty: digitpad writes objects, and what reads them expects objects."""
    path = write_tensors(tmp_path / "model.safetensors", state(small_model()), document(**{key: value}))
    refused(path, f"malformed metadata: '{key}' must be a JSON object, not {type(value).__name__}")


def test_null_metadata_fields_read_as_empty(tmp_path: Path) -> None:
    path = write_tensors(tmp_path / "model.safetensors", state(small_model()), document(metrics=None, data=None))
    info = load_checkpoint(path).info
    assert info.metrics == {} and info.data == {}


def test_float8_weights_are_refused(tmp_path: Path) -> None:
    tensors = state(small_model())
    tensors["head.2.weight"] = tensors["head.2.weight"].to(torch.float8_e4m3fn)
    refused(write_tensors(tmp_path / "model.safetensors", tensors), "stored as 'F8_E4M3'")


def test_header_entry_that_is_not_an_object_is_refused(tmp_path: Path) -> None:
    names = state(small_model())
    header = {name: [] for name in names} | {"__metadata__": {METADATA_KEY: json.dumps(document())}}
    refused(write_header(tmp_path / "model.safetensors", json.dumps(header)), "entry of .* is not a JSON object")


# --- 7. messages that named the wrong thing -------------------------------------------


def header_starting_with_0x80(tmp_path: Path) -> Path:
    for padding in range(300):
        info = CheckpointInfo(SMALL, data={"pad": "x" * padding})
        path = save_checkpoint(tmp_path / "model.safetensors", small_model(), info)
        if path.read_bytes()[0] == 0x80:
            return path
    raise AssertionError("could not make a header whose size starts with 0x80")


def test_truncated_file_is_never_called_a_pickle(tmp_path: Path) -> None:
    path = header_starting_with_0x80(tmp_path)
    data = path.read_bytes()
    header_end = 8 + int.from_bytes(data[:8], "little")
    cuts = [*range(0, header_end + 16), *range(header_end + 16, len(data), 61)]
    cut = tmp_path / "cut.safetensors"
    for keep in cuts:
        cut.write_bytes(data[:keep])
        with pytest.raises(CheckpointError) as caught:
            load_checkpoint(cut)
        assert "pickle" not in str(caught.value), keep


@pytest.mark.parametrize("version", [str(PREPROCESS_VERSION), float(PREPROCESS_VERSION), True, [1]])
def test_malformed_preprocessing_version_is_called_malformed(tmp_path: Path, version: object) -> None:
    path = write_tensors(tmp_path / "model.safetensors", state(small_model()), document(preprocess_version=version))
    message = refused(path, re.escape(f"malformed preprocessing version {version!r}"))
    assert "this digitpad uses" not in message


# --- 11. temporary files of killed saves -----------------------------------------------


def leave_a_temporary(target: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run a save that dies before its rename and cleans nothing up, as under SIGKILL."""
    before = set(target.parent.iterdir())
    with monkeypatch.context() as patch:
        patch.setattr(atomic.os, "replace", lambda *a: (_ for _ in ()).throw(SystemExit("killed")))
        patch.setattr(atomic.os, "unlink", lambda *a: None)
        with pytest.raises(SystemExit):
            save_checkpoint(target, small_model(), CheckpointInfo(SMALL))
    (left,) = set(target.parent.iterdir()) - before
    return left


def age(path: Path, seconds: float) -> None:
    when = time.time() - seconds
    os.utime(path, (when, when), follow_symlinks=False)


def test_stale_temporaries_of_killed_saves_are_removed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "model.safetensors"
    stale = leave_a_temporary(target, monkeypatch)
    assert stale.name.startswith(".model.safetensors.") and stale.name.endswith(".tmp")
    age(stale, STALE_TEMPORARY_SECONDS + 60)
    recent = leave_a_temporary(target, monkeypatch)  # perhaps a save running in another process
    others = [tmp_path / ".other.safetensors.abcd1234.tmp", tmp_path / ".model.safetensors.tmp"]
    others += [tmp_path / ".model.safetensors.abcd1234.tmp.bak", tmp_path / "model.safetensors.abcd1234.tmp"]
    for other in others:
        other.write_bytes(b"not ours")
        age(other, 3600)
    if hasattr(os, "symlink"):
        link = tmp_path / ".model.safetensors.zzzz9999.tmp"
        link.symlink_to(tmp_path / "elsewhere")
        others.append(link)
    save_checkpoint(target, small_model(), CheckpointInfo(SMALL))
    assert not stale.exists()
    assert recent.exists()
    assert all(os.path.lexists(other) for other in others)
    assert load_checkpoint(target).model.config == SMALL


def test_saving_many_files_into_one_folder_lists_it_once_not_once_a_file(tmp_path: Path, monkeypatch) -> None:
    # An import of 5,000 samples listed their folder 5,000 times: 9.2 s of writes, 4.3 s with one listing a minute.
    listed: list[object] = []
    real_scandir = atomic.os.scandir
    monkeypatch.setattr(atomic.os, "scandir", lambda folder: listed.append(folder) or real_scandir(folder))
    for number in range(50):
        atomic.atomic_write_bytes(tmp_path / f"sample-{number}.json", b"{}")
    assert len(listed) == 1 and len(list(tmp_path.iterdir())) == 50


def test_a_leftover_made_after_the_folder_was_listed_goes_once_the_listing_is_a_minute_old(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "model.safetensors"
    save_checkpoint(target, small_model(), CheckpointInfo(SMALL))  # lists the folder
    stale = leave_a_temporary(target, monkeypatch)
    age(stale, STALE_TEMPORARY_SECONDS + 60)  # as if left long ago (a real one made now is young: it would wait)
    save_checkpoint(target, small_model(), CheckpointInfo(SMALL))
    assert stale.exists()  # not in the listing, which is seconds old
    started = time.time()
    monkeypatch.setattr(atomic.time, "time", lambda: started + atomic.RELIST_SECONDS + 1)
    save_checkpoint(target, small_model(), CheckpointInfo(SMALL))
    assert not stale.exists()


def test_removing_stale_temporaries_ignores_a_missing_folder(tmp_path: Path) -> None:
    assert remove_stale_temporaries(tmp_path / "absent" / "model.safetensors") == []


# --- the shipped weights, 11 classes, the CLI -------------------------------------------


def test_shipped_weights_load_through_the_predictor() -> None:
    predictor = Predictor.from_checkpoint()
    canvas = np.zeros((280, 280), np.float32)
    canvas[60:220, 130:150] = 1.0
    prediction = predictor.predict(canvas)
    assert prediction is not None and prediction.digit == 1


def test_eleven_class_model_saves_and_loads(tmp_path: Path) -> None:
    config = ModelConfig(channels=(4, 8, 8), num_classes=11)
    path = save_checkpoint(tmp_path / "model.safetensors", small_model(config), CheckpointInfo(config))
    assert load_checkpoint(path).model.config.num_classes == 11


def hostile_files(tmp_path: Path) -> list[Path]:
    tensors = state(small_model())
    tensors["blocks.0.0.1.running_var"][0] = -1
    files = [
        tmp_path,
        write_header(tmp_path / "null.safetensors", "null"),
        write_header(tmp_path / "deep.safetensors", "[" * 200_000 + "]" * 200_000),
        write_tensors(tmp_path / "variance.safetensors", tensors),
        write_tensors(tmp_path / "metrics.safetensors", state(small_model()), document(metrics=[1])),
        write_header(
            tmp_path / "wide.safetensors", metadata_header(json.dumps(document(model_config={"channels": [8192]})))
        ),
    ]
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "fifo.safetensors")
        files.append(tmp_path / "fifo.safetensors")
    return files


def test_cli_reports_each_hostile_file_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from PIL import Image

    image = tmp_path / "one.png"
    Image.fromarray(np.full((28, 28), 255, np.uint8)).save(image)
    for weights in hostile_files(tmp_path):
        code = main(["predict", "--weights", str(weights), str(image)])
        err = capsys.readouterr().err
        assert code == EXIT_ERROR, weights
        assert err.startswith(f"digitpad: {weights}: ") and err.count("\n") == 1, err
        assert "unexpected error" not in err and "Traceback" not in err
