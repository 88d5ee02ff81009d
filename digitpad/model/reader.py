"""The reader: a drawing split into characters (:mod:`digitpad.ink.characters`), each read by the model, into a
number with "?" where a character is no digit or too unsure."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from digitpad.ink.characters import Character, render_character, split_characters
from digitpad.ink.strokes import Stroke

if TYPE_CHECKING:  # the reader takes a Predictor; the rest needs no torch
    from digitpad.model.inference import Prediction, Predictor


#: Below this (calibrated) probability the model's best guess is more likely
#: wrong than right: the character is shown as "?".
UNSURE_BELOW = 0.5
#: Shown in place of a character the model cannot name.
UNKNOWN = "?"


@dataclass(frozen=True)
class CharacterReading:
    """One character and what the model reads in it."""

    character: Character
    prediction: Prediction

    @property
    def unsure(self) -> bool:
        return self.prediction.confidence < UNSURE_BELOW

    @property
    def symbol(self) -> str:
        """The digit, or "?" where the model cannot name it confidently."""
        return UNKNOWN if self.unsure else str(self.prediction.digit)

    def hesitation(self) -> str:
        """What the model hesitates between, e.g. "7 or 1?", or "not a digit?" when that is likelier."""
        first, second = np.argsort(self.prediction.probabilities)[::-1][:2]
        if self.prediction.not_digit > self.prediction.confidence:
            return f"not a digit (or {first}?)"
        return f"{first} or {second}?"


@dataclass(frozen=True)
class Reading:
    """A drawing read character by character, left to right."""

    characters: tuple[CharacterReading, ...]

    @property
    def text(self) -> str:
        """Every character's symbol left to right, e.g. "2026" or "20?6"; empty for an empty drawing."""
        return "".join(character.symbol for character in self.characters)


class Reader:
    """Reads drawings with a predictor; characters whose strokes did not change are not read again.

    While the pen moves only the character under it changes, so live reading
    of a four-digit number costs about one character's rendering and forward
    pass, not four.
    """

    def __init__(self, predictor: Predictor) -> None:
        self.predictor = predictor
        self._cache: dict[tuple, Prediction] = {}
        self._adaptation: tuple | None = None

    def read(self, strokes: list[Stroke]) -> Reading:
        adaptation = _adaptation_state(self.predictor)
        if adaptation != self._adaptation:
            # A sample taught or removed, another model, the toggle: every character may now read otherwise.
            self._cache, self._adaptation = {}, adaptation
        characters = split_characters(strokes)
        readings = []
        cache: dict[tuple, Prediction] = {}
        for character in characters:
            key = _character_key(strokes, character)
            prediction = self._cache.get(key) or cache.get(key)
            if prediction is None:
                prediction = self.read_character(strokes, character)
            if prediction is not None:
                cache[key] = prediction
                readings.append(CharacterReading(character, prediction))
        self._cache = cache  # only what the drawing still holds
        return Reading(tuple(readings))

    def read_character(self, strokes: list[Stroke], character: Character) -> Prediction | None:
        """Render and predict one character (with its feature maps); None if erased away."""
        return self.predictor.predict(render_character(strokes, character), with_activations=True)


def _adaptation_state(predictor: object) -> tuple | None:
    """What the predictor's adaptation to the user's samples reads with (None: none)."""
    adapter = getattr(predictor, "adapter", None)
    return adapter.state() if adapter is not None else None


def _character_key(strokes: list[Stroke], character: Character) -> tuple:
    """What identifies a character's content: its strokes (the objects), how far each has grown, and its ends."""
    return tuple(
        (id(strokes[i]), len(strokes[i].points), strokes[i].points[0], strokes[i].points[-1])
        for i in character.strokes + character.erasers
    )
