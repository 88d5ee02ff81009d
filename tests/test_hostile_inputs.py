"""Issue 12, "nothing a user can hand it breaks it": tiny or empty training runs, gzip bombs and
oversized IDX headers, an --out that cannot be written, empty images, bad bounding boxes, huge
images, and paths that are not files. Each gives one clear error (or works)."""

from __future__ import annotations

import gzip
import os
import struct
import tracemalloc
import zlib
from dataclasses import replace
from pathlib import Path

import helpers
import numpy as np
import pytest
import torch
from helpers import assert_one_line_error, run_cli, write_mnist_folder

from digitpad.cli.common import EXIT_OK, CliError
from digitpad.cli.predict import read_image
from digitpad.data.mnist import MNIST_FILES, DataError, Mnist, load_mnist, read_idx
from digitpad.ink.preprocess import MAX_IMAGE_PIXELS, image_to_ink, preprocess
from digitpad.model.network import ModelConfig
from digitpad.training.config import TrainConfig
from digitpad.training.loop import batch_layout, build_optimiser, evaluate, has_room_for_one_cycle, train

SMALL = ModelConfig(channels=(8, 16, 16))
IMAGES_HEADER = b"\x00\x00\x08\x03"  # IDX magic: uint8, three dimensions


pytestmark = pytest.mark.usefixtures("one_thread")


def quick(**changes) -> TrainConfig:
    """One epoch on all the data given."""
    return helpers.quick(**{"epochs": 1, "train_subset": None, **changes})


def empty_split(data: Mnist, split: str) -> Mnist:
    return replace(data, **{f"{split}_images": data.train_images[:0], f"{split}_labels": data.train_labels[:0]})


# --- item 8: tiny and empty training runs -------------------------------------------------------


@pytest.mark.parametrize("total_steps", [1, 2, 3, 4])
def test_runs_too_short_for_a_warm_up_get_a_constant_schedule(total_steps: int) -> None:
    model = torch.nn.Linear(2, 2)
    optimizer, scheduler = build_optimiser(model, quick(), total_steps=total_steps)
    rates = [optimizer.param_groups[0]["lr"]]
    for _ in range(total_steps - 1):
        optimizer.step()
        scheduler.step()
        rates.append(optimizer.param_groups[0]["lr"])
    assert rates == [quick().learning_rate] * total_steps


def test_one_cycle_is_kept_from_five_steps() -> None:
    assert not has_room_for_one_cycle(4) and has_room_for_one_cycle(5)
    _, scheduler = build_optimiser(torch.nn.Linear(2, 2), quick(), total_steps=5)
    assert isinstance(scheduler, torch.optim.lr_scheduler.OneCycleLR)


def test_a_four_batch_run_trains(tiny_mnist: Mnist) -> None:
    config = quick(train_subset=128, pen_styles=0)
    assert batch_layout(config, 128) == (32, 4)
    result = train(tiny_mnist, config, SMALL)
    assert [h.epoch for h in result.history] == [1]


@pytest.mark.parametrize(("split", "message"), [("train", "no training images"), ("test", "no test images")])
def test_an_empty_split_is_a_clear_value_error(tiny_mnist: Mnist, split: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        train(empty_split(tiny_mnist, split), quick(), SMALL)


def test_empty_inputs_to_the_pieces_are_value_errors() -> None:
    with pytest.raises(ValueError, match="no training images"):
        batch_layout(quick(), 0)
    with pytest.raises(ValueError, match="no images"):
        evaluate(torch.nn.Linear(784, 10), torch.zeros(0, 1, 28, 28), torch.zeros(0, dtype=torch.long))


def test_a_negative_subset_is_refused(tiny_mnist: Mnist) -> None:
    with pytest.raises(ValueError, match="train_subset"):
        train(tiny_mnist, quick(train_subset=-5), SMALL)


def test_cli_trains_a_four_batch_run(tiny_mnist: Mnist, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    folder = write_mnist_folder(tmp_path / "bars", tiny_mnist)
    out = tmp_path / "w.safetensors"
    argv = ["train", "--data-dir", str(folder), "--subset", "128", "--batch-size", "32", "--pen-styles", "0"]
    code, stdout, err = run_cli([*argv, "--no-augment", "--channels", "8,16,16", "--out", str(out)], capsys)
    assert code == EXIT_OK, err
    assert "batch 4/4" in stdout and out.is_file()


@pytest.mark.parametrize(
    ("split", "command", "message"), [("train", "train", "no training images"), ("test", "eval", "no test images")]
)
def test_cli_with_an_empty_split_is_one_line(
    tiny_mnist: Mnist, tmp_path: Path, capsys: pytest.CaptureFixture, split: str, command: str, message: str
) -> None:
    folder = write_mnist_folder(tmp_path / "empty", empty_split(tiny_mnist, split))
    extra = ["--out", str(tmp_path / "w.safetensors")] if command == "train" else []
    code, stdout, err = run_cli([command, "--data-dir", str(folder), *extra], capsys)
    assert_one_line_error(code, err, message)
    assert "accuracy" not in stdout


# --- item 9: gzip bombs and oversized headers -----------------------------------------------------


def idx_header(*shape: int) -> bytes:
    return bytes([0, 0, 0x08, len(shape)]) + b"".join(size.to_bytes(4, "big") for size in shape)


def gzip_with_zeros(path: Path, head: bytes, zeros: int) -> Path:
    """A gzip file of ``head`` then ``zeros`` zero bytes, compressed a megabyte at a time (a few KB on disk)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)  # wbits 31: a gzip container
    chunks = [compressor.compress(head)]
    block = bytes(1 << 20)
    for start in range(0, zeros, len(block)):
        chunks.append(compressor.compress(block[: zeros - start]))
    chunks.append(compressor.flush())
    path.write_bytes(b"".join(chunks))
    return path


def peak_bytes_of(function, *args) -> tuple[int, BaseException | None]:
    """Peak Python memory allocated while ``function(*args)`` runs, and what it raised."""
    tracemalloc.start()
    raised = None
    try:
        function(*args)
    except Exception as error:  # returned to the test, which checks what it is
        raised = error
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return peak, raised


def test_a_gzip_bomb_is_refused_without_decompressing_it(tmp_path: Path) -> None:
    head = idx_header(2, 28, 28) + bytes(2 * 28 * 28)
    bomb = gzip_with_zeros(tmp_path / "train-images-idx3-ubyte.gz", head, 32 << 20)
    assert bomb.stat().st_size < 100_000
    peak, raised = peak_bytes_of(read_idx, bomb)
    assert isinstance(raised, DataError) and "trailing" in str(raised) and str(bomb) in str(raised)
    assert peak < 4 << 20, f"{peak:,} bytes allocated to read a {bomb.stat().st_size:,}-byte file"


def test_a_raw_file_with_trailing_data_is_refused_without_reading_it_all(tmp_path: Path) -> None:
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(idx_header(2, 28, 28) + bytes(2 * 28 * 28))
    with path.open("r+b") as file:
        file.truncate(32 << 20)  # sparse: 32 MB of zeros that take no disk
    peak, raised = peak_bytes_of(read_idx, path)
    assert isinstance(raised, DataError) and "trailing" in str(raised) and str(path) in str(raised)
    assert peak < 4 << 20


@pytest.mark.parametrize("gzipped", [True, False], ids=["gz", "raw"])
def test_an_absurd_declared_shape_is_refused_from_the_header(tmp_path: Path, gzipped: bool) -> None:
    head = idx_header(1_000_000, 28, 28)  # 784 MB declared; MNIST's largest file is 47 MB
    path = tmp_path / "absurd"
    if gzipped:
        gzip_with_zeros(path, head, 4 << 20)
    else:
        path.write_bytes(head + bytes(1000))
    peak, raised = peak_bytes_of(read_idx, path)
    assert isinstance(raised, DataError) and "more than the" in str(raised) and str(path) in str(raised)
    assert peak < 4 << 20


def test_a_bomb_in_a_data_folder_is_one_cli_line(
    tiny_mnist: Mnist, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    folder = write_mnist_folder(tmp_path / "bars", tiny_mnist)
    images = folder / MNIST_FILES["test_images"]
    head = images.read_bytes()
    images.unlink()
    gzip_with_zeros(folder / f"{MNIST_FILES['test_images']}.gz", head, 8 << 20)
    with pytest.raises(DataError, match="trailing"):
        load_mnist(folder)
    code, _, err = run_cli(["eval", "--data-dir", str(folder)], capsys)
    assert_one_line_error(code, err, MNIST_FILES["test_images"], "trailing")


# --- item 10: an --out that cannot be written -----------------------------------------------------


def test_train_refuses_a_home_that_is_a_file_before_training(
    tiny_mnist: Mnist, tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = write_mnist_folder(tmp_path / "bars", tiny_mnist)
    home = tmp_path / "home-file"
    home.write_text("not a folder")
    monkeypatch.setenv("DIGITPAD_HOME", str(home))
    code, stdout, err = run_cli(["train", "--data-dir", str(folder), "--subset", "64"], capsys)
    assert_one_line_error(code, err, "cannot create the folder", str(home))
    assert "epoch" not in stdout


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root writes in read-only folders")
def test_train_refuses_a_read_only_folder_before_training(
    tiny_mnist: Mnist, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    folder = write_mnist_folder(tmp_path / "bars", tiny_mnist)
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        code, stdout, err = run_cli(
            ["train", "--data-dir", str(folder), "--out", str(locked / "w.safetensors")], capsys
        )
    finally:
        locked.chmod(0o700)
    assert_one_line_error(code, err, "cannot write in", str(locked))
    assert "epoch" not in stdout


def test_train_refuses_a_folder_as_out(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    code, stdout, err = run_cli(["train", "--data-dir", str(tmp_path), "--out", str(tmp_path)], capsys)
    assert_one_line_error(code, err, "is a folder")
    assert "epoch" not in stdout


# --- item 12: empty images and bad bounding boxes --------------------------------------------------


@pytest.mark.parametrize("shape", [(0, 5), (5, 0), (0, 0)])
def test_image_to_ink_of_an_empty_image_is_a_value_error(shape: tuple[int, int]) -> None:
    with pytest.raises(ValueError, match="empty image"):
        image_to_ink(np.zeros(shape, np.uint8))


@pytest.mark.parametrize(
    "bbox",
    [
        (10.0, 10, 50, 50),
        (-5, 10, 50, 50),
        (10, 10, 101, 50),
        (10, 10, 50, 81),
        (50, 10, 10, 50),
        (1, 2, 3),
        (True, 0, 5, 5),
    ],
    ids=["float", "negative", "below", "right-of", "upside-down", "three", "bool"],
)
def test_a_bad_bbox_is_a_value_error(bbox: tuple) -> None:
    canvas = np.zeros((100, 80), np.float32)
    canvas[20:40, 20:40] = 1.0
    with pytest.raises(ValueError, match="bbox"):
        preprocess(canvas, bbox=bbox)


def test_a_whole_canvas_bbox_in_numpy_ints_is_fine() -> None:
    canvas = np.zeros((100, 80), np.float32)
    canvas[20:40, 20:40] = 1.0
    result = preprocess(canvas, bbox=tuple(np.int64(v) for v in (0, 0, 100, 80)))
    assert result is not None and result.bbox == (0, 0, 100, 80)
    assert all(type(v) is int for v in result.bbox)


# --- item 12: huge images --------------------------------------------------------------------------


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def blank_png(path: Path, width: int, height: int, *, with_pixels: bool = True) -> Path:
    """A valid 8-bit grey PNG of ``width`` x ``height`` white pixels, compressed row by row (never held whole).

    Without pixels, only the header and an empty image stream: enough for a reader that
    checks the size before decoding, which is all a test of a refusal needs.
    """
    compressor = zlib.compressobj(9)
    data = []
    if with_pixels:
        row = b"\x00" + b"\xff" * width  # filter byte "none", then the row
        data = [compressor.compress(row) for _ in range(height)]
    data.append(compressor.flush())
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    chunks = png_chunk(b"IHDR", header) + png_chunk(b"IDAT", b"".join(data)) + png_chunk(b"IEND", b"")
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunks)
    return path


def test_an_image_over_the_pixel_cap_is_refused_before_decoding(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    side = 4097  # one row and column over 4096x4096
    assert side * side > MAX_IMAGE_PIXELS
    big = blank_png(tmp_path / "big.png", side, side)
    peak, raised = peak_bytes_of(read_image, big)
    assert isinstance(raised, CliError) and "image too large" in str(raised)
    assert peak < 4 << 20
    code, _, err = run_cli(["predict", str(big)], capsys)
    assert_one_line_error(code, err, str(big), "image too large", "4097x4097")


@pytest.mark.parametrize(("width", "height"), [(12000, 12000), (20000, 10000)], ids=["pillow-warns", "pillow-refuses"])
def test_images_pillow_would_warn_about_or_refuse_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture, width: int, height: int
) -> None:
    path = blank_png(tmp_path / "huge.png", width, height, with_pixels=False)
    code, _, err = run_cli(["predict", str(path)], capsys)
    assert_one_line_error(code, err, str(path), "image too large")


def test_an_image_at_the_cap_is_read(tmp_path: Path) -> None:
    image = read_image(blank_png(tmp_path / "wide.png", 4096, 16))
    assert image.shape == (16, 4096) and float(image.min()) == 1.0


def test_qt_reader_refuses_an_image_over_the_cap(tmp_path: Path) -> None:
    pytest.importorskip("PySide6.QtGui")
    from digitpad.gui.common.image_io import read_grey_image

    with pytest.raises(ValueError, match="image too large"):
        read_grey_image(blank_png(tmp_path / "huge.png", 12000, 12000, with_pixels=False))
    small = read_grey_image(blank_png(tmp_path / "small.png", 30, 20))
    assert small.shape == (20, 30)


# --- item 12 and item 7: paths that are not image files -------------------------------------------


def test_a_folder_as_an_image_says_so(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    code, _, err = run_cli(["predict", str(tmp_path)], capsys)
    assert_one_line_error(code, err, str(tmp_path), "is a folder")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_as_an_image_says_so_without_blocking(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)  # nobody writes to it: opening it would wait for ever
    code, _, err = run_cli(["predict", str(fifo)], capsys)
    assert_one_line_error(code, err, str(fifo), "FIFO")


def test_a_symlink_loop_as_an_image_says_so(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    first, second = tmp_path / "a.png", tmp_path / "b.png"
    first.symlink_to(second)
    second.symlink_to(first)
    code, _, err = run_cli(["predict", str(first)], capsys)
    assert_one_line_error(code, err, str(first), "symlink loop")


def test_a_dangling_symlink_is_no_such_file_and_names_its_target(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    link = tmp_path / "link.png"
    link.symlink_to(tmp_path / "gone.png")
    code, _, err = run_cli(["predict", str(link)], capsys)
    assert_one_line_error(code, err, str(link), "no such file", "gone.png")


def test_a_gzip_image_file_is_not_an_idx_file(tmp_path: Path) -> None:
    """A gzip of something else entirely: refused from its first bytes, named."""
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(b"PK\x03\x04" + bytes(100)))
    with pytest.raises(DataError, match="not an IDX file") as caught:
        read_idx(path)
    assert str(path) in str(caught.value)
