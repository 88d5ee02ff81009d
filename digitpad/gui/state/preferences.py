"""Preferences kept between runs, in one INI file under the per-user folder.

All per-user files (data, weights, settings) live in :func:`digitpad.base.paths.user_home`,
so the settings go there too rather than to the platform's registry or
~/.config: one folder to back up or delete, and tests get a private copy by
pointing ``$DIGITPAD_HOME`` at a temporary folder.
"""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QCoreApplication, QSettings

from digitpad.base.paths import user_home

ORGANISATION = "digitpad"
APPLICATION = "digitpad"
SETTINGS_FILE_NAME = "settings.ini"

#: Pen width as a fraction of the pad's height (float).
PEN_WIDTH_KEY = "draw/pen_width_fraction"
#: Path of the weights last used (str), absent for the shipped ones.
LAST_WEIGHTS_KEY = "model/last_weights"
WINDOW_GEOMETRY_KEY = "window/geometry"
LAST_TAB_KEY = "window/last_tab"
DRAW_SPLITTER_KEY = "draw/splitter"
DRAW_TOP_SPLITTER_KEY = "draw/top_splitter"
FEATURE_LAYER_KEY = "draw/feature_layer"
#: Whether readings adapt to the personal samples (bool, default true).
ADAPT_KEY = "draw/adapt_to_samples"

# The Train tab. Key names are those earlier versions wrote, so settings carry over.
#: The folder with MNIST chosen last (str).
TRAIN_DATA_DIR_KEY = "train/dataDir"
#: The file of real pen digits a run adds to MNIST (str path); absent for MNIST alone.
TRAIN_PEN_DATA_KEY = "train/penData"
#: The recipe the settings form started from (a name in digitpad.training.recipes.RECIPES).
TRAIN_RECIPE_KEY = "train/recipe"
TRAIN_EPOCHS_KEY = "train/epochs"
TRAIN_BATCH_SIZE_KEY = "train/batchSize"
TRAIN_LEARNING_RATE_KEY = "train/learningRate"
TRAIN_AUGMENT_KEY = "train/augment"
TRAIN_DEVICE_KEY = "train/device"
TRAIN_QUICK_RUN_KEY = "train/quickRun"


def open_settings() -> QSettings:
    """The app's QSettings, stored in ``<user home>/settings.ini``."""
    if not QCoreApplication.organizationName():
        QCoreApplication.setOrganizationName(ORGANISATION)
    if not QCoreApplication.applicationName() or QCoreApplication.applicationName() == "python":
        QCoreApplication.setApplicationName(APPLICATION)
    return QSettings(str(user_home() / SETTINGS_FILE_NAME), QSettings.Format.IniFormat)


def read_float(settings: QSettings, key: str, default: float, within: tuple[float, float] | None = None) -> float:
    """A float setting; ``default`` when absent, not a number (INI files store text) or, given ``within``, outside
    that range (NaN included)."""
    value = settings.value(key, default)
    try:
        number = float(value)
    except (TypeError, ValueError):
        return default
    return number if within is None or within[0] <= number <= within[1] else default


def read_int(settings: QSettings, key: str, default: int, low: int | None = None, high: int | None = None) -> int:
    """An int setting; ``default`` when absent, not a whole number, or outside [low, high]."""
    value = settings.value(key, default)
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        return default
    if (low is not None and number < low) or (high is not None and number > high):
        return default
    return number


def read_bool(settings: QSettings, key: str, default: bool) -> bool:
    """A bool setting; INI files store ``true``/``false`` as text."""
    value = settings.value(key, default)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "1", "yes", "false", "0", "no"):
        return value.strip().lower() in ("true", "1", "yes")
    return default


def read_str(settings: QSettings, key: str, default: str) -> str:
    """A text setting; ``default`` when absent or not text (a list, say)."""
    value = settings.value(key, default)
    return value if isinstance(value, str) else default


def read_bytes(settings: QSettings, key: str) -> QByteArray | None:
    """A saved window or splitter state; None when absent or not bytes (an edited INI can hold any text)."""
    value = settings.value(key)
    if isinstance(value, QByteArray):
        return value
    if isinstance(value, bytes | bytearray):
        return QByteArray(bytes(value))
    return None
