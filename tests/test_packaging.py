"""A plain ``pip install .`` carries what digitpad loads at run time: the shipped weights and the resources."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
#: What goes into the wheel's build: the project files, not the working clutter beside them.
SOURCES = ("pyproject.toml", "setup.py", "README.md", "LICENSE", "digitpad", "weights", "resources")

pytestmark = pytest.mark.slow


def shipped_files(folder: str) -> list[str]:
    """Data files in a top-level source folder that the installed package must contain."""
    root = REPO / folder
    return sorted(
        str(path.relative_to(root))
        for path in root.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix not in {".py", ".pyc"}
    )


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if importlib.util.find_spec("setuptools") is None:
        pytest.skip("setuptools is not installed")
    source = tmp_path_factory.mktemp("source")
    # Build from a copy, so that setuptools' build/ and egg-info folders stay out of the checkout.
    for name in SOURCES:
        path = REPO / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        elif path.is_file():
            shutil.copy2(path, source / name)
    out = tmp_path_factory.mktemp("wheel")
    command = [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "--no-build-isolation", "-w", str(out)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    (built,) = out.glob("digitpad-*.whl")
    return built


def test_wheel_contains_the_weights_and_resources(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "digitpad/_weights/digitpad-cnn.safetensors" in names
    for name in shipped_files("weights"):
        assert f"digitpad/_weights/{name}" in names, f"weights/{name} is not installed (package-data patterns?)"
    for name in shipped_files("resources"):
        assert f"digitpad/_resources/{name}" in names, f"resources/{name} is not installed (package-data patterns?)"
    # The code itself, every module of it (packages are found, not listed), and no tests or development folders.
    modules = {path.relative_to(REPO).as_posix() for path in (REPO / "digitpad").rglob("*.py")}
    assert {"digitpad/__init__.py", "digitpad/cli/__init__.py", "digitpad/gui/window/app.py"} <= modules
    missing = sorted(modules - names)
    assert not missing, f"modules left out of the wheel: {missing}"
    assert not any(name.startswith(("tests/", "bench/", "weights/", "resources/")) for name in names)


def test_installed_package_finds_its_weights(wheel: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    command = [sys.executable, "-m", "pip", "install", "--no-deps", "--no-compile", "--target", str(site), str(wheel)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    probe = (
        "import digitpad, digitpad.base.paths as p; "
        "print(digitpad.__file__); print(p.shipped_weights_path()); print(p.resources_dir())"
    )
    # Run outside the checkout, so that only the installed copy can be imported.
    env = {**os.environ, "PYTHONPATH": str(site)}
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    package, weights, resources = (Path(line) for line in result.stdout.splitlines())
    assert site in package.parents
    assert site in weights.parents and weights.is_file()
    assert weights.read_bytes() == (REPO / "weights" / "digitpad-cnn.safetensors").read_bytes()
    assert site in resources.parents and resources.is_dir()
