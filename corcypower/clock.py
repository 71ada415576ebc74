"""Time, injected: the daemon asks a Clock, so tests run on a FakeClock and never sleep; and
the stamps of batches, kept honest when the wall clock steps."""

from __future__ import annotations

import logging
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


log = logging.getLogger(__name__)


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


# A wall clock that differs from the monotonic one's advance by more than this has been
# stepped (NTP slews both clocks alike; only steps move one against the other).
STEP_TOLERANCE_MS = 1000
# A step is believed (NTP, or a person, really set the clock) once it has held this long.
# A bad NTP answer or an RTC glitch that comes back sooner never dates a batch.
ACCEPT_STEP_AFTER_S = 60.0
# The first batch of a run after stamps from the future: the unknown stop is marked by a gap.
RESTART_HOLE_MS = 1000
# Batches stamped to the ms: between two that tile time, their ends' distance and the
# second's duration may differ by a rounding. Only more than that is a hole in sampling.
ROUNDING_MS = 2


class Stamper:
    """Batch end stamps in ms UTC: the wall clock, checked against the monotonic clock.

    Between steps a stamp is the wall clock at the batch's end. A step (the wall clock
    moving against the monotonic clock by more than STEP_TOLERANCE_MS) is not followed at
    once: stamps go on from the trusted base (the monotonic clock plus the last good
    offset), with a warning, until the step has held for ACCEPT_STEP_AFTER_S. Then it is
    taken: forward, the stamps jump and the skipped time is a gap; back, stamps would fall
    before rows already stored, so they advance by half of each batch's duration until the
    wall clock catches up (a minute back is absorbed in two minutes, batch order kept, no
    stamp ever repeated). Holes in sampling stay holes.
    """

    def __init__(self, last_ts: int | None = None):
        self.last_ts = last_ts  # the newest stamp given (or stored before this run)
        self.last_end: float | None = None  # monotonic end of the previous batch
        self.offset_ms: float | None = None  # trusted wall - monotonic, in ms
        self.step: tuple[float, float] | None = None  # (monotonic s first seen, size in ms)
        self.behind = False

    def stamp(self, end: float, wall_ms: int, duration_ms: int) -> int:
        """The stamp of a batch ending at monotonic `end`, when the wall clock read `wall_ms`."""
        mono_ms = end * 1000
        if self.offset_ms is None:
            self.offset_ms = wall_ms - mono_ms
        self._watch(end, wall_ms - mono_ms - self.offset_ms, wall_ms - mono_ms)
        ts = round(mono_ms + self.offset_ms)
        if self.last_ts is not None:
            if self.last_end is None:
                hole = RESTART_HOLE_MS
            else:
                hole = round((end - self.last_end) * 1000) - duration_ms
                hole = hole if hole > ROUNDING_MS else 0
            # a hole keeps its length; continuous batches may be squeezed to half their length
            floor = self.last_ts + (hole + duration_ms if hole else max(1, duration_ms // 2))
            behind = ts <= self.last_ts  # not a few ms of jitter against the floor: truly behind
            if behind and not self.behind:
                log.warning(
                    "the clock is %.1f s behind the last stored batch: stamps advance by half "
                    "of each batch until it catches up",
                    (self.last_ts - ts) / 1000,
                )
            elif self.behind and not behind:
                log.warning("the clock has caught up with the stored batches")
            self.behind = behind
            ts = max(ts, floor)
        self.last_ts, self.last_end = ts, end
        return ts

    def _watch(self, end: float, step_ms: float, offset_ms: float) -> None:
        """Follow the wall clock, or hold the trusted base while a step is on probation."""
        if abs(step_ms) <= STEP_TOLERANCE_MS:
            if self.step is not None:
                log.warning(
                    "the wall clock came back after %.0f s: its step of %+.1f s was ignored",
                    end - self.step[0],
                    self.step[1] / 1000,
                )
            self.offset_ms, self.step = offset_ms, None
        elif self.step is None or abs(step_ms - self.step[1]) > STEP_TOLERANCE_MS:
            log.warning(
                "the wall clock stepped %+.1f s against the monotonic clock; batches are "
                "stamped from the monotonic clock unless the step holds for %g s",
                step_ms / 1000,
                ACCEPT_STEP_AFTER_S,
            )
            self.step = (end, step_ms)
        elif end - self.step[0] >= ACCEPT_STEP_AFTER_S:
            log.warning(
                "the wall clock's step of %+.1f s has held for %g s: taking it as the time",
                step_ms / 1000,
                ACCEPT_STEP_AFTER_S,
            )
            self.offset_ms, self.step = offset_ms, None
