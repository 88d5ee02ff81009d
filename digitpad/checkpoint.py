"""Self-describing, code-free checkpoints: safetensors weights + JSON metadata.

A checkpoint file is a safetensors file whose metadata holds one JSON
document under the key ``digitpad``: the format version, the architecture
(``ModelConfig``), the preprocessing version, metrics, the training recipe
and the data it saw. Loading never unpickles anything, so a file cannot run
code; pickles (``.pt`` / ``.pth`` from ``torch.save``) are refused by content.
Saves write a temporary file in the same folder, fsync it, then rename it
over the target: a crash leaves the old file or the new one, never half.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_safetensors_bytes
from safetensors.torch import save as save_safetensors_bytes

from digitpad.constants import PREPROCESS_VERSION
from digitpad.model import DigitNet, ModelConfig

FORMAT_NAME = "digitpad-checkpoint"
FORMAT_VERSION = 1
METADATA_KEY = "digitpad"


class CheckpointError(Exception):
    """A checkpoint cannot be used; the message says why, naming the file."""


@dataclass
class CheckpointInfo:
    """What a checkpoint says about itself."""

    model_config: ModelConfig
    preprocess_version: int = PREPROCESS_VERSION
    #: e.g. {"test_accuracy": 0.996, "per_class_accuracy": [...], "epochs": 12}
    metrics: dict = field(default_factory=dict)
    #: The training settings (TrainConfig as a dict).
    recipe: dict = field(default_factory=dict)
    #: Where the data came from and how much was used.
    data: dict = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(
            {
                "format": FORMAT_NAME,
                "format_version": FORMAT_VERSION,
                "model_config": self.model_config.to_dict(),
                "preprocess_version": self.preprocess_version,
                "metrics": self.metrics,
                "recipe": self.recipe,
                "data": self.data,
            },
            sort_keys=True,
        )


@dataclass
class LoadedCheckpoint:
    model: DigitNet
    info: CheckpointInfo
    path: Path


def atomic_write_bytes(path: Path, payload: bytes) -> None:
    """Write ``payload`` to ``path`` so that readers see the old or the new file, never a part."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(payload)
            stream.flush()
            os.fsync(stream.fileno())
        # mkstemp creates the file private (0600); give it the usual mode.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        raise


def save_checkpoint(path: str | os.PathLike, model: DigitNet, info: CheckpointInfo) -> Path:
    """Atomically save ``model``'s weights with ``info`` as metadata."""
    tensors = {name: tensor.detach().cpu().contiguous() for name, tensor in model.state_dict().items()}
    payload = save_safetensors_bytes(tensors, metadata={METADATA_KEY: info.to_json()})
    target = Path(path)
    atomic_write_bytes(target, payload)
    return target


def _looks_like_safetensors(raw: bytes) -> bool:
    """An 8-byte little-endian header size that fits the file, then a JSON object."""
    if len(raw) < 10:
        return False
    header_size = int.from_bytes(raw[:8], "little")
    return 0 < header_size <= len(raw) - 8 and raw[8:9] == b"{"


def _looks_like_pickle(raw: bytes) -> bool:
    # torch.save writes a zip archive (PK\x03\x04) or, in the legacy format,
    # a raw pickle stream starting with the PROTO opcode 0x80. Checked only
    # after the safetensors test: a safetensors header size can begin with
    # the byte 0x80 too.
    return raw.startswith(b"PK\x03\x04") or raw[:1] == b"\x80"


def _parse_metadata(raw: bytes, path: Path) -> dict:
    """The safetensors header's ``__metadata__``, read without loading tensors."""
    if len(raw) < 8:
        raise CheckpointError(f"{path}: file is too short to be a checkpoint ({len(raw)} bytes)")
    header_size = int.from_bytes(raw[:8], "little")
    if header_size <= 0 or 8 + header_size > len(raw):
        raise CheckpointError(f"{path}: not a safetensors file, or truncated")
    try:
        header = json.loads(raw[8 : 8 + header_size])
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CheckpointError(f"{path}: corrupt safetensors header") from error
    metadata = header.get("__metadata__") or {}
    if METADATA_KEY not in metadata:
        raise CheckpointError(f"{path}: a safetensors file, but not a digitpad checkpoint (no metadata)")
    try:
        return json.loads(metadata[METADATA_KEY])
    except json.JSONDecodeError as error:
        raise CheckpointError(f"{path}: corrupt digitpad metadata") from error


def read_info(raw: bytes, path: Path) -> CheckpointInfo:
    document = _parse_metadata(raw, path)
    if document.get("format") != FORMAT_NAME:
        raise CheckpointError(f"{path}: unknown checkpoint format {document.get('format')!r}")
    version = document.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise CheckpointError(
            f"{path}: checkpoint format version {version} is newer than this digitpad "
            f"understands ({FORMAT_VERSION}); update digitpad"
        )
    preprocess_version = document.get("preprocess_version")
    if preprocess_version != PREPROCESS_VERSION:
        raise CheckpointError(
            f"{path}: made for preprocessing version {preprocess_version}, this digitpad uses "
            f"{PREPROCESS_VERSION}; its predictions would be wrong (retrain it)"
        )
    try:
        model_config = ModelConfig.from_dict(document.get("model_config") or {})
    except (TypeError, ValueError) as error:
        raise CheckpointError(f"{path}: bad architecture description: {error}") from error
    return CheckpointInfo(
        model_config=model_config,
        preprocess_version=preprocess_version,
        metrics=document.get("metrics") or {},
        recipe=document.get("recipe") or {},
        data=document.get("data") or {},
    )


def load_checkpoint(path: str | os.PathLike) -> LoadedCheckpoint:
    """Load a checkpoint into a fresh model in eval mode, checking everything.

    Raises CheckpointError with a one-line reason for: a missing file, a
    pickle (refused unread), a file that is not a digitpad checkpoint, a
    newer format, another preprocessing version, and weights whose names or
    shapes do not fit the described architecture.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError as error:
        raise CheckpointError(f"{path}: no such file") from error
    except OSError as error:
        raise CheckpointError(f"{path}: cannot read: {error.strerror or error}") from error
    if not _looks_like_safetensors(raw) and _looks_like_pickle(raw):
        raise CheckpointError(
            f"{path}: refused: this is a pickle (torch.save) file, which can run code when "
            "loaded; digitpad only loads safetensors checkpoints"
        )
    info = read_info(raw, path)
    try:
        tensors = load_safetensors_bytes(raw)
    except (SafetensorError, ValueError, RuntimeError) as error:
        raise CheckpointError(f"{path}: corrupt weights: {error}") from error
    try:
        model = DigitNet(info.model_config)
    except (TypeError, ValueError, RuntimeError) as error:
        raise CheckpointError(f"{path}: cannot build the described model: {error}") from error
    expected = model.state_dict()
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"missing {', '.join(missing[:3])}{'...' if len(missing) > 3 else ''}")
        if unexpected:
            parts.append(f"unexpected {', '.join(unexpected[:3])}{'...' if len(unexpected) > 3 else ''}")
        raise CheckpointError(f"{path}: weights do not match the architecture: {'; '.join(parts)}")
    for name, tensor in tensors.items():
        if tensor.shape != expected[name].shape:
            raise CheckpointError(
                f"{path}: weight {name} has shape {tuple(tensor.shape)}, the architecture "
                f"needs {tuple(expected[name].shape)}"
            )
        if tensor.is_floating_point() and not torch.isfinite(tensor).all():
            raise CheckpointError(f"{path}: weight {name} contains NaN or infinite values")
    model.load_state_dict(tensors)
    model.eval()
    return LoadedCheckpoint(model=model, info=info, path=path)
