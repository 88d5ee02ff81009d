"""Predictor: the fast batch-1 path gives the eager model's numbers, and its thread setting stays local."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import numpy as np
import pytest
import torch
from torch import nn

from digitpad.ink.preprocess import preprocess
from digitpad.ink.strokes import Stroke, render
from digitpad.model import inference
from digitpad.model.inference import Predictor
from digitpad.model.network import DigitNet, ModelConfig

TOLERANCE = 1e-4


def random_trained_model(channels: tuple[int, ...]) -> DigitNet:
    """A DigitNet with random weights and non-trivial batch-norm statistics, in eval mode."""
    torch.manual_seed(1)
    model = DigitNet(ModelConfig(channels=channels))
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.2, 0.2)
                module.running_mean.uniform_(-0.3, 0.3)
                module.running_var.uniform_(0.5, 2.0)
    return model.eval()


def drawn_two(size: int = 400) -> np.ndarray:
    """A '2' drawn on a size x size pad with the pad's default pen."""
    stroke = Stroke()
    width = 0.07 * size
    for t in np.linspace(0.0, 1.0, 60):
        if t < 0.5:
            angle = np.pi * (1.0 - 2.2 * t)
            stroke.add(size * (0.5 + 0.17 * np.cos(angle)), size * (0.37 - 0.15 * np.sin(angle)), width)
        elif t < 0.8:
            u = (t - 0.5) / 0.3
            stroke.add(size * (0.65 - 0.33 * u), size * (0.45 + 0.32 * u), width)
        else:
            u = (t - 0.8) / 0.2
            stroke.add(size * (0.32 + 0.35 * u), size * 0.77, width)
    return render([stroke], size, size)


def inputs() -> list[np.ndarray]:
    """A realistic digit and random noise, both as the model's normalised 28x28 input."""
    stages = preprocess(drawn_two())
    assert stages is not None
    noise = np.random.default_rng(0).normal(0, 1, (28, 28)).astype(np.float32)
    return [stages.normalised, noise]


@pytest.mark.parametrize("channels", [(16, 32, 64), (32, 64, 128)])
def test_fast_path_matches_the_eager_model(channels: tuple[int, ...]) -> None:
    model = random_trained_model(channels)
    predictor = Predictor(model)
    assert predictor.optimised, "the TorchScript fast path failed to build; see the logged warning"
    for image in inputs():
        x = torch.from_numpy(image).view(1, 1, 28, 28)
        with torch.no_grad():
            logits, activations = model.forward_with_activations(x)
        expected = torch.softmax(logits[0], 0).numpy()
        plain, none = predictor.predict_input(image, with_activations=False)
        live, maps = predictor.predict_input(image, with_activations=True)
        assert none is None
        assert plain.dtype == np.float32 and plain.shape == (10,)
        np.testing.assert_allclose(plain, expected, atol=TOLERANCE, rtol=0)
        np.testing.assert_allclose(live, expected, atol=TOLERANCE, rtol=0)
        assert maps is not None and len(maps) == len(activations)
        for got, want in zip(maps, activations, strict=True):
            assert got.dtype == np.float32 and got.shape == tuple(want.shape[1:])
            np.testing.assert_allclose(got, want[0].numpy(), atol=TOLERANCE, rtol=TOLERANCE)


def test_shipped_weights_fast_path_matches_eager() -> None:
    predictor = Predictor.from_checkpoint()
    image = inputs()[0]
    with torch.no_grad():
        logits = predictor.model(torch.from_numpy(image).view(1, 1, 28, 28))[0]
        expected = torch.softmax(logits / predictor.temperature, 0).numpy()
    probabilities, _ = predictor.predict_input(image)
    np.testing.assert_allclose(probabilities, expected, atol=TOLERANCE, rtol=0)
    batch = predictor.predict_batch(np.stack(inputs()))
    np.testing.assert_allclose(batch[0], probabilities, atol=TOLERANCE, rtol=0)


def test_predict_on_a_canvas() -> None:
    predictor = Predictor(random_trained_model((16, 32, 64)))
    canvas = drawn_two()
    prediction = predictor.predict(canvas, with_activations=True)
    assert prediction is not None
    assert prediction.digit == int(prediction.probabilities.argmax())
    assert prediction.confidence == pytest.approx(float(prediction.probabilities.max()))
    assert prediction.probabilities.sum() == pytest.approx(1.0, abs=1e-5)
    assert [a.shape for a in prediction.activations] == [(16, 28, 28), (32, 14, 14), (64, 7, 7)]
    same = predictor.predict(canvas, bbox=prediction.stages.bbox)
    np.testing.assert_array_equal(same.probabilities, prediction.probabilities)
    assert same.activations is None
    assert predictor.predict(np.zeros((400, 400), np.float32)) is None


def test_falls_back_to_eager_when_tracing_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_trace(*args, **kwargs):
        raise RuntimeError("no TorchScript here")

    monkeypatch.setattr(torch.jit, "trace", broken_trace)
    model = random_trained_model((16, 32, 64))
    predictor = Predictor(model)
    assert not predictor.optimised
    image = inputs()[0]
    probabilities, maps = predictor.predict_input(image, with_activations=True)
    with torch.no_grad():
        expected = torch.softmax(model(torch.from_numpy(image).view(1, 1, 28, 28))[0], 0).numpy()
    np.testing.assert_allclose(probabilities, expected, atol=TOLERANCE, rtol=0)
    assert maps is not None and len(maps) == 3


def run_in_thread(function):
    result = []
    thread = threading.Thread(target=lambda: result.append(function()))
    thread.start()
    thread.join()
    return result[0]


def test_one_thread_for_prediction_leaves_other_threads_alone() -> None:
    """torch.set_num_threads is per thread here; prediction must not slow down a training thread."""
    original = torch.get_num_threads()
    predictor = Predictor(random_trained_model((16, 32, 64)))
    image = inputs()[0]
    run_in_thread(lambda: torch.set_num_threads(2))  # what new threads start with
    try:
        ready, go = threading.Event(), threading.Event()
        seen = {}

        def training_thread() -> None:
            torch.ones(64, 64) @ torch.ones(64, 64)  # torch initialises this thread's threads on first use
            seen["before"] = torch.get_num_threads()
            ready.set()
            go.wait()
            seen["after"] = torch.get_num_threads()

        trainer = threading.Thread(target=training_thread)
        trainer.start()
        ready.wait()

        def predict_and_count() -> tuple[int, int]:
            predictor.predict_input(image)
            during = torch.get_num_threads()
            predictor.predict_batch(np.stack([image] * 3))
            return during, torch.get_num_threads()

        assert run_in_thread(predict_and_count) == (1, 1)
        go.set()
        trainer.join()
        assert seen == {"before": 2, "after": 2}
        # A thread that starts using torch after a prediction still gets every core.
        assert run_in_thread(torch.get_num_threads) == 2
    finally:
        run_in_thread(lambda: torch.set_num_threads(original))


def test_thread_count_is_restored_around_batches() -> None:
    def batch_thread_count() -> tuple[int, int]:
        torch.set_num_threads(2)
        inference.use_one_thread_here()
        counts = []
        with inference.usual_threads():
            counts.append(torch.get_num_threads())
        counts.append(torch.get_num_threads())
        return tuple(counts)

    original = torch.get_num_threads()
    try:
        assert run_in_thread(batch_thread_count) == (2, 1)
    finally:
        run_in_thread(lambda: torch.set_num_threads(original))


def test_results_are_not_overwritten_by_the_next_prediction() -> None:
    """Activations are numpy views of the forward pass's outputs: a later call must not reuse that memory."""
    predictor = Predictor(random_trained_model((16, 32, 64)))
    first_image, second_image = inputs()
    probabilities, maps = predictor.predict_input(first_image, with_activations=True)
    kept = [a.copy() for a in maps]
    kept_probabilities = probabilities.copy()
    predictor.predict_input(second_image, with_activations=True)
    predictor.predict_input(second_image, with_activations=False)
    np.testing.assert_array_equal(probabilities, kept_probabilities)
    for now, before in zip(maps, kept, strict=True):
        np.testing.assert_array_equal(now, before)


def cpu_seconds_by_thread() -> dict[int, float]:
    """CPU seconds used so far by each thread of this process (Linux)."""
    ticks = os.sysconf("SC_CLK_TCK")
    seconds = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except FileNotFoundError:  # the thread ended meanwhile
            continue
        seconds[int(tid)] = (int(fields[11]) + int(fields[12])) / ticks
    return seconds


def share_done_by_helper_threads() -> float:
    """Run parallelisable torch work on the calling thread; the fraction of its CPU time spent in other threads."""
    x = torch.randn(32, 32, 56, 56)
    weight = torch.randn(32, 32, 3, 3)
    me = threading.get_native_id()
    before = cpu_seconds_by_thread()
    for _ in range(6):  # about 0.3 s of CPU: well above the 10 ms accounting tick
        torch.relu(torch.nn.functional.conv2d(x, weight, padding=1) * 2)
    after = cpu_seconds_by_thread()
    own = after.get(me, 0.0) - before.get(me, 0.0)
    helpers = sum(after[tid] - before.get(tid, 0.0) for tid in after if tid != me)
    return helpers / max(own + helpers, 1e-9)


@pytest.mark.skipif(
    not os.path.isdir("/proc/self/task") or (os.cpu_count() or 1) < 2, reason="needs Linux's /proc and 2+ CPUs"
)
def test_one_thread_for_prediction_really_runs_other_threads_in_parallel() -> None:
    """Not just the reported counts: CPU time shows which threads actually did the work."""
    original = torch.get_num_threads()
    run_in_thread(lambda: torch.set_num_threads(2))
    try:
        ready, go = threading.Event(), threading.Event()
        shares = {}

        def training_thread() -> None:
            shares["training, before"] = share_done_by_helper_threads()
            ready.set()
            go.wait()
            shares["training, after a prediction elsewhere"] = share_done_by_helper_threads()

        trainer = threading.Thread(target=training_thread)
        trainer.start()
        ready.wait()

        def predicting_thread() -> float:
            inference.use_one_thread_here()
            return share_done_by_helper_threads()

        shares["predicting thread"] = run_in_thread(predicting_thread)
        go.set()
        trainer.join()
        shares["thread started afterwards"] = run_in_thread(share_done_by_helper_threads)
        assert shares["predicting thread"] < 0.1, shares
        for name in ("training, before", "training, after a prediction elsewhere", "thread started afterwards"):
            assert shares[name] > 0.25, shares
    finally:
        run_in_thread(lambda: torch.set_num_threads(original))


def test_a_model_with_a_not_a_digit_class_gives_ten_digit_probabilities_and_the_rest_apart() -> None:
    torch.manual_seed(0)
    predictor = Predictor(DigitNet(ModelConfig(channels=(8, 16, 16), num_classes=11)).eval())
    canvas = np.zeros((100, 100), np.uint8)
    canvas[20:80, 45:55] = 255
    prediction = predictor.predict(canvas)
    assert prediction.probabilities.shape == (10,)
    assert 0.0 < prediction.not_digit < 1.0
    assert prediction.probabilities.sum() + prediction.not_digit == pytest.approx(1.0, abs=1e-5)
    assert prediction.confidence == pytest.approx(float(prediction.probabilities.max()))
    assert predictor.predict_batch(np.stack(inputs())).shape[1] == 11


THREAD_PROBE = """
import contextlib, os, sys
import torch
from digitpad.model import threads
torch.set_num_threads(2)
if sys.argv[1] == "two threads":  # the load as it was: on every core
    threads.one_thread = contextlib.nullcontext
from digitpad.gui.state.model_loading import load_startup_predictor
before = len(os.listdir("/proc/self/task"))
load_startup_predictor(None, None)  # on this thread, which lives on (as MainWindow(load_in_background=False) does)
print(len(os.listdir("/proc/self/task")) - before)
"""


def threads_left_by_a_startup_load(mode: str) -> int:
    probe = subprocess.run([sys.executable, "-c", THREAD_PROBE, mode], capture_output=True, text=True, timeout=120)
    assert probe.returncode == 0, probe.stderr
    return int(probe.stdout.split()[-1])


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="counts threads in /proc")
def test_loading_the_startup_model_gives_its_thread_no_openmp_helper() -> None:
    """A two-thread op gives a thread that lives on (the GUI thread) an OpenMP helper; with more OpenMP threads
    than cores, libgomp stops spinning and a training run in the Train tab's worker lost a fifth of its speed."""
    if threads_left_by_a_startup_load("two threads") == 0:
        pytest.skip("this torch build starts no helper thread for a two-thread op")
    assert threads_left_by_a_startup_load("one thread") == 0
