"""The Qt-free stroke rasteriser: widths, round caps, eraser, pressure, scale."""

from __future__ import annotations

import numpy as np
import pytest

from digitpad.ink.strokes import MAX_PRESSURE_FACTOR, MIN_PRESSURE_FACTOR, Stroke, pressure_factor, render


def line(x0: float, y0: float, x1: float, y1: float, width: float, steps: int = 10, erase: bool = False) -> Stroke:
    stroke = Stroke(erase=erase)
    for t in np.linspace(0, 1, steps):
        stroke.add(x0 + (x1 - x0) * t, y0 + (y1 - y0) * t, width)
    return stroke


@pytest.mark.parametrize("width", [2.0, 6.0, 10.0, 17.0])
def test_horizontal_stroke_has_its_width(width: float) -> None:
    canvas = render([line(20, 50, 80, 50, width)], 100, 100)
    column = canvas[:, 50]
    assert column.sum() == pytest.approx(width, abs=0.5)  # total coverage across the stroke
    assert int((column > 0.5).sum()) == pytest.approx(width, abs=1)
    assert float(canvas.max()) == 1.0 and float(canvas.min()) == 0.0
    assert canvas.dtype == np.float32


def test_vertical_and_diagonal_strokes_have_the_same_width() -> None:
    vertical = render([line(50, 20, 50, 80, 8)], 100, 100)
    assert vertical[50].sum() == pytest.approx(8, abs=0.5)
    diagonal = render([line(20, 20, 80, 80, 8)], 100, 100)
    # Across a 45-degree stroke, one row meets it over width * sqrt(2) pixels.
    assert diagonal[50].sum() == pytest.approx(8 * np.sqrt(2), abs=0.6)


def test_round_caps_reach_half_the_width_past_the_ends() -> None:
    canvas = render([line(30, 50, 70, 50, 10)], 100, 100)
    ink_columns = np.flatnonzero(canvas[50] > 0.5)
    assert ink_columns[0] == pytest.approx(25, abs=1) and ink_columns[-1] == pytest.approx(74, abs=1)


def test_single_point_is_a_round_dot() -> None:
    stroke = Stroke()
    stroke.add(40, 40, 12)
    canvas = render([stroke], 80, 80)
    assert canvas.sum() == pytest.approx(np.pi * 6**2, rel=0.05)
    assert np.array_equal(canvas, canvas.T)  # symmetric about the diagonal through the centre


def test_eraser_removes_ink() -> None:
    ink = line(10, 50, 90, 50, 10)
    eraser = line(50, 10, 50, 90, 20, erase=True)
    drawn = render([ink], 100, 100)
    erased = render([ink, eraser], 100, 100)
    assert float(erased[45:56, 42:59].max()) == 0.0  # the crossing is gone
    np.testing.assert_array_equal(erased[:, :35], drawn[:, :35])  # the rest is untouched
    assert erased.sum() < drawn.sum() - 100
    # Erasing first, then drawing, leaves the ink.
    np.testing.assert_array_equal(render([eraser, ink], 100, 100), drawn)


def test_strokes_outside_the_canvas_are_clipped() -> None:
    canvas = render([line(-50, 10, 150, 10, 6), line(500, 500, 600, 600, 6)], 40, 60)
    assert canvas.shape == (40, 60)
    assert canvas[10].sum() > 50  # the first crosses the whole width


def test_scale_multiplies_coordinates_and_widths() -> None:
    base = render([line(10, 20, 40, 20, 4)], 50, 50)
    doubled = render([line(10, 20, 40, 20, 4)], 100, 100, scale=2.0)
    assert doubled[:, 50].sum() == pytest.approx(2 * base[:, 25].sum(), abs=0.5)
    assert doubled.sum() == pytest.approx(4 * base.sum(), rel=0.05)


def test_empty_strokes_render_nothing() -> None:
    assert not render([], 20, 20).any()
    assert not render([Stroke()], 20, 20).any()


def test_bounds_include_the_pen_radius() -> None:
    stroke = line(10, 20, 30, 60, 8)
    assert stroke.bounds() == pytest.approx((6, 16, 34, 64))


def test_pressure_factor_bounds() -> None:
    assert pressure_factor(0.0) == pytest.approx(MIN_PRESSURE_FACTOR)
    assert pressure_factor(1.0) == pytest.approx(MAX_PRESSURE_FACTOR)
    assert pressure_factor(0.5) == pytest.approx(1.0)  # a mouse draws at the pen width
    assert pressure_factor(-3) == pytest.approx(MIN_PRESSURE_FACTOR)
    assert pressure_factor(7) == pytest.approx(MAX_PRESSURE_FACTOR)
    factors = [pressure_factor(p) for p in np.linspace(0, 1, 11)]
    assert factors == sorted(factors)


def test_variable_width_stroke_tapers() -> None:
    stroke = Stroke()
    for t in np.linspace(0, 1, 20):
        stroke.add(10 + 80 * t, 50, 4 + 12 * t)
    canvas = render([stroke], 100, 100)
    assert canvas[:, 20].sum() < canvas[:, 80].sum() - 6
