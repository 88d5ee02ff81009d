"""The core (every ``digitpad`` module outside ``digitpad/gui/``) imports and runs without Qt.

``digitpad train``, ``digitpad --help``, the benches and other programs use
the core on machines without a display or without PySide6 at all. The
modules are discovered from the source tree, so a new one is covered
without editing this file.
"""

from __future__ import annotations

import ast
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import digitpad

PACKAGE = Path(digitpad.__file__).resolve().parent
QT_PACKAGES = ("PySide6", "shiboken6", "pyqtgraph")
#: Not imported: the Qt layer itself, and ``python -m digitpad``'s entry, which runs the CLI on import
#: (the CLI is covered through ``digitpad.cli``).
NOT_CORE = {"digitpad.gui", "digitpad.__main__"}

#: Run in a fresh interpreter: block Qt, check the block works, import each module, run ``--help``.
PROBE = """
import contextlib, importlib, io, json, sys, traceback

BLOCKED = set(sys.argv[1].split(","))


class BlockQt:
    # A meta-path finder consulted before the real ones: Qt is "not installed".
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ImportError(f"{name} is blocked: the core must not import Qt")
        return None


sys.meta_path.insert(0, BlockQt())
result = {"blocking_works": False, "failures": {}, "help_status": None, "qt_loaded": []}
try:
    import PySide6.QtCore
except ImportError:
    result["blocking_works"] = True
for name in sys.argv[2].split(","):
    try:
        importlib.import_module(name)
    except BaseException:
        result["failures"][name] = traceback.format_exc()
from digitpad.cli import main

with contextlib.redirect_stdout(io.StringIO()):
    try:
        result["help_status"] = main(["--help"])
    except SystemExit as stop:
        result["help_status"] = stop.code
result["qt_loaded"] = sorted(name for name in sys.modules if name.partition(".")[0] in BLOCKED)
print(json.dumps(result))
"""


def core_modules(folder: Path = PACKAGE, prefix: str = "digitpad") -> list[str]:
    """Every module and package under ``folder`` except :data:`NOT_CORE`, found without importing them."""
    names = [prefix]
    for info in pkgutil.iter_modules([str(folder)]):
        name = f"{prefix}.{info.name}"
        if name in NOT_CORE:
            continue
        if info.ispkg:
            names.extend(core_modules(folder / info.name, name))
        else:
            names.append(name)
    return names


def test_discovery_finds_the_core() -> None:
    names = core_modules()
    assert {
        "digitpad.cli",
        "digitpad.training.loop",
        "digitpad.model.network",
        "digitpad.model.inference",
        "digitpad.model.checkpoint",
    } <= set(names)
    assert not any(name.startswith("digitpad.gui") for name in names)


def test_core_modules_import_without_qt() -> None:
    modules = core_modules()
    result = subprocess.run(
        [sys.executable, "-c", PROBE, ",".join(QT_PACKAGES), ",".join(modules)],
        cwd=PACKAGE.parent,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["blocking_works"], "`import PySide6` succeeded although it was blocked: the check checks nothing"
    failures = report["failures"]
    assert not failures, "core modules that need Qt:\n" + "\n".join(f"{name}:\n{tb}" for name, tb in failures.items())
    assert report["help_status"] in (0, None), "`digitpad --help` failed without Qt"
    assert report["qt_loaded"] == []


def qt_imports(path: Path) -> list[str]:
    """``file:line`` of every import of a Qt package in ``path``, at any depth (inside functions too)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        if any(name.partition(".")[0] in QT_PACKAGES for name in names):
            found.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}")
    return found


def module_path(name: str) -> Path:
    path = PACKAGE.parent.joinpath(*name.split("."))
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


@pytest.mark.parametrize("module", core_modules())
def test_core_module_has_no_qt_import_even_inside_functions(module: str) -> None:
    """Importing runs only module-level code: a Qt import inside a function would slip through the test above."""
    assert qt_imports(module_path(module)) == []
