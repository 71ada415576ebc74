"""The live section: numbers, gauge and the live plot, streamed; greyed when stale."""

from __future__ import annotations

import time

import pytest

from corcypower.energy.zone import local_ms
from tests.dashboard.helpers import batch, build_page

NOW = int(time.time() * 1000)


@pytest.fixture
def page(tmp_path):
    return build_page(tmp_path / "none.db", [batch(NOW - 1000 + k * 500) for k in range(3)])


def test_the_live_source_is_named_live_with_ts_in_ms_utc(page):
    live = page.doc.get_model_by_name("live")
    assert live.data["ts"] == [NOW - 1000, NOW - 500, NOW]
    assert live.data["x"][0] == local_ms(NOW - 1000, page.tz)
    assert live.data["w_main"] == [500.0] * 3


def test_big_numbers_and_gauge_show_the_latest_batch(page):
    numbers = page.doc.get_model_by_name("numbers").text
    assert '<div class="big">500 W</div>' in numbers
    assert page.doc.get_model_by_name("gauge_needle").data["label"] == ["500 W import"]
    assert '<div class="status">last batch ' in numbers
    assert numbers.endswith(("CET</div></div>", "CEST</div></div>"))


def test_new_batches_stream_in_with_a_rollover(page):
    live = page.section("live_section")
    for k in range(live.rollover + 10):
        page.on_batches([batch(NOW + 500 * (k + 1), main_w=float(k))])
    ts = live.live.data["ts"]
    assert len(ts) == live.rollover
    assert ts[-1] == NOW + 500 * (live.rollover + 10)
    assert live.rollover * 500 >= 600_000  # ten minutes of 0.5 s batches


def test_stale_numbers_are_greyed_with_their_age_until_data_comes_back(page):
    numbers = page.doc.get_model_by_name("numbers")
    page.app.poller.last_arrival = time.monotonic() - 180
    page.tick()
    assert '<div class="numbers stale">' in numbers.text
    assert "no data for 3 min · last batch" in numbers.text
    assert '<div class="big">500 W</div>' in numbers.text  # the last value, greyed
    page.on_batches([batch(NOW + 500)])
    assert '<div class="numbers">' in numbers.text


def test_a_page_opened_before_any_batch_shows_dashes(tmp_path):
    page = build_page(tmp_path / "none.db")
    page.app.poller.last_arrival = None
    page.tick()
    assert "stale" not in page.doc.get_model_by_name("numbers").text
