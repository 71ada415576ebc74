"""The house section, built as a tab would be, following a real state API (a ring we feed)."""

from __future__ import annotations

import time

import pytest

from corcypower.clock import FakeClock
from corcypower.dashboard.devices import DeviceStatus
from corcypower.dashboard.sections.house import house_html
from corcypower.live.api import StateAPI
from corcypower.live.ring import Ring
from tests.dashboard.helpers import batch, build_page, until
from tests.export.mariadb import PASSWORD, USER
from tests.live.helpers import config, stats

PARIS = __import__("zoneinfo").ZoneInfo("Europe/Paris")


@pytest.fixture
def garage():
    ring = Ring(600, 0.5)
    api = StateAPI(ring, config(export={"mysql": {"point": "garage"}}), FakeClock()).start()
    ring.add(int(time.time() * 1000), 500, stats(watts=321.0))
    yield ring, api
    api.close()


def test_without_devices_or_the_central_database_there_is_no_house_section(tmp_path):
    page = build_page(tmp_path / "power.db")
    assert "house_section" not in [s.name for s in page.sections]


def test_every_device_live_and_the_total_partial_while_one_is_offline(tmp_path, garage):
    _, api = garage
    now = int(time.time() * 1000)
    devices = {"devices": [api.url, "http://127.0.0.1:9"], "stale_seconds": 3600.0}
    page = build_page(tmp_path / "power.db", [batch(now)], dashboard=devices)
    try:
        section = page.section("house_section")
        remote, dead = section.house.remotes
        assert until(lambda: remote.latest() is not None and dead.error is not None, 30)
        section.tick(0.0)
        assert section.parts.data["html"] == [section.html]
        html = section.html
        assert 'data-device="garage" data-online="true"' in html and ">321 W<" in html
        assert 'data-channel="solar" data-w="-300.0"' in html  # this device's channels too
        assert 'data-devices="2" data-of="3"' in html and "partial: 2 of 3 devices" in html
        assert ">821 W<" in html  # 500 W here (its grid: main) and the garage's 321 W
        # the history: this device's and the garage's APIs hold no power.db: a line each saying so
        assert "no history" in section.note.text
        section.ranges.active = 2
        assert section.plot.title.text == "Each device, the last month"
        assert section.plot.x_range.end - section.plot.x_range.start == 30 * 86_400_000
    finally:
        page.app.stop()


def status(name, online, total_w=None, channels=(), since=None, why=""):
    return DeviceStatus(name, f"http://{name}:8070", online, channels, total_w, since, why)


def test_an_offline_device_shows_no_number_and_says_since_when_and_why():
    html = house_html(
        [
            status("panel", True, 1200.0, (("main", 1200.0),)),
            status("garage<", False, since=1_767_225_600_000, why="Connection refused"),
        ],
        PARIS,
    )
    offline = html[html.index('data-device="garage&lt;"') :]
    assert ">offline<" in offline and "since 01 Jan 01:00:00 · Connection refused" in offline
    assert " W<" not in offline and "0 W" not in offline
    assert "partial: 1 of 2 devices" in html and ">1200 W<" in html


def test_a_device_with_an_unknown_channel_makes_the_total_partial_not_smaller():
    html = house_html(
        [status("a", True, 100.0, (("main", 100.0),)), status("b", True, None, (("main", None),))],
        PARIS,
    )
    assert "partial: 1 of 2 devices" in html and ">100 W<" in html
    complete = house_html([status("a", True, 100.0), status("b", True, 50.0)], PARIS)
    assert ">3 of 3" not in complete and ">2 of 2 devices<" in complete and ">150 W<" in complete


# --- the central database (a real MariaDB: tests/conftest.py's) ------------------------------


def test_the_central_database_gives_every_devices_energy_and_yesterdays_top(
    tmp_path,
    mariadb,
    database,
    central,
):
    from corcypower.export.central import Reader
    from tests.export.test_central import constant
    from tests.export.test_mysql import settings_for

    central.init(PARIS)  # ChannelDay counts the dashboard's days
    day = 86_400_000
    today = 1_780_264_800_000  # 2026-06-01 00:00 in Paris
    for k, point in enumerate(["barn", "garage", "house"]):
        central.write(
            constant(point, "main", 100 * (k + 1), today - 2 * day, today + 6 * 3_600_000)
        )
    central.write(constant("house", "solar", -500, today - day, today))
    mysql = {"host": mariadb.host, "port": mariadb.port, "database": database,
             "user": USER, "password": PASSWORD}  # fmt: skip
    clock = FakeClock(wall_ms=today + 6 * 3_600_000)
    page = build_page(tmp_path / "power.db", clock=clock, dashboard={"central_mysql": True},
                      export={"mysql": mysql})  # fmt: skip
    try:
        section = page.section("house_section")
        bars = section.energy.data
        assert bars["day"] == ["2026-05-30", "2026-05-31", "2026-06-01"]
        assert [round(x, 6) for x in bars["import_kwh"]] == [14.4, 14.4, 3.6]  # 600 W, 6 h today
        assert [round(x, 6) for x in bars["export_kwh"]] == [0, -12.0, 0]  # the house's solar
        assert bars["points"] == [3, 3, 3]
        top = section.top.text
        assert "yesterday (2026-05-31)" in top
        assert top.index("house: 7.20 kWh from the grid, 12.00 kWh to it") < top.index(
            "garage: 4.80"
        )
        assert top.index("garage: 4.80 kWh") < top.index("barn: 2.40 kWh")
        # what a `mysql` client reads: the same days, from the same rows
        with Reader(settings_for(mariadb, database)) as reader:
            days = reader.point_energy(None, 3, today + 6 * 3_600_000, PARIS)
        assert days.groupby("day")["import_wh"].sum().round(6).tolist() == [
            14_400.0,
            14_400.0,
            3_600.0,
        ]
        assert list(section.source.data["name"]) == ["barn", "garage", "house"]
        # read once a minute for every tab: the next tab within the minute gets the same days
        now = clock.wall_ms()
        same = page.app.house.energy(now + 59_000)
        assert same is page.app.house.energy(now)
        assert page.app.house.energy(now + 60_000) is not same
        assert "the central database's" not in top  # its days are the dashboard's own
    finally:
        page.app.stop()


def test_the_days_are_the_central_databases_and_say_so_when_they_are_not_ours(
    tmp_path, mariadb, database, central
):
    from tests.export.test_central import constant

    central.init(__import__("zoneinfo").ZoneInfo("UTC"))  # the fleet's days: UTC's
    day = 86_400_000
    today = 1_780_272_000_000  # 2026-06-01 00:00 UTC, 02:00 in Paris
    central.write(constant("garage", "main", 1000, today - day, today + 3_600_000))
    mysql = {"host": mariadb.host, "port": mariadb.port, "database": database,
             "user": USER, "password": PASSWORD}  # fmt: skip
    clock = FakeClock(wall_ms=today + 3_600_000)
    page = build_page(tmp_path / "power.db", clock=clock, dashboard={"central_mysql": True},
                      export={"mysql": mysql})  # fmt: skip
    try:
        section = page.section("house_section")
        bars = section.energy.data
        assert bars["day"] == ["2026-05-31", "2026-06-01"]  # UTC's days, not Paris'
        assert [round(x, 6) for x in bars["import_kwh"]] == [24.0, 1.0]
        assert "Days of UTC, the central database's." in section.top.text
        assert "garage: 24.00 kWh" in section.top.text
    finally:
        page.app.stop()


def test_a_central_database_that_does_not_answer_says_so(tmp_path):
    mysql = {"host": "127.0.0.1", "port": 9, "database": "nowhere", "user": "x", "password": "y",
             "connect_timeout_seconds": 1.0}  # fmt: skip
    page = build_page(tmp_path / "power.db", dashboard={"central_mysql": True},
                      export={"mysql": mysql})  # fmt: skip
    try:
        section = page.section("house_section")
        assert "No energy: MySQL x@127.0.0.1:9/nowhere" in section.top.text
        assert section.energy.data["day"] == []
    finally:
        page.app.stop()
