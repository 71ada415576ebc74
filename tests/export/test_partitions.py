"""Monthly partitions of ChannelMinute against a real MariaDB: made, extended, pruned; nothing
else lost."""

from __future__ import annotations

from datetime import date

from corcypower.export.central import Reader
from corcypower.export.partitions import maintain, month_start, partitions
from tests.export.test_central import DAY, constant, ms
from tests.export.test_mysql import settings_for

SUMMARIES = ("ChannelQuarter", "ChannelHour", "ChannelDay")


def totals(mariadb, database):
    """Rows and energy of the minutes and of each summary."""
    return {
        table: mariadb.query(database, f"SELECT count(*), ROUND(SUM(ImportWh), 6) FROM {table}")[0]
        for table in ("ChannelMinute", *SUMMARIES)
    }


def test_months_count_forward_and_back():
    assert month_start(date(2026, 1, 31), 1) == date(2026, 2, 1)
    assert month_start(date(2026, 1, 31), -1) == date(2025, 12, 1)
    assert month_start(date(2026, 11, 5), 3) == date(2027, 2, 1)
    assert month_start(date(2026, 3, 1), -14) == date(2025, 1, 1)


def test_partitions_are_made_extended_and_pruned_keeping_the_summaries(mariadb, database, central):
    for first in ("2026-01-30", "2026-02-27", "2026-03-30"):  # 3 days each, across month ends
        t0 = ms(f"{first} 00:00")
        central.write(constant("garage", "main", 600, t0, t0 + 3 * DAY))
    before = totals(mariadb, database)
    done = central.run(maintain, date(2026, 4, 10), None)
    assert done == ["ChannelMinute partitioned by month: p202601 … p202607, pfuture"]
    names = [n for n, _ in central.run(partitions)]
    assert names == ["p202601", "p202602", "p202603", "p202604", "p202605", "p202606", "p202607", "pfuture"]  # fmt: skip
    assert totals(mariadb, database) == before
    assert central.run(maintain, date(2026, 4, 30), None) == []  # again: nothing to do

    late = ms("2026-09-15 00:00")  # beyond the months made: kept in pfuture
    central.write(constant("garage", "main", 600, late, late + 60 * 60_000))
    done = central.run(maintain, date(2026, 6, 2), None)
    assert done == ["ChannelMinute: partitions p202608 … p202609 added"]
    assert mariadb.query(database, "SELECT count(*) FROM ChannelMinute PARTITION (p202609)") == [(60,)]  # fmt: skip

    with_late = totals(mariadb, database)
    done = central.run(maintain, date(2026, 6, 2), 3)  # keep March 2026 on
    assert done == [
        "ChannelMinute: minutes before 2026-03-01 dropped (p202601, p202602); "
        "their quarter-hours, hours and days are kept"
    ]
    after = totals(mariadb, database)
    assert after["ChannelMinute"][0] == with_late["ChannelMinute"][0] - 5 * 1440
    for table in SUMMARIES:
        assert after[table] == with_late[table]

    # the exporter still writes, and the house view still reads, the older days from summaries
    t0 = ms("2026-06-01 00:00")
    assert central.write(constant("garage", "main", 600, t0, t0 + DAY)) == []
    with Reader(settings_for(mariadb, database)) as reader:
        days = reader.daily_energy(None, days=3, end_ms=ms("2026-02-01 12:00"), tz="UTC")
        assert days["import_wh"].round(6).tolist() == [14_400.0, 14_400.0, 14_400.0]
        month = reader.history([("garage", "main")], ms("2026-01-30 00:00"), ms("2026-03-01 00:00"), 100)  # fmt: skip
        assert set(month["level"]) == {"12h"} and len(month) == 5 * 2  # the 5 days with data
        assert month["mean"].round(6).eq(600).all()
