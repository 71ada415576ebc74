"""The exporter: a thread beside acquisition that forwards closed minutes to MySQL.

Each round sends the whole backlog in batches of `batch_rows` rows (so memory stays bounded
after a long outage), and for each batch: read from power.db, upsert and commit in MySQL,
then move the mark in power.db. A failure of any step leaves the mark where it was; the next
round re-sends from there. Between failed rounds it waits 2, 4, 8 … s up to
retry_max_seconds, each wait drawn at random from its upper half (jitter), so devices that
lost the same server do not all come back at the same instant.

Nothing here can hold up acquisition: it shares no lock or connection with the daemon, and
its sqlite transactions last milliseconds (WAL: the writer never waits for a reader).
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from pathlib import Path

from corcypower.clock import Clock, backoff
from corcypower.errors import CorcyPowerError
from corcypower.export.config import ExportSettings
from corcypower.export.mysql import Central
from corcypower.export.outbox import Outbox
from corcypower.export.tables import channel_records, volume_records

log = logging.getLogger(__name__)

REPEAT_LOG_SECONDS = 3600.0  # the same error again is logged at most this often


class Exporter:
    """Sends power.db's closed minutes to the central database, now (run_once) or forever (start)."""

    def __init__(
        self,
        settings: ExportSettings,
        db_path: str | Path,
        clock: Clock | None = None,
        rand: Callable[[], float] = random.random,
    ):
        self.settings = settings
        self.db_path = Path(db_path)
        self.clock = clock or Clock()
        self.rand = rand
        self.central = Central(settings)
        self.outbox: Outbox | None = None
        self.failures = 0
        self.rows_sent = 0
        self.last_error: str | None = None
        self.failing_since_ms: int | None = None  # wall time of the first failure in a row
        self._logged: tuple[str, float] | None = None  # (error, monotonic time) last logged
        self._stop = threading.Event()
        self.thread: threading.Thread | None = None

    def run_once(self, stop: threading.Event | None = None) -> int:
        """Send every closed minute not yet sent; the rows sent. Raises CorcyPowerError."""
        if self.outbox is None:
            self.outbox = Outbox(self.db_path, self.settings.target, self.settings.channels)
        sent = 0
        until = self.outbox.closed_until()
        while until is not None and not (stop and stop.is_set()):
            after = self.outbox.state().sent_ts
            rows = self.outbox.next_chunk(after, until, self.settings.batch_rows)
            if not rows:
                break
            records = channel_records(self.settings.point, rows)
            records += volume_records(self.settings.volume, rows)
            rejected = self.central.write(records)
            for r in rejected:
                log.error(
                    "MySQL refused %s row %s at %s: %s; set aside, the rest goes on",
                    r.record.table,
                    r.record.name,
                    r.record.values[0],
                    r.error,
                )
            count = len(records) - len(rejected)
            self.outbox.mark_sent(after, rows[-1].ts, count, rejected, self.clock.wall_ms())
            sent += count
            self.rows_sent += count
        return sent

    def attempt(self, stop: threading.Event | None = None) -> float:
        """One round; the seconds to wait before the next (the interval, or a backoff)."""
        try:
            sent = self.run_once(stop)
        except CorcyPowerError as exc:
            return self._failed(str(exc))
        except Exception as exc:  # a bug must not end the thread: export would silently stop
            log.exception("MySQL export failed unexpectedly")
            return self._failed(f"unexpected {type(exc).__name__}: {exc}")
        if self.failures:
            log.info("MySQL export works again after %d failed attempts", self.failures)
        if sent:
            log.debug("sent %d rows to %s", sent, self.settings.target)
        self.failures = 0
        self.last_error = None
        self.failing_since_ms = None
        self._logged = None
        return self.settings.interval_seconds

    def _failed(self, error: str) -> float:
        self.failures += 1
        self.last_error = error
        if self.failing_since_ms is None:
            self.failing_since_ms = self.clock.wall_ms()
        self.central.close()
        now = self.clock.monotonic()
        if (
            self._logged is None
            or self._logged[0] != error
            or now - self._logged[1] >= REPEAT_LOG_SECONDS
        ):
            log.error("%s; measuring goes on, export retries (attempt %d)", error, self.failures)
            self._logged = (error, now)
        try:
            if self.outbox is not None:
                self.outbox.mark_failed(error, self.clock.wall_ms())
        except CorcyPowerError as exc:  # the database is busy or full: the error stays in the log
            log.warning("could not record the export error: %s", exc)
        return backoff(self.failures, self.settings.retry_max_seconds, self.rand)

    def run(self, stop: threading.Event) -> None:
        """Until `stop`: a round at once (the backlog of the last run first), then every interval."""
        delay = 0.0
        while not stop.wait(delay):
            delay = self.attempt(stop)
        self.central.close()
        if self.outbox is not None:
            self.outbox.close()

    def start(self) -> Exporter:
        self.thread = threading.Thread(
            target=self.run, args=(self._stop,), name="mysql-export", daemon=True
        )
        self.thread.start()
        return self

    def stop(self, timeout: float = 2.0) -> None:
        """Ask the thread to end; it is not waited for longer than `timeout` (a stuck network
        call ends by its own timeout, and the unsent rows wait in power.db for the next run)."""
        self._stop.set()
        if self.thread is not None:
            self.thread.join(timeout)
