"""Issue 12, property-based: whatever array, bytes or file a user hands the core, it works or says why.

Hypothesis generates the inputs: arrays of any dtype and shape for preprocessing, bytes and crafted
headers for the IDX reader, JSON headers and metadata for checkpoints, and bytes and small valid
images for ``digitpad predict``'s image reader. Each property allows one documented exception type
(ValueError, DataError, CheckpointError, CliError) and nothing else.

Bounded and reproducible: every test has a fixed ``max_examples``, ``derandomize=True`` (the same
examples on every run, no example database), and the whole file runs in seconds. The six bugs the
properties found when they were written are fixed; each has a plain regression test at the end.
"""

from __future__ import annotations

import gzip
import io
import json
import math
import struct
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import TINY_MODEL, checkpoint_document
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from safetensors.torch import save as save_safetensors_bytes

from digitpad.base.constants import MNIST_SIZE, PREPROCESS_VERSION
from digitpad.cli.common import CliError
from digitpad.cli.predict import read_image
from digitpad.data.mnist import MAX_IDX_DATA_BYTES, DataError, parse_idx, read_idx
from digitpad.ink.preprocess import PreprocessResult, as_ink, image_to_ink, preprocess
from digitpad.model.checkpoint import (
    METADATA_KEY,
    CheckpointError,
    CheckpointInfo,
    LoadedCheckpoint,
    load_checkpoint,
    read_info,
)
from digitpad.model.network import DigitNet, ModelConfig

#: Fixed examples, no database (nothing written under the repository), no wall-clock deadline:
#: a busy CI machine must not turn a slow example into a failure.
BOUNDED = settings(derandomize=True, database=None, deadline=None, suppress_health_check=[HealthCheck.too_slow])

#: Text without Hypothesis' Unicode tables (which it would cache in a .hypothesis folder), with the
#: characters that matter to JSON and UTF-8: quotes, backslashes, NUL, non-ASCII and a lone surrogate.
ALPHABET = 'abcdefgz_-. "\\/\x00\n\t\x7féß€😀\ud800'
TEXT = st.text(alphabet=ALPHABET, max_size=12)


# --- 1. preprocessing --------------------------------------------------------------------------

INK_DTYPES = [np.uint8, np.bool_, np.float32, np.float64, np.float16, np.int8, np.int16, np.int64, np.uint16]


@st.composite
def canvases(draw: st.DrawFn) -> np.ndarray:
    """Any 2-D canvas up to 200x200 (sometimes 0-sized, sometimes not 2-D) of any ink dtype."""
    dtype = np.dtype(draw(st.sampled_from(INK_DTYPES)))
    if draw(st.integers(0, 9)) == 0:
        shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=6))
    else:
        side = st.integers(0, 8) | st.integers(0, 200)
        shape = (draw(side), draw(side))
    elements = hnp.from_dtype(dtype)
    if dtype.kind == "f":
        # Mostly real ink levels, sometimes anything the dtype holds (NaN, inf, huge, negative).
        elements = st.floats(0, 1, width=8 * dtype.itemsize) | elements
    fill = st.sampled_from([dtype.type(0), dtype.type(1)]) | elements
    return draw(hnp.arrays(dtype, shape, elements=elements, fill=fill))


@st.composite
def bboxes(draw: st.DrawFn, shape: tuple[int, ...]) -> object:
    """None, a box inside ``shape``, any four ints, or something that is not a box at all."""
    kind = draw(st.sampled_from(["none", "inside", "ints", "junk"]))
    if kind == "none":
        return None
    if kind == "inside" and len(shape) == 2:
        top, bottom = sorted(draw(st.lists(st.integers(0, shape[0]), min_size=2, max_size=2)))
        left, right = sorted(draw(st.lists(st.integers(0, shape[1]), min_size=2, max_size=2)))
        box = (top, left, bottom, right)
        return draw(st.sampled_from([box, list(box), np.array(box), tuple(np.int32(v) for v in box)]))
    if kind in ("inside", "ints"):
        return tuple(draw(st.lists(st.integers(-3, 205) | st.integers(), min_size=4, max_size=4)))
    junk = st.one_of(
        st.lists(st.integers(-3, 10), max_size=6).map(tuple),
        st.tuples(*[st.integers(0, 5) | st.floats() | st.booleans() | st.none() | TEXT] * 4),
        TEXT,
        st.integers(),
        hnp.arrays(np.int64, hnp.array_shapes(min_dims=1, max_dims=2, max_side=4), elements=st.integers(0, 5)),
    )
    return draw(junk)


def check_result(result: PreprocessResult, shape: tuple[int, ...]) -> None:
    assert result.centred.shape == (MNIST_SIZE, MNIST_SIZE) and result.centred.dtype == np.float32
    assert result.normalised.shape == (MNIST_SIZE, MNIST_SIZE) and result.normalised.dtype == np.float32
    assert float(result.centred.min()) >= 0.0 and float(result.centred.max()) <= 1.0
    # Every MNIST digit has full ink somewhere; so does every preprocessed drawing.
    assert float(result.centred.max()) == pytest.approx(1.0)
    assert np.isfinite(result.normalised).all()
    top, left, bottom, right = result.bbox
    assert 0 <= top < bottom <= shape[0] and 0 <= left < right <= shape[1]
    assert all(type(value) is int for value in result.bbox)


def why_invalid(canvas: np.ndarray) -> str | None:
    """The reason as_ink must refuse ``canvas``, or None if it must accept it."""
    if canvas.ndim != 2:
        return "not 2-D"
    if canvas.dtype.kind == "f" and not np.isfinite(canvas).all():
        return "not finite"  # a finite value beyond float32's range is clipped to 1, like any other
    return None


@settings(BOUNDED, max_examples=300)
@given(data=st.data(), canvas=canvases())
def test_preprocess_gives_a_28x28_image_none_or_a_value_error(data: st.DataObject, canvas: np.ndarray) -> None:
    bbox = data.draw(bboxes(canvas.shape), label="bbox")
    try:
        result = preprocess(canvas, bbox)
    except ValueError:
        invalid_bbox = bbox is not None  # a bad box is refused, whatever the canvas
        assert why_invalid(canvas) is not None or invalid_bbox
        return
    assert why_invalid(canvas) is None
    if result is not None:
        check_result(result, canvas.shape)
        if bbox is not None:
            assert result.bbox == tuple(int(v) for v in bbox)


@settings(BOUNDED, max_examples=200)
@given(canvas=canvases())
def test_as_ink_and_image_to_ink_give_ink_in_0_1_or_a_value_error(canvas: np.ndarray) -> None:
    for convert in (as_ink, image_to_ink):
        try:
            ink = convert(canvas)
        except ValueError:
            assert why_invalid(canvas) is not None or (convert is image_to_ink and canvas.size == 0)
            continue
        assert why_invalid(canvas) is None
        assert ink.shape == canvas.shape and ink.dtype == np.float32
        assert ink.size == 0 or (float(ink.min()) >= 0.0 and float(ink.max()) <= 1.0)
        # image_to_ink's output is what `digitpad predict` preprocesses next.
        if convert is image_to_ink:
            result = preprocess(ink)
            if result is not None:
                check_result(result, ink.shape)


# --- 2. the IDX reader -------------------------------------------------------------------------

IDX_ITEMSIZES = {0x08: 1, 0x09: 1, 0x0B: 2, 0x0C: 4, 0x0D: 4, 0x0E: 8}
IDX_NATIVE = {0x08: "u1", 0x09: "i1", 0x0B: "i2", 0x0C: "i4", 0x0D: "f4", 0x0E: "f8"}
#: Larger than this and the generated data is random-length, never the declared size.
SMALL_DATA = 2048


def declared(data: bytes) -> tuple[tuple[int, ...], int] | None:
    """(shape, type code) from a well-formed IDX header at the start of ``data``, else None."""
    if len(data) < 4 or data[:2] != b"\x00\x00" or data[2] not in IDX_ITEMSIZES or data[3] == 0:
        return None
    ndim = data[3]
    if len(data) < 4 + 4 * ndim:
        return None
    return struct.unpack(f">{ndim}I", data[4 : 4 + 4 * ndim]), data[2]


def numpy_can_shape(shape: tuple[int, ...], dtype: str) -> bool:
    """Whether numpy has an array of ``shape`` (asked only of empty ones or of their rank: no allocation)."""
    try:
        np.empty(shape if math.prod(shape) == 0 else (0,) * len(shape), dtype)
    except ValueError:
        return False
    return True


@st.composite
def idx_files(draw: st.DrawFn) -> bytes:
    """Crafted IDX bytes: any or valid type codes and ranks, small or huge dims, right or wrong data sizes."""
    type_code = draw(st.sampled_from(sorted(IDX_ITEMSIZES)) | st.integers(0, 255))
    ndim = draw(st.integers(1, 4) | st.integers(0, 255))
    dimension = st.integers(0, 6) | st.sampled_from([28, 60000, 2**31, 2**32 - 1]) | st.integers(0, 2**32 - 1)
    dims = draw(st.lists(dimension, min_size=ndim, max_size=ndim))
    magic = bytes([0, 0, type_code, ndim])
    if draw(st.integers(0, 9)) == 0:
        magic = draw(st.binary(min_size=4, max_size=4))
    header = magic + struct.pack(f">{ndim}I", *dims)
    expected = math.prod(dims) * IDX_ITEMSIZES.get(type_code, 1)
    if expected <= SMALL_DATA:
        size = draw(st.sampled_from([expected, expected]) | st.integers(max(0, expected - 3), expected + 3))
    else:
        size = draw(st.integers(0, 64))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    payload = header + rng.integers(0, 256, size, dtype=np.uint8).tobytes()
    if draw(st.integers(0, 9)) == 0:  # cut anywhere, header included
        payload = payload[: draw(st.integers(0, len(payload)))]
    return payload


IDX_BYTES = st.binary(max_size=48) | idx_files()


def read_traced(read) -> tuple[np.ndarray | None, int]:
    """``read()``'s array (None for a DataError) and the peak memory it took, in bytes."""
    tracemalloc.start()
    try:
        return read(), tracemalloc.get_traced_memory()[1]
    except DataError:
        return None, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def check_idx(data: bytes, read) -> None:
    """``read()`` gives the array its header declares, or DataError; the memory it takes is bounded."""
    array, peak = read_traced(read)
    header = declared(data)
    if header is None:
        assert array is None, "a file without a valid IDX header was read"
        assert peak < 2**20
        return
    shape, code = header
    expected = math.prod(shape) * IDX_ITEMSIZES[code]
    # Never more than the declared data, itself capped: a huge header costs nothing.
    assert peak < min(expected, MAX_IDX_DATA_BYTES) + 2**20
    if array is not None:
        assert array.shape == shape
        assert array.dtype == np.dtype(IDX_NATIVE[code])
        assert len(data) - 4 - 4 * len(shape) == expected or data[:2] == b"\x1f\x8b"


@settings(BOUNDED, max_examples=300)
@given(data=IDX_BYTES)
def test_parse_idx_gives_the_declared_array_or_a_data_error(data: bytes) -> None:
    check_idx(data, lambda: parse_idx(data))


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("properties")


@settings(BOUNDED, max_examples=200)
@given(
    data=IDX_BYTES,
    wrap=st.sampled_from(["raw", "gzip", "gzip-cut", "gzip-trailing", "gzip-flipped"]),
    cut=st.integers(0, 2**16),
    garbage=st.binary(min_size=1, max_size=16),
)
def test_read_idx_reads_raw_or_gzipped_or_gives_a_data_error(
    workdir: Path, data: bytes, wrap: str, cut: int, garbage: bytes
) -> None:
    payload = data
    if wrap != "raw":
        payload = gzip.compress(data, mtime=0)
        if wrap == "gzip-cut":
            payload = payload[: cut % len(payload)]
        elif wrap == "gzip-trailing":
            payload += garbage
        elif wrap == "gzip-flipped":
            index = 10 + cut % (len(payload) - 10)  # past the gzip header: the deflate data or the CRC
            payload = payload[:index] + bytes([payload[index] ^ garbage[0]]) + payload[index + 1 :]
    path = workdir / "file-idx3-ubyte"
    path.write_bytes(payload)
    array, peak = read_traced(lambda: read_idx(path))
    header = declared(data)
    declared_bytes = math.prod(header[0]) * IDX_ITEMSIZES[header[1]] if header else 0
    # The reader's buffer, capped; through gzip, CPython's DecompressReader.readinto asks for as many
    # bytes again (a transient copy), so twice that. Never what a huge header declares.
    copies = 1 if wrap == "raw" else 2
    assert peak < copies * min(declared_bytes, MAX_IDX_DATA_BYTES) + 2**20
    if wrap == "raw" or (wrap == "gzip-flipped" and array is not None):
        return
    if wrap == "gzip":  # the same answer as the bytes themselves
        try:
            same = parse_idx(data)
        except DataError:
            assert array is None
        else:
            assert array is not None and array.shape == same.shape
            np.testing.assert_array_equal(array, same)
    elif wrap == "gzip-cut" or wrap == "gzip-trailing":
        # A cut gzip stream, or one followed by garbage, is never silently accepted unless the cut
        # fell only on the trailer's last bytes or the garbage parses as nothing; both are DataError
        # or the very same array as the raw bytes give.
        if array is not None:
            np.testing.assert_array_equal(array, parse_idx(data))


# --- 3. checkpoints ----------------------------------------------------------------------------

SMALL = TINY_MODEL
valid_document = checkpoint_document

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | TEXT,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(TEXT, children, max_size=4),
    max_leaves=20,
)


@st.composite
def documents(draw: st.DrawFn) -> object:
    """digitpad metadata: valid, with some fields (or model_config's fields) replaced, or any JSON."""
    if draw(st.integers(0, 4)) == 0:
        return draw(JSON)
    document = valid_document()
    near = {
        "format_version": st.sampled_from([0, 1, 2, 1.0, True, "1", None]),
        "preprocess_version": st.sampled_from([PREPROCESS_VERSION, PREPROCESS_VERSION + 1, 1.0 * PREPROCESS_VERSION]),
    }
    for key in draw(st.lists(st.sampled_from([*document, "extra"]), max_size=3, unique=True)):
        document[key] = draw(near.get(key, JSON) | JSON)
    if isinstance(document.get("model_config"), dict):
        config = dict(document["model_config"])
        for key in draw(st.lists(st.sampled_from([*config, "num_classes", "extra"]), max_size=2, unique=True)):
            config[key] = draw(JSON | st.integers(0, 300) | st.lists(st.integers(0, 300), max_size=7))
        document["model_config"] = config
    return document


def dumps(value: object) -> str:
    # allow_nan: Python's json writes NaN and Infinity, and reads them back; a hostile file may have them.
    return json.dumps(value, allow_nan=True)


@pytest.fixture(scope="module")
def small_tensors() -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    model = DigitNet(SMALL).eval()
    return {name: tensor.detach().contiguous() for name, tensor in model.state_dict().items()}


@st.composite
def raw_headers(draw: st.DrawFn) -> bytes:
    """A size prefix and a JSON header (any JSON, or a tensor table with random metadata), then some bytes."""
    if draw(st.booleans()):
        header = draw(JSON)
    else:
        header = draw(st.dictionaries(TEXT, JSON, max_size=3))
        metadata = draw(st.dictionaries(TEXT, TEXT | JSON, max_size=3))
        if draw(st.booleans()):
            metadata[METADATA_KEY] = dumps(draw(documents())) if draw(st.booleans()) else draw(JSON)
        header["__metadata__"] = metadata if draw(st.integers(0, 9)) else draw(JSON)
    text = dumps(header).encode("utf-8", "surrogatepass")
    size = draw(st.sampled_from([len(text), len(text)]) | st.integers(0, len(text) + 8) | st.integers(0, 2**64 - 1))
    return struct.pack("<Q", size) + text + draw(st.binary(max_size=32))


@st.composite
def safetensors_files(draw: st.DrawFn, tensors: dict[str, torch.Tensor]) -> bytes:
    """Real safetensors bytes of SMALL's weights (some dropped, re-typed or spoilt) with random metadata."""
    chosen = dict(tensors)
    for name in draw(st.lists(st.sampled_from(sorted(tensors)), max_size=2, unique=True)):
        change = draw(st.sampled_from(["drop", "half", "double", "int", "nan", "reshape"]))
        tensor = chosen.pop(name)
        if change == "half":
            chosen[name] = tensor.half()
        elif change == "double":
            chosen[name] = tensor.double()
        elif change == "int":
            chosen[name] = tensor.to(torch.int32)
        elif change == "nan" and tensor.is_floating_point() and tensor.numel():
            chosen[name] = tensor.clone().view(-1).index_fill(0, torch.tensor([0]), math.nan).view(tensor.shape)
        elif change == "reshape":
            chosen[name] = tensor.reshape(-1)
    metadata = draw(
        st.dictionaries(st.text(alphabet="abcxyz_", max_size=6), st.text(alphabet='ab{}[]":,1', max_size=8))
    )
    if draw(st.integers(0, 5)):
        metadata[METADATA_KEY] = dumps(draw(documents()))
    payload = save_safetensors_bytes(chosen, metadata=metadata)
    if draw(st.integers(0, 5)) == 0:  # a flipped byte anywhere, or a cut
        index = draw(st.integers(0, len(payload) - 1))
        payload = payload[:index] + bytes([payload[index] ^ draw(st.integers(1, 255))]) + payload[index + 1 :]
    if draw(st.integers(0, 5)) == 0:
        payload = payload[: draw(st.integers(0, len(payload)))]
    return payload


def check_checkpoint(workdir: Path, payload: bytes) -> None:
    path = workdir / "model.safetensors"
    path.write_bytes(payload)
    try:
        info = read_info(payload, path)
    except CheckpointError as error:
        assert "\n" not in str(error)
        info = None
    else:
        assert isinstance(info, CheckpointInfo) and isinstance(info.model_config, ModelConfig)
    try:
        loaded = load_checkpoint(path)
    except CheckpointError as error:
        assert "\n" not in str(error)
        return
    assert info is not None, "load_checkpoint loaded a file whose metadata read_info refuses"
    assert isinstance(loaded, LoadedCheckpoint) and not loaded.model.training
    assert loaded.info.model_config == info.model_config
    with torch.no_grad():
        logits = loaded.model(torch.zeros(1, 1, MNIST_SIZE, MNIST_SIZE))
    assert logits.shape == (1, info.model_config.num_classes) and torch.isfinite(logits).all()


@settings(BOUNDED, max_examples=250)
@given(payload=st.binary(max_size=64) | raw_headers())
def test_checkpoint_bytes_and_json_headers_load_or_give_a_checkpoint_error(workdir: Path, payload: bytes) -> None:
    check_checkpoint(workdir, payload)


@settings(BOUNDED, max_examples=80)
@given(data=st.data())
def test_safetensors_with_random_metadata_load_or_give_a_checkpoint_error(
    workdir: Path, small_tensors: dict[str, torch.Tensor], data: st.DataObject
) -> None:
    check_checkpoint(workdir, data.draw(safetensors_files(small_tensors), label="payload"))


# --- 4. the image reader of `digitpad predict` -------------------------------------------------

MAGICS = [
    b"",
    b"\x89PNG\r\n\x1a\n",
    b"\xff\xd8\xff\xe0",
    b"GIF89a",
    b"BM",
    b"II*\x00",
    b"MM\x00*",
    b"P5\n3 2\n255\n",
    b"\x00\x00\x01\x00",
    b"RIFF\x10\x00\x00\x00WEBPVP8 ",
]
PIL_MODES = ["1", "L", "LA", "P", "RGB", "RGBA", "I;16"]


@st.composite
def image_files(draw: st.DrawFn) -> tuple[bytes, tuple[int, int] | None]:
    """(file bytes, (height, width) if it is a valid image): junk after a magic, or a small PNG/JPEG, maybe spoilt."""
    Image = pytest.importorskip("PIL.Image")
    if draw(st.integers(0, 2)) == 0:
        return draw(st.sampled_from(MAGICS)) + draw(st.binary(max_size=64)), None
    mode = draw(st.sampled_from(PIL_MODES))
    width, height = draw(st.integers(1, 40)), draw(st.integers(1, 40))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    image = Image.frombytes(mode, (width, height), rng.bytes(len(Image.new(mode, (1, 1)).tobytes()) * width * height))
    options: dict = {}
    if mode in ("L", "P", "RGB") and draw(st.booleans()):
        options["transparency"] = (1, 2, 3) if mode == "RGB" else 7
    fmt = "JPEG" if mode in ("L", "RGB") and draw(st.booleans()) else "PNG"
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **({} if fmt == "JPEG" else options))
    payload = buffer.getvalue()
    spoil = draw(st.sampled_from(["none", "none", "cut", "flip"]))
    if spoil == "cut":
        payload = payload[: draw(st.integers(0, len(payload) - 1))]
    elif spoil == "flip":
        index = draw(st.integers(0, len(payload) - 1))
        payload = payload[:index] + bytes([payload[index] ^ draw(st.integers(1, 255))]) + payload[index + 1 :]
    return payload, (height, width) if spoil == "none" else None


@settings(BOUNDED, max_examples=250)
@given(file=image_files())
def test_read_image_gives_a_grey_image_or_a_clear_error(workdir: Path, file: tuple[bytes, tuple | None]) -> None:
    payload, size = file
    path = workdir / "digit.png"
    path.write_bytes(payload)
    try:  # warnings are errors here, as in the whole suite: none may reach the user
        grey = read_image(path)
    except (CliError, ValueError) as error:  # `digitpad predict` reports both as one line
        grey, refusal = None, error
    if grey is None:
        assert size is None, f"a valid image was refused: {refusal}"
        return
    assert isinstance(grey, np.ndarray) and grey.ndim == 2 and grey.dtype == np.float32
    assert grey.size and float(grey.min()) >= 0.0 and float(grey.max()) <= 1.0
    if size is not None:
        assert grey.shape == size
    # What predict does next: ink, or a ValueError it reports.
    ink = image_to_ink(grey)
    assert ink.shape == grey.shape


@settings(BOUNDED, max_examples=60)
@given(file=image_files())
def test_qt_image_reader_gives_a_grey_image_or_a_value_error(workdir: Path, file: tuple[bytes, tuple | None]) -> None:
    """The reader `digitpad predict` falls back on without Pillow."""
    image_io = pytest.importorskip("digitpad.gui.common.image_io")
    payload, size = file
    path = workdir / "digit-qt.png"
    path.write_bytes(payload)
    try:
        grey = image_io.read_grey_image(path)
    except ValueError as error:
        assert size is None, f"a valid image was refused: {error}"
        return
    assert grey.ndim == 2 and grey.dtype == np.float32 and grey.size
    assert float(grey.min()) >= 0.0 and float(grey.max()) <= 1.0
    if size is not None:
        assert grey.shape == size


# --- the bugs the properties found, fixed: regression tests ---------------------------------------------


def test_fixed_idx_over_64_dimensions() -> None:
    # 65 dimensions of 1, one byte of data: numpy cannot make a 65-D array.
    data = b"\x00\x00\x08\x41" + b"\x00\x00\x00\x01" * 65 + b"\x00"
    with pytest.raises(DataError):
        parse_idx(data)


def test_fixed_idx_empty_with_huge_dimensions() -> None:
    # (0, 2**32 - 1, 2**32 - 1): no data, so under the cap, but numpy refuses the shape ("array is too big").
    data = b"\x00\x00\x08\x03" + b"\x00\x00\x00\x00" + b"\xff\xff\xff\xff" * 2
    with pytest.raises(DataError):
        parse_idx(data)


def test_fixed_zero_dim_array_bbox() -> None:
    with pytest.raises(ValueError):
        preprocess(np.ones((3, 3), np.float32), np.array(5))  # type: ignore[arg-type]


def test_fixed_float64_beyond_float32() -> None:
    canvas = np.zeros((3, 3), np.float64)
    canvas[1, 1] = 1e39  # finite, clipped to 1 by as_ink's contract; the cast to float32 overflows first
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            preprocess(canvas)
        except ValueError:
            pass


def test_fixed_pillow_warning_escapes(workdir: Path) -> None:
    # Eight bytes, a TIFF header pointing at an empty directory: Pillow warns before refusing it, so
    # `digitpad predict` prints a two-line Python warning above its one-line error.
    path = workdir / "exif.png"
    path.write_bytes(b"II*\x00\x00\x00\x00\x01")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(CliError):
            read_image(path)


def one_pixel_png_with_a_wrong_chunk_length() -> bytes:
    """A valid 1x1 grey PNG whose IDAT length (byte 36) says 2 instead of 10: the next chunk type is garbage."""
    Image = pytest.importorskip("PIL.Image")
    buffer = io.BytesIO()
    Image.new("L", (1, 1)).save(buffer, format="PNG")
    payload = bytearray(buffer.getvalue())
    assert payload[33:41] == b"\x00\x00\x00\nIDAT"
    payload[36] = 2
    return bytes(payload)


def test_fixed_pillow_syntax_error_escapes(workdir: Path) -> None:
    # `digitpad predict` prints "unexpected error: SyntaxError: broken PNG file (chunk ...)" and stops
    # there, skipping the images after it, instead of a "not a readable image" line for this one.
    path = workdir / "broken.png"
    path.write_bytes(one_pixel_png_with_a_wrong_chunk_length())
    with pytest.raises(CliError):
        read_image(path)
