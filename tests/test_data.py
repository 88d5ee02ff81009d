"""IDX parsing and MNIST loading: round trips, and every malformed file gives a DataError naming it."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from digitpad.data.mnist import (
    MNIST_DIR_ENV,
    MNIST_FILES,
    DataError,
    Mnist,
    default_data_dir,
    find_idx_file,
    has_mnist,
    load_mnist,
    parse_idx,
    read_idx,
    resolve_data_dir,
)

_TYPE_CODES = {
    np.dtype(np.uint8): 0x08,
    np.dtype(np.int8): 0x09,
    np.dtype(">i2"): 0x0B,
    np.dtype(">i4"): 0x0C,
    np.dtype(">f4"): 0x0D,
    np.dtype(">f8"): 0x0E,
}


def idx_bytes(array: np.ndarray) -> bytes:
    """Encode ``array`` as an IDX file (big-endian, as the format requires)."""
    dtype = array.dtype.newbyteorder(">") if array.dtype.itemsize > 1 else array.dtype
    header = bytes([0, 0, _TYPE_CODES[dtype], array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return header + array.astype(dtype).tobytes()


def write_mnist(
    folder: Path,
    train: int = 12,
    test: int = 5,
    gzipped: bool = True,
    overrides: dict[str, bytes] | None = None,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """A small but well-formed MNIST folder; ``overrides`` replaces a file's bytes by role."""
    rng = np.random.default_rng(seed)
    arrays = {
        "train_images": rng.integers(0, 256, (train, 28, 28), dtype=np.uint8),
        "train_labels": rng.integers(0, 10, train, dtype=np.uint8),
        "test_images": rng.integers(0, 256, (test, 28, 28), dtype=np.uint8),
        "test_labels": rng.integers(0, 10, test, dtype=np.uint8),
    }
    folder.mkdir(parents=True, exist_ok=True)
    for role, stem in MNIST_FILES.items():
        data = (overrides or {}).get(role, idx_bytes(arrays[role]))
        if gzipped:
            (folder / f"{stem}.gz").write_bytes(gzip.compress(data))
        else:
            (folder / stem).write_bytes(data)
    return arrays


@pytest.mark.parametrize(
    "array",
    [
        np.arange(24, dtype=np.uint8).reshape(2, 3, 4),
        np.array([-128, -1, 0, 127], dtype=np.int8),
        np.array([[-30000, 2], [3, 30000]], dtype=np.int16),
        np.array([-(2**31), 2**31 - 1, 7], dtype=np.int32),
        np.array([[1.5, -2.25, np.pi]], dtype=np.float32),
        np.array([1e300, -1e-300], dtype=np.float64),
    ],
    ids=["uint8-3d", "int8", "int16", "int32", "float32", "float64"],
)
def test_parse_round_trip(array: np.ndarray) -> None:
    parsed = parse_idx(idx_bytes(array))
    assert parsed.shape == array.shape
    assert parsed.dtype.kind == array.dtype.kind and parsed.dtype.itemsize == array.dtype.itemsize
    assert parsed.dtype.isnative
    np.testing.assert_array_equal(parsed, array)


def test_read_gzipped_and_raw_files_alike(tmp_path: Path) -> None:
    array = np.random.default_rng(1).integers(0, 256, (3, 28, 28), dtype=np.uint8)
    raw, zipped = tmp_path / "raw-idx3-ubyte", tmp_path / "zipped-idx3-ubyte.gz"
    raw.write_bytes(idx_bytes(array))
    zipped.write_bytes(gzip.compress(idx_bytes(array)))
    np.testing.assert_array_equal(read_idx(raw), array)
    np.testing.assert_array_equal(read_idx(zipped), array)
    # Gzip is recognised by content, not by name.
    renamed = tmp_path / "no-suffix"
    renamed.write_bytes(zipped.read_bytes())
    np.testing.assert_array_equal(read_idx(renamed), array)


_GOOD = idx_bytes(np.zeros((2, 28, 28), np.uint8))


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (_GOOD[:-1], "truncated"),
        (_GOOD + b"\x00", "trailing bytes"),
        (b"\x01\x00" + _GOOD[2:], "bad magic"),
        (b"PK\x03\x04" + _GOOD[4:], "bad magic"),
        (b"\x00\x00\x0a\x03" + _GOOD[4:], "unknown IDX data type 0x0a"),
        (b"\x00\x00\x08\x00", "no dimensions"),
        (_GOOD[:10], "truncated header"),
        (b"\x00\x00", "too short"),
        (b"", "too short"),
    ],
    ids=["truncated-data", "trailing", "magic", "zip", "type", "zero-dims", "short-header", "2-bytes", "empty"],
)
def test_malformed_file_names_itself(tmp_path: Path, data: bytes, reason: str) -> None:
    path = tmp_path / "broken-idx3-ubyte"
    path.write_bytes(data)
    with pytest.raises(DataError, match=reason) as caught:
        read_idx(path)
    assert str(path) in str(caught.value)


def test_huge_declared_shape_is_an_error_not_an_allocation(tmp_path: Path) -> None:
    path = tmp_path / "huge"
    path.write_bytes(b"\x00\x00\x08\x03" + b"\xff\xff\xff\xff" * 3 + b"\x00" * 16)
    with pytest.raises(DataError, match="more than the"):
        read_idx(path)


def test_declared_size_that_overflows_64_bits_is_caught() -> None:
    """2^31 * 2^31 * 4 = 2^64 wraps to 0 in int64 arithmetic; an empty body must not pass for it."""
    header = b"\x00\x00\x08\x03" + (2**31).to_bytes(4, "big") * 2 + (4).to_bytes(4, "big")
    with pytest.raises(DataError, match="more than the"):
        parse_idx(header, "overflow")


@pytest.mark.parametrize("cut", [10, 40, -9])
def test_corrupt_or_truncated_gzip_names_the_file(tmp_path: Path, cut: int) -> None:
    whole = gzip.compress(idx_bytes(np.arange(3920).astype(np.uint8).reshape(5, 28, 28)))
    path = tmp_path / "cut-idx3-ubyte.gz"
    path.write_bytes(whole[:cut])
    with pytest.raises(DataError, match="corrupt gzip") as caught:
        read_idx(path)
    assert str(path) in str(caught.value)


def test_flipped_bits_in_gzip_are_caught(tmp_path: Path) -> None:
    whole = bytearray(gzip.compress(idx_bytes(np.arange(3920).astype(np.uint8).reshape(5, 28, 28))))
    whole[len(whole) // 2] ^= 0xFF
    path = tmp_path / "flipped.gz"
    path.write_bytes(bytes(whole))
    with pytest.raises(DataError, match=str(path)):
        read_idx(path)


def test_unreadable_path_names_itself(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="cannot read") as caught:
        read_idx(tmp_path)  # a folder, not a file
    assert str(tmp_path) in str(caught.value)


@pytest.mark.parametrize("gzipped", [True, False], ids=["gz", "raw"])
def test_load_mnist_from_a_folder(tmp_path: Path, gzipped: bool) -> None:
    arrays = write_mnist(tmp_path / "mnist", gzipped=gzipped)
    data = load_mnist(tmp_path / "mnist")
    for role in MNIST_FILES:
        np.testing.assert_array_equal(getattr(data, role), arrays[role])
        assert getattr(data, role).dtype == np.uint8
    assert data.source == str(tmp_path / "mnist")


def test_torchvision_style_names_are_found(tmp_path: Path) -> None:
    write_mnist(tmp_path, gzipped=False)
    for stem in MNIST_FILES.values():
        (tmp_path / stem).rename(tmp_path / stem.replace("-idx", ".idx"))
    assert has_mnist(tmp_path)
    assert find_idx_file(tmp_path, "t10k-labels-idx1-ubyte") == tmp_path / "t10k-labels.idx1-ubyte"
    assert load_mnist(tmp_path).test_labels.shape == (5,)


def _malformed_folders() -> list[tuple[str, dict[str, bytes], str, str]]:
    images = np.zeros((12, 28, 28), np.uint8)
    return [
        (
            "count-mismatch",
            {"train_labels": idx_bytes(np.zeros(11, np.uint8))},
            "train-images",
            "12 images but train-labels-idx1-ubyte.gz has 11 labels",
        ),
        ("label-over-9", {"test_labels": idx_bytes(np.array([0, 1, 2, 10, 3], np.uint8))}, "t10k-labels", "label 10"),
        ("image-size", {"train_images": idx_bytes(np.zeros((12, 32, 32), np.uint8))}, "train-images", "28x28"),
        ("image-type", {"train_images": idx_bytes(images.astype(np.float32))}, "train-images", "uint8"),
        ("labels-2d", {"test_labels": idx_bytes(np.zeros((5, 1), np.uint8))}, "t10k-labels", "1-D"),
        ("truncated", {"test_images": idx_bytes(np.zeros((5, 28, 28), np.uint8))[:-100]}, "t10k-images", "truncated"),
    ]


@pytest.mark.parametrize(
    ("overrides", "file_part", "reason"),
    [case[1:] for case in _malformed_folders()],
    ids=[case[0] for case in _malformed_folders()],
)
def test_inconsistent_mnist_folder_names_the_file(
    tmp_path: Path, overrides: dict[str, bytes], file_part: str, reason: str
) -> None:
    write_mnist(tmp_path, overrides=overrides)
    with pytest.raises(DataError) as caught:
        load_mnist(tmp_path)
    message = str(caught.value)
    assert reason in message
    assert str(tmp_path) in message and file_part in message


def test_missing_file_and_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such folder"):
        load_mnist(tmp_path / "nowhere")
    write_mnist(tmp_path)
    (tmp_path / "t10k-images-idx3-ubyte.gz").unlink()
    assert not has_mnist(tmp_path)
    with pytest.raises(DataError, match="t10k-images-idx3-ubyte: missing"):
        load_mnist(tmp_path)


def test_data_dir_resolution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, private_home: Path) -> None:
    monkeypatch.delenv(MNIST_DIR_ENV, raising=False)
    assert resolve_data_dir() == default_data_dir() == private_home / "mnist"
    monkeypatch.setenv(MNIST_DIR_ENV, str(tmp_path / "env"))
    assert resolve_data_dir() == tmp_path / "env"
    assert resolve_data_dir(tmp_path / "arg") == tmp_path / "arg"


def test_real_mnist_loads_with_its_sizes(mnist: Mnist) -> None:
    assert mnist.train_images.shape == (60000, 28, 28)
    assert mnist.train_labels.shape == (60000,)
    assert mnist.test_images.shape == (10000, 28, 28)
    assert mnist.test_labels.shape == (10000,)
    assert mnist.train_images.dtype == mnist.train_labels.dtype == np.uint8
    assert set(np.unique(mnist.test_labels)) == set(range(10))
    # Known facts: the first training digit is a 5, the first test digit a 7.
    assert int(mnist.train_labels[0]) == 5 and int(mnist.test_labels[0]) == 7
