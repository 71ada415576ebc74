"""The single writer: batches are buffered in memory and committed every commit_seconds.

An SD card wears by the page it rewrites, not by the row: one commit per 0.5 s batch
rewrites the same few pages (and the WAL) twice a second. Grouping a minute of rows into one
commit writes each page about once. The price is the data at risk on a crash: at most
commit_seconds. SIGTERM calls flush(), so a clean stop loses nothing.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterable

from corcypower.analysis import ChannelStats
from corcypower.clock import Clock
from corcypower.settings import Channel
from corcypower.store.database import Database

log = logging.getLogger(__name__)

COLUMNS = (
    "ts",
    "channel_id",
    "duration_ms",
    "n",
    "mean",
    "min",
    "max",
    "rms",
    "vrms",
    "frequency_hz",
    "irms",
    "real_power_w",
    "apparent_power_va",
    "power_factor",
    "flags",
)
INSERT = (
    f"INSERT OR IGNORE INTO batch ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
)
# A day of rows for 8 channels; beyond this the oldest wait-to-be-written rows are dropped
MAX_PENDING_ROWS = 8 * 2 * 86_400


def register_channels(
    db: Database, channels: Iterable[Channel], chip: str, now_ms: int
) -> dict[str, int]:
    """Make the channel table describe the configured channels; their ids by name."""
    with db.atomic() as conn:
        for ch in channels:
            conn.execute(
                """INSERT INTO channel (name, kind, unit, scale, adc_channel, cs, voltage, chip, updated_ms)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT (name) DO UPDATE SET kind = excluded.kind, unit = excluded.unit,
                       scale = excluded.scale, adc_channel = excluded.adc_channel, cs = excluded.cs,
                       voltage = excluded.voltage, chip = excluded.chip, updated_ms = excluded.updated_ms""",
                (
                    ch.name,
                    ch.kind,
                    ch.unit,
                    ch.scale,
                    ch.adc_channel,
                    ch.cs,
                    None if ch.voltage is None else str(ch.voltage),
                    chip,
                    now_ms,
                ),
            )
    return {row["name"]: row["id"] for row in db.query("SELECT id, name FROM channel")}


def last_ts(db: Database) -> int | None:
    return db.query("SELECT max(ts) FROM batch")[0][0]


class Writer:
    """Buffers batch rows and commits them together; keeps them if a commit fails."""

    def __init__(
        self,
        db: Database,
        channel_ids: dict[str, int],
        commit_seconds: float,
        clock: Clock | None = None,
    ):
        self.db = db
        self.channel_ids = channel_ids
        self.commit_seconds = commit_seconds
        self.clock = clock or Clock()
        self.pending: list[tuple] = []
        self.last_commit = self.clock.monotonic()
        self.rows_written = 0
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
        if len(self.pending) > MAX_PENDING_ROWS:
            dropped = len(self.pending) - MAX_PENDING_ROWS
            del self.pending[:dropped]
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
        self.pending = []
        self.rows_written += len(rows)
        self.commits += 1
        self.last_error = None
        return True

    def _write(self, conn: sqlite3.Connection, rows: list[tuple]) -> None:
        """The statements of one commit; later layers (rollups) extend this, in the same transaction."""
        conn.executemany(INSERT, rows)
