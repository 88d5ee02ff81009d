"""Shared test set-up: offscreen Qt, a private per-user folder, MNIST if present."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np
import pytest

# Before anything imports Qt: no display here or in CI.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from digitpad.data.mnist import MNIST_DIR_ENV, Mnist, has_mnist


@pytest.fixture(autouse=True)
def private_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own per-user folder, so nothing touches the real one."""
    home = tmp_path / "digitpad-home"
    monkeypatch.setenv("DIGITPAD_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """The development copy of MNIST ($DIGITPAD_MNIST_DIR); tests that need it skip without it."""
    value = os.environ.get(MNIST_DIR_ENV)
    if not value or not has_mnist(Path(value)):
        pytest.skip(f"${MNIST_DIR_ENV} does not point at the MNIST files")
    return Path(value)


@pytest.fixture(scope="session")
def mnist(mnist_dir: Path) -> Mnist:
    from digitpad.data.mnist import load_mnist

    return load_mnist(mnist_dir)


@pytest.fixture(scope="session")
def tiny_mnist() -> Mnist:
    """A small, learnable stand-in for MNIST that needs no files: bars at ten angles.

    Digit k is a bar rotated by k * 18 degrees, with random thickness and position jitter.
    """
    rng = np.random.default_rng(0)

    def make(count: int) -> tuple[np.ndarray, np.ndarray]:
        labels = rng.integers(0, 10, count).astype(np.uint8)
        images = np.zeros((count, 28, 28), np.uint8)
        yy, xx = np.mgrid[0:28, 0:28] - 13.5
        for index, label in enumerate(labels):
            angle = np.deg2rad(label * 18.0)
            dy, dx = rng.normal(0, 1.0, 2)
            distance = np.abs((xx - dx) * np.sin(angle) - (yy - dy) * np.cos(angle))
            along = np.abs((xx - dx) * np.cos(angle) + (yy - dy) * np.sin(angle))
            bar = (distance < rng.uniform(1.0, 2.2)) & (along < 9)
            images[index][bar] = 255
        return images, labels

    train_images, train_labels = make(1200)
    test_images, test_labels = make(300)
    return Mnist(train_images, train_labels, test_images, test_labels, source="tiny synthetic bars")


@pytest.fixture
def window(qtbot):
    """A shown MainWindow (1240x860, Draw tab) with the shipped weights; closed, and checked for threads left
    running, afterwards."""
    from digitpad.gui.window.main_window import MainWindow

    threads_before = set(threading.enumerate())
    main_window = MainWindow()
    qtbot.addWidget(main_window)
    main_window.resize(1240, 860)
    main_window.show()
    qtbot.waitExposed(main_window)
    main_window.tabs.setCurrentIndex(0)
    yield main_window
    main_window.close()
    for thread in threading.enumerate():
        # Showing the Train tab starts a one-off, bounded warm-up import (digitpad.gui.train.workers);
        # it is not a leak, but it must end before the threads are counted.
        if thread.name == "digitpad-warm-up":
            thread.join(timeout=60)
    leftover = [t for t in threading.enumerate() if t not in threads_before and t.is_alive()]
    assert not leftover, f"threads left running: {leftover}"


@pytest.fixture
def one_thread():
    """Restore torch's thread count after a test whose tiny batches run fastest on one thread."""
    import torch

    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)
