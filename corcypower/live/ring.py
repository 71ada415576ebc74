"""The ring of recent batches in RAM: what the state API serves, so it never waits on the disk.

Each batch is encoded to JSON once, when it arrives (a daemon listener), and kept as bytes:
ten minutes of three channels is ~1 MB, and answering a poll is a join, not a dumps.
"""

from __future__ import annotations

import json
import math
import threading
from collections import deque
from collections.abc import Callable

from corcypower.analysis import ChannelStats, flag_names

# The quantities of each kind of channel and their units, as the API reports them
ADC_FIELDS = ("n", "mean", "min", "max", "rms")
KIND_FIELDS = {
    "voltage": ("vrms", "frequency_hz"),
    "current": ("irms", "real_power_w", "apparent_power_va", "power_factor"),
}
UNITS = {
    "n": "samples",
    "mean": "counts",
    "min": "counts",
    "max": "counts",
    "rms": "counts",
    "vrms": "V",
    "frequency_hz": "Hz",
    "irms": "A",
    "real_power_w": "W",
    "apparent_power_va": "VA",
    "power_factor": "1",
}


def _finite(x):
    """JSON has no NaN or Infinity: a value that is not a number is reported as null."""
    return None if isinstance(x, float) and not math.isfinite(x) else x


def channel_dict(s: ChannelStats) -> dict:
    """One channel of one batch as the API shows it: its quantities, then its health."""
    out = {"name": s.name, "kind": s.kind}
    for key in ADC_FIELDS + KIND_FIELDS[s.kind]:
        out[key] = _finite(getattr(s, key))
    out["flags"] = flag_names(s.flags)
    return out


def batch_dict(ts: int, duration_ms: int, stats: list[ChannelStats]) -> dict:
    return {"ts": ts, "duration_ms": duration_ms, "channels": [channel_dict(s) for s in stats]}


class Ring:
    """The last `seconds` of batches, oldest first; thread-safe.

    `watchers` are called (with no argument, from the daemon's thread) after each batch is
    added: the state API wakes its long polls with it.
    """

    def __init__(self, seconds: float, batch_seconds: float):
        self.seconds = seconds
        # a little more than `seconds` of batches, so the window is always full
        self._items: deque[tuple[int, bytes]] = deque(maxlen=math.ceil(seconds / batch_seconds) + 4)
        self._latest: dict | None = None
        self._lock = threading.Lock()
        self.watchers: list[Callable[[], None]] = []

    def add(self, ts: int, duration_ms: int, stats: list[ChannelStats]) -> None:
        """A daemon listener: called with every batch as soon as it is analysed."""
        batch = batch_dict(ts, duration_ms, stats)
        encoded = json.dumps(batch, separators=(",", ":")).encode()
        with self._lock:
            self._items.append((ts, encoded))
            self._latest = batch
        for watcher in self.watchers:
            watcher()

    def latest(self) -> dict | None:
        with self._lock:
            return self._latest

    def newest_ts(self) -> int | None:
        with self._lock:
            return self._items[-1][0] if self._items else None

    def since(self, since_ms: int) -> list[bytes]:
        """Encoded batches with ts > since_ms, oldest first."""
        newer = []
        with self._lock:
            for ts, encoded in reversed(self._items):  # a poll asks for the last few: stop early
                if ts <= since_ms:
                    break
                newer.append(encoded)
        newer.reverse()
        return newer
