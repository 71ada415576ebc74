"""The one history query, for the dashboard and the command line: any range, bounded cost.

It reads the coarsest level that still gives the points asked for (levels.py chooses and
reads it into numpy; here the rows become pandas frames). An hour and a year cost about the same.

pandas is imported here, lazily by callers: the daemon never imports this module.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from corcypower.store.database import Database
from corcypower.store.energy import daily_energy
from corcypower.store.levels import LEVEL_NAMES, RAW, choose_level, fetch, span_gaps
from corcypower.store.queries import channels_of

__all__ = ["history", "daily_energy", "gaps", "choose_level", "fetch", "LEVEL_NAMES", "RAW"]

HISTORY_COLUMNS = ("ts", "time", "channel", "level", "mean", "min", "max")


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
        rows += [(name, *hole) for hole in span_gaps(db, cid, start_ms, end_ms)]
    df = pd.DataFrame(rows, columns=["channel", "start_ms", "end_ms"])
    return df.sort_values(["start_ms", "channel"], ignore_index=True)
