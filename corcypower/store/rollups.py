"""Rollups: per-channel statistics per 10 s, 1 min, 15 min, 1 h, 6 h and 1 day, kept incrementally.

Why these levels: the history query reads the coarsest level that still gives the points a
plot needs, so neighbouring levels should be a small factor apart (raw 0.5 s ×20 10 s ×6
1 min ×15 15 min ×4 1 h ×6 6 h ×4 1 day) and the rows read for any range stay within a
small multiple of the points asked for: a year is 1460 six-hour buckets, not 8760 hours.
15 minutes is the metering interval of European smart meters and divides every time zone's
offset, so local days are whole numbers of them; 1 day is the level kept forever.

Each write adds the new batches to the buckets they fall in, in the same transaction as the
raw rows, so a crash can never leave the two out of step. A batch straddling a bucket
boundary is split between both buckets in proportion to time: energy per minute is then
exact however the batches fall against the clock. Energy is power times each batch's own
measured duration, so holes in the data add nothing (no value is held across a gap).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

import numpy as np

from corcypower.store.batches import Batches

MS_PER_HOUR = 3_600_000.0


@dataclass(frozen=True)
class Level:
    name: str
    width_ms: int

    @property
    def table(self) -> str:
        return f"rollup_{self.name}"


LEVELS = (
    Level("10s", 10_000),
    Level("1m", 60_000),
    Level("15m", 900_000),
    Level("1h", 3_600_000),
    Level("6h", 21_600_000),
    Level("1d", 86_400_000),
)
LEVEL_BY_NAME = {level.name: level for level in LEVELS}

COLUMNS = (
    "ts",
    "channel_id",
    "n",
    "duration_ms",
    "mean",
    "min",
    "max",
    "rms",
    "import_wh",
    "export_wh",
    "apparent_vah",
    "flags",
)


def pieces(b: Batches, width: int) -> dict[str, np.ndarray]:
    """Each batch cut at bucket boundaries, as partial bucket rows (one or two per batch).

    For a current channel the value is real power (W) and the square is Irms²; for a voltage
    channel, Vrms and Vrms². A batch with neither is left out.
    """
    power = b["real_power_w"]
    is_voltage = np.isnan(power)
    value = np.where(is_voltage, b["vrms"], power)
    square = np.where(is_voltage, b["vrms"], b["irms"]) ** 2
    ok = ~np.isnan(value)
    end = b["ts"][ok]
    dur = b["duration_ms"][ok]
    start = end - dur
    first = start // width * width
    last = (end - 1) // width * width
    split = last > first  # durations never exceed the 10 s width: at most two pieces
    idx = np.concatenate([np.flatnonzero(ok), np.flatnonzero(ok)[split]])
    ms = np.concatenate([np.where(split, first + width - start, dur), (end - last)[split]])
    n = np.concatenate([~split, np.ones(split.sum(), dtype=bool)]).astype(np.int64)
    value, square, power = value[idx], square[idx], power[idx]
    hours = ms / MS_PER_HOUR
    none = np.where(np.isnan(power), np.nan, 0.0)  # voltage channels have no energy: NULL
    return {
        "ts": np.concatenate([first, last[split]]),
        "channel_id": b["channel_id"][idx],
        "n": n,
        "duration_ms": ms,
        "mean": value,
        "min": value,
        "max": value,
        "rms": np.sqrt(square),
        "import_wh": np.where(power > 0, power, none) * hours,
        "export_wh": np.where(power < 0, -power, none) * hours,
        "apparent_vah": b["apparent_power_va"][idx] * hours,
        "flags": b["flags"][idx],
    }


def combine(parts: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Partial rows of the same (ts, channel_id) merged into one: sums, extremes, weighted means."""
    key_order = np.lexsort((parts["channel_id"], parts["ts"]))
    p = {name: col[key_order] for name, col in parts.items()}
    ts, ch = p["ts"], p["channel_id"]
    starts = np.flatnonzero(np.r_[True, (ts[1:] != ts[:-1]) | (ch[1:] != ch[:-1])])
    w = p["duration_ms"].astype(float)
    dur = np.add.reduceat(w, starts)

    def total(x):
        return np.add.reduceat(x, starts)

    low = np.minimum.reduceat(p["min"], starts)
    high = np.maximum.reduceat(p["max"], starts)
    return {
        "ts": ts[starts],
        "channel_id": ch[starts],
        "n": total(p["n"]),
        "duration_ms": dur.astype(np.int64),
        # a weighted mean lies between the extremes; rounding must not put it outside
        "mean": np.clip(total(p["mean"] * w) / dur, low, high),
        "min": low,
        "max": high,
        "rms": np.sqrt(total(p["rms"] ** 2 * w) / dur),
        "import_wh": total(p["import_wh"]),
        "export_wh": total(p["export_wh"]),
        "apparent_vah": total(p["apparent_vah"]),
        "flags": np.bitwise_or.reduceat(p["flags"], starts),
    }


def _arrays(rows: list[tuple]) -> dict[str, np.ndarray]:
    """Rollup rows (COLUMNS order) as columns; {} if there are none."""
    if not rows:
        return {}
    cols = list(zip(*rows, strict=True))
    out = {}
    for name, col in zip(COLUMNS, cols, strict=True):
        integer = name in ("ts", "channel_id", "n", "duration_ms", "flags")
        out[name] = np.array(col, dtype=np.int64 if integer else float)
    return out


def _existing(conn: sqlite3.Connection, level: Level, lo: int, hi: int) -> dict[str, np.ndarray]:
    sql = f"SELECT {', '.join(COLUMNS)} FROM {level.table} WHERE ts >= ? AND ts <= ?"
    return _arrays(conn.execute(sql, (lo, hi)).fetchall())


def _write(conn: sqlite3.Connection, level: Level, rows: dict[str, np.ndarray]) -> None:
    conn.executemany(
        f"INSERT OR REPLACE INTO {level.table} ({', '.join(COLUMNS)}) "
        f"VALUES ({', '.join('?' * len(COLUMNS))})",
        zip(*(rows[name].tolist() for name in COLUMNS), strict=True),
    )


def regroup(conn: sqlite3.Connection, source: Level, target: Level) -> int:
    """Fill a coarser level from a finer one whose buckets nest in it (a level added later)."""
    parts = _arrays(conn.execute(f"SELECT {', '.join(COLUMNS)} FROM {source.table}").fetchall())
    if not parts:
        return 0
    parts["ts"] = parts["ts"] // target.width_ms * target.width_ms
    rows = combine(parts)
    _write(conn, target, rows)
    return len(rows["ts"])


def add(conn: sqlite3.Connection, level: Level, b: Batches, since_ms: int | None = None) -> int:
    """Add batches to one level's buckets (those starting at or after since_ms); buckets written."""
    if not len(b):
        return 0
    parts = pieces(b, level.width_ms)
    if since_ms is not None:
        keep = parts["ts"] >= since_ms
        parts = {name: col[keep] for name, col in parts.items()}
    if not len(parts["ts"]):
        return 0
    new = combine(parts)
    old = _existing(conn, level, int(new["ts"][0]), int(new["ts"][-1]))
    if old:
        new = combine({name: np.concatenate([old[name], new[name]]) for name in COLUMNS})
    _write(conn, level, new)
    return len(new["ts"])


def add_all(
    conn: sqlite3.Connection,
    b: Batches,
    since: dict[str, int | None],
    levels: tuple[Level, ...] = LEVELS,
) -> None:
    """Add batches to every level; `since` maps a level's table to its retention horizon."""
    for level in levels:
        add(conn, level, b, since.get(level.table))
