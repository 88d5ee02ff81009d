"""The Train tab's settings form: a recipe to start from, the settings a user may change, the run's duration.

:meth:`SettingsForm.config` and :meth:`SettingsForm.model_config` are what
a run gets; :meth:`SettingsForm.load` and :meth:`SettingsForm.save` keep the
form between sessions under the keys in :mod:`digitpad.gui.state.preferences`.
Settings the form does not show (augmentation strengths, pen styles, seed,
channels) come from the chosen recipe.
"""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import QSettings, Qt, Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QFrame,
    QLabel,
    QPushButton,
    QSpinBox,
    QWidget,
)

from digitpad.gui.common.format import format_duration
from digitpad.gui.common.style import muted, titled_panel
from digitpad.gui.state import preferences as prefs
from digitpad.model.network import ModelConfig
from digitpad.model.tensors import available_devices, choose_device
from digitpad.training.config import TrainConfig
from digitpad.training.recipes import DEFAULT_RECIPE, RECIPES, Recipe, recipe_named

EPOCHS_RANGE = (1, 200)
BATCH_SIZE_RANGE = (8, 4096)
LEARNING_RATE_RANGE = (0.0001, 1.0)


class SettingsForm(QFrame):
    """Recipe, epochs, batch size, learning rate, device, augmentation, quick run; and the run's ETA.

    Signals:
        changed(): any setting changed (the ETA is then out of date).
    """

    changed = Signal()

    #: The "quick run" option: the first this many training images.
    QUICK_RUN_TRAIN_IMAGES = 10_000
    #: ... and this many test images for each epoch's evaluation (None: all).
    QUICK_RUN_TEST_IMAGES: int | None = None

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._recipe: Recipe = DEFAULT_RECIPE
        self._build()
        self.set_recipe(DEFAULT_RECIPE.name)
        for signal in (
            self.epochs_spin.valueChanged,
            self.batch_size_spin.valueChanged,
            self.learning_rate_spin.valueChanged,
            self.device_combo.currentIndexChanged,
            self.augment_check.toggled,
            self.quick_run_check.toggled,
        ):
            signal.connect(self.changed)

    def _build(self) -> None:
        _, layout = titled_panel("Settings", self)
        self.recipe_combo = QComboBox(objectName="recipeCombo")
        for recipe in RECIPES.values():
            self.recipe_combo.addItem(recipe.title, recipe.name)
            self.recipe_combo.setItemData(
                self.recipe_combo.count() - 1, recipe.description, Qt.ItemDataRole.ToolTipRole
            )
        self.recipe_combo.setToolTip("Where the settings start from; pick one, then change what you like")
        self.recipe_combo.activated.connect(lambda index: self.set_recipe(self.recipe_combo.itemData(index)))
        self.epochs_spin = _spin_box("epochsSpin", EPOCHS_RANGE)
        self.batch_size_spin = _spin_box("batchSizeSpin", BATCH_SIZE_RANGE, step=32)
        self.learning_rate_spin = QDoubleSpinBox(objectName="learningRateSpin", decimals=4)
        self.learning_rate_spin.setRange(*LEARNING_RATE_RANGE)
        self.learning_rate_spin.setSingleStep(0.001)
        self.learning_rate_spin.setToolTip("Peak learning rate of the one-cycle schedule (AdamW)")
        self.augment_check = QCheckBox("Augmentation", objectName="augmentCheck")
        self.augment_check.setToolTip(
            "Slant, rotate, stretch and thicken the training digits so the model also reads pen drawings"
        )
        self.device_combo = QComboBox(objectName="deviceCombo")
        for name in available_devices():
            self.device_combo.addItem(f"auto ({choose_device('auto').type})" if name == "auto" else name, name)
        self.quick_run_check = QCheckBox(objectName="quickRunCheck")
        self.quick_run_check.setToolTip("Train on a subset: a fast check of the settings, lower accuracy")
        self.defaults_button = QPushButton("Restore defaults", objectName="defaultsButton", flat=True)
        self.defaults_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.defaults_button.clicked.connect(self.restore_defaults)
        self.eta_label = muted(QLabel(objectName="etaLabel", wordWrap=True))
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        #: The form's rows: every input, locked together by :meth:`set_enabled`.
        self._rows = (
            ("Recipe", self.recipe_combo),
            ("Epochs", self.epochs_spin),
            ("Batch size", self.batch_size_spin),
            ("Learning rate", self.learning_rate_spin),
            ("Device", self.device_combo),
            ("", self.augment_check),
            ("", self.quick_run_check),
            ("", self.defaults_button),
        )
        for label, widget in self._rows:
            form.addRow(label, widget)
        layout.addLayout(form)
        layout.addWidget(self.eta_label)

    @property
    def recipe(self) -> Recipe:
        return self._recipe

    def config(self) -> TrainConfig:
        """The settings as shown, on top of the recipe's."""
        quick = self.quick_run_check.isChecked()
        return replace(
            self._recipe.train_config,
            epochs=self.epochs_spin.value(),
            batch_size=self.batch_size_spin.value(),
            learning_rate=self.learning_rate_spin.value(),
            augment=self.augment_check.isChecked(),
            device=self.device_combo.currentData() or "auto",
            train_subset=self.QUICK_RUN_TRAIN_IMAGES if quick else None,
            test_subset=self.QUICK_RUN_TEST_IMAGES if quick else None,
        )

    def model_config(self) -> ModelConfig:
        return self._recipe.model_config

    def describe(self, config: TrainConfig) -> str:
        """The log's line for a run of ``config`` from this form's recipe."""
        subset = f", first {config.train_subset:,} images" if config.train_subset else ""
        channels = "-".join(str(c) for c in self.model_config().channels)
        return (
            f"Training {config.epochs} epoch(s), recipe {self._recipe.title!r} (channels {channels}): "
            f"batch {config.batch_size}, learning rate {config.learning_rate:g}, "
            f"augmentation {'on' if config.augment else 'off'}, device {config.device}{subset}"
        )

    def set_config(self, config: TrainConfig, quick_run: bool = False) -> None:
        """Show ``config``'s epochs, batch size, learning rate, augmentation and device (clamped to the ranges)."""
        self.epochs_spin.setValue(config.epochs)
        self.batch_size_spin.setValue(config.batch_size)
        self.learning_rate_spin.setValue(config.learning_rate)
        self.augment_check.setChecked(config.augment)
        self.device_combo.setCurrentIndex(max(self.device_combo.findData(config.device), 0))
        self.quick_run_check.setText(f"Quick run (first {self.QUICK_RUN_TRAIN_IMAGES:,} images)")
        self.quick_run_check.setChecked(quick_run)

    @Slot(str)
    def set_recipe(self, name: str) -> None:
        """Start from the recipe called ``name`` (the default recipe if unknown): its settings fill the form."""
        self._recipe = recipe_named(name) or DEFAULT_RECIPE
        self.recipe_combo.setCurrentIndex(max(self.recipe_combo.findData(self._recipe.name), 0))
        self.set_config(self._recipe.train_config, quick_run=False)
        self.changed.emit()

    @Slot()
    def restore_defaults(self) -> None:
        self.set_recipe(DEFAULT_RECIPE.name)

    def show_estimate(self, seconds: float | None) -> None:
        """The run's duration measured on this machine (None: being measured)."""
        if seconds is None:
            self.eta_label.setText("Measuring how long a run takes here…")
        else:
            self.eta_label.setText(f"A run with these settings takes about {format_duration(seconds)} here.")

    def load(self, settings: QSettings) -> None:
        """The form as saved; a value that is missing or out of range keeps the recipe's."""
        self.set_recipe(prefs.read_str(settings, prefs.TRAIN_RECIPE_KEY, DEFAULT_RECIPE.name))
        base = self._recipe.train_config
        config = replace(
            base,
            epochs=prefs.read_int(settings, prefs.TRAIN_EPOCHS_KEY, base.epochs, *EPOCHS_RANGE),
            batch_size=prefs.read_int(settings, prefs.TRAIN_BATCH_SIZE_KEY, base.batch_size, *BATCH_SIZE_RANGE),
            learning_rate=prefs.read_float(
                settings, prefs.TRAIN_LEARNING_RATE_KEY, base.learning_rate, LEARNING_RATE_RANGE
            ),
            augment=prefs.read_bool(settings, prefs.TRAIN_AUGMENT_KEY, base.augment),
            device=prefs.read_str(settings, prefs.TRAIN_DEVICE_KEY, base.device),
        )
        self.set_config(config, quick_run=prefs.read_bool(settings, prefs.TRAIN_QUICK_RUN_KEY, False))

    def save(self, settings: QSettings) -> None:
        config = self.config()
        for key, value in (
            (prefs.TRAIN_RECIPE_KEY, self._recipe.name),
            (prefs.TRAIN_EPOCHS_KEY, config.epochs),
            (prefs.TRAIN_BATCH_SIZE_KEY, config.batch_size),
            (prefs.TRAIN_LEARNING_RATE_KEY, config.learning_rate),
            (prefs.TRAIN_AUGMENT_KEY, config.augment),
            (prefs.TRAIN_DEVICE_KEY, config.device),
            (prefs.TRAIN_QUICK_RUN_KEY, self.quick_run_check.isChecked()),
        ):
            settings.setValue(key, value)

    def set_enabled(self, enabled: bool) -> None:
        """Lock the form while a run or a download is going."""
        for _, widget in self._rows:
            widget.setEnabled(enabled)


def _spin_box(name: str, value_range: tuple[int, int], step: int = 1) -> QSpinBox:
    spin = QSpinBox(objectName=name)
    spin.setRange(*value_range)
    spin.setSingleStep(step)
    return spin
