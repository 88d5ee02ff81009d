"""ONNX export: the file runs in ONNX Runtime and gives torch's logits, at any batch size."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

from digitpad.base.constants import NOT_A_DIGIT
from digitpad.model import export
from digitpad.model.export import INPUT_NAME, OUTPUT_NAME, ExportError, export_onnx
from digitpad.model.inference import Predictor
from digitpad.model.network import DigitNet, ModelConfig

needs_exporter = pytest.mark.skipif(
    importlib.util.find_spec("onnx") is None or importlib.util.find_spec("onnxscript") is None,
    reason="onnx/onnxscript not installed (pip install digitpad[export])",
)


def onnx_session(path: Path):
    ort = pytest.importorskip("onnxruntime")
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


@pytest.fixture(scope="module")
def shipped_onnx(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Predictor]:
    if importlib.util.find_spec("onnx") is None or importlib.util.find_spec("onnxscript") is None:
        pytest.skip("onnx/onnxscript not installed")
    predictor = Predictor.from_checkpoint()
    out = tmp_path_factory.mktemp("onnx") / "sub" / "digitpad.onnx"
    assert export_onnx(predictor.model, out) == out
    return out, predictor


@needs_exporter
def test_shipped_model_matches_torch_at_any_batch_size(shipped_onnx) -> None:
    path, predictor = shipped_onnx
    session = onnx_session(path)
    assert [i.name for i in session.get_inputs()] == [INPUT_NAME]
    assert [o.name for o in session.get_outputs()] == [OUTPUT_NAME]
    assert session.get_inputs()[0].shape[1:] == [1, 28, 28]
    assert isinstance(session.get_inputs()[0].shape[0], str)  # a named, free batch axis
    generator = torch.Generator().manual_seed(0)
    for batch in (1, 7, 64):
        x = torch.randn(batch, 1, 28, 28, generator=generator)
        (logits,) = session.run([OUTPUT_NAME], {INPUT_NAME: x.numpy()})
        with torch.inference_mode():
            expected = predictor.model(x).numpy()
        assert logits.shape == (batch, 10)
        np.testing.assert_allclose(logits, expected, atol=1e-4, rtol=0)


@needs_exporter
def test_export_folds_batch_norm_of_a_training_model_and_leaves_it_alone(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = DigitNet(ModelConfig(channels=(8, 16, 16)))
    # Non-trivial running statistics, so that folding matters.
    with torch.no_grad():
        model(torch.randn(32, 1, 28, 28) * 2 + 0.5)
    model.train()
    out = export_onnx(model, tmp_path / "model.onnx")
    assert model.training, "export must not switch the caller's model to eval"
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())

    x = torch.randn(5, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    (logits,) = onnx_session(out).run(None, {INPUT_NAME: x.numpy()})
    model.eval()
    with torch.no_grad():
        np.testing.assert_allclose(logits, model(x).numpy(), atol=1e-4, rtol=0)
    import onnx

    operators = {node.op_type for node in onnx.load(str(out)).graph.node}
    assert "BatchNormalization" not in operators
    assert not list(tmp_path.glob("*.data")), "weights must be inside the one file"


@needs_exporter
def test_an_eleven_class_model_exports_its_not_a_digit_output(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = DigitNet(ModelConfig(channels=(8, 16, 16), num_classes=NOT_A_DIGIT + 1)).eval()
    out = export_onnx(model, tmp_path / "eleven.onnx")
    session = onnx_session(out)
    assert session.get_outputs()[0].shape[1] == 11
    x = torch.randn(3, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    (logits,) = session.run([OUTPUT_NAME], {INPUT_NAME: x.numpy()})
    with torch.no_grad():
        np.testing.assert_allclose(logits, model(x).numpy(), atol=1e-4, rtol=0)


def test_missing_exporter_gives_an_install_hint(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "onnxscript" else real_find_spec(name, *a)
    )
    with pytest.raises(ExportError, match=r"onnxscript.*pip install digitpad\[export\]"):
        export_onnx(DigitNet(), tmp_path / "model.onnx")
    assert not (tmp_path / "model.onnx").exists()


def test_failed_export_keeps_the_previous_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(export, "_check_exporter_present", lambda: None)

    def broken_export(*args, **kwargs):
        raise RuntimeError("unsupported operator\nwith details on several lines")

    monkeypatch.setattr(torch.onnx, "export", broken_export)
    out = tmp_path / "model.onnx"
    out.write_bytes(b"previous")
    with pytest.raises(ExportError, match="ONNX export failed: unsupported operator with details") as caught:
        export_onnx(DigitNet(), out)
    assert "\n" not in str(caught.value)
    assert out.read_bytes() == b"previous"
    assert [p.name for p in tmp_path.iterdir()] == ["model.onnx"]
