"""``digitpad`` started as a process: it shows its window, then quits cleanly on request."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def run_app(home: Path, *arguments: str, extra_env: dict | None = None) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "DIGITPAD_HOME": str(home),
        "DIGITPAD_EXIT_AFTER_SHOWN": "1",
        "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""),
        **(extra_env or {}),
    }
    return subprocess.run(
        [sys.executable, "-m", "digitpad", *arguments],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_digitpad_opens_and_exits_cleanly(private_home: Path, tmp_path: Path) -> None:
    times = tmp_path / "times.json"
    result = run_app(private_home, extra_env={"DIGITPAD_STARTUP_TIMES": str(times)})
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert "QThread" not in result.stderr
    assert result.stderr.strip() == ""
    recorded = json.loads(times.read_text())
    assert recorded["painted"] <= recorded["started"]
    # Closing saved the preferences.
    assert (private_home / "settings.ini").is_file()


def test_digitpad_with_bad_weights_still_opens(private_home: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x80\x04 a pickle, refused")
    result = run_app(private_home, "gui", "--weights", str(bad))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "QThread" not in result.stderr


def test_digitpad_starts_when_it_was_closed_on_the_train_tab(private_home: Path) -> None:
    """The model loaded only once the Draw tab was painted: closed on the Train tab, the next start hung."""
    private_home.mkdir(parents=True, exist_ok=True)
    (private_home / "settings.ini").write_text("[window]\nlast_tab=1\n")
    result = run_app(private_home)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr


def test_digitpad_starts_with_a_damaged_settings_file(private_home: Path) -> None:
    """Hand-edited or corrupt values fall back to their defaults, quietly."""
    private_home.mkdir(parents=True, exist_ok=True)
    (private_home / "settings.ini").write_text(
        "[window]\ngeometry=hello\nlast_tab=zwei\n"
        "[draw]\nsplitter=hello\ntop_splitter=1, 2\npen_width_fraction=nan\nfeature_layer=99999999999999999999\n"
        "[model]\nlast_weights=1, 2\n"
        "[train]\nepochs=3000000000\nbatchSize=1e10\nlearningRate=nan\naugment=perhaps\nrecipe=1, 2\ndataDir=1, 2\n"
    )
    result = run_app(private_home)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "Error" not in result.stderr
