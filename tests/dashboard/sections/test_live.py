"""The live section: numbers, gauge and the live plot, streamed; greyed when stale."""

from __future__ import annotations

import time

import pytest

from corcypower.dashboard import cards
from corcypower.energy.zone import local_ms
from tests.dashboard.helpers import batch, build_page

NOW = int(time.time() * 1000)


@pytest.fixture
def page(tmp_path):
    # stale after a minute: a page built slowly on a loaded machine is still fresh
    news = [batch(NOW - 1000 + k * 500) for k in range(3)]
    return build_page(tmp_path / "none.db", news, dashboard={"stale_seconds": 60})


def test_the_live_source_is_named_live_with_ts_in_ms_utc(page):
    live = page.doc.get_model_by_name("live")
    assert live.data["ts"] == [NOW - 1000, NOW - 500, NOW]
    assert live.data["x"][0] == local_ms(NOW - 1000, page.tz)
    assert live.data["w_main"] == [500.0] * 3


def numbers(page) -> str:
    """The numbers as the page shows them: the Div's text, updated in parts."""
    parts = page.doc.get_model_by_name("numbers_parts").data
    return cards.numbers_html([], "") if not parts["html"] else "".join(parts["html"])


def test_big_numbers_and_gauge_show_the_latest_batch(page):
    div = page.doc.get_model_by_name("numbers").text
    assert '<div class="big">500 W</div>' in div and '<div class="status">last batch ' in div
    parts = page.doc.get_model_by_name("numbers_parts").data
    assert parts["part"] == ["class", "card", "card", "card", "card", "status"]
    assert '<div class="big">500 W</div>' in parts["html"][1]
    assert parts["html"][-1].startswith("last batch ") and parts["html"][-1].endswith(
        ("CET", "CEST")
    )
    assert parts["label"][0] == "500 W import"  # the gauge's needle: the first row


def test_new_numbers_travel_in_parts_not_as_a_new_div(page):
    div = page.doc.get_model_by_name("numbers")
    before = div.text
    page.on_batches([batch(NOW + 500, main_w=1234.0)])
    assert div.text == before
    assert '<div class="big">1234 W</div>' in numbers(page)


def test_new_batches_stream_in_with_a_rollover(page):
    live = page.section("live_section")
    for k in range(live.rollover + 10):
        page.on_batches([batch(NOW + 500 * (k + 1), main_w=float(k))])
    ts = live.live.data["ts"]
    assert len(ts) == live.rollover
    assert ts[-1] == NOW + 500 * (live.rollover + 10)
    assert live.rollover * 500 >= 600_000  # ten minutes of 0.5 s batches


def test_stale_numbers_are_greyed_with_their_age_until_data_comes_back(page):
    page.app.poller.last_arrival = time.monotonic() - 180
    page.tick()
    page.tick()
    assert numbers(page).startswith("numbers stale")
    assert "no data for 3 min · last batch" in numbers(page)
    assert numbers(page).count("no data for") == 1
    assert '<div class="big">500 W</div>' in numbers(page)  # the last value, greyed
    page.on_batches([batch(NOW + 500)])
    assert numbers(page).startswith("numbers<")


def test_a_page_opened_before_any_batch_shows_dashes(tmp_path):
    page = build_page(tmp_path / "none.db")
    page.app.poller.last_arrival = None
    page.tick()
    assert "stale" not in numbers(page)
