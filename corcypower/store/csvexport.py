"""History as CSV: any range, channels and resolution, streamed so a year of raw rows fits.

One format for every resolution, so a spreadsheet or pandas reads them alike:

    ts,time,channel,level,unit,mean,min,max,rms,import_wh,export_wh,seconds,phase

`ts` is the start of the interval the row covers (ms UTC), `time` the same in local time
(ISO 8601 with its UTC offset, unambiguous across daylight saving), `seconds` the time
measured in it. mean/min/max are W for current channels and V for voltage channels (`unit`),
rms is Irms (A) or Vrms (V); energies are empty for voltage channels. A raw row is one batch.
`phase` is the channel's (L1, L2, L3, leg1, leg2), empty when not set: a pivot on it gives
per-phase figures.
"""

from __future__ import annotations

import csv
from datetime import datetime
from typing import TextIO

from corcypower.store.database import Database
from corcypower.store.history import RAW, choose_level
from corcypower.store.queries import channels_of
from corcypower.store.rollups import LEVEL_BY_NAME

HEADER = (
    "ts",
    "time",
    "channel",
    "level",
    "unit",
    "mean",
    "min",
    "max",
    "rms",
    "import_wh",
    "export_wh",
    "seconds",
    "phase",
)
WINDOW_ROWS = 50_000  # rows per channel read at a time
RAW_SQL = """SELECT ts - duration_ms, channel_id, coalesce(real_power_w, vrms),
                    coalesce(real_power_w, vrms), coalesce(real_power_w, vrms), coalesce(irms, vrms),
                    max(real_power_w, 0) * duration_ms / 3600000.0,
                    max(-real_power_w, 0) * duration_ms / 3600000.0, duration_ms
             FROM batch WHERE ts > ? AND ts <= ? AND channel_id IN ({marks}) ORDER BY ts, channel_id"""
ROLLUP_SQL = """SELECT ts, channel_id, mean, min, max, rms, import_wh, export_wh, duration_ms
                FROM {table} WHERE ts >= ? AND ts < ? AND channel_id IN ({marks}) ORDER BY ts, channel_id"""


def _cell(value) -> str:
    if value is None:
        return ""
    return repr(value) if isinstance(value, float) else str(value)  # full precision


def export_csv(
    db: Database,
    out: TextIO,
    start_ms: int,
    end_ms: int,
    channels: list[str] | None = None,
    resolution: str = "auto",
    max_points: int = 1000,
) -> tuple[str, int]:
    """Write rows over [start_ms, end_ms) to `out`; returns (level used, rows written).

    `resolution` is "raw", a rollup level ("10s", "1m", "15m", "1h", "6h", "1d"), or "auto":
    the history query's choice for max_points per channel.
    """
    names = channels_of(db, channels)
    ids = list(names)
    described = db.query("SELECT id, kind, phase FROM channel")
    units = {r["id"]: "W" if r["kind"] == "current" else "V" for r in described}
    phases = {r["id"]: r["phase"] or "" for r in described}
    level = (
        choose_level(db, ids, start_ms, end_ms, max_points) if resolution == "auto" else resolution
    )
    marks = ", ".join("?" * len(ids))
    if level == RAW:
        table, sql, width = "batch", RAW_SQL.format(marks=marks), 500
    else:
        table = LEVEL_BY_NAME[level].table
        sql = ROLLUP_SQL.format(table=table, marks=marks)
        width = LEVEL_BY_NAME[level].width_ms
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    written = 0
    step = WINDOW_ROWS * width
    # rollup buckets start at their ts; a raw batch ends at its ts, so the window is (lo, hi]
    lo = start_ms if level == RAW else start_ms // width * width
    # only where there are rows (ts leads the key: two lookups), not a century of windows
    first, last = db.conn.execute(f"SELECT min(ts), max(ts) FROM {table}").fetchone()
    if first is None:
        return level, 0
    lo, end_ms = max(lo, (first - 1) // width * width), min(end_ms, last + 1)
    while lo < end_ms and ids:
        hi = min(lo + step, end_ms)
        for row in db.conn.execute(sql, (lo, hi, *ids)):
            ts, cid = row[0], row[1]
            when = datetime.fromtimestamp(ts / 1000).astimezone()
            text = when.isoformat(timespec="milliseconds" if level == RAW else "seconds")
            writer.writerow(
                (
                    ts,
                    text,
                    names[cid],
                    level,
                    units[cid],
                    *(_cell(v) for v in row[2:8]),
                    row[8] / 1000,
                    phases[cid],
                )
            )
            written += 1
        lo = hi
    return level, written
