"""The history section: ranges up to now, pan and zoom, Reset to now, the CSV of the plot."""

from __future__ import annotations

import csv
import io
import time

import pytest
from bokeh.events import RangesUpdate, Reset

from corcypower.clock import FakeClock
from corcypower.dashboard import data
from corcypower.energy.zone import local_ms
from corcypower.store.csvexport import HEADER
from tests.dashboard.helpers import batch, build_page, outside_band, simulated_db

NOW = int(time.time() * 1000)


@pytest.fixture(scope="module")
def db_path(tmp_path_factory):
    return simulated_db(tmp_path_factory.mktemp("history") / "power.db", hours=3, end_ms=NOW - 1000)


@pytest.fixture
def page(db_path):
    clock = FakeClock(wall_ms=NOW)
    return build_page(db_path, [batch(NOW)], clock=clock)


def history(page):
    return page.section("history_section")


def test_the_history_opens_on_the_last_day_with_data(page):
    main = page.doc.get_model_by_name("history_main")
    h = history(page)
    assert h.ranges.labels == ["hour", "day", "week", "month", "year"]
    assert h.ranges.active == 1
    x_range = h.plot.x_range
    assert x_range.end == local_ms(NOW, page.tz)
    assert x_range.end - x_range.start == data.DAY_MS
    assert len(main.data["x"]) > 100
    assert outside_band(main.data) == []
    assert "points per channel" in h.note.text


def test_range_buttons_change_the_history_plot(page):
    main = page.doc.get_model_by_name("history_main")
    h = history(page)
    day_points = list(main.data["x"])
    h.ranges.active = 0  # "hour"
    x_range = h.plot.x_range
    assert x_range.end - x_range.start == 3_600_000
    assert main.data["x"] != day_points
    assert min(main.data["x"]) >= x_range.start - 60_000
    assert h.plot.title.text == "The last hour"
    assert 1000 <= len(main.data["x"]) <= 2000  # raw batches, merged for the screen


def test_pan_and_zoom_requery_at_the_new_resolution(page):
    main = page.doc.get_model_by_name("history_main")
    h = history(page)
    end = local_ms(NOW, page.tz)
    h.on_ranges_update(RangesUpdate(h.plot, x0=end - 600_000, x1=end))
    ten_minutes = len(main.data["x"])
    step = (main.data["x"][-1] - main.data["x"][0]) / (ten_minutes - 1)
    assert step <= 10_000  # raw batches or 10 s buckets, not the day's coarser ones
    assert h.queried == (end - 600_000, end)


def test_reset_shows_the_range_up_to_now_not_the_page_load(page):
    h = history(page)
    end = local_ms(NOW, page.tz)
    h.on_ranges_update(RangesUpdate(h.plot, x0=end - 5 * 3_600_000, x1=end - 4 * 3_600_000))
    page.app.clock.now += 120  # two minutes later
    h.plot._trigger_event(Reset(h.plot))
    assert h.plot.x_range.end == local_ms(NOW + 120_000, page.tz)
    assert h.plot.x_range.end - h.plot.x_range.start == data.DAY_MS


def test_the_csv_is_the_range_on_screen_as_corcypower_export_writes_it(page):
    h = history(page)
    h.ranges.active = 0  # the last hour
    h.download()
    name, text = page.saved.data["name"][0], page.saved.data["text"][0]
    assert name.startswith("corcypower-power-") and name.endswith(".csv")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0].keys()) == list(HEADER)
    t0, t1 = h._utc(*h.queried)
    assert {r["channel"] for r in rows} == {"main", "solar"}
    assert all(t0 - 10_000 < int(r["ts"]) < t1 for r in rows)
