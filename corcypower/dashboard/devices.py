"""The other devices of the house, followed by the dashboard: live from their state APIs.

One RemoteDevice (a LivePoller) per URL of `[dashboard] devices`, shared by every tab like the
local poller. On (re)connecting it reads the device's /api/v1/state (its name, its grid
channels, its newest batch), then long-polls /live from that batch on, so it never asks for a
whole ring. A device is on another machine, maybe broken or hostile: every exchange is cut at
a timeout and a size (live/remote.py's fetch_json), and an answer of the wrong shape is an
error like a refused connection: the device is then offline, never 0 W.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from corcypower.clock import Clock, age_text
from corcypower.dashboard.poller import LivePoller
from corcypower.live.remote import fetch_json

STATE_TIMEOUT_S = 5.0
LIVE_BYTES = 2_000_000  # a long poll's answer is a batch or two: ~2 kB each
KEEP_MS = 60_000  # a remote device's batches kept: the house view shows the newest only
MAX_CHANNELS = 64
Fetch = Callable[..., Any]


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _ms(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**53


def _names(value: Any) -> bool:
    return (
        isinstance(value, list)
        and len(value) <= MAX_CHANNELS
        and all(isinstance(v, str) and 0 < len(v) <= 64 for v in value)
    )


def check_channels(channels: Any) -> list[dict]:
    """A batch's channels, each {name, kind, real_power_w (None if unknown)}; ValueError."""
    if not isinstance(channels, list) or len(channels) > MAX_CHANNELS:
        raise ValueError(f"channels: expected a list of at most {MAX_CHANNELS}")
    out = []
    for ch in channels:
        if not isinstance(ch, dict) or not _names([ch.get("name")]):
            raise ValueError("a channel without a name")
        if ch.get("kind") not in ("current", "voltage"):
            raise ValueError(f"{ch['name']}: kind is not current or voltage")
        watts = ch.get("real_power_w")
        if watts is not None and not _number(watts):
            raise ValueError(f"{ch['name']}: real_power_w is not a number")
        out.append({"name": ch["name"], "kind": ch["kind"], "real_power_w": watts})
    return out


def check_live(doc: Any) -> dict:
    """An answer of /api/v1/live reduced to what the house view reads; ValueError if it is not one."""
    if not isinstance(doc, dict) or not isinstance(doc.get("batches"), list):
        raise ValueError("not a /live answer (expected an object with batches)")
    newest = doc.get("newest")
    if newest is not None and not _ms(newest):
        raise ValueError("newest: expected ms")
    batches = []
    for b in doc["batches"]:
        if not isinstance(b, dict) or not _ms(b.get("ts")):
            raise ValueError("a batch without a ts in ms")
        batches.append({"ts": b["ts"], "channels": check_channels(b.get("channels"))})
    if any(b["ts"] <= a["ts"] for a, b in zip(batches, batches[1:], strict=False)):
        raise ValueError("batches out of order")
    return {"newest": newest, "batches": batches}


@dataclass(frozen=True)
class Hello:
    """What a device's /api/v1/state says of itself (older versions: no name, no grid)."""

    name: str | None
    grid: tuple[str, ...] | None
    ts: int


def check_state(doc: Any) -> Hello:
    if not isinstance(doc, dict) or not _ms(doc.get("ts")):
        raise ValueError("not a state document (expected an object with ts)")
    check_channels(doc.get("channels"))
    name, grid = doc.get("device"), doc.get("grid")
    name = name if isinstance(name, str) and 0 < len(name) <= 64 and name.isprintable() else None
    return Hello(name, tuple(grid) if _names(grid) else None, doc["ts"])


class RemoteDevice(LivePoller):
    """Follows one other device's state API; its name is the device's own, else its host."""

    def __init__(self, url: str, fetch: Fetch = fetch_json, clock: Clock | None = None):
        super().__init__(url, KEEP_MS, fetch=self._fetch_live)
        self.base = url.rstrip("/")
        self.get = fetch
        self.clock = clock or Clock()
        self.host = urlsplit(self.base).hostname or self.base
        self.name = self.host
        self.grid: tuple[str, ...] | None = None  # None: every current channel
        self.connected = False
        self.asked_ms = self.clock.wall_ms()  # offline since then, if it never answers

    def poll(self) -> dict:
        try:
            if not self.connected:
                hello = check_state(self.get(f"{self.base}/api/v1/state", STATE_TIMEOUT_S))
                self.name = hello.name or self.host
                self.grid = hello.grid
                # from its newest batch on: the ring before it is not the house view's
                self.last_ts = max(self.last_ts, hello.ts - 1)
                self.connected = True
            return super().poll()
        except (OSError, ValueError):
            self.connected = False
            raise

    def _fetch_live(self, url: str, timeout: float) -> dict:
        return check_live(self.get(url, timeout, LIVE_BYTES))

    def take(self, doc: dict) -> None:
        newest = doc.get("newest")
        if newest is not None and newest < self.last_ts:  # restarted with another database
            self.connected = False
        super().take(doc)


@dataclass(frozen=True)
class DeviceStatus:
    """One device as the house view shows it now."""

    name: str
    url: str
    online: bool
    channels: tuple[tuple[str, float | None], ...]  # current channels of the newest batch: W
    total_w: float | None  # its grid channels added up; None if one is unknown, or offline
    since_ms: int | None  # offline: since when (its last batch, else when it was first asked)
    why: str  # offline: why


def status(
    poller: LivePoller,
    name: str,
    url: str,
    grid: tuple[str, ...] | None,
    stale_s: float,
    asked_ms: int,
) -> DeviceStatus:
    """What `poller` knows of a device: online with its newest batch while batches arrive
    (within stale_s), else offline, since its last batch, with the reason."""
    latest = poller.latest()
    seconds = poller.seconds_since_data()
    if latest is not None and seconds is not None and seconds < stale_s and poller.error is None:
        currents = [
            (c["name"], c["real_power_w"]) for c in latest["channels"] if c["kind"] == "current"
        ]
        watts = dict(currents)
        names = grid if grid is not None else tuple(watts)
        parts = [watts.get(n) for n in names]
        known = all(w is not None and math.isfinite(w) for w in parts)
        total = sum(parts) if known and parts else None
        return DeviceStatus(name, url, True, tuple(currents), total, None, "")
    if poller.error is not None:
        why = poller.error
    elif seconds is None:
        why = "no batch yet"
    else:
        why = f"no data for {age_text(seconds)}"
    since = latest["ts"] if latest is not None else asked_ms
    return DeviceStatus(name, url, False, (), None, since, why)
