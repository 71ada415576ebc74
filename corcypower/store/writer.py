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
from collections.abc import Iterable

import numpy as np

from corcypower.analysis import ChannelStats
from corcypower.clock import Clock
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


def rebuild(
    conn: sqlite3.Connection,
    chunk_ms: int = 6 * 3_600_000,
    levels: tuple[rollups.Level, ...] = rollups.LEVELS,
) -> int:
    """Recompute spans and rollups from the raw rows, where raw rows still exist; rows read.

    Buckets that begin before the oldest raw row keep their stored values: their raw rows
    are gone, so they cannot be rebuilt. Runs inside the caller's transaction.
    """
    first = conn.execute("SELECT min(ts) FROM batch").fetchone()[0]
    if first is None:
        return 0
    start = conn.execute(
        "SELECT min(ts - duration_ms) FROM batch WHERE ts < ?", (first + 10_000,)
    ).fetchone()[0]
    since = {}
    for level in levels:
        # the bucket holding the first raw row keeps its stored value if data older than that
        # row was stored in it (its raw rows are gone); otherwise it is rebuilt too
        partial = start // level.width_ms * level.width_ms
        older = conn.execute(
            "SELECT 1 FROM span WHERE start_ms < ? AND end_ms > ? LIMIT 1", (start, partial)
        ).fetchone()
        since[level.table] = partial + level.width_ms if older else partial
        conn.execute(f"DELETE FROM {level.table} WHERE ts >= ?", (since[level.table],))
    spans.truncate(conn, start)
    last = conn.execute("SELECT max(ts) FROM batch").fetchone()[0]
    done = 0
    for lo in range(first, last + 1, chunk_ms):
        cur = conn.execute(
            f"SELECT {', '.join(COLUMNS)} FROM batch WHERE ts >= ? AND ts < ? ORDER BY ts",
            (lo, lo + chunk_ms),
        )
        b = Batches.from_rows(cur.fetchall())
        spans.record(conn, b)
        rollups.add_all(conn, b, since, levels)
        done += len(b)
    return done


class Writer:
    """Buffers batch rows and commits them together; keeps them if a commit fails."""

    def __init__(
        self,
        db: Database,
        channel_ids: dict[str, int],
        commit_seconds: float,
        clock: Clock | None = None,
        retention: Retention | None = None,
        buffer_rows: int = DEFAULT_BUFFER_ROWS,
    ):
        self.db = db
        self.channel_ids = channel_ids
        self.commit_seconds = commit_seconds
        self.clock = clock or Clock()
        self.retention = retention or Retention()
        self.buffer_rows = buffer_rows
        self.pending: list[tuple] = []
        self.last_commit = self.clock.monotonic()
        self.last_prune_ms: int | None = None
        self.rows_written = 0
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
        """Commit every pending row in one transaction; on failure keep them for the next try."""
        self.last_commit = self.clock.monotonic()
        if not self.pending:
            return True
        rows = self.pending
        try:
            with self.db.atomic() as conn:
                self._write(conn, rows)
        except sqlite3.Error as exc:
            self.failures += 1
            self.last_error = str(exc)
            log.error(
                "commit of %d rows to %s failed (%s); keeping them in memory and retrying",
                len(rows),
                self.db.path,
                exc,
            )
            return False
        if self.failures and self.last_error:
            log.warning("the database is writable again: %d rows committed", len(rows))
        self.pending = []
        self.rows_written += len(rows)
        self.commits += 1
        self.last_error = None
        return True

    def _write(self, conn: sqlite3.Connection, rows: list[tuple]) -> None:
        """The statements of one commit: rows, spans, rollups, and now and then retention."""
        b = Batches.from_rows(rows)
        now = int(np.max(b["ts"]))
        write_rows(conn, b, now, self.retention)
        if self.last_prune_ms is None or now - self.last_prune_ms >= PRUNE_EVERY_MS:
            prune(conn, self.retention, now)
            self.last_prune_ms = now
