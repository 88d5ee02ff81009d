"""What the commands share: errors as one line, exit statuses, loading MNIST, checkpoints and the predictor."""

from __future__ import annotations

import argparse
import os
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported where used: torch takes a second to import, the app should not wait for it
    from digitpad.model.inference import Predictor


#: Exit statuses.
EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class CliError(Exception):
    """An expected failure, reported as one line."""


@contextmanager
def reported(*errors: type[Exception]) -> Iterator[None]:
    """Turn ``errors``, whose messages are written for the user, into CliError: one line, no traceback."""
    try:
        yield
    except errors as error:
        raise CliError(str(error)) from error


def add_data_dir_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        help="folder with the four MNIST IDX files, gzipped or raw "
        "(default: $DIGITPAD_MNIST_DIR, else the downloaded copy)",
    )


def load_data(data_dir: str | None, download: bool = False):
    from digitpad.data.mnist import DataError, has_mnist, load_mnist, resolve_data_dir

    folder = resolve_data_dir(data_dir)
    if download and not has_mnist(folder):
        download_command(str(folder))
    try:
        return load_mnist(folder)
    except DataError as error:
        hint = "" if has_mnist(folder) else " (run 'digitpad download' or pass --data-dir)"
        raise CliError(f"{error}{hint}") from error


def download_command(dest: str | None) -> Path:
    from digitpad.data.download import DownloadError, download_mnist

    last = [0.0]

    def report(name: str, done: int, total: int | None) -> None:
        now = time.monotonic()
        if now - last[0] >= 0.5 or (total and done >= total):
            last[0] = now
            size = f"{done / 1e6:.1f}/{total / 1e6:.1f} MB" if total else f"{done / 1e6:.1f} MB"
            print(f"  {name}: {size}", flush=True)

    with reported(DownloadError):
        folder = download_mnist(Path(dest) if dest else None, progress=report)
    print(f"MNIST is in {folder}")
    return folder


def read_checkpoint(path: str | os.PathLike):
    """The checkpoint at ``path``; CliError (one line naming the file) if it cannot be used."""
    from digitpad.model.checkpoint import CheckpointError, load_checkpoint

    with reported(CheckpointError):
        return load_checkpoint(path)


def write_checkpoint(out: Path, model, info) -> Path:
    """Save atomically to ``out``; CliError if the disk refuses (``out`` was checked writable up front)."""
    from digitpad.model.checkpoint import save_checkpoint

    try:
        return save_checkpoint(out, model, info)
    except OSError as error:
        raise CliError(f"{out}: cannot save the model: {error.strerror or error}") from error


def check_writable(out: Path) -> None:
    """CliError unless the weights can be saved to ``out``: checked before a run, not after its first epoch.

    Creates the folder, then creates and removes a temporary file in it, which
    is what the atomic save will do (so an existing read-only ``out`` is fine).
    """
    import tempfile

    try:
        mode = out.stat().st_mode  # symlinks followed: the save would replace what they point to
    except OSError:
        mode = None  # a new file (or one that cannot be looked at: the write check below says why)
    if mode is not None and stat.S_ISDIR(mode):
        raise CliError(f"--out {out}: is a folder; name the file to write")
    if mode is not None and not stat.S_ISREG(mode):
        # A save renames a new file over --out: never over a FIFO, a device or a socket.
        raise CliError(f"--out {out}: is not a regular file (a FIFO, device or socket); name a file to write")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise CliError(f"{out}: cannot create the folder {out.parent}: {error.strerror or error}") from error
    try:
        with tempfile.NamedTemporaryFile(prefix=f".{out.name}.", suffix=".check", dir=out.parent):
            pass
    except OSError as error:
        raise CliError(f"{out}: cannot write in {out.parent}: {error.strerror or error}") from error


def load_predictor(weights: str | None, gate: bool = False) -> Predictor:
    """The weights' predictor; with ``gate``, the shipped gate too, as the app reads (see digitpad.model.gate)."""
    from digitpad.model.checkpoint import CheckpointError
    from digitpad.model.gate import load_gated_predictor
    from digitpad.model.inference import Predictor

    with reported(CheckpointError):
        return load_gated_predictor(weights) if gate else Predictor.from_checkpoint(weights)
