"""Fine-tuning's progress means something (issue 24, item 16): the fraction counts every piece of real work,
re-drawing included, and never goes back; the stage names what is happening (folds only with k folds); no time
left before it can be measured; ``digitpad finetune`` prints a line when there is something new to say; the
Train tab's bar moves while the samples are re-drawn. On tiny data and a fake clock: fast and deterministic."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import run_cli, write_mnist_folder
from PySide6.QtCore import QSettings, Qt

import digitpad.cli.finetune as cli_finetune
from digitpad.cli.finetune import ProgressPrinter, format_eta, progress_line
from digitpad.data.mnist import Mnist
from digitpad.ink.drawings import Drawing
from digitpad.ink.samples import SampleStore, make_sample, sample_arrays, sample_strokes
from digitpad.ink.strokes import Stroke
from digitpad.model.checkpoint import CheckpointInfo, save_checkpoint
from digitpad.model.network import DigitNet, ModelConfig
from digitpad.training.estimate import WorkMeter
from digitpad.training.finetune import REDRAW_STAGE, FinetuneConfig, FinetuneProgress, finetune

#: Tiny runs: a few steps of small batches, four drawings of each sample, 50 test images.
TINY = FinetuneConfig(
    steps=3, personal_per_batch=4, mnist_per_batch=4, mnist_pool=100, test_subset=50, redrawn_variants=4
)


class FakeClock:
    """A clock that moves ``step`` seconds each time it is read."""

    def __init__(self, step: float) -> None:
        self.step, self.now = step, 1000.0

    def __call__(self) -> float:
        self.now += self.step
        return self.now


def sevens(count: int) -> list:
    """``count`` samples of a 7 drawn as two strokes (a bar, then the stem), each a little different."""
    rng = np.random.default_rng(0)
    samples = []
    for index in range(count):
        left, top, size = rng.uniform(60, 140), rng.uniform(60, 140), rng.uniform(200, 300)
        bar, stem = Stroke(), Stroke()
        for k in range(12):
            bar.add(left + size * (0.1 + 0.8 * k / 11), top + 0.05 * size, 30.0, 0.5, 0.01 * k)
            stem.add(left + size * (0.9 - 0.5 * k / 11), top + size * (0.05 + 0.9 * k / 11), 30.0, 0.5, 1 + 0.01 * k)
        samples.append(make_sample(Drawing([bar, stem], (520.0, 520.0), 36.4), 7 if index % 3 else 1))
    return samples


@pytest.fixture(scope="module")
def tiny_model() -> DigitNet:
    torch.manual_seed(0)
    return DigitNet(ModelConfig(channels=(4, 8, 8))).eval()


def run_tiny(model: DigitNet, data: Mnist, count: int, config: FinetuneConfig = TINY, step: float = 0.05):
    """(events, fake time of each) of a fine-tuning on ``count`` samples timed with a fake clock."""
    samples = sevens(count)
    images, labels = sample_arrays(samples)
    clock = FakeClock(step)
    events: list[tuple[FinetuneProgress, float]] = []
    result = finetune(
        model,
        images,
        labels,
        data,
        config,
        strokes=sample_strokes(samples),
        progress=lambda event: events.append((event, clock.now)),
        progress_interval=0,
        clock=clock,
    )
    assert result is not None
    return result, events, clock


@pytest.fixture(scope="module")
def sixty(tiny_model, tiny_mnist):
    """A run on 60 samples: 3 folds."""
    return run_tiny(tiny_model, tiny_mnist, 60)


def test_progress_counts_the_re_drawing_and_never_goes_back(sixty) -> None:
    result, timed, _ = sixty
    events = [event for event, _ in timed]
    fractions = [event.fraction_done for event in events]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    # Re-drawing comes first and moves the fraction sample by sample, before any training.
    redraw = [event for event in events if event.stage == REDRAW_STAGE]
    first_training = next(i for i, event in enumerate(events) if event.stage.startswith("cross-validation"))
    assert events[: len(redraw)] == redraw and len(redraw) < first_training
    assert [event.stage_done for event in redraw] == list(range(1, 61))
    assert 0 < redraw[0].fraction_done < redraw[-1].fraction_done < 1
    # Each fold's steps one by one, then the final run's, then MNIST read after.
    assert result.method == "3-fold cross-validation"
    stages = list(dict.fromkeys(event.stage for event in events))
    assert stages == [
        REDRAW_STAGE,
        "MNIST test, before",
        "reading your samples, before",
        "cross-validation 1/3",
        "cross-validation 2/3",
        "cross-validation 3/3",
        "fine-tuning on every sample",
        "MNIST test, after",
    ]
    final = [event.stage_done for event in events if event.stage == "fine-tuning on every sample"]
    assert final == [1, 2, 3]


def test_one_share_held_out_is_not_called_cross_validation(tiny_model, tiny_mnist) -> None:
    result, timed, _ = run_tiny(tiny_model, tiny_mnist, 30, FinetuneConfig(**{**TINY.to_dict(), "few_samples": 10}))
    assert result.method == "6 samples held out"
    stages = {event.stage for event, _ in timed}
    assert "fine-tuning without the 6 samples held out" in stages
    assert not any("cross-validation" in stage for stage in stages)


def test_no_time_left_is_given_before_two_seconds_of_work(sixty) -> None:
    _, timed, _ = sixty
    start = timed[0][1] - 0.1  # the fake clock moved at least twice before the first report
    early = [event for event, now in timed if now - start < 2.0]
    late = [event for event, now in timed if now - start > 2.5]
    assert early and all(event.eta_seconds is None for event in early)
    assert late and all(event.eta_seconds is not None and event.eta_seconds >= 0 for event in late)
    assert timed[-1][0].eta_seconds == 0


def test_the_time_left_uses_each_kind_of_work_s_own_measured_pace() -> None:
    clock = FakeClock(0.0)
    meter = WorkMeter({"draw": 10.0, "train": 10.0}, clock=clock)
    assert meter.fraction() == 0 and meter.eta_seconds() is None
    for _ in range(5):  # drawing runs at half the expected speed: 2 s for each expected second
        clock.now += 2.0
        meter.advance("draw", 1.0)
    assert meter.fraction() == pytest.approx(0.25)
    # Training not timed yet: it is assumed as slow as what was timed.
    assert meter.eta_seconds() == pytest.approx(5 * 2 + 10 * 2)
    for _ in range(5):
        clock.now += 2.0
        meter.advance("draw", 1.0)
    clock.now += 30.0  # building the model to train: once, not a step
    meter.set_aside()
    for _ in range(2):  # training runs at twice the expected speed
        clock.now += 0.5
        meter.advance("train", 1.0)
    # Two pieces are too few to go by: still the pace of all the work of the latest 10 s or so (the last five
    # drawing pieces and these two: 11 s for 7 expected).
    assert meter.eta_seconds() == pytest.approx(8 * 11 / 7)
    for _ in range(2):
        clock.now += 0.5
        meter.advance("train", 1.0)
    assert meter.fraction() == pytest.approx(0.7)
    assert meter.eta_seconds() == pytest.approx(6 * 0.5)
    for _ in range(6):
        clock.now += 0.5
        meter.advance("train", 1.0)
    assert meter.fraction() == 1.0 and meter.eta_seconds() == 0


# --- digitpad finetune's lines ------------------------------------------------------------------


def event(stage: str, done: int, total: int, fraction: float, eta: float | None = None) -> FinetuneProgress:
    return FinetuneProgress(stage, done, total, fraction, eta)


def test_the_printer_says_each_new_thing_at_most_once_a_second(capsys) -> None:
    clock = FakeClock(0.0)
    printer = ProgressPrinter(clock)
    for done in range(1, 501):  # 500 samples in 5 s: 2% each second
        clock.now += 0.01
        printer(event(REDRAW_STAGE, done, 500, done / 5000, None if done < 200 else 8.0))
    clock.now += 0.01
    printer(event("MNIST test, before", 1000, 10000, 0.1, 8.0))  # a new stage: at once
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "re-drawing your samples (1/500): 0% done"
    assert lines[-1] == "MNIST test, before (1,000/10,000): 10% done, eta 8s"
    # The first, then one a second (the time left from the third on), then the new stage's at once.
    assert [line.split(" (")[1].split("/")[0] for line in lines[:-1]] == ["1", "102", "203", "304", "405"]
    assert all("eta" not in line for line in lines[:2]) and all("eta 8s" in line for line in lines[2:])
    assert all(a != b for a, b in zip(lines, lines[1:], strict=False))
    assert [format_eta(s) for s in (0.4, 42, 185, 3725)] == ["0s", "42s", "3m05s", "1h02m"]
    assert progress_line(event("cross-validation 2/3", 40, 100, 0.5, 61)) == (
        "cross-validation 2/3 (40/100): 50% done, eta 1m01s"
    )


def test_cli_finetune_prints_no_eta_before_it_means_something_and_no_line_twice(
    tiny_model, tiny_mnist, tmp_path, capsys, monkeypatch
) -> None:
    store = SampleStore()
    for sample in sevens(12):
        store.add(sample)
    data = write_mnist_folder(tmp_path / "mnist", tiny_mnist)
    weights = save_checkpoint(tmp_path / "base.safetensors", tiny_model, CheckpointInfo(tiny_model.config))
    # A clock read ~60 times a second of run: under two seconds, no time left can be known.
    monkeypatch.setattr(cli_finetune, "clock", FakeClock(0.016), raising=False)
    argv = ["finetune", "--data-dir", str(data), "--weights", str(weights), "--out", str(tmp_path / "o.safetensors")]
    code, stdout, err = run_cli([*argv, "--steps", "2"], capsys)
    assert code == 0, err
    progress = [line for line in stdout.splitlines() if "% done" in line]
    assert progress[0].startswith("re-drawing your samples (") and "eta" not in stdout
    assert [line.split(" (")[0] for line in progress].count("cross-validation 1/3") == 1
    assert all(a != b for a, b in zip(progress, progress[1:], strict=False))
    # A slower clock: the time left comes, with one line a second at most within a stage.
    monkeypatch.setattr(cli_finetune, "clock", FakeClock(0.3), raising=False)
    code, stdout, err = run_cli([*argv, "--steps", "2"], capsys)
    progress = [line for line in stdout.splitlines() if "% done" in line]
    assert code == 0 and "eta" not in progress[0] and any("eta" in line for line in progress)
    assert all(a != b for a, b in zip(progress, progress[1:], strict=False))


# --- the Train tab's bar ------------------------------------------------------------------------


def test_the_train_tab_s_bar_moves_while_the_samples_are_re_drawn(tiny_model, tiny_mnist, tmp_path, qtbot) -> None:
    from digitpad.gui.state.model_in_use import ModelInUse
    from digitpad.gui.train.finetune_panel import PROGRESS_STEPS, FinetunePanel
    from digitpad.gui.train.session import TrainingSession
    from digitpad.model.inference import Predictor

    store = SampleStore()
    for sample in sevens(40):
        store.add(sample)
    path = save_checkpoint(tmp_path / "tiny.safetensors", tiny_model, CheckpointInfo(tiny_model.config))
    model_in_use = ModelInUse()
    model_in_use.set(Predictor(tiny_model, CheckpointInfo(tiny_model.config), Path(path)))
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    session = TrainingSession(settings, data_loader=lambda _: tiny_mnist)
    panel = FinetunePanel(session, model_in_use)
    qtbot.addWidget(panel)
    panel.config = TINY
    panel.show()
    bar = panel.progress
    seen: list[tuple[int, str]] = []
    bar.valueChanged.connect(lambda value: seen.append((value, bar.format())))
    with qtbot.waitSignal(panel.finetuneFinished, timeout=60_000) as finished:
        qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)
    assert finished.args[0] is not None and not panel.thread.isRunning()
    session.shutdown()
    values = [value for value, _ in seen]
    assert values == sorted(values) and values[-1] == PROGRESS_STEPS
    # While re-drawing, the bar has moved, and its label says as much as the bar shows.
    redrawing = [(value, label) for value, label in seen if label.startswith("Re-drawing your samples · ")]
    assert redrawing and redrawing[-1][0] < PROGRESS_STEPS // 2
    for value, label in redrawing:
        percent = int(label.split(" · ")[1].rstrip("%"))
        assert percent >= 1 and abs(percent - 100 * value / PROGRESS_STEPS) <= 1
    assert any(label.startswith("Cross-validation 1/3") for _, label in seen)
