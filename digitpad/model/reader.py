"""The reader: a drawing split into characters, each read by the model, into a number with "?" where a character
is no digit or too unsure.

Geometry (:mod:`digitpad.ink.characters`) groups the strokes; the model then
decides which adjacent groups are one character (:mod:`digitpad.model.segmentation`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from digitpad.ink.characters import Character, render_character, split_characters
from digitpad.ink.strokes import Stroke
from digitpad.model.segmentation import (
    MAX_RUN,
    PRIOR_PER_CHARACTER,
    best_segmentation,
    character_score,
    could_be_one,
    merge_characters,
    sure_digit,
)

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
    #: What its geometric groups read as apart (e.g. "61") when the model read them better as this one
    #: character (a 4 written as an "L" and a stem); None when it is one group.
    instead_of: str | None = None

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
    """Reads drawings with a predictor; candidate characters whose strokes did not change are not read again.

    Every run of up to MAX_RUN adjacent geometric groups is a candidate
    character (see :mod:`digitpad.model.segmentation`). While the pen moves
    only the candidates holding the group under it change, so live reading of
    a four-digit number costs at most six characters' rendering and forward
    pass (that group alone, and joined with one or two neighbours), not nine.
    """

    def __init__(self, predictor: Predictor, prior: float = PRIOR_PER_CHARACTER, skip_sure: bool = True) -> None:
        self.predictor = predictor
        #: The cost of one more character (see digitpad.model.segmentation); benches vary it.
        self.prior = prior
        #: Whether groups that all read as sure digits (SURE_PART), or too wide to be one character
        #: (MAX_JOINED_ASPECT), are left unread as one; benches vary it.
        self.skip_sure = skip_sure
        self._cache: dict[tuple, Prediction | None] = {}
        self._adaptation: tuple | None = None

    def read(self, strokes: list[Stroke]) -> Reading:
        adaptation = _adaptation_state(self.predictor)
        if adaptation != self._adaptation:
            # A sample taught or removed, another model, the toggle: every character may now read otherwise.
            self._cache, self._adaptation = {}, adaptation
        groups = split_characters(strokes)
        cache: dict[tuple, Prediction | None] = {}
        runs: dict[tuple[int, int], tuple[Character, Prediction | None]] = {}

        def read_run(start: int, end: int) -> Prediction | None:
            if (start, end) not in runs:
                character = groups[start] if end - start == 1 else merge_characters(groups[start:end])
                key = _character_key(strokes, character)
                if self.skip_sure and end - start > 1 and not could_be_one(character):
                    prediction = None  # too wide to be one character: not read
                elif key in cache:
                    prediction = cache[key]
                elif key in self._cache:
                    prediction = self._cache[key]
                else:
                    prediction = self.read_character(strokes, character)
                cache[key] = prediction
                runs[start, end] = (character, prediction)
            return runs[start, end][1]

        sure = sure_digit if self.skip_sure else None
        segments = best_segmentation(len(groups), read_run, character_score, self.prior, MAX_RUN, sure)
        self._cache = cache  # only what the drawing still holds
        readings = []
        for segment in segments:
            character, prediction = runs[segment.start, segment.end]
            instead_of = None
            if segment.end - segment.start > 1:
                apart = (runs[k, k + 1] for k in range(segment.start, segment.end))
                instead_of = "".join(CharacterReading(c, p).symbol for c, p in apart if p is not None)
            readings.append(CharacterReading(character, segment.prediction, instead_of))
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
