"""The live section: big numbers, the gauge, and the last minutes of power, streamed.

The numbers change with every batch. Replacing a Div's text makes Bokeh lay the whole page
out again (every plot with it), twice a second: too much for a phone. So the Div is written
once, and each batch sends its cards in parts (source `numbers_parts`) that the browser puts
in place (NUMBERS_JS); the Div's text is written again only when the cards themselves change.

The numbers come first: the page's HTML carries them as the server has them (first_paint),
and BokehJS first draws the cards alone; the gauge and the plot join them once the browser
has drawn those (complete), so a phone shows live numbers before it has built any plot.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from bokeh.layouts import column, row
from bokeh.models import ColumnDataSource, CustomJS

from corcypower.clock import age_text
from corcypower.dashboard import cards, data, figures
from corcypower.dashboard.data import Reading
from corcypower.dashboard.section import Section

NUMBERS_JS = """
const view = Bokeh.index.find_one(div)
if (view == null)
  return
const root = view.shadow_el
const {part, html} = source.data
const box = root.querySelector(".numbers")
const cards = root.querySelectorAll(".card")
if (box == null || cards.length != part.length - 2)
  return  // the Div is being redrawn with other cards: its own text is the newest
box.className = html[0]
cards.forEach((card, i) => { card.outerHTML = html[i + 1] })
root.querySelector(".status").innerHTML = html[html.length - 1]
"""


@dataclass
class LiveUpdate:
    """New batches, made ready for a page: the same for every tab."""

    columns: dict[str, list]
    readings: list[Reading]
    status: str
    needle: dict[str, list]  # the gauge's needle and label (one row)
    parts: dict[str, list]  # the cards' HTML and the needle (with_needle)


def with_needle(parts: dict[str, list], needle: dict[str, list]) -> dict[str, list]:
    """The cards' parts and the gauge's needle as one source's columns: the needle in the first
    row (the gauge draws that row alone), the other rows empty."""
    rows = len(parts["part"])
    return parts | {key: value + [None] * (rows - 1) for key, value in needle.items()}


class LiveSection(Section):
    name = "live_section"

    def layout(self):
        page, view = self.page, self.page.view
        self.rollover = math.ceil(view.live_ms / page.app.batch_ms) + 4
        self.live = ColumnDataSource(data.live_columns(view, [], page.tz), name="live")
        self.needle = figures.needle(0.0, view.gauge_max_w) | {"label": ["–"]}
        self.readings: list[Reading] = []
        self.when = ""  # when the last batch was, as the status line says it
        self.shown = ("", False)  # the status line and staleness the cards show
        # at least 300 px: on a phone the gauge wraps below the numbers instead of squeezing them
        self.numbers = page.div("numbers", cards.numbers_html([]), styles={"flex": "1 1 300px"})
        # the cards' parts and the gauge's needle in one source: one message per batch and tab
        self.parts = ColumnDataSource(
            with_needle(cards.numbers_parts([]), self.needle), name="numbers_parts"
        )
        code = CustomJS(args={"div": self.numbers, "source": self.parts}, code=NUMBERS_JS)
        self.parts.js_on_change("data", code)
        page.doc.add_root(self.parts)  # drawn by no glyph: a root, so the browser has it
        self.plot = figures.live_figure(view, self.live)
        self.gauge_plot = figures.gauge_figure(view, self.parts)
        # the numbers alone at first (complete() adds the gauge beside them, the plot below)
        self.top = row(self.numbers, sizing_mode="stretch_width", styles={"flex-wrap": "wrap"})
        self.layout_box = column(self.top, sizing_mode="stretch_width")
        return self.layout_box

    def complete(self) -> None:
        self.top.children = [self.numbers, self.gauge_plot]
        self.layout_box.children = [self.top, self.plot]

    def first_paint(self) -> str | None:
        """The cards as the Div shows them now (greyed if stale), the total's number marked
        for the browser's Element Timing (the benchmark's first live number)."""
        if not self.readings:
            return None
        html = cards.numbers_html(self.readings, *self.shown)
        return html.replace(
            '<div class="big">', '<div class="big" elementtiming="first-number">', 1
        )

    def prepare(self, batches: list[dict]) -> LiveUpdate:
        """What the newest of `batches` changes on a page."""
        page = self.page
        latest = batches[-1]
        readings = data.readings(page.view, latest)
        total = readings[0].watts
        label = f"{cards.watts_text(total)} {cards.direction(total)}".strip()
        status = f"last batch {data.clock_text(latest['ts'], page.tz)}"
        needle = figures.needle(total, page.view.gauge_max_w) | {"label": [label]}
        return LiveUpdate(
            data.live_columns(page.view, batches, page.tz),
            readings,
            status,
            needle,
            with_needle(cards.numbers_parts(readings, status), needle),
        )

    def show(self, update: LiveUpdate) -> None:
        self.live.stream(update.columns, rollover=self.rollover)
        self.when = update.status
        self.needle = update.needle
        self.draw_numbers(update.readings, update.status, parts=update.parts)

    def draw_numbers(
        self, readings: list[Reading], status: str, stale: bool = False, parts: dict | None = None
    ) -> None:
        """The cards and the needle; `parts`: the same made once for every tab (prepare)."""
        if len(readings) != len(self.readings):  # other cards: the Div's text, drawn anew
            self.numbers.text = cards.numbers_html(readings, status, stale)
        if parts is None:
            parts = with_needle(cards.numbers_parts(readings, status, stale), self.needle)
        self.parts.data = dict(parts)
        self.readings = readings
        self.shown = (status, stale)

    def tick(self, seconds_since_data: float | None) -> None:
        """Numbers that stopped changing are greyed, with how old they are."""
        if not self.readings or seconds_since_data is None:
            return
        if seconds_since_data >= self.page.view.stale_s:
            age = age_text(seconds_since_data)
            self.draw_numbers(self.readings, f"no data for {age} · {self.when}", stale=True)
