"""The window's looks in one place: the palette, fonts and panel helpers.

Every colour the tabs use is named here once, as a hex string: Qt widgets
take it through :func:`qcolor`, pyqtgraph takes the string as it is. A new
colour goes here, not into a tab.

Not a window-wide style sheet: a style sheet on the window puts every widget
under QStyleSheetStyle, and then a repaint of any child (the 28x28 preview,
the digit) also repaints all its ancestors through the slower style, several
times per pen stroke.
"""

from __future__ import annotations

import re

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QBoxLayout, QFrame, QLabel, QLayout, QSizePolicy, QSplitter, QVBoxLayout, QWidget


class Palette:
    """Named colours (hex strings)."""

    #: The accent: the predicted digit, its bar, the training curves.
    ACCENT = "#2f6fde"
    #: Second series and "look here": test curves, the weakest digit's bar.
    SECOND = "#e8743b"
    #: A digit the model is unsure of; data that is not ready yet.
    UNSURE = "#d68910"
    #: Good news: data ready, a model at least as good as the one in use.
    GOOD = "#2e9d57"
    ERROR = "#c0392b"
    #: Plain bars of the ten-bar charts.
    BAR = "#a0b2c8"
    AXIS = "#9aa0aa"
    AXIS_TEXT = "#3c4048"
    #: Figures written on a chart.
    VALUE_TEXT = "#2a2e35"
    MUTED_TEXT = "#5c6370"
    PANEL = "#ffffff"
    #: The frame around the 28x28 preview.
    FRAME = "#787e88"
    #: The feature-map panel: dark, so that activations glow.
    DARK_PANEL = "#1e2127"
    DARK_PANEL_TEXT = "#c8ccd4"
    #: The drawing pad.
    PAPER = "#fcfcfa"
    PAD_HINT = "#a0a4ac"
    PAD_BORDER = "#c8ccd4"
    #: The saliency overlay (on the 28x28 input and the pad): what makes the digit this digit.
    SALIENCY = "#e0280f"
    SALIENCY_PEAK = "#ffd21f"
    #: The amber notice box.
    NOTICE_BACKGROUND = "#fff4e0"
    NOTICE_BORDER = "#e8b35a"
    NOTICE_TEXT = "#5a3b00"


def qcolor(hex_colour: str) -> QColor:
    """A QColor from one of the palette's hex strings."""
    return QColor(hex_colour)


WARNING_STYLE = (
    f"QLabel {{ background: {Palette.NOTICE_BACKGROUND}; border: 1px solid {Palette.NOTICE_BORDER}; "
    f"border-radius: 4px; padding: 8px 10px; color: {Palette.NOTICE_TEXT}; }}"
)


#: A run of text without spaces longer than this (a path, say) is shortened in
#: the middle: one unbreakable word sets a label's minimum width, and a very
#: long one made the whole window wider than any screen. Ordinary paths stay whole.
LONGEST_WORD = 200


def elide_long_words(text: str, longest: int = LONGEST_WORD) -> str:
    """``text`` with every run of more than ``longest`` non-space characters cut to its ends around "…"."""
    keep = (longest - 1) // 2

    def shorten(match: re.Match) -> str:
        word = match.group(0)
        return word[:keep] + "…" + word[-keep:]

    return re.sub(rf"\S{{{longest + 1},}}", shorten, text)


def set_text_colour(widget: QWidget, colour: QColor | str) -> None:
    palette = widget.palette()
    colour = qcolor(colour) if isinstance(colour, str) else colour
    palette.setColor(QPalette.ColorRole.WindowText, colour)
    palette.setColor(QPalette.ColorRole.Text, colour)
    widget.setPalette(palette)


def scaled_font(widget: QWidget, factor: float, bold: bool = False) -> QFont:
    font = QFont(widget.font())
    if font.pointSizeF() > 0:
        font.setPointSizeF(font.pointSizeF() * factor)
    else:
        font.setPixelSize(round(font.pixelSize() * factor))
    font.setBold(bold)
    return font


def small_font(widget: QWidget) -> QFont:
    """Axis and bar labels: a little smaller than the text around them, never unreadable."""
    font = QFont(widget.font())
    if font.pointSizeF() > 0:
        font.setPointSizeF(max(7.0, font.pointSizeF() * 0.85))
    return font


def section_title(text: str) -> QLabel:
    """A bold heading over a part of a tab."""
    label = QLabel(text, objectName="sectionTitle")
    label.setFont(scaled_font(label, 1.15, bold=True))
    return label


def muted(label: QLabel) -> QLabel:
    """Grey secondary text (captions, details)."""
    set_text_colour(label, Palette.MUTED_TEXT)
    return label


def warning(label: QLabel) -> QLabel:
    """An amber notice box (its style sheet applies to this label only)."""
    label.setStyleSheet(WARNING_STYLE)
    return label


def error_label(object_name: str) -> QLabel:
    """A red, selectable, word-wrapped message that stays hidden until it has text (see :func:`show_text`)."""
    label = QLabel(objectName=object_name, wordWrap=True)
    set_text_colour(label, Palette.ERROR)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
    label.setVisible(False)
    return label


def show_text(label: QLabel, text: str) -> None:
    """Set ``text`` (long paths shortened) and show the label only while there is some."""
    label.setText(elide_long_words(text))
    label.setVisible(bool(text))


def splitter(
    orientation: Qt.Orientation, *panes: QWidget, name: str = "", handle_width: int | None = None
) -> QSplitter:
    """A splitter of ``panes`` that cannot be collapsed (a pane dragged to nothing is hard to get back)."""
    result = QSplitter(orientation, objectName=name)
    for pane in panes:
        result.addWidget(pane)
    result.setChildrenCollapsible(False)
    if handle_width is not None:
        result.setHandleWidth(handle_width)
    return result


#: What :func:`box` takes: a widget or a layout, either with its stretch, an int (spacing) or None (a stretch).
BoxItem = QWidget | QLayout | tuple[QWidget | QLayout, int] | int | None


def box(
    layout: QBoxLayout,
    *items: BoxItem,
    margins: int | tuple[int, int, int, int] | None = None,
    spacing: int | None = None,
) -> QBoxLayout:
    """``layout`` filled with ``items`` in order (see :data:`BoxItem`), with ``margins`` and ``spacing`` if given."""
    if margins is not None:
        layout.setContentsMargins(*((margins,) * 4 if isinstance(margins, int) else margins))
    if spacing is not None:
        layout.setSpacing(spacing)
    for item in items:
        if item is None:
            layout.addStretch(1)
        elif isinstance(item, int):
            layout.addSpacing(item)
        else:
            child, stretch = item if isinstance(item, tuple) else (item, 0)
            if isinstance(child, QLayout):
                layout.addLayout(child, stretch)
            else:
                layout.addWidget(child, stretch)
    return layout


def titled_panel(title: str, frame: QFrame | None = None) -> tuple[QFrame, QVBoxLayout]:
    """A framed white panel with a heading (``frame`` made into one, or a new frame), and the layout to fill it with."""
    frame = frame if frame is not None else QFrame()
    frame.setFrameShape(QFrame.Shape.StyledPanel)
    frame.setAutoFillBackground(True)
    palette = frame.palette()
    palette.setColor(QPalette.ColorRole.Window, qcolor(Palette.PANEL))
    frame.setPalette(palette)
    return frame, box(QVBoxLayout(frame), section_title(title), margins=(12, 10, 12, 10), spacing=6)


def status_dot(colour: str, text: str) -> str:
    """Rich text: a coloured dot, then ``text`` (data status, comparisons)."""
    return f'<span style="color:{colour}; font-size:14pt;">●</span>&nbsp; {text}'
