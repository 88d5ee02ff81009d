"""``digitpad calibrate``: fit the temperature of a checkpoint on MNIST's test set and write it back."""

from __future__ import annotations

import argparse
from pathlib import Path

from digitpad.cli.common import EXIT_OK, CliError, check_writable, load_data, read_checkpoint, write_checkpoint

#: Fewer test images than this fit no temperature worth storing (half fit it, half check it): two images
#: once fitted 0.05, the search's bound, and the file was written as if calibrated.
MIN_CALIBRATION_IMAGES = 200


def _calibration_target(weights: Path, out: str | None) -> Path:
    """Where ``digitpad calibrate`` writes: --out, else over --weights unless those are the shipped ones."""
    from digitpad.base.paths import shipped_weights_dir

    if out is not None:
        check_writable(Path(out))  # a folder, a FIFO or a device is refused before any work
        return Path(out)
    if weights.resolve().parent == shipped_weights_dir().resolve():
        raise CliError(f"{weights}: these are the shipped weights; to rewrite them, name the file with --out")
    return weights


def calibrate_command(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from digitpad.model.temperature import CALIBRATION_METRIC
    from digitpad.training.calibration import calibrate

    weights = Path(args.weights)
    out = _calibration_target(weights, args.out)
    loaded = read_checkpoint(weights)
    data = load_data(args.data_dir)
    if len(data.test_images) < MIN_CALIBRATION_IMAGES:
        raise CliError(
            f"{data.source}: {len(data.test_images)} test images; a temperature needs at least "
            f"{MIN_CALIBRATION_IMAGES} (half to fit it, half to check it)"
        )
    try:
        calibration = calibrate(loaded.model, data.test_images, data.test_labels)
    except ValueError as error:
        raise CliError(f"{data.source}: {error}") from error
    print(f"weights: {weights}")
    print(f"fitted on {calibration.fitted_on}")
    print(f"temperature: {calibration.temperature:.4f}")
    print(f"NLL: {calibration.nll_before:.4f} -> {calibration.nll_after:.4f}")
    print(f"ECE: {calibration.ece_before:.4f} -> {calibration.ece_after:.4f}")
    # Only the metrics change: the tensors are written back as they were loaded.
    metrics = {**loaded.info.metrics, CALIBRATION_METRIC: calibration.to_dict()}
    print(f"saved {write_checkpoint(out, loaded.model, replace(loaded.info, metrics=metrics))}")
    return EXIT_OK
