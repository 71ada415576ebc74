"""The history section: power over the last hour to year, panned and zoomed at any resolution."""

from __future__ import annotations

import io
from datetime import datetime
from functools import partial

from bokeh.events import RangesUpdate, Reset
from bokeh.layouts import column, row
from bokeh.models import Button, ColumnDataSource, RadioButtonGroup

from corcypower.dashboard import data, figures
from corcypower.dashboard.app import QueryFailed
from corcypower.dashboard.section import Section
from corcypower.energy.zone import local_ms, utc_ms


class HistorySection(Section):
    name = "history_section"

    def layout(self):
        page, view = self.page, self.page.view
        self.queried: tuple[float, float] | None = None  # the range on screen, local ms
        self.range_name = "day"
        empty = {"x": [], "mean": [], "min": [], "max": []}
        self.sources = {
            n: ColumnDataSource(dict(empty), name=f"history_{n}") for n in view.currents
        }
        end = local_ms(page.now_ms(), page.tz)
        self.plot = figures.history_figure(view, self.sources, end - data.DAY_MS, end)
        self.plot.on_event(RangesUpdate, self.on_ranges_update)
        self.plot.on_event(Reset, lambda event: self.show_range(self.range_name))
        self.ranges = RadioButtonGroup(labels=list(data.RANGES_MS), active=1, name="ranges")
        self.ranges.on_change(
            "active", lambda attr, old, new: self.show_range(list(data.RANGES_MS)[new])
        )
        self.save = Button(label="CSV", name="history_csv", width=64)
        self.save.on_click(self.download)
        self.note = page.div("history_note")
        controls = row(self.ranges, self.save, styles={"flex-wrap": "wrap", "gap": "6px"})
        return column(
            page.div("history_title", "<h3>Power</h3>"),
            controls,
            self.plot,
            self.note,
            sizing_mode="stretch_width",
        )

    def start(self) -> None:
        self.show_range("day")

    def show_range(self, name: str) -> None:
        """The last hour, day, week, month or year, up to now (also what Reset shows)."""
        self.range_name = name
        end = local_ms(self.page.now_ms(), self.page.tz)
        start = end - data.RANGES_MS[name]
        self.plot.x_range.update(start=start, end=end, reset_start=start, reset_end=end)
        self.plot.title.text = f"The last {name}"
        self.load(start, end)

    def on_ranges_update(self, event: RangesUpdate) -> None:
        """Pan or zoom ended: query the new range at its own resolution."""
        if event.x0 is None or event.x1 is None:
            return
        if self.queried is not None:
            q0, q1 = self.queried
            tolerance = 0.01 * (q1 - q0)
            if abs(event.x0 - q0) <= tolerance and abs(event.x1 - q1) <= tolerance:
                return  # the range we just set (buttons) coming back from the browser
        self.plot.title.text = "History"
        self.load(event.x0, event.x1)

    def _utc(self, start: float, end: float) -> tuple[int, int]:
        return utc_ms(start, self.page.tz), utc_ms(end, self.page.tz)

    def load(self, start: float, end: float) -> None:
        self.queried = (start, end)
        t0, t1 = self._utc(start, end)
        job = partial(
            data.history_columns, view=self.page.view, start_ms=t0, end_ms=t1, tz=self.page.tz
        )
        self.page.run(lambda db: job(db), partial(self._show, (start, end)))

    def _show(self, asked: tuple[float, float], result) -> None:
        if asked != self.queried:
            return  # an older query: the view has moved on
        if isinstance(result, QueryFailed):
            self.note.text = f"<p class='warn'>No history: {result}</p>"
            return
        points = 0
        for name, cols in result.items():
            self.sources[name].data = cols
            points = max(points, len(cols["x"]))
        self.note.text = f"<small>{points} points per channel</small>"

    def download(self) -> None:
        """The range on screen as `corcypower export` writes it, at the level drawn."""
        from corcypower.store.csvexport import export_csv

        if self.queried is None:
            return
        t0, t1 = self._utc(*self.queried)
        channels = list(self.page.view.currents)

        def make(db) -> str:
            out = io.StringIO()
            export_csv(db, out, t0, t1, channels, "auto", data.HISTORY_POINTS)
            return out.getvalue()

        stamp = datetime.fromtimestamp(t0 / 1000, self.page.tz).strftime("%Y%m%d-%H%M")
        self.page.download(f"corcypower-power-{stamp}.csv", make, self._failed)

    def _failed(self, why: str) -> None:
        self.note.text = f"<p class='warn'>No CSV: {why}</p>"
