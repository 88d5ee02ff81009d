"""The personal samples as the window shares them: one store, a signal when they change.

The Draw tab's teach bar adds to it, the *My samples* dialog shows, deletes,
relabels, exports and imports, and the Train tab's fine-tuning panel counts
and reads it. Every change goes through here, so all of them stay in step.
"""

from __future__ import annotations

import os

from PySide6.QtCore import QObject, Signal

from digitpad.ink.samples import PersonalSample, SampleError, SampleStore


class PersonalSamples(QObject):
    """A :class:`digitpad.ink.samples.SampleStore` with Qt signals.

    Signals:
        changed(): a sample was added, deleted or relabelled, or samples were imported.
        problem(str): one line for the user: a failed write, or broken files skipped
            (empty: nothing to report any more).
    """

    changed = Signal()
    problem = Signal(str)

    def __init__(self, folder: str | os.PathLike | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.store = SampleStore(folder)
        self.store.load()

    @property
    def samples(self) -> list[PersonalSample]:
        return list(self.store.samples)

    def counts(self) -> list[int]:
        return self.store.counts()

    def skipped(self) -> str:
        """One line on the broken files skipped at the last load or import ("" if none)."""
        warnings = self.store.warnings
        return f"{len(warnings)} broken file(s) skipped: {warnings[0]}" if warnings else ""

    def _do(self, action, *args) -> object | None:
        try:
            result = action(*args)
        except SampleError as error:
            self.problem.emit(str(error))
            return None
        self.changed.emit()
        return result

    def add(self, sample: PersonalSample) -> PersonalSample | None:
        """Keep ``sample`` (written at once); None if it could not be written (``problem`` says why)."""
        return self._do(self.store.add, sample)

    def delete(self, samples: list[PersonalSample]) -> bool:
        return self._do(lambda: [self.store.delete(sample) for sample in samples]) is not None

    def relabel(self, samples: list[PersonalSample], label: int) -> bool:
        return self._do(lambda: [self.store.relabel(sample, label) for sample in samples]) is not None

    def export_to(self, folder: str | os.PathLike) -> int | None:
        return self._do(self.store.export_to, folder)

    def import_from(self, folder: str | os.PathLike) -> int | None:
        added = self._do(self.store.import_from, folder)
        if self.store.warnings:
            self.problem.emit(self.skipped())
        return added
