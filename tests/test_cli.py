"""The ``digitpad`` command, run in-process: output formats, and one-line errors with a non-zero status."""

from __future__ import annotations

import importlib.util
import os
import pickle
import re
import socket
import stat
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import assert_one_line_error, run_cli, write_mnist_folder
from safetensors.torch import load_file

from digitpad import __version__
from digitpad.base.paths import shipped_weights_path
from digitpad.cli import main
from digitpad.cli.common import EXIT_ERROR, EXIT_OK
from digitpad.cli.parser import build_parser
from digitpad.cli.train import train_settings
from digitpad.data import download
from digitpad.data.augment import AugmentConfig
from digitpad.data.mnist import Mnist
from digitpad.model.checkpoint import CheckpointInfo, load_checkpoint, save_checkpoint
from digitpad.model.inference import Predictor
from digitpad.model.network import DigitNet, ModelConfig
from digitpad.training.calibration import Calibration
from digitpad.training.config import TrainConfig
from digitpad.training.recipes import APP_DEFAULT, BEST, SHIPPED

REPO = Path(__file__).resolve().parent.parent
Image = pytest.importorskip("PIL.Image")


def save_image(path: Path, array: np.ndarray) -> Path:
    Image.fromarray(array).save(path)
    return path


def bar_one(dark_on_light: bool) -> np.ndarray:
    """A clear "1": a thick vertical bar."""
    image = np.zeros((200, 160), np.uint8)
    image[30:170, 70:95] = 255
    return 255 - image if dark_on_light else image


def test_eval_with_the_shipped_weights(mnist_dir: Path, capsys: pytest.CaptureFixture) -> None:
    code, out, err = run_cli(["eval", "--data-dir", str(mnist_dir)], capsys)
    assert code == EXIT_OK, err
    lines = out.strip().splitlines()
    assert lines[0].startswith("weights: ") and lines[0].endswith("digitpad-cnn.safetensors")
    per_class = [re.fullmatch(r"  (\d): (\d\.\d{4}) \((\d+) digits\)", line) for line in lines[1:-1]]
    assert all(per_class) and [int(m[1]) for m in per_class] == list(range(10))
    assert sum(int(m[3]) for m in per_class) == 10000
    last = re.fullmatch(r"accuracy: (0\.\d{4}|1\.0000)", lines[-1])
    assert last, lines[-1]
    assert float(last[1]) > 0.95
    # The overall figure is the digit-weighted mean of the per-class ones.
    weighted = sum(float(m[2]) * int(m[3]) for m in per_class) / 10000
    assert float(last[1]) == pytest.approx(weighted, abs=1e-3)


def test_eval_takes_the_data_from_the_environment(
    mnist_dir: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DIGITPAD_MNIST_DIR", str(tmp_path / "nowhere"))
    code, _, err = run_cli(["eval"], capsys)
    assert_one_line_error(code, err, str(tmp_path / "nowhere"), "digitpad download")


def test_predict_reads_digits_in_both_polarities(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    dark = save_image(tmp_path / "dark.png", bar_one(dark_on_light=True))
    light = save_image(tmp_path / "light.jpg", bar_one(dark_on_light=False))
    blank = save_image(tmp_path / "blank.png", np.full((64, 64), 255, np.uint8))
    code, out, err = run_cli(["predict", str(dark), str(light), str(blank)], capsys)
    assert code == EXIT_OK, err
    lines = out.strip().splitlines()
    assert re.fullmatch(rf"{re.escape(str(dark))}: 1 \(\d+\.\d%\)", lines[0])
    assert re.fullmatch(rf"{re.escape(str(light))}: 1 \(\d+\.\d%\)", lines[1])
    assert lines[2] == f"{blank}: nothing drawn"
    assert err == ""


def test_predict_reads_transparent_png_as_ink_on_paper(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """A black "1" on a fully transparent background (the usual export of drawing apps)."""
    rgba = np.zeros((200, 160, 4), np.uint8)
    rgba[30:170, 70:95, 3] = 255  # opaque black bar, transparent black elsewhere
    path = tmp_path / "transparent.png"
    Image.fromarray(rgba, "RGBA").save(path)
    code, out, err = run_cli(["predict", str(path)], capsys)
    assert code == EXIT_OK, err
    assert out.startswith(f"{path}: 1 ")


def test_predict_reads_palette_png_with_transparency(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """Optimised PNGs keep transparency in the palette (tRNS), not in an alpha band."""
    rgba = np.zeros((200, 160, 4), np.uint8)
    rgba[30:170, 70:95, 3] = 255  # opaque black bar, transparent black elsewhere
    path = tmp_path / "palette.png"
    Image.fromarray(rgba, "RGBA").convert("P").save(path)
    with Image.open(path) as image:
        assert image.mode == "P" and "transparency" in image.info
    code, out, err = run_cli(["predict", str(path)], capsys)
    assert code == EXIT_OK, err
    assert out.startswith(f"{path}: 1 ")
    assert err == ""


def test_predict_errors_are_one_line_each(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"this is not a PNG")
    good = save_image(tmp_path / "good.png", bar_one(dark_on_light=True))
    missing = tmp_path / "missing.png"
    code, out, err = run_cli(["predict", str(junk), str(good), str(missing)], capsys)
    assert code == EXIT_ERROR
    assert out.strip() == f"{good}: 1 " + out.strip().split(": 1 ", 1)[1]  # the good one is still read
    lines = err.strip().splitlines()
    assert len(lines) == 2 and "Traceback" not in err
    assert lines[0].startswith(f"digitpad: {junk}: not a readable image")
    assert lines[1] == f"digitpad: {missing}: no such file"


def test_missing_weights_file(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    image = save_image(tmp_path / "one.png", bar_one(dark_on_light=True))
    code, _, err = run_cli(["predict", "--weights", str(tmp_path / "absent.safetensors"), str(image)], capsys)
    assert_one_line_error(code, err, "absent.safetensors", "no such file")


def test_pickle_as_weights_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture, mnist_dir: Path) -> None:
    weights = tmp_path / "model.pt"
    weights.write_bytes(pickle.dumps({"weights": [1, 2, 3]}))
    code, _, err = run_cli(["eval", "--weights", str(weights), "--data-dir", str(mnist_dir)], capsys)
    assert_one_line_error(code, err, str(weights), "pickle")


def test_missing_data_dir(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    code, _, err = run_cli(["eval", "--data-dir", str(tmp_path / "no-mnist")], capsys)
    assert_one_line_error(code, err, "no-mnist", "no such folder")


def test_malformed_data_names_the_file(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    for stem in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte"):
        (tmp_path / stem).write_bytes(b"\x00\x00\x08\x01\x00\x00\x00\x01\x00")
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(b"\x00\x00\x08\x01\x00\x00\x00\x05\x01")  # truncated
    code, _, err = run_cli(["eval", "--data-dir", str(tmp_path)], capsys)
    assert_one_line_error(code, err, str(tmp_path / "train-images-idx3-ubyte"), "28x28")


def test_train_a_little(mnist_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out_path = tmp_path / "out" / "small.safetensors"
    argv = ["train", "--data-dir", str(mnist_dir), "--subset", "500", "--epochs", "3", "--out", str(out_path)]
    code, out, err = run_cli([*argv, "--channels", "8,16,16", "--batch-size", "50"], capsys)
    assert code == EXIT_OK, err
    lines = out.strip().splitlines()
    assert lines[0] == f"recipe best: {BEST.title}"  # without --recipe, the Best recipe
    assert lines[1].startswith("training on 500 images from ")
    assert any(line.startswith("epoch 3/3 done in ") for line in lines)
    assert lines[-2] == f"saved {out_path}"
    accuracy = re.fullmatch(r"accuracy: (\d\.\d{4})", lines[-1])
    assert accuracy and float(accuracy[1]) > 0.4  # 500 images, three epochs: far above chance already
    loaded = load_checkpoint(out_path)
    assert loaded.model.config.channels == (8, 16, 16)
    assert loaded.info.metrics["test_accuracy"] == pytest.approx(float(accuracy[1]), abs=1e-4)


def test_train_rejects_bad_channels(capsys: pytest.CaptureFixture) -> None:
    code, _, err = run_cli(["train", "--channels", "8,x"], capsys)
    assert_one_line_error(code, err, "--channels")


def settings(*options: str) -> tuple[TrainConfig, ModelConfig]:
    return train_settings(build_parser().parse_args(["train", *options]))


def test_train_without_a_recipe_uses_the_best_recipe_and_the_options() -> None:
    assert settings() == (BEST.train_config, BEST.model_config)
    config, model_config = settings("--epochs", "2", "--no-augment", "--augment-strength", "0.5", "--subset", "0")
    assert config == replace(
        BEST.train_config, epochs=2, augment=False, augment_config=AugmentConfig().scaled(0.5), train_subset=0
    )
    assert model_config == BEST.model_config


def reproduce_command() -> list[str]:
    """The options of the documented "Reproduce" command (docs/model.md), continuation lines joined,
    without its data and out paths."""
    text = (Path(__file__).resolve().parent.parent / "docs" / "model.md").read_text(encoding="utf-8")
    start = text.index("    digitpad train --recipe shipped --data-dir DIR --channels")
    lines = []
    for line in text[start:].splitlines():
        lines.append(line.strip().rstrip("\\"))
        if not line.endswith("\\"):
            break
    words = " ".join(lines).split()[2:]  # without "digitpad train"
    for option in ("--data-dir", "--out"):
        index = words.index(option)
        del words[index : index + 2]
    return words


def test_the_documented_reproduce_command_is_the_shipped_recipe() -> None:
    assert settings(*reproduce_command()) == (SHIPPED.train_config, SHIPPED.model_config)
    assert settings("--recipe", "shipped") == (SHIPPED.train_config, SHIPPED.model_config)
    assert settings("--recipe", "default") == (APP_DEFAULT.train_config, APP_DEFAULT.model_config)


def test_options_override_the_recipe() -> None:
    config, model_config = settings("--recipe", "shipped", "--epochs", "2", "--seed", "0", "--channels", "8,16")
    assert config == replace(SHIPPED.train_config, epochs=2, seed=0)
    assert model_config == replace(SHIPPED.model_config, channels=(8, 16))
    config, _ = settings("--recipe", "shipped", "--augment-strength", "1", "--pen-styles", "0", "--device", "cpu")
    assert config == replace(SHIPPED.train_config, augment_config=AugmentConfig(), pen_styles=0.0, device="cpu")


def test_train_a_little_with_a_recipe(mnist_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out_path = tmp_path / "recipe.safetensors"
    argv = ["train", "--recipe", "shipped", "--data-dir", str(mnist_dir), "--subset", "256", "--out", str(out_path)]
    code, out, err = run_cli([*argv, "--epochs", "1", "--channels", "8,16,16", "--device", "cpu"], capsys)
    assert code == EXIT_OK, err
    lines = out.strip().splitlines()
    assert lines[0] == f"recipe shipped: {SHIPPED.title}"
    assert lines[1].startswith("training on 256 images from ")
    assert lines[-2] == f"saved {out_path}"
    info = load_checkpoint(out_path).info
    # The run recorded the recipe's settings, except those given on the command line.
    assert info.recipe == replace(SHIPPED.train_config, epochs=1, train_subset=256, device="cpu").to_dict()
    assert info.model_config == replace(SHIPPED.model_config, channels=(8, 16, 16))
    assert info.data["train_images"] > 256  # the recipe's pen styles added variants


def test_non_digits_compose_with_a_recipe_and_give_eleven_classes() -> None:
    config, model_config = settings("--recipe", "shipped", "--non-digits", "0.15")
    assert config == replace(SHIPPED.train_config, non_digits=0.15)
    assert model_config == replace(SHIPPED.model_config, num_classes=11)
    config, model_config = settings("--non-digits", "0")
    assert config == BEST.train_config and model_config == BEST.model_config


def test_train_and_eval_with_non_digits(
    mnist_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from digitpad.training import loop as train

    monkeypatch.setattr(train, "NON_DIGIT_CHECK_COUNT", 100)  # the held-out set, kept small for speed
    out_path = tmp_path / "eleven.safetensors"
    argv = ["train", "--data-dir", str(mnist_dir), "--subset", "500", "--epochs", "1", "--out", str(out_path)]
    code, out, err = run_cli([*argv, "--channels", "8,16,16", "--batch-size", "50", "--non-digits", "0.2"], capsys)
    assert code == EXIT_OK, err
    lines = out.strip().splitlines()
    assert re.search(r"not a digit: \d\.\d{4} of non-digits, \d\.\d{4} of test digits$", lines[-5])
    assert re.fullmatch(r"non-digits read as not a digit: \d\.\d{4}", lines[-3])
    assert re.fullmatch(r"test digits read as not a digit: \d\.\d{4}", lines[-2])
    assert re.fullmatch(r"accuracy: \d\.\d{4}", lines[-1])
    info = load_checkpoint(out_path).info
    assert info.model_config.num_classes == 11 and info.data["train_images"] > 600  # 100 non-digits added
    assert 0 <= info.metrics["non_digit_recall"] <= 1

    code, out, err = run_cli(["eval", "--weights", str(out_path), "--data-dir", str(mnist_dir)], capsys)
    assert code == EXIT_OK, err
    lines = out.strip().splitlines()
    assert len(lines) == 13  # weights, ten digits, the share read as not a digit, accuracy
    declined = re.fullmatch(r"read as not a digit: (\d\.\d{4})", lines[-2])
    assert declined and float(declined[1]) == pytest.approx(info.metrics["digits_declined"], abs=1e-4)
    assert float(lines[-1].split()[-1]) == pytest.approx(info.metrics["test_accuracy"], abs=1e-4)


def test_unknown_recipe_is_a_usage_error(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["train", "--recipe", "fastest"])
    assert caught.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_download_failure_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as probe:  # a port where nothing listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setattr(download, "MIRRORS", (f"http://127.0.0.1:{port}/mnist/",))
    monkeypatch.setenv("no_proxy", "*")
    code, _, err = run_cli(["download", "--dest", str(tmp_path / "mnist")], capsys)
    assert_one_line_error(code, err, "could not download train-images-idx3-ubyte.gz from any mirror")


@pytest.mark.skipif(
    importlib.util.find_spec("onnx") is None or importlib.util.find_spec("onnxscript") is None,
    reason="onnx/onnxscript not installed",
)
def test_export_onnx(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out_path = tmp_path / "digitpad.onnx"
    code, out, err = run_cli(["export", "--onnx", str(out_path)], capsys)
    assert code == EXIT_OK, err
    assert out.strip() == f"wrote {out_path}"
    assert out_path.stat().st_size > 10_000
    assert err == ""


def test_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["frobnicate"])
    assert caught.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_version_as_a_module() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "digitpad", "--version"], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"digitpad {__version__}"


# --- digitpad calibrate ---------------------------------------------------------


def tiny_checkpoint(path: Path) -> Path:
    torch.manual_seed(0)
    info = CheckpointInfo(
        model_config=ModelConfig(channels=(4, 8, 8)),
        metrics={"test_accuracy": 0.5, "drawn_digits_accuracy": 0.25},
        recipe={"epochs": 1},
        data={"source": "bars", "train_images": 1200},
    )
    return save_checkpoint(path, DigitNet(info.model_config).eval(), info)


def tensors_and_info(path: Path) -> tuple[dict, dict]:
    loaded = load_checkpoint(path)
    return load_file(str(path)), {
        "metrics": loaded.info.metrics,
        "recipe": loaded.info.recipe,
        "data": loaded.info.data,
    }


def test_calibrate_stores_the_temperature_and_keeps_the_weights(
    tmp_path: Path, capsys: pytest.CaptureFixture, tiny_mnist: Mnist
) -> None:
    weights = tiny_checkpoint(tmp_path / "tiny.safetensors")
    data_dir = write_mnist_folder(tmp_path / "mnist", tiny_mnist)
    tensors_before, info_before = tensors_and_info(weights)
    code, out, err = run_cli(["calibrate", "--weights", str(weights), "--data-dir", str(data_dir)], capsys)
    assert code == EXIT_OK, err
    lines = out.strip().splitlines()
    assert lines[:2] == [f"weights: {weights}", "fitted on MNIST test 0-149; checked on 150-299"]
    temperature = re.fullmatch(r"temperature: (\d+\.\d{4})", lines[2])
    assert temperature, lines[2]
    assert re.fullmatch(r"NLL: \d+\.\d{4} -> \d+\.\d{4}", lines[3]) and re.fullmatch(
        r"ECE: 0\.\d{4} -> 0\.\d{4}", lines[4]
    )
    assert lines[5] == f"saved {weights}"  # over --weights: they are not the shipped ones
    tensors_after, info_after = tensors_and_info(weights)
    assert tensors_after.keys() == tensors_before.keys()
    for name, tensor in tensors_before.items():
        assert torch.equal(tensors_after[name], tensor), name
    calibration = Calibration.from_dict(info_after["metrics"].pop("calibration"))
    assert info_after == info_before
    assert calibration.temperature == pytest.approx(float(temperature[1]), abs=1e-4)
    assert Predictor.from_checkpoint(weights).temperature == calibration.temperature


def test_calibrate_writes_to_out_and_leaves_the_input(
    tmp_path: Path, capsys: pytest.CaptureFixture, tiny_mnist: Mnist
) -> None:
    weights = tiny_checkpoint(tmp_path / "tiny.safetensors")
    before = weights.read_bytes()
    out_path = tmp_path / "calibrated" / "tiny.safetensors"
    data_dir = write_mnist_folder(tmp_path / "mnist", tiny_mnist)
    code, out, err = run_cli(
        ["calibrate", "--weights", str(weights), "--data-dir", str(data_dir), "--out", str(out_path)], capsys
    )
    assert code == EXIT_OK, err
    assert out.strip().splitlines()[-1] == f"saved {out_path}"
    assert weights.read_bytes() == before
    assert "calibration" in load_checkpoint(out_path).info.metrics


def test_calibrate_refuses_to_rewrite_the_shipped_weights_unasked(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    shipped = shipped_weights_path()
    before = shipped.read_bytes()
    code, _, err = run_cli(["calibrate", "--weights", str(shipped), "--data-dir", str(tmp_path / "no-mnist")], capsys)
    assert_one_line_error(code, err, str(shipped), "shipped weights", "--out")
    assert shipped.read_bytes() == before


def test_calibrate_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture, tiny_mnist: Mnist) -> None:
    weights = tiny_checkpoint(tmp_path / "tiny.safetensors")
    code, _, err = run_cli(["calibrate", "--weights", str(weights), "--data-dir", str(tmp_path / "no-mnist")], capsys)
    assert_one_line_error(code, err, "no-mnist")
    data_dir = write_mnist_folder(tmp_path / "mnist", tiny_mnist)
    pickled = tmp_path / "model.pt"
    pickled.write_bytes(pickle.dumps({"weights": [1, 2, 3]}))
    code, _, err = run_cli(["calibrate", "--weights", str(pickled), "--data-dir", str(data_dir)], capsys)
    assert_one_line_error(code, err, str(pickled), "pickle")
    code, _, err = run_cli(["calibrate", "--weights", str(tmp_path / "absent.safetensors")], capsys)
    assert_one_line_error(code, err, "absent.safetensors", "no such file")
    code, _, err = run_cli(["calibrate", "--weights", str(weights), "--out", str(tmp_path)], capsys)
    assert_one_line_error(code, err, "--out", "folder")


def test_calibrate_needs_the_weights_named(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["calibrate"])
    assert caught.value.code == 2
    assert "--weights" in capsys.readouterr().err


def test_train_refuses_an_architecture_out_of_bounds_in_one_line(capsys: pytest.CaptureFixture) -> None:
    code, out, err = run_cli(["train", "--channels", "8,8,8,8,8", "--epochs", "1"], capsys)
    assert code != 0 and "Traceback" not in err
    assert err.strip().count("\n") == 0 and "--channels" in err and "blocks" in err


def test_a_save_that_fails_during_training_is_one_line(
    capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, tiny_mnist
) -> None:
    """--out was writable when the run started; the disk filled up before the first save."""
    import errno

    import digitpad.training.loop

    def full_disk(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(digitpad.training.loop, "save_checkpoint", full_disk)
    monkeypatch.setattr("digitpad.cli.common.load_data", lambda *args, **kwargs: tiny_mnist)
    code, out, err = run_cli(
        ["train", "--epochs", "1", "--subset", "256", "--out", str(tmp_path / "m.safetensors")], capsys
    )
    assert code != 0 and "No space left on device" in err
    assert "unexpected error" not in err and "Traceback" not in err and err.strip().count("\n") == 0


def test_drawn_ones_compose_with_a_recipe() -> None:
    config, model_config = settings("--recipe", "default", "--drawn-ones", "0.6")
    assert config == replace(APP_DEFAULT.train_config, drawn_ones=0.6) and model_config == APP_DEFAULT.model_config
    assert settings()[0].drawn_ones == BEST.train_config.drawn_ones


@pytest.mark.parametrize("command", ["calibrate", "finetune", "train"])
def test_an_out_that_is_not_a_regular_file_is_refused_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture, command: str
) -> None:
    # Issue 24, item 9: calibrate and finetune renamed a file over a FIFO given as --out (and, as root, over
    # /dev/full) and said "saved". A symlink to a FIFO is the FIFO, as the save would follow it.
    weights = tiny_checkpoint(tmp_path / "tiny.safetensors")
    fifo = tmp_path / "out.safetensors"
    os.mkfifo(fifo)
    link = tmp_path / "link.safetensors"
    link.symlink_to(fifo)
    for out in (fifo, link):
        argv = [command, "--weights", str(weights)] if command != "train" else [command]
        code, _, err = run_cli([*argv, "--data-dir", str(tmp_path / "no-mnist"), "--out", str(out)], capsys)
        assert_one_line_error(code, err, str(out), "not a regular file")
        assert stat.S_ISFIFO(fifo.stat().st_mode) and link.is_symlink()


def test_calibrate_refuses_too_few_test_images(
    tmp_path: Path, capsys: pytest.CaptureFixture, tiny_mnist: Mnist
) -> None:
    # Issue 24, item 15: two test images fitted T = 0.05, the search's bound, and the file was written.
    weights = tiny_checkpoint(tmp_path / "tiny.safetensors")
    two = replace(tiny_mnist, test_images=tiny_mnist.test_images[:2], test_labels=tiny_mnist.test_labels[:2])
    data_dir = write_mnist_folder(tmp_path / "mnist", two)
    out_path = tmp_path / "calibrated.safetensors"
    code, _, err = run_cli(
        ["calibrate", "--weights", str(weights), "--data-dir", str(data_dir), "--out", str(out_path)], capsys
    )
    assert_one_line_error(code, err, "2 test images", "at least 200")
    assert not out_path.exists()
