"""Local time, where people read it: time zones, their offsets and their daylight-saving changes.

Storage is ms UTC. Days, hours of the day and tariff periods are local, so a day has 23, 24
or 25 hours and an offset can change at any instant the zone's rules say.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

import numpy as np

MINUTE_MS = 60_000
HOUR_MS = 3_600_000


def local_zone(name: str | None = None) -> tzinfo:
    """A configured zone name, else $TZ, else /etc/localtime (a DST-aware zone), else UTC."""
    for candidate in (name, os.environ.get("TZ", "").lstrip(":")):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ValueError, KeyError, OSError):
                pass  # a POSIX TZ string ("CET-1CEST"): try the system's file
    try:
        real = os.path.realpath("/etc/localtime")
        if "/zoneinfo/" in real:
            return ZoneInfo(real.split("/zoneinfo/", 1)[1])
        with open("/etc/localtime", "rb") as f:
            return ZoneInfo.from_file(f, key="localtime")
    except (ValueError, KeyError, OSError):
        return UTC


def zone_name(tz: tzinfo) -> str:
    return getattr(tz, "key", None) or str(tz)


def offset_ms(ts_ms: float, tz: tzinfo) -> int:
    """The UTC offset in force at ts_ms, in ms (+3_600_000 for CET, +7_200_000 for CEST)."""
    return int(datetime.fromtimestamp(ts_ms / 1000, tz).utcoffset() / timedelta(milliseconds=1))


def local_ms(ts_ms: float, tz: tzinfo) -> float:
    """ms UTC → local wall-clock ms (what a datetime axis should show for ts_ms)."""
    return ts_ms + offset_ms(ts_ms, tz)


def utc_ms(wall_ms: float, tz: tzinfo) -> int:
    """The inverse of local_ms (in a DST overlap, the first of the two instants)."""
    guess = wall_ms - offset_ms(wall_ms, tz)
    return int(wall_ms - offset_ms(guess, tz))


def midnight_ms(day: date, tz: tzinfo) -> int:
    """The UTC ms of the local midnight that starts `day`."""
    return round(datetime.combine(day, datetime.min.time(), tzinfo=tz).timestamp() * 1000)


def local_date(ts_ms: float, tz: tzinfo) -> date:
    return datetime.fromtimestamp(ts_ms / 1000, tz).date()


def offset_changes(start_ms: int, end_ms: int, tz: tzinfo) -> list[tuple[int, int]]:
    """(from ms UTC, offset ms) for each offset in force over [start_ms, end_ms), in order.

    The offset is sampled every hour and each change found to the minute by bisection:
    zones change their offset on whole minutes.
    """
    changes = [(start_ms, offset_ms(start_ms, tz))]
    t = start_ms
    while t < end_ms:
        nxt = min(t + HOUR_MS, end_ms)
        after = offset_ms(nxt, tz) if nxt < end_ms else changes[-1][1]
        if after != changes[-1][1]:
            lo, hi = t // MINUTE_MS, -(-nxt // MINUTE_MS)  # the change is in (lo, hi] minutes
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if offset_ms(mid * MINUTE_MS, tz) == changes[-1][1]:
                    lo = mid
                else:
                    hi = mid
            changes.append((max(hi * MINUTE_MS, start_ms), after))
        t = nxt
    return changes


def local_minutes(ts_ms: np.ndarray, changes: list[tuple[int, int]]) -> np.ndarray:
    """Local wall-clock minutes since 1970-01-01 00:00 of each ts (ms UTC) under `changes`."""
    starts = np.array([c[0] for c in changes], dtype=np.int64)
    offsets = np.array([c[1] for c in changes], dtype=np.int64)
    which = np.clip(np.searchsorted(starts, ts_ms, side="right") - 1, 0, len(changes) - 1)
    return (ts_ms + offsets[which]) // MINUTE_MS
