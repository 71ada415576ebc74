"""The page's text: big numbers with import/export colours, health, the stale banner."""

from __future__ import annotations

from corcypower.dashboard import cards, data
from tests.dashboard.helpers import batch, config


def test_numbers_show_watts_amps_volts_pf_and_the_direction():
    view = data.View.from_config(config())
    html = cards.numbers_html(data.readings(view, batch(1000, 1500.0, -800.0)))
    assert html.count('class="card ') == 4  # total, mains_v, main, solar
    assert '<div class="name">main</div><div class="big">1500 W</div>' in html
    assert "7.25 A · 230.0 V<br>PF 0.90 · import" in html
    assert (
        'class="card current export"><div class="name">solar</div><div class="big">-800 W</div>'
        in html
    )
    assert '<div class="big">230.0 V</div><div class="small">50.00 Hz<br>&nbsp;</div>' in html


def test_import_and_export_have_their_own_colours():
    assert cards.direction(500.0) == "import" and cards.direction(-500.0) == "export"
    assert cards.direction(0.2) == "" and cards.direction(float("nan")) == ""
    assert f".import .big {{ color: {cards.IMPORT_COLOR}; }}" in cards.STYLE
    assert cards.IMPORT_COLOR != cards.EXPORT_COLOR


def test_watts_read_well():
    assert cards.watts_text(-0.2) == "0 W"
    assert cards.watts_text(12_345.0) == "12.35 kW"
    assert cards.watts_text(None) == "–"


def test_health_shows_the_adc_diagnostics_and_what_a_flag_means():
    html = cards.health_html(batch(1000, flags=3), "http://127.0.0.1:8070")
    assert (
        "<td>main</td><td>1000</td><td>2047.5</td><td>2000</td><td>2100</td><td>30.00</td>" in html
    )
    assert (
        "clipped: the signal exceeds the ADC&#x27;s range; flat: no signal (disconnected?)" in html
    )
    assert "No batch yet from http://127.0.0.1:8070" in cards.health_html(
        None, "http://127.0.0.1:8070"
    )


def test_the_banner_says_how_long_and_why():
    assert cards.banner_text(1.0, 5.0, None, "http://x") == ""
    stale = cards.banner_text(12.4, 5.0, "connection refused", "http://x")
    assert stale.startswith("No data from the monitor for 12.4 s")
    assert "(connection refused)" in stale
    assert cards.banner_text(None, 5.0, None, "http://x").startswith("No data from the monitor yet")


def test_stale_numbers_are_greyed():
    view = data.View.from_config(config())
    html = cards.numbers_html(data.readings(view, batch(1000)), "no data for 3 min", stale=True)
    assert html.startswith('<div class="numbers stale">')
    assert ".stale .card" in cards.STYLE
