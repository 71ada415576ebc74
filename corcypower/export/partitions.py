"""Monthly partitions of ChannelMinute, for fleets that prune old minutes (`corcypower mysql
partition`, run monthly; docs/mysql.md#sizing).

A fleet's minutes grow by about 265 MB per device and year; the quarter-hours, hours and days
are a tenth of that. Pruning minutes with DELETE would scan the whole table (it is ordered by
device, then time) and leave it fragmented; dropping a month's partition is instant and
leaves the summaries whole (dropping a partition runs no trigger).

    p202601  VALUES LESS THAN ('2026-02-01')   the minutes of January 2026 (and any before)
    ...
    p202606  VALUES LESS THAN ('2026-07-01')   made `AHEAD` months before they are needed
    pfuture  VALUES LESS THAN (MAXVALUE)       a catch-all: no minute is ever refused

Each run makes the table partitioned if it is not (a rebuild, once), adds the months up to
AHEAD months from today (splitting pfuture: instant while it is empty), and, when asked,
drops the months that ended more than `keep_months` months ago.
"""

from __future__ import annotations

from datetime import date

AHEAD = 3  # months of partitions made in advance: a missed monthly run loses nothing
FUTURE = "pfuture"


def month_start(day: date, months: int = 0) -> date:
    """The first day of the month `months` after (or before) day's month."""
    k = day.year * 12 + day.month - 1 + months
    return date(k // 12, k % 12 + 1, 1)


def name(month: date) -> str:
    return f"p{month:%Y%m}"


def definition(month: date) -> str:
    """The partition of a month's minutes (and, for the first, everything before)."""
    return f"PARTITION {name(month)} VALUES LESS THAN ('{month_start(month, 1):%Y-%m-%d}')"


def partitions(cur) -> list[tuple[str, str]]:
    """(name, upper bound as written) of ChannelMinute's partitions, in order; [] if none."""
    cur.execute(
        "SELECT PARTITION_NAME, PARTITION_DESCRIPTION FROM information_schema.PARTITIONS "
        "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'ChannelMinute' "
        "AND PARTITION_NAME IS NOT NULL ORDER BY PARTITION_ORDINAL_POSITION"
    )
    return [tuple(r) for r in cur.fetchall()]


def maintain(cur, today: date, keep_months: int | None = None) -> list[str]:
    """Partition ChannelMinute by month if it is not, add the months ahead, drop the expired."""
    done = []
    last = month_start(today, AHEAD)
    found = partitions(cur)
    if not found:
        first = _first_month(cur) or month_start(today)
        months = _months(min(first, month_start(today)), last)
        parts = [definition(m) for m in months] + [f"PARTITION {FUTURE} VALUES LESS THAN MAXVALUE"]
        cur.execute(
            f"ALTER TABLE `ChannelMinute` PARTITION BY RANGE COLUMNS(`TimeStamp`) ({', '.join(parts)})"
        )
        done.append(
            f"ChannelMinute partitioned by month: {name(months[0])} … {name(last)}, {FUTURE}"
        )
        found = partitions(cur)
    names = [n for n, _ in found]
    newest = max(date(int(n[1:5]), int(n[5:7]), 1) for n in names if n != FUTURE)
    if newest < last:
        months = _months(month_start(newest, 1), last)
        parts = [definition(m) for m in months] + [f"PARTITION {FUTURE} VALUES LESS THAN MAXVALUE"]
        cur.execute(
            f"ALTER TABLE `ChannelMinute` REORGANIZE PARTITION {FUTURE} INTO ({', '.join(parts)})"
        )
        done.append(f"ChannelMinute: partitions {name(months[0])} … {name(last)} added")
    if keep_months:
        cutoff = month_start(today, -keep_months)  # the oldest month kept
        old = [n for n in names if n != FUTURE and n < name(cutoff)]
        if old:
            cur.execute(f"ALTER TABLE `ChannelMinute` DROP PARTITION {', '.join(old)}")
            done.append(
                f"ChannelMinute: minutes before {cutoff:%Y-%m-%d} dropped ({', '.join(old)}); "
                "their quarter-hours, hours and days are kept"
            )
    return done


def _months(first: date, last: date) -> list[date]:
    months = [month_start(first)]
    while months[-1] < last:
        months.append(month_start(months[-1], 1))
    return months


def _first_month(cur) -> date | None:
    """The month of the oldest minute (a look at each channel's first key, not a scan)."""
    cur.execute(
        "SELECT MIN(`First`) FROM (SELECT MIN(`TimeStamp`) AS `First` FROM `ChannelMinute` "
        "GROUP BY `Point`, `Channel`) AS t"
    )
    (first,) = cur.fetchone()
    return None if first is None else month_start(first.date())
