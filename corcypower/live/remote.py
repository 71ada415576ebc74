"""Remote voltage: current channels that take their volts from another device's state API.

EnergyMonitor's VoltageService, for a device with no voltage input: a thread polls the other
device at most once per `poll_seconds`; the daemon only reads the last answer, so a slow or
dead peer never stalls acquisition. A reading older than `stale_seconds` (by the peer's own
clock: its batch's age plus the time since we asked) is stale; the channel then uses the
nominal mains voltage and its batches carry FLAG_VOLTAGE_FALLBACK ("nominal-voltage").
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.request
from collections.abc import Callable, Iterable

from corcypower.clock import Clock
from corcypower.live.address import RemoteVoltage
from corcypower.settings import Channel

log = logging.getLogger(__name__)

# a peer's reading with these flags measured no mains
UNUSABLE = {"flat", "no-cycles", "below-noise", "dead-read"}
MAX_ANSWER_BYTES = 1_000_000


def fetch_json(url: str, timeout: float) -> dict:
    """GET a URL and parse its JSON body; OSError or ValueError if that fails."""
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310 (http only)
        return json.loads(answer.read(MAX_ANSWER_BYTES))


class RemoteVoltages:
    """The volts of every remote-voltage channel: fresh from its peer, or the nominal voltage."""

    def __init__(
        self,
        channels: Iterable[Channel],
        nominal_volts: float,
        poll_seconds: float = 1.0,
        stale_seconds: float = 5.0,
        clock: Clock | None = None,
        fetch: Callable[[str, float], dict] = fetch_json,
    ):
        self.wanted: dict[str, RemoteVoltage] = {
            ch.name: ch.remote_voltage for ch in channels if ch.remote_voltage is not None
        }
        self.urls = sorted({r.url for r in self.wanted.values()})
        self.nominal = nominal_volts
        self.poll_seconds = max(1.0, poll_seconds)  # at most once a second: peers are small Pis
        self.stale_seconds = stale_seconds
        self.clock = clock or Clock()
        self.fetch = fetch
        self.readings: dict[tuple[str, str], tuple[float, float]] = {}  # → (volts, monotonic)
        self._lock = threading.Lock()
        self._fallback = frozenset(self.wanted)  # nominal until the first answer
        self._problems: dict[str, str] = {}  # url → the last problem logged, to log it once

    def __bool__(self) -> bool:
        return bool(self.wanted)

    # --- what the daemon reads, once per batch --------------------------------------------

    def volts(self) -> dict[str, float]:
        """Volts by channel name: the peer's fresh reading, else the nominal voltage."""
        now = self.clock.monotonic()
        out: dict[str, float] = {}
        fallback = set()
        with self._lock:
            for name, remote in self.wanted.items():
                reading = self.readings.get((remote.url, remote.channel))
                if reading is not None and now - reading[1] <= self.stale_seconds:
                    out[name] = reading[0]
                else:
                    out[name] = self.nominal
                    fallback.add(name)
        for name in fallback - self._fallback:
            log.warning(
                "%s: no fresh voltage from %s for %g s; using the nominal %g V",
                name,
                self.wanted[name],
                self.stale_seconds,
                self.nominal,
            )
        for name in self._fallback - fallback:
            log.info("%s: voltage from %s again", name, self.wanted[name])
        self._fallback = frozenset(fallback)
        return out

    def fallback(self) -> frozenset[str]:
        """The channels that the last volts() answer gave the nominal voltage."""
        return self._fallback

    # --- the poller thread ----------------------------------------------------------------

    def poll_once(self) -> None:
        for url in self.urls:
            asked = self.clock.monotonic()
            try:
                doc = self.fetch(url, min(2.0, self.poll_seconds))
                self._take(url, doc, asked)
            except (OSError, ValueError, TypeError, KeyError) as exc:
                self._problem(url, f"cannot read it: {exc}")
            else:
                if self._problems.pop(url, None):
                    log.info("remote voltage %s answers again", url)

    def _take(self, url: str, doc: dict, asked: float) -> None:
        measured = asked - float(doc["age_ms"]) / 1000  # when the peer's batch ended
        found = {ch["name"]: ch for ch in doc["channels"]}
        for remote in {r for r in self.wanted.values() if r.url == url}:
            ch = found.get(remote.channel)
            if ch is None or ch.get("kind") != "voltage" or ch.get("vrms") is None:
                known = ", ".join(n for n, c in found.items() if c.get("kind") == "voltage")
                raise ValueError(f"no voltage channel {remote.channel!r} there (it has: {known})")
            if UNUSABLE & set(ch.get("flags", ())):
                continue  # the peer sees no mains: let our reading go stale
            with self._lock:
                self.readings[(url, remote.channel)] = (float(ch["vrms"]), measured)

    def _problem(self, url: str, text: str) -> None:
        if self._problems.get(url) != text:
            log.warning("remote voltage %s: %s", url, text)
            self._problems[url] = text

    def run(self, stop: threading.Event) -> None:
        """Poll until `stop` is set."""
        while True:
            self.poll_once()
            if stop.wait(self.poll_seconds):
                return
