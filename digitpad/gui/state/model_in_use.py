"""The model the app draws with: one small object that the tabs and the window share.

The window owns it; the Draw tab predicts with it, the Train tab compares new
models with it and can put one in its place. Whoever changes it calls
:meth:`ModelInUse.set`; everyone who shows it listens to ``changed``. No tab
asks another tab which model is in use.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

if TYPE_CHECKING:  # torch stays a lazy import: the window shows before it is loaded
    from digitpad.model.inference import Predictor


class ModelInUse(QObject):
    """The predictor in use (a :class:`digitpad.model.inference.Predictor`, or None) and how it got there.

    Signals:
        changed(object): the predictor now in use (None: none), after every :meth:`set`
            and :meth:`set_loading`.
    """

    changed = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._predictor = None
        self._problem: str | None = None
        # Until someone sets a model, the app is still loading one.
        self._loading = True

    @property
    def predictor(self) -> Predictor | None:
        return self._predictor

    @property
    def problem(self) -> str | None:
        """Why the wanted weights could not be used, if they could not (shown above the pad)."""
        return self._problem

    @property
    def loading(self) -> bool:
        """True while the start-up loader is still loading the first model."""
        return self._loading

    @property
    def source(self) -> Path | None:
        """The file the predictor came from (None: none, or trained in this session and not saved)."""
        source = getattr(self._predictor, "source", None)
        return Path(source) if source is not None else None

    def missing(self) -> str | None:
        """What the window says without a model: that it is loading, or that none is; None with one."""
        if self._loading:
            return "Loading the model…"
        return "No model loaded" if self._predictor is None else None

    def set_loading(self) -> None:
        self._predictor, self._problem, self._loading = None, None, True
        self.changed.emit(None)

    def set(self, predictor: Predictor | None, problem: str | None = None) -> None:
        """Use ``predictor`` (None: no model); ``problem`` says why the wanted weights were not used.

        A model without a "not a digit" output of its own gets the shipped gate (:mod:`digitpad.model.gate`).
        """
        if predictor is not None:
            from digitpad.model.gate import attach_gate

            attach_gate(predictor)
        self._predictor, self._problem, self._loading = predictor, problem, False
        self.changed.emit(predictor)
