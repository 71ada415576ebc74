"""The drawing half: Bokeh figures and their sources, empty; the page fills them.

Every x is local wall-clock ms (see data.py), so the datetime axes read in local time.
Tools only move the view: nothing on the page can change data.
"""

from __future__ import annotations

import math

from bokeh.models import (
    ColumnDataSource,
    DataRange1d,
    DatetimeTickFormatter,
    HoverTool,
    Range1d,
    Span,
)
from bokeh.palettes import Category10_10
from bokeh.plotting import figure

from corcypower.dashboard.cards import EXPORT_COLOR, IMPORT_COLOR
from corcypower.dashboard.data import DAY_MS, View

TICK_FORMATS = dict(
    seconds="%H:%M:%S",
    minsec="%H:%M:%S",
    minutes="%H:%M",
    hourmin="%H:%M",
    hours="%H:%M",
    days="%a %d %b",
    months="%b %Y",
    years="%Y",
)
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def color(i: int) -> str:
    return Category10_10[i % len(Category10_10)]


def _time_figure(title: str, height: int, tools: str, y_label: str, **kwargs):
    fig = figure(
        title=title,
        height=height,
        sizing_mode="stretch_width",
        x_axis_type="datetime",
        tools=tools,
        toolbar_location="above",
        **kwargs,
    )
    fig.xaxis.formatter = DatetimeTickFormatter(**TICK_FORMATS)  # a model: one per figure
    fig.yaxis.axis_label = y_label
    fig.add_layout(Span(location=0, dimension="width", line_color="#888", line_width=1))
    return fig


def live_figure(view: View, source: ColumnDataSource):
    """Power of each current channel (and the grid total) over the last live_minutes."""
    x_range = DataRange1d(follow="end", follow_interval=view.live_ms, range_padding=0)
    fig = _time_figure(
        f"Last {view.live_ms // 60_000} minutes",
        280,
        "xpan,xwheel_zoom,reset",
        "W",
        x_range=x_range,
        name="live_plot",
    )
    for i, name in enumerate(view.currents):
        fig.line("x", f"w_{name}", source=source, color=color(i), line_width=2, legend_label=name)
    if len(view.grid) > 1:
        fig.line("x", "total_w", source=source, color="black", line_width=2, legend_label="total")
    tips = [("time", f"@x{{{TIME_FORMAT}}}")] + [(n, f"@w_{n}{{0.0}} W") for n in view.currents]
    fig.add_tools(HoverTool(tooltips=tips, formatters={"@x": "datetime"}, mode="vline"))
    fig.legend.location = "top_left"
    fig.legend.click_policy = "hide"
    return fig


def history_figure(view: View, sources: dict[str, ColumnDataSource], start: float, end: float):
    """Mean power per bucket as a line, with its min/max band."""
    fig = _time_figure(
        "History",
        300,
        "xpan,xwheel_zoom,box_zoom,reset",
        "W",
        x_range=Range1d(start, end),
        name="history_plot",
    )
    for i, name in enumerate(view.currents):
        src = sources[name]
        fig.varea("x", "min", "max", source=src, color=color(i), alpha=0.2, legend_label=name)
        fig.line("x", "mean", source=src, color=color(i), line_width=1.5, legend_label=name)
    tips = [
        ("time", f"@x{{{TIME_FORMAT}}}"),
        ("mean", "@mean{0.0} W"),
        ("min", "@min{0.0} W"),
        ("max", "@max{0.0} W"),
    ]
    fig.add_tools(HoverTool(tooltips=tips, formatters={"@x": "datetime"}, mode="vline"))
    fig.legend.location = "top_left"
    fig.legend.click_policy = "hide"
    return fig


def daily_figure(view: View, source: ColumnDataSource, start: float, end: float):
    """kWh per day: import up, export down, with the day's cost in the hover."""
    fig = _time_figure(
        "Energy per day (last 30 days)",
        260,
        "xpan,reset",
        "kWh",
        x_range=Range1d(start, end),
        name="daily_plot",
    )
    width = 0.8 * DAY_MS
    fig.vbar("x", width, "import_kwh", source=source, color=IMPORT_COLOR, legend_label="import")
    fig.vbar("x", width, 0, "export_kwh", source=source, color=EXPORT_COLOR, legend_label="export")
    tips = [
        ("day", "@day"),
        ("import", "@import_kwh{0.00} kWh"),
        ("export", "@export_kwh{0.00} kWh"),
    ]
    if view.price or view.export_price:
        tips.append(("cost", f"@cost{{0.00}} {view.currency}"))
    fig.add_tools(HoverTool(tooltips=tips))
    fig.legend.location = "top_left"
    return fig


# --- the gauge: a half dial from -max (export, left) through 0 (top) to +max (import, right)


def gauge_angle(watts: float, max_w: float) -> float:
    """Radians of the needle: pi at -max, pi/2 at 0 W, 0 at +max (clipped to the dial)."""
    if watts != watts:
        watts = 0.0
    share = max(-1.0, min(1.0, watts / max_w))
    return math.pi / 2 - share * math.pi / 2


def needle(watts: float, max_w: float) -> dict[str, list]:
    a = gauge_angle(watts, max_w)
    return {"x1": [0.85 * math.cos(a)], "y1": [0.85 * math.sin(a)]}


def gauge_figure(view: View, source: ColumnDataSource):
    """The original CorcyPower gauge, signed: export on the left, import on the right."""
    fig = figure(
        width=280,
        height=190,
        x_range=(-1.15, 1.15),
        y_range=(-0.35, 1.1),
        tools="",
        toolbar_location=None,
        name="gauge",
        match_aspect=True,
    )
    fig.axis.visible = False
    fig.grid.visible = False
    fig.outline_line_color = None
    fig.annular_wedge(0, 0, 0.7, 1.0, math.pi / 2, math.pi, color=EXPORT_COLOR, alpha=0.8)
    fig.annular_wedge(0, 0, 0.7, 1.0, 0, math.pi / 2, color=IMPORT_COLOR, alpha=0.8)
    kw = view.gauge_max_w / 1000
    fig.text(
        [-1.0, 0, 1.0],
        [-0.12, 1.02, -0.12],
        text=[f"-{kw:g} kW", "0", f"{kw:g} kW"],
        text_align="center",
        text_font_size="11px",
    )
    fig.segment(0, 0, "x1", "y1", source=source, line_width=4, line_color="black")
    fig.scatter([0], [0], size=10, color="black")
    fig.text(0, -0.3, text="label", source=source, text_align="center", text_font_size="15px")
    return fig
