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
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QGridLayout, QLabel, QPushButton, QWidget

from digitpad.base.constants import NUM_CLASSES
from digitpad.gui.common.style import muted, small_font
from digitpad.gui.state.personal_samples import PersonalSamples
from digitpad.ink.characters import split_characters
from digitpad.ink.drawings import Drawing
from digitpad.ink.samples import SampleError, make_sample
from digitpad.ink.strokes import Stroke

TEACH_TIP = (
    "Store the drawing as a sample of your handwriting with that label (or press 0-9 on the pad). "
    "With a number on the pad, the selected digit is taught. Fine-tune on your samples in the Train tab."
)
_DIGIT_KEYS = {getattr(Qt.Key, f"Key_{digit}"): digit for digit in range(NUM_CLASSES)}


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
        self.pad.installEventFilter(self)
        samples.changed.connect(self.update_counts)
        samples.problem.connect(self.status.setText)
        self.update_counts()

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

    def teach(self, digit: int) -> bool:
        """Store the drawing (or the selected digit of a number) as a sample of ``digit``; True if stored."""
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
        else:
            self.status.setText(f"Taught a {digit} ({count})")
            self.pad.clear()
        self.taught.emit(sample)
        return True
