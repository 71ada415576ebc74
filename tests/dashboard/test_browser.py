"""End to end in headless Chromium: the monitor on the emulated chip, the dashboard, a real page.

Phones are Chromium's mobile emulation (is_mobile, touch, device scale 3) at 360, 390 and
412 CSS px; the desktop is 1366 px. Every wait is bounded (browser.WAIT_MS) and every
measurement is taken once the page has drawn what it measures.
"""

from __future__ import annotations

import re
import time
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tests.dashboard.browser import (
    DESKTOP_WIDTH,
    DRAWN,
    LAYOUT,
    LIVE_TS,
    PHONE_WIDTHS,
    new_tab,
    require_browser,
)
from tests.dashboard.helpers import simulated_db, store_alerts
from tests.dashboard.processes import page_stack, write_config

HOUR = 3_600_000
DAY_MS = 24 * HOUR
PARIS = ZoneInfo("Europe/Paris")  # the time zone of write_config()
PLOTS = ("live_plot", "use_plot", "grid_plot", "history_plot")
MIN_TEXT_PX = 11
# what the page's content keeps free at the right edge (the page has 8 px of padding): the
# layout fits with room to spare, not to the pixel that one Chromium rounds another way
EDGE_PX = 4
HISTORY_TITLE = "() => Bokeh.documents[0].get_model_by_name('history_plot').title.text == '{text}'"
# the history drawn covers the plot's range, within an hour at each end
COVERED = """() => { const d = Bokeh.documents[0]; const r = d.get_model_by_name('history_plot').x_range;
  const x = d.get_model_by_name('history_main').data.x;
  return x.length > 0 && x[0] <= r.start + 3600000 && x[x.length - 1] >= r.end - 3600000 }"""
# two animation frames: whatever the last change asked to paint has been painted
PAINTED = (
    "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))"
)
# where a model's element is once it has stayed there for two frames (no layout under way)
STILL = """(name) => new Promise(done => { let last = "";
  const step = () => { const r = Bokeh.index.find_one(Bokeh.documents[0].get_model_by_name(name))
    .el.getBoundingClientRect(); const now = [r.left, r.top, r.width, r.height];
    if (now.join() == last) done(now); else { last = now.join(); requestAnimationFrame(step) } };
  requestAnimationFrame(step) })"""
RECT = """(name) => { const r = Bokeh.index.find_one(Bokeh.documents[0].get_model_by_name(name)).el
  .getBoundingClientRect(); return [r.left, r.top, r.width, r.height] }"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """Two days of history, then `corcypower run` and `corcypower dashboard` as processes."""
    require_browser()
    tmp = tmp_path_factory.mktemp("e2e")
    # 2 kHz, not the default 8: the page needs batches, not accuracy, and a daemon that
    # stays on time on a build machine shared with other work
    config, _, port = write_config(tmp, stale=3.0, rate_hz=2000)
    now = int(time.time() * 1000)
    simulated_db(tmp / "power.db", hours=48, end_ms=now - 1000)
    alerts = store_alerts(tmp / "power.db", now)
    with page_stack(config, port, channels=3) as stack:
        yield stack | {"alerts": alerts}


def open_page(stack, width: int):
    """A new tab of the dashboard `width` CSS px wide, once everything on it is drawn."""
    page = new_tab(stack["browser"], width, stack["url"])
    page.wait_for_function(DRAWN)
    page.evaluate(PAINTED)
    return page


@pytest.fixture(scope="module")
def page(stack):
    page = open_page(stack, DESKTOP_WIDTH)
    yield page
    page.context.close()


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
        # a new batch every 0.5 s: how soon it shows is bench/dashboard.py's (latency)
        page.wait_for_function(f"() => ({LIVE_TS})() > {last}")
        new = page.evaluate(LIVE_TS)
        assert new > last
        last = new
    # the live ts is the end of the batch in ms UTC, by the browser's clock: not local time
    # (Paris is an hour or two off), whatever the lag of a loaded machine (17 s seen at load 30)
    assert abs(page.evaluate("() => Date.now()") - last) < 600_000


def test_the_numbers_follow_the_live_data(page):
    """The cards are updated in place (numbers_parts): the newest batch, not the first."""
    first = page.locator(".status").first.inner_text()
    page.wait_for_function(
        f"() => document.querySelector('.corcypower') && ({LIVE_TS})() > 0 && "
        "Bokeh.index.find_one(Bokeh.documents[0].get_model_by_name('numbers')).shadow_el"
        f".querySelector('.status').textContent != {first!r}"
    )
    assert page.locator(".status").first.inner_text().startswith("last batch ")


def test_times_are_shown_in_local_time_with_daylight_saving(page):
    """The config says Europe/Paris: x is ts plus CET's or CEST's offset, the clock says which."""
    ts, x = js_model(page, "live", "[m.data.ts[0], m.data.x[0]]")
    paris = datetime.fromtimestamp(ts / 1000, ZoneInfo("Europe/Paris"))
    assert x - ts == paris.utcoffset().total_seconds() * 1000
    assert page.locator("text=last batch").first.inner_text().endswith(("CET", "CEST"))
    assert page.errors == []


def test_the_range_buttons_change_the_history_plot(page):
    assert js_model(page, "history_plot", "m.x_range.end - m.x_range.start") == DAY_MS
    ranges = buttons(page, "history")
    ranges.get_by_role("button", name="hour").click()
    page.wait_for_function(
        "() => { const p = Bokeh.documents[0].get_model_by_name('history_plot'); return p.x_range.end - p.x_range.start == 3600000 }"
    )
    page.wait_for_function(
        "() => { const p = Bokeh.documents[0].get_model_by_name('history_plot'); const x = Bokeh.documents[0].get_model_by_name('history_main').data.x; return x.length > 0 && x[0] >= p.x_range.start - 60000 }"
    )
    ranges.get_by_role("button", name="week").click()
    page.wait_for_function(HISTORY_TITLE.format(text="The last week"))
    # two days of data in a week's view: it starts about two days back, coarser than the hour's
    page.wait_for_function(
        "() => { const x = Bokeh.documents[0].get_model_by_name('history_main').data.x; return x.length > 0 && x[x.length - 1] - x[0] > 40 * 3600000 }"
    )
    assert page.errors == []


def test_dragging_the_history_with_a_mouse_pans_it_and_queries_the_new_range(page):
    buttons(page, "history").get_by_role("button", name="day").click()
    page.wait_for_function(HISTORY_TITLE.format(text="The last day"))
    page.wait_for_function(COVERED)
    page.evaluate(PAINTED)
    before = js_model(page, "history_plot", "m.x_range.start")
    page.evaluate(
        "(name) => Bokeh.index.find_one(Bokeh.documents[0].get_model_by_name(name)).el.scrollIntoView({block: 'center'})",
        "history_plot",
    )
    left, top, width, height = page.evaluate(STILL, "history_plot")  # scrolled, laid out
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


def test_the_csv_button_saves_what_the_energy_plot_shows(page):
    with page.expect_download() as download:
        page.locator("[name=energy_csv] button, button:has-text('CSV')").first.click()
    path = download.value.path()
    text = open(path, encoding="utf-8").read()
    assert download.value.suggested_filename.startswith("corcypower-energy-day-")
    assert text.startswith("start,end,bar,grid_import_kwh,grid_export_kwh,solar_kwh")
    assert len(text.splitlines()) == 1 + 24  # today, by the hour (23 or 25 on a clock change)


# --- phones, and the desktop -------------------------------------------------------------


def buttons(page, which: str):
    """The history's range buttons (they hold "hour") or the energy's period buttons."""
    groups = page.locator(".bk-btn-group")
    if which == "history":
        return groups.filter(has_text="hour")
    return groups.filter(has_not_text="hour")


def choose(page, which: str, label: str, source: str) -> None:
    """Tap `label` among the history's or the energy's buttons; return once the data it asked
    for has replaced `source`'s and been painted."""
    page.evaluate(
        f"() => {{ window.__before = Bokeh.documents[0].get_model_by_name('{source}').data }}"
    )
    buttons(page, which).get_by_role("button", name=label).click()
    page.wait_for_function(
        f"() => Bokeh.documents[0].get_model_by_name('{source}').data !== window.__before"
    )
    page.evaluate(PAINTED)


def layout_problems(page) -> dict:
    report = page.evaluate(LAYOUT, MIN_TEXT_PX)
    return {
        "overflow": report["scroll_width"] - report["width"],
        "past_edge": max(0.0, round(report["right"] - (report["width"] - EDGE_PX), 1)),
        "small": report["small"],
        "overlaps": report["overlaps"],
        "texts": report["canvas_texts"],
    }


FITS = {"overflow": 0, "past_edge": 0.0, "small": [], "overlaps": [], "texts": 0}


@pytest.mark.parametrize("width", [*PHONE_WIDTHS, DESKTOP_WIDTH])
def test_the_layout_fits_with_readable_text_and_labels_apart(stack, width):
    """No horizontal overflow, no text under 11 CSS px, no tick label over another: as first
    drawn, and with each energy period and history range drawn."""
    page = open_page(stack, width)
    try:
        problems = layout_problems(page)
        assert problems["texts"] > 40  # the canvases' text was seen
        assert problems | {"texts": 0} == FITS
        for label in ("week", "month", "year"):
            choose(page, "history", label, "history_main")
            choose(page, "energy", label, "energy")
            problems = layout_problems(page)
            assert problems | {"texts": 0} == FITS, label
        assert page.errors == []
    finally:
        page.context.close()


def swipe(page, x: float, y: float, dy: float, steps: int = 12) -> None:
    """One finger down at (x, y), moved dy CSS px in steps, lifted: real touch events."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x, "y": y}]})
    for k in range(1, steps + 1):
        point = {"x": x, "y": y + dy * k / steps}
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [point]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    cdp.detach()


@pytest.mark.parametrize("width", PHONE_WIDTHS)
def test_a_swipe_that_starts_on_a_plot_scrolls_the_page(stack, width):
    page = open_page(stack, width)
    try:
        for name in PLOTS:  # on a touch screen: pan off (tap its tool), pinch zoom on
            tools = js_model(page, name, "m.toolbar.tools.map(t => [t.type, t.active])")
            assert ["PanTool", False] in tools and ["WheelZoomTool", True] in tools, name
        for name in PLOTS:
            page.evaluate(
                "(name) => Bokeh.index.find_one(Bokeh.documents[0].get_model_by_name(name)).el.scrollIntoView({block: 'center'})",
                name,
            )
            left, top, w, h = page.evaluate(STILL, name)
            room_below = page.evaluate(
                "() => document.documentElement.scrollHeight - window.scrollY - window.innerHeight"
            )
            dy = -240 if room_below > 300 else 240  # finger up: the page scrolls down
            ranges = js_model(page, name, "[m.x_range.start, m.x_range.end]")
            swipe(page, left + w / 2, top + h / 2, dy)
            # the plot moved on the screen with the finger (scroll anchoring keeps it
            # still if content above changes size meanwhile: this measures the scroll)
            moved = f"([name, top]) => Math.abs(({RECT})(name)[1] - top) >= 100"
            try:
                page.wait_for_function(moved, arg=[name, top], timeout=20_000)
            except Exception:
                where = page.evaluate(RECT, name), page.evaluate("() => window.scrollY")
                pytest.fail(f"{name}: swiped {dy} from top {top}, now {where} (rect, scrollY)")
            if name != "live_plot":  # the live plot's range follows the data by itself
                assert js_model(page, name, "[m.x_range.start, m.x_range.end]") == ranges, name
        assert page.errors == []
    finally:
        page.context.close()


def local(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, PARIS).strftime("%a %d %b %H:%M")


def test_the_alerts_firing_are_highlighted_and_the_days_events_listed_in_local_time(stack):
    page = open_page(stack, 390)  # on a phone
    try:
        kettle_fired, kettle_resolved, standby = stack["alerts"]
        active = page.locator(".alerts .active li")
        assert active.count() == 1
        text = active.inner_text()
        # since 2 h 10 min when the stack started: the page's clock has moved on since
        assert re.match(
            rf"night-standby firing since {local(standby.since)} \(2\.[2-9] h\): ", text
        )
        assert text.endswith("total 212 W, above 150 W for 10 min")
        assert active.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(255, 240, 240)"
        box = active.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390 - EDGE_PX  # wrapped, not cut
        recent = page.locator(".alerts .recent li").all_inner_texts()
        assert recent == [
            f"{local(e.ts)} {e.alert} {e.state}: {e.text}"
            for e in (standby, kettle_resolved, kettle_fired)
        ]
        assert page.errors == []
    finally:
        page.context.close()


def test_the_stale_banner_appears_and_the_numbers_grey_when_the_daemon_stops(stack, page):
    assert not js_model(page, "banner", "m.visible")
    assert stack["daemon"].stop() == 0
    page.wait_for_function("() => Bokeh.documents[0].get_model_by_name('banner').visible")
    banner = page.locator(".banner")
    banner.wait_for(state="visible")
    assert banner.inner_text().startswith("No data from the monitor for")
    page.locator(".numbers.stale").wait_for(state="visible")
    assert "no data for" in page.locator(".numbers.stale .status").inner_text()
    assert page.errors == []
