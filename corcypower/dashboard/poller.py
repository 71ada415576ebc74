"""One poller per dashboard server: follows the daemon's /api/v1/live, and fans out to sessions.

It long-polls (`wait`), so a batch reaches it as soon as the daemon has analysed it, with one
request per batch whatever the number of viewers. It keeps the last `keep_ms` of batches, so
a new session starts with a full live plot, and hands each new batch to every subscriber.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Callable

log = logging.getLogger(__name__)

WAIT_S = 5.0  # how long the daemon may hold a poll open
RETRY_S = 1.0
Subscriber = Callable[[list[dict]], None]


def get_json(url: str, timeout: float) -> dict:
    with urllib.request.urlopen(url, timeout=timeout) as answer:  # noqa: S310 (http only)
        return json.loads(answer.read())


class LivePoller:
    """Follows `{state_url}/api/v1/live`; `batches()` and `subscribe()` are thread-safe."""

    def __init__(
        self, state_url: str, keep_ms: int, fetch: Callable[[str, float], dict] = get_json
    ):
        self.url = state_url.rstrip("/") + "/api/v1/live"
        self.keep_ms = keep_ms
        self.fetch = fetch
        self._buffer: deque[dict] = deque()
        self._subscribers: set[Subscriber] = set()
        self._lock = threading.Lock()
        self.last_ts = 0
        self.last_arrival: float | None = None  # time.monotonic() of the last new batch
        self.error: str | None = None  # why the daemon cannot be reached, if it cannot
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- for sessions -----------------------------------------------------------------

    def subscribe(self, subscriber: Subscriber) -> list[dict]:
        """Call `subscriber(new batches)` from the poller thread; returns the batches so far."""
        with self._lock:
            self._subscribers.add(subscriber)
            return list(self._buffer)

    def unsubscribe(self, subscriber: Subscriber) -> None:
        with self._lock:
            self._subscribers.discard(subscriber)

    def latest(self) -> dict | None:
        """The newest batch kept, if any."""
        with self._lock:
            return self._buffer[-1] if self._buffer else None

    def seconds_since_data(self) -> float | None:
        """Seconds since the last new batch arrived; None if none ever did."""
        if self.last_arrival is None:
            return None
        return time.monotonic() - self.last_arrival

    # --- the thread -------------------------------------------------------------------

    def start(self) -> LivePoller:
        if self._thread is None:
            self._thread = threading.Thread(target=self.run, name="live-poller", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> None:
        while not self._stop.is_set():
            try:
                doc = self.poll()
            except (OSError, ValueError) as exc:
                if self.error is None:
                    log.warning("cannot follow %s: %s; retrying every %g s", self.url, exc, RETRY_S)
                self.error = str(exc)
                self._stop.wait(RETRY_S)
                continue
            if self.error is not None:
                log.info("following %s again", self.url)
                self.error = None
            self.take(doc)

    def poll(self) -> dict:
        """One long poll of /live: the batches after the last one seen, as soon as there are."""
        return self.fetch(f"{self.url}?since={self.last_ts}&wait={WAIT_S:g}", WAIT_S + 5)

    def take(self, doc: dict) -> None:
        """One answer of /live: keep and hand out the batches newer than the last one seen."""
        newest = doc.get("newest")
        if newest is not None and newest < self.last_ts:
            # a daemon with another database restarted behind us: start over from its ring
            log.info("the daemon's newest batch is older than ours; starting over")
            with self._lock:
                self._buffer.clear()
            self.last_ts = 0
            return
        new = [b for b in doc.get("batches", []) if b["ts"] > self.last_ts]
        if not new:
            return
        self.last_ts = new[-1]["ts"]
        self.last_arrival = time.monotonic()
        with self._lock:
            self._buffer.extend(new)
            cutoff = self.last_ts - self.keep_ms
            while self._buffer and self._buffer[0]["ts"] < cutoff:
                self._buffer.popleft()
            subscribers = list(self._subscribers)
        for subscriber in subscribers:
            try:
                subscriber(new)
            except Exception:  # one broken session must not starve the others
                log.exception("a dashboard session failed to take new batches")
