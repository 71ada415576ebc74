"""Which level of history to read for a range, and reading it into numpy: no pandas here.

It reads the coarsest level that still gives the points asked for. Which level that is, is
found by counting rows level by level from the coarsest, each count stopped at the number
wanted (LIMIT), so deciding costs at most a few thousand index entries whatever the range;
and since neighbouring levels are a small factor apart (rollups.py), the level chosen holds
at most that factor times the points wanted. An hour and a year cost about the same.

The dashboard and the CLI read it through history.py (pandas frames); the daemon's history
API (series.py) reads it here directly, since the daemon imports neither pandas nor bokeh.
"""

from __future__ import annotations

from itertools import chain

import numpy as np

from corcypower.store.batches import MAX_DURATION_MS
from corcypower.store.database import Database
from corcypower.store.rollups import LEVEL_BY_NAME, LEVELS

__all__ = ["RAW", "LEVEL_NAMES", "choose_level", "count", "fetch", "span_gaps"]

RAW = "raw"
LEVEL_NAMES = (RAW, *(level.name for level in LEVELS))
# energy columns of fetch(energy=True): measured ms, Wh drawn, Wh sent back (0 for voltages)
RAW_ENERGY = (
    "duration_ms, max(coalesce(real_power_w, 0), 0) * duration_ms / 3600000.0, "
    "max(-coalesce(real_power_w, 0), 0) * duration_ms / 3600000.0"
)
ROLLUP_ENERGY = "duration_ms, coalesce(import_wh, 0), coalesce(export_wh, 0)"


def _where(level: str, ids: list[int]) -> tuple[str, str]:
    """The table of a level and the condition selecting buckets that overlap [start, end)."""
    marks = ", ".join("?" * len(ids))
    if level == RAW:
        # a batch [ts - duration_ms, ts) overlaps when it ends after start and begins before end
        cond = f"ts > ? AND ts < ? + {MAX_DURATION_MS} AND ts - duration_ms < ? AND channel_id IN ({marks})"
        return "batch", cond
    width = LEVEL_BY_NAME[level].width_ms
    return LEVEL_BY_NAME[level].table, f"ts > ? - {width} AND ts < ? AND channel_id IN ({marks})"


def _params(level: str, ids: list[int], start_ms: int, end_ms: int) -> tuple:
    times = (start_ms, end_ms, end_ms) if level == RAW else (start_ms, end_ms)
    return (*times, *ids)


def count(db: Database, level: str, ids: list[int], start_ms: int, end_ms: int, limit: int) -> int:
    """Buckets of a level over the range, counting no further than `limit`."""
    table, cond = _where(level, ids)
    sql = f"SELECT count(*) FROM (SELECT 1 FROM {table} WHERE {cond} LIMIT ?)"
    return db.query(sql, (*_params(level, ids, start_ms, end_ms), limit))[0][0]


def choose_level(db: Database, ids: list[int], start_ms: int, end_ms: int, max_points: int) -> str:
    """The coarsest level giving at least min(max_points, what exists) points per channel."""
    want = max(1, max_points) * max(1, len(ids))
    best, best_count = LEVEL_NAMES[-1], -1
    for level in reversed(LEVEL_NAMES):  # coarsest first
        n = count(db, level, ids, start_ms, end_ms, want)
        if n >= want:
            return level
        if n > best_count:  # ties keep the coarser level
            best, best_count = level, n
    return best


def fetch(
    db: Database,
    level: str,
    ids: list[int],
    start_ms: int,
    end_ms: int,
    energy: bool = False,
    limit: int = -1,
) -> np.ndarray:
    """(bucket start, channel_id, mean, min, max) of a level as an (n, 5) array, by (ts, channel_id).

    With `energy`, three more columns: measured ms, import Wh and export Wh of each bucket
    (zero for voltage channels). At most `limit` rows (-1: all). Raw batches are their own bucket [ts - duration_ms, ts):
    real power for current channels, Vrms for voltage channels. Values go straight from the
    cursor into one array (no list of row tuples): converting rows is most of the query's cost.
    """
    table, cond = _where(level, ids)
    params = (*_params(level, ids, start_ms, end_ms), limit)
    if level == RAW:
        value = "coalesce(real_power_w, vrms)"
        extra = f", {value}, {value}, {RAW_ENERGY}" if energy else ""
        sql = f"SELECT ts - duration_ms, channel_id, {value}{extra} FROM batch WHERE {cond} AND {value} IS NOT NULL ORDER BY ts, channel_id LIMIT ?"
        rows = _array(db, sql, params, 8 if energy else 3)
        return rows if energy else np.column_stack([rows, rows[:, 2], rows[:, 2]])
    extra = f", {ROLLUP_ENERGY}" if energy else ""
    sql = f"SELECT ts, channel_id, mean, min, max{extra} FROM {table} WHERE {cond} AND mean IS NOT NULL ORDER BY ts, channel_id LIMIT ?"
    return _array(db, sql, params, 8 if energy else 5)


def _array(db: Database, sql: str, params: tuple, columns: int) -> np.ndarray:
    flat = np.fromiter(chain.from_iterable(db.conn.execute(sql, params)), dtype=float)
    return flat.reshape(-1, columns)


def span_gaps(db: Database, channel_id: int, start_ms: int, end_ms: int) -> list[tuple[int, int]]:
    """Holes (from_ms, to_ms) between a channel's spans of data that overlap [start_ms, end_ms)."""
    found = db.query(
        """SELECT from_ms, to_ms FROM (
               SELECT lag(end_ms) OVER (ORDER BY start_ms) AS from_ms, start_ms AS to_ms
               FROM span WHERE channel_id = ?)
           WHERE from_ms IS NOT NULL AND from_ms < ? AND to_ms > ?""",
        (channel_id, end_ms, start_ms),
    )
    return [(r["from_ms"], r["to_ms"]) for r in found]
