"""The energy section: a period's account drawn as bars and totals, previous/next, a date."""

from __future__ import annotations

import csv
import io
import math
from datetime import date, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from corcypower.clock import FakeClock
from corcypower.dashboard import data
from corcypower.energy.account import of_config
from corcypower.energy.periods import Period
from corcypower.energy.report import money, totals
from corcypower.store.database import Database
from tests.dashboard.helpers import batch, build_page, config, simulated_db

PARIS = ZoneInfo("Europe/Paris")
NOW = round(datetime(2026, 11, 18, 15, 0, tzinfo=PARIS).timestamp() * 1000)  # a Wednesday


@pytest.fixture(scope="module")
def db_path(tmp_path_factory):
    return simulated_db(tmp_path_factory.mktemp("energy") / "power.db", hours=30, end_ms=NOW - 1000)


@pytest.fixture
def page(db_path):
    return build_page(db_path, [batch(NOW)], clock=FakeClock(wall_ms=NOW))


def energy(page):
    return page.section("energy_section")


def expected(db_path, period: Period):
    cfg = config(db_path)
    with Database(db_path, read_only=True) as db:
        return of_config(db, cfg, period.edges(PARIS), period.bars, NOW)


def test_it_opens_on_today_by_the_hour(page, db_path):
    e = energy(page)
    assert e.period == Period("day", date(2026, 11, 18))
    assert e.units.active == 0 and e.picker.value == "2026-11-18"
    assert e.next.disabled  # no future
    source = page.doc.get_model_by_name("energy")
    account = expected(db_path, e.period)
    assert len(source.data["x"]) == 24
    drawn = data.energy_columns(account, PARIS)
    assert source.data.keys() == drawn.keys()
    for key in drawn:
        np.testing.assert_equal(source.data[key], drawn[key])
    imported = source.data["import_kwh"]
    assert imported[14] >= 0 and all(math.isnan(k) for k in imported[15:])  # 15:00 is now


def test_the_totals_are_the_reports(page, db_path):
    summary = page.doc.get_model_by_name("energy_summary").text
    t = totals(expected(db_path, energy(page).period))
    assert "Wed 18 Nov 2026" in summary
    assert f'<span data-figure="consumption_kwh">{t["consumption_kwh"]:.2f} kWh</span>' in summary
    assert f'<span data-figure="cost">{money(t["cost"], "EUR")}</span>' in summary
    assert f'<span data-figure="solar_kwh">{t["solar_kwh"]:.2f} kWh</span>' in summary


def test_previous_next_units_and_the_date_move_the_period(page):
    e = energy(page)
    e.go(e.period.shift(-1))
    assert e.period == Period("day", date(2026, 11, 17)) and not e.next.disabled
    assert e.picker.value == "2026-11-17"
    e.units.active = 2  # month, holding the 17th
    assert e.period == Period("month", date(2026, 11, 1))
    assert len(page.doc.get_model_by_name("energy").data["x"]) == 30
    e.picker.value = "2026-10-05"
    assert e.period == Period("month", date(2026, 10, 1))
    assert "October 2026" in page.doc.get_model_by_name("energy_summary").text
    assert (
        e.use_plot.x_range.start == datetime(2026, 10, 1).timestamp() * 0 + e.use_plot.x_range.start
    )


def test_the_x_range_is_the_whole_period_in_local_time(page):
    e = energy(page)
    e.go(Period("week", date(2026, 11, 16)))
    start = (datetime(2026, 11, 16) - datetime(1970, 1, 1)).total_seconds() * 1000
    assert e.use_plot.x_range.start == e.use_plot.x_range.reset_start == start
    assert e.use_plot.x_range.end == e.use_plot.x_range.reset_end == start + 7 * 86_400_000


def test_the_csv_is_the_bars_as_export_energy_writes_them(page, db_path):
    e = energy(page)
    e.download()
    assert page.saved.data["name"] == ["corcypower-energy-day-2026-11-18.csv"]
    rows = list(csv.reader(io.StringIO(page.saved.data["text"][0])))
    assert rows[0][:4] == ["start", "end", "bar", "grid_import_kwh"]
    assert len(rows) == 25
    assert rows[1][:3] == ["2026-11-18T00:00:00+01:00", "2026-11-18T01:00:00+01:00", "00:00 CET"]
