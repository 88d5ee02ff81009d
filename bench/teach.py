"""Teach the app a writer's hand and measure what it changes: the dev writers through the real pad.

For each dev writer with at least 50 digits and 4 of each digit (ja, pe, py, re):

1. a fresh per-user folder and the whole window (``MainWindow``, shipped
   weights, a 400x400 pad);
2. 3 of each of the writer's digits (chosen at random, seeded) are drawn on
   the pad as Qt mouse events and taught with the ``teachButton<digit>``
   buttons (a real click each);
3. the writer's other digits are replayed through the pad with the model
   before, reading ``predictionLabel``;
4. ``digitpad finetune`` runs (a subprocess, as a user would run it) on the
   samples the buttons stored;
5. the other digits are replayed again with the fine-tuned model.

Printed per writer: errors on the other digits before and after, the
fine-tuning time (the command's own figure and its wall time), MNIST test
accuracy after. Then, with the Train tab's *Fine-tune with my samples*
running in its worker thread on the last writer's samples while a pen
draws on the pad (60 mouse events a second), the GUI event loop's longest
stall (a 5 ms timer, as ``bench/ui_stall.py`` measures it).

Targets: errors after <= 1/3 of before for every writer, none worse; MNIST
>= 99.5%; fine-tuning <= 30 s (median) on a quiet 2-core machine; longest
stall <= 50 ms.

    DIGITPAD_MNIST_DIR=../shared/data/mnist python bench/teach.py [--writers ja,pe] [--no-stall]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
from drawn_digits import DEFAULT_DATA, PAD_SIZE, PlacedDigit, load_unipen, place_samples  # noqa: E402
from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication, QLabel, QPushButton  # noqa: E402
from ui_stall import GapRecorder, PenFeeder, summarise, wait  # noqa: E402

from digitpad.base.paths import HOME_ENV, shipped_weights_path  # noqa: E402
from digitpad.data.mnist import MNIST_DIR_ENV, resolve_data_dir  # noqa: E402
from digitpad.gui.testing import draw_on_pad, fix_pad_size  # noqa: E402
from digitpad.training.finetune import FinetuneConfig  # noqa: E402

WRITERS = ("ja", "pe", "py", "re")
TAUGHT_PER_DIGIT = 3
STALL_TARGET_MS = 50.0
#: Seconds of drawing without fine-tuning before it starts (the baseline of the stall measurement).
BASELINE_SECONDS = 10.0
SECONDS_TARGET = 30.0


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def choose_taught(drawings: list[PlacedDigit], seed: int) -> tuple[list[PlacedDigit], list[PlacedDigit]]:
    """(3 of each digit to teach, the rest) of a writer's placed digits, chosen at random (seeded)."""
    rng = np.random.default_rng(seed)
    taught: set[int] = set()
    for digit in range(10):
        indices = [i for i, drawing in enumerate(drawings) if drawing.label == digit]
        taught.update(int(i) for i in rng.choice(indices, TAUGHT_PER_DIGIT, replace=False))
    return [drawings[i] for i in sorted(taught)], [d for i, d in enumerate(drawings) if i not in taught]


class PadSession:
    """A MainWindow with a fixed 400x400 pad in a per-user folder of its own."""

    def __init__(self, app: QApplication, home: Path) -> None:
        os.environ[HOME_ENV] = str(home)
        from digitpad.gui import MainWindow

        self.app = app
        self.window = MainWindow(weights=shipped_weights_path())
        self.window.resize(1280, 860)
        self.window.show()
        self.window.tabs.setCurrentIndex(0)
        self.pad = self.window.draw_tab.pad
        fix_pad_size(app, self.window, self.pad, PAD_SIZE, PAD_SIZE)
        self.label = self.window.findChild(QLabel, "predictionLabel")

    def draw(self, drawing: PlacedDigit) -> str:
        self.pad.clear()
        draw_on_pad(self.pad, drawing, tablet=False)
        self.app.processEvents()
        return self.label.text()

    def teach(self, drawing: PlacedDigit) -> None:
        self.draw(drawing)
        button = self.window.findChild(QPushButton, f"teachButton{drawing.label}")
        QTest.mouseClick(button, Qt.MouseButton.LeftButton)
        self.app.processEvents()

    def errors(self, drawings: list[PlacedDigit]) -> list[tuple[int, str]]:
        return [(d.label, text) for d in drawings if (text := self.draw(d)) != str(d.label)]

    def use_weights(self, path: Path) -> None:
        from digitpad.model.inference import Predictor

        self.window.use_predictor(Predictor.from_checkpoint(path))

    def close(self) -> None:
        self.window.close()
        self.window.deleteLater()
        self.app.processEvents()


def run_finetune_command(home: Path, data_dir: Path, out: Path) -> tuple[dict, float, str]:
    """``digitpad finetune`` in a subprocess: (figures parsed from its output, wall seconds, output)."""
    env = {**os.environ, HOME_ENV: str(home), "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "digitpad", "finetune", "--data-dir", str(data_dir), "--out", str(out)]
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"digitpad finetune failed: {done.stderr.strip()}")
    text = done.stdout
    mnist = re.search(r"^MNIST test\s+([\d.]+)%\s+([\d.]+)%", text, re.M)
    personal = re.search(r"^your digits \(held out\)\s+(\S+ \(\d+%\))\s+(\S+ \(\d+%\))", text, re.M)
    seconds = re.search(r"fine-tuning took ([\d.]+)s", text)
    figures = {
        "mnist_before": float(mnist.group(1)) / 100,
        "mnist_after": float(mnist.group(2)) / 100,
        "personal_before": personal.group(1),
        "personal_after": personal.group(2),
        "seconds": float(seconds.group(1)),
    }
    return figures, wall, text


def bench_writer(app: QApplication, writer: str, samples: list[dict], data_dir: Path, seed: int) -> dict:
    drawings = place_samples([s for s in samples if s["writer"] == writer], PAD_SIZE, seed=seed)
    taught, others = choose_taught(drawings, seed)
    home = Path(tempfile.mkdtemp(prefix=f"digitpad-teach-{writer}-"))
    session = PadSession(app, home)
    try:
        for drawing in taught:
            session.teach(drawing)
        stored = len(list((home / "samples").glob("*.json")))
        before = session.errors(others)
        print(
            f"{writer}: taught {stored} digits with the buttons; {len(others)} others, "
            f"{len(before)} misread before; running digitpad finetune (load {load_average()})",
            flush=True,
        )
        out = home / "weights" / "fine-tuned.safetensors"
        figures, wall, _ = run_finetune_command(home, data_dir, out)
        session.use_weights(out)
        after = session.errors(others)
    finally:
        session.close()
    return {"writer": writer, "taught": stored, "others": len(others), "before": before, "after": after,
            "wall": wall, "home": home, **figures}  # fmt: skip


def measure_stall(app: QApplication, home: Path, data_dir: Path) -> dict:
    """The longest GUI stall while the Train tab fine-tunes on ``home``'s samples and a pen draws on the pad."""
    session = PadSession(app, home)
    window = session.window
    try:
        panel = window.train_tab.finetune_panel
        window.train_tab.set_data_dir(data_dir)
        window.train_tab.session.prepare()
        window.train_tab.wait_until_prepared(120)
        outcome: list = []
        panel.finetuneFinished.connect(outcome.append)
        recorder = GapRecorder()
        pen = PenFeeder(session.pad, window.findChild(QPushButton, "clearButton"))
        # First the pen alone for a while: what the GUI and the machine's load cost without fine-tuning.
        recorder.phase = "pen only"
        recorder.start()
        pen.timer.start()
        wait(app, lambda: False, BASELINE_SECONDS)
        baseline = summarise(recorder.gaps, recorder.phases)
        recorder.start()
        recorder.phase = "fine-tuning"
        started = time.perf_counter()
        if not panel.start():
            raise SystemExit(f"the Train tab did not start fine-tuning: {panel.start_button.toolTip()}")
        wait(app, lambda: bool(outcome), 900)
        seconds = time.perf_counter() - started
        pen.timer.stop()
        recorder.stop()
        stats = summarise(recorder.gaps, recorder.phases)
        stats.update(seconds=seconds, pen_events=pen.events, ok=outcome[0] is not None, baseline=baseline)
        return stats
    finally:
        session.close()


def report(results: list[dict], stall: dict | None) -> None:
    print()
    print(f"{'writer':8}{'taught':>8}{'others':>8}{'errors before':>15}{'errors after':>14}"
          f"{'fine-tune s':>13}{'wall s':>8}{'MNIST after':>13}   held-out personal before -> after")  # fmt: skip
    for r in results:
        print(f"{r['writer']:8}{r['taught']:>8}{r['others']:>8}{len(r['before']):>15}{len(r['after']):>14}"
              f"{r['seconds']:>13.1f}{r['wall']:>8.1f}{r['mnist_after']:>13.2%}   "
              f"{r['personal_before']} -> {r['personal_after']}")  # fmt: skip
    for r in results:
        print(f"  {r['writer']} misread before: {r['before']}; after: {r['after']}")
    steps = FinetuneConfig().steps * (FinetuneConfig().folds + 1)
    median = statistics.median(r["seconds"] for r in results)
    print(f"fine-tuning: median {median:.1f} s for {steps} steps ({median / steps * 1000:.0f} ms per step "
          "of 64 images, the MNIST test evaluations before and after included)")  # fmt: skip
    verdicts = {
        "errors after <= 1/3 of before, none worse": all(
            len(r["after"]) <= len(r["before"]) / 3 and len(r["after"]) <= len(r["before"]) for r in results
        ),
        "MNIST after >= 99.5%": all(r["mnist_after"] >= 0.995 for r in results),
        f"fine-tuning <= {SECONDS_TARGET:.0f} s (median)": median <= SECONDS_TARGET,
    }
    if stall is not None:
        print(f"GUI while the Train tab fine-tunes ({stall['seconds']:.1f} s, {stall['pen_events']} pen events): "
              f"longest stall {stall['longest']:.1f} ms, p99 gap {stall['p99']:.1f} ms, "
              f"{stall['over_target']} gaps over {STALL_TARGET_MS:.0f} ms; the worst: "
              f"{', '.join(f'{ms:.0f} ms' for ms, _ in stall['worst'])}")  # fmt: skip
        base = stall["baseline"]
        print(f"the same pen for {BASELINE_SECONDS:.0f} s before, without fine-tuning: longest stall "
              f"{base['longest']:.1f} ms, p99 gap {base['p99']:.1f} ms, {base['over_target']} gaps over "
              f"{STALL_TARGET_MS:.0f} ms")  # fmt: skip
        verdicts[f"longest stall <= {STALL_TARGET_MS:.0f} ms"] = stall["longest"] <= STALL_TARGET_MS
    for name, ok in verdicts.items():
        print(f"target {name}: {'met' if ok else 'NOT met'}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writers", default=",".join(WRITERS))
    parser.add_argument("--data-dir", type=Path, help=f"MNIST (default: ${MNIST_DIR_ENV})")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-stall", action="store_true", help="skip the GUI stall measurement")
    args = parser.parse_args()
    data_dir = resolve_data_dir(args.data_dir)
    samples = load_unipen(DEFAULT_DATA)
    print(f"load average {load_average()} (at the start); {os.cpu_count()} cores", flush=True)
    app = QApplication.instance() or QApplication([])
    results = [bench_writer(app, writer, samples, data_dir, args.seed) for writer in args.writers.split(",")]
    stall = None if args.no_stall else measure_stall(app, results[-1]["home"], data_dir)
    report(results, stall)
    print(f"load average {load_average()} (at the end)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
