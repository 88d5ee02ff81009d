"""Reading drawings without Qt: splitting into characters, rendering at the model's pen, "?"."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

from digitpad.ink.characters import STROKE_SHARE, render_character, split_characters
from digitpad.ink.preprocess import preprocess
from digitpad.ink.strokes import MOUSE_PRESSURE, Stroke, render
from digitpad.model.reader import UNKNOWN, UNSURE_BELOW, CharacterReading, Reader, Reading

PEN = 28.0  # the pad's pen on a 400 px pad


def stroke(points, width: float = PEN, pressure: float = MOUSE_PRESSURE, erase: bool = False) -> Stroke:
    result = Stroke(erase=erase)
    for x, y in points:
        result.add(x, y, width, pressure)
    return result


def segment(start, end, steps: int = 20):
    return [(start[0] + (end[0] - start[0]) * t, start[1] + (end[1] - start[1]) * t) for t in np.linspace(0, 1, steps)]


def ring(cx: float, cy: float, rx: float, ry: float):
    return [(cx + rx * math.sin(t), cy - ry * math.cos(t)) for t in np.linspace(0, 2 * math.pi, 60)]


def test_digits_side_by_side_are_characters_left_to_right_in_any_writing_order():
    strokes = [
        stroke(ring(300, 200, 40, 80)),  # a 0 on the right, written first
        stroke(segment((100, 120), (100, 280))),  # a 1 on the left
    ]
    characters = split_characters(strokes)
    assert [c.strokes for c in characters] == [(1,), (0,)]
    assert characters[0].bounds[2] < characters[1].bounds[0]


@pytest.mark.parametrize(
    "name, strokes",
    [
        (
            "a 4 in two strokes",
            [segment((120, 100), (80, 220)) + segment((80, 220), (200, 220)), segment((170, 130), (170, 300))],
        ),
        (
            "a 5 with its bar last",
            [segment((100, 100), (95, 180)) + ring(130, 230, 45, 50)[20:], segment((100, 100), (190, 100))],
        ),
        (
            "a crossed 7",
            [segment((80, 100), (200, 100)) + segment((200, 100), (120, 300)), segment((110, 200), (190, 200))],
        ),
        ("a barred 0", [ring(150, 200, 50, 90), segment((150, 80), (150, 320))]),
        # Parts written apart that barely overlap the body's extent (as some dev writers' 1s):
        # small, and about a tenth of the height from it, they still belong to it.
        ("a 1 with its foot apart, to the left", [segment((240, 100), (240, 300)), segment((190, 300), (220, 310))]),
        ("a 1 with its flag apart, to the left", [segment((170, 130), (215, 105)), segment((240, 100), (240, 300))]),
    ],
)
def test_a_digit_written_in_two_strokes_stays_one_character(name, strokes):
    assert len(split_characters([stroke(points) for points in strokes])) == 1, name


@pytest.mark.parametrize(
    "name, strokes",
    [
        # Tall digits a tenth of the height apart stay digits of a number.
        ("11 written close", [segment((100, 100), (100, 300)), segment((125, 100), (125, 300))]),
        ("a 1 and a short stroke far from it", [segment((100, 100), (100, 300)), segment((190, 280), (230, 280))]),
    ],
)
def test_tall_neighbours_and_far_small_strokes_stay_apart(name, strokes):
    assert len(split_characters([stroke(points) for points in strokes])) == 2, name


def test_erasers_belong_to_the_characters_they_touch_and_are_no_character():
    strokes = [
        stroke(segment((100, 120), (100, 280))),
        stroke(ring(300, 200, 40, 80)),
        stroke(segment((280, 200), (320, 200)), width=PEN * 3, erase=True),
    ]
    characters = split_characters(strokes)
    assert len(characters) == 2
    assert characters[0].erasers == () and characters[1].erasers == (2,)
    assert split_characters([strokes[2]]) == []


def ink_width(image: np.ndarray) -> float:
    """Stroke width of a 28x28 input: ink area over half its boundary length (pixels above 0.5)."""
    mask = image > 0.5
    boundary = np.count_nonzero(mask[:, 1:] != mask[:, :-1]) + np.count_nonzero(mask[1:] != mask[:-1])
    return 2 * mask.sum() / max(boundary, 1)


def test_the_model_sees_the_stroke_of_a_digit_drawn_at_the_typical_size_whatever_the_size_and_the_pen():
    # The reference: a 0 drawn 60% of a 400 px pad tall with the pad's default pen, rasterised whole
    # as the pad shows it. That is the size at which the default pen gives MNIST's stroke.
    zero = ring(200, 200, 66, 120)
    reference = ink_width(preprocess(render([stroke(zero)], 400, 400)).centred)
    for height in (40, 120, 360):
        points = [(x * height / 240, y * height / 240) for x, y in zero]
        for pen in (4.0, PEN, 60.0):
            strokes = [stroke(points, width=pen)]
            stages = preprocess(render_character(strokes, split_characters(strokes)[0]))
            assert abs(ink_width(stages.centred) - reference) < 0.35, (height, pen)


def test_pressure_still_varies_the_width_around_the_model_pen():
    points = segment((0, 0), (0, 200))
    light = stroke(points, pressure=0.0)
    firm = stroke(points, pressure=1.0)
    light_ink = render_character([light], split_characters([light])[0]).sum()
    firm_ink = render_character([firm], split_characters([firm])[0]).sum()
    assert firm_ink > 2.5 * light_ink


def test_an_eraser_rubs_out_at_the_same_scale_as_the_ink():
    ink = stroke(segment((100, 0), (100, 200)))
    eraser = stroke(segment((60, 100), (140, 100)), width=PEN * 3, erase=True)
    whole = render_character([ink], split_characters([ink])[0]).sum()
    for scale in (0.2, 1.0, 3.0):
        scaled = [
            stroke([(x * scale, y * scale) for x, y in s.points], s.widths[0] * scale, erase=s.erase)
            for s in (ink, eraser)
        ]
        rubbed = render_character(scaled, split_characters(scaled)[0]).sum()
        # The eraser is three pens wide at any scale: it removes the same share of the stroke.
        assert 0.5 * whole < rubbed < 0.95 * whole, scale


class FakePredictor:
    """Answers every character with the given probabilities; counts calls."""

    def __init__(self, probabilities) -> None:
        self.probabilities = np.asarray(probabilities, dtype=np.float32)
        self.calls = 0

    def predict(self, canvas, bbox=None, with_activations=False):
        self.calls += 1
        digit = int(self.probabilities.argmax())
        return SimpleNamespace(
            digit=digit, confidence=float(self.probabilities[digit]), probabilities=self.probabilities, not_digit=0.0
        )


def test_a_character_the_model_cannot_name_is_a_question_mark_with_what_it_hesitates_between():
    unsure = np.zeros(10)
    unsure[[7, 1]] = 0.45, 0.40
    unsure[3] = 0.15
    reading = Reader(FakePredictor(unsure)).read([stroke(segment((0, 0), (0, 100)))])
    assert reading.text == UNKNOWN
    assert reading.characters[0].hesitation() == "7 or 1?"
    sure = np.full(10, 0.01)
    sure[7] = 1 - 0.09
    assert Reader(FakePredictor(sure)).read([stroke(segment((0, 0), (0, 100)))]).text == "7"
    assert UNSURE_BELOW == 0.5


def test_only_changed_characters_are_read_again():
    predictor = FakePredictor(np.eye(10)[4])
    reader = Reader(predictor)
    strokes = [stroke(segment((100, 100), (100, 300))), stroke(ring(300, 200, 40, 80))]
    assert reader.read(strokes).text == "44"
    assert predictor.calls == 2
    strokes[1].add(300, 290, PEN)  # the pen moves on in the second digit
    reader.read(strokes)
    assert predictor.calls == 3
    reader.read(strokes)
    assert predictor.calls == 3


def test_reading_text_and_hit_testing():
    character = split_characters([stroke(segment((100, 100), (100, 300)))])[0]
    prediction = SimpleNamespace(digit=1, confidence=0.99, probabilities=np.eye(10)[1], not_digit=0.0)
    reading = Reading((CharacterReading(character, prediction),))
    assert reading.text == "1"
    assert Reading(()).text == ""
    assert STROKE_SHARE == pytest.approx(0.07 / 0.6)


def test_a_character_the_model_calls_no_digit_is_a_question_mark_saying_so():
    class NoDigit(FakePredictor):
        def predict(self, canvas, bbox=None, with_activations=False):
            prediction = super().predict(canvas, bbox, with_activations)
            prediction.not_digit = 0.8
            return prediction

    digits = np.full(10, 0.01)
    digits[4] = 0.11  # 0.2 left for the ten digits; "not a digit" has the rest
    reading = Reader(NoDigit(digits)).read([stroke(segment((0, 0), (0, 100)))])
    assert reading.text == UNKNOWN
    assert reading.characters[0].hesitation().startswith("not a digit")
