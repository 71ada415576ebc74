"""History as CSV: any range, channels and resolution, streamed so a year of raw rows fits.

One format for every resolution, so a spreadsheet or pandas reads them alike:

    ts,time,channel,level,unit,mean,min,max,rms,import_wh,export_wh,seconds,phase

`ts` is the start of the interval the row covers (ms UTC), `time` the same in local time
(ISO 8601 with its UTC offset, unambiguous across daylight saving), `seconds` the time
measured in it. mean/min/max are W for current channels and V for voltage channels (`unit`),
rms is Irms (A) or Vrms (V); energies are empty for voltage channels. A raw row is one batch.
`phase` is the channel's (L1, L2, L3, leg1, leg2), empty when not set.

With `phases`, each time also gets total rows: `phase:L1`, `phase:L2`... (the grid channels on
that phase, as the view power_minute_phase adds them) and `house` (every grid channel), in the
channel column; their phase column is empty, so a pivot on it still counts each channel once.
A total's mean, rms and energies are the sums of its channels' (rms: the sum of the CTs' RMS
currents, exact with one CT a phase, an upper bound with several), min and max are empty
(extremes of different channels need not coincide), seconds the least measured. A time at
which one of its channels has no row has no total row: a total is never a partial sum.
"""

from __future__ import annotations

import csv
from datetime import datetime
from itertools import groupby
from typing import TextIO

from corcypower.settings.phases import PHASES
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


def totals_of(described: list) -> dict[str, set[int]]:
    """The total rows' channels: "phase:<p>" for each phase with grid channels, in the order of
    PHASES, then "house": every grid channel (as the views power_minute_phase and
    energy_day_phase add them up)."""
    grid = [r for r in described if r["kind"] == "current" and r["grid"]]
    out = {f"phase:{p}": {r["id"] for r in grid if r["phase"] == p} for p in PHASES}
    out = {name: ids for name, ids in out.items() if ids}
    if grid:
        out["house"] = {r["id"] for r in grid}
    return out


def total_row(rows: list[tuple]) -> tuple:
    """The cells mean, min, max, rms, import_wh, export_wh and measured ms of channels' rows
    added up (row[2:9] of the SQL below)."""
    cells = [[r[i] for r in rows] for i in (2, 5, 6, 7)]
    added = [None if None in values else sum(values) for values in cells]  # never partial
    mean, rms, imported, exported = added
    return mean, None, None, rms, imported, exported, min(r[8] for r in rows)


def export_csv(
    db: Database,
    out: TextIO,
    start_ms: int,
    end_ms: int,
    channels: list[str] | None = None,
    resolution: str = "auto",
    max_points: int = 1000,
    phases: bool = False,
) -> tuple[str, int]:
    """Write rows over [start_ms, end_ms) to `out`; returns (level used, rows written).

    `resolution` is "raw", a rollup level ("10s", "1m", "15m", "1h", "6h", "1d"), or "auto":
    the history query's choice for max_points per channel. `phases`: total rows per phase and
    for the house after each time's channels (see above), whichever channels are written.
    """
    names = channels_of(db, channels)
    described = db.query("SELECT id, name, kind, phase, grid FROM channel")
    units = {r["id"]: "W" if r["kind"] == "current" else "V" for r in described}
    channel_phase = {r["id"]: r["phase"] or "" for r in described}
    totals = totals_of(described) if phases else {}
    ids = sorted(set(names).union(*totals.values()))
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

    def write(ts: int, channel: str, unit: str, cells, phase: str) -> None:
        nonlocal written
        when = datetime.fromtimestamp(ts / 1000).astimezone()
        text = when.isoformat(timespec="milliseconds" if level == RAW else "seconds")
        values = (_cell(v) for v in cells[:6])
        writer.writerow((ts, text, channel, level, unit, *values, cells[6] / 1000, phase))
        written += 1

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
        # rows come by time: a window holds every channel of the times in it
        for ts, group in groupby(db.conn.execute(sql, (lo, hi, *ids)), key=lambda r: r[0]):
            rows = {row[1]: row for row in group}
            for cid, row in rows.items():
                if cid in names:
                    write(ts, names[cid], units[cid], row[2:9], channel_phase[cid])
            for name, members in totals.items():
                if members <= rows.keys():
                    write(ts, name, "W", total_row([rows[m] for m in members]), "")
        lo = hi
    return level, written
