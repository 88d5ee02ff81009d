"""Numbers as people read them in the window."""

from __future__ import annotations

import math


def format_duration(seconds: float) -> str:
    """0:42, 3:05, 1:02:10; "--:--" when unknown."""
    if not math.isfinite(seconds) or seconds < 0:
        return "--:--"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
