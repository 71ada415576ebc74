"""An account as people and programs read it: totals, text, CSV and JSON.

`corcypower report` prints these, `corcypower export --energy` writes the CSV, and the
dashboard draws the same totals and offers the same CSV: one set of figures everywhere.
"""

from __future__ import annotations

import csv
import json
from datetime import datetime
from typing import TextIO

from corcypower.energy.account import Account
from corcypower.energy.zone import zone_name


def totals(a: Account) -> dict:
    """Every total of the account, plain numbers (kWh, the tariff's currency, shares 0..1)."""
    t = a.tariff
    return {
        "consumption_kwh": a.total(a.consumption),
        "grid_import_kwh": a.total(a.grid_import),
        "grid_export_kwh": a.total(a.grid_export),
        "solar_kwh": a.total(a.solar),
        "self_consumed_kwh": a.total(a.self_consumed),
        "self_consumption": a.ratio(a.self_consumed, a.solar),  # of the solar, used at home
        "self_sufficiency": a.ratio(a.self_consumed, a.consumption),  # of the use, from solar
        "circuits_kwh": {name: a.total(v) for name, v in a.circuits.items()},
        "untracked_kwh": a.total(a.untracked),
        "by_price": [
            {"name": name, "kwh": a.total(kwh), "price": price, "cost": a.total(kwh) * price}
            for name, kwh, price in zip(t.names, a.import_by_price, t.prices, strict=True)
            if a.total(kwh) > 0 or name != t.names[0] or not t.periods
        ],
        "energy_cost": a.total(a.energy_cost),
        "standing_days": a.total(a.standing_days),
        "standing_charge": a.total(a.standing_charge),
        "export_credit": a.total(a.export_credit),
        "cost": a.total(a.cost),
        "currency": t.currency,
        "priced": t.priced,
        "measured_h": a.total(a.measured_h),
        "hours": (a.edges[-1] - a.edges[0]) / 3_600_000,
    }


def money(value: float, currency: str) -> str:
    """-3.20 EUR is a credit: said so, not left as a bare minus sign."""
    if value < -0.005:
        return f"{-value:.2f} {currency} credit"
    return f"{abs(value):.2f} {currency}"


def percent(share: float | None) -> str:
    if share is None:
        return "–"
    return f"{100 * share:.0f} %" if abs(share) >= 0.005 else "0 %"  # no "-0 %"


def text(a: Account, title: str) -> str:
    """The report as text, to compare with a bill."""
    s = totals(a)
    cur = s["currency"]
    first, last = (_local(e, a) for e in (a.edges[0], a.edges[-1]))
    lines = [
        f"{title} ({zone_name(a.tariff.tz)}): {first:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M}",
        f"measured {s['measured_h']:.1f} h of {s['hours']:.0f} h",
        "",
        f"{'energy':<30}{'kWh':>12}",
        f"{'  used in the house':<30}{s['consumption_kwh']:>12.2f}",
        f"{'  from the grid':<30}{s['grid_import_kwh']:>12.2f}",
        f"{'  to the grid':<30}{s['grid_export_kwh']:>12.2f}",
    ]
    if a.wiring.solar:
        lines += [
            f"{'  solar produced':<30}{s['solar_kwh']:>12.2f}",
            f"{'  solar used in the house':<30}{s['self_consumed_kwh']:>12.2f}"
            f"  ({percent(s['self_consumption'])} of the solar)",
            f"{'  self-sufficiency':<30}{percent(s['self_sufficiency']):>12}"
            "  (of the use, from solar)",
        ]
    if a.wiring.circuits:
        lines += ["", f"{'by circuit':<30}{'kWh':>12}"]
        ranked = sorted(s["circuits_kwh"].items(), key=lambda kv: -kv[1])
        lines += [f"  {name:<28}{kwh:>12.2f}" for name, kwh in ranked]
        lines.append(f"{'  untracked':<30}{s['untracked_kwh']:>12.2f}")
    if s["priced"]:
        lines += ["", f"{'cost':<30}{'':>12}{cur:>14}"]
        for p in s["by_price"]:
            lines.append(
                f"  {p['name'] + ' import':<28}{p['kwh']:>12.2f} kWh × {p['price']:.4f}"
                f"{p['cost']:>10.2f}"
            )
        lines.append(
            f"{'  standing charge':<30}{s['standing_days']:>12.2f} days × "
            f"{a.tariff.standing_per_day:.4f}{s['standing_charge']:>9.2f}"
        )
        lines.append(
            f"{'  export credit':<30}{s['grid_export_kwh']:>12.2f} kWh × "
            f"{a.tariff.export_price:.4f}{-s['export_credit']:>10.2f}"
        )
        lines.append(f"{'  total':<30}{money(s['cost'], cur):>40}")
    return "\n".join(lines) + "\n"


def csv_header(a: Account) -> list[str]:
    return [
        "start",
        "end",
        "bar",
        "grid_import_kwh",
        "grid_export_kwh",
        "solar_kwh",
        "consumption_kwh",
        "self_consumed_kwh",
        *(f"circuit_{name}_kwh" for name in a.circuits),
        "untracked_kwh",
        *(f"import_{name}_kwh" for name in a.tariff.names),
        "energy_cost",
        "standing_charge",
        "export_credit",
        "cost",
        "measured_h",
    ]


def table(a: Account, total: bool = False) -> list[list]:
    """The rows under csv_header: one per bar, and a last `total` row if asked.

    Times are local ISO 8601 with their offset (unambiguous across daylight saving).
    """
    columns = [
        a.grid_import,
        a.grid_export,
        a.solar,
        a.consumption,
        a.self_consumed,
        *a.circuits.values(),
        a.untracked,
        *a.import_by_price,
        a.energy_cost,
        a.standing_charge,
        a.export_credit,
        a.cost,
        a.measured_h,
    ]
    rows = [
        [_iso(lo, a), _iso(hi, a), label, *(round(float(c[i]), 6) for c in columns)]
        for i, (lo, hi, label) in enumerate(zip(a.edges[:-1], a.edges[1:], a.labels, strict=True))
    ]
    if total:
        ends = (_iso(a.edges[0], a), _iso(a.edges[-1], a))
        rows.append([*ends, "total", *(round(float(sum(c)), 6) for c in columns)])
    return rows


def write_csv(a: Account, out: TextIO, total: bool = False) -> int:
    """The CSV of table(); returns the rows written."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(csv_header(a))
    rows = table(a, total)
    writer.writerows(rows)
    return len(rows)


def as_json(a: Account, title: str) -> str:
    """The totals, the tariff and every bar, as JSON."""
    t = a.tariff
    periods = [
        {"name": p.name, "price_per_kwh": p.price, "start": _hhmm(p.start), "end": _hhmm(p.end)}
        for p in t.periods
    ]
    doc = {
        "title": title,
        "timezone": zone_name(t.tz),
        "start": _iso(a.edges[0], a),
        "end": _iso(a.edges[-1], a),
        "bars": a.bars,
        "totals": totals(a),
        "tariff": {
            "price_per_kwh": t.price,
            "periods": periods,
            "standing_charge_per_day": t.standing_per_day,
            "export_price_per_kwh": t.export_price,
            "currency": t.currency,
        },
        "rows": [dict(zip(csv_header(a), row, strict=True)) for row in table(a)],
    }
    return json.dumps(doc, indent=1) + "\n"


def _local(ms: int, a: Account) -> datetime:
    return datetime.fromtimestamp(ms / 1000, a.tariff.tz)


def _iso(ms: int, a: Account) -> str:
    return _local(ms, a).isoformat(timespec="seconds")


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def export_energy(
    db, config, out: TextIO, start_ms: int, end_ms: int, bars: str, now_ms: int | None = None
) -> int:
    """`corcypower export --energy BARS`: the CSV of whole bars covering [start_ms, end_ms)."""
    from corcypower.energy.account import of_config
    from corcypower.energy.periods import range_edges
    from corcypower.energy.tariff import Tariff

    edges = range_edges(bars, start_ms, end_ms, Tariff.from_config(config).tz)
    return write_csv(of_config(db, config, edges, bars, now_ms), out)
