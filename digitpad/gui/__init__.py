"""The Qt window: a thin layer over the Qt-free core.

``from digitpad.gui import MainWindow`` is the entry point for tests and tools
(see docs/automation.md). The import is lazy so that ``digitpad.gui.common.image_io``
and friends can be used without building any widgets.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from digitpad.gui.window.main_window import MainWindow

__all__ = ["MainWindow"]


def __getattr__(name: str) -> type[MainWindow]:
    """The lazy ``MainWindow`` attribute (PEP 562)."""
    if name == "MainWindow":
        from digitpad.gui.window.main_window import MainWindow

        return MainWindow
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
