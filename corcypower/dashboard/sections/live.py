"""The live section: big numbers, the gauge, and the last minutes of power, streamed."""

from __future__ import annotations

import math
from dataclasses import dataclass

from bokeh.layouts import column, row
from bokeh.models import ColumnDataSource

from corcypower.dashboard import cards, data, figures
from corcypower.dashboard.data import Reading
from corcypower.dashboard.section import Section


@dataclass
class LiveUpdate:
    """New batches, made ready for a page: the same for every tab."""

    columns: dict[str, list]
    readings: list[Reading]
    status: str
    gauge: dict[str, list]


class LiveSection(Section):
    name = "live_section"

    def layout(self):
        page, view = self.page, self.page.view
        self.rollover = math.ceil(view.live_ms / page.app.batch_ms) + 4
        self.live = ColumnDataSource(data.live_columns(view, [], page.tz), name="live")
        self.gauge = ColumnDataSource(
            figures.needle(0.0, view.gauge_max_w) | {"label": ["–"]}, name="gauge_needle"
        )
        self.readings: list[Reading] = []
        self.status = ""
        self.stale = False
        # at least 300 px: on a phone the gauge wraps below the numbers instead of squeezing them
        self.numbers = page.div("numbers", cards.numbers_html([]), styles={"flex": "1 1 300px"})
        self.plot = figures.live_figure(view, self.live)
        gauge = figures.gauge_figure(view, self.gauge)
        top = row(self.numbers, gauge, sizing_mode="stretch_width", styles={"flex-wrap": "wrap"})
        return column(top, self.plot, sizing_mode="stretch_width")

    def prepare(self, batches: list[dict]) -> LiveUpdate:
        """What the newest of `batches` changes on a page."""
        page = self.page
        latest = batches[-1]
        readings = data.readings(page.view, latest)
        total = readings[0].watts
        label = f"{cards.watts_text(total)} {cards.direction(total)}".strip()
        return LiveUpdate(
            data.live_columns(page.view, batches, page.tz),
            readings,
            f"last batch {data.clock_text(latest['ts'], page.tz)}",
            figures.needle(total, page.view.gauge_max_w) | {"label": [label]},
        )

    def show(self, update: LiveUpdate) -> None:
        self.live.stream(update.columns, rollover=self.rollover)
        self.readings, self.status, self.stale = update.readings, update.status, False
        self.numbers.text = cards.numbers_html(update.readings, update.status)
        self.gauge.data = update.gauge

    def tick(self, seconds_since_data: float | None) -> None:
        """Numbers that stopped changing are greyed, with how old they are."""
        if not self.readings or seconds_since_data is None:
            return
        if seconds_since_data < self.page.view.stale_s:
            return
        status = f"no data for {cards.age_text(seconds_since_data)} · {self.status}"
        self.numbers.text = cards.numbers_html(self.readings, status, stale=True)
        self.stale = True
