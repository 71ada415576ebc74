"""The page's text as HTML: big numbers, health, the stale banner. Pure functions, no Bokeh.

One Div per block, its text replaced per batch: one small message per viewer, not one per
number. Bokeh draws Divs in a shadow root, so their CSS travels with them (STYLE).
"""

from __future__ import annotations

from html import escape

from corcypower.clock import age_text
from corcypower.dashboard.data import Reading

IMPORT_COLOR = "#d9480f"  # drawn from the grid
EXPORT_COLOR = "#2b8a3e"  # sent to the grid
IDLE_W = 1.0  # below this a channel is neither importing nor exporting

STYLE = f"""
:host {{ font-family: system-ui, sans-serif; font-size: 15px; }}
.bk-clearfix {{ padding: 0 6px; width: 100%; box-sizing: border-box; }}
h2 {{ font-size: 1.25em; margin: 4px 0; }}
h3 {{ font-size: 1.1em; margin: 4px 0; }}
.cards {{ display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); gap: 8px; }}
.card {{ border: 1px solid #ddd; border-radius: 8px; padding: 6px 10px; min-width: 0; }}
.card .name {{ color: #555; font-size: 0.9em; }}
.card .big {{ font-size: 1.8em; font-weight: 600; font-variant-numeric: tabular-nums; white-space: nowrap; }}
.summary .card .big {{ font-size: 1.4em; white-space: normal; }}
.summary .period {{ margin: 4px 0 8px; }}
.summary table {{ margin-top: 8px; }}
.card .small {{ color: #444; font-size: 0.8em; font-variant-numeric: tabular-nums; }}
.card.total {{ border-width: 2px; }}
.status {{ color: #555; font-size: 0.85em; margin-top: 4px; }}
.import .big {{ color: {IMPORT_COLOR}; }}
.export .big {{ color: {EXPORT_COLOR}; }}
.stale .card, .stale .card .big {{ color: #999; border-color: #e5e5e5; background: #f6f6f6; }}
.stale .status {{ color: #b35c00; font-weight: 600; }}
.warn {{ color: #b35c00; font-weight: 600; }}
.scroll {{ overflow-x: auto; max-width: calc(100vw - 24px); }}
table {{ border-collapse: collapse; font-variant-numeric: tabular-nums; font-size: 0.9em; }}
td, th {{ padding: 2px 8px; text-align: right; border-bottom: 1px solid #eee; }}
td:first-child, th:first-child {{ text-align: left; }}
.alerts ul {{ list-style: none; margin: 4px 0; padding: 0; }}
.alerts li {{ padding: 4px 0; border-bottom: 1px solid #eee; overflow-wrap: anywhere; }}
.alerts .active li {{ background: #fff0f0; border-left: 4px solid #c92a2a; padding: 6px 8px;
                      margin-bottom: 4px; border-radius: 4px; }}
.alerts .state {{ font-weight: 600; }}
.alerts .firing .state, .alerts .active .state {{ color: #c92a2a; }}
.alerts .resolved .state {{ color: #2b8a3e; }}
.alerts .when, .alerts .none {{ color: #555; font-variant-numeric: tabular-nums; }}
h4 {{ font-size: 1em; margin: 8px 0 2px; }}
.banner {{ background: #c92a2a; color: white; padding: 8px 12px; border-radius: 6px;
           font-weight: 600; }}
"""

# What a flag means for the person looking at the page
FLAG_TEXT = {
    "clipped": "clipped: the signal exceeds the ADC's range",
    "flat": "flat: no signal (disconnected?)",
    "late": "late: sampling fell behind",
    "no-cycles": "no mains cycles found",
    "nominal-voltage": "using the nominal voltage",
    "below-noise": "below noise: reads 0",
    "voltage-clipped": "voltage clipped: P low",
    "voltage-below-noise": "no voltage: P unknown",
    "dead-read": "dead read: no ADC answer",
}


def _num(value, fmt: str, unit: str = "") -> str:
    if value is None or value != value:  # None or NaN
        return "–"
    return f"{value:{fmt}}{unit}"


def direction(watts: float | None) -> str:
    """ "import", "export" or "" (idle or unknown): the colour of a power figure."""
    if watts is None or watts != watts or abs(watts) < IDLE_W:
        return ""
    return "import" if watts > 0 else "export"


def watts_text(watts: float | None) -> str:
    if watts is None or watts != watts:
        return "–"
    if abs(watts) < 0.5:
        return "0 W"  # not "-0 W"
    if abs(watts) >= 10_000:
        return f"{watts / 1000:.2f} kW"
    return f"{watts:.0f} W"


def card_html(r: Reading) -> str:
    """One channel's card (or the total's): W big, then A and V, PF and the direction; V and Hz
    for a voltage. Two small lines always, so a card keeps its height as the numbers change."""
    if r.kind == "voltage":
        big = _num(r.volts, ".1f", " V")
        small = _num(r.hz, ".2f", " Hz") + "<br>&nbsp;"
        css = ""
    else:
        big = watts_text(r.watts)
        way = direction(r.watts)
        small = f"{_num(r.amps, '.2f', ' A')} · {_num(r.volts, '.1f', ' V')}<br>"
        small += "PF " + _num(r.pf, ".2f") + (f" · {way}" if way else "")
        css = way
    warn = f'<div class="warn">{escape(", ".join(r.flags))}</div>' if r.flags else ""
    return (
        f'<div class="card {r.kind} {css}"><div class="name">{escape(r.name)}</div>'
        f'<div class="big">{big}</div><div class="small">{small}</div>{warn}</div>'
    )


def numbers_html(readings: list[Reading], status: str = "", stale: bool = False) -> str:
    """One card per channel, the total first, and under them `status` (when the batch was).

    Stale numbers are greyed: they are no longer what the meter reads.
    """
    parts = numbers_parts(readings, status, stale)
    cards = "".join(h for p, h in zip(parts["part"], parts["html"], strict=True) if p == "card")
    return (
        f'<div class="{parts["html"][0]}"><div class="cards">{cards}</div>'
        f'<div class="status">{parts["html"][-1]}</div></div>'
    )


def numbers_parts(readings: list[Reading], status: str = "", stale: bool = False) -> dict:
    """numbers_html() in parts, for the page to replace piece by piece: the container's class,
    each card, the status line (part "class", "card"..., "status"; html)."""
    return {
        "part": ["class", *("card" for _ in readings), "status"],
        "html": [
            "numbers stale" if stale else "numbers",
            *map(card_html, readings),
            escape(status),
        ],
    }


def health_html(batch: dict | None, source: str) -> str:
    """The original's diagnostics per channel (ADC counts), and what each flag means."""
    if batch is None:
        return f"<p>No batch yet from {escape(source)}.</p>"
    rows = []
    for ch in batch["channels"]:
        flags = ch.get("flags", ())
        text = "; ".join(FLAG_TEXT.get(f, f) for f in flags) or "ok"
        rows.append(
            f"<tr><td>{escape(ch['name'])}</td><td>{ch['n']}</td>"
            f"<td>{_num(ch['mean'], '.1f')}</td><td>{ch['min']}</td><td>{ch['max']}</td>"
            f"<td>{_num(ch['rms'], '.2f')}</td>"
            f'<td class="{"warn" if flags else ""}">{escape(text)}</td></tr>'
        )
    return (
        '<div class="scroll"><table><tr><th>channel</th><th>samples</th><th>ADC mean</th>'
        f"<th>min</th><th>max</th><th>rms</th><th>health</th></tr>{''.join(rows)}</table></div>"
    )


def banner_text(seconds: float | None, stale_s: float, error: str | None, source: str) -> str:
    """The stale banner's text; empty when data is fresh."""
    if seconds is not None and seconds < stale_s:
        return ""
    why = f" ({escape(error)})" if error else ""
    if seconds is None:
        return f"No data from the monitor yet: waiting for {escape(source)}{why}."
    return (
        f"No data from the monitor for {age_text(seconds)}: is <code>corcypower run</code> going? "
        f"Waiting for {escape(source)}{why}."
    )
