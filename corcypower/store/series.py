"""History as the state API answers it: JSON built from numpy, through a read-only connection.

The daemon serves /api/v1/history and imports neither pandas nor bokeh, so this reads the
levels directly (levels.py: the same level choice as the dashboard) and writes the JSON itself.

Bounded: one answer holds at most MAX_BUCKETS buckets over all its series. The points asked
for are shared among the channels, and when the level they call for holds more than the cap,
the next coarser level is read instead (its `level` says so). The range (at most ten years)
times the channels (at most 16, live/history.py) always fits the daily level. A query that
runs over `seconds` is interrupted by sqlite itself.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from pathlib import Path

import numpy as np

from corcypower.errors import StoreError, UnknownChannel
from corcypower.store.database import Database
from corcypower.store.levels import LEVEL_NAMES, RAW, choose_level, count, fetch, span_gaps
from corcypower.store.rollups import LEVEL_BY_NAME

__all__ = ["HistoryReader", "series", "MAX_BUCKETS", "MAX_GAPS"]

MAX_BUCKETS = 60_000  # per answer, over all series: about 4 MB of JSON
MAX_GAPS = 1000  # holes listed per series, the earliest first
QUERY_SECONDS = 10.0
VALUE_DECIMALS = 3  # mW and mV: below what any CT or adapter resolves
ENERGY_DECIMALS = 6  # µWh: a 0.5 s batch of 1 W is 0.14 mWh
PROGRESS_STEPS = 10_000  # sqlite VM steps between two looks at the clock


def series(db: Database, names: list[str] | None, start_ms: int, end_ms: int, points: int) -> dict:
    """Buckets of channels (all when `names` is None) overlapping [start_ms, end_ms), as a JSON doc."""
    channels = _channels(db, names)
    doc = {"start": start_ms, "end": end_ms, "points": points, "level": None, "series": []}
    if not channels:
        return doc
    ids = [c["id"] for c in channels]
    per_channel = max(1, min(points, MAX_BUCKETS // len(ids)))
    chosen = choose_level(db, ids, start_ms, end_ms, per_channel)
    level, rows = _within_cap(db, chosen, ids, start_ms, end_ms)
    doc |= {"points": per_channel, "level": level}
    doc["series"] = [
        _one(db, c, rows[rows[:, 1] == c["id"]], level, start_ms, end_ms) for c in channels
    ]
    return doc


def _channels(db: Database, names: list[str] | None) -> list[sqlite3.Row]:
    """The channels' rows (id, name, kind, phase), in the order named (else in id order)."""
    rows = db.query("SELECT id, name, kind, phase FROM channel ORDER BY id")
    if names is None:
        return rows
    by_name = {r["name"]: r for r in rows}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        known = ", ".join(by_name) or "none yet"
        raise UnknownChannel(f"no channel named {', '.join(unknown)} here (channels: {known})")
    return [by_name[n] for n in names]


def _within_cap(
    db: Database, level: str, ids: list[int], start_ms: int, end_ms: int
) -> tuple[str, np.ndarray]:
    """The rows of `level`, or of the first coarser level holding at most MAX_BUCKETS buckets.

    A rollup level is read with a LIMIT one over the cap, which costs less than counting
    first, as the level chosen nearly always fits; raw batches, wide rows that cost five
    times a count to read, are counted first. The daily level always fits (the bounds of
    live/history.py).
    """
    over = MAX_BUCKETS + 1
    for name in LEVEL_NAMES[LEVEL_NAMES.index(level) :]:
        if name == RAW and count(db, name, ids, start_ms, end_ms, over) == over:
            continue
        rows = fetch(db, name, ids, start_ms, end_ms, energy=True, limit=over)
        if len(rows) <= MAX_BUCKETS:
            break
    return name, rows


def _one(
    db: Database, channel: sqlite3.Row, rows: np.ndarray, level: str, start_ms, end_ms
) -> dict:
    """One channel's series: bucket starts, values (and energy for a current channel), holes."""
    current = channel["kind"] == "current"
    holes = span_gaps(db, channel["id"], start_ms, end_ms)
    out = {
        "channel": channel["name"],
        "kind": channel["kind"],
        "phase": channel["phase"],  # L1, L2, L3, leg1, leg2; None when not said
        "unit": "W" if current else "V",
        "level": level,
        "width_ms": None if level == RAW else LEVEL_BY_NAME[level].width_ms,
        "ts": rows[:, 0].astype(np.int64).tolist(),  # ms fit a float64 exactly
        "mean": _rounded(rows[:, 2], VALUE_DECIMALS),
    }
    if level != RAW:  # a raw batch is one value: its min and max are itself
        out |= {
            "min": _rounded(rows[:, 3], VALUE_DECIMALS),
            "max": _rounded(rows[:, 4], VALUE_DECIMALS),
        }
    out["measured_ms"] = rows[:, 5].astype(np.int64).tolist()
    if current:
        out |= {
            "import_wh": _rounded(rows[:, 6], ENERGY_DECIMALS),
            "export_wh": _rounded(rows[:, 7], ENERGY_DECIMALS),
        }
    out |= {"gaps": [list(h) for h in holes[:MAX_GAPS]], "gaps_cut": len(holes) > MAX_GAPS}
    return out


def _rounded(values: np.ndarray, decimals: int) -> list[float]:
    return np.round(values, decimals).tolist()


class HistoryReader:
    """Answers history queries from a power.db, each through a read-only connection of its own
    (opened per query: a replaced or re-created file is simply read anew)."""

    def __init__(self, path: str | os.PathLike, seconds: float = QUERY_SECONDS):
        self.path = Path(path)
        self.seconds = seconds

    def __call__(self, names: list[str] | None, start_ms: int, end_ms: int, points: int) -> bytes:
        """The JSON answer. UnknownChannel for a name not in the file; StoreError when the file
        cannot be read or the query runs over `seconds`."""
        deadline = time.monotonic() + self.seconds
        try:
            with Database(self.path, read_only=True, timeout=self.seconds) as db:
                db.conn.set_progress_handler(lambda: time.monotonic() > deadline, PROGRESS_STEPS)
                doc = series(db, names, start_ms, end_ms, points)
        except sqlite3.OperationalError as exc:
            if time.monotonic() > deadline:
                raise StoreError(
                    f"the history query took over {self.seconds:g} s; ask for a shorter range"
                ) from None
            raise StoreError(f"{self.path}: cannot read the history: {exc}") from None
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: cannot read the history: {exc}") from None
        return json.dumps(doc, allow_nan=False, separators=(",", ":")).encode()
