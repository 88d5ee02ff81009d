"""Which weights the window starts with, and why not others: never an exception.

The window must open whatever state the weights are in, and say in the
window what went wrong. The order: the weights asked for on the command
line, else the weights used last time, else the shipped ones; when one
cannot be used, the next is tried and the reason is kept for the window.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)


@dataclass
class LoadOutcome:
    """A predictor (None when no weights could be used) and what the user should know, if anything."""

    predictor: object | None
    problem: str | None = None


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def load_startup_predictor(requested: str | os.PathLike | None, last_used: str | os.PathLike | None) -> LoadOutcome:
    """Load the weights the window starts with (imports torch: call it off the GUI thread if it must not wait)."""
    from digitpad.base import paths
    from digitpad.model.checkpoint import CheckpointError
    from digitpad.model.gate import load_gated_predictor
    from digitpad.model.threads import one_thread

    shipped = paths.shipped_weights_path()
    candidates: list[tuple[Path, str]] = []
    if requested:
        candidates.append((Path(requested), "the weights you asked for"))
    elif last_used and not _same_file(Path(last_used), shipped):
        candidates.append((Path(last_used), "the weights used last time"))
    candidates.append((shipped, "the shipped weights"))

    problems: list[str] = []
    for path, description in candidates:
        try:
            # The gate is loaded here too, off the GUI thread (ModelInUse.set then finds it loaded). On one
            # thread: on two, the load's probe would give this thread (the GUI thread, where the window loads
            # there) an OpenMP helper for good, which slows every later training run (digitpad.model.threads).
            with one_thread():
                predictor = load_gated_predictor(path)
        except CheckpointError as error:
            problems.append(f"Could not load {description}: {error}.")
        except Exception as error:  # a broken install must not stop the window from opening
            log.exception("loading %s failed", path)
            problems.append(f"Could not load {description} ({path}): {type(error).__name__}: {error}.")
        else:
            if problems:
                problems.append(f"Using {description} instead.")
            return LoadOutcome(predictor, " ".join(problems) or None)
    problems.append(
        "Drawing works, but nothing is predicted until a model is loaded: train one in the Train tab, "
        "or open weights there."
    )
    return LoadOutcome(None, " ".join(problems))
