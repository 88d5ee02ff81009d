"""The layers hold at run time: showing a prediction loads no training or training-data code.

``lint-imports`` (CI) checks the imports as written; this checks what a
fresh interpreter actually loads when it builds a :class:`Predictor` from
the shipped weights and reads a drawing, as the window and the CLI do.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import digitpad

REPO = Path(digitpad.__file__).resolve().parent.parent

PROBE = """
import json, sys
import numpy as np
from digitpad.model.inference import Predictor
from digitpad.model.gate import attach_gate
from digitpad.model.reader import Reader
from digitpad.ink.strokes import Stroke

predictor = attach_gate(Predictor.from_checkpoint())
stroke = Stroke(points=[(50.0, 20.0 + y) for y in range(0, 120, 4)], widths=[8.0] * 30, pressures=[0.5] * 30)
reading = Reader(predictor).read([stroke])
print(json.dumps({"text": reading.text, "loaded": sorted(n for n in sys.modules if n.startswith("digitpad"))}))
"""


def loaded_modules() -> tuple[str, list[str]]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=REPO, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    return report["text"], report["loaded"]


def test_a_prediction_loads_no_training_code() -> None:
    text, loaded = loaded_modules()
    assert text == "1"  # the probe really predicted, with the gate
    assert "digitpad.model.inference" in loaded and "digitpad.model.reader" in loaded
    assert [name for name in loaded if name.startswith(("digitpad.training", "digitpad.data"))] == []
    assert [name for name in loaded if name.startswith(("digitpad.gui", "digitpad.cli"))] == []
