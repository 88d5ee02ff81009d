"""``digitpad finetune``: fine-tune a model on the personal samples, mixed with MNIST."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from digitpad.cli.common import EXIT_OK, CliError, check_writable, load_data, read_checkpoint, write_checkpoint


def _finetune_progress_printer():
    """A line every 2 s at most, and one per stage."""
    last = {"time": 0.0, "stage": ""}

    def report(event) -> None:
        now = time.monotonic()
        if now - last["time"] < 2 and event.stage == last["stage"]:
            return
        last.update(time=now, stage=event.stage)
        print(f"{event.stage}: {event.fraction_done:.0%} done, eta {event.eta_seconds:.0f}s", flush=True)

    return report


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
            progress=_finetune_progress_printer(),
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
