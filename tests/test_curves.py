"""CurveHistory: what the training curves show, without Qt."""

from __future__ import annotations

import math

import pytest

from digitpad.training.config import BatchProgress, EpochResult
from digitpad.training.curves import INITIAL_LOSS_RANGE, CurveHistory, per_class_axis


def progress(epoch: int, batch: int, loss: float, accuracy: float, batches: int = 100) -> BatchProgress:
    return BatchProgress(epoch, 3, batch, batches, loss, accuracy, images_per_second=1000.0, eta_seconds=10.0)


def epoch_result(epoch: int, test_loss: float, test_accuracy: float) -> EpochResult:
    return EpochResult(epoch, 3, 0.5, 0.9, test_loss, test_accuracy, (0.99,) * 10, seconds=1.0)


def test_training_points_are_the_mean_since_the_previous_report_smoothed_by_images():
    history = CurveHistory(smoothing_images=1e-9)  # no smoothing: each point is the recent mean
    history.reset(epochs=3, batch_size=100)
    history.add_batch(progress(1, 10, loss=2.0, accuracy=0.2))
    # Running means over 20 batches: the last 10 had loss (1.5 * 20 - 2.0 * 10) / 10 = 1.0.
    loss, accuracy = history.add_batch(progress(1, 20, loss=1.5, accuracy=0.4))
    assert loss == pytest.approx(1.0)
    assert accuracy == pytest.approx(0.6)
    assert history.train_loss.x == pytest.approx([0.1, 0.2])
    assert history.train_accuracy.y == pytest.approx([20.0, 60.0])  # percent


def test_a_new_epoch_starts_from_its_own_running_mean():
    history = CurveHistory(smoothing_images=1e-9)
    history.reset(epochs=3, batch_size=100)
    history.add_batch(progress(1, 100, loss=1.0, accuracy=0.5))
    loss, _ = history.add_batch(progress(2, 5, loss=0.4, accuracy=0.9))
    assert loss == pytest.approx(0.4)
    assert history.train_loss.x[-1] == pytest.approx(1.05)


def test_smoothing_weighs_by_images_seen():
    history = CurveHistory(smoothing_images=3000)
    history.reset(epochs=3, batch_size=100)
    history.add_batch(progress(1, 1, loss=2.0, accuracy=0.0))
    loss, _ = history.add_batch(progress(1, 2, loss=1.5, accuracy=0.0))  # the newest batch alone: 1.0
    weight = 1 - math.exp(-100 / 3000)
    assert loss == pytest.approx(2.0 + weight * (1.0 - 2.0))


def test_test_points_sit_at_the_end_of_their_epoch_or_where_a_stopped_one_ended():
    history = CurveHistory()
    history.reset(epochs=3, batch_size=10)
    history.add_batch(progress(1, 100, 1.0, 0.5))
    history.add_epoch(epoch_result(1, 0.3, 0.95))
    history.add_batch(progress(2, 40, 0.8, 0.6))
    history.add_epoch(epoch_result(2, 0.2, 0.97))  # stopped after 40 of 100 batches
    assert history.test_loss.x == pytest.approx([1.0, 1.4])
    assert history.test_accuracy.y == pytest.approx([95.0, 97.0])


def test_the_loss_range_widens_by_whole_decades_and_never_shrinks():
    history = CurveHistory()
    history.reset(epochs=3, batch_size=10)
    assert history.loss_range == INITIAL_LOSS_RANGE
    history.add_epoch(epoch_result(1, 0.02, 0.99))
    assert history.loss_range == (0.01, INITIAL_LOSS_RANGE[1])
    history.add_epoch(epoch_result(2, 0.3, 0.99))
    assert history.loss_range == (0.01, INITIAL_LOSS_RANGE[1])
    history.add_batch(progress(3, 1, loss=float("nan"), accuracy=0.5))
    assert history.loss_range == (0.01, INITIAL_LOSS_RANGE[1])
    history.reset(epochs=1, batch_size=10)
    assert history.loss_range == INITIAL_LOSS_RANGE and not history.test_loss.x


def test_the_accuracy_axis_zooms_onto_the_top_once_an_epoch_is_done():
    history = CurveHistory(smoothing_images=1e-9)
    history.reset(epochs=3, batch_size=10)
    history.add_batch(progress(1, 10, 2.0, 0.10))
    history.add_batch(progress(1, 100, 0.3, 0.95))
    assert history.accuracy_floor() == 0.0
    history.add_epoch(epoch_result(1, 0.1, 0.985))
    # The early 10% is off the chart; the floor sits just under the lowest later value.
    assert history.accuracy_floor() == math.floor(min(history.train_accuracy.y[-1], 98.5) - 0.5)


def test_epoch_ticks_stay_few():
    history = CurveHistory()
    history.reset(epochs=30, batch_size=10)
    ticks = history.epoch_ticks()
    assert ticks[0] == (0, "0") and ticks[-1] == (30, "30")
    assert len(ticks) <= 11


def test_per_class_axis_zooms_and_marks_unknown_digits():
    values, base = per_class_axis([0.99, None, 0.975] + [1.0] * 7)
    assert math.isnan(values[1])
    assert values[0] == pytest.approx(99.0)
    assert base == math.floor(97.5 - 1.0)
    assert per_class_axis([None] * 10)[1] == 0.0


def test_a_long_curve_is_drawn_thinned_evenly_with_its_newest_point() -> None:
    """A run's thousands of reports would cost the GUI thread a repaint of every point each time."""
    from digitpad.training.curves import MAX_CURVE_POINTS, Series

    series = Series()
    for index in range(5 * MAX_CURVE_POINTS + 3):
        series.append(index / 100, float(index))
    x, y = series.thinned()
    assert MAX_CURVE_POINTS // 2 < len(x) <= MAX_CURVE_POINTS and len(x) == len(y)
    assert x[-1] == series.x[-1] and y[-1] == series.y[-1]
    gaps = {round(b - a, 6) for a, b in zip(x, x[1:], strict=False)}
    assert len(gaps) == 1  # evenly spaced
    short = Series(x=[0.1, 0.2], y=[1.0, 2.0])
    assert short.thinned() == ([0.1, 0.2], [1.0, 2.0])
