"""End to end in headless Chromium, a three-phase house: examples/three-phase.toml on the
emulated chip with a main fuse of 25 A, `corcypower run` and `corcypower dashboard` as
processes, the page at every phone width and the desktop's (the layout checks of
test_browser.py), the phase balance drawn from the live batches and greyed when they stop.
"""

from __future__ import annotations

import re
import time

import pytest
import tomlkit

from corcypower import settings
from corcypower.store.database import Database
from corcypower.store.simulate import simulate
from tests.dashboard.browser import DESKTOP_WIDTH, PHONE_WIDTHS, require_browser
from tests.dashboard.helpers import free_port
from tests.dashboard.processes import page_stack
from tests.dashboard.test_browser import FITS, layout_problems, open_page
from tests.helpers import REPO

FUSE_AMPS = 25
# the balance once a batch has been drawn in it: an amps figure on every phase
BALANCE = """() => { const m = Bokeh.documents[0].get_model_by_name('balance');
  const v = m && Bokeh.index.find_one(m); if (!v) return false;
  const amps = [...v.shadow_el.querySelectorAll('.phase .amps')].map(e => e.textContent);
  return amps.length == 3 && amps.every(a => /[0-9] A$/.test(a)) }"""
SHADOW = """(selector) => { const v = Bokeh.index.find_one(
  Bokeh.documents[0].get_model_by_name('balance'));
  return [...v.shadow_el.querySelectorAll(selector)].map(e => e.textContent) }"""


def three_phase_config(tmp) -> tuple:
    """examples/three-phase.toml (its fuse: 25 A) on the emulated chip, with free ports."""
    data = tomlkit.parse((REPO / "examples" / "three-phase.toml").read_text())
    api_port, page_port = free_port(), free_port()
    data["adc"] = {"chip": "emulated", "sample_rate_hz": 2000}
    data["emulator"] = {"chip": "mcp3208", "seed": 7}
    assert data["mains"]["fuse_amps"] == FUSE_AMPS  # the example sets it
    data["store"] = {"path": str(tmp / "power.db"), "commit_seconds": 2}
    data["api"] = {"port": api_port}
    data["dashboard"] |= {"port": page_port, "stale_seconds": 3.0, "timezone": "Europe/Paris"}
    path = tmp / "config.toml"
    path.write_text(tomlkit.dumps(data))
    return path, page_port


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """Two days of the three-phase house's history, then the monitor and the dashboard."""
    require_browser()
    tmp = tmp_path_factory.mktemp("three-phase")
    config, port = three_phase_config(tmp)
    with Database(tmp / "power.db") as db:
        simulate(db, settings.load(config), days=2, end_ms=int(time.time() * 1000) - 1000)
    with page_stack(config, port, channels=5) as stack:
        yield stack


@pytest.mark.parametrize("width", [*PHONE_WIDTHS, DESKTOP_WIDTH])
def test_the_three_phase_page_fits_with_readable_text_and_its_balance(stack, width):
    page = open_page(stack, width)
    try:
        page.wait_for_function(BALANCE)
        problems = layout_problems(page)
        assert problems["texts"] > 40
        assert problems | {"texts": 0} == FITS
        names = page.evaluate(SHADOW, ".phase .name")
        assert names == ["L1", "L2", "L3"]
        shares = page.evaluate(SHADOW, ".phase .small")
        assert all(re.match(rf"\d+ % of {FUSE_AMPS} A · (headroom|over)", s) for s in shares)
        # two days of history: the day's peaks are read from the rollups
        page.wait_for_function(f"() => ({SHADOW})('.phase .small').every(s => /peak/.test(s))")
        peaks = page.evaluate(SHADOW, ".phase .small")
        assert all(re.search(r"24 h peak \d+\.\d A at \d\d:\d\d", s) for s in peaks), peaks
        summary = page.evaluate(SHADOW, ".balance .summary")[0]
        assert re.match(r"Imbalance \d+\.\d A \(L\d − L\d\) · most headroom: ", summary)
        if width < DESKTOP_WIDTH:  # phone: the phases one under the other, each the full width
            boxes = page.evaluate(
                """() => [...Bokeh.index.find_one(Bokeh.documents[0].get_model_by_name('balance'))
                  .shadow_el.querySelectorAll('.phase')].map(e => e.getBoundingClientRect().top)"""
            )
            assert boxes == sorted(boxes) and len(set(boxes)) == 3
        assert page.errors == []
    finally:
        page.context.close()


def test_the_balance_greys_when_the_daemon_stops(stack):
    page = open_page(stack, PHONE_WIDTHS[0])
    try:
        page.wait_for_function(BALANCE)
        assert stack["daemon"].stop() == 0
        page.wait_for_function(f"() => ({SHADOW})('.balance.stale .status').length == 1")
        status = page.evaluate(SHADOW, ".balance.stale .status")[0]
        assert status.startswith("no data for") and "last batch" in status
        assert page.errors == []
    finally:
        page.context.close()
