"""The house view's queries of the central database, against a real MariaDB, with exact answers."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from corcypower.errors import ExportError
from corcypower.export.central import Reader
from corcypower.export.tables import MinuteRow, channel_records
from corcypower.store.energy import local_midnight_ms
from tests.export.test_mysql import settings_for

MIN = 60_000
HOUR = 3_600_000
DAY = 86_400_000


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


def constant(point, channel, watts, start_ms, end_ms, seconds=60.0):
    """The minutes of [start, end) of a channel drawing `watts` (< 0: sending), as exported."""
    wh = abs(watts) * seconds / 3600
    return channel_records(point, [
        MinuteRow(ts, channel, wh if watts > 0 else 0.0, wh if watts < 0 else 0.0,
                  watts - 5, watts + 5, watts, 120, int(seconds * 1000))
        for ts in range(start_ms, end_ms, MIN)
    ])  # fmt: skip


@pytest.fixture
def reader(mariadb, database, central):
    with Reader(settings_for(mariadb, database)) as r:
        yield r


def test_channels_of_the_devices_exporting_here(central, reader):
    t0 = ms("2026-01-01 00:00")
    central.write(constant("garage", "main", 600, t0, t0 + 2 * HOUR))
    central.write(constant("house", "l1", 100, t0 + HOUR, t0 + 3 * HOUR + 5 * MIN))
    central.write(constant("house", "solar", -900, t0, t0 + 10 * MIN))
    df = reader.channels()
    assert df.to_dict("records") == [
        {"point": "garage", "channel": "main", "first_ms": t0, "last_ms": t0 + 2 * HOUR},
        {"point": "house", "channel": "l1", "first_ms": t0 + HOUR, "last_ms": t0 + 4 * HOUR},
        {"point": "house", "channel": "solar", "first_ms": t0, "last_ms": t0 + HOUR},
    ]
    assert reader.keys(["house"]) == [("house", "l1"), ("house", "solar")]
    assert reader.keys(["nowhere"]) == [] and reader.keys([]) == []


def test_history_of_hours_by_the_minute(central, reader):
    t0 = ms("2026-01-01 00:00")
    central.write(constant("garage", "main", 600, t0, t0 + 3 * HOUR))
    central.write(constant("house", "solar", -1200, t0 + HOUR, t0 + 2 * HOUR, seconds=30))
    keys = [("garage", "main"), ("house", "solar")]
    df = reader.history(keys, t0, t0 + 3 * HOUR, max_points=1000)
    assert set(df["level"]) == {"1m"}
    assert len(df) == 180 + 60 and df["ts"].is_monotonic_increasing
    main = df[df["channel"] == "main"]
    assert main["ts"].tolist() == list(range(t0, t0 + 3 * HOUR, MIN))
    assert (main["mean"] == 600).all() and (main["min"] == 595).all() and (main["max"] == 605).all()
    solar = df[df["channel"] == "solar"]
    assert solar["mean"].round(9).eq(-1200).all()  # half of each minute measured: still -1200 W
    assert str(df["time"].iloc[0]) == "2026-01-01 00:00:00+00:00"


def test_history_of_weeks_reads_hours_and_keeps_gaps(central, reader):
    t0 = ms("2026-01-05 00:00")
    central.write(constant("garage", "main", 600, t0, t0 + 2 * DAY))
    central.write(constant("garage", "main", 300, t0 + 4 * DAY, t0 + 7 * DAY))
    df = reader.history([("garage", "main")], t0, t0 + 7 * DAY, max_points=100)
    assert set(df["level"]) == {"2h"}  # 84 two-hour buckets <= 100
    assert len(df) == 12 * 2 + 12 * 3  # the two days without data stay empty
    assert df["mean"].tolist() == [600.0] * 24 + [300.0] * 36
    some = reader.history([("garage", "main")], t0 + 30 * MIN, t0 + DAY + 30 * MIN, 20)
    assert some["level"].iloc[0] == "2h" and some["ts"].iloc[0] == t0  # whole buckets
    assert len(some) == 13


def test_history_of_days_reads_quarter_hours(central, reader):
    t0 = ms("2026-01-05 00:00")
    central.write(constant("garage", "main", 600, t0, t0 + 3 * DAY))
    df = reader.history([("garage", "main")], t0, t0 + 3 * DAY, max_points=200)
    assert set(df["level"]) == {"30m"} and len(df) == 144  # 4320 minutes / 200: 21.6 -> 30
    assert df["mean"].round(9).eq(600).all() and df["ts"].iloc[1] - df["ts"].iloc[0] == 30 * MIN


def test_history_of_days_reads_the_databases_own_days(mariadb, database, central, reader):
    zone = ZoneInfo("Europe/Brussels")
    central.init(zone)  # ChannelDay counts Brussels' days
    days = [date(2026, 3, 28), date(2026, 3, 29), date(2026, 3, 30)]  # the middle: 23 hours
    start, end = (local_midnight_ms(d, zone) for d in (days[0], date(2026, 3, 31)))
    central.write(constant("garage", "main", 600, start, end))
    central.write(constant("garage", "solar", -1200, start, local_midnight_ms(days[1], zone)))
    mariadb.query(database, "DELETE FROM ChannelHour")  # read from ChannelDay alone
    df = reader.history([("garage", "main"), ("garage", "solar")], start, end, max_points=3)
    assert set(df["level"]) == {"1d"}
    main = df[df["channel"] == "main"]
    assert main["ts"].tolist() == [local_midnight_ms(d, zone) for d in days]
    assert main["mean"].round(9).eq(600).all()  # the 23-hour day too: energy over its hours
    assert (main["min"] == 595).all() and (main["max"] == 605).all()
    solar = df[df["channel"] == "solar"]
    assert solar["ts"].tolist() == [start] and solar["mean"].round(9).tolist() == [-1200.0]
    week = reader.history([("garage", "main")], start, end, max_points=1)  # one 7-day bucket
    assert week["level"].tolist() == ["7d"] and week["mean"].round(9).tolist() == [600.0]
    assert week["ts"].iloc[0] <= start  # whole buckets: it begins on or before the first day


def test_max_rows_bounds_what_a_view_of_every_device_reads(central, reader):
    t0 = ms("2026-01-05 00:00")
    keys = [(f"device-{k}", "main") for k in range(4)]
    for point, channel in keys:
        central.write(constant(point, channel, 600, t0, t0 + DAY))
    fine = reader.history(keys, t0, t0 + DAY, max_points=1000)
    assert set(fine["level"]) == {"2m"}  # 4 x 1440 minutes read
    bounded = reader.history(keys, t0, t0 + DAY, max_points=1000, max_rows=300)
    assert set(bounded["level"]) == {"1h"} and len(bounded) == 4 * 24  # 4 x 96 quarters > 300
    assert bounded["mean"].round(9).eq(600).all()
    days = reader.history(keys, t0, t0 + DAY, max_points=1000, max_rows=50)  # 4 x 24 hours > 50
    assert set(days["level"]) == {"1d"} and len(days) == 4  # days are the coarsest: 4 rows read
    assert days["ts"].tolist() == [t0] * 4 and days["mean"].round(9).eq(600).all()


def test_history_reads_the_pairs_asked_for_and_no_other(central, reader):
    t0 = ms("2026-01-05 00:00")
    for point, channel, watts in [
        ("a", "x", 100),
        ("a", "y", 200),
        ("b", "x", 300),
        ("b", "y", 400),
    ]:
        central.write(constant(point, channel, watts, t0, t0 + HOUR))
    some = reader.history(
        [("a", "x"), ("b", "y")], t0, t0 + HOUR
    )  # not every point's every channel
    means = some["mean"].round(6)  # nWh: exact to far below a plot's pixel
    assert sorted(set(zip(some["point"], some["channel"], means, strict=True))) == [
        ("a", "x", 100.0),
        ("b", "y", 400.0),
    ]
    every = reader.history(None, t0, t0 + HOUR, extremes=False)  # every point has every channel
    assert len(every) == 4 * 60 and every["min"].isna().all() and every["max"].isna().all()
    assert every.groupby(["point", "channel"])["mean"].mean().round(6).to_dict() == {
        ("a", "x"): 100.0, ("a", "y"): 200.0, ("b", "x"): 300.0, ("b", "y"): 400.0,
    }  # fmt: skip


def test_history_of_nothing(reader):
    t0 = ms("2026-01-05 00:00")
    for tz in ("UTC", "Asia/Kolkata"):  # ChannelDay's days, and sums of hours by channel
        assert reader.point_energy(["nowhere"], 3, t0, tz).empty
        assert reader.point_energy(None, 3, t0, tz).empty
    assert reader.history([], t0, t0 + DAY).empty
    assert reader.history([("garage", "main")], t0 + DAY, t0).empty
    assert list(reader.history([("nowhere", "x")], t0, t0 + DAY).columns) == [
        "ts", "time", "point", "channel", "level", "mean", "min", "max",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("tz", "day", "hours"),
    [
        ("Europe/Brussels", date(2026, 3, 29), 23),  # summer time starts: a 23-hour day
        ("America/New_York", date(2026, 11, 1), 25),  # it ends: 25 hours
        ("Asia/Kolkata", date(2026, 3, 29), 24),  # +5:30: midnight cuts an hour
        ("Asia/Kathmandu", date(2026, 3, 29), 24),  # +5:45
    ],
)
@pytest.mark.parametrize("own", [False, True], ids=["hours", "the database's days"])
def test_daily_energy_counts_each_local_day_whole(mariadb, database, central, reader, tz, day, hours, own):  # fmt: skip
    zone = ZoneInfo(tz)
    if own:
        central.init(zone)  # ChannelDay counts this zone's days
    start = local_midnight_ms(date.fromordinal(day.toordinal() - 1), zone)
    end = local_midnight_ms(date.fromordinal(day.toordinal() + 2), zone)
    central.write(constant("garage", "main", 600, start, end))
    central.write(constant("garage", "solar", -1200, start, end))
    if own:  # read from ChannelDay alone
        mariadb.query(database, "DELETE FROM ChannelHour")
        mariadb.query(database, "DELETE FROM ChannelQuarter")
    df = reader.daily_energy(None, days=3, end_ms=end - 1, tz=tz)
    days = [date.fromordinal(day.toordinal() + k).isoformat() for k in (-1, 0, 1)]
    assert df["day"].tolist() == [d for d in days for _ in range(2)]
    main = df[df["channel"] == "main"]
    assert main["import_wh"].round(6).tolist() == [14_400.0, 600.0 * hours, 14_400.0]
    assert (main["export_wh"] == 0).all()
    solar = df[df["channel"] == "solar"]
    assert solar["export_wh"].round(6).tolist() == [28_800.0, 1200.0 * hours, 28_800.0]


def test_daily_energy_of_some_channels_up_to_now(central, reader):
    t0 = ms("2026-06-01 00:00")
    central.write(constant("garage", "main", 600, t0, t0 + DAY + 6 * HOUR))
    central.write(constant("house", "l1", 1000, t0, t0 + DAY))
    now = t0 + DAY + 6 * HOUR
    df = reader.daily_energy([("garage", "main")], days=2, end_ms=now, tz="UTC")
    assert df.round(6).to_dict("records") == [
        {
            "day": "2026-06-01",
            "point": "garage",
            "channel": "main",
            "import_wh": 14_400.0,
            "export_wh": 0.0,
        },
        {
            "day": "2026-06-02",
            "point": "garage",
            "channel": "main",
            "import_wh": 3_600.0,
            "export_wh": 0.0,
        },
    ]  # fmt: skip  (today: so far)
    assert reader.daily_energy([], days=2, end_ms=t0, tz="UTC").empty


def test_the_devices_that_drew_most_on_a_day(central, reader):
    t0 = ms("2026-06-01 00:00")
    for k, point in enumerate(["a", "b", "c", "d"]):
        central.write(constant(point, "main", 100 * (k + 1), t0, t0 + DAY))
        central.write(constant(point, "solar", -50, t0, t0 + DAY))
    central.write(constant("e", "main", 10_000, t0 + DAY, t0 + 2 * DAY))  # the day after
    top = reader.top_points(date(2026, 6, 1), tz="UTC", n=3)
    assert top.round(6).to_dict("records") == [
        {"point": "d", "import_wh": 9600.0, "export_wh": 1200.0},
        {"point": "c", "import_wh": 7200.0, "export_wh": 1200.0},
        {"point": "b", "import_wh": 4800.0, "export_wh": 1200.0},
    ]


def test_the_reader_cannot_write(reader):
    with pytest.raises(ExportError, match="READ ONLY"):
        reader.query("INSERT INTO CorcyPowerSchema VALUES ('x', NOW())")
    assert reader.channels().empty  # and the next query opens a fresh connection


def test_a_wrong_password_is_a_clear_error(mariadb, database):
    with Reader(settings_for(mariadb, database, password="wrong")) as reader:
        with pytest.raises(ExportError, match="access denied: check"):
            reader.channels()


def varying(point, channel, start_ms, end_ms, phase):
    """Minutes whose power changes every minute, drawn and sent by turns (exact in binary)."""
    rows = []
    for ts in range(start_ms, end_ms, MIN):
        watts = round(900 * math.sin(ts / 3_700_000 + phase)) + 0.25
        wh = abs(watts) / 60
        rows.append(MinuteRow(ts, channel, wh if watts > 0 else 0.0, wh if watts < 0 else 0.0,
                              watts - 5, watts + 5, watts, 120, 60_000))  # fmt: skip
    return channel_records(point, rows)


def minute_sums(mariadb, database, zone) -> dict[tuple[str, str, str], float]:
    """(local day, point, "import"|"export"): Wh of ChannelMinute's rows, added up here."""
    sums: dict[tuple[str, str, str], float] = {}
    for ts, point, imported, exported in mariadb.query(
        database, "SELECT TimeStamp, Point, ImportWh, ExportWh FROM ChannelMinute"
    ):
        day = ts.replace(tzinfo=UTC).astimezone(zone).date().isoformat()
        for way, wh in (("import", imported), ("export", exported)):
            sums[day, point, way] = sums.get((day, point, way), 0.0) + wh
    return sums


def by_day_and_point(df) -> dict[tuple[str, str, str], float]:
    """A frame's import_wh and export_wh per (day, point), its channels added up."""
    added = df.groupby(["day", "point"])[["import_wh", "export_wh"]].sum()
    return {
        (day, point, way): row[f"{way}_wh"]
        for (day, point), row in added.iterrows()
        for way in ("import", "export")
    }


def test_each_devices_days_are_the_sums_of_its_minutes(mariadb, database, central, reader):
    """Across Brussels' 23-hour day, for a device with a hole of a day and a half (its day
    without data is absent, never 0), from ChannelDay and from sums of hours and quarters."""
    brussels = ZoneInfo("Europe/Brussels")
    start = local_midnight_ms(date(2026, 3, 28), brussels)
    end = local_midnight_ms(date(2026, 3, 31), brussels)
    for k, channel in enumerate(["main", "heatpump", "solar"]):
        central.write(varying("house", channel, start, end, k))
    hole = (ms("2026-03-28 13:00"), local_midnight_ms(date(2026, 3, 30), brussels) + 3 * HOUR)
    central.write(varying("garage", "main", start, hole[0], 4))
    central.write(varying("garage", "main", hole[1], end, 4))
    for db_zone, asked in [("Europe/Brussels", "Europe/Brussels"), ("UTC", "Europe/Brussels"),
                           ("Europe/Brussels", "Asia/Kolkata")]:  # fmt: skip
        central.init(ZoneInfo(db_zone))  # ChannelDay counts db_zone's days
        expected = minute_sums(mariadb, database, ZoneInfo(asked))
        df = reader.point_energy(None, days=5, end_ms=end + 5 * HOUR, tz=asked)
        assert by_day_and_point(df) == pytest.approx(expected, rel=1e-12), (db_zone, asked)
        assert df["day"].tolist() == sorted(df["day"]) and 2 * len(df) == len(expected)
        if asked == "Europe/Brussels":
            assert ("2026-03-29", "garage", "import") not in expected and len(df) == 5
        channels = reader.daily_energy(None, days=5, end_ms=end + 5 * HOUR, tz=asked)
        assert by_day_and_point(channels) == pytest.approx(expected, rel=1e-12)
        top = reader.top_points(date(2026, 3, 29), tz=asked, n=10)
        day = df[df["day"] == "2026-03-29"].sort_values("import_wh", ascending=False)
        assert top["point"].tolist() == day["point"].tolist()
    garage = reader.point_energy(["garage"], days=5, end_ms=end, tz="Europe/Brussels")
    assert garage["day"].tolist() == ["2026-03-28", "2026-03-30"]
    assert set(garage["point"]) == {"garage"}
    assert reader.point_energy([], days=5, end_ms=end).empty
