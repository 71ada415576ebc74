"""The house and the fleet, read from the central database: what the house view draws.

For every device ("point") exporting to the central MySQL/MariaDB ([export.mysql]): its
channels, a channel's history over any range at a bounded number of points, energy per local
day of each channel or each device (daylight saving included), and the devices that drew the
most on a day. Read-only (the
session is READ ONLY); rows come back as pandas frames, as corcypower/store/history.py gives
them for power.db, with the point beside the channel.

Costs stay bounded whatever the fleet's size (docs/mysql.md#sizing): a query for some
channels names the (point, channel) pairs it reads, each a range of a primary key (Point,
Channel, time), and reads the coarsest table that serves it: history buckets of an hour or
more come from ChannelHour, of 15 or 30 minutes from ChannelQuarter, shorter ones from
ChannelMinute, so at most about 15 rows per bucket. Days of the database's own time zone are
rows of ChannelDay (every device's month: one contiguous read); days of another zone are sums
of hours, and of the quarter-hours a local midnight cuts (zones offset by :30 or :45).

pandas is imported here: the daemon never imports this module.
"""

from __future__ import annotations

import io
import threading
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pymysql

from corcypower.errors import ExportError
from corcypower.export import buckets
from corcypower.export.buckets import (
    DAY_S,
    EPOCH_DAY,
    HISTORY_COLUMNS,
    HOUR_S,
    TABLES,
    bucket_width,
    coarse_enough,
    day_buckets,
    day_width,
    measured,
    select_sql,
    table_for,
)
from corcypower.export.config import ExportSettings
from corcypower.export.mysql import connect, describe
from corcypower.export.tables import utc
from corcypower.store.energy import local_midnight_ms

EPOCH = "62167219200"  # TO_SECONDS('1970-01-01'): TO_SECONDS(t) - EPOCH is t's Unix time (t UTC)
UNIX = f"(TO_SECONDS(`TimeStamp`) - {EPOCH})"
ENERGY_COLUMNS = ("day", "point", "channel", "import_wh", "export_wh")
POINT_ENERGY_COLUMNS = ("day", "point", "import_wh", "export_wh")
BY_CHANNEL = ("Point", "Channel")
BY_POINT = ("Point",)

GROUP_CONCAT_MAX = 1 << 26  # bytes of one channel's buckets as text: ~80 per bucket
Key = tuple[str, str]  # (point, channel)


def local_days(days: int, end_ms: int, tz: tzinfo | None) -> tuple[list[date], list[int]]:
    """The `days` local days up to the one holding end_ms, and their bounds (ms): days + 1."""
    last = datetime.fromtimestamp(end_ms / 1000, tz).date()
    day_list = [last - timedelta(days=k) for k in range(max(1, days) - 1, -1, -1)]
    bounds = [local_midnight_ms(d, tz) for d in (*day_list, last + timedelta(days=1))]
    return day_list, bounds


def _marks(n: int) -> str:
    """n parameters' places, for IN (...)."""
    return ", ".join(["%s"] * n)


def _points_sql(points: Sequence[str] | None) -> tuple[str, list]:
    """`Point` IN (...): a primary-key range per point; None: all."""
    if points is None:
        return "TRUE", []
    return f"`Point` IN ({_marks(len(points))})", list(points)


def _keys_sql(keys: Sequence[Key] | None) -> tuple[str, list]:
    """(Point = ? AND Channel IN (...)) OR ...: one primary-key range per pair; None: all."""
    if keys is None:
        return "TRUE", []
    if not keys:
        return "FALSE", []
    by_point: dict[str, list[str]] = {}
    for point, channel in keys:
        by_point.setdefault(point, []).append(channel)
    names = sorted({channel for _, channel in keys})
    if len(set(keys)) == len(by_point) * len(names):  # every point has every channel named
        # the same ranges, and a row's check is two sorted lists, not an OR of every point:
        # 200 devices' day of hours took the server 43 ms instead of 141
        where, params = _points_sql(list(by_point))
        return f"({where} AND `Channel` IN ({_marks(len(names))}))", [*params, *names]
    terms, params = [], []
    for point, channels in by_point.items():
        terms.append(f"(`Point` = %s AND `Channel` IN ({_marks(len(channels))}))")
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
            try:
                if self.conn is None:
                    self.conn = connect(self.settings, autocommit=True)
                    with self.conn.cursor() as cur:
                        cur.execute("SET SESSION TRANSACTION READ ONLY")
                        cur.execute(f"SET SESSION group_concat_max_len = {GROUP_CONCAT_MAX}")
                with self.conn.cursor() as cur:
                    cur.execute(sql, params)
                    return list(cur.fetchall())
            except pymysql.MySQLError as exc:
                self._drop()
                raise ExportError(describe(exc, self.settings)) from None

    def packed(
        self, sql: str, params: Sequence, columns: list[str], by: Sequence[str] = BY_CHANNEL
    ) -> pd.DataFrame:
        """The `by` columns (point, channel) and the numeric `columns` of a query's rows
        (*by, *columns).

        They come back as one text per point or channel, a line per row, which pandas' C
        parser reads: PyMySQL reads rows in pure Python, about 12 µs a row, which made a fleet's
        24,000 days cost 175 ms of CPU alone, and numpy's parse of the words took 2.5 times
        read_csv's. Names stay out of the texts, so any name is safe.
        """
        groups = ", ".join(f"`{c}`" for c in by)
        values = ", ' ', ".join(f"`{c}`" for c in columns)
        rows = self.query(
            f"""SELECT {groups}, GROUP_CONCAT({values} SEPARATOR '\\n')
                FROM ({sql}) AS t GROUP BY {groups} ORDER BY {groups}""",
            params,
        )
        texts = [text for *_, text in rows]
        counts = [text.count("\n") + 1 for text in texts]
        found = np.empty((0, len(columns)))
        if texts:
            lines = io.StringIO("\n".join(texts))
            found = pd.read_csv(lines, sep=" ", header=None, dtype=float).to_numpy()
        names = {
            name.lower(): np.repeat(np.array([r[i] for r in rows], dtype=object), counts)
            for i, name in enumerate(by)
        }
        return pd.DataFrame(names | {c: found[:, i] for i, c in enumerate(columns)})

    def channels(self, points: Iterable[str] | None = None) -> pd.DataFrame:
        """point, channel, first_ms, last_ms (the hours they have data in), by point and channel.

        A loose index scan: one look into the primary key per channel, not a row per hour.
        """
        points = None if points is None else list(points)
        if points == []:
            return pd.DataFrame(columns=["point", "channel", "first_ms", "last_ms"])
        where, params = _points_sql(points)
        rows = self.query(  # MIN/MAX of the key's last column itself, or it is a full scan
            f"""SELECT `Point`, `Channel`, TO_SECONDS(MIN(`TimeStamp`)) - {EPOCH},
                       TO_SECONDS(MAX(`TimeStamp`)) - {EPOCH}
                FROM `ChannelHour` WHERE {where}
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
        self,
        keys: Sequence[Key] | None,
        start_ms: int,
        end_ms: int,
        max_points: int = 1000,
        max_rows: int | None = None,
        extremes: bool = True,
    ) -> pd.DataFrame:
        """Mean power and its min/max per bucket of each (point, channel) over [start, end).

        Columns: ts (int64 ms UTC, bucket start), time (UTC), point, channel, level (the bucket
        width: "1m" … "1h" … "7d"), mean (W: energy over the time measured), min, max (W, the
        extremes of the minutes). At most max_points buckets per channel; every bucket is
        whole; buckets without data are absent (a gap stays a gap). Buckets of whole days are
        days of the database's time zone (ChannelDay's), so they start at its midnights.

        keys None: every (point, channel) of the database. extremes=False: min and max NaN,
        not read (a third less for the server to write). max_rows: coarser buckets than
        max_points allows, until the rows read (channels × the table's rows in the range) are
        at most about that many, or the buckets are days: what bounds a view of every device
        of a fleet (rows_read).
        """
        every = keys is None
        keys = self.keys() if every else list(dict.fromkeys(keys))
        if not keys or end_ms <= start_ms:
            return pd.DataFrame(columns=HISTORY_COLUMNS)
        width = bucket_width(start_ms, end_ms, max_points)
        if max_rows is not None:
            width = coarse_enough(len(keys), start_ms, end_ms, width, max_rows)
        if width % DAY_S == 0:
            zone = self.zone()  # its days are not UTC's: count the buckets in them
            days = day_width(start_ms, end_ms, max_points, zone) // DAY_S
            # every channel's days: one walk along ChannelDay's key, which begins with the day
            return self._days(None if every else keys, start_ms, end_ms, days, zone, extremes)
        table = table_for(width)
        first = start_ms // (width * 1000) * width * 1000
        last = -(-end_ms // (width * 1000)) * width * 1000
        where, params = _keys_sql(keys)
        # The rows as they are, added up into buckets here: the server's GROUP BY of a house's
        # day of minutes (17,000 rows) cost it 130 ms of CPU, reading them 20 ms.
        df = self.packed(
            f"""SELECT `Point`, `Channel`, {UNIX} DIV {width} AS b, {select_sql(extremes)}
                FROM `{table}` WHERE {where} AND `TimeStamp` >= %s AND `TimeStamp` < %s""",
            [*params, utc(first), utc(last)],
            ["b", *measured(extremes)],
        )
        return buckets.frame(df, width, dict(TABLES)[table], lambda b: b * width * 1000)

    def _days(
        self,
        keys: list[Key] | None,
        start_ms: int,
        end_ms: int,
        days: int,
        zone: tzinfo,
        extremes: bool,
    ) -> pd.DataFrame:
        """history() in buckets of `days` days of the database's zone: rows of ChannelDay."""
        groups = day_buckets(start_ms, end_ms, days * DAY_S, zone)
        where, params = _keys_sql(keys)
        df = self.packed(
            f"""SELECT `Point`, `Channel`, DATEDIFF(`Day`, '1970-01-01') DIV {days} AS b,
                       {select_sql(extremes)}
                FROM `ChannelDay` WHERE {where} AND `Day` >= %s AND `Day` < %s""",
            [*params, *(EPOCH_DAY + timedelta(days=g * days) for g in (groups.start, groups.stop))],
            ["b", *measured(extremes)],
        )

        def starts(b: np.ndarray) -> np.ndarray:  # once per bucket, not per row
            first = {g: local_midnight_ms(EPOCH_DAY + timedelta(days=int(g) * days), zone)
                     for g in np.unique(b)}  # fmt: skip
            return np.array([first[g] for g in b], dtype=np.int64)

        return buckets.frame(df, days * DAY_S, DAY_S, starts)

    def zone(self) -> tzinfo:
        """The time zone of ChannelDay's days (`corcypower mysql init --timezone`)."""
        rows = self.query("SELECT `Name` FROM `CorcyPowerTimeZone` LIMIT 1")
        try:
            return ZoneInfo(rows[0][0]) if rows else UTC
        except (ValueError, OSError):  # a zone this machine does not know: its offsets differ
            raise ExportError(
                f"MySQL {self.settings.target}: CorcyPowerTimeZone names the zone "
                f"{rows[0][0]!r}, which this machine does not know: install tzdata"
            ) from None

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
        keys = None if keys is None else list(dict.fromkeys(keys))
        if keys == []:
            return pd.DataFrame(columns=ENERGY_COLUMNS)
        return self._daily(keys, BY_CHANNEL, days, end_ms, tz)

    def point_energy(
        self,
        points: Iterable[str] | None = None,
        days: int = 30,
        end_ms: int | None = None,
        tz: tzinfo | str | None = None,
    ) -> pd.DataFrame:
        """Energy per local day of each point (its channels added up), or of every point.

        Columns: day, point, import_wh, export_wh; days as daily_energy counts them. What a
        fleet's month of days is drawn from: a quarter of daily_energy's rows for devices of
        4 channels, added up by the server.
        """
        points = None if points is None else list(dict.fromkeys(points))
        if points == []:
            return pd.DataFrame(columns=POINT_ENERGY_COLUMNS)
        return self._daily(points, BY_POINT, days, end_ms, tz)

    def top_points(self, day: date, tz: tzinfo | str | None = None, n: int = 10) -> pd.DataFrame:
        """The n points that drew the most from the grid on a local day: point, import_wh,
        export_wh (their channels added up), the most first."""
        tz = ZoneInfo(tz) if isinstance(tz, str) else tz
        bounds = [local_midnight_ms(day, tz), local_midnight_ms(day + timedelta(days=1), tz)]
        top = self._energy(None, BY_POINT, [day], bounds)
        top = top.sort_values(["import_wh", "point"], ascending=[False, True], ignore_index=True)
        return top.head(n)[["point", "import_wh", "export_wh"]]

    def _daily(self, chosen, by: Sequence[str], days, end_ms, tz):
        """day, *by, import_wh, export_wh of the `days` local days up to end_ms, sorted."""
        tz = ZoneInfo(tz) if isinstance(tz, str) else tz
        end_ms = round(datetime.now().timestamp() * 1000) if end_ms is None else end_ms
        day_list, bounds = local_days(days, end_ms, tz)
        df = self._energy(chosen, by, day_list, bounds)
        names = np.array([d.isoformat() for d in day_list], dtype=object)
        df.insert(0, "day", names[df.pop("k").to_numpy() - 1])
        return df.sort_values(["day", *(c.lower() for c in by)], ignore_index=True)

    def _energy(self, chosen, by, day_list: list[date], bounds: list[int]):
        """*by (point, channel), k, import_wh, export_wh of the local days [bounds[k-1],
        bounds[k]), of the points (by == BY_POINT) or keys `chosen` (None: every one) added up
        by `by` and day.

        ChannelDay holds the days of the database's own time zone: when the days asked for are
        those, a day is one row per channel (added up per point by a walk along ChannelDay's
        key, which begins with the day); otherwise, sums of hours (_sum_between), read by
        (point, channel) pairs: a range of the primary key each, where points alone would read
        every quarter-hour of theirs to find those a midnight cuts (25 times the rows).
        """
        groups = ", ".join(f"`{c}`" for c in by)
        own = self._own_days(day_list, bounds)
        if by == BY_POINT and own:
            sql_where, params = _points_sql(chosen)
        elif by == BY_CHANNEL and (own or chosen is not None):
            sql_where, params = _keys_sql(chosen)
        else:  # sums of hours of every pair of the points, or of every pair there is
            sql_where, params = _keys_sql(self.keys(chosen))
        if own:
            sql = f"""SELECT {groups}, DATEDIFF(`Day`, %s) + 1 AS k,
                             SUM(`ImportWh`) AS i, SUM(`ExportWh`) AS e
                      FROM `ChannelDay` WHERE {sql_where} AND `Day` >= %s AND `Day` <= %s
                      GROUP BY `Day`, {groups}"""
            args = [day_list[0], *params, day_list[0], day_list[-1]]
        else:
            sql, args = self._sum_between(sql_where, params, bounds, groups)
        df = self.packed(sql, args, ["k", "i", "e"], by)
        df["k"] = df["k"].astype(np.int64)
        return df.rename(columns={"i": "import_wh", "e": "export_wh"})

    def _own_days(self, day_list: list[date], bounds: list[int]) -> bool:
        """Whether each day asked for is a day of the database's time zone (CorcyPowerTimeZone)."""
        zone = self.query(  # a few hundred rows: read each time, so a new zone shows at once
            f"SELECT {UNIX.replace('TimeStamp', 'StartsAt')} * 1000, `OffsetMinutes` "
            "FROM `CorcyPowerTimeZone` ORDER BY `StartsAt`"
        )
        starts = [int(s) for s, _ in zone]
        for k, b in enumerate(bounds):
            i = bisect_right(starts, b) - 1
            offset_ms = zone[max(i, 0)][1] * 60_000 if zone else 0
            local = b + offset_ms
            day = day_list[0] + timedelta(days=k)
            if local % 86_400_000 or date(1970, 1, 1) + timedelta(days=local // 86_400_000) != day:
                return False
        return True

    def _sum_between(
        self, where: str, params: list, bounds: Sequence[int], groups: str
    ) -> tuple[str, list]:
        """SQL and its parameters: (*groups, k, i, e), the energy imported and exported over
        [bounds[k-1], bounds[k]) for k >= 1, added up by groups (`Point`[, `Channel`]).

        Whole hours come from ChannelHour; an hour that a bound cuts, from the coarsest table
        whose rows the bounds inside it do not cut (ChannelQuarter, in any zone since 1970).
        """
        start, end = bounds[0], bounds[-1]
        cut: dict[int, str] = {}  # hour start (ms) -> the table to read it from
        for b in bounds:
            hour = b // (HOUR_S * 1000) * HOUR_S * 1000
            table = next(name for name, size in TABLES if (b - hour) % (size * 1000) == 0)
            if table != "ChannelHour" and cut.get(hour) != "ChannelMinute":
                cut[hour] = table
        seconds = ", ".join(str(b // 1000) for b in bounds)
        parts, args = [], []
        for table, _ in TABLES:
            hours = sorted(h for h, t in cut.items() if t == table)
            if table == "ChannelHour":
                cond = f"`TimeStamp` NOT IN ({_marks(len(cut))})" if cut else "TRUE"
                hours = sorted(cut)
            elif hours:
                cond = " OR ".join(["(`TimeStamp` >= %s AND `TimeStamp` < %s)"] * len(hours))
            else:
                continue
            parts.append(
                f"""SELECT `Point`, `Channel`, INTERVAL({UNIX}, {seconds}) AS k, `ImportWh`,
                           `ExportWh` FROM `{table}`
                    WHERE {where} AND `TimeStamp` >= %s AND `TimeStamp` < %s AND ({cond})"""
            )
            args += [*params, utc(start), utc(end)]
            if table == "ChannelHour":
                args += [utc(h) for h in hours]
            else:
                args += [utc(t) for h in hours for t in (h, h + HOUR_S * 1000)]
        sql = f"""SELECT {groups}, k, SUM(`ImportWh`) AS i, SUM(`ExportWh`) AS e
                  FROM ({" UNION ALL ".join(parts)}) AS u
                  WHERE k BETWEEN 1 AND {len(bounds) - 1} GROUP BY {groups}, k"""
        return sql, args
