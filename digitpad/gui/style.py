"""Looks shared by the window's widgets, set with fonts and palettes.

Not a window-wide style sheet: a style sheet on the window puts every widget
under QStyleSheetStyle, and then a repaint of any child (the 28x28 preview,
the digit) also repaints all its ancestors through the slower style, several
times per pen stroke.
"""

from __future__ import annotations

from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QFrame, QLabel, QWidget

MUTED_TEXT = QColor(92, 99, 112)
PANEL_BACKGROUND = QColor(255, 255, 255)
WARNING_STYLE = (
    "QLabel { background: #fff4e0; border: 1px solid #e8b35a; border-radius: 4px; padding: 8px 10px; color: #5a3b00; }"
)


def set_text_colour(widget: QWidget, colour: QColor) -> None:
    palette = widget.palette()
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


def section_title(text: str) -> QLabel:
    """A bold heading over a part of a tab."""
    label = QLabel(text)
    label.setObjectName("sectionTitle")
    label.setFont(scaled_font(label, 1.15, bold=True))
    return label


def muted(label: QLabel) -> QLabel:
    """Grey secondary text (captions, details)."""
    set_text_colour(label, MUTED_TEXT)
    return label


def warning(label: QLabel) -> QLabel:
    """An amber notice box (its style sheet applies to this label only)."""
    label.setStyleSheet(WARNING_STYLE)
    return label


def white_panel(frame: QFrame) -> QFrame:
    """A framed white panel that groups results."""
    frame.setFrameShape(QFrame.Shape.StyledPanel)
    frame.setAutoFillBackground(True)
    palette = frame.palette()
    palette.setColor(QPalette.ColorRole.Window, PANEL_BACKGROUND)
    frame.setPalette(palette)
    return frame
