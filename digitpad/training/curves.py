"""What the training curves show, kept apart from how they are drawn (Qt-free).

The core's :class:`~digitpad.training.config.BatchProgress` carries running means over
the epoch so far; plotted as they are, they lag behind and jump at every
epoch start. :class:`CurveHistory` turns the reports into curves a person can
read: the mean over the batches since the previous report, smoothed
exponentially by images seen, one test point per epoch, and the axis ranges
that fit them (ranges that change rarely: a range change repaints a plot).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # types only: the curves need no torch
    from digitpad.training.config import BatchProgress, EpochResult

#: Exponential smoothing of the training curves, by images seen: each point
#: mostly reflects the last few thousand images (a couple of dozen batches).
SMOOTHING_IMAGES = 3000
#: Most points a plot draws of a training curve (:meth:`Series.thinned`). A plot repaints every point
#: at each progress report, and an antialiased curve of a long run's thousands costs the GUI thread tens of
#: milliseconds ten times a second, CPU that two training threads on two cores wait for (a Best run in the
#: GUI took 228-263 s, 170-178 s outside it). 600 is more than the plot's width in pixels.
MAX_CURVE_POINTS = 600
#: Initial loss axis (log scale): from a fresh model's 2.3 down to a good model's test loss.
INITIAL_LOSS_RANGE = (0.05, 3.0)


@dataclass
class Series:
    """One curve: x in epochs (fractional while an epoch runs), y as plotted."""

    x: list[float] = field(default_factory=list)
    y: list[float] = field(default_factory=list)

    def append(self, x: float, y: float) -> None:
        self.x.append(x)
        self.y.append(y)

    def thinned(self, max_points: int = MAX_CURVE_POINTS) -> tuple[list[float], list[float]]:
        """(x, y) with at most about ``max_points`` points, evenly taken, the newest always in: what a plot draws."""
        step = math.ceil(len(self.x) / max_points) if max_points > 0 else 1
        if step <= 1:
            return self.x, self.y
        # Counted back from the newest point, so that it is always drawn.
        return self.x[::-1][::step][::-1], self.y[::-1][::step][::-1]

    def clear(self) -> None:
        self.x.clear()
        self.y.clear()


class CurveHistory:
    """Training and test curves of one run, and the axis ranges that fit them.

    Accuracies are in percent, losses as reported. Feed it every
    :class:`BatchProgress` (:meth:`add_batch`) and :class:`EpochResult`
    (:meth:`add_epoch`); :meth:`reset` at the start of a run.
    """

    def __init__(self, smoothing_images: float = SMOOTHING_IMAGES) -> None:
        self.smoothing_images = smoothing_images
        self.train_loss, self.train_accuracy = Series(), Series()
        self.test_loss, self.test_accuracy = Series(), Series()
        self.reset(epochs=1, batch_size=1)

    def reset(self, epochs: int, batch_size: int) -> None:
        """Forget the last run; the next has ``epochs`` epochs of batches of ``batch_size``."""
        self.epochs = max(1, int(epochs))
        self.batch_size = max(1, int(batch_size))
        for series in (self.train_loss, self.train_accuracy, self.test_loss, self.test_accuracy):
            series.clear()
        self._previous: BatchProgress | None = None
        self._smoothed: tuple[float, float] | None = None
        self.loss_range: tuple[float, float] = INITIAL_LOSS_RANGE

    def add_batch(self, event: BatchProgress) -> tuple[float, float]:
        """Add a training point; returns the smoothed (loss, accuracy as a fraction) it plotted."""
        loss, accuracy = self._smooth(*self._since_previous(event))
        x = event.epoch - 1 + event.batch / event.batches
        self.train_loss.append(x, loss)
        self.train_accuracy.append(x, 100 * accuracy)
        self._widen_loss_range(loss)
        return loss, accuracy

    def add_epoch(self, result: EpochResult) -> None:
        """Add the epoch's test point; a stopped epoch's point sits where its last batch was."""
        done = min(result.epoch, self.train_loss.x[-1]) if self.train_loss.x else result.epoch
        self.test_loss.append(done, result.test_loss)
        self.test_accuracy.append(done, 100 * result.test_accuracy)
        self._widen_loss_range(result.test_loss)

    def _since_previous(self, event: BatchProgress) -> tuple[float, float, int]:
        """Loss, accuracy and number of the batches since the previous report.

        Batches within an epoch have equal size, so the mean over the batches
        since the last report follows from the two running means.
        """
        previous, self._previous = self._previous, event
        if previous is not None and previous.epoch == event.epoch and event.batch > previous.batch:
            batches = event.batch - previous.batch
            loss = (event.loss * event.batch - previous.loss * previous.batch) / batches
            accuracy = (event.accuracy * event.batch - previous.accuracy * previous.batch) / batches
            return loss, accuracy, batches
        return event.loss, event.accuracy, event.batch

    def _smooth(self, loss: float, accuracy: float, batches: int) -> tuple[float, float]:
        if self._smoothed is None:
            self._smoothed = (loss, accuracy)
        else:
            weight = 1.0 - math.exp(-batches * self.batch_size / self.smoothing_images)
            old_loss, old_accuracy = self._smoothed
            self._smoothed = (old_loss + weight * (loss - old_loss), old_accuracy + weight * (accuracy - old_accuracy))
        return self._smoothed

    def _widen_loss_range(self, value: float) -> None:
        """Widen the loss axis to whole decades when a value falls outside; it never shrinks during a run."""
        if not (math.isfinite(value) and value > 0):
            return
        low, high = self.loss_range
        if low <= value <= high:
            return
        self.loss_range = (min(low, 10 ** math.floor(math.log10(value))), max(high, 10 ** math.ceil(math.log10(value))))

    def accuracy_floor(self) -> float:
        """The bottom of the accuracy axis (percent): 0 until an epoch is done, then just under the lowest.

        From 0 to 100% the last tenths of a percent, which are what
        distinguishes a good model, would be a flat line at the top. The
        climb at the start of the run is left off the chart: only the second
        half of the training curve so far counts.
        """
        if not self.test_accuracy.y:
            return 0.0
        train = self.train_accuracy
        later = [y for x, y in zip(train.x, train.y, strict=True) if x >= train.x[-1] / 2] if train.x else []
        lowest = min(min(self.test_accuracy.y), min(later, default=100.0))
        return max(0.0, math.floor(lowest - 0.5))

    def epoch_ticks(self) -> list[tuple[int, str]]:
        """Whole epochs to label on the x axis: about ten at most."""
        step = max(1, math.ceil(self.epochs / 10))
        return [(epoch, str(epoch)) for epoch in range(0, self.epochs + 1, step)]


def per_class_axis(per_class: list[float | None] | tuple[float | None, ...]) -> tuple[list[float], float]:
    """Per-digit accuracies in percent (NaN where unknown) and the base of an axis zoomed onto them."""
    values = [math.nan if a is None or not math.isfinite(a) else 100 * a for a in per_class]
    finite = [v for v in values if math.isfinite(v)]
    base = max(0.0, math.floor(min(finite) - 1.0)) if finite else 0.0
    return values, base
