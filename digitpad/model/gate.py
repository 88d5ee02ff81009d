"""The gate: a second network that says whether a character is a digit at all.

A ten-class model names a digit for anything it is shown, so a letter or
a scribble comes out as a confident digit. Training the reader itself with
an eleventh class, "not a digit" (:mod:`digitpad.data.nondigits`), teaches it to
decline letters but costs it digits: the synthetic non-digits share strokes
with the pen styles real people use (a φ zero, a footed 1), and one small
network has to learn both. Measured on the dev sets (``bench/drawn_digits.py``,
offline, 2026-11-30, the shipped model with its drawn ones):

==========================================  ==========  ================  ==========
reader                                      dev digits  letters declined  MNIST test
==========================================  ==========  ================  ==========
shipped ten-class model                     99.20%      9.3%              99.64%
eleven-class model (non-digits 0.15)        98.41%      83.0%             99.60%
shipped model and this gate                 99.07%      82.8%             99.64%
==========================================  ==========  ================  ==========

So the digits are read by the model in use, as before, and the gate (an
eleven-class model trained with non-digits, of which only the "not a digit"
output is used) says how likely the character is no digit at all. Since
2026-12-07 the shipped gate has also learned real letters and pen digits
(``bench/gate_cv.py``; docs/model.md, "The gate"): it declines 91% of the
dev letters above, and the dev digits read 98.94% offline. The two
combine by the product rule, exactly as an eleven-class model's outputs do:
P(digit d) = P(a digit) x P(d | a digit), and P(not a digit) from the gate.
Below :data:`digitpad.model.reader.UNSURE_BELOW` the character shows "?", and
where "not a digit" is likelier than any digit the app says so.

Any model put in use without a "not a digit" output of its own gets the
shipped gate (:func:`attach_gate`): the shipped weights, one trained in the
Train tab, a fine-tuned one. ``$DIGITPAD_GATE`` names another gate file, or
``off`` (the benches compare with and without).
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

from digitpad.base.paths import shipped_gate_path
from digitpad.model.inference import Predictor

logger = logging.getLogger(__name__)
_lock = threading.Lock()
_loaded: dict[Path, Predictor] = {}

#: Environment variable: "off" reads without a gate; a path uses that eleven-class checkpoint as the gate.
GATE_ENV = "DIGITPAD_GATE"


def gate_path() -> Path | None:
    """The gate's file: $DIGITPAD_GATE if set (None for "off"), else the shipped gate."""
    value = os.environ.get(GATE_ENV, "").strip()
    if value.lower() == "off":
        return None
    return Path(value) if value else shipped_gate_path()


def default_gate() -> Predictor | None:
    """The gate of :func:`gate_path`, loaded once per process (thread-safe); None when off.

    CheckpointError if its file cannot be used, ValueError if it has no "not a digit" output.
    """
    path = gate_path()
    if path is None:
        return None
    with _lock:
        if path in _loaded:
            return _loaded[path]
    # Loaded outside the lock, so that no thread waits on it while another traces a model; two threads
    # that both load it keep the first one stored.
    gate = Predictor.from_checkpoint(path)
    if not gate.model.config.has_not_a_digit:
        raise ValueError(f"{path} has no 'not a digit' output, so it cannot be a gate")
    with _lock:
        return _loaded.setdefault(path, gate)


def attach_gate(predictor: Predictor, gate: Predictor | None = None) -> Predictor:
    """Give ``predictor`` a gate (``gate``, else :func:`default_gate`) unless it has its own "not a digit" output.

    Returns ``predictor``. A predictor that already has a gate keeps it. If
    the shipped gate cannot be loaded (a damaged install), the predictor
    reads digits without one and a warning is logged: never fatal.
    """
    if predictor.model.config.has_not_a_digit or predictor.gate is not None:
        return predictor
    if gate is None:
        try:
            gate = default_gate()
        except Exception as error:  # a broken gate file must not stop digits from being read
            logger.warning("reading digits without the 'not a digit' gate: %s", error)
            return predictor
    predictor.gate = gate  # None when the gate is off
    return predictor


def load_gated_predictor(path: str | os.PathLike | None = None) -> Predictor:
    """The weights at ``path`` (the shipped ones when None) with the gate attached: what the app reads with.

    CheckpointError if the weights cannot be used; a gate that cannot be
    loaded is only logged (:func:`attach_gate`). The window and ``digitpad
    predict`` both load through here, so they read the same way.
    """
    return attach_gate(Predictor.from_checkpoint(path))
