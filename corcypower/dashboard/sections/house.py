"""The house section: every device's channels live, the whole house's total, and each device's
history over a day, a week or a month (house.py says where each comes from).

Shown only with `[dashboard] devices` or `central_mysql = true`. A device that does not answer
is a grey card saying "offline", since when and why, never 0 W; the house total then says it
is partial ("2 of 3 devices"). The cards are redrawn in place once a second
(Page.redrawn_div), as the live section does its numbers: replacing a Div's text would lay the
whole page out again.
"""

from __future__ import annotations

from datetime import date, datetime
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
from corcypower.energy.zone import local_ms, zone_name
from corcypower.live.messages import cut

RANGES = ("day", "week", "month")
ENERGY_REFRESH_MS = 300_000  # the days change slowly: today's bar grows by the minute
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


def local_day_ms(day: str) -> int:
    """A local day's midnight as the plots' x axes count time (local time written as UTC)."""
    return (date.fromisoformat(day) - date(1970, 1, 1)).days * data.DAY_MS


def top_html(top, day: str) -> str:
    """The devices that drew the most from the grid on `day`, as a numbered list."""
    if top.empty:
        return f"<p><small>No device has data for yesterday ({escape(day)}).</small></p>"
    items = "".join(
        f'<li data-point="{escape(str(p))}">{escape(str(p))}: {i / 1000:.2f} kWh from the grid'
        f"{f', {e / 1000:.2f} kWh to it' if e > 0 else ''}</li>"
        for p, i, e in zip(top["point"], top["import_wh"], top["export_wh"], strict=True)
    )
    head = f"<h4>Drew the most yesterday ({escape(day)})</h4>"
    return f"{head}<ol class='top' style='overflow-wrap: anywhere'>{items}</ol>"


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
        parts = [page.div("house_title", "<h3>House</h3>"), self.cards, self.ranges]
        parts += [self.plot, self.note]
        if self.house.central is not None:
            parts += self.energy_layout()
        return column(*parts, sizing_mode="stretch_width")

    def start(self) -> None:
        self.show_range("day")
        if self.house.central is not None:
            self.load_energy()
            self.page.doc.add_periodic_callback(self.load_energy, ENERGY_REFRESH_MS)

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

    # --- energy, from the central database ------------------------------------------------

    def energy_layout(self) -> list:
        """Every device's energy per day for the last ENERGY_DAYS days (all added up), and the
        devices that drew the most yesterday."""
        self.energy = ColumnDataSource(
            {"x": [], "day": [], "import_kwh": [], "export_kwh": [], "points": []},
            name="house_energy",
        )
        end = local_ms(self.page.now_ms(), self.page.tz)
        x_range = Range1d(end - house.ENERGY_DAYS * data.DAY_MS, end + data.DAY_MS // 2)
        title = "Energy per day, all devices"  # 30 days; longer pushes a phone's toolbar out
        self.energy_plot = figures.time_figure("house_energy_plot", title, 240, "kWh", x_range, 1.0)
        fig = self.energy_plot
        imp = fig.vbar(
            "x", 0.8 * data.DAY_MS, "import_kwh", source=self.energy, color=cards.IMPORT_COLOR
        )
        exp = fig.vbar(
            "x", 0.8 * data.DAY_MS, 0, "export_kwh", source=self.energy, color=cards.EXPORT_COLOR
        )
        figures.legend_above(fig, [("from the grid", [imp]), ("to the grid", [exp])])
        tips = [("", "@day"), ("from the grid", "@import_kwh{0.00} kWh"),
                ("to the grid", "@export_kwh{0.00} kWh"), ("devices", "@points")]  # fmt: skip
        fig.add_tools(HoverTool(tooltips=tips, mode="vline", renderers=[imp]))
        self.top = self.page.div("house_top", "<small>reading the central database…</small>")
        return [self.energy_plot, self.top]

    def load_energy(self) -> None:
        future = self.house.energy(self.page.now_ms())
        if self.house.executor is None:
            self.show_energy(future.result())
        else:
            future.add_done_callback(partial(self._later, self.show_energy))

    def show_energy(self, found: house.FleetEnergy) -> None:
        if found.why:
            self.top.text = f"<p class='warn'>No energy: {escape(cut(found.why, WHY_CHARS))}</p>"
            return
        days = found.days
        self.energy.data = {
            "x": [local_day_ms(d) + data.DAY_MS // 2 for d in days["day"]],
            "day": list(days["day"]),
            "import_kwh": list(days["import_wh"] / 1000),
            "export_kwh": list(-days["export_wh"] / 1000),
            "points": list(days["points"]),
        }
        zone = ""
        if found.zone != zone_name(self.page.tz):  # a fleet's days: the database's, not ours
            zone = f"<p><small>Days of {escape(found.zone)}, the central database's.</small></p>"
        self.top.text = top_html(found.top, found.yesterday) + zone
