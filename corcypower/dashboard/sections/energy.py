"""The energy section: a day, week, month or year of energy and its cost, bar by bar.

The figures are an energy.account.Account (the command line's `report` and `export --energy`
print the same), read on a query thread whenever the period changes, and every 5 minutes
while the period shown holds now (the last bar grows).
"""

from __future__ import annotations

import io
from datetime import date
from functools import partial

from bokeh.layouts import column, row
from bokeh.models import Button, ColumnDataSource, DatePicker, RadioButtonGroup, Range1d

from corcypower.dashboard import data, figures, summary
from corcypower.dashboard.app import QueryFailed
from corcypower.dashboard.section import Section
from corcypower.energy import report
from corcypower.energy.account import account
from corcypower.energy.periods import UNITS, Period
from corcypower.energy.zone import local_date, local_ms

REFRESH_MS = 300_000


class EnergySection(Section):
    name = "energy_section"

    def layout(self):
        page, view = self.page, self.page.view
        self.tariff = page.app.tariff
        self.tz = self.tariff.tz  # the tariff's days: bars, periods and prices alike
        self.period = Period.containing("day", self.today())
        self.asked: Period | None = None
        self.source = ColumnDataSource(data.empty_energy_columns(view), name="energy")
        x_range = Range1d(0, 1)
        self.use_plot = figures.use_figure(view, self.source, x_range)
        self.grid_plot = figures.grid_figure(view, self.source, x_range, self.tariff.currency)
        self.units = RadioButtonGroup(labels=list(UNITS), active=0, name="energy_units")
        self.units.on_change(
            "active",
            lambda attr, old, new: self.go(Period.containing(UNITS[new], self.period.first)),
        )
        self.previous = Button(label="◀", name="energy_previous", width=44)
        self.previous.on_click(lambda: self.go(self.period.shift(-1)))
        self.next = Button(label="▶", name="energy_next", width=44)
        self.next.on_click(lambda: self.go(self.period.shift(1)))
        self.picker = DatePicker(value=self.period.first, name="energy_date", width=140)
        self.picker.on_change("value", self.on_date)
        self.save = Button(label="CSV", name="energy_csv", width=64)
        self.save.on_click(self.download)
        self.summary = page.div("energy_summary", "<p>…</p>")
        wrap = {"flex-wrap": "wrap", "gap": "6px", "align-items": "center"}
        controls = row(
            self.units,
            row(self.previous, self.picker, self.next, self.save, styles=wrap),
            styles=wrap,
        )
        parts = [page.div("energy_title", "<h3>Energy</h3>"), controls, self.summary]
        if view.wiring.circuits or view.wiring.solar:
            parts.append(self.use_plot)
        parts.append(self.grid_plot)
        return column(*parts, sizing_mode="stretch_width")

    def start(self) -> None:
        self.go(self.period)
        self.page.doc.add_periodic_callback(self.refresh, REFRESH_MS)

    def today(self) -> date:
        return local_date(self.page.now_ms(), self.tz)

    # --- choosing the period --------------------------------------------------------

    def go(self, period: Period) -> None:
        self.period = period
        self.units.active = UNITS.index(period.unit)
        if self.picker.value != period.first.isoformat():
            self.picker.value = period.first.isoformat()
        self.next.disabled = period.end > self.today()
        self.load()

    def on_date(self, attr, old, new) -> None:
        day = date.fromisoformat(new) if isinstance(new, str) else new
        if not self.period.first <= day < self.period.end:
            self.go(Period.containing(self.period.unit, day))

    def refresh(self) -> None:
        if self.period.first <= self.today() < self.period.end:
            self.load()

    # --- the account ----------------------------------------------------------------

    def _account(self, db, period: Period, now_ms: int):
        return account(
            db, self.page.view.wiring, self.tariff, period.edges(self.tz), period.bars, now_ms
        )

    def load(self) -> None:
        period = self.asked = self.period
        job = partial(self._account, period=period, now_ms=self.page.now_ms())
        self.page.run(lambda db: job(db), partial(self._show, period))

    def _show(self, period: Period, result) -> None:
        if period != self.asked:
            return  # an older query: the period has changed since
        if isinstance(result, QueryFailed):
            self.summary.text = f"<p class='warn'>No energy: {result}</p>"
            return
        edges = period.edges(self.tz)
        start, end = local_ms(edges[0], self.tz), local_ms(edges[-1], self.tz)
        # Reset (the plots' tool) returns to the whole period, not to the range first drawn
        self.use_plot.x_range.update(start=start, end=end, reset_start=start, reset_end=end)
        self.source.data = data.energy_columns(result, self.tz)
        wiring = self.page.view.wiring
        totals = report.totals(result)
        self.summary.text = summary.summary_html(
            totals, period.label, bool(wiring.solar), bool(wiring.circuits)
        )

    def download(self) -> None:
        """The bars shown, as `corcypower export --energy` writes them."""
        period, now = self.period, self.page.now_ms()

        def make(db) -> str:
            out = io.StringIO()
            report.write_csv(self._account(db, period, now), out)
            return out.getvalue()

        name = f"corcypower-energy-{period.unit}-{period.first.isoformat()}.csv"
        self.page.download(
            name,
            make,
            lambda why: setattr(self.summary, "text", f"<p class='warn'>No CSV: {why}</p>"),
        )
