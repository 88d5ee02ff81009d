"""Missing X11 libraries are named, with the apt command, before Qt could abort the process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from digitpad.gui.window import platform_check
from digitpad.gui.window.platform_check import (
    XCB_LIBRARIES,
    missing_libraries_message,
    missing_system_libraries,
    qt_platform_name,
)

REPO = Path(__file__).resolve().parent.parent


def pretend_missing(monkeypatch: pytest.MonkeyPatch, *sonames: str) -> None:
    monkeypatch.setattr(platform_check, "library_loads", lambda soname: soname not in sonames)


def test_missing_libraries_are_named_as_packages_with_the_apt_command(monkeypatch: pytest.MonkeyPatch) -> None:
    pretend_missing(monkeypatch, "libxcb-icccm.so.4", "libxcb-cursor.so.0")
    missing = missing_system_libraries("xcb", system="linux")
    assert missing == ["libxcb-cursor0", "libxcb-icccm4"]
    message = missing_libraries_message(missing)
    assert "\n" not in message
    assert message.startswith("digitpad: ")
    assert message.endswith("sudo apt install libxcb-cursor0 libxcb-icccm4")


def test_nothing_missing_means_no_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    pretend_missing(monkeypatch)
    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")
    assert missing_system_libraries(system="linux") == []
    assert platform_check.startup_problem() is None


@pytest.mark.parametrize("platform", ["offscreen", "wayland", "minimal", "eglfs"])
def test_other_qt_platforms_are_not_checked(monkeypatch: pytest.MonkeyPatch, platform: str) -> None:
    def must_not_look(soname: str) -> bool:
        raise AssertionError(f"looked for {soname} although Qt runs on {platform}")

    monkeypatch.setattr(platform_check, "library_loads", must_not_look)
    assert missing_system_libraries(system="linux", environ={"QT_QPA_PLATFORM": platform}) == []


@pytest.mark.parametrize("system", ["darwin", "win32"])
def test_other_systems_are_not_checked(monkeypatch: pytest.MonkeyPatch, system: str) -> None:
    pretend_missing(monkeypatch, *XCB_LIBRARIES)
    assert missing_system_libraries("xcb", system=system) == []


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, "xcb"),
        ({"QT_QPA_PLATFORM": "xcb"}, "xcb"),
        ({"QT_QPA_PLATFORM": "xcb:nograb"}, "xcb"),
        ({"QT_QPA_PLATFORM": "offscreen"}, "offscreen"),
        ({"QT_QPA_PLATFORM": "wayland;xcb"}, "wayland"),
        ({"XDG_SESSION_TYPE": "wayland", "WAYLAND_DISPLAY": "wayland-0"}, "wayland"),
        ({"XDG_SESSION_TYPE": "x11", "DISPLAY": ":0"}, "xcb"),
    ],
)
def test_the_platform_qt_will_use(environ: dict[str, str], expected: str) -> None:
    assert qt_platform_name(environ) == expected


def test_the_real_lookup_finds_a_library_that_is_there_and_not_one_that_is_not() -> None:
    if sys.platform != "linux":
        pytest.skip("sonames are Linux's")
    assert platform_check.library_loads("libc.so.6")
    assert not platform_check.library_loads("libdigitpad-no-such-library.so.0")


#: Runs in a fresh interpreter: one library goes missing (the others are there), then the entry point runs.
FAKE_MISSING = """
import sys
from digitpad.gui.window import platform_check

platform_check.library_loads = lambda soname: soname != "libxcb-keysyms.so.1"
{start}
status = main()
assert "PySide6" not in sys.modules, "Qt was imported before the check"
sys.exit(status)
"""


@pytest.mark.parametrize(
    "start",
    [
        "from digitpad.gui.window.app import run_app as main",
        # What `digitpad` and `digitpad gui` run.
        "from digitpad.cli import main as cli\nmain = lambda: cli([])",
    ],
    ids=["run_app", "digitpad"],
)
def test_a_missing_library_exits_with_one_line_instead_of_aborting(private_home: Path, start: str) -> None:
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "xcb",
        "DIGITPAD_HOME": str(private_home),
        # Should the check let Qt start after all, the window closes by itself.
        "DIGITPAD_EXIT_AFTER_SHOWN": "1",
        "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""),
    }
    result = subprocess.run(
        [sys.executable, "-c", FAKE_MISSING.format(start=start)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    (line,) = result.stderr.splitlines()
    assert "libxcb-keysyms1" in line and line.endswith("sudo apt install libxcb-keysyms1")


def test_the_check_imports_no_qt() -> None:
    probe = "import sys, digitpad.gui.window.platform_check; assert 'PySide6' not in sys.modules"
    result = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
