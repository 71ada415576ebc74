"""The health section: the original's ADC diagnostics per channel, and what each flag means."""

from __future__ import annotations

import time

from bokeh.layouts import column

from corcypower.dashboard import cards
from corcypower.dashboard.section import Section

HEALTH_EVERY_S = 5.0  # how often the ADC diagnostics are refreshed (flags: at once)


class HealthSection(Section):
    name = "health_section"

    def layout(self):
        page = self.page
        self.flags: tuple | None = None
        self.shown = 0.0
        self.health = page.div("health", cards.health_html(None, page.app.state_url))
        return column(
            page.div("health_title", "<h3>Health</h3>"), self.health, sizing_mode="stretch_width"
        )

    def prepare(self, batches: list[dict]) -> tuple[str, tuple]:
        latest = batches[-1]
        flags = tuple(tuple(ch.get("flags", ())) for ch in latest["channels"])
        return cards.health_html(latest, self.page.app.state_url), flags

    def show(self, prepared: tuple[str, tuple]) -> None:
        # the diagnostics need no 2 Hz: every few seconds, or at once when a flag changes
        html, flags = prepared
        now = time.monotonic()
        if flags != self.flags or now - self.shown >= HEALTH_EVERY_S:
            self.health.text = html
            self.flags, self.shown = flags, now
