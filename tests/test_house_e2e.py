"""The whole house end to end: three devices, one dashboard, a real MariaDB, headless Chromium.

Two panels and a garage, each `corcypower run` on its own emulated chip with its own config
and power.db, given a month of history first by `corcypower simulate` (seeded), all exporting
to a MariaDB started here. The first panel's `corcypower dashboard` follows the other two
(`[dashboard] devices`): its house view shows every device's channels live and each device's
month, equal to what the device's own history API answers; the garage stopped, it is offline
(not 0 W) and the house total partial. Then `central_mysql = true`: the house history read
from MariaDB, filled by the exporters' own upserts (the last hours only: a month of minutes
through the upsert path takes this machine many minutes, see docs/mysql.md#sizing), and a
second dashboard drawing every device's energy per day and yesterday's top in Chromium.
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
import tomlkit

from tests.dashboard.browser import (
    DESKTOP_WIDTH,
    PHONE_WIDTHS,
    drawn_when,
    launch,
    new_tab,
    require_browser,
)
from tests.dashboard.helpers import CHANNELS, free_port, until
from tests.dashboard.processes import Process, corcypower
from tests.export.mariadb import PASSWORD, USER
from tests.helpers import skip_unless

DAY_MS = 86_400_000
EXPORTED_H = 3  # hours of minutes the exporters send at start (the rest is marked as sent)
# (name, seed, channels): the garage has one CT
DEVICES = (
    ("panel-a", 1, CHANNELS),
    ("panel-b", 2, CHANNELS),
    ("garage", 3, CHANNELS[:2]),
)
MODEL = "(name) => Bokeh.documents[0].get_model_by_name(name)"
# the page once the house view and the rest have been drawn
DRAWN = drawn_when(
    "text('house_note').includes('points') && text('history_note').includes('points')"
)
WHY_NOT_DRAWN = """() => { const d = Bokeh.documents[0]; if (d == null) return "no document";
  const text = (n) => (d.get_model_by_name(n) || {text: "(none)"}).text;
  const views = [...d.roots()].map(r => Bokeh.index.find_one(r)).filter(v => v != null);
  const live = d.get_model_by_name('live');  // the live plot's, once the rest has come
  return {idle: d.is_idle, live: live == null ? null : live.data.ts.length,
    house: text('house_note'), history: text('history_note'),
    unfinished: views.filter(v => !v.has_finished()).map(v => v.model.name)} }"""
LIVE_SPAN = """(ms) => { const ts = Bokeh.documents[0].get_model_by_name('live').data.ts;
  return ts.length > 1 && ts[ts.length - 1] - ts[0] >= ms }"""
# the central database's days drawn (the exporters sent hours of today, maybe of yesterday too)
ENERGY_BARS = """() => { const d = Bokeh.documents[0]; const s = d.get_model_by_name('house_energy');
  return s != null && s.data.day.length > 0 && d.get_model_by_name('house_top').text.includes('yesterday') }"""
HOUSE_LINES = """(days) => { const s = Bokeh.documents[0].get_model_by_name('house_history').data;
  return s.name.length == 3 && s.xs.every(x => x.length > 0 && x[x.length - 1] - x[0] > days * 86400000) }"""


def device_config(tmp: Path, name: str, seed: int, channels, db) -> tuple[Path, int]:
    """A device's config.toml (and a 10 s-batch twin for `simulate`); (path, api port)."""
    home = tmp / name
    home.mkdir()
    (home / "mysql-password").write_text(PASSWORD + "\n")
    (home / "mysql-password").chmod(0o600)
    port = free_port()
    data = {
        "adc": {"chip": "emulated", "sample_rate_hz": 2000},
        "emulator": {"chip": "mcp3208", "seed": seed},
        "store": {"path": str(home / "power.db"), "commit_seconds": 2},
        "api": {"port": port},
        "dashboard": {"grid_channels": ["main"], "timezone": "UTC", "stale_seconds": 3.0},
        "export": {
            "mysql": {
                "host": db.host,
                "port": db.port,
                "database": "house",
                "user": USER,
                "password_file": "mysql-password",
                "point": name,
                "interval_seconds": 1,
                "connect_timeout_seconds": 5,
                "read_timeout_seconds": 60,
                "write_timeout_seconds": 60,
            }
        },
        "channels": channels,
    }
    path = home / "config.toml"
    path.write_text(tomlkit.dumps(data))
    path.chmod(0o600)
    data["adc"]["batch_seconds"] = 10  # a month of 10 s batches: seconds to simulate, not hours
    (home / "simulate.toml").write_text(tomlkit.dumps(data))
    return path, port


def finish(process: Process, seconds: float = 300.0) -> str:
    """Wait for a command to end; its output, and a failure if it did not succeed."""
    assert process.proc.wait(seconds) == 0, process.output
    until(lambda: process.closed, 10)
    return process.output


def get_json(url: str):
    with urllib.request.urlopen(url, timeout=60) as answer:
        return json.loads(answer.read())


@pytest.fixture(scope="module")
def house(tmp_path_factory):
    require_browser()
    skip_unless(
        __import__("importlib").util.find_spec("pymysql") is not None,
        "PyMySQL is not installed (pip install -e '.[mysql]')",
    )
    from tests.export.mariadb import MariaDB, available

    skip_unless(available(), "mariadbd is not installed (apt-get install mariadb-server)")
    from playwright.sync_api import sync_playwright

    tmp = tmp_path_factory.mktemp("house")
    t0 = time.monotonic()
    step = lambda what: print(f"{time.monotonic() - t0:6.1f} s {what}")  # noqa: E731
    db = MariaDB(tmp / "mariadb").start()
    running: list[Process] = []
    try:
        db.create_database("house")
        configs = {n: device_config(tmp, n, s, ch, db) for n, s, ch in DEVICES}
        urls = {n: f"http://127.0.0.1:{port}" for n, (_, port) in configs.items()}
        page_port = free_port()
        first = configs["panel-a"][0]
        data = tomlkit.parse(first.read_text())
        data["dashboard"] |= {"port": page_port, "devices": [urls["panel-b"], urls["garage"]]}
        first.write_text(tomlkit.dumps(data))
        # a month of history each, in parallel, and the central tables
        sims = [
            corcypower("simulate", "--config", str(p.parent / "simulate.toml"), "--days", "30")
            for p, _ in configs.values()
        ]
        finish(corcypower("mysql", "init", "--config", str(first)))
        step("mysql init")
        for sim in sims:
            finish(sim)
        step("simulated")
        # the exporters send the last hours only: the month before is marked as sent
        since = datetime.fromtimestamp(time.time() - EXPORTED_H * 3600, UTC).isoformat()
        for p, _ in configs.values():
            finish(corcypower("mysql", "resend", "--config", str(p), "--since", since))
        daemons = {n: corcypower("run", "--config", str(p)) for n, (p, _) in configs.items()}
        running += daemons.values()
        dashboard = corcypower("dashboard", "--config", str(first))
        running.append(dashboard)
        url = dashboard.wait_for(r"CorcyPower dashboard: (http://\S+)", 120).group(1)
        for daemon in daemons.values():
            daemon.wait_for("sampling", 120)
        step("running")
        with sync_playwright() as playwright:
            browser = launch(playwright)
            try:
                yield {
                    "browser": browser,
                    "url": url,
                    "db": db,
                    "configs": configs,
                    "urls": urls,
                    "daemons": daemons,
                }
            finally:
                browser.close()
    finally:
        for process in running:
            process.stop()
        db.remove()


def open_page(house, width: int, url: str | None = None):
    page = new_tab(house["browser"], width, url or house["url"])
    try:
        page.wait_for_function(DRAWN)
    except Exception as exc:
        parts = page.evaluate(WHY_NOT_DRAWN)
        pytest.fail(f"the house page at {width} px was not drawn ({exc}): {parts}")
    return page


@pytest.fixture(scope="module")
def page(house):
    page = open_page(house, DESKTOP_WIDTH)
    yield page
    page.context.close()


def tap(page, label: str) -> None:
    """Tap one of the house view's range buttons (day, week, month: the history's have an
    hour, the energy's a year)."""
    groups = page.locator(".bk-btn-group").filter(has_not_text="hour").filter(has_not_text="year")
    groups.get_by_role("button", name=label).click()


def watts(page) -> dict[tuple[str, str], str]:
    """(device, channel) → the live W the house cards show."""
    rows = page.locator(".house .card.device .row")
    return {
        (r.evaluate("e => e.closest('.card').dataset.device"), r.get_attribute("data-channel")): (
            r.get_attribute("data-w")
        )
        for r in rows.all()
    }


def test_every_devices_channels_are_shown_live_and_change(page):
    page.locator('.house .card.total[data-devices="3"]').wait_for()
    first = watts(page)
    expected = {(n, c["name"]) for n, _, chs in DEVICES for c in chs if c["kind"] == "current"}
    assert set(first) == expected
    assert all(w not in ("", None) for w in first.values())
    # every channel's number moves with the device's batches (the emulated house is noisy)
    changed = set()
    deadline = time.monotonic() + 120
    while changed != expected and time.monotonic() < deadline:
        page.wait_for_timeout(500)  # the browser's next redraws, not a wait for the daemons
        now = watts(page)
        changed |= {k for k in expected if now.get(k) not in (None, first[k])}
    assert changed == expected
    assert page.locator(".house .card.total .small").inner_text() == "3 of 3 devices"
    assert page.errors == []


def test_a_month_of_each_device_equals_its_own_history_api(page, house):
    tap(page, "month")
    page.wait_for_function(HOUSE_LINES, arg=29)
    shown = page.evaluate(
        "() => { const s = Bokeh.documents[0].get_model_by_name('house_history').data;"
        " return {name: s.name, xs: s.xs.map(a => Array.from(a)), ys: s.ys.map(a => Array.from(a))} }"
    )
    assert sorted(shown["name"]) == ["garage", "panel-a", "panel-b"]
    start, end = page.evaluate(
        "() => { const r = Bokeh.documents[0].get_model_by_name('house_plot').x_range; return [r.start, r.end] }"
    )  # UTC: the configs' time zone, so x is ts
    for name, xs, ys in zip(shown["name"], shown["xs"], shown["ys"], strict=True):
        doc = get_json(
            f"{house['urls'][name]}/api/v1/history?channel=main&start={int(start)}&end={int(end)}&points=1000"
        )
        (series,) = doc["series"]
        theirs = dict(zip(series["ts"], series["mean"], strict=True))
        ours = {x: y for x, y in zip(xs, ys, strict=True) if y is not None and np.isfinite(y)}
        common = sorted(set(theirs) & set(ours))[:-2]  # the newest buckets are still filling
        assert len(common) > 0.9 * len(theirs) - 2, name
        assert ours[common[0]] <= start + DAY_MS  # a month back
        assert [ours[t] for t in common] == pytest.approx([theirs[t] for t in common], abs=1e-3)
    assert page.errors == []


@pytest.mark.parametrize("width", [*PHONE_WIDTHS, DESKTOP_WIDTH])
def test_the_house_view_fits_phones_and_the_desktop(house, width):
    from tests.dashboard.test_browser import FITS, layout_problems

    page = open_page(house, width)
    try:
        page.wait_for_function(HOUSE_LINES, arg=0.5)
        # the daemons started moments ago: a live plot of a few seconds ticks every 2 s, and
        # its labels, 52 px wide, touch on a phone (noted in the issue); measure it as a
        # user sees it after the first minute
        page.wait_for_function(LIVE_SPAN, arg=60_000)
        assert layout_problems(page) | {"texts": 0} == FITS
        tap(page, "month")
        try:
            page.wait_for_function(HOUSE_LINES, arg=29)
        except Exception:
            pytest.fail(f"no month at {width} px: {page.evaluate(WHY_NOT_DRAWN)}")
        assert layout_problems(page) | {"texts": 0} == FITS
        assert page.errors == []
    finally:
        page.context.close()


def test_the_central_database_gives_the_house_history(house):
    """central_mysql = true: every point exporting there, from MariaDB, equal to the minutes
    each device's power.db holds (read with the sqlite3 shell)."""
    from bokeh.document import Document

    from corcypower import settings
    from corcypower.dashboard.app import Dashboard
    from corcypower.dashboard.page import make_document
    from corcypower.dashboard.poller import LivePoller

    db = house["db"]
    newest = "SELECT Point, MAX(TimeStamp) FROM ChannelMinute GROUP BY Point"
    fresh = lambda: len(db.query("house", newest)) == 3  # noqa: E731
    assert until(fresh, 120)
    path = house["configs"]["panel-a"][0]
    config = settings.load(path)
    config.values["dashboard.central_mysql"] = True
    poller = LivePoller(house["urls"]["panel-a"], 600_000)
    dashboard = Dashboard(config, poller=poller, threads=0)
    try:
        section = make_document(Document(), dashboard).section("house_section")
        data = section.source.data
        assert list(data["name"]) == ["garage", "panel-a", "panel-b"]
        for name, ys, xs in zip(data["name"], data["ys"], data["xs"], strict=True):
            ours = {x: y for x, y in zip(xs, ys, strict=True) if np.isfinite(y)}
            assert len(ours) >= EXPORTED_H * 30 - 5, name  # 2-minute buckets of the last hours
            bucket = sorted(ours)[len(ours) // 2]  # one from the middle: whole, exported
            power_db = Path(house["configs"][name][0]).parent / "power.db"
            sql = (
                "SELECT (sum(import_wh) - sum(export_wh)) * 3600000.0 / sum(duration_ms) "
                "FROM energy_minute "
                f"WHERE channel = 'main' AND ts >= {bucket:.0f} AND ts < {bucket + 120_000:.0f}"
            )
            shell = subprocess.run(
                ["sqlite3", "-readonly", str(power_db), sql], capture_output=True, text=True
            )
            assert ours[bucket] == pytest.approx(float(shell.stdout), rel=1e-6), name
    finally:
        dashboard.stop()


@pytest.fixture(scope="module")
def central_url(house):
    """A second dashboard of panel-a, its house view read from MariaDB (central_mysql = true)."""
    path = house["configs"]["panel-a"][0]
    data = tomlkit.parse(path.read_text())
    data["dashboard"] |= {"port": free_port(), "devices": [], "central_mysql": True}
    central = path.parent / "central.toml"  # beside it: the same relative paths
    central.write_text(tomlkit.dumps(data))
    process = corcypower("dashboard", "--config", str(central))
    try:
        yield process.wait_for(r"CorcyPower dashboard: (http://\S+)", 120).group(1)
    finally:
        process.stop()


@pytest.mark.parametrize("width", [PHONE_WIDTHS[0], DESKTOP_WIDTH])
def test_the_central_databases_energy_and_top_fit_phones_and_the_desktop(house, central_url, width):
    """Every device's days and yesterday's top, from MariaDB, drawn in Chromium and laid out
    as the rest of the page is (the history is test_the_central_database_gives_...'s)."""
    from tests.dashboard.test_browser import FITS, layout_problems

    page = open_page(house, width, central_url)
    try:
        page.wait_for_function(ENERGY_BARS)
        days = page.evaluate(f"() => ({MODEL})('house_energy').data.points")
        assert max(days) == 3  # every device exported today
        page.wait_for_function(LIVE_SPAN, arg=60_000)  # as the other layout test measures
        assert layout_problems(page) | {"texts": 0} == FITS
        assert page.errors == []
    finally:
        page.context.close()


def test_a_stopped_device_is_offline_and_the_total_partial(page, house):
    assert house["daemons"]["garage"].stop() == 0
    garage = page.locator('.house .card.device[data-device="garage"][data-online="false"]')
    garage.wait_for()
    text = garage.inner_text()
    assert "offline" in text and "since" in text and " W" not in text
    total = page.locator(".house .card.total")
    assert total.get_attribute("data-devices") == "2" and total.get_attribute("data-of") == "3"
    assert total.locator(".small").inner_text() == "partial: 2 of 3 devices"
    assert "partial" in total.get_attribute("class")
    assert page.errors == []
