"""On a HiDPI screen the pad draws and predicts at device resolution (a child process with QT_SCALE_FACTOR=2)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

SCRIPT = """
from PySide6.QtWidgets import QApplication
app = QApplication([])
from digitpad.gui import MainWindow
from digitpad.gui.testing import draw_mouse_stroke, draw_tablet_stroke, line
window = MainWindow()
window.show()
app.processEvents()
pad = window.draw_tab.pad
assert pad.devicePixelRatioF() == 2.0, pad.devicePixelRatioF()
assert pad.device_scale() == 2.0
height, width = pad.ink_array().shape
assert (height, width) == (pad.height() * 2, pad.width() * 2), (pad.ink_array().shape, pad.size())
x = pad.width() / 2
draw_mouse_stroke(pad, line((x, pad.height() * 0.2), (x, pad.height() * 0.8), 30))
app.processEvents()
assert window.draw_tab.prediction_label.text() == "1", window.draw_tab.prediction_label.text()
# The stroke is as wide in device pixels as the pen is in logical ones, times two.
row = pad.ink_array()[height // 2]
inked = int((row > 127).sum())
expected = 2 * pad.pen_width()
assert abs(inked - expected) <= 3, (inked, expected)
window.close()
print("ok")
"""


def test_pad_renders_at_device_resolution(private_home: Path) -> None:
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "QT_SCALE_FACTOR": "2",
        "DIGITPAD_HOME": str(private_home),
        "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""),
    }
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
