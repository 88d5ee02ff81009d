"""Re-drawn variants of a taught digit (digitpad.data.redraw) and fine-tuning on them."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_finetune import QUICK, bar_model  # noqa: F401 (a fixture)

import digitpad.training.finetune
from digitpad.data.redraw import moved_strokes, redrawn_variants
from digitpad.ink.drawings import Drawing
from digitpad.ink.samples import make_sample, model_input, sample_strokes
from digitpad.ink.strokes import Stroke
from digitpad.training.finetune import FinetuneProgress, finetune


def line(x0: float, y0: float, x1: float, y1: float, erase: bool = False) -> Stroke:
    stroke = Stroke(erase=erase)
    for k in range(21):
        stroke.add(x0 + (x1 - x0) * k / 20, y0 + (y1 - y0) * k / 20, 20.0)
    return stroke


def loop_on_a_stem(stem: float = 250.0) -> list[Stroke]:
    """A φ-like zero: a small loop, then a stem ``stem`` px long through it (two strokes)."""
    loop = Stroke()
    for angle in np.linspace(0, 2 * np.pi, 40):
        loop.add(200 + 60 * np.cos(angle), 200 + 45 * np.sin(angle), 20.0)
    return [loop, line(205, 200 - stem / 2, 195, 200 + stem / 2)]


def blurred(image: np.ndarray) -> np.ndarray:
    """A 5x5 box blur."""
    padded = np.pad(image.astype(float), 2)
    return sum(padded[i : i + 28, j : j + 28] for i in range(5) for j in range(5))


def test_each_stroke_of_a_drawing_moves_on_its_own() -> None:
    strokes = loop_on_a_stem()
    rng = np.random.default_rng(0)
    stem_to_loop = []
    for _ in range(20):
        loop, stem = moved_strokes(strokes, rng, stroke_jitter=0.3)
        stem_to_loop.append(np.ptp(np.asarray(stem.points)[:, 1]) / np.ptp(np.asarray(loop.points)[:, 1]))
    drawn = np.ptp(np.asarray(strokes[1].points)[:, 1]) / np.ptp(np.asarray(strokes[0].points)[:, 1])
    # The stem is longer than drawn in some variants and shorter in others: the strokes are not moved as one.
    assert min(stem_to_loop) < 0.9 * drawn < 1.1 * drawn < max(stem_to_loop)
    assert strokes == loop_on_a_stem()  # the sample itself is left alone


def test_one_stroke_and_an_eraser_move_only_with_the_whole_drawing() -> None:
    without_jitter = moved_strokes([line(100, 100, 100, 300), line(90, 200, 110, 200, erase=True)],
                                   np.random.default_rng(1), stroke_jitter=0.0)  # fmt: skip
    with_jitter = moved_strokes([line(100, 100, 100, 300), line(90, 200, 110, 200, erase=True)],
                                np.random.default_rng(1), stroke_jitter=0.3)  # fmt: skip
    # The same generator draws the same whole-drawing move: with one ink stroke, the jitter changes nothing.
    for a, b in zip(without_jitter, with_jitter, strict=True):
        np.testing.assert_allclose(a.points, b.points)
    assert with_jitter[1].erase and with_jitter[1].widths == line(0, 0, 1, 1).widths


def test_variants_start_with_the_sample_and_are_like_it_but_not_it() -> None:
    strokes = loop_on_a_stem()
    image = model_input(strokes)
    variants = redrawn_variants(strokes, image, 8, np.random.default_rng(0))
    assert variants.shape == (8, 28, 28) and variants.dtype == np.uint8
    np.testing.assert_array_equal(variants[0], image)
    assert all(not np.array_equal(variant, image) for variant in variants[1:])
    # Still the same character in MNIST's box: about as much ink, near where the sample has it (thin strokes
    # moved by a pixel no longer overlap, so the images are compared blurred).
    ink = blurred(image)
    for variant in variants[1:]:
        assert 0.6 < variant.sum() / image.sum() < 1.6
        assert (blurred(variant) * ink).sum() / np.sqrt((blurred(variant) ** 2).sum() * (ink**2).sum()) > 0.7
    again = redrawn_variants(strokes, image, 8, np.random.default_rng(0))
    np.testing.assert_array_equal(variants, again)


def test_fine_tuning_draws_on_the_variants_and_holds_out_whole_samples(
    bar_model,  # noqa: F811
    tiny_mnist,
    monkeypatch,
) -> None:
    samples = [make_sample(Drawing(loop_on_a_stem(stem)), 0) for stem in (200, 260, 320)]
    images = np.stack([sample.image for sample in samples])
    trained_on: list[torch.Tensor] = []
    fine_tune_once = digitpad.training.finetune._fine_tune_once

    def recording(model, drawings, labels, job, stage):
        trained_on.append(drawings)
        return fine_tune_once(model, drawings, labels, job, stage)

    monkeypatch.setattr(digitpad.training.finetune, "_fine_tune_once", recording)
    events: list[FinetuneProgress] = []
    result = finetune(bar_model, images, np.zeros(3, np.int64), tiny_mnist, QUICK,
                      strokes=sample_strokes(samples), progress=events.append, progress_interval=0)  # fmt: skip
    assert result is not None and result.personal_after.total == 3
    # 3 folds of 2 samples each, then all 3; each sample with its variants, its own drawing first.
    assert [tuple(drawings.shape[:2]) for drawings in trained_on] == [(2, QUICK.redrawn_variants)] * 3 + [
        (3, QUICK.redrawn_variants)
    ]
    as_taught = torch.from_numpy(images).float().div(255)
    for held_out, drawings in zip(result.folds, trained_on, strict=False):
        kept = [i for i in range(3) if i not in held_out]
        torch.testing.assert_close(drawings[:, 0, 0], as_taught[kept])
    assert "re-drawing your samples" in {event.stage for event in events}
    assert result.info.recipe["fine_tune"]["redrawn_variants"] == QUICK.redrawn_variants
    with pytest.raises(ValueError, match="one list of strokes per personal sample"):
        finetune(bar_model, images, np.zeros(3, np.int64), tiny_mnist, QUICK, strokes=sample_strokes(samples)[:2])
