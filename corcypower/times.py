"""Times people type, for the command line and the history API: ms UTC of 'now', '-30d', ISO 8601."""

from __future__ import annotations

import re
from datetime import datetime

from corcypower.errors import CorcyPowerError

RELATIVE = re.compile(r"^-(\d+(?:\.\d+)?)\s*([smhdw])$")
UNIT_MS = {"s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
# Times a history can hold: from the epoch (a Pi without a clock starts there) to 2100
LAST_MS = 4_102_444_800_000


def parse_time(text: str, option: str, now_ms: int, tz=None) -> int:
    """ms UTC of 'now', '-30d' (also s, m, h, w), a local date/time, or ISO 8601 with offset.

    A date/time without an offset is local time: of `tz`, else of this machine."""
    text = text.strip()
    if text == "now":
        return now_ms
    m = RELATIVE.match(text)
    try:
        when = None if m else datetime.fromisoformat(text)
    except ValueError:
        raise CorcyPowerError(
            f"{option} {text!r}: expected 'now', a time ago like -2h or -30d, or a local "
            "date and time like 2026-03-01 or '2026-03-01 18:30'"
        ) from None
    try:
        if when is None:
            ms = now_ms - round(float(m.group(1)) * UNIT_MS[m.group(2)])
        else:
            if when.tzinfo is None and tz is not None:
                when = when.replace(tzinfo=tz)
            ms = round(when.timestamp() * 1000)  # naive: local time
    except (ValueError, OverflowError, OSError):  # year 1 or 9999 in local time
        ms = -1
    if not 0 <= ms <= LAST_MS:
        raise CorcyPowerError(f"{option} {text!r}: expected a time between 1970 and 2100")
    return ms
