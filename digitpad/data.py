"""MNIST from IDX files: parsing, locating a local copy, loading as arrays.

The download from the public mirrors lives in :mod:`digitpad.download`.
"""

from __future__ import annotations

import gzip
import math
import os
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from digitpad.constants import MNIST_SIZE, NUM_CLASSES
from digitpad.paths import user_home

#: Environment variable naming a folder with the four IDX files.
MNIST_DIR_ENV = "DIGITPAD_MNIST_DIR"

#: The four files of MNIST's own distribution, by role.
MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

# IDX type codes (third byte of the magic number) -> numpy big-endian dtype.
_IDX_TYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


class DataError(Exception):
    """MNIST files missing, unreadable or malformed; the message names the file."""


@dataclass(frozen=True)
class Mnist:
    """MNIST as uint8 arrays: images (N, 28, 28), labels (N,)."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    #: Where it came from, for checkpoints' metadata.
    source: str


def parse_idx(data: bytes, name: str = "<bytes>") -> np.ndarray:
    """Decode one IDX file's bytes; any inconsistency raises DataError naming ``name``."""
    if len(data) < 4:
        raise DataError(f"{name}: too short to be an IDX file ({len(data)} bytes)")
    if data[0] != 0 or data[1] != 0:
        raise DataError(f"{name}: not an IDX file (bad magic number {data[:4].hex()})")
    type_code, ndim = data[2], data[3]
    if type_code not in _IDX_TYPES:
        raise DataError(f"{name}: unknown IDX data type 0x{type_code:02x}")
    if ndim == 0:
        raise DataError(f"{name}: IDX file declares no dimensions")
    header_size = 4 + 4 * ndim
    if len(data) < header_size:
        raise DataError(f"{name}: truncated header")
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = _IDX_TYPES[type_code]
    # Python ints: numpy's int64 product wraps around for crafted headers (2^31 * 2^31 * 4 = 0).
    expected = math.prod(shape) * dtype.itemsize
    actual = len(data) - header_size
    if actual != expected:
        kind = "truncated" if actual < expected else "has trailing bytes"
        raise DataError(f"{name}: {kind}: header says shape {shape} ({expected} bytes of data), file has {actual}")
    array = np.frombuffer(data, dtype=dtype, offset=header_size).reshape(shape)
    return array.astype(dtype.newbyteorder("="), copy=False)


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file, gzipped (by content, not name) or raw."""
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise DataError(f"{path}: cannot read: {error.strerror or error}") from error
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as error:
            raise DataError(f"{path}: corrupt gzip data: {error}") from error
    return parse_idx(raw, str(path))


def find_idx_file(folder: Path, stem: str) -> Path | None:
    """The file for ``stem`` in ``folder``: raw, ``.gz``, or torchvision's ``.idx`` names."""
    for candidate in (stem, f"{stem}.gz", stem.replace("-idx", ".idx"), f"{stem.replace('-idx', '.idx')}.gz"):
        path = folder / candidate
        if path.is_file():
            return path
    return None


def default_data_dir() -> Path:
    """Where downloads go: ``<digitpad home>/mnist``."""
    return user_home() / "mnist"


def resolve_data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """The folder to load MNIST from: the argument, else $DIGITPAD_MNIST_DIR, else the download folder."""
    if data_dir:
        return Path(data_dir).expanduser()
    env = os.environ.get(MNIST_DIR_ENV)
    if env:
        return Path(env).expanduser()
    return default_data_dir()


def has_mnist(folder: Path) -> bool:
    return all(find_idx_file(folder, stem) for stem in MNIST_FILES.values())


def load_mnist(data_dir: str | os.PathLike | None = None) -> Mnist:
    """Load and validate the four MNIST files from a folder (see :func:`resolve_data_dir`)."""
    folder = resolve_data_dir(data_dir)
    if not folder.is_dir():
        raise DataError(f"{folder}: no such folder (MNIST not downloaded yet?)")
    arrays = {}
    for role, stem in MNIST_FILES.items():
        path = find_idx_file(folder, stem)
        if path is None:
            raise DataError(f"{folder / stem}: missing (neither {stem} nor {stem}.gz is there)")
        array = read_idx(path)
        if role.endswith("images"):
            if array.ndim != 3 or array.shape[1:] != (MNIST_SIZE, MNIST_SIZE) or array.dtype != np.uint8:
                raise DataError(f"{path}: expected uint8 images of 28x28, got {array.dtype} {array.shape}")
        else:
            if array.ndim != 1 or array.dtype != np.uint8:
                raise DataError(f"{path}: expected a 1-D uint8 label array, got {array.dtype} {array.shape}")
            if array.size and int(array.max()) >= NUM_CLASSES:
                raise DataError(f"{path}: label {int(array.max())} is not a digit")
        arrays[role] = (array, path)
    for split in ("train", "test"):
        (images, image_path), (labels, label_path) = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if len(images) != len(labels):
            raise DataError(f"{image_path}: {len(images)} images but {label_path.name} has {len(labels)} labels")
    return Mnist(*(arrays[role][0] for role in MNIST_FILES), source=str(folder))
