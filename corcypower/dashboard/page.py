"""One browser tab: its models, streamed from the shared poller, and its history views.

Live rows arrive on the poller's thread and are handed to the tab's document with
add_next_tick_callback (the one thread-safe way into a Bokeh document); they are streamed
with a rollover, never by replacing the source.
"""

from __future__ import annotations

import math
import socket
import time
from dataclasses import dataclass
from functools import partial

from bokeh.events import RangesUpdate
from bokeh.layouts import column, row
from bokeh.models import ColumnDataSource, Div, InlineStyleSheet, RadioButtonGroup

from corcypower.dashboard import cards, data, figures
from corcypower.dashboard.app import Dashboard, QueryFailed

LIVE_TICK_MS = 1000  # how often a tab checks that data still arrives
HEALTH_EVERY_S = 5.0  # how often the ADC diagnostics are refreshed (flags: at once)


@dataclass
class LiveUpdate:
    """New batches, made ready for a page: the same for every tab."""

    columns: dict[str, list]
    numbers: str
    gauge: dict[str, list]
    health: str
    flags: tuple


DAYS = 30  # of energy bars


class Page:
    """The dashboard in one tab."""

    def __init__(self, app: Dashboard, doc):
        self.app, self.doc = app, doc
        self.view, self.tz = app.view, app.tz
        self.last_ts = 0
        self.latest: dict | None = None
        self.rollover = math.ceil(self.view.live_ms / app.batch_ms) + 4
        self.queried: tuple[float, float] | None = None  # the history range on screen
        self.health_flags: tuple | None = None
        self.health_shown = 0.0

        self.live = ColumnDataSource(data.live_columns(self.view, [], self.tz), name="live")
        self.gauge = ColumnDataSource(
            figures.needle(0.0, self.view.gauge_max_w) | {"label": ["–"]}, name="gauge_needle"
        )
        empty = {"x": [], "mean": [], "min": [], "max": []}
        self.history = {
            n: ColumnDataSource(dict(empty), name=f"history_{n}") for n in self.view.currents
        }
        self.daily = ColumnDataSource(
            {"day": [], "x": [], "import_kwh": [], "export_kwh": [], "cost": []}, name="daily"
        )
        self._build()
        self.subscriber = self._from_poller
        self.on_batches(app.poller.subscribe(self.subscriber))
        doc.on_session_destroyed(lambda context: app.poller.unsubscribe(self.subscriber))
        doc.add_periodic_callback(self.check_stale, LIVE_TICK_MS)
        self.check_stale()
        self.show_range("day")
        self.load_daily()
        doc.add_periodic_callback(self.load_daily, 300_000)  # today's bar grows

    # --- layout ---------------------------------------------------------------------

    def _div(self, name: str, text: str = "", **kwargs) -> Div:
        css = InlineStyleSheet(css=cards.STYLE)
        # no side margins (the text has padding): a full-width Div with margins is wider than a phone
        kwargs = {"sizing_mode": "stretch_width", "margin": (4, 0, 4, 0)} | kwargs
        return Div(text=text, name=name, stylesheets=[css], **kwargs)

    def _build(self) -> None:
        v = self.view
        host = socket.gethostname()
        self.banner = self._div("banner", visible=False)
        self.title = self._div("title", f"<h2 style='margin:4px 0'>CorcyPower · {host}</h2>")
        # at least 300 px: on a phone the gauge wraps below the numbers instead of squeezing them
        self.numbers = self._div("numbers", cards.numbers_html([]), min_width=300)
        self.health = self._div("health", cards.health_html(None, self.app.state_url))
        self.history_note = self._div("history_note")
        self.daily_note = self._div("daily_note")
        self.live_plot = figures.live_figure(v, self.live)
        end = data.local_ms(time.time() * 1000, self.tz)
        self.history_plot = figures.history_figure(v, self.history, end - data.DAY_MS, end)
        self.history_plot.on_event(RangesUpdate, self.on_ranges_update)
        self.ranges = RadioButtonGroup(labels=list(data.RANGES_MS), active=1, name="ranges")
        self.ranges.on_change("active", self._on_range_button)
        now = time.time() * 1000
        self.daily_plot = figures.daily_figure(v, self.daily, *data.days_window(now, self.tz, DAYS))
        gauge = figures.gauge_figure(v, self.gauge)
        top = row(self.numbers, gauge, sizing_mode="stretch_width", styles={"flex-wrap": "wrap"})
        self.doc.title = f"CorcyPower · {host}"
        self.doc.add_root(
            column(
                self.banner,
                self.title,
                top,
                self.live_plot,
                self.ranges,
                self.history_plot,
                self.history_note,
                self.daily_plot,
                self.daily_note,
                self._div("health_title", "<h3 style='margin:4px 0'>Health</h3>"),
                self.health,
                sizing_mode="stretch_width",
                name="page",
            )
        )

    # --- live -----------------------------------------------------------------------

    def _from_poller(self, batches: list[dict]) -> None:
        """On the poller's thread: queue the batches for this tab's document."""
        self.doc.add_next_tick_callback(partial(self.on_batches, batches))

    def on_batches(self, batches: list[dict]) -> None:
        new = [b for b in batches if b["ts"] > self.last_ts]
        if not new:
            return
        # every tab gets the same batches together: prepare them once for all of them
        whole = len(new) == len(batches)
        update = self.app.once(batches, self._prepare) if whole else self._prepare(new)
        self.last_ts = new[-1]["ts"]
        self.latest = new[-1]
        self.live.stream(update.columns, rollover=self.rollover)
        self.numbers.text = update.numbers
        self.gauge.data = update.gauge
        # the diagnostics need no 2 Hz: every few seconds, or at once when a flag changes
        now = time.monotonic()
        if update.flags != self.health_flags or now - self.health_shown >= HEALTH_EVERY_S:
            self.health.text = update.health
            self.health_flags, self.health_shown = update.flags, now
        if self.banner.visible:
            self.banner.visible = False

    def _prepare(self, batches: list[dict]) -> LiveUpdate:
        """What the newest of `batches` changes on a page."""
        latest = batches[-1]
        readings = data.readings(self.view, latest)
        total = readings[0].watts
        label = f"{cards.watts_text(total)} {cards.direction(total)}".strip()
        status = f"last batch {data.clock_text(latest['ts'], self.tz)}"
        return LiveUpdate(
            data.live_columns(self.view, batches, self.tz),
            cards.numbers_html(readings, status),
            figures.needle(total, self.view.gauge_max_w) | {"label": [label]},
            cards.health_html(latest, self.app.state_url),
            tuple(tuple(ch["flags"]) for ch in latest["channels"]),
        )

    def check_stale(self) -> None:
        poller = self.app.poller
        text = cards.banner_text(
            poller.seconds_since_data(), self.view.stale_s, poller.error, self.app.state_url
        )
        if text:
            self.banner.text = f'<div class="banner">{text}</div>'
        if self.banner.visible != bool(text):
            self.banner.visible = bool(text)

    # --- history --------------------------------------------------------------------

    def _on_range_button(self, attr, old, new) -> None:
        self.show_range(list(data.RANGES_MS)[new])

    def show_range(self, name: str) -> None:
        """The last hour, day, week, month or year, up to now."""
        end = data.local_ms(time.time() * 1000, self.tz)
        start = end - data.RANGES_MS[name]
        self.history_plot.x_range.update(start=start, end=end)
        self.history_plot.title.text = f"History: the last {name}"
        self.load_history(start, end)

    def on_ranges_update(self, event: RangesUpdate) -> None:
        """Pan or zoom ended: query the new range at its own resolution."""
        if event.x0 is None or event.x1 is None:
            return
        if self.queried is not None:
            q0, q1 = self.queried
            tolerance = 0.01 * (q1 - q0)
            if abs(event.x0 - q0) <= tolerance and abs(event.x1 - q1) <= tolerance:
                return  # the range we just set (buttons) coming back from the browser
        self.history_plot.title.text = "History"
        self.load_history(event.x0, event.x1)

    def load_history(self, start: float, end: float) -> None:
        self.queried = (start, end)
        t0, t1 = data.utc_ms(start, self.tz), data.utc_ms(end, self.tz)
        job = partial(data.history_columns, view=self.view, start_ms=t0, end_ms=t1, tz=self.tz)
        self._run(lambda db: job(db), partial(self._show_history, (start, end)))

    def _show_history(self, asked: tuple[float, float], result) -> None:
        if asked != self.queried:
            return  # an older query: the view has moved on
        if isinstance(result, QueryFailed):
            self.history_note.text = f"<p class='warn'>No history: {result}</p>"
            return
        points = 0
        for name, cols in result.items():
            self.history[name].data = cols
            points = max(points, len(cols["x"]))
        self.history_note.text = f"<small>{points} points per channel</small>"

    def load_daily(self) -> None:
        job = partial(data.daily_columns, view=self.view, end_ms=None, tz=self.tz, days=DAYS)
        self._run(lambda db: job(db), self._show_daily)

    def _show_daily(self, result) -> None:
        if isinstance(result, QueryFailed):
            self.daily_note.text = f"<p class='warn'>No daily energy: {result}</p>"
            return
        self.daily.data = result
        self.daily_note.text = cards.daily_summary(result, self.view)

    def _run(self, fn, show) -> None:
        """fn(db) on a query thread, then show(result) in this tab's document."""
        future = self.app.query(fn)
        if self.app.executor is None:
            show(future.result())
        else:
            future.add_done_callback(
                lambda f: self.doc.add_next_tick_callback(partial(show, f.result()))
            )
