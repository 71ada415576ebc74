"""The one history query, for the dashboard and the command line: any range, bounded cost.

It reads the coarsest level that still gives the points asked for. Which level that is, is
found by counting rows level by level from the coarsest, each count stopped at the number
wanted (LIMIT), so deciding costs at most a few thousand index entries whatever the range;
and since neighbouring levels are a small factor apart (rollups.py), the level chosen holds
at most that factor times the points wanted. An hour and a year cost about the same.

pandas is imported here, lazily by callers: the daemon never imports this module.
"""

from __future__ import annotations

from itertools import chain

import numpy as np
import pandas as pd

from corcypower.store.batches import MAX_DURATION_MS
from corcypower.store.database import Database
from corcypower.store.energy import daily_energy
from corcypower.store.queries import channels_of
from corcypower.store.rollups import LEVEL_BY_NAME, LEVELS

__all__ = ["history", "daily_energy", "gaps", "choose_level", "fetch", "LEVEL_NAMES"]

RAW = "raw"
LEVEL_NAMES = (RAW, *(level.name for level in LEVELS))
HISTORY_COLUMNS = ("ts", "time", "channel", "level", "mean", "min", "max")


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


def fetch(db: Database, level: str, ids: list[int], start_ms: int, end_ms: int) -> np.ndarray:
    """(bucket start, channel_id, mean, min, max) of a level as an (n, 5) array, by (ts, channel_id).

    Raw batches are their own bucket [ts - duration_ms, ts): real power for current
    channels, Vrms for voltage channels. Values go straight from the cursor into one array
    (no list of row tuples): converting rows is most of the query's cost.
    """
    table, cond = _where(level, ids)
    params = _params(level, ids, start_ms, end_ms)
    if level == RAW:
        value = "coalesce(real_power_w, vrms)"
        sql = f"SELECT ts - duration_ms, channel_id, {value} FROM batch WHERE {cond} AND {value} IS NOT NULL ORDER BY ts, channel_id"
        flat = np.fromiter(chain.from_iterable(db.conn.execute(sql, params)), dtype=float)
        rows = flat.reshape(-1, 3)
        return np.column_stack([rows, rows[:, 2], rows[:, 2]])
    sql = f"SELECT ts, channel_id, mean, min, max FROM {table} WHERE {cond} AND mean IS NOT NULL ORDER BY ts, channel_id"
    flat = np.fromiter(chain.from_iterable(db.conn.execute(sql, params)), dtype=float)
    return flat.reshape(-1, 5)


def frame(rows: np.ndarray, names: dict[int, str], level: str) -> pd.DataFrame:
    """The history DataFrame of fetched rows: sorted by ts, then channel name."""
    ts = rows[:, 0].astype(np.int64)  # ms fit a float64 exactly
    ch = rows[:, 1].astype(np.int64)
    size = max(names, default=0) + 1
    rank = np.zeros(size, dtype=np.int64)
    rank[sorted(names, key=names.get)] = np.arange(len(names))  # ids in name order
    label = np.array([names.get(i) for i in range(size)], dtype=object)
    order = np.lexsort((rank[ch], ts))
    return pd.DataFrame(
        {
            "ts": ts[order],
            "time": pd.to_datetime(ts[order], unit="ms", utc=True),
            "channel": label[ch[order]],
            "level": np.full(len(ts), level, dtype=object),
            "mean": rows[order, 2],
            "min": rows[order, 3],
            "max": rows[order, 4],
        }
    )


def history(
    db: Database,
    channels: list[str] | None,
    start_ms: int,
    end_ms: int,
    max_points: int = 1000,
) -> pd.DataFrame:
    """Mean and min/max envelope of channels over [start_ms, end_ms), one row per channel per bucket.

    Columns: ts (int64 ms UTC, bucket start), time (UTC datetime), channel, level ("raw",
    "10s", "1m", "15m", "1h", "6h", "1d"), mean, min, max (W for current channels, V for
    voltage channels). Buckets with no data are absent: a gap stays a gap.
    """
    names = channels_of(db, channels)
    if not names or end_ms <= start_ms:
        return frame(np.empty((0, 5)), names, RAW)
    ids = list(names)
    level = choose_level(db, ids, start_ms, end_ms, max_points)
    return frame(fetch(db, level, ids, start_ms, end_ms), names, level)


def gaps(db: Database, channels: list[str] | None, start_ms: int, end_ms: int) -> pd.DataFrame:
    """Holes in the data of channels that overlap [start_ms, end_ms): channel, start_ms, end_ms."""
    names = channels_of(db, channels)
    rows = []
    for cid, name in names.items():
        found = db.query(
            """SELECT from_ms, to_ms FROM (
                   SELECT lag(end_ms) OVER (ORDER BY start_ms) AS from_ms, start_ms AS to_ms
                   FROM span WHERE channel_id = ?)
               WHERE from_ms IS NOT NULL AND from_ms < ? AND to_ms > ?""",
            (cid, end_ms, start_ms),
        )
        rows += [(name, r["from_ms"], r["to_ms"]) for r in found]
    df = pd.DataFrame(rows, columns=["channel", "start_ms", "end_ms"])
    return df.sort_values(["start_ms", "channel"], ignore_index=True)
