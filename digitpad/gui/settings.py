"""Preferences kept between runs, in one INI file under the per-user folder.

All per-user files (data, weights, settings) live in :func:`digitpad.paths.user_home`,
so the settings go there too rather than to the platform's registry or
~/.config: one folder to back up or delete, and tests get a private copy by
pointing ``$DIGITPAD_HOME`` at a temporary folder.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QSettings

from digitpad.paths import user_home

ORGANISATION = "digitpad"
APPLICATION = "digitpad"
SETTINGS_FILE_NAME = "settings.ini"

#: Pen width as a fraction of the pad's height (float).
PEN_WIDTH_KEY = "draw/pen_width_fraction"
#: Path of the weights last used (str), absent for the shipped ones.
LAST_WEIGHTS_KEY = "model/last_weights"
WINDOW_GEOMETRY_KEY = "window/geometry"
WINDOW_STATE_KEY = "window/state"
LAST_TAB_KEY = "window/last_tab"
DRAW_SPLITTER_KEY = "draw/splitter"
DRAW_TOP_SPLITTER_KEY = "draw/top_splitter"
FEATURE_LAYER_KEY = "draw/feature_layer"


def open_settings() -> QSettings:
    """The app's QSettings, stored in ``<user home>/settings.ini``."""
    if not QCoreApplication.organizationName():
        QCoreApplication.setOrganizationName(ORGANISATION)
    if not QCoreApplication.applicationName() or QCoreApplication.applicationName() == "python":
        QCoreApplication.setApplicationName(APPLICATION)
    return QSettings(str(user_home() / SETTINGS_FILE_NAME), QSettings.Format.IniFormat)


def read_float(settings: QSettings, key: str, default: float) -> float:
    """A float setting; ``default`` when absent or not a number (INI files store text)."""
    value = settings.value(key, default)
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def read_int(settings: QSettings, key: str, default: int) -> int:
    value = settings.value(key, default)
    try:
        return int(value)
    except (TypeError, ValueError):
        return default
