"""Three questions, three taps or fewer, on a phone: the numbers on the page are those the
sqlite3 shell sums over the same period of the same power.db.

The household is `simulate`d (seeded: the same every run) with circuits on their own
channels, around a fixed now, Wednesday 18 November 2026 15:00 in Paris: the end of October
(last month) and this week up to now. The dashboard runs in this process with that clock.
"""

from __future__ import annotations

import os
import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from corcypower.clock import FakeClock
from corcypower.store.database import Database
from corcypower.store.simulate import simulate
from tests.dashboard.browser import DRAWN, context, launch, require_browser
from tests.dashboard.helpers import CIRCUITS, HOUSE, config, free_port
from tests.dashboard.served import Served
from tests.live.helpers import stats
from tests.store.conftest import sqlite3_shell

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 11, 18, 15, 0, tzinfo=PARIS)
TAPS = 3
SECTIONS = HOUSE | {"adc": {"chip": "emulated", "batch_seconds": 10.0}}  # 10 s: quick days


def ms(when: datetime) -> int:
    return round(when.timestamp() * 1000)


def midnight(day: date) -> int:
    return ms(datetime.combine(day, datetime.min.time(), PARIS))


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    require_browser()
    path = tmp_path_factory.mktemp("paths") / "power.db"
    cfg = config(path, **SECTIONS)
    with Database(path) as db:  # the last days of October and this week, up to now
        simulate(db, cfg, days=2.5, end_ms=ms(datetime(2026, 11, 1, 12, tzinfo=PARIS)))
        simulate(db, cfg, days=2.625, end_ms=ms(NOW))
    served = Served(path, free_port(), clock=FakeClock(wall_ms=ms(NOW)), **SECTIONS)
    served.ring.add(ms(NOW), 500, stats(watts=321.0))
    yield served
    served.close()


@pytest.fixture(scope="module")
def browser(served):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch(playwright)
        yield browser
        browser.close()


class Phone:
    """A fresh page on a 390 px phone that counts the taps it takes."""

    def __init__(self, browser, url: str):
        self.page = context(browser, 390).new_page()
        self.page.goto(url)
        self.page.wait_for_function(DRAWN)
        self.taps = 0

    def tap(self, name: str) -> None:
        """Tap the button labelled `name` in the energy section; wait for what it shows."""
        before = self.summary()
        self.page.locator(".bk-btn").filter(has_text=re.compile(f"^{re.escape(name)}$")).first.tap()
        self.taps += 1
        self.page.wait_for_function(
            "(before) => Bokeh.documents[0].get_model_by_name('energy_summary').text != before",
            arg=before,
        )

    def summary(self) -> str:
        return self.page.evaluate(
            "() => Bokeh.documents[0].get_model_by_name('energy_summary').text"
        )

    def figure(self, key: str) -> float:
        """A number of the summary as shown on the screen (its text, parsed)."""
        text = self.page.locator(f"[data-figure='{key}']").first.inner_text()
        value = float(re.match(r"-?[\d.]+", text.replace("−", "-")).group())
        return -value if text.endswith("credit") else value

    def close(self):
        self.page.context.close()


def shell(db_path, sql: str) -> list[list[str]]:
    """Rows from the sqlite3 shell, with the house's local time zone, as a user would run it."""
    out = sqlite3_shell(db_path, sql, env=os.environ | {"TZ": "Europe/Paris"})
    return [line.split("|") for line in out.splitlines()]


def sums(start: int, end: int) -> str:
    """Per channel: import and export kWh over [start, end) from the minute rollups."""
    return f"""SELECT c.name, sum(r.import_wh) / 1000, sum(r.export_wh) / 1000 FROM rollup_1m r
               JOIN channel c ON c.id = r.channel_id
               WHERE r.ts >= {start} AND r.ts < {end} AND c.kind = 'current' GROUP BY c.name"""


def test_how_much_did_i_use_last_month_and_what_did_it_cost(served, browser):
    phone = Phone(browser, served.url)
    try:
        phone.tap("month")
        phone.tap("◀")
        assert "October 2026" in phone.summary() and phone.taps <= TAPS
        used, cost = phone.figure("consumption_kwh"), phone.figure("cost")
    finally:
        phone.close()
    start, end = midnight(date(2026, 10, 1)), midnight(date(2026, 11, 1))
    kwh = {
        name: (float(i), float(e)) for name, i, e in shell(served.config.db_path, sums(start, end))
    }
    expected_use = kwh["main"][0] - kwh["main"][1] + kwh["solar"][1] - kwh["solar"][0]
    # each minute's import at its price: peak 07:00-23:00 on weekdays, local time
    (priced,) = shell(
        served.config.db_path,
        f"""SELECT sum(r.import_wh / 1000 * CASE
                   WHEN strftime('%w', r.ts / 1000, 'unixepoch', 'localtime') BETWEEN '1' AND '5'
                    AND strftime('%H:%M', r.ts / 1000, 'unixepoch', 'localtime') >= '07:00'
                    AND strftime('%H:%M', r.ts / 1000, 'unixepoch', 'localtime') < '23:00'
                   THEN 0.30 ELSE 0.18 END)
            FROM rollup_1m r JOIN channel c ON c.id = r.channel_id
            WHERE c.name = 'main' AND r.ts >= {start} AND r.ts < {end}""",
    )
    expected_cost = float(priced[0]) + 31 * 0.45 - kwh["main"][1] * 0.08
    assert expected_use > 5.0  # two days of October were simulated
    assert used == pytest.approx(expected_use, abs=0.005 + 1e-9)
    assert cost == pytest.approx(expected_cost, abs=0.005 + 1e-9)


def test_which_circuit_used_most_yesterday(served, browser):
    phone = Phone(browser, served.url)
    try:
        phone.tap("◀")  # the page opens on today
        assert "Tue 17 Nov 2026" in phone.summary() and phone.taps <= TAPS
        first = phone.page.locator("table.circuits tr[data-circuit]").first
        name = first.get_attribute("data-circuit")
        shown = phone.figure(f"circuit_{name}")
    finally:
        phone.close()
    yesterday = date(2026, 11, 17)
    rows = shell(
        served.config.db_path, sums(midnight(yesterday), midnight(yesterday + timedelta(days=1)))
    )
    used = {n: float(i) - float(e) for n, i, e in rows if n in CIRCUITS}
    most = max(used, key=used.get)
    assert used[most] > 0.5
    assert name == most
    assert shown == pytest.approx(used[most], abs=0.005 + 1e-9)


def test_how_much_of_my_solar_did_i_use_myself_this_week(served, browser):
    phone = Phone(browser, served.url)
    try:
        phone.tap("week")
        assert "week 47" in phone.summary() and phone.taps <= TAPS
        self_used, share = phone.figure("self_consumed_kwh"), phone.figure("self_consumption")
    finally:
        phone.close()
    monday = date(2026, 11, 16)
    rows = shell(
        served.config.db_path, sums(midnight(monday), midnight(monday + timedelta(days=7)))
    )
    kwh = {name: (float(i), float(e)) for name, i, e in rows}
    produced = kwh["solar"][1] - kwh["solar"][0]
    expected = produced - kwh["main"][1]
    assert expected > 1.0  # a sunny enough week for the question to matter
    assert self_used == pytest.approx(expected, abs=0.005 + 1e-9)
    assert share == pytest.approx(100 * expected / produced, abs=0.5 + 1e-9)
