"""The single write path: batches are buffered in memory and committed every commit_seconds.

An SD card wears by the page it rewrites, not by the row: one commit per 0.5 s batch
rewrites the same few pages (and the WAL) twice a second. Grouping a minute of rows into one
commit writes each page about once (bench/store.py measures it). The price is the data at
risk on a crash: at most commit_seconds. SIGTERM calls flush(), so a clean stop loses nothing.

Every commit writes, in one transaction: the spans (coverage), the raw rows, every rollup
level, and from time to time a chunk of retention deletes. `write_rows` is that transaction's
body, shared by the daemon, `simulate` and `import`, so all three store the same way.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Iterable

import numpy as np

from corcypower.analysis import ChannelStats
from corcypower.clock import Clock
from corcypower.errors import DatabaseBusy, ForeignDatabase, StoreError
from corcypower.settings import Channel
from corcypower.store import rollups, spans
from corcypower.store.batches import COLUMNS, Batches
from corcypower.store.database import Database
from corcypower.store.retention import PRUNE_EVERY_MS, RAW_TABLE, Retention, prune

log = logging.getLogger(__name__)

INSERT = (
    f"INSERT OR IGNORE INTO batch ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
)
# Rows kept in memory while the database cannot be written (disk full, locked): ~400 bytes
# each, so 100 000 rows are ~40 MB, 14 hours of two channels. Beyond, the oldest are dropped.
DEFAULT_BUFFER_ROWS = 100_000


def register_channels(
    db: Database, channels: Iterable[Channel], chip: str, now_ms: int, grid: Iterable[str] = ()
) -> dict[str, int]:
    """Make the channel table describe the configured channels (`grid`: the names whose sum is
    the whole house); their ids by name."""
    grid = set(grid)
    with db.atomic() as conn:
        for ch in channels:
            conn.execute(
                """INSERT INTO channel (name, kind, unit, scale, adc_channel, cs, voltage, chip,
                                       updated_ms, phase, grid)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT (name) DO UPDATE SET kind = excluded.kind, unit = excluded.unit,
                       scale = excluded.scale, adc_channel = excluded.adc_channel, cs = excluded.cs,
                       voltage = excluded.voltage, chip = excluded.chip, updated_ms = excluded.updated_ms,
                       phase = excluded.phase, grid = excluded.grid""",
                (
                    ch.name,
                    ch.kind,
                    ch.unit,
                    ch.scale,
                    ch.adc_channel,
                    ch.cs,
                    ch.voltage_text,
                    chip,
                    now_ms,
                    ch.phase,
                    int(ch.name in grid),
                ),
            )
    return {row["name"]: row["id"] for row in db.query("SELECT id, name FROM channel")}


def last_ts(db: Database) -> int | None:
    """The end of the newest stored batch (raw, or covered by an import): new stamps go after it."""
    raw = db.query("SELECT max(ts) FROM batch")[0][0]
    covered = db.query("SELECT max(end_ms) FROM span")[0][0]
    found = [t for t in (raw, covered) if t is not None]
    return max(found) if found else None


def write_rows(
    conn: sqlite3.Connection, batches: Batches, now_ms: int, retention: Retention
) -> int:
    """Store batches inside the caller's transaction; returns how many were new.

    Batches already covered are skipped (see spans). Rows older than a table's retention at
    now_ms are not written to it: an import of last year's data fills the rollups kept that
    long, not the raw table only to delete it again.
    """
    batches.check()
    b = batches.unique_sorted()
    b = b.take(spans.record(conn, b))
    if not len(b):
        return 0
    since = retention.horizons(now_ms)
    raw = b if since[RAW_TABLE] is None else b.take(b["ts"] >= since[RAW_TABLE])
    conn.executemany(INSERT, raw.rows())
    rollups.add_all(conn, b, since)
    return len(b)


class Writer:
    """Buffers batch rows and commits them together; keeps them if a commit fails.

    Before each commit it checks that the database's path still names the file it writes:
    if it was deleted or replaced, `reopen` (the daemon's) opens the file now at the path
    (a new one, with the schema and channels) and the pending rows go there.
    """

    def __init__(
        self,
        db: Database,
        channel_ids: dict[str, int],
        commit_seconds: float,
        clock: Clock | None = None,
        retention: Retention | None = None,
        buffer_rows: int = DEFAULT_BUFFER_ROWS,
        reopen: Callable[[], tuple[Database, dict[str, int]]] | None = None,
    ):
        self.db = db
        self.channel_ids = channel_ids
        self.commit_seconds = commit_seconds
        self.clock = clock or Clock()
        self.retention = retention or Retention()
        self.buffer_rows = buffer_rows
        self.reopen = reopen
        self.lost = False  # the file was deleted or replaced, and not yet reopened
        self.pending: list[tuple] = []
        self.last_commit = self.clock.monotonic()
        self.last_prune_ms: int | None = None
        self.rows_written = 0  # new rows the database took
        self.rows_skipped = 0  # rows whose time the database already covered (another writer)
        self.rows_dropped = 0
        self.commits = 0
        self.failures = 0
        self.last_error: str | None = None

    def add(self, ts: int, duration_ms: int, stats: Iterable[ChannelStats]) -> None:
        for s in stats:
            self.pending.append(
                (
                    ts,
                    self.channel_ids[s.name],
                    duration_ms,
                    s.n,
                    s.mean,
                    s.min,
                    s.max,
                    s.rms,
                    s.vrms,
                    s.frequency_hz,
                    s.irms,
                    s.real_power_w,
                    s.apparent_power_va,
                    s.power_factor,
                    s.flags,
                )
            )
        if len(self.pending) > self.buffer_rows:
            dropped = len(self.pending) - self.buffer_rows
            del self.pending[:dropped]
            self.rows_dropped += dropped
            log.error("database unwritable for too long: dropped the %d oldest rows", dropped)

    def due(self) -> bool:
        return self.clock.monotonic() - self.last_commit >= self.commit_seconds

    def flush(self) -> bool:
        """Commit every pending row in one transaction; on failure keep them for the next try.

        Any error is caught and logged, not only sqlite's: the rows stay in memory and the
        next commit tries again. Only a database that cannot be written by waiting (another
        daemon took it over, a foreign file at its path) raises, for the daemon to stop.
        """
        self.last_commit = self.clock.monotonic()
        if not self.pending:
            return True
        try:
            self._follow_the_path()
            rows = self.pending
            with self.db.atomic() as conn:
                stored = self._write(conn, rows)
        except (DatabaseBusy, ForeignDatabase):
            raise
        except Exception as exc:
            self.failures += 1
            first = self.last_error is None
            self.last_error = str(exc) or type(exc).__name__
            log.error(
                "commit of %d rows to %s failed (%s); keeping them in memory and retrying",
                len(self.pending),
                self.db.path,
                self.last_error,
                # an error that is not the database's is a bug: its traceback, once
                exc_info=first and not isinstance(exc, sqlite3.Error | StoreError),
            )
            return False
        if self.last_error:
            log.warning("the database is writable again: %d rows committed", len(rows))
        self.pending = []
        self.rows_written += stored
        self.rows_skipped += len(rows) - stored
        self.commits += 1
        self.last_error = None
        return True

    def _follow_the_path(self) -> None:
        """If the file at the path is no longer ours, move to the one there now (or a new one)."""
        why = self.db.replaced() if self.reopen is not None else None
        if why is None and not self.lost:
            return
        if not self.lost:
            log.error(
                "%s %s while the daemon was running: writing the %d rows not yet committed "
                "to the file now at that path (a new database if there is none)",
                self.db.path,
                why,
                len(self.pending),
            )
            # closed first, its WAL files removed: a new connection would take them for its own
            self.db.abandon()
            self.lost = True
        db, ids = self.reopen()  # on failure: retried at the next commit, rows kept
        new_id = {self.channel_ids[name]: ids[name] for name in self.channel_ids}
        self.pending = [(r[0], new_id[r[1]], *r[2:]) for r in self.pending]
        self.db, self.channel_ids, self.lost = db, ids, False
        self.last_prune_ms = None

    def _write(self, conn: sqlite3.Connection, rows: list[tuple]) -> int:
        """The statements of one commit: rows, spans, rollups, and now and then retention."""
        b = Batches.from_rows(rows)
        now = int(np.max(b["ts"]))
        stored = write_rows(conn, b, now, self.retention)
        if self.last_prune_ms is None or now - self.last_prune_ms >= PRUNE_EVERY_MS:
            prune(conn, self.retention, now)
            self.last_prune_ms = now
        return stored
