"""Deliveries: each notifier's messages, in order, from a bounded queue in a thread of its own.

A failed send is retried, waiting 2, 4, 8 … s up to 5 minutes (jittered), for
notify.retry_minutes; then it is given up and logged as an error. Each failure is logged
(the same error at most once an hour). Nothing here blocks the daemon: posting to a full
queue drops the message with an error in the log, and a slow server delays only its own
notifier's messages.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

from corcypower.alerts.notifiers import Message, Notifier
from corcypower.clock import Clock, backoff
from corcypower.errors import DeliveryError

log = logging.getLogger(__name__)

QUEUE_SIZE = 100
RETRY_MAX_SECONDS = 300.0
REPEAT_LOG_MS = 3_600_000


class Courier:
    """One notifier's queue and thread."""

    def __init__(
        self,
        notifier: Notifier,
        retry_minutes: float,
        clock: Clock | None = None,
        wait_scale: float = 1.0,
        rand: Callable[[], float] | None = None,
    ):
        """`wait_scale` shortens the waits between retries (tests)."""
        self.notifier = notifier
        self.retry_ms = retry_minutes * 60_000
        self.clock = clock or Clock()
        self.wait_scale = wait_scale
        self.rand = rand
        self.queue: queue.Queue[Message] = queue.Queue(QUEUE_SIZE)
        self.delivered = self.failed = self.dropped = 0
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self.run, name=f"notify-{notifier.name}", daemon=True)

    def start(self) -> Courier:
        self.thread.start()
        return self

    def post(self, message: Message) -> None:
        """Queue a message; never waits."""
        try:
            self.queue.put_nowait(message)
        except queue.Full:
            self.dropped += 1
            log.error(
                "%s: %d notifications waiting already; dropped %s %s",
                self.notifier.name,
                QUEUE_SIZE,
                message.event.alert,
                message.event.state,
            )

    def run(self) -> None:
        while not self._stop.is_set():
            try:
                message = self.queue.get(timeout=0.5)
            except queue.Empty:
                continue
            try:
                self.deliver(message)
            finally:
                self.queue.task_done()

    def deliver(self, message: Message) -> bool:
        """Send, retrying until it works, retry_minutes pass or the courier stops."""
        first_ms = self.clock.wall_ms()
        failures, logged = 0, None
        what = f"{message.event.alert} {message.event.state}"
        while True:
            try:
                self.notifier.send(message)
            except DeliveryError as exc:
                error = str(exc)
            except Exception as exc:  # a bug must not end the thread: notifications would stop
                log.exception("%s: sending %s failed unexpectedly", self.notifier.name, what)
                error = f"unexpected {type(exc).__name__}: {exc}"
            else:
                self.delivered += 1
                if failures:
                    log.info(
                        "%s: %s delivered after %d failures", self.notifier.name, what, failures
                    )
                return True
            failures += 1
            now = self.clock.wall_ms()
            if now - first_ms >= self.retry_ms:
                self.failed += 1
                log.error(
                    "%s: gave up on %s after %d attempts in %.0f min: %s",
                    self.notifier.name,
                    what,
                    failures,
                    (now - first_ms) / 60_000,
                    error,
                )
                return False
            if logged is None or logged[0] != error or now - logged[1] >= REPEAT_LOG_MS:
                log.warning("%s: %s (attempt %d); retrying", error, what, failures)
                logged = (error, now)
            wait = backoff(failures, RETRY_MAX_SECONDS, *([self.rand] if self.rand else []))
            wait = min(wait * self.wait_scale, max(0.0, (first_ms + self.retry_ms - now) / 1000))
            if self._stop.wait(wait):
                log.warning("%s: stopping with %s undelivered: %s", self.notifier.name, what, error)
                return False

    def drain(self, timeout: float) -> None:
        """Wait up to `timeout` s for every queued message to be handled."""
        done = self.queue.all_tasks_done  # the queue's own condition: every message handled
        with done:
            done.wait_for(lambda: not self.queue.unfinished_tasks, timeout)

    def stop(self) -> None:
        """End the thread (a daemon thread: a send under way is not waited for long); a message
        still undelivered is said in the log."""
        self._stop.set()
        self.thread.join(0.2)
        if not self.queue.empty():
            log.warning(
                "%s: stopped with %d notifications unsent", self.notifier.name, self.queue.qsize()
            )

    def close(self, timeout: float = 2.0) -> None:
        self.drain(timeout)
        self.stop()
