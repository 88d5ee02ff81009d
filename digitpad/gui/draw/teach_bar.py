"""Teach buttons under the pad: store the drawing as a personal sample of a digit.

Buttons ``teachButton0`` ... ``teachButton9`` (and the keys 0-9 while the
pad has the focus) store what is on the pad as a sample of that digit: its
strokes with their timing and pressure, the 28x28 input the model reads from
them, the label and the time. A single digit is then cleared from the pad,
ready for the next one. With a number on the pad, the selected digit (the
one framed in the accent colour: the last written, or the one tapped) is
taught and the number stays, so that each of its digits can be taught in
turn. Under each button, how many samples of that digit there are ("…"
while the samples folder is read, in the background; teaching works then
too, and the sample is counted once the others are in).

The samples also adapt the readings at once (:mod:`digitpad.model.adapt`):
the bar gives them to the model in use whenever they change, so the pad is
read again right after teaching. Under the buttons, ``adaptToggle`` says how
many samples the readings adapt to and reads without them when unchecked
(remembered in the settings). Right-clicking the number read offers "This
is a 0" ... "This is a 9" (``correctionMenu``): it teaches the selected
digit as that one and keeps the drawing, so the correction shows at once.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QPoint, QSettings, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QCheckBox, QGridLayout, QLabel, QMenu, QPushButton, QWidget

from digitpad.base.constants import NUM_CLASSES
from digitpad.gui.common.style import muted, small_font
from digitpad.gui.state import preferences as prefs
from digitpad.gui.state.model_in_use import ModelInUse
from digitpad.gui.state.personal_samples import PersonalSamples
from digitpad.ink.characters import split_characters
from digitpad.ink.drawings import Drawing
from digitpad.ink.samples import SampleError, make_sample, sample_arrays
from digitpad.ink.strokes import Stroke

TEACH_TIP = (
    "Store the drawing as a sample of your handwriting with that label (or press 0-9 on the pad). "
    "With a number on the pad, the selected digit is taught. Fine-tune on your samples in the Train tab."
)
ADAPT_TIP = (
    "Your taught samples correct the next readings at once, with no training: a drawing like one of your "
    "samples that the network misread is read as you taught it. Uncheck to see what the network alone reads."
)
CORRECT_TIP = "Right-click the number to teach the selected digit as what it really is"
_DIGIT_KEYS = {getattr(Qt.Key, f"Key_{digit}"): digit for digit in range(NUM_CLASSES)}


class AdaptToggle(QCheckBox):
    """Whether readings adapt to the personal samples, and to how many (objectName ``adaptToggle``); the choice
    is kept in ``settings`` (the app's if None)."""

    def __init__(
        self, model_in_use: ModelInUse, settings: QSettings | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent, objectName="adaptToggle", toolTip=ADAPT_TIP)
        self.model_in_use = model_in_use
        self.settings = settings if settings is not None else prefs.open_settings()
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the pad keeps the focus (and the keys 0-9)
        self.setChecked(prefs.read_bool(self.settings, prefs.ADAPT_KEY, True))
        model_in_use.set_adaptation_enabled(self.isChecked())
        self.toggled.connect(self._on_toggled)
        model_in_use.adaptationChanged.connect(self.update_text)
        model_in_use.changed.connect(self.update_text)
        self.update_text()

    def _on_toggled(self, checked: bool) -> None:
        self.settings.setValue(prefs.ADAPT_KEY, checked)
        self.model_in_use.set_adaptation_enabled(checked)

    def update_text(self) -> None:
        count = self.model_in_use.adapted_count
        self.setEnabled(count > 0)
        plural = "" if count == 1 else "s"
        if not count:
            self.setText("No samples taught yet")
        elif self.model_in_use.adapting():
            self.setText(f"Adapting to your handwriting: reading your {count} samples…")
        else:
            self.setText(f"Adapted to your handwriting ({count} sample{plural})")


class TeachBar(QWidget):
    """Ten teach buttons with a count under each, and a line saying what was taught (objectName ``teachBar``).

    ``draw_tab`` is the Draw tab: its pad and its last reading (to know which
    digit of a number is selected). Signals: ``taught(PersonalSample)``.
    """

    taught = Signal(object)
    openSamples = Signal()

    def __init__(self, draw_tab: QWidget, samples: PersonalSamples, parent: QWidget | None = None) -> None:
        super().__init__(parent, objectName="teachBar")
        self.draw_tab = draw_tab
        self.pad = draw_tab.pad
        self.samples = samples
        self.buttons: list[QPushButton] = []
        self.count_labels: list[QLabel] = []
        layout = QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setHorizontalSpacing(4)
        layout.setVerticalSpacing(0)
        layout.addWidget(QLabel("Teach:", toolTip=TEACH_TIP), 0, 0)
        for digit in range(NUM_CLASSES):
            button = QPushButton(str(digit), objectName=f"teachButton{digit}")
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the pad keeps the focus (and the keys 0-9)
            button.setMinimumWidth(28)
            button.clicked.connect(lambda _=False, d=digit: self.teach(d))
            count = muted(QLabel("0", objectName=f"teachCount{digit}"))
            count.setFont(small_font(count))
            count.setAlignment(Qt.AlignmentFlag.AlignCenter)
            layout.addWidget(button, 0, digit + 1)
            layout.addWidget(count, 1, digit + 1)
            self.buttons.append(button)
            self.count_labels.append(count)
        self.samples_button = QPushButton("My samples…", objectName="mySamplesButton")
        self.samples_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.samples_button.clicked.connect(self.openSamples)
        layout.addWidget(self.samples_button, 0, NUM_CLASSES + 2)
        layout.setColumnStretch(NUM_CLASSES + 1, 1)
        self.status = muted(QLabel("", objectName="teachStatus"))
        self.status.setFont(small_font(self.status))
        layout.addWidget(self.status, 1, NUM_CLASSES + 2)
        self.model_in_use: ModelInUse = draw_tab.model_in_use
        self.adapt_toggle = AdaptToggle(self.model_in_use, parent=self)
        layout.addWidget(self.adapt_toggle, 2, 0, 1, NUM_CLASSES + 3, Qt.AlignmentFlag.AlignLeft)
        self.pad.installEventFilter(self)
        samples.changed.connect(self.update_counts)
        samples.changed.connect(self._feed_adaptation)
        samples.problem.connect(self.status.setText)
        self.update_counts()
        self._feed_adaptation()
        self._add_correction_menu(draw_tab.prediction_label)

    def _feed_adaptation(self) -> None:
        # Every change (a sample taught, deleted, relabelled, imported, the folder loaded) adapts the next reading.
        self.model_in_use.set_adaptation_samples(*sample_arrays(self.samples.samples))

    def _add_correction_menu(self, label: QLabel) -> None:
        label.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        label.customContextMenuRequested.connect(lambda position: self._show_correction_menu(label, position))
        label.setToolTip(f"{label.toolTip()}. {CORRECT_TIP}")

    def correction_menu(self) -> QMenu | None:
        """ "This is a 0" ... "This is a 9" for the digit shown (objectName ``correctionMenu``); None with none."""
        if self.draw_tab.last_prediction() is None or not self.isEnabled():
            return None
        menu = QMenu(self, objectName="correctionMenu")
        for digit in range(NUM_CLASSES):
            action = menu.addAction(f"This is a {digit}")
            action.setObjectName(f"correctAs{digit}")
            action.triggered.connect(lambda _=False, d=digit: self.teach(d, clear=False))
        return menu

    def _show_correction_menu(self, label: QLabel, position: QPoint) -> None:
        menu = self.correction_menu()
        if menu is not None:
            menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            menu.popup(label.mapToGlobal(position))

    def update_counts(self) -> None:
        loading = self.samples.is_loading()
        counts = self.samples.counts()
        for digit, (button, label) in enumerate(zip(self.buttons, self.count_labels, strict=True)):
            label.setText("…" if loading else str(counts[digit]))
            taught = "your samples are loading" if loading else f"{counts[digit]} taught so far"
            button.setToolTip(f"Teach: this drawing is a {digit} ({taught}). Key {digit}.")

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.pad and event.type() == QEvent.Type.KeyPress:
            key_event: QKeyEvent = event  # type: ignore[assignment]
            digit = _DIGIT_KEYS.get(Qt.Key(key_event.key()))
            plain = key_event.modifiers() in (Qt.KeyboardModifier.NoModifier, Qt.KeyboardModifier.KeypadModifier)
            if digit is not None and plain and self.isEnabled():
                self.teach(digit)
                return True
        return super().eventFilter(watched, event)

    def _selected_strokes(self) -> tuple[list[Stroke], bool]:
        """The strokes to teach (the selected character's, in drawing order) and whether it is part of a number."""
        strokes = self.pad.strokes
        reading, prediction = self.draw_tab.last_reading(), self.draw_tab.last_prediction()
        # The characters of the reading shown (the model may join groups geometry split: a two-stroke 4).
        characters = [c.character for c in reading.characters] if reading is not None else []
        characters = characters or split_characters(strokes)
        if len(characters) <= 1:
            return strokes, False
        chosen = characters[-1]
        if reading is not None and reading.characters:
            shown = [c.character for c in reading.characters if c.prediction is prediction]
            chosen = shown[0] if shown else reading.characters[-1].character
        return [strokes[i] for i in sorted(chosen.strokes + chosen.erasers)], True

    def teach(self, digit: int, clear: bool = True) -> bool:
        """Store the drawing (or the selected digit of a number) as a sample of ``digit``; True if stored.

        A single digit is then cleared from the pad unless ``clear`` is False (a correction: the drawing stays,
        read again as the sample now adapts it)."""
        strokes, in_number = self._selected_strokes()
        drawing = Drawing(strokes, (float(self.pad.width()), float(self.pad.height())), self.pad.pen_width())
        try:
            sample = make_sample(drawing, digit)
        except SampleError as error:
            self.status.setText(str(error).capitalize())
            return False
        if self.samples.add(sample) is None:
            return False
        count = "your samples are loading" if self.samples.is_loading() else f"{self.samples.counts()[digit]} so far"
        if in_number:
            self.status.setText(f"Taught the selected digit as a {digit} ({count})")
        elif not clear:
            self.status.setText(f"Taught it as a {digit} ({count})")
        else:
            self.status.setText(f"Taught a {digit} ({count})")
            self.pad.clear()
        self.taught.emit(sample)
        return True
