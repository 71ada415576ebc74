"""The house and the fleet, read from the central database: what the house view draws.

For every device ("point") exporting to the central MySQL/MariaDB ([export.mysql]): its
channels, a channel's history over any range at a bounded number of points, energy per local
day (daylight saving included), and the devices that drew the most on a day. Read-only (the
session is READ ONLY); rows come back as pandas frames, as corcypower/store/history.py gives
them for power.db, with the point beside the channel.

Costs stay bounded whatever the fleet's size (docs/mysql.md#sizing): every query names the
(point, channel) pairs it reads, so each is a range of the primary keys (Point, Channel,
TimeStamp); history reads whole hours from ChannelHour as soon as its buckets are an hour or
more, and minutes only for shorter buckets; days are sums of hours, and only an hour that a
local midnight cuts (in zones offset by :30 or :45) is read from its minutes.

pandas is imported here: the daemon never imports this module.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pymysql

from corcypower.errors import ExportError
from corcypower.export.config import ExportSettings
from corcypower.export.mysql import connect, describe
from corcypower.export.tables import utc
from corcypower.store.energy import local_midnight_ms

MINUTE_S = 60
HOUR_S = 3600
DAY_S = 86_400
# Bucket widths a plot may use, in seconds: the finest giving at most the points asked for.
WIDTHS = (
    *(m * MINUTE_S for m in (1, 2, 5, 10, 15, 30)),
    *(h * HOUR_S for h in (1, 2, 3, 6, 12)),
    *(d * DAY_S for d in (1, 2, 7, 14, 28, 56, 112, 224, 448)),
)
EPOCH = "62167219200"  # TO_SECONDS('1970-01-01'): TO_SECONDS(t) - EPOCH is t's Unix time (t UTC)
UNIX = f"(TO_SECONDS(`TimeStamp`) - {EPOCH})"
HISTORY_COLUMNS = ("ts", "time", "point", "channel", "level", "mean", "min", "max")
ENERGY_COLUMNS = ("day", "point", "channel", "import_wh", "export_wh")

Key = tuple[str, str]  # (point, channel)


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


def local_days(days: int, end_ms: int, tz: tzinfo | None) -> tuple[list[date], list[int]]:
    """The `days` local days up to the one holding end_ms, and their bounds (ms): days + 1."""
    last = datetime.fromtimestamp(end_ms / 1000, tz).date()
    day_list = [last - timedelta(days=k) for k in range(max(1, days) - 1, -1, -1)]
    bounds = [local_midnight_ms(d, tz) for d in (*day_list, last + timedelta(days=1))]
    return day_list, bounds


def _keys_sql(keys: Sequence[Key]) -> tuple[str, list]:
    """(Point = ? AND Channel IN (...)) OR ...: one primary-key range per pair."""
    by_point: dict[str, list[str]] = {}
    for point, channel in keys:
        by_point.setdefault(point, []).append(channel)
    terms, params = [], []
    for point, channels in by_point.items():
        terms.append(f"(`Point` = %s AND `Channel` IN ({', '.join(['%s'] * len(channels))}))")
        params += [point, *channels]
    return "(" + " OR ".join(terms) + ")", params


class Reader:
    """Read-only queries of the central database, over one connection opened on demand.

    Thread-safe (a dashboard's sessions share one): queries take turns on the connection. Any
    failure drops the connection, to be opened afresh by the next query, and is an ExportError
    that says which server and what to check.
    """

    def __init__(self, settings: ExportSettings):
        self.settings = settings
        self.conn: pymysql.connections.Connection | None = None
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._drop()

    def __enter__(self) -> Reader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _drop(self) -> None:
        if self.conn is not None:
            try:
                self.conn.close()
            except pymysql.MySQLError:
                pass  # already gone
            self.conn = None

    def query(self, sql: str, params: Sequence = ()) -> list[tuple]:
        with self._lock:
            if self.conn is None:
                self.conn = connect(
                    self.settings,
                    autocommit=True,
                    init_command="SET SESSION TRANSACTION READ ONLY",
                )
            try:
                with self.conn.cursor() as cur:
                    cur.execute(sql, params)
                    return list(cur.fetchall())
            except pymysql.MySQLError as exc:
                self._drop()
                raise ExportError(describe(exc, self.settings)) from None

    def channels(self, points: Iterable[str] | None = None) -> pd.DataFrame:
        """point, channel, first_ms, last_ms (the hours they have data in), by point and channel.

        A loose index scan: one look into the primary key per channel, not a row per hour.
        """
        where, params = "", []
        if points is not None:
            points = list(points)
            if not points:
                return pd.DataFrame(columns=["point", "channel", "first_ms", "last_ms"])
            where, params = f"WHERE `Point` IN ({', '.join(['%s'] * len(points))})", points
        rows = self.query(
            f"""SELECT `Point`, `Channel`, MIN({UNIX}), MAX({UNIX}) FROM `ChannelHour` {where}
                GROUP BY `Point`, `Channel` ORDER BY `Point`, `Channel`""",
            params,
        )
        df = pd.DataFrame(rows, columns=["point", "channel", "first_ms", "last_ms"])
        df[["first_ms", "last_ms"]] = df[["first_ms", "last_ms"]].astype(np.int64) * 1000
        df["last_ms"] += HOUR_S * 1000  # the end of the last hour with data
        return df

    def keys(self, points: Iterable[str] | None = None) -> list[Key]:
        """Every (point, channel) exporting here (or of the points named)."""
        df = self.channels(points)
        return list(zip(df["point"], df["channel"], strict=True))

    def history(
        self, keys: Sequence[Key], start_ms: int, end_ms: int, max_points: int = 1000
    ) -> pd.DataFrame:
        """Mean power and its min/max per bucket of each (point, channel) over [start, end).

        Columns: ts (int64 ms UTC, bucket start), time (UTC), point, channel, level (the bucket
        width: "1m" … "1h" … "7d"), mean (W: energy over the time measured), min, max (W, the
        extremes of the minutes). At most max_points buckets per channel; every bucket is
        whole; buckets without data are absent (a gap stays a gap).
        """
        keys = list(dict.fromkeys(keys))
        if not keys or end_ms <= start_ms:
            return pd.DataFrame(columns=HISTORY_COLUMNS)
        width = bucket_width(start_ms, end_ms, max_points)
        table = "ChannelHour" if width % HOUR_S == 0 else "ChannelMinute"
        first = start_ms // (width * 1000) * width * 1000
        last = -(-end_ms // (width * 1000)) * width * 1000
        where, params = _keys_sql(keys)
        rows = self.query(
            f"""SELECT `Point`, `Channel`, {UNIX} DIV {width} AS b,
                       (SUM(`ImportWh`) - SUM(`ExportWh`)) * 3600 / SUM(`MeasuredSeconds`),
                       MIN(`MinW`), MAX(`MaxW`)
                FROM `{table}` WHERE {where} AND `TimeStamp` >= %s AND `TimeStamp` < %s
                GROUP BY `Point`, `Channel`, b HAVING SUM(`MeasuredSeconds`) > 0""",
            [*params, utc(first), utc(last)],
        )
        df = pd.DataFrame(rows, columns=["point", "channel", "b", "mean", "min", "max"])
        ts = df["b"].astype(np.int64) * width * 1000
        df = df.assign(ts=ts, time=pd.to_datetime(ts, unit="ms", utc=True), level=label(width))
        df[["mean", "min", "max"]] = df[["mean", "min", "max"]].astype(float)
        df = df.sort_values(["ts", "point", "channel"], ignore_index=True)
        return df[list(HISTORY_COLUMNS)]

    def daily_energy(
        self,
        keys: Sequence[Key] | None = None,
        days: int = 30,
        end_ms: int | None = None,
        tz: tzinfo | str | None = None,
    ) -> pd.DataFrame:
        """Energy per local day of each (point, channel), or of every one, for `days` days.

        Columns: day ('YYYY-MM-DD', the local calendar day, 23 or 25 hours long when daylight
        saving starts or ends), point, channel, import_wh, export_wh. The day holding end_ms
        (default: now) counts up to now. `tz`: a tzinfo or an IANA name; default the system's.
        """
        tz = ZoneInfo(tz) if isinstance(tz, str) else tz
        end_ms = round(datetime.now().timestamp() * 1000) if end_ms is None else end_ms
        keys = self.keys() if keys is None else list(dict.fromkeys(keys))
        if not keys:
            return pd.DataFrame(columns=ENERGY_COLUMNS)
        day_list, bounds = local_days(days, end_ms, tz)
        rows = self._sum_between(keys, bounds)
        df = pd.DataFrame(rows, columns=["point", "channel", "k", "import_wh", "export_wh"])
        df.insert(0, "day", [day_list[k - 1].isoformat() for k in df.pop("k")])
        df[["import_wh", "export_wh"]] = df[["import_wh", "export_wh"]].astype(float)
        return df.sort_values(["day", "point", "channel"], ignore_index=True)

    def top_points(self, day: date, tz: tzinfo | str | None = None, n: int = 10) -> pd.DataFrame:
        """The n points that drew the most from the grid on a local day: point, import_wh,
        export_wh (their channels added up), the most first."""
        tz = ZoneInfo(tz) if isinstance(tz, str) else tz
        keys = self.keys()
        columns = ["point", "import_wh", "export_wh"]
        if not keys:
            return pd.DataFrame(columns=columns)
        bounds = [local_midnight_ms(day, tz), local_midnight_ms(day + timedelta(days=1), tz)]
        rows = self._sum_between(keys, bounds)
        df = pd.DataFrame(rows, columns=["point", "channel", "k", "import_wh", "export_wh"])
        df[["import_wh", "export_wh"]] = df[["import_wh", "export_wh"]].astype(float)
        top = df.groupby("point", as_index=False)[["import_wh", "export_wh"]].sum()
        return top.sort_values(["import_wh", "point"], ascending=[False, True]).head(n)[columns]

    def _sum_between(self, keys: Sequence[Key], bounds: Sequence[int]) -> list[tuple]:
        """(point, channel, k, import Wh, export Wh) of [bounds[k-1], bounds[k]) for k >= 1.

        Whole hours come from ChannelHour; an hour that a bound cuts, from its minutes.
        """
        start, end = bounds[0], bounds[-1]
        split = sorted({b // 3_600_000 * 3_600_000 for b in bounds if b % 3_600_000})
        where, params = _keys_sql(keys)
        seconds = ", ".join(str(b // 1000) for b in bounds)
        part = f"""SELECT `Point`, `Channel`, INTERVAL({UNIX}, {seconds}) AS k,
                          `ImportWh`, `ExportWh` FROM `{{table}}`
                   WHERE {where} AND `TimeStamp` >= %s AND `TimeStamp` < %s AND {{cond}}"""
        sql = part.format(
            table="ChannelHour",
            cond=f"`TimeStamp` NOT IN ({', '.join(['%s'] * len(split))})" if split else "TRUE",
        )
        args = [*params, utc(start), utc(end), *map(utc, split)]
        if split:
            minutes = " OR ".join(["(`TimeStamp` >= %s AND `TimeStamp` < %s)"] * len(split))
            sql += " UNION ALL " + part.format(table="ChannelMinute", cond=f"({minutes})")
            args += [*params, utc(start), utc(end)]
            args += [utc(t) for h in split for t in (h, h + 3_600_000)]
        return self.query(
            f"""SELECT `Point`, `Channel`, k, SUM(`ImportWh`), SUM(`ExportWh`) FROM ({sql}) AS t
                WHERE k BETWEEN 1 AND {len(bounds) - 1} GROUP BY `Point`, `Channel`, k""",
            args,
        )
