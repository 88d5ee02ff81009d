"""Synthetic tablet events: a stylus with pressure, delivered as a person's pen would be.

The app's replay of a saved drawing sends these (File > Replay), and so do
the tests and benchmarks (:mod:`digitpad.gui.testing`): QApplication.sendEvent
takes the same route through Qt's event delivery as a real tablet. Nothing
here needs QtTest.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QInputDevice, QPointingDevice, QTabletEvent
from PySide6.QtWidgets import QApplication, QWidget

Point = tuple[float, float]

_devices: dict[bool, QPointingDevice] = {}


def stylus(eraser: bool = False) -> QPointingDevice:
    """A synthetic tablet stylus (its eraser end if ``eraser``), made once per kind."""
    if eraser not in _devices:
        capabilities = (
            QInputDevice.Capability.Position | QInputDevice.Capability.Pressure | QInputDevice.Capability.Hover
        )
        _devices[eraser] = QPointingDevice(
            "digitpad test eraser" if eraser else "digitpad test stylus",
            9100 + int(eraser),
            QInputDevice.DeviceType.Stylus,
            QPointingDevice.PointerType.Eraser if eraser else QPointingDevice.PointerType.Pen,
            capabilities,
            1,
            3,
        )
    return _devices[eraser]


def send_tablet_event(
    widget: QWidget, kind: QEvent.Type, position: Point, pressure: float, eraser: bool = False
) -> bool:
    """Deliver one QTabletEvent (TabletPress/Move/Release) at ``position`` in widget coordinates."""
    local = QPointF(*position)
    global_position = QPointF(widget.mapToGlobal(local))
    pressed = kind != QEvent.Type.TabletRelease
    event = QTabletEvent(
        kind,
        stylus(eraser),
        local,
        global_position,
        pressure if pressed else 0.0,
        0.0,
        0.0,
        0.0,
        0.0,
        0.0,
        Qt.KeyboardModifier.NoModifier,
        Qt.MouseButton.LeftButton,
        Qt.MouseButton.LeftButton if pressed else Qt.MouseButton.NoButton,
    )
    return QApplication.sendEvent(widget, event)
