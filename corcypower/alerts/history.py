"""Alert events in power.db (table alert_event, views alerts and alerts_active).

The daemon's alerts write with a connection of their own, in short transactions with a busy
timeout, never the daemon's writer's (as the MySQL exporter does); everything else reads.
`recent` is the read-only query the dashboard, the state API and `corcypower alerts` share.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from corcypower.alerts.engine import FIRING, Event
from corcypower.errors import StoreError
from corcypower.store.database import Database, transaction

KEEP_MS = 366 * 86_400_000  # events older than a year are deleted
COLUMNS = ("ts", "alert", "state", "since_ms", "channel", "value", "threshold", "text")


class History:
    """The alerts' own read-write connection to power.db (made and migrated by the daemon)."""

    def __init__(self, path: str | Path, busy_seconds: float = 10.0):
        self.path = Path(path)
        try:
            self.conn = sqlite3.connect(
                f"file:{self.path.resolve()}?mode=rw",
                uri=True,
                timeout=busy_seconds,
                isolation_level=None,
                check_same_thread=False,
            )
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path}: cannot record alerts: {exc}") from None

    def close(self) -> None:
        self.conn.close()

    def record(self, event: Event) -> None:
        values = (
            event.ts,
            event.alert,
            event.state,
            event.since,
            event.channel,
            event.value,
            event.threshold,
            event.text,
        )
        self._write(
            f"INSERT INTO alert_event ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})",
            values,
        )

    def prune(self, now_ms: int) -> None:
        self._write("DELETE FROM alert_event WHERE ts < ?", (now_ms - KEEP_MS,))

    def _write(self, sql: str, params: tuple) -> None:
        try:
            with transaction(self.conn) as conn:
                conn.execute(sql, params)
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: cannot record alerts: {exc}") from None


def firing(path: str | Path) -> dict[str, int]:
    """The alerts the last run left firing (name → when it fired); {} for a new database."""
    path = Path(path)
    if not path.exists():
        return {}
    try:
        with Database(path, read_only=True) as db:
            return {row["alert"]: row["ts"] for row in db.query(ACTIVE)}
    except (sqlite3.Error, StoreError):  # no alert_event yet: the daemon migrates it
        return {}


ACTIVE = (
    f"SELECT {', '.join(COLUMNS)} FROM alert_event WHERE state = '{FIRING}' "
    "AND id IN (SELECT max(id) FROM alert_event GROUP BY alert) ORDER BY ts"
)


def recent(db: Database, now_ms: int, hours: float = 24.0, limit: int = 50) -> dict:
    """The alerts firing now and the events of the last `hours` (newest first, at most `limit`),
    as plain dicts (ms UTC; the callers show local time)."""
    active = [dict(row) for row in db.query(ACTIVE)]
    events = db.query(
        f"SELECT {', '.join(COLUMNS)} FROM alert_event WHERE ts >= ? ORDER BY id DESC LIMIT ?",
        (now_ms - int(hours * 3_600_000), limit),
    )
    return {"active": active, "recent": [dict(row) for row in events]}
