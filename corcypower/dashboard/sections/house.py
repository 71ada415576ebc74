"""The house section: every device's channels live, the whole house's total, and each device's
history over a day, a week or a month (house.py says where each comes from).

Shown only with `[dashboard] devices` or `central_mysql = true`. A device that does not answer
is a grey card saying "offline", since when and why, never 0 W; the house total then says it
is partial ("2 of 3 devices"). The cards are redrawn in place once a second
(Page.redrawn_div), as the live section does its numbers: replacing a Div's text would lay the
whole page out again.
"""

from __future__ import annotations

from datetime import datetime
from functools import partial
from html import escape

from bokeh.core.properties import field
from bokeh.layouts import column
from bokeh.models import (
    ColumnDataSource,
    HoverTool,
    RadioButtonGroup,
    Range1d,
)

from corcypower.dashboard import cards, data, figures, house
from corcypower.dashboard.devices import DeviceStatus
from corcypower.dashboard.section import Section
from corcypower.energy.zone import local_ms
from corcypower.live.messages import cut

RANGES = ("day", "week", "month")
WHY_CHARS = 120

STYLE = """
.house .card.device .row { display: flex; justify-content: space-between; gap: 8px; }
.house .card.offline, .house .card.offline .big { color: #888; background: #f3f3f3; border-color: #e0e0e0; }
.house .card.offline .small { color: #666; overflow-wrap: anywhere; }
.house .partial .small { color: #b35c00; font-weight: 600; }
"""


def when_text(ms: int, tz) -> str:
    return datetime.fromtimestamp(ms / 1000, tz).strftime("%d %b %H:%M:%S")


def device_html(s: DeviceStatus, tz) -> str:
    """One device's card: its total and each current channel's power, or why it is offline."""
    name = escape(s.name)
    if not s.online:
        since = f"since {when_text(s.since_ms, tz)} · " if s.since_ms is not None else ""
        return (
            f'<div class="card device offline" data-device="{name}" data-online="false">'
            f'<div class="name">{name}</div><div class="big">offline</div>'
            f'<div class="small">{escape(since + cut(s.why, WHY_CHARS))}</div></div>'
        )
    rows = "".join(
        f'<div class="row" data-channel="{escape(ch)}" data-w="{"" if w is None else w}">'
        f"<span>{escape(ch)}</span><span>{cards.watts_text(w)}</span></div>"
        for ch, w in s.channels
    )
    return (
        f'<div class="card device" data-device="{name}" data-online="true">'
        f'<div class="name">{name}</div><div class="big">{cards.watts_text(s.total_w)}</div>'
        f'<div class="small">{rows}</div></div>'
    )


def house_html(statuses: list[DeviceStatus], tz) -> str:
    """The house's total (partial when a device is offline or one of its totals unknown), then
    one card per device."""
    counted = [s for s in statuses if s.online and s.total_w is not None]
    count = f"{len(counted)} of {len(statuses)} devices"
    partial_ = len(counted) < len(statuses)
    total = sum(s.total_w for s in counted) if counted else None
    small = f"partial: {count}" if partial_ else count
    head = (
        f'<div class="card total{" partial" if partial_ else ""}" data-devices="{len(counted)}" '
        f'data-of="{len(statuses)}"><div class="name">House</div>'
        f'<div class="big">{cards.watts_text(total)}</div><div class="small">{small}</div></div>'
    )
    body = "".join(device_html(s, tz) for s in statuses)
    return f'<div class="house"><div class="cards">{head}{body}</div></div>'


class HouseSection(Section):
    name = "house_section"

    @classmethod
    def wanted(cls, app) -> bool:
        return house.wanted(app.config)

    def layout(self):
        page = self.page
        self.house = page.app.house
        self.html = house_html(self.house.statuses(), page.tz)
        self.cards, self.parts = page.redrawn_div("house", "house", self.html, STYLE)

        self.asked: tuple[int, int] | None = None
        self.lines: dict[str, house.Line] = {}
        self.source = ColumnDataSource(
            {"xs": [], "ys": [], "name": [], "color": []}, name="house_history"
        )
        end = local_ms(page.now_ms(), page.tz)
        x_range = Range1d(end - data.DAY_MS, end)
        self.plot = figures.time_figure("house_plot", "Each device", 260, "W", x_range, 100.0)
        lines = self.plot.multi_line("xs", "ys", source=self.source, color="color", line_width=1.5)
        figures.legend_above(self.plot, [(field("name"), [lines])], hide=False)
        self.plot.add_tools(HoverTool(tooltips=[("device", "@name")], renderers=[lines]))
        self.ranges = RadioButtonGroup(labels=list(RANGES), active=0, name="house_ranges")
        self.ranges.on_change("active", lambda attr, old, new: self.show_range(RANGES[new]))
        self.note = page.div("house_note")
        return column(
            page.div("house_title", "<h3>House</h3>"),
            self.cards,
            self.ranges,
            self.plot,
            self.note,
            sizing_mode="stretch_width",
        )

    def start(self) -> None:
        self.show_range("day")

    def tick(self, seconds_since_data: float | None) -> None:
        """Every second: the devices as their pollers last heard them."""
        html = house_html(self.house.statuses(), self.page.tz)
        if html != self.html:
            self.html = html
            self.parts.data = {"html": [html]}

    # --- history ------------------------------------------------------------------------

    def show_range(self, name: str) -> None:
        """The last day, week or month of every device, each line drawn as its answer comes."""
        page = self.page
        end = page.now_ms()
        start = end - data.RANGES_MS[name]
        lo, hi = local_ms(start, page.tz), local_ms(end, page.tz)
        self.plot.x_range.update(start=lo, end=hi, reset_start=lo, reset_end=hi)
        self.plot.title.text = f"Each device, the last {name}"
        self.asked, self.lines = (start, end), {}
        self.note.text = "<small>reading each device's history…</small>"
        for future in self.house.history(start, end, data.HISTORY_POINTS):
            show = partial(self._show, (start, end))
            if self.house.executor is None:
                show(future.result())
            else:
                future.add_done_callback(partial(self._later, show))

    def _later(self, show, future) -> None:
        """On a house thread: show the result in this tab's document, if it is still open."""
        try:
            self.page.doc.add_next_tick_callback(partial(show, future.result()))
        except AttributeError:  # the tab was closed meanwhile: its document is gone
            pass

    def _show(self, asked: tuple[int, int], lines: list[house.Line]) -> None:
        if asked != self.asked:
            return  # an older range: the buttons have moved on
        self.lines |= {line.name: line for line in lines}
        drawn = sorted(self.lines.values(), key=lambda line: line.name)
        tz = self.page.tz
        self.source.data = {
            "xs": [[local_ms(t, tz) for t in line.ts] for line in drawn],
            "ys": [line.watts for line in drawn],
            "name": [line.name for line in drawn],
            "color": [figures.color(i) for i in range(len(drawn))],
        }
        points = max((len(line.ts) for line in drawn), default=0)
        notes = [f"<small>{len(drawn)} devices · up to {points} points each</small>"]
        notes += [
            f"<p class='warn'>{escape(line.name)}: no history ({escape(cut(line.why, WHY_CHARS))})</p>"
            for line in drawn
            if line.why
        ]
        self.note.text = "".join(notes)
