"""Buckets of a central history: their widths, the table each reads, what a history costs.

A history (central.Reader.history) has at most the points asked for per channel, each bucket
read from the coarsest table whose rows it holds whole (ChannelDay, ChannelHour,
ChannelQuarter, ChannelMinute), and, for a view of a whole fleet, coarser buckets until it
reads at most a number of rows (coarse_enough). Days are the database's zone's (ChannelDay's),
so whole-day buckets are counted in that zone (day_width, day_buckets).
"""

from __future__ import annotations

from datetime import date, datetime, tzinfo

import numpy as np
import pandas as pd

MINUTE_S = 60
HOUR_S = 3600
DAY_S = 86_400
TABLES = (("ChannelHour", HOUR_S), ("ChannelQuarter", 900), ("ChannelMinute", MINUTE_S))
# Bucket widths a plot may use, in seconds: the finest giving at most the points asked for.
WIDTHS = (
    *(m * MINUTE_S for m in (1, 2, 5, 10, 15, 30)),
    *(h * HOUR_S for h in (1, 2, 3, 6, 12)),
    *(d * DAY_S for d in (1, 2, 7, 14, 28, 56, 112, 224, 448)),
)
EPOCH_DAY = date(1970, 1, 1)
HISTORY_COLUMNS = ("ts", "time", "point", "channel", "level", "mean", "min", "max")
# A history's numbers as integers (nWh, ms, µW), exact to far below what a plot shows: MariaDB
# writes an integer as text in a fraction of the time a double takes, and pandas parses it
# faster: a house's day of minutes (17,000 rows) took half the time (bench/fleet.py).
SCALES = {"i": 1e9, "e": 1e9, "s": 1e3, "lo": 1e6, "hi": 1e6}
COLUMN_OF = {"i": "ImportWh", "e": "ExportWh", "s": "MeasuredSeconds", "lo": "MinW", "hi": "MaxW"}


def measured(extremes: bool) -> list[str]:
    """What a history reads of each row: energies, seconds measured, and the extremes if asked
    (a view of every device draws means only: a third less for the server to write)."""
    return ["i", "e", "s", *(["lo", "hi"] if extremes else [])]


def select_sql(extremes: bool) -> str:
    return ", ".join(
        f"CAST(`{COLUMN_OF[c]}` * {SCALES[c]:.0f} AS SIGNED) AS {c}" for c in measured(extremes)
    )


def label(width_s: int) -> str:
    """A bucket width as history.py names levels: "15m", "1h", "7d"."""
    for unit, size in (("d", DAY_S), ("h", HOUR_S)):
        if width_s % size == 0:
            return f"{width_s // size}{unit}"
    return f"{width_s // MINUTE_S}m"


def bucket_width(start_ms: int, end_ms: int, max_points: int) -> int:
    """The finest width (s) whose buckets overlapping [start, end) number at most max_points."""
    for width in WIDTHS:
        ms = width * 1000
        if (end_ms - 1) // ms - start_ms // ms + 1 <= max(1, max_points):
            return width
    return WIDTHS[-1]


def table_for(width_s: int) -> str:
    """The coarsest table whose rows a bucket of width_s holds whole (below a day)."""
    return next(name for name, size in TABLES if width_s % size == 0)


def rows_read(channels: int, start_ms: int, end_ms: int, width_s: int) -> int:
    """About how many rows history() reads for `channels` channels in buckets of width_s."""
    size = DAY_S if width_s % DAY_S == 0 else dict(TABLES)[table_for(width_s)]
    ms = width_s * 1000
    span = (-(-end_ms // ms) - start_ms // ms) * width_s  # the whole buckets' seconds
    return channels * -(-span // size)


def coarse_enough(channels: int, start_ms: int, end_ms: int, width_s: int, max_rows: int) -> int:
    """width_s, or the finest coarser width whose rows read are at most max_rows, or a day."""
    while width_s % DAY_S and rows_read(channels, start_ms, end_ms, width_s) > max_rows:
        width_s = WIDTHS[WIDTHS.index(width_s) + 1]
    return width_s


def day_width(start_ms: int, end_ms: int, max_points: int, zone: tzinfo) -> int:
    """The finest width of whole days giving at most max_points buckets of the zone's days."""
    widths = [w for w in WIDTHS if w % DAY_S == 0]
    fits = (w for w in widths if len(day_buckets(start_ms, end_ms, w, zone)) <= max(1, max_points))
    return next(fits, widths[-1])


def day_buckets(start_ms: int, end_ms: int, width_s: int, zone: tzinfo) -> range:
    """The buckets of width_s (whole days) of the zone's days that overlap [start, end), by
    number: bucket g holds the days from 1970-01-01 + g × width."""
    days = width_s // DAY_S
    first, last = (datetime.fromtimestamp(t / 1000, zone).date() for t in (start_ms, end_ms - 1))
    return range((first - EPOCH_DAY).days // days, (last - EPOCH_DAY).days // days + 1)


def frame(df: pd.DataFrame, width: int, row_s: int, start_ms) -> pd.DataFrame:
    """HISTORY_COLUMNS from rows (point, channel, b, i, e, s[, lo, hi]) of a table whose rows
    are row_s long: added up into buckets of width seconds, bucket b starting at start_ms(b);
    min and max NaN without lo and hi."""
    df = df.assign(**{c: df[c] / scale for c, scale in SCALES.items() if c in df})
    if width != row_s:  # a bucket is several rows
        extremes = {"lo": ("lo", "min"), "hi": ("hi", "max")} if "lo" in df else {}
        df = df.groupby(["point", "channel", "b"], as_index=False, sort=False).agg(
            **{c: (c, "sum") for c in "ies"}, **extremes
        )
    if "lo" not in df:
        df = df.assign(lo=np.nan, hi=np.nan)
    df = df[df["s"] > 0]
    df = df.assign(mean=(df["i"] - df["e"]) * 3600 / df["s"])
    ts = np.asarray(start_ms(df.pop("b").to_numpy(dtype=np.int64)), dtype=np.int64)
    df = df.rename(columns={"lo": "min", "hi": "max"}).assign(
        ts=ts, time=pd.to_datetime(ts, unit="ms", utc=True), level=label(width)
    )
    return df.sort_values(["ts", "point", "channel"], ignore_index=True)[list(HISTORY_COLUMNS)]
