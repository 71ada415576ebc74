"""The alerts section: the alerts firing now, highlighted, and the events of the last day.

Read from power.db (alert_event, written by the daemon's alerts) with the query `corcypower
alerts` and the state API share (alerts.history.recent), every REFRESH_MS on a query thread;
times in the dashboard's time zone. A list, not a table: it stays readable on a phone (its
style: cards.STYLE).
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from html import escape

from bokeh.layouts import column

from corcypower.alerts.history import recent
from corcypower.clock import age_text
from corcypower.dashboard.app import QueryFailed
from corcypower.dashboard.section import Section

REFRESH_MS = 10_000  # the daemon records an event within a batch or two of deciding it
HOURS = 24.0  # of recent events
LIMIT = 20  # events listed at most


def read(db, now_ms: int) -> dict:
    """recent() of the last HOURS; none in a database the daemon has not upgraded yet."""
    if not db.query("SELECT 1 FROM sqlite_master WHERE name = 'alert_event'"):
        return {"active": [], "recent": []}
    return recent(db, now_ms, HOURS, LIMIT)


def local_text(ts_ms: int, tz: tzinfo) -> str:
    return datetime.fromtimestamp(ts_ms / 1000, tz).strftime("%a %d %b %H:%M")


def alerts_html(found: dict, now_ms: int, tz: tzinfo, configured: int) -> str:
    """The alerts firing (since when, for how long, what) and the recent events, newest first."""
    active = [
        f'<li class="alert"><span class="state">{escape(a["alert"])}</span> firing since '
        f'<span class="when">{local_text(a["since_ms"], tz)}</span> '
        f"({age_text((now_ms - a['since_ms']) / 1000)}): {escape(a['text'] or '')}</li>"
        for a in found["active"]
    ]
    events = [
        f'<li class="{escape(e["state"])}"><span class="when">{local_text(e["ts"], tz)}</span> '
        f'{escape(e["alert"])} <span class="state">{escape(e["state"])}</span>: '
        f"{escape(e['text'] or '')}</li>"
        for e in found["recent"]
    ]
    if active:
        head = f'<ul class="active">{"".join(active)}</ul>'
    else:
        head = '<p class="none">No alert firing.</p>'
    if not configured:
        head += '<p class="none">No [[alerts]] configured (see docs/alerts.md).</p>'
    hours = f"{HOURS:g} h"
    if events:
        tail = f'<h4>Last {hours}</h4><ul class="recent">{"".join(events)}</ul>'
    else:
        tail = f'<p class="none">No events in the last {hours}.</p>'
    return f'<div class="alerts">{head}{tail}</div>'


class AlertsSection(Section):
    name = "alerts_section"

    def layout(self):
        page = self.page
        self.configured = len(page.app.config.alerts)
        self.list = page.div("alerts", '<p class="none">Reading the alerts…</p>')
        return column(
            page.div("alerts_title", "<h3>Alerts</h3>"), self.list, sizing_mode="stretch_width"
        )

    def start(self) -> None:
        self.refresh()
        self.page.doc.add_periodic_callback(self.refresh, REFRESH_MS)

    def refresh(self) -> None:
        now = self.page.now_ms()
        self.page.run(lambda db: (now, read(db, now)), self._show)

    def _show(self, result) -> None:
        if isinstance(result, QueryFailed):
            html = f'<p class="none">Alerts cannot be read: {escape(result)}</p>'
        else:
            now, found = result
            html = alerts_html(found, now, self.page.tz, self.configured)
        if self.list.text != html:  # a new text lays the page out again: only when it changed
            self.list.text = html
