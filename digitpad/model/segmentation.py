"""Where characters split: geometry proposes, recognition decides.

:func:`digitpad.ink.characters.split_characters` groups strokes by their
horizontal extents. Geometry alone cannot tell a 4 written as an "L" and a
stem to its right from a 6 beside a 1, nor a 5 whose bar sits apart from a
5 beside a 2; the model can. So the geometric groups (left to right) are
only the units: every run of 1 to :data:`MAX_RUN` adjacent groups is a
candidate character, each is read by the model and the gate, and dynamic
programming picks the split of the drawing whose characters the model is
surest of:

    best(j) = max over i of best(i) x score(groups i..j-1) x PRIOR_PER_CHARACTER

where a character's score is its best digit's probability or, for a single
group, the larger of that and its "not a digit" probability (so a letter
among digits is still one character of its own, a "?", but joining groups
takes a digit seen in them: see :func:`character_score`), and
:data:`PRIOR_PER_CHARACTER` is the cost of one more character, fitted on the
UNIPEN training writers by ``bench/segment_fit.py`` (never on the dev writers).

Two rules leave runs unread, so that live reading of a number stays cheap
and confident digits side by side are never joined: groups that each read
as a sure digit (:data:`SURE_PART`), and groups too wide together to be one
character (:data:`MAX_JOINED_ASPECT`). Both were in force when the prior
was fitted.

Qt-free and torch-free: the reader passes the predictions in.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar

from digitpad.ink.characters import Character

if TYPE_CHECKING:
    from digitpad.model.inference import Prediction

#: The most geometric groups one character may join: a 4 or a 5 in up to three pieces.
#: Longer runs cost reads on every pen event and no digit in the training writers needs them.
MAX_RUN = 3
#: What one more character costs in the search (see the module docstring):
#: below 1 it favours fewer characters, above 1 more. Fitted by
#: bench/segment_fit.py on the UNIPEN training writers' single digits (which
#: must read as one) and numbers of 2-4 of them with slots overlapping 0-20%
#: (which must split), with SURE_PART and MAX_JOINED_ASPECT in force: 0.8 reads
#: both best (singles split 0.49% -> 0.00%, right 98.34% -> 98.79%; numbers right
#: 95.48% -> 96.32%; 0.7-1.0 within 0.1 point), and 0.7-0.8 was chosen on each
#: four folds of writers for the fifth (held out: split 0.00%, numbers 96.20%).
PRIOR_PER_CHARACTER = 0.8
#: Groups that each read as a digit at least this sure are not read joined: the
#: training writers' digits that geometry split had an unsure piece ("?1" for a
#: 4's "L" and stem, "5?" for a 5 and its bar), while digits side by side are each
#: sure; and a clean digit beside others costs one read per pen event, not three.
SURE_PART = 0.99
#: Groups are not read as one character when together they are wider than this
#: times their height (boxes with the pen): the digits joined on the training
#: writers (a 5 with a long bar apart) reach 1.41; two digits side by side are
#: about twice as wide as high. Also keeps live reading of a number cheap.
MAX_JOINED_ASPECT = 1.6
#: A score is never taken as below this, so that its logarithm stays finite.
MIN_SCORE = 1e-9

P = TypeVar("P")


def merge_characters(characters: Sequence[Character]) -> Character:
    """One character made of ``characters``: their strokes and erasers (in writing order) and the box around them."""
    strokes = tuple(sorted({i for c in characters for i in c.strokes}))
    erasers = tuple(sorted({i for c in characters for i in c.erasers}))
    lefts, tops, rights, bottoms = zip(*(c.bounds for c in characters), strict=True)
    return Character(strokes, erasers, (min(lefts), min(tops), max(rights), max(bottoms)))


def could_be_one(character: Character) -> bool:
    """Whether groups joined into ``character`` are narrow enough to be one character (MAX_JOINED_ASPECT)."""
    left, top, right, bottom = character.bounds
    return right - left <= MAX_JOINED_ASPECT * max(bottom - top, 1e-6)


def candidate_runs(count: int, max_run: int = MAX_RUN) -> list[tuple[int, int]]:
    """Every run (start, end) of 1 to ``max_run`` adjacent groups among ``count``, end exclusive."""
    return [(i, j) for j in range(1, count + 1) for i in range(max(0, j - max_run), j)]


def character_score(prediction: Prediction, groups: int = 1) -> float:
    """How sure the model is of what this character is: its best digit, or, for one geometric group, that it
    is no digit.

    Joining groups must be earned by a digit the model sees in them: that a
    union of groups is no digit says they are not one digit, not that they
    are one character (the gate calls two digits side by side "not a
    digit" as surely as a letter). A letter stays one "?" where geometry
    made it one group.
    """
    if groups > 1:
        return float(prediction.confidence)
    return max(float(prediction.confidence), float(prediction.not_digit))


@dataclass(frozen=True)
class Segment(Generic[P]):
    """A chosen character: groups ``start`` to ``end`` (exclusive) and what was read in them."""

    start: int
    end: int
    prediction: P


def best_segmentation(
    count: int,
    read: Callable[[int, int], P | None],
    score: Callable[[P, int], float],
    prior: float = PRIOR_PER_CHARACTER,
    max_run: int = MAX_RUN,
    sure: Callable[[P], bool] | None = None,
) -> list[Segment[P]]:
    """The characters of the likeliest split of ``count`` groups, left to right.

    ``score(prediction, groups)`` is how sure a character of ``groups`` groups is.
    ``read(i, j)`` is the prediction of groups i..j-1 read as one character
    (None where nothing is left to read: it was erased away); a single group
    with nothing to read is no character and costs nothing. Where ``sure(prediction)``
    holds for every group of a run, the run is not read as one character.
    """
    log_prior = math.log(prior)
    best = [0.0] + [-math.inf] * count
    back: list[tuple[int, P | None]] = [(0, None)] * (count + 1)
    alone: list[P | None] = []
    for j in range(1, count + 1):
        for i in range(j - 1, max(0, j - max_run) - 1, -1):  # the group alone first: runs look at it
            if best[i] == -math.inf or (j - i > 1 and sure is not None and _all_sure(alone[i:j], sure)):
                continue
            prediction = read(i, j)
            if j - i == 1:
                alone.append(prediction)
            if prediction is None:
                if j - i == 1 and best[i] > best[j]:
                    best[j], back[j] = best[i], (i, None)
                continue
            total = best[i] + math.log(max(score(prediction, j - i), MIN_SCORE)) + log_prior
            if total > best[j]:
                best[j], back[j] = total, (i, prediction)
    segments: list[Segment[P]] = []
    j = count
    while j > 0:
        i, prediction = back[j]
        if prediction is not None:
            segments.append(Segment(i, j, prediction))
        j = i
    return segments[::-1]


def _all_sure(predictions: Sequence[P | None], sure: Callable[[P], bool]) -> bool:
    return all(prediction is not None and sure(prediction) for prediction in predictions)


def sure_digit(prediction: Prediction) -> bool:
    """Whether ``prediction`` is a digit read at least SURE_PART sure."""
    return float(prediction.confidence) >= SURE_PART
