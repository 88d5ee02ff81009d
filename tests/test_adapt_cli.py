"""``digitpad predict`` adapts to the samples in the per-user folder, and ``--no-adapt`` reads without them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from helpers import run_cli

from digitpad.cli.common import EXIT_OK
from digitpad.ink.drawings import Drawing, save_drawing
from digitpad.ink.samples import SampleStore, make_sample
from digitpad.ink.strokes import MOUSE_PRESSURE, Stroke


def line(top: tuple[float, float], bottom: tuple[float, float]) -> list[Stroke]:
    stroke = Stroke()
    for t in np.linspace(0, 1, 20):
        stroke.add(top[0] + (bottom[0] - top[0]) * t, top[1] + (bottom[1] - top[1]) * t, 28.0, MOUSE_PRESSURE)
    return [stroke]


def drawing(strokes: list[Stroke]) -> Drawing:
    return Drawing(strokes, (400.0, 400.0), 28.0)


@pytest.fixture(scope="module")
def loaded():
    from digitpad.model.gate import load_gated_predictor

    return load_gated_predictor()


@pytest.fixture(autouse=True)
def load_once(loaded, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every command gets the shipped predictor as loading it would give it (no adapter), without tracing it
    again: the loading itself is tested in test_cli.py."""
    import digitpad.cli.predict

    def load_predictor(weights, gate=False):
        assert weights is None and gate
        loaded.adapter = None
        return loaded

    monkeypatch.setattr(digitpad.cli.predict, "load_predictor", load_predictor)


def test_predict_reads_with_the_taught_samples_unless_told_not_to(
    tmp_path: Path, private_home: Path, capsys: pytest.CaptureFixture
) -> None:
    path = save_drawing(tmp_path / "stroke.json", drawing(line((180, 90), (215, 310))))
    code, out, err = run_cli(["predict", str(path)], capsys)
    assert (code, out, err) == (EXIT_OK, f"{path}: 1\n", "")  # nothing taught: the network's 1, and no word of it
    # Straight strokes taught as 7s, as the teach buttons store them in the per-user folder.
    store = SampleStore()
    for top, bottom in [((190, 80), (210, 320)), ((200, 70), (205, 330))]:
        store.add(make_sample(drawing(line(top, bottom)), 7))
    code, out, err = run_cli(["predict", str(path)], capsys)
    assert (code, out) == (EXIT_OK, f"{path}: 7\n")
    assert err.count("\n") == 1 and "adapted to your handwriting (2 samples in" in err and "--no-adapt" in err
    assert str(private_home / "samples") in err
    code, out, err = run_cli(["predict", "--no-adapt", str(path)], capsys)
    assert (code, out, err) == (EXIT_OK, f"{path}: 1\n", "")


def test_predict_names_broken_sample_files_and_still_reads(
    tmp_path: Path, private_home: Path, capsys: pytest.CaptureFixture
) -> None:
    (private_home / "samples").mkdir(parents=True)
    (private_home / "samples" / "sample-broken.json").write_text("{not json")
    path = save_drawing(tmp_path / "stroke.json", drawing(line((180, 90), (215, 310))))
    code, out, err = run_cli(["predict", str(path)], capsys)
    assert (code, out) == (EXIT_OK, f"{path}: 1\n")
    assert err.count("\n") == 1 and "not adapted" in err and "sample-broken.json" in err and "Traceback" not in err
