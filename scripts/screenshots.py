"""Regenerate the dashboard's screenshots in docs/: a phone and a desktop.

    python scripts/screenshots.py            # (make screenshots) about two minutes

A week of the emulated household with three circuits on their own channels is simulated
into a temporary power.db, then `corcypower run` (the emulated chip) and `corcypower
dashboard` run on it as users run them, and headless Chromium photographs the page:
docs/screenshot-phone.png (390 px wide, the top of the page and the energy of today) and
docs/screenshot-desktop.png (1366 px, the whole page). An alert is configured, and two are
stored as having fired (helpers.store_alerts), so the alerts section shows what it looks like in use.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import tomlkit

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from corcypower import settings  # noqa: E402
from corcypower.store.database import Database  # noqa: E402
from corcypower.store.simulate import simulate  # noqa: E402
from tests.dashboard.browser import DRAWN, context, launch, require_browser  # noqa: E402
from tests.dashboard.helpers import HOUSE, free_port, store_alerts  # noqa: E402
from tests.dashboard.processes import corcypower  # noqa: E402

DAYS = 7.0
LIVE_MINUTE = "() => Bokeh.documents[0].get_model_by_name('live').data.ts.length >= 120"
PAINTED = (
    "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))"
)


def house(tmp: Path) -> dict:
    """The config: the emulated MCP3208, mains, the grid meter, the panels and three circuits,
    and an alert on the house's standby."""
    return HOUSE | {
        "alerts": [
            {"name": "standby", "channel": "total", "above_w": 150, "for_seconds": 600},
        ],
        "adc": {"chip": "emulated"},
        "store": {"path": str(tmp / "power.db"), "commit_seconds": 10.0},
        "api": {"port": free_port()},
        "dashboard": {
            "port": free_port(),
            "grid_channels": ["main"],
            "solar_channels": ["solar"],
            "timezone": "Europe/Paris",
        },
    }


def main() -> None:
    require_browser()
    from playwright.sync_api import sync_playwright

    tmp = Path(tempfile.mkdtemp(prefix="corcypower-screenshots-"))
    data = house(tmp)
    # history in 10 s batches (a week simulates in a minute); the daemon then adds 0.5 s ones
    history = settings.from_dict(data | {"adc": data["adc"] | {"batch_seconds": 10.0}})
    with Database(tmp / "power.db") as db:
        simulate(db, history, DAYS, end_ms=round(time.time() * 1000) - 2000)
    store_alerts(tmp / "power.db", round(time.time() * 1000), name="standby")
    config = tmp / "config.toml"
    # 1000 Hz: six channels sampled on a build machine shared with other work stay on time
    config.write_text(tomlkit.dumps(data | {"adc": data["adc"] | {"sample_rate_hz": 1000}}))
    daemon = corcypower("run", "--config", str(config), cwd=tmp)
    dashboard = corcypower("dashboard", "--config", str(config), cwd=tmp)
    try:
        url = dashboard.wait_for(r"CorcyPower dashboard: (http://\S+)").group(1)
        daemon.wait_for("sampling")
        with sync_playwright() as p:
            browser = launch(p)
            for name, width, full in (("phone", 390, False), ("desktop", 1366, True)):
                page = context(
                    browser, width, height=1400 if width < 800 else 900, scale=2
                ).new_page()
                page.goto(url)
                page.wait_for_function(DRAWN)
                page.wait_for_function(LIVE_MINUTE)  # the live plot: a minute of batches
                if full:  # the whole page: yesterday's energy, a whole day of it
                    summary = "Bokeh.documents[0].get_model_by_name('energy_summary').text"
                    before = page.evaluate(f"() => {summary}")
                    page.get_by_role("button", name="◀").click()
                    page.wait_for_function(f"(before) => {summary} != before", arg=before)
                page.evaluate(PAINTED)
                out = REPO / "docs" / f"screenshot-{name}.png"
                page.screenshot(path=str(out), full_page=full)
                print(f"wrote {out.relative_to(REPO)}")
                page.context.close()
            browser.close()
    finally:  # both stopped, whatever happens
        try:
            dashboard.stop()
        finally:
            daemon.stop()


if __name__ == "__main__":
    main()
