"""power.db as the exporter's outbox: closed minutes not yet sent, and how far it has sent.

The exporter never touches the daemon's connection. It opens its own, reads with plain
SELECTs (WAL: readers never block the writer), and moves the high-water mark in short
transactions of its own with a busy timeout, after each MySQL commit. Its commits skip the
fsync (synchronous = NORMAL): a power cut may forget the last move of the mark, which only
re-sends rows the upserts make harmless, and the SD card sees no extra flush.
"""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

from corcypower.errors import StoreError
from corcypower.export.tables import MinuteRow, Rejected
from corcypower.store.database import transaction

MINUTE_MS = 60_000
# A channel whose data stopped this long before the newest (a chip gone, a channel taken out of
# the config) no longer holds back the others' closed minutes.
STALLED_MS = 600_000
NOTHING_SENT = -1


class ExportState(NamedTuple):
    sent_ts: int
    rows_sent: int = 0
    sent_at_ms: int | None = None
    error: str | None = None
    error_at_ms: int | None = None
    failures: int = 0


class Outbox:
    """The closed minutes of power.db for one target, and that target's mark."""

    def __init__(
        self,
        path: str | Path,
        target: str,
        channels: tuple[str, ...],
        read_only: bool = False,
        busy_seconds: float = 10.0,
    ):
        self.path = Path(path)
        self.target = target
        self.channels = channels
        if not self.path.exists():
            raise StoreError(f"{self.path}: no such database (has the daemon run yet?)")
        try:
            uri = f"file:{self.path.resolve()}{'?mode=ro' if read_only else ''}"
            self.conn = sqlite3.connect(
                uri, uri=True, timeout=busy_seconds, isolation_level=None, check_same_thread=False
            )
            if not read_only:
                self.conn.execute("PRAGMA synchronous = NORMAL")
            tables = {r[0] for r in self.conn.execute("SELECT name FROM sqlite_schema")}
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path}: {exc}") from None
        if not {"energy_minute", "mysql_export"} <= tables:
            raise StoreError(
                f"{self.path}: made by an older version (no energy_minute or mysql_export); "
                "start the daemon once to upgrade it"
            )

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Outbox:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def state(self) -> ExportState:
        # fetchall, here and below: a statement left unfinished would hold a read snapshot,
        # and the WAL could not be checkpointed past it
        rows = self.conn.execute(
            "SELECT sent_ts, rows_sent, sent_at_ms, error, error_at_ms, failures "
            "FROM mysql_export WHERE target = ?",
            (self.target,),
        ).fetchall()
        return ExportState(*rows[0]) if rows else ExportState(NOTHING_SENT)

    def closed_until(self) -> int | None:
        """The start of the newest minute closed for every channel still measuring, or None."""
        ends = self.conn.execute(
            """SELECT c.name, (SELECT max(s.end_ms) FROM span AS s WHERE s.channel_id = c.id)
               FROM channel AS c WHERE c.kind = 'current'"""
        ).fetchall()
        active = [end for name, end in ends if name in self.channels and end is not None]
        if not active:
            return None
        newest = max(active)
        end = min(e for e in active if e >= newest - STALLED_MS)
        return (end - MINUTE_MS) // MINUTE_MS * MINUTE_MS

    def next_chunk(self, after_ts: int, until_ts: int, limit: int) -> list[MinuteRow]:
        """Closed minutes after `after_ts` up to `until_ts`: whole minutes, at most `limit` rows
        (or one minute, if a minute has more rows than that)."""
        rows = self._minutes("ts > ? AND ts <= ?", (after_ts, until_ts), limit + 1)
        if len(rows) <= limit:
            return rows
        last = rows[-1].ts  # a row beyond the limit: its minute goes in the next batch
        whole = [r for r in rows if r.ts != last]
        return whole or self._minutes("ts = ?", (last,), None)

    def _minutes(self, where: str, params: tuple, limit: int | None) -> list[MinuteRow]:
        sql = (
            "SELECT ts, channel, import_wh, export_wh, min_w, max_w, avg_w, batches, duration_ms "
            f"FROM energy_minute WHERE {where} ORDER BY ts, channel_id"
        )
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [MinuteRow(*row) for row in self.conn.execute(sql, params)]

    def mark_sent(
        self, after_ts: int, sent_ts: int, rows: int, rejected: list[Rejected], now_ms: int
    ) -> None:
        """Move the mark from after_ts to sent_ts (unless `mysql resend` moved it meanwhile)."""
        with self._transaction() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO mysql_export (target, sent_ts) VALUES (?, ?)",
                (self.target, NOTHING_SENT),
            )
            conn.execute(
                """UPDATE mysql_export SET sent_ts = ?, rows_sent = rows_sent + ?, sent_at_ms = ?,
                          error = NULL, error_at_ms = NULL, failures = 0
                   WHERE target = ? AND sent_ts = ?""",
                (sent_ts, rows, now_ms, self.target, after_ts),
            )
            conn.executemany(
                "INSERT OR REPLACE INTO mysql_rejected (target, tbl, ts, name, error, at_ms) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (self.target, r.record.table, r.record.ts, r.record.name, r.error, now_ms)
                    for r in rejected
                ],
            )

    def mark_failed(self, error: str, now_ms: int) -> None:
        with self._transaction() as conn:
            conn.execute(
                """INSERT INTO mysql_export (target, sent_ts, error, error_at_ms, failures)
                   VALUES (?, ?, ?, ?, 1)
                   ON CONFLICT (target) DO UPDATE SET error = excluded.error,
                       error_at_ms = excluded.error_at_ms, failures = failures + 1""",
                (self.target, NOTHING_SENT, error, now_ms),
            )

    def resend(self, since_ts: int) -> None:
        """Send again every closed minute from since_ts on (and retry rows set aside there)."""
        with self._transaction() as conn:
            conn.execute(
                """INSERT INTO mysql_export (target, sent_ts) VALUES (?, ?)
                   ON CONFLICT (target) DO UPDATE SET sent_ts = excluded.sent_ts""",
                (self.target, since_ts - 1),
            )
            conn.execute(
                "DELETE FROM mysql_rejected WHERE target = ? AND ts >= ?", (self.target, since_ts)
            )

    def backlog(self) -> tuple[int, int | None]:
        """Closed minute rows not sent yet, and the start of the oldest."""
        until = self.closed_until()
        if until is None:
            return 0, None
        ((count, first),) = self.conn.execute(
            "SELECT count(*), min(ts) FROM energy_minute WHERE ts > ? AND ts <= ?",
            (self.state().sent_ts, until),
        ).fetchall()
        return count, first

    def rejected(self) -> list[tuple]:
        """(table, minute ts, channel or point, error, when) of the rows set aside."""
        cur = self.conn.execute(
            "SELECT tbl, ts, name, error, at_ms FROM mysql_rejected WHERE target = ? ORDER BY ts, tbl, name",
            (self.target,),
        )
        return cur.fetchall()

    @contextmanager
    def _transaction(self):
        """A short transaction of its own, so the daemon's writer waits a few ms at most."""
        try:
            with transaction(self.conn) as conn:
                yield conn
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: cannot record the MySQL export: {exc}") from None
