"""The drawing half: Bokeh figures and their sources, empty; the page fills them.

Every x is local wall-clock ms (see data.py), so the datetime axes read in local time.
Tools only move the view: nothing on the page can change data.

Made for phones first: labels that cannot collide (NoOverlap hides the ones that would, and
the short formats leave room for more), legends above the data, and tools that let a finger
scroll the page (touch.py decides which tools are active on a touch screen).
"""

from __future__ import annotations

import math

from bokeh.models import (
    BasicTickFormatter,
    CDSView,
    ColumnDataSource,
    DataRange1d,
    DatetimeTickFormatter,
    HoverTool,
    IndexFilter,
    Legend,
    LegendItem,
    NoOverlap,
    Range1d,
    Span,
)
from bokeh.palettes import Category10_10
from bokeh.plotting import figure

from corcypower.dashboard.cards import EXPORT_COLOR, IMPORT_COLOR
from corcypower.dashboard.data import View

SOLAR_COLOR = "#e8a317"
UNTRACKED_COLOR = "#adb5bd"
TICK_FORMATS = dict(
    seconds="%H:%M:%S",
    minsec="%H:%M:%S",
    minutes="%H:%M",
    hourmin="%H:%M",
    hours="%H:%M",
    days="%d %b",
    months="%b %Y",
    years="%Y",
)
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
TOOLS = "xpan,xwheel_zoom,reset"
TEXT_PX = "12px"  # every text drawn in a plot: at least 11 CSS px, readable on a phone


def color(i: int) -> str:
    return Category10_10[i % len(Category10_10)]


def time_figure(name: str, title: str, height: int, y_label: str, x_range, min_y: float):
    """A plot over local time, full width, its x labels spaced so they never collide."""
    fig = figure(
        title=title,
        height=height,
        sizing_mode="stretch_width",
        x_axis_type="datetime",
        x_range=x_range,
        # no data, or little: a readable axis. The browser fits it to the data and the
        # server never reads it back: not syncable, or every tab would send the server its
        # new bounds each time a stream moves them (a few PATCH-DOCs a second per tab)
        y_range=DataRange1d(min_interval=min_y, syncable=False),
        tools=TOOLS,
        toolbar_location="above",
        name=name,
        min_border_left=4,
        min_border_right=12,
    )
    fig.toolbar.logo = None
    fig.xaxis.formatter = DatetimeTickFormatter(**TICK_FORMATS)  # a model: one per figure
    fig.xaxis.ticker.desired_num_ticks = 4
    fig.xaxis.major_label_policy = NoOverlap(min_distance=8)
    fig.yaxis.formatter = BasicTickFormatter(use_scientific=False)
    fig.yaxis.axis_label = y_label
    for axis in (fig.xaxis[0], fig.yaxis[0]):
        axis.major_label_text_font_size = TEXT_PX
        axis.axis_label_text_font_size = TEXT_PX
    fig.title.text_font_size = "13px"
    fig.add_layout(Span(location=0, dimension="width", line_color="#888", line_width=1))
    return fig


# A legend row must fit beside a 360 px phone's y axis: what is left of the plot's width there
# (measured: the legend starts 87 px in, and the page keeps 4 px free at the right), with room
LEGEND_ROW_PX = 240
LEGEND_ITEM_PX = 26  # a glyph (14), its gap to the label and the spacing to the next item
LEGEND_CHAR_PX = 7.5  # a label's character at TEXT_PX, a little over system-ui's widest digits


def legend_columns(labels: list[str], row_px: float = LEGEND_ROW_PX) -> int:
    """The most items a legend row can hold within `row_px`: Bokeh lays the items out row by
    row in a grid whose columns are as wide as their widest label (so a row of many channels
    wraps on a phone instead of running past the edge)."""
    for columns in range(len(labels), 1, -1):
        widths = [
            LEGEND_ITEM_PX + LEGEND_CHAR_PX * max(len(label) for label in labels[c::columns])
            for c in range(columns)
        ]
        if sum(widths) <= row_px:
            return columns
    return 1


def legend_above(fig, items: list[tuple[str, list]], hide: bool = True) -> None:
    """The legend outside the data, above it, in rows that fit a phone; a tap hides a series."""
    legend = Legend(
        items=[LegendItem(label=label, renderers=renderers) for label, renderers in items],
        ncols=legend_columns([label for label, _ in items]) if items else "auto",
        orientation="horizontal",
        location="top_left",
        label_text_font_size=TEXT_PX,
        glyph_width=14,
        glyph_height=14,
        spacing=8,
        padding=2,
        margin=2,
        border_line_color=None,
        click_policy="hide" if hide else "none",
    )
    fig.add_layout(legend, "above")


def live_figure(view: View, source: ColumnDataSource):
    """Power of each current channel (and the grid total) over the last live_minutes."""
    # follows the stream in the browser; like the y ranges, never sent back (not syncable)
    x_range = DataRange1d(
        follow="end", follow_interval=view.live_ms, range_padding=0, syncable=False
    )
    title = f"Last {view.live_ms // 60_000} minutes"
    fig = time_figure("live_plot", title, 260, "W", x_range, min_y=100.0)
    # its HH:MM:SS labels are the widest: at 4 ticks a minute of data on a 360 px phone put
    # them 50 px apart, 52 px wide (NoOverlap let them touch); 3 leave room at every span
    fig.xaxis.ticker.desired_num_ticks = 3
    items = []
    for i, name in enumerate(view.currents):
        items.append(
            (name, [fig.line("x", f"w_{name}", source=source, color=color(i), line_width=2)])
        )
    if len(view.grid) > 1:
        items.append(
            ("total", [fig.line("x", "total_w", source=source, color="black", line_width=2)])
        )
    legend_above(fig, items)
    tips = [("time", f"@x{{{TIME_FORMAT}}}")] + [(n, f"@w_{n}{{0.0}} W") for n in view.currents]
    fig.add_tools(HoverTool(tooltips=tips, formatters={"@x": "datetime"}, mode="vline"))
    return fig


def history_figure(view: View, sources: dict[str, ColumnDataSource], start: float, end: float):
    """Mean power per bucket as a line, with its min/max band."""
    fig = time_figure("history_plot", "History", 280, "W", Range1d(start, end), min_y=100.0)
    items = []
    for i, name in enumerate(view.currents):
        src = sources[name]
        band = fig.varea("x", "min", "max", source=src, color=color(i), alpha=0.2)
        line = fig.line("x", "mean", source=src, color=color(i), line_width=1.5)
        items.append((name, [band, line]))
    legend_above(fig, items)
    tips = [
        ("time", f"@x{{{TIME_FORMAT}}}"),
        ("mean", "@mean{0.0} W"),
        ("min", "@min{0.0} W"),
        ("max", "@max{0.0} W"),
    ]
    fig.add_tools(HoverTool(tooltips=tips, formatters={"@x": "datetime"}, mode="vline"))
    return fig


def use_figure(view: View, source: ColumnDataSource, x_range: Range1d):
    """kWh used per bar, stacked by circuit, the rest untracked (or "house" with no circuits)."""
    fig = time_figure("use_plot", "Used in the house", 240, "kWh", x_range, min_y=1.0)
    fig.y_range.start = 0  # use is drawn upwards; an empty period shows 0 to 1 kWh
    circuits = list(view.wiring.circuits)
    names = [f"c_{c}" for c in circuits] + ["untracked"]
    colors = [color(i + 2) for i in range(len(circuits))] + [UNTRACKED_COLOR]
    bars = fig.vbar_stack(names, x="x", width="width", source=source, color=colors)
    labels = circuits + (["untracked"] if circuits else ["house"])
    legend_above(fig, [(label, [r]) for label, r in zip(labels, bars, strict=True)])
    tips = [("", "@bar")] + [
        (label, f"@{{{n}}}{{0.00}} kWh") for label, n in zip(labels, names, strict=True)
    ]
    fig.add_tools(HoverTool(tooltips=tips, mode="vline"))
    return fig


def grid_figure(view: View, source: ColumnDataSource, x_range: Range1d, currency: str):
    """kWh per bar: from the grid up, to the grid down, and solar production."""
    fig = time_figure("grid_plot", "Grid and solar", 240, "kWh", x_range, min_y=1.0)
    imp = fig.vbar("x", "width", "import_kwh", source=source, color=IMPORT_COLOR)
    exp = fig.vbar("x", "width", 0, "export_kwh", source=source, color=EXPORT_COLOR)
    items = [("from the grid", [imp]), ("to the grid", [exp])]
    tips = [
        ("", "@bar"),
        ("from the grid", "@import_kwh{0.00} kWh"),
        ("to the grid", "@export_kwh{0.00} kWh"),
    ]
    if view.wiring.solar:
        solar = fig.scatter(
            "x", "solar_kwh", source=source, color=SOLAR_COLOR, size=7, marker="diamond"
        )
        items.append(("solar", [solar]))
        tips.append(("solar", "@solar_kwh{0.00} kWh"))
    tips.append(("cost", f"@cost{{0.00}} {currency}"))
    legend_above(fig, items)
    fig.add_tools(HoverTool(tooltips=tips, mode="vline", renderers=[imp]))
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
    """The original CorcyPower gauge, signed: export on the left, import on the right; its
    needle (x1, y1) and label from the first row of `source`."""
    fig = figure(
        width=260,
        height=170,
        x_range=(-1.15, 1.15),
        y_range=(-0.35, 1.1),
        tools="",
        toolbar_location=None,
        name="gauge",
        match_aspect=True,
        min_border=0,
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
        text_font_size=TEXT_PX,
    )
    first = CDSView(filter=IndexFilter([0]))  # the needle is the source's first row
    fig.segment(0, 0, "x1", "y1", source=source, view=first, line_width=4, line_color="black")
    fig.scatter([0], [0], size=10, color="black")
    fig.text(
        0, -0.3, text="label", source=source, view=first, text_align="center", text_font_size="15px"
    )
    return fig
