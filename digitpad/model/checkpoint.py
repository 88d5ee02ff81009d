"""Self-describing, code-free checkpoints: safetensors weights + JSON metadata.

A checkpoint file is a safetensors file whose metadata holds one JSON
document under the key ``digitpad``: the format version, the architecture
(``ModelConfig``), the preprocessing version, metrics, the training recipe
and the data it saw. Loading never unpickles anything, so a file cannot run
code; pickles (``.pt`` / ``.pth`` from ``torch.save``) are refused by content.
Saves write a temporary file in the same folder, fsync it, then rename it
over the target: a crash leaves the old file or the new one, never half.

A file handed to :func:`load_checkpoint` is untrusted, so everything is
checked before it costs anything: only a regular file is opened (never a
pipe, device or folder), its size and its header's size are capped, the
architecture it describes is bounded (``ModelConfig``), the tensors listed
in its header must be those of that architecture (names, shapes, float
types) before a model is built, and the loaded model must give finite
outputs on a few probe images. Every refusal is a one-line CheckpointError.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_safetensors_bytes
from safetensors.torch import save as save_safetensors_bytes

from digitpad.base.atomic import atomic_write_bytes
from digitpad.base.constants import MNIST_MEAN, MNIST_SIZE, MNIST_STD, PREPROCESS_VERSION
from digitpad.base.files import FileReadError, read_regular_file
from digitpad.model.network import DigitNet, ModelConfig

FORMAT_NAME = "digitpad-checkpoint"
FORMAT_VERSION = 1
METADATA_KEY = "digitpad"

logger = logging.getLogger(__name__)

#: Largest file load_checkpoint reads (it reads the file whole). The shipped
#: weights are 0.4 MB; the largest model ModelConfig allows is 36 MB at
#: float32, 71 MB at float64. Anything larger is not a digitpad checkpoint,
#: and reading it would only cost memory (a 3 GB file used to be read whole).
MAX_FILE_BYTES = 128 * 2**20
#: Largest safetensors header (JSON) parsed. The shipped weights' is 3 KB:
#: a few dozen tensor entries and a metadata document of a few KB.
MAX_HEADER_BYTES = 2**20
#: Tensor types a weight may be stored as; load_state_dict casts them to
#: float32. Integer or bool weights are not weights, and float8 loses too much.
FLOAT_DTYPES = ("F16", "BF16", "F32", "F64")
#: A trained model's logits are tens at most; one of this size means
#: garbage weights that a real drawing could push to infinity.
MAX_PROBE_LOGIT = 1e6


class CheckpointError(Exception):
    """A checkpoint cannot be used; the message says why, naming the file."""


@dataclass
class CheckpointInfo:
    """What a checkpoint says about itself."""

    model_config: ModelConfig
    preprocess_version: int = PREPROCESS_VERSION
    #: e.g. {"test_accuracy": 0.996, "per_class_accuracy": [...], "epochs": 12}
    metrics: dict = field(default_factory=dict)
    #: The training settings (TrainConfig.to_dict: without the machine's device and threads).
    recipe: dict = field(default_factory=dict)
    #: What the data was and how much was used: its name and the four files' MD5s (Mnist.description),
    #: never a path, so that the file describes itself on any machine; older files recorded the folder.
    data: dict = field(default_factory=dict)

    def to_json(self) -> str:
        values = {**asdict(self), "model_config": self.model_config.to_dict()}
        return json.dumps({"format": FORMAT_NAME, "format_version": FORMAT_VERSION, **values}, sort_keys=True)


@dataclass
class LoadedCheckpoint:
    model: DigitNet
    info: CheckpointInfo
    path: Path


def save_checkpoint(path: str | os.PathLike, model: DigitNet, info: CheckpointInfo) -> Path:
    """Atomically save ``model``'s weights with ``info`` as metadata."""
    tensors = {name: tensor.detach().cpu().contiguous() for name, tensor in model.state_dict().items()}
    payload = save_safetensors_bytes(tensors, metadata={METADATA_KEY: info.to_json()})
    target = Path(path)
    atomic_write_bytes(target, payload)
    return target


# --- reading the file --------------------------------------------------------


def _looks_like_pickle(start: bytes) -> bool:
    """Whether a file's first 8 bytes are those of a torch.save file.

    torch.save writes a zip archive ("PK" 03 04) or, in the legacy format, a
    pickle: PROTO (0x80), a protocol 2..5, then opcodes and their arguments.
    A safetensors file starts with its header size, a little-endian u64
    whose first byte can be 0x80 and second 2..5 too; but the header is at
    most MAX_HEADER_BYTES, so its bytes 3..7 are zero, which in a pickle
    would be the arguments of a 0-opcode or a frame of a terabyte.
    """
    if start.startswith(b"PK\x03\x04"):
        return True
    return len(start) == 8 and start[0] == 0x80 and 2 <= start[1] <= 5 and start[3:8] != bytes(5)


def _refuse_pickle(start: bytes, path: Path) -> None:
    if _looks_like_pickle(start):
        raise CheckpointError(
            f"{path}: refused: this is a pickle (torch.save) file, which can run code when "
            "loaded; digitpad only loads safetensors checkpoints"
        )


# --- the header ----------------------------------------------------------------


def _parse_json(text: bytes | str, path: Path, what: str) -> dict:
    """``text`` as a JSON object, or a CheckpointError calling it a corrupt ``what``."""
    try:
        document = json.loads(text)
    except ValueError as error:  # JSONDecodeError and UnicodeDecodeError
        raise CheckpointError(f"{path}: corrupt {what}: {error}") from error
    except RecursionError as error:
        raise CheckpointError(f"{path}: corrupt {what}: nested too deeply") from error
    if not isinstance(document, dict):
        raise CheckpointError(f"{path}: corrupt {what}: not a JSON object but {type(document).__name__}")
    return document


def _parse_header(raw: bytes, path: Path) -> dict:
    """The safetensors header (tensor entries and ``__metadata__``), read without loading tensors."""
    if len(raw) < 8:
        raise CheckpointError(f"{path}: file is too short to be a checkpoint ({len(raw)} bytes)")
    header_size = int.from_bytes(raw[:8], "little")
    if header_size > MAX_HEADER_BYTES:
        raise CheckpointError(
            f"{path}: not a digitpad checkpoint (its header would be {header_size} bytes, "
            f"at most {MAX_HEADER_BYTES // 2**20} MiB)"
        )
    if header_size <= 0 or 8 + header_size > len(raw):
        raise CheckpointError(f"{path}: not a safetensors file, or truncated")
    return _parse_json(raw[8 : 8 + header_size], path, "safetensors header")


def _parse_metadata(header: dict, path: Path) -> dict:
    """The digitpad document in the header's ``__metadata__``."""
    metadata = header.get("__metadata__")
    if not isinstance(metadata, dict) or METADATA_KEY not in metadata:
        raise CheckpointError(f"{path}: a safetensors file, but not a digitpad checkpoint (no metadata)")
    text = metadata[METADATA_KEY]
    if not isinstance(text, str):
        raise CheckpointError(f"{path}: corrupt digitpad metadata: not a string but {type(text).__name__}")
    return _parse_json(text, path, "digitpad metadata")


def _check_versions(document: dict, path: Path) -> int:
    """Refuse another format or preprocessing version; return the preprocessing version."""
    if document.get("format") != FORMAT_NAME:
        raise CheckpointError(f"{path}: unknown checkpoint format {document.get('format')!r}")
    version = document.get("format_version")
    if type(version) is not int or version < 1:
        raise CheckpointError(f"{path}: malformed checkpoint format version {version!r} (a whole number is needed)")
    if version > FORMAT_VERSION:
        raise CheckpointError(
            f"{path}: checkpoint format version {version} is newer than this digitpad "
            f"understands ({FORMAT_VERSION}); update digitpad"
        )
    preprocess_version = document.get("preprocess_version")
    if preprocess_version is None:
        raise CheckpointError(
            f"{path}: does not say its preprocessing version; its predictions could be wrong (retrain it)"
        )
    if type(preprocess_version) is not int:
        raise CheckpointError(
            f"{path}: malformed preprocessing version {preprocess_version!r} (a whole number is needed)"
        )
    if preprocess_version != PREPROCESS_VERSION:
        raise CheckpointError(
            f"{path}: made for preprocessing version {preprocess_version}, this digitpad uses "
            f"{PREPROCESS_VERSION}; its predictions would be wrong (retrain it)"
        )
    return preprocess_version


def _object_field(document: dict, key: str, path: Path) -> dict:
    """``document[key]``, a JSON object; absent or null is empty.

    Anything else is refused rather than read as empty: digitpad writes
    objects, so a list there means the file was made or edited by something
    else, and what reads these fields (accuracy, calibration) expects objects.
    """
    value = document.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise CheckpointError(f"{path}: malformed metadata: {key!r} must be a JSON object, not {type(value).__name__}")
    return value


def _info_from_document(document: dict, path: Path) -> CheckpointInfo:
    preprocess_version = _check_versions(document, path)
    try:
        model_config = ModelConfig.from_dict(_object_field(document, "model_config", path))
    except (TypeError, ValueError) as error:
        raise CheckpointError(f"{path}: bad architecture description: {error}") from error
    return CheckpointInfo(
        model_config=model_config,
        preprocess_version=preprocess_version,
        metrics=_object_field(document, "metrics", path),
        recipe=_object_field(document, "recipe", path),
        data=_object_field(document, "data", path),
    )


def read_info(raw: bytes, path: Path) -> CheckpointInfo:
    """What the checkpoint in ``raw`` (the file's bytes) says about itself, checked."""
    return _info_from_document(_parse_metadata(_parse_header(raw, path), path), path)


# --- the tensors -----------------------------------------------------------------


def _expected_tensors(config: ModelConfig) -> dict[str, tuple[tuple[int, ...], bool]]:
    """Name -> (shape, is floating point) of the state_dict of ``config``'s model.

    Built on the meta device: shapes only, no memory and no initialisation.
    """
    with torch.device("meta"):
        model = DigitNet(config)
    return {name: (tuple(t.shape), t.is_floating_point()) for name, t in model.state_dict().items()}


def _name_list(names: list[str]) -> str:
    return f"{', '.join(names[:3])}{'...' if len(names) > 3 else ''}"


def _check_header_tensors(header: dict, config: ModelConfig, path: Path) -> None:
    """The header lists exactly the tensors ``config``'s model has, with their shapes and number types."""
    entries = {name: entry for name, entry in header.items() if name != "__metadata__"}
    expected = _expected_tensors(config)
    missing = sorted(set(expected) - set(entries))
    unexpected = sorted(set(entries) - set(expected))
    if missing or unexpected:
        parts = [f"missing {_name_list(missing)}"] if missing else []
        parts += [f"unexpected {_name_list(unexpected)}"] if unexpected else []
        raise CheckpointError(f"{path}: weights do not match the architecture: {'; '.join(parts)}")
    for name, entry in entries.items():
        shape, floating = expected[name]
        if not isinstance(entry, dict):
            raise CheckpointError(f"{path}: corrupt safetensors header: the entry of {name} is not a JSON object")
        stored_shape, dtype = entry.get("shape"), entry.get("dtype")
        if not isinstance(stored_shape, list) or tuple(stored_shape) != shape:
            shown = tuple(stored_shape) if isinstance(stored_shape, list) else stored_shape
            raise CheckpointError(f"{path}: weight {name} has shape {shown}, the architecture needs {shape}")
        if floating and dtype not in FLOAT_DTYPES:
            raise CheckpointError(
                f"{path}: weight {name} is stored as {dtype!r}; weights must be one of {', '.join(FLOAT_DTYPES)}"
            )
        if not floating and dtype != "I64":
            raise CheckpointError(f"{path}: counter {name} is stored as {dtype!r}; it must be I64")


def _check_values(tensors: dict[str, torch.Tensor], path: Path) -> None:
    for name, tensor in tensors.items():
        if tensor.is_floating_point() and not torch.isfinite(tensor).all():
            raise CheckpointError(f"{path}: weight {name} contains NaN or infinite values")
        # A variance is never negative. Zero is allowed: a dead channel's
        # running variance decays to 0 in float32 during training, and
        # BatchNorm's eps keeps the division finite.
        if name.endswith("running_var") and bool((tensor < 0).any()):
            raise CheckpointError(f"{path}: weight {name} has negative variances")


def _probe_images() -> torch.Tensor:
    """Normalised 28x28 inputs: zeros, a blank canvas, a full one, and fixed noise in between."""
    blank, full = (0 - MNIST_MEAN) / MNIST_STD, (1 - MNIST_MEAN) / MNIST_STD
    noise = torch.rand(2, 1, MNIST_SIZE, MNIST_SIZE, generator=torch.Generator().manual_seed(0))
    constant = torch.tensor([0.0, blank, full]).view(3, 1, 1, 1).expand(3, 1, MNIST_SIZE, MNIST_SIZE)
    return torch.cat([constant, blank + noise * (full - blank)])


def _probe(model: DigitNet, path: Path) -> None:
    """Refuse a model that does not run, or gives non-finite or absurd logits, on the probe images."""
    try:
        with torch.no_grad():
            logits = model(_probe_images())
    except RuntimeError as error:
        raise CheckpointError(f"{path}: the described model does not run: {error}") from error
    if not torch.isfinite(logits).all():
        raise CheckpointError(f"{path}: the model's outputs are NaN or infinite; its weights are broken")
    if float(logits.abs().max()) > MAX_PROBE_LOGIT:
        raise CheckpointError(f"{path}: the model's outputs are implausibly large; its weights are broken")


def load_checkpoint(path: str | os.PathLike) -> LoadedCheckpoint:
    """Load a checkpoint into a fresh model in eval mode, checking everything.

    Raises CheckpointError with a one-line reason for: a missing file, or
    one that is not a regular file (a folder, pipe or device); a pickle
    (refused unread); a file or header over the size caps; a file that is
    not a digitpad checkpoint, or whose metadata is malformed; a newer
    format; another preprocessing version; an architecture out of bounds;
    weights whose names, shapes or types do not fit it (checked from the
    header, before anything is built); NaN, infinite or negative-variance
    weights; and a model whose probe outputs are not finite.
    """
    path = Path(path)
    try:  # the whole file, at most MAX_FILE_BYTES of it; a pickle is refused on its first bytes, unread
        raw = read_regular_file(path, MAX_FILE_BYTES, "a digitpad checkpoint", lambda head: _refuse_pickle(head, path))
    except FileReadError as error:
        raise CheckpointError(str(error)) from error
    header = _parse_header(raw, path)
    info = _info_from_document(_parse_metadata(header, path), path)
    _check_header_tensors(header, info.model_config, path)
    try:
        tensors = load_safetensors_bytes(raw)
    except (SafetensorError, ValueError, RuntimeError, TypeError) as error:
        raise CheckpointError(f"{path}: corrupt weights: {error}") from error
    _check_values(tensors, path)
    model = DigitNet(info.model_config)
    model.load_state_dict(tensors)
    model.eval()
    _probe(model, path)
    return LoadedCheckpoint(model=model, info=info, path=path)
