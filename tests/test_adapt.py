"""Instant adaptation to the user's samples (digitpad.model.adapt): readings change at once, and only where taught."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from digitpad.base.paths import shipped_weights_path
from digitpad.ink.samples import model_input
from digitpad.ink.strokes import MOUSE_PRESSURE, Stroke
from digitpad.model import adapt
from digitpad.model.adapt import Adapter, AdaptRule, penultimate_features, sample_inputs
from digitpad.model.checkpoint import load_checkpoint
from digitpad.model.gate import load_gated_predictor
from digitpad.model.inference import Predictor
from digitpad.model.reader import Reader

PEN = 28.0  # the pad's pen on a 400 px pad


def stroke(points) -> Stroke:
    result = Stroke()
    for x, y in points:
        result.add(x, y, PEN, MOUSE_PRESSURE)
    return result


def segment(start, end, steps: int = 20) -> list[tuple[float, float]]:
    return [(start[0] + (end[0] - start[0]) * t, start[1] + (end[1] - start[1]) * t) for t in np.linspace(0, 1, steps)]


def arc(cx: float, cy: float, rx: float, ry: float, start: float, end: float) -> list[tuple[float, float]]:
    angles = np.radians(np.linspace(start, end, 30))
    return [(cx + rx * math.cos(a), cy + ry * math.sin(a)) for a in angles]


def line(top=(190, 80), bottom=(210, 320)) -> list[Stroke]:
    """A straight stroke: a 1 to anyone (and to the network)."""
    return [stroke(segment(top, bottom))]


def three() -> list[Stroke]:
    return [stroke(arc(200, 150, 60, 50, -160, 90) + arc(200, 250, 70, 50, -90, 160))]


def flagged(flag: float, rise: float, foot: float = 180) -> list[Stroke]:
    """A 1 with a flag at its top: with a long flag (100 px of a 220 px stroke) the network hesitates
    between 1 and 7, with a longer one it reads 7."""
    return [stroke(segment((200 - flag, 100 + rise), (200, 100)) + segment((200, 100), (foot, 320)))]


def taught(*samples: tuple[list[Stroke], int], rule: AdaptRule | None = None) -> Adapter:
    adapter = Adapter(rule)
    images = np.stack([model_input(strokes) for strokes, _ in samples])
    adapter.set_samples(images, np.array([label for _, label in samples]))
    return adapter


@pytest.fixture(scope="module")
def predictor() -> Predictor:
    return load_gated_predictor()


def read(predictor: Predictor, strokes: list[Stroke]):
    reading = Reader(predictor).read(strokes)
    assert len(reading.characters) == 1
    return reading.text, reading.characters[0].prediction


def test_without_samples_every_reading_is_the_network_bit_for_bit(predictor, mnist) -> None:
    images = mnist.test_images[:40].astype(np.float32) / 255
    plain = [predictor.predict(image, with_activations=True) for image in images]
    disabled = taught((line(), 7))
    disabled.enabled = False
    try:
        for adapter in (Adapter(), disabled):
            predictor.adapter = adapter
            for image, expected in zip(images, plain, strict=True):
                for maps in (True, False):
                    got = predictor.predict(image, with_activations=maps)
                    assert np.array_equal(got.probabilities, expected.probabilities)
                    assert got.not_digit == expected.not_digit and got.digit == expected.digit
                    assert got.network_probabilities is got.probabilities and got.adapted_to == 0
                    assert (got.activations is None) == (not maps)
    finally:
        predictor.adapter = None
    assert sum(p.digit == label for p, label in zip(plain, mnist.test_labels[:40], strict=True)) >= 39


def test_one_taught_sample_does_not_take_over(predictor) -> None:
    assert read(predictor, three())[0] == "3" and read(predictor, line())[0] == "1"
    _, before = read(predictor, three())
    predictor.adapter = taught((line(), 7))  # a straight stroke taught as a 7: nothing else taught
    try:
        text, after = read(predictor, three())
        assert text == "3"
        np.testing.assert_allclose(after.probabilities, before.probabilities, atol=1e-6)
        assert after.adapted_to == 1
        # What it was taught, it reads so: the stroke, and another like it, are 7s now.
        assert read(predictor, line())[0] == "7"
        assert read(predictor, line((180, 90), (215, 310)))[0] == "7"
    finally:
        predictor.adapter = None


@pytest.mark.parametrize("label", [1, 7])
def test_a_taught_digit_wins_an_ambiguous_shape(predictor, label: int) -> None:
    shape = flagged(100, 15)
    text, network = read(predictor, shape)
    assert min(network.probabilities[1], network.probabilities[7]) > 0.3  # the network hesitates
    # The writer's own flagged strokes, none of them the shape read, taught as ``label``.
    predictor.adapter = taught(*((flagged(flag, rise, foot), label) for flag, rise, foot in
                                 [(95, 5, 185), (105, 25, 175), (110, 10, 180)]))  # fmt: skip
    try:
        text, adapted = read(predictor, shape)
        assert text == str(label) and adapted.probabilities[label] > network.probabilities[label] + 0.2
        np.testing.assert_array_equal(adapted.network_probabilities, network.probabilities)
    finally:
        predictor.adapter = None


def test_leave_one_out_keeps_a_sample_from_voting_for_itself(predictor) -> None:
    adapter = taught((line(), 7), (three(), 3), (flagged(120, 0), 7))
    adapter.prepare(predictor)
    features, labels, network = adapter.samples()
    assert labels.tolist() == [7, 3, 7] and network[0].argmax() == 1  # the network reads the stroke as a 1
    assert adapter.adapt(network[0], features[0]).argmax() == 7  # with itself among the samples: a 7
    _, alone = adapter.read_samples()
    assert alone[0].argmax() == 1  # without: nothing like it was taught, the network's 1 stands
    left = adapter.leave_out(0)
    assert left.count == 2 and left.samples()[1].tolist() == [3, 7]
    np.testing.assert_allclose(left.adapt(network[0], features[0]), alone[0], atol=1e-7)


def test_samples_are_read_once_per_model_and_again_for_another(predictor, monkeypatch) -> None:
    counted: list[int] = []
    real = adapt.penultimate_features
    monkeypatch.setattr(adapt, "penultimate_features", lambda model, x: counted.append(len(x)) or real(model, x))
    samples = [(line(), 7), (three(), 3)]
    adapter = taught(*samples)
    adapter.prepare(predictor)
    adapter.prepare(predictor)
    assert counted == [2]
    images = np.stack([model_input(s) for s, _ in [*samples, (flagged(120, 0), 7)]])
    adapter.set_samples(images, np.array([7, 3, 7]))  # one more taught: only it is read
    adapter.prepare(predictor)
    assert counted == [2, 1]
    loaded = load_checkpoint(shipped_weights_path())
    with torch.no_grad():  # another model of the same shapes: the last conv's weights moved
        weight = loaded.model.blocks[-1][0][0].weight
        weight.add_(0.5 * weight.std() * torch.randn(weight.shape, generator=torch.Generator().manual_seed(0)))
    other = Predictor(loaded.model, loaded.info)
    adapter.prepare(other)
    assert counted == [2, 1, 3]
    features = adapter.samples()[0]
    np.testing.assert_allclose(features, real(other.model, sample_inputs(images)), atol=1e-6)
    assert not np.allclose(features, real(predictor.model, sample_inputs(images)), atol=1e-3)


def test_the_reader_reads_again_when_the_samples_change(predictor) -> None:
    strokes = line()
    reader = Reader(predictor)
    adapter = Adapter()
    predictor.adapter = adapter
    try:
        assert reader.read(strokes).text == "1"
        adapter.set_samples(model_input(line((185, 85), (212, 318)))[None], np.array([7]))
        assert reader.read(strokes).text == "7"  # the same strokes, no longer read from the cache
        adapter.enabled = False
        assert reader.read(strokes).text == "1"
    finally:
        predictor.adapter = None


def test_a_model_without_a_gate_adapts_its_ten_digits() -> None:
    plain = Predictor.from_checkpoint()
    assert plain.gate is None
    plain.adapter = taught((line(), 7))
    text, prediction = read(plain, line((180, 90), (215, 310)))
    assert text == "7" and prediction.not_digit == 0.0
    assert prediction.probabilities.shape == (10,) and abs(float(prediction.probabilities.sum()) - 1) < 1e-5


def test_feature_of_the_live_path_is_the_batch_feature(predictor) -> None:
    image = model_input(three())
    prediction = predictor.predict(image.astype(np.float32) / 255, with_activations=True)
    live = adapt.feature_from_map(prediction.activations[-1])
    batch = penultimate_features(predictor.model, prediction.stages.normalised[None])[0]
    np.testing.assert_allclose(live, batch, atol=1e-4)
    assert abs(float(np.linalg.norm(live)) - 1) < 1e-5
