"""The energy section's text: the totals of a period as HTML. Pure functions, no Bokeh.

The figures are energy.report.totals(), the same that `corcypower report` prints. Each number
carries data-figure="<key of totals()>" so tools (and the browser tests) can find it.
"""

from __future__ import annotations

from html import escape

from corcypower.energy.report import money, percent


def kwh(value: float) -> str:
    value = 0.0 if abs(value) < 0.005 else value  # no "-0.00"
    return f"{value:.1f} kWh" if abs(value) >= 100 else f"{value:.2f} kWh"


def _figure(key: str, text: str) -> str:
    return f'<span data-figure="{key}">{escape(text)}</span>'


def _card(name: str, key: str, text: str, small: str = "") -> str:
    small = f'<div class="small">{small}</div>' if small else ""
    return (
        f'<div class="card"><div class="name">{escape(name)}</div>'
        f'<div class="big">{_figure(key, text)}</div>{small}</div>'
    )


def summary_html(t: dict, title: str, solar: bool, circuits: bool) -> str:
    """Cards (used, cost, grid, solar), circuits ranked, and the cost line by line."""
    cur = t["currency"]
    cards = [_card("Used in the house", "consumption_kwh", kwh(t["consumption_kwh"]))]
    if t["priced"]:
        parts = [f"energy {t['energy_cost']:.2f}"]
        if t["standing_charge"]:
            parts.append(f"standing charge {t['standing_charge']:.2f}")
        if t["export_credit"]:
            parts.append(f"export credit −{t['export_credit']:.2f}")
        cards.append(_card("Cost", "cost", money(t["cost"], cur), " + ".join(parts)))
    cards.append(
        _card(
            "From the grid",
            "grid_import_kwh",
            kwh(t["grid_import_kwh"]),
            "to the grid " + _figure("grid_export_kwh", kwh(t["grid_export_kwh"])),
        )
    )
    if solar:
        small = (
            "used at home "
            + _figure("self_consumed_kwh", kwh(t["self_consumed_kwh"]))
            + f" ({_figure('self_consumption', percent(t['self_consumption']))} of it)"
            + " · self-sufficiency "
            + _figure("self_sufficiency", percent(t["self_sufficiency"]))
        )
        cards.append(_card("Solar produced", "solar_kwh", kwh(t["solar_kwh"]), small))
    measured = f"measured {t['measured_h']:.0f} of {t['hours']:.0f} h"
    html = (
        f'<div class="period"><b>{escape(title)}</b> · {measured}</div>'
        f'<div class="cards">{"".join(cards)}</div>'
    )
    if circuits:
        html += circuits_html(t)
    if t["priced"]:
        html += cost_html(t)
    return f'<div class="summary">{html}</div>'


def circuits_html(t: dict) -> str:
    """The circuits, the one that used most first, and what no circuit measured."""
    used = t["consumption_kwh"]
    ranked = sorted(t["circuits_kwh"].items(), key=lambda kv: -kv[1])
    rows = [(name, value) for name, value in ranked] + [("untracked", t["untracked_kwh"])]
    body = "".join(
        f'<tr data-circuit="{escape(name)}"><td>{escape(name)}</td>'
        f"<td>{_figure('circuit_' + name, kwh(value))}</td>"
        f"<td>{percent(value / used if used > 1e-9 else None)}</td></tr>"
        for name, value in rows
    )
    return (
        '<div class="scroll"><table class="circuits"><tr><th>circuit</th><th>used</th>'
        f"<th>share</th></tr>{body}</table></div>"
    )


def cost_html(t: dict) -> str:
    cur = escape(t["currency"])
    rows = [
        f"<tr><td>{escape(p['name'])}</td><td>{kwh(p['kwh'])} × {p['price']:.4f}</td>"
        f"<td>{p['cost']:.2f}</td></tr>"
        for p in t["by_price"]
    ]
    if t["standing_charge"]:
        rows.append(
            f"<tr><td>standing charge</td><td>{t['standing_days']:.2f} days</td>"
            f"<td>{t['standing_charge']:.2f}</td></tr>"
        )
    if t["export_credit"]:
        rows.append(
            f"<tr><td>export credit</td><td>{kwh(t['grid_export_kwh'])}</td>"
            f"<td>−{t['export_credit']:.2f}</td></tr>"
        )
    rows.append(
        f"<tr><th>total</th><th></th><th>{escape(money(t['cost'], t['currency']))}</th></tr>"
    )
    return (
        f'<div class="scroll"><table class="costs"><tr><th>cost</th><th></th><th>{cur}</th></tr>'
        f"{''.join(rows)}</table></div>"
    )
