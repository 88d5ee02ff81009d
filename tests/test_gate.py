"""The gate (digitpad.model.gate): a second network's "not a digit" judges what the model in use reads."""

from __future__ import annotations

import logging
from dataclasses import replace

import numpy as np
import pytest
import torch
from helpers import TINY_MODEL

from digitpad.base.constants import NOT_A_DIGIT
from digitpad.base.paths import shipped_gate_path
from digitpad.gui.testing import line
from digitpad.ink.preprocess import normalise
from digitpad.ink.strokes import Stroke
from digitpad.model.checkpoint import CheckpointInfo, save_checkpoint
from digitpad.model.gate import GATE_ENV, attach_gate, default_gate
from digitpad.model.inference import Predictor
from digitpad.model.network import DigitNet, ModelConfig
from digitpad.model.reader import Reader


def tiny(num_classes: int = 10, not_digit_bias: float = 0.0, seed: int = 0) -> DigitNet:
    torch.manual_seed(seed)
    model = DigitNet(replace(TINY_MODEL, num_classes=num_classes)).eval()
    if num_classes > NOT_A_DIGIT:
        with torch.no_grad():
            model.head[-1].bias[NOT_A_DIGIT] += not_digit_bias
    return model


def ink() -> np.ndarray:
    canvas = np.zeros((200, 200), np.float32)
    canvas[40:160, 95:105] = 1.0
    canvas[40:50, 60:140] = 1.0
    return canvas


def test_the_gate_says_how_likely_no_digit_and_the_digits_share_the_rest() -> None:
    reader, gate = Predictor(tiny()), Predictor(tiny(11, not_digit_bias=1.5, seed=1))
    alone = reader.predict(ink())
    attach_gate(reader, gate)
    gated = reader.predict(ink())
    gate_probabilities = gate.predict_input(gated.stages.normalised)[0]
    assert gated.not_digit == pytest.approx(float(gate_probabilities[NOT_A_DIGIT]))
    assert 0.05 < gated.not_digit < 0.95
    # P(d) = P(a digit) x P(d | a digit): the reader's own probabilities, scaled; the same digit wins.
    np.testing.assert_allclose(gated.probabilities, alone.probabilities * (1 - gated.not_digit), rtol=1e-5)
    assert gated.digit == alone.digit and gated.confidence < alone.confidence
    # In batches, the same numbers, with "not a digit" as an eleventh column.
    batch = reader.predict_batch(gated.stages.normalised[None])
    assert batch.shape == (1, 11)
    np.testing.assert_allclose(batch[0], [*gated.probabilities, gated.not_digit], rtol=1e-4, atol=1e-6)


def test_a_model_with_its_own_not_a_digit_output_keeps_it() -> None:
    own = Predictor(tiny(11))
    assert attach_gate(own, Predictor(tiny(11, seed=1))).gate is None
    gated = attach_gate(Predictor(tiny()), first := Predictor(tiny(11, seed=1)))
    assert attach_gate(gated, Predictor(tiny(11, seed=2))).gate is first  # a gate once given stays


def test_the_gate_can_be_switched_off_or_replaced_and_a_bad_one_is_not_fatal(tmp_path, monkeypatch, caplog) -> None:
    monkeypatch.setenv(GATE_ENV, "off")
    assert default_gate() is None and attach_gate(Predictor(tiny())).gate is None

    other = save_checkpoint(tmp_path / "other-gate.safetensors", tiny(11, seed=3), CheckpointInfo(tiny(11).config))
    monkeypatch.setenv(GATE_ENV, str(other))
    assert attach_gate(Predictor(tiny())).gate.source == other

    ten_classes = save_checkpoint(tmp_path / "ten.safetensors", tiny(), CheckpointInfo(TINY_MODEL))
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(b"not a checkpoint")
    for path, reason in ((ten_classes, "no 'not a digit' output"), (broken, str(broken))):
        monkeypatch.setenv(GATE_ENV, str(path))
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="digitpad.model.gate"):
            predictor = attach_gate(Predictor(tiny()))
        assert predictor.gate is None and predictor.predict(ink()) is not None
        assert "without the 'not a digit' gate" in caplog.text and reason in caplog.text


def strokes(glyph: list[list[tuple[float, float]]], size: float = 240.0) -> list[Stroke]:
    drawn = []
    for path in glyph:
        stroke = Stroke()
        for x, y in path:
            stroke.add(80 + x * size, 80 + y * size, 28.0)
        drawn.append(stroke)
    return drawn


def polyline(*corners: tuple[float, float]) -> list[tuple[float, float]]:
    points = [corners[0]]
    for start, end in zip(corners, corners[1:], strict=False):
        points += line(start, end)[1:]
    return points


ZIGZAG = [polyline((0.0, 0.3), (0.2, 0.7), (0.4, 0.2), (0.6, 0.8), (0.8, 0.25), (1.0, 0.7))]
LETTER_H = [line((0.2, 0.0), (0.2, 1.0)), line((0.8, 0.0), (0.8, 1.0)), line((0.2, 0.5), (0.8, 0.5))]
SEVEN = [polyline((0.15, 0.05), (0.85, 0.05), (0.35, 0.95))]


def test_the_shipped_gate_declines_a_scribble_and_a_letter_but_not_a_digit() -> None:
    assert shipped_gate_path().is_file()
    reader = Reader(attach_gate(Predictor.from_checkpoint(), default_gate()))
    for glyph in (ZIGZAG, LETTER_H):
        (character,) = reader.read(strokes(glyph)).characters
        assert character.symbol == "?" and character.hesitation().startswith("not a digit")
    assert reader.read(strokes(SEVEN)).text == "7"


def test_mnist_digits_pass_the_shipped_gate(mnist) -> None:
    reader = attach_gate(Predictor.from_checkpoint(), default_gate())
    images = normalise(mnist.test_images[:2000].astype(np.float32) / 255)
    probabilities = reader.predict_batch(images)
    declined = probabilities.argmax(1) == NOT_A_DIGIT
    assert declined.mean() < 0.002
    assert (probabilities[:, :NOT_A_DIGIT].argmax(1) == mnist.test_labels[:2000]).mean() > 0.99


def test_the_shipped_gate_records_its_real_pen_data_by_name_count_and_hash_never_by_path() -> None:
    from digitpad.model.checkpoint import load_checkpoint

    info = load_checkpoint(shipped_gate_path()).info
    files = info.data["pen_data"] + info.data["letters"]
    assert {(f["name"], f["samples"]) for f in files} == {
        ("unipen-1a-train.json.gz", 3068),
        ("unipen-1bc-train.json.gz", 39202),
    }
    assert all(len(f["sha256"]) == 64 and set(f) == {"name", "samples", "sha256"} for f in files)
    assert "/" not in repr(info.data) and "\\" not in repr(info.data)  # names only: no path of the machine
    assert info.metrics["not_a_digit_shift"]["shift"] < 0  # moved towards digits, on held-out writers


def test_the_window_and_the_cli_load_weights_with_the_gate_the_same_way(tmp_path, monkeypatch) -> None:
    from digitpad.cli.common import load_predictor
    from digitpad.gui.state.model_loading import load_startup_predictor
    from digitpad.model import gate as gate_module

    weights = save_checkpoint(tmp_path / "mine.safetensors", tiny(), CheckpointInfo(TINY_MODEL))
    the_gate = Predictor(tiny(11, seed=4))
    monkeypatch.setattr(gate_module, "default_gate", lambda: the_gate)
    loaded = gate_module.load_gated_predictor(weights)
    assert loaded.source == weights and loaded.gate is the_gate
    calls: list[object] = []
    real = gate_module.load_gated_predictor
    monkeypatch.setattr(gate_module, "load_gated_predictor", lambda path=None: calls.append(path) or real(path))
    assert load_predictor(str(weights), gate=True).gate is the_gate
    assert load_startup_predictor(weights, None).predictor.gate is the_gate
    assert calls == [str(weights), weights]
    assert load_predictor(str(weights)).gate is None  # without the gate where asked (export, calibrate)


def test_a_gate_whose_outputs_are_not_numbers_on_ink_gives_a_question_mark() -> None:
    # Issue 24, item 7: such a gate passed the load-time probe, and a drawn 1 then read "0" at "nan% sure".
    gate_model = DigitNet(ModelConfig(channels=(4, 8, 8), num_classes=NOT_A_DIGIT + 1)).eval()
    with torch.no_grad():
        gate_model.head[-1].bias.fill_(float("nan"))
    predictor = Predictor.from_checkpoint()
    predictor.gate = Predictor(gate_model)
    canvas = np.zeros((200, 200), np.float32)
    canvas[30:170, 95:105] = 1.0  # a 1
    prediction = predictor.predict(canvas)
    assert prediction is not None and np.isfinite(prediction.probabilities).all()
    assert prediction.confidence == 0.0 and prediction.not_digit == 1.0  # the reader shows "?"
    batch = predictor.predict_batch(prediction.stages.normalised[None])
    assert np.isfinite(batch).all() and batch[0].argmax() == NOT_A_DIGIT
