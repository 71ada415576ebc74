"""Time, injected: the daemon asks a Clock, so tests run on a FakeClock and never sleep."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable

FIRST_RETRY_SECONDS = 2.0


def backoff(failures: int, cap: float, rand: Callable[[], float] = random.random) -> float:
    """Seconds to wait after `failures` failures in a row: doubling from 2 s, capped, jittered.

    Each wait is drawn from the upper half of its ceiling, so devices that lost the same
    server do not all come back at the same instant.
    """
    ceiling = min(cap, FIRST_RETRY_SECONDS * 2 ** (failures - 1))
    return ceiling * (0.5 + 0.5 * rand())


class Clock:
    """Real time: monotonic seconds for durations, wall-clock ms (UTC) for storage."""

    def monotonic(self) -> float:
        return time.monotonic()

    def wall_ms(self) -> int:
        return time.time_ns() // 1_000_000

    def sleep_until(self, deadline: float, stop: threading.Event | None = None) -> bool:
        """Sleep until monotonic `deadline`; False if `stop` was set meanwhile."""
        delay = deadline - time.monotonic()
        if delay <= 0:
            return not (stop and stop.is_set())
        if stop is None:
            time.sleep(delay)
            return True
        return not stop.wait(delay)


def age_text(seconds: float) -> str:
    """How long ago, as people say it: 12.4 s, 5 min, 1.5 h, 3 days."""
    seconds = max(seconds, 0.0)
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172_800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86_400:.0f} days"


class FakeClock(Clock):
    """A clock that only moves when slept on or told to: for tests and fast replays."""

    def __init__(self, start: float = 1000.0, wall_ms: int = 1_767_225_600_000):
        self.now = start
        self.wall_offset_ms = wall_ms - int(start * 1000)

    def monotonic(self) -> float:
        return self.now

    def wall_ms(self) -> int:
        return int(self.now * 1000) + self.wall_offset_ms

    def sleep_until(self, deadline: float, stop: threading.Event | None = None) -> bool:
        self.now = max(self.now, deadline)
        return not (stop and stop.is_set())

    def step_wall(self, ms: int) -> None:
        """The wall clock jumps (NTP after a boot without RTC); monotonic time does not."""
        self.wall_offset_ms += ms
