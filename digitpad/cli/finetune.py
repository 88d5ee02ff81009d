"""``digitpad finetune``: fine-tune a model on the personal samples, mixed with MNIST."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from digitpad.cli.common import EXIT_OK, CliError, check_writable, load_data, read_checkpoint, write_checkpoint

if TYPE_CHECKING:
    from digitpad.training.finetune import FinetuneProgress


#: What progress is timed with, in the command and in the routine it runs (tests put a fake clock here).
clock: Callable[[], float] = time.perf_counter
#: A progress line at most this often, besides one at every new stage.
PRINT_EVERY_SECONDS = 1.0
#: ...and, within a stage, only when its percentage or the presence of a time left changed, or this long passed.
QUIET_SECONDS = 10.0


def format_eta(seconds: float) -> str:
    """42s, 3m05s, 1h02m."""
    whole = max(round(seconds), 0)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


def progress_line(event: FinetuneProgress) -> str:
    """``re-drawing your samples (1,250/5,000): 23% done, eta 1m05s``; no eta until the routine has one."""
    eta = "" if event.eta_seconds is None else f", eta {format_eta(event.eta_seconds)}"
    return f"{event.stage} ({event.stage_done:,}/{event.stage_total:,}): {event.fraction_done:.0%} done{eta}"


class ProgressPrinter:
    """Prints fine-tuning progress: a line at every new stage; within one, at most every PRINT_EVERY_SECONDS and
    only when it says something new (another percentage, a first time left), or after QUIET_SECONDS; never the
    same line twice in a row."""

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self.clock = clock
        self._time = -float("inf")
        self._said: tuple[str, str, bool] | None = None
        self._line = ""

    def __call__(self, event: FinetuneProgress) -> None:
        now, line = self.clock(), progress_line(event)
        said = (event.stage, f"{event.fraction_done:.0%}", event.eta_seconds is None)
        if self._worth_a_line(line, said, now):
            self._time, self._said, self._line = now, said, line
            print(line, flush=True)

    def _worth_a_line(self, line: str, said: tuple[str, str, bool], now: float) -> bool:
        if line == self._line:
            return False
        if self._said is None or self._said[0] != said[0]:
            return True  # a new stage
        since = now - self._time
        return since >= PRINT_EVERY_SECONDS and (said != self._said or since >= QUIET_SECONDS)


def _load_samples(folder: str | None) -> list:
    from digitpad.ink.samples import SampleStore, folder_problem

    store = SampleStore(folder)
    if folder is not None and not store.folder.is_dir():
        raise CliError(f"--samples {folder_problem(store.folder) or f'{folder}: no such folder'}")
    if folder_problem(store.folder):
        raise CliError(f"the samples folder: {folder_problem(store.folder)}")
    samples = store.load()
    for warning in store.warnings:
        print(f"digitpad: warning: {warning}", file=sys.stderr)
    if not samples:
        raise CliError(f"no personal samples in {store.folder}: teach some digits in the app (Draw tab) first")
    return samples


def finetune_command(args: argparse.Namespace) -> int:
    from digitpad.base.paths import shipped_weights_path, user_weights_dir
    from digitpad.ink.samples import sample_arrays, sample_strokes
    from digitpad.training.finetune import FinetuneConfig, finetune

    if args.steps is not None and args.steps < 1:
        raise CliError(f"--steps must be at least 1, not {args.steps}")
    out = Path(args.out) if args.out else user_weights_dir() / time.strftime("fine-tuned-%Y%m%d-%H%M%S.safetensors")
    check_writable(out)
    samples = _load_samples(args.samples)
    weights = Path(args.weights) if args.weights else shipped_weights_path()
    loaded = read_checkpoint(weights)
    data = load_data(args.data_dir)
    images, labels = sample_arrays(samples)
    # Every core: the command has no pad to keep live (the app's Train tab runs on one thread, see FinetuneConfig).
    config = FinetuneConfig(threads=None, **({} if args.steps is None else {"steps": args.steps}))
    print(f"fine-tuning {weights} on {len(samples)} personal samples, mixed with MNIST from {data.source}", flush=True)
    try:
        result = finetune(
            loaded.model,
            images,
            labels,
            data,
            config,
            base_info=loaded.info,
            strokes=sample_strokes(samples),
            progress=ProgressPrinter(clock),
            clock=clock,
        )
    except ValueError as error:
        raise CliError(str(error)) from error
    assert result is not None  # nothing asks it to stop
    saved = write_checkpoint(out, result.model, result.info)
    print(f"{'':24}{'before':>16}{'after':>16}")
    print(f"{'your digits (held out)':24}{result.personal_before.describe():>16}{result.personal_after.describe():>16}")
    print(f"{'MNIST test':24}{result.mnist_before:>16.2%}{result.mnist_after:>16.2%}")
    print(f"personal figures: {result.method}")
    print(f"fine-tuning took {result.seconds:.1f}s")
    print(f"saved {saved}")
    return EXIT_OK
