"""Where per-user files live: one root folder for data, weights, settings and samples."""

from __future__ import annotations

import os
import sys
from pathlib import Path

#: Overrides the per-user root folder (tests point it at a temporary folder).
HOME_ENV = "DIGITPAD_HOME"


def user_home() -> Path:
    """The per-user root folder (not created here).

    ``$DIGITPAD_HOME`` if set; else the platform's usual place for app data:
    ``%APPDATA%\\digitpad`` on Windows, ``~/Library/Application Support/digitpad``
    on macOS, ``$XDG_DATA_HOME/digitpad`` (default ``~/.local/share/digitpad``)
    elsewhere.
    """
    override = os.environ.get(HOME_ENV)
    if override:
        return Path(override).expanduser()
    if sys.platform == "win32":
        base = Path(os.environ.get("APPDATA") or Path.home() / "AppData" / "Roaming")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "digitpad"


def user_weights_dir() -> Path:
    """Default folder for weights the user trains or saves."""
    return user_home() / "weights"


def _packaged_folder(package: str, source_folder: str) -> Path:
    """A data folder shipped with digitpad.

    pyproject.toml maps the top-level ``weights/`` and ``resources/`` folders
    into the installed package as ``digitpad._weights`` and
    ``digitpad._resources``, so they are found after a plain ``pip install .``;
    running from a source checkout without installing finds them beside the
    package.
    """
    try:
        from importlib.resources import files

        folder = Path(str(files(package)))
        if folder.is_dir():
            return folder
    except (ModuleNotFoundError, TypeError):
        pass
    return Path(__file__).resolve().parent.parent / source_folder


def shipped_weights_dir() -> Path:
    return _packaged_folder("digitpad._weights", "weights")


def resources_dir() -> Path:
    return _packaged_folder("digitpad._resources", "resources")


#: File name of the weights that ship with digitpad.
SHIPPED_WEIGHTS_NAME = "digitpad-cnn.safetensors"


def shipped_weights_path() -> Path:
    return shipped_weights_dir() / SHIPPED_WEIGHTS_NAME


#: File name of the shipped gate, the network that says whether a drawing is a digit (see digitpad.model.gate).
SHIPPED_GATE_NAME = "digitpad-gate.safetensors"


def shipped_gate_path() -> Path:
    return shipped_weights_dir() / SHIPPED_GATE_NAME
