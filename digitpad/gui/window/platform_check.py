"""Before Qt starts: are the system libraries its X11 (xcb) platform plugin needs there?

PySide6's wheels carry Qt but not the X11 client libraries its xcb plugin
links against. On a minimal Debian or Ubuntu some are missing, and Qt then
aborts the process (SIGABRT, core dump) with "Could not load the Qt platform
plugin xcb" and a hint nobody can act on. Checking first lets ``digitpad``
name the packages to install and exit with status 1 instead.

Qt-free on purpose: it runs before anything imports PySide6.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Mapping

#: Shared library (soname) -> the Debian/Ubuntu package that ships it: what
#: Qt's xcb plugin (libqxcb.so, libQt6XcbQpa.so.6) loads, the usual
#: culprits on a bare system first.
XCB_LIBRARIES: dict[str, str] = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libEGL.so.1": "libegl1",
    "libfontconfig.so.1": "libfontconfig1",
    "libdbus-1.so.3": "libdbus-1-3",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb.so.1": "libxcb1",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libX11.so.6": "libx11-6",
    "libxkbcommon.so.0": "libxkbcommon0",
}


def library_loads(soname: str) -> bool:
    """Whether the dynamic loader finds and loads ``soname``, as it will for Qt.

    dlopen (not ``ctypes.util.find_library``) searches exactly where Qt's own
    loading will (LD_LIBRARY_PATH, the ld.so cache), without spawning ldconfig.
    """
    try:
        ctypes.CDLL(soname)
    except OSError:
        return False
    return True


def qt_platform_name(environ: Mapping[str, str] | None = None) -> str:
    """The platform plugin Qt will try first: ``QT_QPA_PLATFORM``'s first entry, else its own default.

    Without ``QT_QPA_PLATFORM`` Qt takes xcb, except in a Wayland session,
    where it prefers its Wayland plugin.
    """
    env = os.environ if environ is None else environ
    requested = env.get("QT_QPA_PLATFORM", "").strip()
    if requested:
        # "wayland;xcb" is a list of fallbacks, "xcb:option=value" passes options to the plugin.
        return requested.split(";", 1)[0].split(":", 1)[0].strip().lower()
    if env.get("WAYLAND_DISPLAY") and env.get("XDG_SESSION_TYPE", "").lower() == "wayland":
        return "wayland"
    return "xcb"


def missing_system_libraries(
    qt_platform: str | None = None, *, system: str | None = None, environ: Mapping[str, str] | None = None
) -> list[str]:
    """Debian package names of the libraries Qt's xcb plugin needs and cannot load, in install order.

    Empty unless ``system`` (default ``sys.platform``) is Linux and
    ``qt_platform`` (default: the one Qt will use, see :func:`qt_platform_name`)
    is xcb: offscreen, Wayland and the rest do not load these libraries, and a
    false alarm would stop an app that starts fine.
    """
    if (sys.platform if system is None else system) != "linux":
        return []
    if (qt_platform_name(environ) if qt_platform is None else qt_platform) != "xcb":
        return []
    missing: list[str] = []
    for soname, package in XCB_LIBRARIES.items():
        if package not in missing and not library_loads(soname):
            missing.append(package)
    return missing


def missing_libraries_message(packages: list[str]) -> str:
    """One line for stderr: what is missing and the apt command that installs it."""
    return (
        f"digitpad: cannot open the window: Qt's X11 (xcb) platform plugin needs system libraries "
        f"that are not installed ({', '.join(packages)}); on Debian/Ubuntu: sudo apt install {' '.join(packages)}"
    )


def startup_problem() -> str | None:
    """The one-line message if Qt cannot start here for want of system libraries, else None."""
    missing = missing_system_libraries()
    return missing_libraries_message(missing) if missing else None
