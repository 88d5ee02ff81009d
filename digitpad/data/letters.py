"""Letters as people write them, as pen paths: the synthetic letters of :mod:`digitpad.data.nondigits`.

Each maker takes the letter's width (its height is 1, y from 0 at the top to
1 at the bottom) and a generator, for the choices between ways of writing
it, and returns one pen path per stroke.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from digitpad.data.pen_paths import PenPath, Shape, arc, joined, polyline, straight


def _letter_a_upper(w: float, rng: np.random.Generator) -> Shape:
    bar = rng.uniform(0.55, 0.72)
    left, right = w / 2 * (1 - bar), w - w / 2 * (1 - bar)
    return [polyline((0, 1), (w / 2, 0), (w, 1)), straight(left, bar, right, bar)]


def _letter_c(w: float, rng: np.random.Generator) -> Shape:
    # An opening of at least 70 degrees on the right: a closed one would be a 0.
    return [arc(w / 2, 0.5, w / 2, 0.5, rng.uniform(35, 65), rng.uniform(295, 325))]


def _letter_e_upper(w: float, rng: np.random.Generator) -> Shape:
    middle = rng.uniform(0.42, 0.55)
    if rng.random() < 0.5:
        return [polyline((w, 0), (0, 0), (0, 1), (w, 1)), straight(0, middle, w * rng.uniform(0.6, 0.9), middle)]
    bars = [straight(0, y, w * rng.uniform(0.7, 1.0), y) for y in (0.0, middle, 1.0)]
    return [straight(0, 0, 0, 1), *bars]


def _letter_f_upper(w: float, rng: np.random.Generator) -> Shape:
    # The middle bar is always there: without it, a hook on a stem is a 7 or a 1.
    middle = rng.uniform(0.4, 0.55)
    return [polyline((w, 0), (0, 0), (0, 1)), straight(0, middle, w * rng.uniform(0.6, 0.9), middle)]


def _letter_h_upper(w: float, rng: np.random.Generator) -> Shape:
    middle = rng.uniform(0.4, 0.6)
    return [straight(0, 0, 0, 1), straight(w, 0, w, 1), straight(0, middle, w, middle + rng.normal(0, 0.04))]


def _letter_k(w: float, rng: np.random.Generator) -> Shape:
    joint = rng.uniform(0.45, 0.6) if rng.random() < 0.6 else rng.uniform(0.6, 0.72)  # capital or small k
    top = 0.0 if joint < 0.6 else rng.uniform(0.35, 0.5)
    if rng.random() < 0.5:
        return [straight(0, 0, 0, 1), polyline((w, top), (0, joint), (w, 1))]
    return [straight(0, 0, 0, 1), straight(w, top, 0, joint), straight(w * 0.3, joint - 0.1 * (1 - top), w, 1)]


def _letter_m_upper(w: float, rng: np.random.Generator) -> Shape:
    dip = rng.uniform(0.45, 0.9)
    splay = w * rng.uniform(0.0, 0.15)  # outer legs upright or splayed
    return [polyline((0, 1), (splay, 0), (w / 2, dip), (w - splay, 0), (w, 1))]


def _letter_n_upper(w: float, rng: np.random.Generator) -> Shape:
    if rng.random() < 0.6:
        return [polyline((0, 1), (0, 0), (w, 1), (w, 0))]
    return [straight(0, 0, 0, 1), polyline((0, 0), (w, 1), (w, 0))]


def _bowl(stem_x: float, top: float, bottom: float, w: float) -> PenPath:
    """A P's bowl: from the stem's top out to the right, round, and back to the stem."""
    depth = (bottom - top) / 2
    reach = max(w - depth, stem_x + 0.05)
    return joined(
        straight(stem_x, top, reach, top, 5),
        arc(reach, top + depth, w - reach, depth, 90, -90),
        straight(reach, bottom, stem_x, bottom, 5),
    )


def _letter_p(w: float, rng: np.random.Generator) -> Shape:
    # Capital P or small p (a stem that goes below the bowl); a bowl on the
    # right of its stem, never on the left (that would be a 9).
    bottom = rng.uniform(0.45, 0.62)
    return [joined(straight(0, 1, 0, 0), _bowl(0, 0, bottom, w))]


def _letter_r_upper(w: float, rng: np.random.Generator) -> Shape:
    bottom = rng.uniform(0.45, 0.6)
    joint = w * rng.uniform(0.1, 0.45)
    return [joined(straight(0, 1, 0, 0), _bowl(0, 0, bottom, w * 0.9)), straight(joint, bottom, w, 1)]


def _letter_t(w: float, rng: np.random.Generator) -> Shape:
    # The stem starts from the middle of the bar, not its right end (a 7).
    if rng.random() < 0.5:
        stem = w / 2 + rng.normal(0, 0.06 * w)
        return [straight(0, 0, w, 0), straight(stem, 0, stem, 1)]
    bar = rng.uniform(0.25, 0.4)  # small t: the bar crosses the stem, which hooks right
    stem = w * rng.uniform(0.35, 0.5)
    return [joined(straight(stem, 0, stem, 0.8), arc(stem + 0.15, 0.8, 0.15, 0.2, 180, 290)), straight(0, bar, w, bar)]


def _letter_u(w: float, rng: np.random.Generator) -> Shape:
    turn = rng.uniform(0.45, 0.7)
    cup = joined(straight(0, 0, 0, turn, 6), arc(w / 2, turn, w / 2, 1 - turn, 180, 360), straight(w, turn, w, 0, 6))
    if rng.random() < 0.5:
        return [cup]
    return [cup, straight(w, 0, w, 1)]  # small u: a second stroke down the right side


def _letter_v(w: float, rng: np.random.Generator) -> Shape:
    return [polyline((0, 0), (w / 2 + rng.normal(0, 0.05 * w), 1), (w, 0))]


def _letter_w(w: float, rng: np.random.Generator) -> Shape:
    middle = rng.uniform(0.0, 0.5)
    return [polyline((0, 0), (w / 4, 1), (w / 2, middle), (3 * w / 4, 1), (w, 0))]


def _letter_x(w: float, rng: np.random.Generator) -> Shape:
    return [straight(0, 0, w, 1), straight(w, 0, 0, 1)]


def _letter_y(w: float, rng: np.random.Generator) -> Shape:
    fork = rng.uniform(0.4, 0.6)
    if rng.random() < 0.5:  # capital Y
        return [polyline((0, 0), (w / 2, fork), (w / 2, 1)), straight(w, 0, w / 2, fork)]
    # Small y: a short arm meets a long one that runs down to the left; its
    # round form (a u with a tail) is left out, being written like a 4 or a 9.
    tail = w - (w / 2) / fork
    return [straight(0, 0, w / 2, fork), straight(w, 0, tail, 1)]


def _letter_a_small(w: float, rng: np.random.Generator) -> Shape:
    # The stem ends level with the bowl: one that went on down would make a 9.
    bowl = arc(w * 0.45, 0.55, w * 0.45, 0.45, rng.uniform(20, 50), rng.uniform(330, 360))
    stem = joined(straight(w * 0.92, 0.05, w * 0.92, 0.95), arc(w * 1.02, 0.95, 0.1 * w, 0.05, 180, 300))
    return [bowl, stem]


def _letter_e_small(w: float, rng: np.random.Generator) -> Shape:
    middle = rng.uniform(0.45, 0.55)
    return [joined(straight(0.02 * w, middle, w, middle, 6), arc(w / 2, 0.5, w / 2, 0.5, 5, rng.uniform(290, 320)))]


def _letter_f_small(w: float, rng: np.random.Generator) -> Shape:
    stem = w * 0.4
    hook = arc(stem + w * 0.3, 0.2, w * 0.3, 0.2, rng.uniform(20, 45), 180)
    bar = rng.uniform(0.35, 0.45)
    return [joined(hook, straight(stem, 0.2, stem, 1)), straight(0, bar, w * 0.85, bar)]


def _letter_h_small(w: float, rng: np.random.Generator) -> Shape:
    # The arch springs from the stem's lower half: from its top, with a flat
    # left side, it would be the open 4 some people write.
    spring = rng.uniform(0.55, 0.7)
    height = rng.uniform(0.15, 0.25)
    arch = joined(arc(w / 2, spring, w / 2, height, 180, 0), straight(w, spring, w, 1, 6))
    return [straight(0, 0, 0, 1), arch]


def _letter_m_small(w: float, rng: np.random.Generator) -> Shape:
    top = rng.uniform(0.25, 0.4)
    first = arc(w / 4, top, w / 4, top, 180, 0)
    second = arc(3 * w / 4, top, w / 4, top, 180, 0)
    return [
        joined(straight(0, 1, 0, top, 6), first, straight(w / 2, top, w / 2, 1, 6)),
        joined(second, straight(w, top, w, 1)),
    ]


def _letter_n_small(w: float, rng: np.random.Generator) -> Shape:
    top = rng.uniform(0.25, 0.45)
    return [joined(straight(0, 1, 0, top, 6), arc(w / 2, top, w / 2, top, 180, 0), straight(w, top, w, 1, 6))]


def _letter_r_small(w: float, rng: np.random.Generator) -> Shape:
    # The shoulder bends right, away from the stem: bent left it is a flagged 1.
    shoulder = arc(w / 2, 0.4, w / 2, 0.35, 180, rng.uniform(20, 60))
    return [straight(0, 0.05, 0, 1), joined(straight(0, 0.7, 0, 0.4, 4), shoulder)]


#: Letter name -> (how to draw it, its width range for a height of 1).
LETTERS: dict[str, tuple[Callable[[float, np.random.Generator], Shape], tuple[float, float]]] = {
    "A": (_letter_a_upper, (0.6, 1.0)),
    "C": (_letter_c, (0.55, 1.0)),
    "E": (_letter_e_upper, (0.45, 0.8)),
    "F": (_letter_f_upper, (0.45, 0.75)),
    "H": (_letter_h_upper, (0.55, 0.95)),
    "K": (_letter_k, (0.5, 0.85)),
    "M": (_letter_m_upper, (0.7, 1.2)),
    "N": (_letter_n_upper, (0.55, 0.95)),
    "P": (_letter_p, (0.45, 0.75)),
    "R": (_letter_r_upper, (0.5, 0.8)),
    "T": (_letter_t, (0.5, 0.95)),
    "U": (_letter_u, (0.55, 1.0)),
    "V": (_letter_v, (0.6, 1.1)),
    "W": (_letter_w, (0.9, 1.6)),
    "X": (_letter_x, (0.6, 1.1)),
    "Y": (_letter_y, (0.55, 1.0)),
    "a": (_letter_a_small, (0.8, 1.2)),
    "e": (_letter_e_small, (0.8, 1.15)),
    "f": (_letter_f_small, (0.4, 0.65)),
    "h": (_letter_h_small, (0.45, 0.7)),
    "m": (_letter_m_small, (1.0, 1.6)),
    "n": (_letter_n_small, (0.6, 1.0)),
    "r": (_letter_r_small, (0.45, 0.8)),
}
