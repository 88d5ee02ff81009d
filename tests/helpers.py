"""Helpers several test files share: MNIST folders written from arrays, and the CLI run in-process."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from digitpad.base.constants import PREPROCESS_VERSION
from digitpad.cli import main
from digitpad.cli.common import EXIT_ERROR
from digitpad.data.mnist import MNIST_FILES, Mnist
from digitpad.model.checkpoint import FORMAT_NAME, FORMAT_VERSION
from digitpad.model.network import ModelConfig
from digitpad.training.config import TrainConfig


def write_idx(path: Path, array: np.ndarray) -> None:
    """``array`` as an IDX file of uint8 (big-endian sizes), as MNIST's distribution has them."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    path.write_bytes(header + np.ascontiguousarray(array, dtype=np.uint8).tobytes())


def write_mnist_folder(folder: Path, data: Mnist) -> Path:
    """``data`` as the four IDX files of MNIST, under their original names."""
    folder.mkdir(parents=True, exist_ok=True)
    for role, stem in MNIST_FILES.items():
        write_idx(folder / stem, getattr(data, role))
    return folder


def run_cli(argv: list[str], capsys: pytest.CaptureFixture) -> tuple[int, str, str]:
    """``digitpad ARGV`` in this process: (exit status, stdout, stderr)."""
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_line_error(code: int, err: str, *fragments: str) -> None:
    """The CLI's promise for an expected failure: exit 1, one line naming it, no traceback, no catch-all."""
    assert code == EXIT_ERROR
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("digitpad: ") and "unexpected error" not in lines[0]
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def find(parent, name: str):
    """The QWidget child of ``parent`` called ``name``; fails the test if there is none."""
    from PySide6.QtWidgets import QWidget

    widget = parent.findChild(QWidget, name)
    assert widget is not None, f"no widget {name!r}"
    return widget


def pad_of(window):
    """The Draw tab's pad (objectName ``canvas``) of a MainWindow."""
    return find(window, "canvas")


#: A model small enough to save, load and spoil in milliseconds (the checkpoint tests).
TINY_MODEL = ModelConfig(channels=(4, 8, 8), dropout=0.2)


def checkpoint_document(**changes) -> dict:
    """Valid digitpad metadata of TINY_MODEL, with some fields changed."""
    return {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "model_config": TINY_MODEL.to_dict(),
        "preprocess_version": PREPROCESS_VERSION,
        "metrics": {"test_accuracy": 0.99},
        "recipe": {},
        "data": {},
        **changes,
    }


def quick(**changes) -> TrainConfig:
    """A recipe that trains in a fraction of a second on tiny_mnist."""
    settings = {"epochs": 2, "batch_size": 32, "augment": False, "device": "cpu", "threads": 1, "train_subset": 600}
    return TrainConfig(**{**settings, **changes})
