"""End to end in headless Chromium: the monitor on the emulated chip, the dashboard, a real page."""

from __future__ import annotations

import time
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tests.dashboard.browser import LIVE_TS, launch, require_browser
from tests.dashboard.helpers import simulated_db
from tests.dashboard.processes import corcypower, write_config

DAY_MS = 86_400_000
HISTORY_TITLE = "() => Bokeh.documents[0].get_model_by_name('history_plot').title.text == '{text}'"
# the history drawn covers the plot's range, within an hour at each end
COVERED = """() => { const d = Bokeh.documents[0]; const r = d.get_model_by_name('history_plot').x_range;
  const x = d.get_model_by_name('history_main').data.x;
  return x.length > 0 && x[0] <= r.start + 3600000 && x[x.length - 1] >= r.end - 3600000 }"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """Two days of history, then `corcypower run` and `corcypower dashboard` as processes."""
    require_browser()
    from playwright.sync_api import sync_playwright

    tmp = tmp_path_factory.mktemp("e2e")
    config, _, port = write_config(tmp, stale=3.0)
    simulated_db(tmp / "power.db", hours=48, end_ms=int(time.time() * 1000) - 1000)
    daemon = corcypower("run", "--config", str(config), cwd=tmp)
    dashboard = corcypower("dashboard", "--config", str(config), cwd=tmp)
    url = dashboard.wait_for(r"CorcyPower dashboard: (http://\S+)").group(1)
    assert url == f"http://localhost:{port}/"
    daemon.wait_for("sampling 3 channels")
    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            yield {"browser": browser, "url": url, "daemon": daemon, "dashboard": dashboard}
        finally:
            browser.close()
            daemon.stop()
            dashboard.stop()


@pytest.fixture(scope="module")
def page(stack):
    page = stack["browser"].new_page()
    page.errors = []
    page.on("console", lambda m: m.type == "error" and page.errors.append(m.text))
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.goto(stack["url"])
    page.wait_for_function(f"() => window.Bokeh && Bokeh.documents.length && ({LIVE_TS})() > 0")
    page.wait_for_function(
        "() => Bokeh.documents[0].get_model_by_name('history_main').data.x.length > 0"
    )
    return page


def js_model(page, name: str, expression: str):
    return page.evaluate(
        f"() => {{ const m = Bokeh.documents[0].get_model_by_name('{name}'); return {expression} }}"
    )


def test_the_page_loads_without_console_errors(page):
    assert page.title().startswith("CorcyPower")
    assert page.locator(".card.total .big").inner_text().endswith(("W", "kW"))
    assert page.locator("text=mains_v").first.is_visible()
    assert page.errors == []


def test_the_live_value_changes_every_second(page):
    last = page.evaluate(LIVE_TS)
    for _ in range(4):
        page.wait_for_function(f"() => ({LIVE_TS})() > {last}", timeout=2500)
        new = page.evaluate(LIVE_TS)
        assert new > last
        last = new
    # the live ts is the end of the batch in ms UTC: within seconds of the browser's clock
    assert abs(page.evaluate("() => Date.now()") - last) < 10_000


def test_times_are_shown_in_local_time_with_daylight_saving(page):
    """The config says Europe/Paris: x is ts plus CET's or CEST's offset, the clock says which."""
    ts, x = js_model(page, "live", "[m.data.ts[0], m.data.x[0]]")
    paris = datetime.fromtimestamp(ts / 1000, ZoneInfo("Europe/Paris"))
    assert x - ts == paris.utcoffset().total_seconds() * 1000
    assert page.locator("text=last batch").inner_text().endswith(paris.strftime("%Z"))
    assert page.errors == []


def test_the_range_buttons_change_the_history_plot(page):
    assert js_model(page, "history_plot", "m.x_range.end - m.x_range.start") == DAY_MS
    day_points = js_model(page, "history_main", "m.data.x.length")
    page.get_by_role("button", name="hour").click()
    page.wait_for_function(
        "() => { const p = Bokeh.documents[0].get_model_by_name('history_plot'); return p.x_range.end - p.x_range.start == 3600000 }"
    )
    page.wait_for_function(
        "() => { const p = Bokeh.documents[0].get_model_by_name('history_plot'); const x = Bokeh.documents[0].get_model_by_name('history_main').data.x; return x.length > 0 && x[0] >= p.x_range.start - 60000 }"
    )
    page.get_by_role("button", name="week").click()
    page.wait_for_function(
        "() => { const p = Bokeh.documents[0].get_model_by_name('history_plot'); return p.x_range.end - p.x_range.start == 7 * 86400000 }"
    )
    # two days of data in a week's view: it starts about two days back, coarser than the hour's
    page.wait_for_function(
        "() => { const p = Bokeh.documents[0].get_model_by_name('history_plot'); const x = Bokeh.documents[0].get_model_by_name('history_main').data.x; return x.length > 0 && x[x.length - 1] - x[0] > 40 * 3600000 }"
    )
    assert js_model(page, "history_plot", "m.title.text") == "History: the last week"
    assert day_points > 0 and page.errors == []


def test_dragging_the_history_pans_it_and_queries_the_new_range(page):
    page.get_by_role("button", name="day").click()
    page.wait_for_function(HISTORY_TITLE.format(text="History: the last day"))
    page.wait_for_function(COVERED)
    page.wait_for_function("() => Bokeh.documents[0].is_idle")
    before = js_model(page, "history_plot", "m.x_range.start")
    left, top, width, height = page.evaluate(
        "() => { const r = Bokeh.index.find_one(Bokeh.documents[0].get_model_by_name('history_plot')).el.getBoundingClientRect(); return [r.left, r.top, r.width, r.height] }"
    )
    x, y = left + width / 2, top + height / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + width / 3, y, steps=10)  # drag right: back in time
    page.mouse.up()
    page.wait_for_function(HISTORY_TITLE.format(text="History"))
    page.wait_for_function(COVERED)  # the query of the range on screen has been drawn
    start, end = js_model(page, "history_plot", "[m.x_range.start, m.x_range.end]")
    assert end - start == DAY_MS
    assert start < before - 3_600_000  # it moved back by hours
    assert page.errors == []


def test_the_layout_fits_a_phone(stack):
    phone = stack["browser"].new_page()
    phone.set_viewport_size({"width": 390, "height": 844})
    phone.goto(stack["url"])
    phone.wait_for_function(f"() => window.Bokeh && Bokeh.documents.length && ({LIVE_TS})() > 0")
    phone.wait_for_function("() => Bokeh.documents[0].is_idle")
    card = phone.locator(".card.total")
    card.wait_for(state="visible")  # the numbers are drawn with the first batch the page gets
    assert phone.evaluate("() => document.documentElement.scrollWidth") <= 390
    assert card.bounding_box()["width"] <= 390
    phone.close()


def test_the_stale_banner_appears_when_the_daemon_stops(stack, page):
    assert not js_model(page, "banner", "m.visible")
    assert stack["daemon"].stop() == 0
    page.wait_for_function(
        "() => Bokeh.documents[0].get_model_by_name('banner').visible", timeout=20_000
    )
    banner = page.locator(".banner")
    banner.wait_for(state="visible")
    assert banner.inner_text().startswith("No data from the monitor for")
    assert page.errors == []
