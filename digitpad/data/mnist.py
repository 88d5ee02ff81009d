"""MNIST from IDX files: parsing, locating a local copy, loading as arrays.

The download from the public mirrors lives in :mod:`digitpad.data.download`.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import math
import os
import zlib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import BinaryIO

import numpy as np

from digitpad.base.constants import MNIST_SIZE, NUM_CLASSES
from digitpad.base.paths import user_home

#: Environment variable naming a folder with the four IDX files.
MNIST_DIR_ENV = "DIGITPAD_MNIST_DIR"

#: The four files of MNIST's own distribution, by role.
MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

#: File name -> MD5 of the file's uncompressed content: the values MNIST publishes. The download checks
#: against them, and a checkpoint trained on files with these four contents says it saw "MNIST".
MNIST_MD5: dict[str, str] = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}

#: What a checkpoint's metadata calls its data: MNIST's own four files, or any others in its format
#: (a subset, a stand-in, the tests' tiny data), which are then known by their MD5s alone.
MNIST_NAME = "MNIST"
OTHER_DATA_NAME = "MNIST-format files"

# IDX type codes (third byte of the magic number) -> numpy big-endian dtype.
_IDX_TYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


#: The most data an IDX file may declare: MNIST's largest file holds 47 MB
#: (60,000 images of 28x28). A crafted header could otherwise make the reader
#: allocate, or a gzip bomb decompress, gigabytes before anything is checked.
MAX_IDX_DATA_BYTES = 100_000_000


class DataError(Exception):
    """MNIST files missing, unreadable or malformed; the message names the file."""


@dataclass(frozen=True)
class Mnist:
    """MNIST as uint8 arrays: images (N, 28, 28), labels (N,)."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    #: Where it came from (a folder, or a few words for data made in memory), for messages to the user.
    #: Never written into a checkpoint: a path says nothing on another machine (see :meth:`description`).
    source: str

    @cached_property
    def content_md5(self) -> dict[str, str]:
        """File name -> MD5 of the four arrays as IDX files, uncompressed.

        Computed from the arrays, so data made in memory has them too. For
        data read by :func:`load_mnist` they are the MD5s of the files' (or
        the gzipped files') content: the reader refuses trailing bytes, and
        the header follows from the array's type and shape.
        """
        return {stem: idx_md5(getattr(self, role)) for role, stem in MNIST_FILES.items()}

    def description(self) -> dict:
        """What a checkpoint records about its data: a name and the four files' MD5s, never a path."""
        name = MNIST_NAME if self.content_md5 == MNIST_MD5 else OTHER_DATA_NAME
        return {"name": name, "content_md5": dict(self.content_md5)}


def parse_idx(data: bytes, name: str = "<bytes>") -> np.ndarray:
    """Decode one IDX file's bytes; any inconsistency raises DataError naming ``name``."""
    return _read_idx_stream(io.BytesIO(data), name)


def idx_md5(array: np.ndarray) -> str:
    """MD5 of ``array`` written as an uncompressed IDX file (big-endian, as MNIST's are)."""
    big_endian = array.dtype.newbyteorder(">")
    codes = [code for code, dtype in _IDX_TYPES.items() if dtype == big_endian]
    if not codes:
        raise ValueError(f"IDX files hold no {array.dtype} arrays")
    digest = hashlib.md5(bytes([0, 0, codes[0], array.ndim]))
    digest.update(b"".join(int(size).to_bytes(4, "big") for size in array.shape))
    digest.update(np.ascontiguousarray(array, dtype=big_endian).data)
    return digest.hexdigest()


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file, gzipped (by content, not name) or raw.

    Streamed: the header is read and checked first, then exactly the data it
    declares (at most MAX_IDX_DATA_BYTES), then one byte more to refuse
    trailing data. So a small gzip bomb (a valid header and gigabytes of
    zeros) costs one buffer, not the whole decompressed file.
    """
    try:
        with open(path, "rb") as file:
            if file.read(2) != b"\x1f\x8b":
                file.seek(0)
                return _read_idx_stream(file, str(path))
            file.seek(0)
            with gzip.GzipFile(fileobj=file) as stream:
                try:
                    return _read_idx_stream(stream, str(path))
                except (EOFError, zlib.error, gzip.BadGzipFile) as error:
                    raise DataError(f"{path}: corrupt gzip data: {error}") from error
    except OSError as error:
        raise DataError(f"{path}: cannot read: {error.strerror or error}") from error


def _read_idx_stream(stream: BinaryIO, name: str) -> np.ndarray:
    """Header, then the declared data, then nothing: the array, or DataError naming ``name``."""
    shape, dtype = _read_idx_header(stream, name)
    # Python ints: numpy's int64 product wraps around for crafted headers (2^31 * 2^31 * 4 = 0).
    expected = math.prod(shape) * dtype.itemsize
    if expected > MAX_IDX_DATA_BYTES:
        raise DataError(
            f"{name}: header says shape {shape} ({expected:,} bytes of data), "
            f"more than the {MAX_IDX_DATA_BYTES:,} an MNIST file may hold"
        )
    body = bytearray(expected)
    actual = _read_into(stream, body)
    if actual < expected:
        raise DataError(f"{name}: truncated: header says shape {shape} ({expected} bytes of data), file has {actual}")
    if stream.read(1):
        raise DataError(
            f"{name}: has trailing bytes: header says shape {shape} ({expected} bytes of data), the file has more"
        )
    try:
        array = np.frombuffer(body, dtype=dtype).reshape(shape)
    except ValueError as error:  # more dimensions than numpy has, or sizes it cannot index
        raise DataError(f"{name}: header says shape {shape}, which is no array: {error}") from error
    return array.astype(dtype.newbyteorder("="), copy=False)


def _read_idx_header(stream: BinaryIO, name: str) -> tuple[tuple[int, ...], np.dtype]:
    """The declared (shape, big-endian dtype) from the start of an IDX stream."""
    magic = stream.read(4)
    if len(magic) < 4:
        raise DataError(f"{name}: too short to be an IDX file ({len(magic)} bytes)")
    if magic[0] != 0 or magic[1] != 0:
        raise DataError(f"{name}: not an IDX file (bad magic number {magic.hex()})")
    type_code, ndim = magic[2], magic[3]
    if type_code not in _IDX_TYPES:
        raise DataError(f"{name}: unknown IDX data type 0x{type_code:02x}")
    if ndim == 0:
        raise DataError(f"{name}: IDX file declares no dimensions")
    dimensions = stream.read(4 * ndim)
    if len(dimensions) < 4 * ndim:
        raise DataError(f"{name}: truncated header")
    shape = tuple(int.from_bytes(dimensions[4 * i : 4 * i + 4], "big") for i in range(ndim))
    return shape, _IDX_TYPES[type_code]


def _read_into(stream: BinaryIO, buffer: bytearray) -> int:
    """Fill ``buffer`` from ``stream`` as far as it goes; the number of bytes read."""
    view = memoryview(buffer)
    filled = 0
    while filled < len(buffer):
        count = stream.readinto(view[filled:])
        if not count:
            break
        filled += count
    return filled


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
    chosen = data_dir or os.environ.get(MNIST_DIR_ENV)
    return Path(chosen).expanduser() if chosen else default_data_dir()


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
