"""Start the app: QApplication, the main window, the event loop.

``DIGITPAD_EXIT_AFTER_SHOWN=1`` makes the app quit by itself, cleanly, once
the window is painted and the model is loaded: a smoke test for the whole
start-up that needs no person (tests and benches use it; it prints nothing).
``DIGITPAD_STARTUP_TIMES=FILE`` writes the wall-clock times (``time.time()``)
of the first paint and of the end of start-up there, as JSON, for the bench.
"""

from __future__ import annotations

import json
import os
import sys
import time

EXIT_AFTER_SHOWN_ENV = "DIGITPAD_EXIT_AFTER_SHOWN"
STARTUP_TIMES_ENV = "DIGITPAD_STARTUP_TIMES"

#: Qt warnings that say nothing about digitpad: platform plugins without a
#: window manager (offscreen, used in tests and CI) cannot pass size hints on.
HARMLESS_QT_MESSAGES = ("This plugin does not support propagateSizeHints()",)


def _install_qt_message_filter() -> None:
    """Pass Qt's messages to stderr as usual, except the known harmless ones."""
    from PySide6.QtCore import qInstallMessageHandler

    def handle(mode, context, message: str) -> None:
        if message in HARMLESS_QT_MESSAGES:
            return
        sys.stderr.write(message + "\n")

    qInstallMessageHandler(handle)


def run_app(weights: str | None = None) -> int:
    """Open the window (with ``weights``, else the last used or shipped ones) and run until it closes.

    Returns the exit status: Qt's, or 1 without starting Qt if system
    libraries its platform plugin needs are missing (Qt would abort the process).
    """
    from digitpad.gui.window.platform_check import startup_problem

    problem = startup_problem()
    if problem is not None:
        sys.stderr.write(problem + "\n")
        return 1

    from PySide6.QtCore import QCoreApplication, Qt
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication

    from digitpad.gui.state import preferences as prefs

    QCoreApplication.setOrganizationName(prefs.ORGANISATION)
    QCoreApplication.setApplicationName(prefs.APPLICATION)
    QGuiApplication.setDesktopFileName("digitpad")
    QGuiApplication.setHighDpiScaleFactorRoundingPolicy(Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
    _install_qt_message_filter()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationDisplayName("digitpad")
    app.setStyle("Fusion")

    from digitpad.gui.window.main_window import MainWindow, app_icon, call_when_started

    app.setWindowIcon(app_icon())
    window = MainWindow(weights, load_in_background=True)
    times_file = os.environ.get(STARTUP_TIMES_ENV)
    times: dict[str, float] = {}
    if times_file:

        def record(name: str) -> None:
            times[name] = time.time()
            with open(times_file, "w", encoding="utf-8") as stream:
                json.dump(times, stream)

        window.firstPainted.connect(lambda: record("painted"))
        window.startupFinished.connect(lambda: record("started"))
    if os.environ.get(EXIT_AFTER_SHOWN_ENV, "") not in ("", "0"):
        call_when_started(window, window.close)
    window.show()
    return app.exec()


def main() -> None:
    """Entry point of the ``digitpad-app`` GUI script: ``digitpad-app [--weights PATH]``.

    Parses its one option itself rather than through the ``digitpad`` command's
    parser, which imports the training code (and torch) before the window could show.
    """
    import argparse

    parser = argparse.ArgumentParser(prog="digitpad-app", description="Open the digitpad window.")
    parser.add_argument("--weights", metavar="PATH", help="weights to start with")
    args = parser.parse_args()
    sys.exit(run_app(weights=args.weights))
