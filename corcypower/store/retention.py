"""Retention: how long each table keeps its rows, and deleting the older ones in small chunks.

Raw batches are kept `store.raw_days` (31: a month of half-second detail), 10-second rollups
`store.rollup_10s_days` (a year), 1-minute rollups `store.rollup_1m_days` (five years), and
15-minute, hourly, 6-hourly and daily rollups forever: together about 3.5 MB per channel per
year.
Freed pages go to sqlite's free list and new rows reuse them, so in steady state the file
stops growing (docs/history.md has the sizes).

Deletes go a chunk at a time, inside the writer's own commits, so no transaction ever holds
the database for long and the SD card sees the same small writes as usual.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

from corcypower.store.rollups import LEVELS

DAY_MS = 86_400_000
RAW_TABLE = "batch"
RAW_WIDTH_MS = 500  # a batch, for sizing chunks
CHUNK_ROWS = 7200  # rows per channel deleted per table per pass: an hour of raw batches
PRUNE_EVERY_MS = 600_000  # the writer prunes after every ten minutes of new data


@dataclass(frozen=True)
class Retention:
    """Days each table keeps (None: forever)."""

    raw_days: float | None = 31
    rollup_days: dict[str, float | None] = field(
        default_factory=lambda: {
            "10s": 366,
            "1m": 1827,
            "15m": None,
            "1h": None,
            "6h": None,
            "1d": None,
        }
    )

    @classmethod
    def from_config(cls, config) -> Retention:
        days = cls().rollup_days | {
            "10s": config["store.rollup_10s_days"] or None,
            "1m": config["store.rollup_1m_days"] or None,
        }
        return cls(config["store.raw_days"], days)

    def keep_ms(self) -> dict[str, int | None]:
        """Each table's retention in ms (None: forever)."""
        out = {RAW_TABLE: None if self.raw_days is None else int(self.raw_days * DAY_MS)}
        for level in LEVELS:
            days = self.rollup_days.get(level.name)
            out[level.table] = None if days is None else int(days * DAY_MS)
        return out

    def horizons(self, now_ms: int) -> dict[str, int | None]:
        """The oldest time each table keeps at now_ms; older rows are not written at all."""
        return {t: None if k is None else now_ms - k for t, k in self.keep_ms().items()}


def chunk_ms(table: str) -> int:
    width = (
        RAW_WIDTH_MS
        if table == RAW_TABLE
        else next(lv for lv in LEVELS if lv.table == table).width_ms
    )
    return CHUNK_ROWS * width


def prune(conn: sqlite3.Connection, retention: Retention, now_ms: int) -> int:
    """Delete one chunk of what has expired from every table; rows deleted."""
    deleted = 0
    for table, horizon in retention.horizons(now_ms).items():
        if horizon is None:
            continue
        oldest = conn.execute(f"SELECT min(ts) FROM {table}").fetchone()[0]
        if oldest is None or oldest >= horizon:
            continue
        cut = min(horizon, oldest + chunk_ms(table))
        deleted += conn.execute(f"DELETE FROM {table} WHERE ts < ?", (cut,)).rowcount
    return deleted


def expired(conn: sqlite3.Connection, retention: Retention, now_ms: int) -> bool:
    """Whether any table still holds rows older than its horizon (prune until it does not)."""
    for table, horizon in retention.horizons(now_ms).items():
        if horizon is not None:
            oldest = conn.execute(f"SELECT min(ts) FROM {table}").fetchone()[0]
            if oldest is not None and oldest < horizon:
                return True
    return False
