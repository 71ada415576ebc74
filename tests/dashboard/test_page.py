"""The page's document built without a server: its models, streaming, ranges, the banner."""

from __future__ import annotations

import math
import sqlite3
import time

import pytest
from bokeh.document import Document
from bokeh.events import RangesUpdate
from bokeh.models import Button, InputWidget, RadioButtonGroup

from corcypower.dashboard import data
from corcypower.dashboard.app import Dashboard, make_document
from corcypower.dashboard.poller import LivePoller
from tests.dashboard.helpers import batch, config, outside_band, simulated_db

NOW = int(time.time() * 1000)


def build(db_path, batches=()):
    """A Dashboard whose poller is fed by hand, queries inline, and one page of it."""
    cfg = config(db_path)
    poller = LivePoller("http://127.0.0.1:9", keep_ms=600_000)  # never started
    poller.take({"newest": None, "batches": list(batches)})
    dashboard = Dashboard(cfg, poller=poller, threads=0)
    doc = Document()
    return make_document(doc, dashboard), doc


@pytest.fixture(scope="module")
def db_path(tmp_path_factory):
    return simulated_db(tmp_path_factory.mktemp("page") / "power.db", hours=3, end_ms=NOW - 1000)


@pytest.fixture
def page(db_path):
    return build(db_path, [batch(NOW - 1000 + k * 500) for k in range(3)])[0]


def test_the_live_source_is_named_live_with_ts_in_ms_utc(page):
    live = page.doc.get_model_by_name("live")
    assert live is page.live
    assert live.data["ts"] == [NOW - 1000, NOW - 500, NOW]
    assert live.data["x"][0] == data.local_ms(NOW - 1000, page.tz)
    assert live.data["w_main"] == [500.0] * 3


def test_big_numbers_health_and_gauge_show_the_latest_batch(page):
    assert '<div class="big">500 W</div>' in page.numbers.text
    assert "<td>main</td>" in page.health.text
    assert page.gauge.data["label"] == ["500 W import"]
    assert '<div class="status">last batch ' in page.numbers.text
    assert page.numbers.text.endswith(("CET</div>", "CEST</div>"))


def test_new_batches_stream_in_with_a_rollover(page):
    for k in range(page.rollover + 10):
        page.on_batches([batch(NOW + 500 * (k + 1), main_w=float(k))])
    ts = page.live.data["ts"]
    assert len(ts) == page.rollover
    assert ts[-1] == NOW + 500 * (page.rollover + 10)
    assert page.rollover * 500 >= 600_000  # ten minutes of 0.5 s batches


def test_batches_already_shown_are_not_streamed_again(page):
    page.on_batches([batch(NOW - 500), batch(NOW)])
    assert len(page.live.data["ts"]) == 3


def test_the_poller_hands_batches_to_the_document_on_its_next_tick(page):
    before = len(page.doc.session_callbacks)
    page.app.poller.take({"newest": NOW + 500, "batches": [batch(NOW + 500)]})
    assert len(page.doc.session_callbacks) == before + 1


def test_the_history_opens_on_the_last_day_with_data(page):
    main = page.doc.get_model_by_name("history_main")
    assert page.ranges.labels == ["hour", "day", "week", "month", "year"]
    assert page.ranges.active == 1
    x_range = page.history_plot.x_range
    assert x_range.end - x_range.start == data.DAY_MS
    assert len(main.data["x"]) > 100
    assert outside_band(main.data) == []


def test_range_buttons_change_the_history_plot(page):
    main = page.doc.get_model_by_name("history_main")
    day_points = list(main.data["x"])
    page.ranges.active = 0  # "hour"
    x_range = page.history_plot.x_range
    assert x_range.end - x_range.start == 3_600_000
    assert main.data["x"] != day_points
    assert min(main.data["x"]) >= x_range.start - 60_000
    assert page.history_plot.title.text == "History: the last hour"


def test_pan_and_zoom_requery_at_the_new_resolution(page):
    main = page.doc.get_model_by_name("history_main")
    end = data.local_ms(NOW, page.tz)
    page.on_ranges_update(RangesUpdate(page.history_plot, x0=end - 600_000, x1=end))
    ten_minutes = len(main.data["x"])
    step = (main.data["x"][-1] - main.data["x"][0]) / (ten_minutes - 1)
    assert step <= 10_000  # raw batches or 10 s buckets, not the day's coarser ones
    assert page.queried == (end - 600_000, end)


def test_energy_per_day_has_bars_and_a_priced_summary(page):
    daily = page.doc.get_model_by_name("daily")
    assert len(daily.data["day"]) >= 1
    assert "kWh imported" in page.daily_note.text and "EUR" in page.daily_note.text


def test_the_banner_appears_when_no_data_arrives(page):
    poller = page.app.poller
    page.check_stale()
    assert not page.banner.visible
    poller.last_arrival = time.monotonic() - 12
    page.check_stale()
    assert page.banner.visible
    assert "No data from the monitor for 12 s" in page.banner.text
    page.on_batches([batch(NOW + 10_000)])
    assert not page.banner.visible


def test_the_page_reads_power_db_read_only(page):
    db = page.app._db()
    assert db.read_only
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        db.conn.execute("DELETE FROM batch")


def test_without_a_database_the_page_still_shows_live_data_and_says_why(tmp_path):
    page, doc = build(tmp_path / "missing.db", [batch(NOW)])
    assert page.live.data["ts"] == [NOW]
    assert "No history" in page.history_note.text and "no such database" in page.history_note.text
    assert "No daily energy" in page.daily_note.text


def test_the_only_control_chooses_the_history_range(page):
    controls = [
        m for m in page.doc.models if isinstance(m, InputWidget | Button | RadioButtonGroup)
    ]
    assert controls == [page.ranges]


def test_the_document_serialises(page):
    assert [root.name for root in page.doc.roots] == ["page"]
    page.doc.to_json()
    page.on_batches([batch(NOW + 1000, main_w=math.nan)])  # NaN travels as NaN, not an error
    page.doc.to_json()


def test_batches_every_tab_receives_are_prepared_once(db_path):
    first, _ = build(db_path)
    second = make_document(Document(), first.app)
    made = []
    prepare = first._prepare
    first._prepare = second._prepare = lambda batches: made.append(1) or prepare(batches)
    news = [batch(NOW + 500)]
    first.on_batches(news)
    second.on_batches(news)
    assert made == [1]
    assert first.live.data["ts"][-1] == second.live.data["ts"][-1] == NOW + 500


def test_health_is_refreshed_every_few_seconds_or_when_a_flag_changes(page):
    shown = page.health.text
    page.on_batches([batch(NOW + 500, main_w=1.0)])
    assert page.health.text == shown  # within HEALTH_EVERY_S, nothing new to say
    page.on_batches([batch(NOW + 1000, flags=2)])
    assert "flat: no signal" in page.health.text
