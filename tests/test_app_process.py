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
