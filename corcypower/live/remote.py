"""Remote voltage: current channels that take their volts from another device's state API.

EnergyMonitor's VoltageService, for a device with no voltage input: a thread polls the other
device at most once per `poll_seconds`; the daemon only reads the last answer, so a slow or
dead peer never stalls acquisition. A reading older than `stale_seconds` (by the peer's own
clock: its batch's age plus the time since we asked) is stale; the channel then uses the
nominal mains voltage and its batches carry FLAG_VOLTAGE_FALLBACK ("nominal-voltage").
"""

from __future__ import annotations

import http.client
import json
import logging
import math
import socket
import threading
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

from corcypower.clock import Clock
from corcypower.live.address import RemoteVoltage
from corcypower.settings import Channel
from corcypower.settings.table import VOLTS

log = logging.getLogger(__name__)

# a peer's reading with these flags measured no mains
UNUSABLE = {"flat", "no-cycles", "below-noise", "dead-read"}
MAX_ANSWER_BYTES = 256_000  # a state document of 16 channels is about 6 kB
MAX_AGE_MS = 10**12  # about 30 years: beyond, the peer's clock or document is broken
ERROR_BYTES = 4096  # an error answer {"error": "..."}: a sentence, not a document
ERROR_CHARS = 120


def fetch_json(url: str, timeout: float, max_bytes: int = MAX_ANSWER_BYTES) -> Any:
    """GET a URL and parse its JSON body, all within `timeout` seconds; OSError or ValueError.

    A peer may be broken or hostile: it may trickle its answer a byte at a time (the whole
    exchange is cut at `timeout`), send megabytes (cut at `max_bytes`), nest its JSON
    deeper than Python recurses, or send NaN and Infinity, which JSON does not have.
    """
    parts = urlsplit(url)
    kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = kind(parts.hostname, parts.port, timeout=timeout)
    cut = threading.Event()  # set when the timer cuts the exchange
    cutoff = threading.Timer(timeout, _cut, args=(connection, cut))
    cutoff.start()
    try:
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        connection.request("GET", path, headers={"Accept": "application/json"})
        answer = connection.getresponse()
        if answer.status != 200:
            raise ValueError(f"HTTP {answer.status} {answer.reason[:40]}{_why(answer)}")
        body = answer.read(max_bytes + 1)
        if len(body) <= max_bytes and answer.length:  # Content-Length not reached
            raise ValueError(f"the answer ended {answer.length} bytes short")
    except (OSError, http.client.HTTPException) as exc:
        if cut.is_set():  # the peer took too long
            raise TimeoutError(f"no whole answer within {timeout:g} s") from None
        if isinstance(exc, http.client.HTTPException):
            raise ValueError(f"not an HTTP answer ({type(exc).__name__})") from None
        raise
    finally:
        cutoff.cancel()
        connection.close()
    if len(body) > max_bytes:
        raise ValueError(f"an answer larger than {max_bytes} bytes")
    return parse_json(body)


def _why(answer: http.client.HTTPResponse) -> str:
    """ ": " and the reason an error answer gives as a state API does ({"error": "..."}), cut
    short, or nothing: the status alone says "503", not "no batch analysed yet"."""
    try:
        doc = parse_json(answer.read(ERROR_BYTES))
    except (OSError, ValueError, http.client.HTTPException):
        return ""  # no body, not JSON, or longer than an error: the status alone
    error = doc.get("error") if isinstance(doc, dict) else None
    return f": {error[:ERROR_CHARS]}" if isinstance(error, str) and error.isprintable() else ""


def _cut(connection: http.client.HTTPConnection, cut: threading.Event) -> None:
    """Wake a read blocked on a peer that is too slow (shutdown does, close does not)."""
    cut.set()
    sock = connection.sock
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def parse_json(body: bytes) -> Any:
    """JSON as the standard allows it: no NaN or Infinity, no number too large for a float."""
    try:
        return json.loads(body, parse_constant=_not_a_number, parse_float=_finite)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def _not_a_number(name: str) -> float:
    raise ValueError(f"{name} is not a number in JSON")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text[:40]} is too large a number")
    return value


def _real(value: Any, low: float, high: float) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and low <= value <= high


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
            except (OSError, ValueError) as exc:
                self._problem(url, f"cannot read it: {exc}")
            else:
                if self._problems.pop(url, None):
                    log.info("remote voltage %s answers again", url)

    def _take(self, url: str, doc: Any, asked: float) -> None:
        """Keep the volts of the wanted channels of one answer; ValueError if it is not a
        state document."""
        if not isinstance(doc, dict) or not isinstance(doc.get("channels"), list):
            raise ValueError("not a state document (expected an object with channels)")
        age_ms = doc.get("age_ms")
        if not _real(age_ms, -MAX_AGE_MS, MAX_AGE_MS):
            raise ValueError(f"age_ms = {str(age_ms)[:40]}: expected milliseconds")
        measured = asked - max(0.0, age_ms / 1000)  # when the peer's batch ended
        found = {
            ch["name"]: ch
            for ch in doc["channels"]
            if isinstance(ch, dict) and isinstance(ch.get("name"), str)
        }
        for remote in {r for r in self.wanted.values() if r.url == url}:
            ch = found.get(remote.channel)
            if ch is None or ch.get("kind") != "voltage" or ch.get("vrms") is None:
                known = ", ".join(n for n, c in found.items() if c.get("kind") == "voltage")
                raise ValueError(f"no voltage channel {remote.channel!r} there (it has: {known})")
            flags = ch.get("flags", [])
            if not isinstance(flags, list) or not all(isinstance(f, str) for f in flags):
                raise ValueError(f"{remote.channel}.flags: expected a list of names")
            if UNUSABLE & set(flags):
                continue  # the peer sees no mains: let our reading go stale
            vrms = ch["vrms"]
            if not _real(vrms, *VOLTS):
                raise ValueError(
                    f"{remote.channel}.vrms = {str(vrms)[:40]}: expected volts from "
                    f"{VOLTS[0]:g} to {VOLTS[1]:g}"
                )
            with self._lock:
                self.readings[(url, remote.channel)] = (float(vrms), measured)

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
