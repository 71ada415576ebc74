"""`corcypower mysql init` against a real MariaDB: new tables, older ones upgraded, hours kept."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from corcypower.errors import ExportError
from corcypower.export import schema
from corcypower.export.mysql import Central
from corcypower.export.schema import statements
from corcypower.export.tables import MinuteRow, channel_records
from tests.export.test_mysql import TS, settings_for

MIN = 60_000
HOUR = 3_600_000
CREATED = [
    "CREATE TABLE IF NOT EXISTS `VolumeData`",
    "CREATE TABLE IF NOT EXISTS `ChannelMinute`",
    "CREATE TABLE IF NOT EXISTS `ChannelHour`",
    "CREATE TABLE IF NOT EXISTS `ChannelQuarter`",
    "CREATE TABLE IF NOT EXISTS `ChannelDay`",
    "CREATE TABLE IF NOT EXISTS `CorcyPowerTimeZone`",
    "CREATE TABLE IF NOT EXISTS `CorcyPowerSchema`",
]
# CorcyPower's ChannelMinute before the fleet sizing: the time first in the primary key
OLD_CHANNEL_MINUTE = """CREATE TABLE `ChannelMinute` (
  `TimeStamp` datetime NOT NULL, `Point` varchar(64) NOT NULL, `Channel` varchar(64) NOT NULL,
  `ImportWh` double NOT NULL, `ExportWh` double NOT NULL, `MinW` double NOT NULL,
  `MaxW` double NOT NULL, `AvgW` double NOT NULL, `NumReads` int(11) NOT NULL,
  `MeasuredSeconds` double NOT NULL,
  PRIMARY KEY (`TimeStamp`, `Point`, `Channel`),
  KEY `PointChannelTimestampIdx` (`Point`, `Channel`, `TimeStamp`),
  CONSTRAINT `ChannelMinuteEnergy` CHECK (`ImportWh` >= 0 AND `ExportWh` >= 0)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"""
QUARTERS_BY_HOUR = "SELECT Point, Channel, HOUR(TimeStamp) AS h, SUM(ImportWh), SUM(ExportWh), MIN(MinW), MAX(MaxW), SUM(NumReads), SUM(MeasuredSeconds) FROM ChannelQuarter GROUP BY Point, Channel, h ORDER BY Point, Channel, h"  # fmt: skip
DAYS = "SELECT Day, ImportWh, ExportWh, MinW, MaxW, NumReads, MeasuredSeconds FROM ChannelDay"
HOURS = "SELECT Point, Channel, TimeStamp, ImportWh, ExportWh, MinW, MaxW, NumReads, MeasuredSeconds FROM ChannelHour ORDER BY Point, Channel, TimeStamp"  # fmt: skip


def minute(k, watts, point="garage", channel="main", spread=10.0, seconds=60.0):
    """Minute k after TS of constant `watts` (energy over `seconds` measured), as sent."""
    wh = abs(watts) * seconds / 3600
    row = MinuteRow(TS + k * MIN, channel, wh if watts > 0 else 0.0, wh if watts < 0 else 0.0,
                    watts - spread, watts + spread, watts, 120, int(seconds * 1000))  # fmt: skip
    return channel_records(point, [row])


def index_columns(mariadb, database, table, index):
    return [
        c
        for (c,) in mariadb.query(
            database,
            "SELECT COLUMN_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = %s "
            "AND TABLE_NAME = %s AND INDEX_NAME = %s ORDER BY SEQ_IN_INDEX",
            (database, table, index),
        )
    ]


def init(mariadb, database, zone=None, **changes):
    central = Central(settings_for(mariadb, database, **changes))
    try:
        return central.init(zone)
    finally:
        central.close()


def test_init_creates_tables_and_triggers_then_finds_nothing_to_do(mariadb, database):
    assert init(mariadb, database) == [
        *CREATED,
        "CREATE TRIGGER ChannelMinuteSummariesInsert",
        "CREATE TRIGGER ChannelMinuteSummariesUpdate",
        "ChannelQuarter filled from the minutes already there (0 rows)",
        "ChannelHour filled from the minutes already there (0 rows)",
        "ChannelDay: days of UTC, counted from ChannelQuarter (0 rows)",
    ]
    assert init(mariadb, database) == CREATED  # again: nothing left to do
    tables = sorted(t for (t,) in mariadb.query(database, "SHOW TABLES"))
    assert tables == ["ChannelDay", "ChannelHour", "ChannelMinute", "ChannelQuarter", "CorcyPowerSchema", "CorcyPowerTimeZone", "VolumeData"]  # fmt: skip
    assert len(statements("tables.sql")) == 7
    for table in ("ChannelMinute", "ChannelQuarter", "ChannelHour"):
        assert index_columns(mariadb, database, table, "PRIMARY") == [
            "Point",
            "Channel",
            "TimeStamp",
        ]
        keys = mariadb.query(database, f"SHOW INDEX FROM {table} WHERE Key_name <> 'PRIMARY'")
        assert keys == []  # the primary key serves every query: nothing else to write
    assert index_columns(mariadb, database, "ChannelDay", "PRIMARY") == ["Day", "Point", "Channel"]
    assert index_columns(mariadb, database, "VolumeData", "PRIMARY") == ["TimeStamp", "Point"]
    assert index_columns(mariadb, database, "VolumeData", "PointTimestampIdx") == ["Point", "TimeStamp"]  # fmt: skip


def test_init_upgrades_energymonitors_own_table_and_keeps_its_rows(mariadb, database):
    # EnergyMonitor's db.sql, as its users may have it: Point varchar(10), no second index
    mariadb.query(database, """CREATE TABLE VolumeData (
        TimeStamp datetime NOT NULL, Point varchar(10) NOT NULL, NumReads int(11) NOT NULL,
        SupplyWh double NOT NULL, SupplyMaxW double NOT NULL, SupplyMinW double NOT NULL,
        SupplyAvgW double NOT NULL, UsageWh double NOT NULL, UsageMaxW double NOT NULL,
        UsageMinW double NOT NULL, UsageAvgW double NOT NULL,
        TotalAvgW int(11) GENERATED ALWAYS AS (round(SupplyAvgW - UsageAvgW,0)) VIRTUAL,
        PRIMARY KEY (TimeStamp, Point)) ENGINE=InnoDB DEFAULT CHARSET=utf8""")  # fmt: skip
    mariadb.query(
        database,
        "INSERT INTO VolumeData (TimeStamp, Point, NumReads, SupplyWh, SupplyMaxW, SupplyMinW, "
        "SupplyAvgW, UsageWh, UsageMaxW, UsageMinW, UsageAvgW) "
        "VALUES ('2020-01-01 00:00:00', 'Mains', 60, 10, 700, 500, 600, 0, 0, 0, 0)",
    )
    done = init(mariadb, database)
    assert "ALTER TABLE VolumeData: Point varchar(10) -> varchar(64)" in done
    assert "ALTER TABLE VolumeData: index PointTimestampIdx (Point, TimeStamp) added" in done
    (length,) = mariadb.query(
        database,
        "SELECT CHARACTER_MAXIMUM_LENGTH FROM information_schema.COLUMNS WHERE "
        "TABLE_SCHEMA = %s AND TABLE_NAME = 'VolumeData' AND COLUMN_NAME = 'Point'",
        (database,),
    )[0]
    assert length == 64
    assert index_columns(mariadb, database, "VolumeData", "PointTimestampIdx") == ["Point", "TimeStamp"]  # fmt: skip
    assert mariadb.query(database, "SELECT Point, TotalAvgW FROM VolumeData") == [("Mains", 600)]
    assert init(mariadb, database) == CREATED


def test_init_rekeys_an_older_channelminute_and_fills_its_hours(mariadb, database):
    mariadb.query(database, OLD_CHANNEL_MINUTE)
    old = Central(settings_for(mariadb, database))
    for k in range(90):  # 1.5 hours of the old table, written as the exporter did
        assert old.write(minute(k, 600.0) + minute(k, -1200.0, channel="solar")) == []
    old.close()
    done = init(mariadb, database)
    assert (
        "ALTER TABLE ChannelMinute: primary key (TimeStamp, Point, Channel) -> "
        "(Point, Channel, TimeStamp)" in done
    )
    assert "ChannelHour filled from the minutes already there (4 rows)" in done
    assert "ChannelQuarter filled from the minutes already there (12 rows)" in done
    assert "ChannelDay: days of UTC, counted from ChannelQuarter (2 rows)" in done
    assert index_columns(mariadb, database, "ChannelMinute", "PRIMARY") == ["Point", "Channel", "TimeStamp"]  # fmt: skip
    assert index_columns(mariadb, database, "ChannelMinute", "PointChannelTimestampIdx") == []
    assert mariadb.query(database, "SELECT count(*) FROM ChannelMinute") == [(180,)]
    hours = mariadb.query(database, HOURS)
    assert [(p, c, t.hour, round(i, 9), round(e, 9)) for p, c, t, i, e, *_ in hours] == [
        ("garage", "main", 0, 600.0, 0.0),
        ("garage", "main", 1, 300.0, 0.0),
        ("garage", "solar", 0, 0.0, 1200.0),
        ("garage", "solar", 1, 0.0, 600.0),
    ]
    assert init(mariadb, database) == CREATED  # upgraded once only


def test_quarters_and_hours_follow_every_minute_written_sent_again_or_corrected(mariadb, database):
    init(mariadb, database)
    central = Central(settings_for(mariadb, database))
    for k in range(60):
        assert central.write(minute(k, 600.0)) == []
    assert central.write(minute(60, 1200.0, seconds=30.0)) == []  # half a minute measured
    expected = [("garage", "main", 0, 600.0, 0.0, 590.0, 610.0, 7200, 3600.0),
                ("garage", "main", 1, 10.0, 0.0, 1190.0, 1210.0, 120, 30.0)]  # fmt: skip

    def hours():
        found = [(p, c, t.hour, round(i, 9), e, lo, hi, n, s)
                 for p, c, t, i, e, lo, hi, n, s in mariadb.query(database, HOURS)]  # fmt: skip
        quarters = mariadb.query(database, QUARTERS_BY_HOUR)
        assert [(p, c, h, round(i, 9), e, lo, hi, n, s) for p, c, h, i, e, lo, hi, n, s in quarters] == found  # fmt: skip
        ((day, *total),) = mariadb.query(database, DAYS)
        assert day == date(2026, 1, 1) and [round(v, 9) for v in total] == [
            sum(h[3] for h in found), 0.0, min(h[5] for h in found), max(h[6] for h in found),
            sum(h[7] for h in found), sum(h[8] for h in found),
        ]  # fmt: skip
        return found

    assert hours() == expected
    for k in range(60):  # sent again after a crash: upserts set, the hours stay
        assert central.write(minute(k, 600.0)) == []
    assert hours() == expected
    assert central.write(minute(5, 660.0, spread=100.0)) == []  # corrected (a `mysql resend`)
    expected[0] = ("garage", "main", 0, 601.0, 0.0, 560.0, 760.0, 7200, 3600.0)
    assert hours() == expected  # energy follows exactly; min/max can only widen
    central.close()
    mariadb.query(database, "DELETE FROM ChannelMinute WHERE TimeStamp < '2026-01-01 01:00:00'")
    assert hours() == expected  # minutes pruned: the hours stay


def test_days_are_the_local_days_of_the_databases_time_zone(mariadb, database):
    init(mariadb, database)  # a new database without a zone asked for: UTC
    central = Central(settings_for(mariadb, database))
    for k in range(0, 48 * 60, 60):  # two UTC days of 600 W, an hour per write
        assert central.write([r for j in range(60) for r in minute(k + j, 600.0)]) == []

    def days():
        return [(d.isoformat(), round(i, 6)) for d, i in mariadb.query(database, "SELECT Day, ImportWh FROM ChannelDay ORDER BY Day")]  # fmt: skip

    assert days() == [("2026-01-01", 14_400.0), ("2026-01-02", 14_400.0)]
    brussels = ZoneInfo("Europe/Brussels")  # UTC+1 in January
    done = init(mariadb, database, zone=brussels)
    assert done[-1] == "ChannelDay: days of Europe/Brussels, counted from ChannelQuarter (3 rows)"
    assert days() == [("2026-01-01", 13_800.0), ("2026-01-02", 14_400.0), ("2026-01-03", 600.0)]
    assert central.write([r for j in range(60) for r in minute(48 * 60 + j, 600.0)]) == []
    assert days()[-1] == ("2026-01-03", 1_200.0)  # the trigger counts in the new zone at once
    central.close()
    assert init(mariadb, database) == CREATED  # kept: a device in another zone changes nothing
    assert init(mariadb, database, zone=brussels) == CREATED  # the same zone: nothing to do
    rows = mariadb.query(database, "SELECT StartsAt, OffsetMinutes, Name FROM CorcyPowerTimeZone ORDER BY StartsAt")  # fmt: skip
    assert len(rows) > 200 and rows[0] == (datetime(1970, 1, 1), 60, "Europe/Brussels")
    assert (datetime(2026, 3, 29, 1, 0), 120, "Europe/Brussels") in rows


def test_hours_filled_again_after_a_lost_record_are_not_doubled(mariadb, database):
    init(mariadb, database)
    central = Central(settings_for(mariadb, database))
    for k in range(3):
        assert central.write(minute(k, 600.0)) == []
    central.close()
    mariadb.query(database, "DELETE FROM CorcyPowerSchema")  # as if init died before recording
    assert "ChannelHour filled from the minutes already there (1 rows)" in init(mariadb, database)
    assert [(i, s) for *_, i, e, lo, hi, n, s in mariadb.query(database, HOURS)] == [(30.0, 180.0)]


def test_init_without_the_right_to_create_triggers_says_what_to_grant(mariadb, database):
    mariadb.query(database, "CREATE USER IF NOT EXISTS 'plain'@'%%' IDENTIFIED BY 'pw'")
    mariadb.query(database, f"GRANT SELECT, INSERT, UPDATE, CREATE, ALTER ON `{database}`.* TO 'plain'@'%%'")  # fmt: skip
    with pytest.raises(ExportError, match=r"TRIGGER command denied.*`corcypower mysql init` and `partition` need more: run them as an administrator \(--user\)"):  # fmt: skip
        init(mariadb, database, user="plain", password="pw")


def test_init_replaces_an_older_corcypowers_triggers_and_days_still_follow_the_zone(mariadb, database):  # fmt: skip
    """The older triggers looked the zone's offset up for every minute; these keep it per
    session. Either way a batch across the change to summer time counts each local day whole."""
    init(mariadb, database)
    for older in schema.triggers(cache_offset=False).values():
        mariadb.query(database, older.replace("CREATE", "CREATE OR REPLACE", 1), None)
    assert init(mariadb, database) == [
        *CREATED,
        "CREATE OR REPLACE TRIGGER ChannelMinuteSummariesInsert: the zone's offset kept per session",
        "CREATE OR REPLACE TRIGGER ChannelMinuteSummariesUpdate: the zone's offset kept per session",
    ]
    assert init(mariadb, database) == CREATED
    brussels = ZoneInfo("Europe/Brussels")
    init(mariadb, database, zone=brussels)
    central = Central(settings_for(mariadb, database, read_timeout=60.0, write_timeout=60.0))
    start = int(datetime(2026, 3, 28, tzinfo=brussels).timestamp() * 1000)
    hours = [24, 23, 24]  # 2026-03-29 lasts 23 hours in Brussels
    minutes = [r for k in range(sum(hours) * 60) for r in minute((start - TS) // MIN + k, 600.0)]
    assert central.write(minutes) == []  # one batch, one session: the offset changes within it
    assert central.write(minutes[:120]) == []  # sent again: an update each, nothing added
    central.close()
    days = mariadb.query(database, "SELECT Day, ImportWh FROM ChannelDay ORDER BY Day")
    assert [(d, round(i, 6)) for d, i in days] == [
        (date(2026, 3, 28 + k), 600.0 * h) for k, h in enumerate(hours)
    ]
