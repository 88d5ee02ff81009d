"""Export the model to ONNX, for ONNX Runtime and other inference engines.

The exported graph takes ``image``: (N, 1, 28, 28) float32 images already
normalised as in :func:`digitpad.ink.preprocess.normalise` (N free), and returns
``logits``: (N, C), one per class of the model (``model.config.num_classes``):
the ten digits, then for an 11-class model "not a digit" (index
:data:`digitpad.base.constants.NOT_A_DIGIT`). BatchNorm is folded into the convs
first, as for inference in digitpad itself. Needs the optional ``export`` extra
(``pip install digitpad[export]``: onnx and onnxscript, which torch's
exporter uses).
"""

from __future__ import annotations

import contextlib
import copy
import importlib.util
import logging
import os
import warnings
from pathlib import Path

import torch
from torch import nn

from digitpad.base.constants import MNIST_SIZE
from digitpad.model.checkpoint import atomic_write_bytes
from digitpad.model.network import DigitNet, fold_batch_norm

INPUT_NAME = "image"
OUTPUT_NAME = "logits"
#: The ONNX operator set the graph is written for; ONNX Runtime has run it since 1.17.
OPSET_VERSION = 18


class ExportError(Exception):
    """The model could not be exported; the message says why in one line."""


def _check_exporter_present() -> None:
    missing = [name for name in ("onnx", "onnxscript") if importlib.util.find_spec(name) is None]
    if missing:
        raise ExportError(
            f"ONNX export needs {' and '.join(missing)}, which is not installed: pip install digitpad[export]"
        )


@contextlib.contextmanager
def _quiet_exporter():
    """Silence the exporter's warnings and log lines, which do not concern this model
    (torchvision ops it cannot find, deprecations inside torch) but would clutter the CLI."""
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def export_onnx(model: DigitNet, out: str | os.PathLike) -> Path:
    """Write ``model`` as a self-contained ONNX file at ``out`` (atomically) and return the path."""
    _check_exporter_present()
    out = Path(out)
    # A CPU copy in eval mode with BatchNorm folded (once: an already folded model is copied as it is).
    exportable = copy.deepcopy(model).cpu().eval()
    if any(isinstance(module, nn.BatchNorm2d) for module in exportable.modules()):
        exportable = fold_batch_norm(exportable)
    example = torch.zeros(2, 1, MNIST_SIZE, MNIST_SIZE)
    try:
        with _quiet_exporter():
            program = torch.onnx.export(
                exportable,
                (example,),
                None,
                input_names=[INPUT_NAME],
                output_names=[OUTPUT_NAME],
                dynamic_shapes=({0: torch.export.Dim("batch")},),
                opset_version=OPSET_VERSION,
                dynamo=True,
                verbose=False,
            )
        # Serialised here rather than by program.save(): that would put the
        # weights in a separate .data file; this keeps one file, written atomically.
        payload = program.model_proto.SerializeToString()
    except Exception as error:  # the exporter raises many kinds; report one line
        message = " ".join(str(error).split()) or type(error).__name__
        raise ExportError(f"ONNX export failed: {message[:300]}") from error
    try:
        atomic_write_bytes(out, payload)
    except OSError as error:
        raise ExportError(f"{out}: cannot write: {error.strerror or error}") from error
    return out
