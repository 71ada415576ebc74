"""The energy totals as HTML: every figure findable, a credit said so, circuits ranked."""

from __future__ import annotations

from corcypower.dashboard import summary
from corcypower.energy.report import percent

TOTALS = {
    "consumption_kwh": 312.44,
    "grid_import_kwh": 250.1,
    "grid_export_kwh": 40.2,
    "solar_kwh": 102.5,
    "self_consumed_kwh": 62.3,
    "self_consumption": 0.6078,
    "self_sufficiency": 0.1994,
    "circuits_kwh": {"fridge": 30.21, "oven": 45.0},
    "untracked_kwh": 237.23,
    "by_price": [
        {"name": "standard", "kwh": 70.1, "price": 0.18, "cost": 12.618},
        {"name": "peak", "kwh": 180.0, "price": 0.3, "cost": 54.0},
    ],
    "energy_cost": 66.618,
    "standing_days": 30.0,
    "standing_charge": 13.5,
    "export_credit": 3.216,
    "cost": 76.902,
    "currency": "EUR",
    "priced": True,
    "measured_h": 719.6,
    "hours": 720.0,
}


def figure(html: str, key: str) -> str:
    start = html.index(f'<span data-figure="{key}">') + len(f'<span data-figure="{key}">')
    return html[start : html.index("</span>", start)]


def test_every_total_is_a_figure_the_page_can_be_read_by():
    html = summary.summary_html(TOTALS, "November 2026", solar=True, circuits=True)
    assert figure(html, "consumption_kwh") == "312.4 kWh"
    assert figure(html, "cost") == "76.90 EUR"
    assert figure(html, "grid_import_kwh") == "250.1 kWh"
    assert figure(html, "grid_export_kwh") == "40.20 kWh"
    assert figure(html, "self_consumed_kwh") == "62.30 kWh"
    assert figure(html, "self_consumption") == "61 %"
    assert figure(html, "self_sufficiency") == "20 %"
    assert figure(html, "circuit_oven") == "45.00 kWh"
    assert "<b>November 2026</b> · measured 720 of 720 h" in html


def test_circuits_are_ranked_the_largest_first_then_untracked():
    html = summary.circuits_html(TOTALS)
    assert html.index('data-circuit="oven"') < html.index('data-circuit="fridge"')
    assert html.index('data-circuit="fridge"') < html.index('data-circuit="untracked"')


def test_the_cost_is_shown_line_by_line_and_a_credit_is_called_one():
    html = summary.cost_html(TOTALS)
    assert "<td>peak</td><td>180.0 kWh × 0.3000</td><td>54.00</td>" in html
    assert "<td>standing charge</td><td>30.00 days</td><td>13.50</td>" in html
    assert "<td>export credit</td><td>40.20 kWh</td><td>−3.22</td>" in html
    credit = summary.summary_html(TOTALS | {"cost": -3.2}, "x", solar=True, circuits=False)
    assert figure(credit, "cost") == "3.20 EUR credit"


def test_without_solar_circuits_or_prices_there_is_less_to_say():
    free = TOTALS | {"priced": False}
    html = summary.summary_html(free, "x", solar=False, circuits=False)
    assert "Solar" not in html and "circuit" not in html and "Cost" not in html


def test_nothing_is_never_negative():
    assert summary.kwh(-0.001) == "0.00 kWh" and summary.kwh(123.45) == "123.5 kWh"
    assert percent(-0.001) == "0 %" and percent(None) == "–"
