"""Rewrite checkpoints' metadata in today's form, the tensors untouched.

Checkpoints written before it recorded the folder they were trained from
(``data.source``: a path on the machine that trained them, meaningless
anywhere else), the machine's device and threads in the recipe, and the
augmentation's ranges multiplied by its strength (``translate_px:
0.8999999999999999``). For each file this writes back, atomically
(``save_checkpoint``):

- ``data``: the name and the four files' MD5s of the MNIST in ``--data-dir``
  (``Mnist.description``: "MNIST" when they are the published files), the
  recorded image counts kept, the path dropped;
- ``recipe``: ``updated_recipe``: without device and threads, the
  augmentation as a strength and the ranges at full strength;

then reads the file again and checks that every tensor is the old one
(names, types, shapes, and a largest absolute difference of 0.0), printing
the old and new records and that difference.

    python bench/update_metadata.py --data-dir ../shared/data/mnist \\
        weights/digitpad-cnn.safetensors weights/digitpad-gate.safetensors

``--data-dir`` must be the data the weights were trained on: only the file
can say so, by the folder it names, and the script prints it to check.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

import torch
from safetensors.torch import load_file

# Run from a checkout without installing: the repository root comes first.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from digitpad.data.mnist import load_mnist
from digitpad.model.checkpoint import load_checkpoint, save_checkpoint
from digitpad.training.config import updated_recipe

#: Counts the data record keeps; anything else in it (the folder) is dropped.
KEPT_DATA = ("train_images", "test_images")


def largest_difference(old: dict[str, torch.Tensor], new: dict[str, torch.Tensor]) -> float:
    """The largest absolute difference over all tensors; raises if names, types or shapes differ."""
    if set(old) != set(new):
        raise SystemExit(f"tensor names differ: {sorted(set(old) ^ set(new))}")
    largest = 0.0
    for name, tensor in old.items():
        if tensor.dtype != new[name].dtype or tensor.shape != new[name].shape:
            raise SystemExit(f"{name}: {tensor.dtype} {tuple(tensor.shape)} became {new[name].dtype} {new[name].shape}")
        if tensor.numel():
            largest = max(largest, float((tensor.double() - new[name].double()).abs().max()))
    return largest


def update(path: Path, description: dict) -> None:
    old_tensors = load_file(path)
    loaded = load_checkpoint(path)
    info = loaded.info
    data = {**description, **{name: info.data[name] for name in KEPT_DATA if name in info.data}}
    print(f"{path}: recorded data folder {info.data.get('source', '(none)')!r}")
    print(f"  old recipe: {json.dumps(info.recipe, sort_keys=True)}")
    print(f"  old data:   {json.dumps(info.data, sort_keys=True)}")
    updated = replace(info, recipe=updated_recipe(info.recipe), data=data)
    save_checkpoint(path, loaded.model, updated)
    again = load_checkpoint(path).info
    print(f"  new recipe: {json.dumps(again.recipe, sort_keys=True)}")
    print(f"  new data:   {json.dumps(again.data, sort_keys=True)}")
    difference = largest_difference(old_tensors, load_file(path))
    print(f"  {len(old_tensors)} tensors, largest absolute difference old-new: {difference}")
    if difference != 0.0:
        raise SystemExit(f"{path}: the tensors changed")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", required=True, help="the MNIST folder the weights were trained on")
    parser.add_argument("weights", nargs="+", type=Path, help="checkpoints to rewrite in place")
    args = parser.parse_args()
    description = load_mnist(args.data_dir).description()
    print(f"data in {args.data_dir}: {description['name']}")
    for path in args.weights:
        update(path, description)


if __name__ == "__main__":
    main()
