"""The phase balance section: each phase's current against the main fuse, from batches the
analysis made of analytic three-phase waveforms, and the day's peaks from a seeded power.db
(checked against the sqlite3 shell's power_minute_phase)."""

from __future__ import annotations

import os
import re
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from corcypower.clock import FakeClock
from corcypower.dashboard.sections.phases import (
    Peak,
    PhaseNow,
    balance_html,
    headroom,
    imbalance,
    live_phases,
    read_peaks,
)
from corcypower.live.ring import batch_dict
from corcypower.settings import from_dict
from corcypower.store.database import Database
from corcypower.store.retention import Retention
from corcypower.store.writer import register_channels, write_rows
from tests.analysis_signals import Input, Wave, by_name, current, lag, scan, voltage
from tests.dashboard.helpers import build_page
from tests.store.conftest import T0, current_rows, sqlite3_shell, tiled

PARIS = ZoneInfo("Europe/Paris")
HOUR = 3_600_000
L1 = Wave(230.0, 50.0)
# Three phases from one voltage channel; L3 has two CTs (two sub-panels), 90° apart: through
# the fuse flows their phasor sum, √(8² + 6²) = 10 A, less than the sum of their RMS, 14 A.
CURRENTS = {
    "l1": (Wave(10.0, 50.0, lag(L1, 0.9)), 0.0),
    "l2": (Wave(6.0, 50.0, lag(L1.shifted(-120.0), 1.0)), 120.0),
    "l3a": (Wave(8.0, 50.0, lag(L1.shifted(-240.0), 1.0)), 240.0),
    "l3b": (Wave(6.0, 50.0, lag(L1.shifted(-240.0), 1.0) - 90.0), 240.0),
}
PHASE_OF = {"l1": "L1", "l2": "L2", "l3a": "L3", "l3b": "L3"}
CHANNELS = [
    {"name": "l1_v", "adc_channel": 0, "kind": "voltage", "scale": 0.25, "phase": "L1"},
    *(
        {"name": n, "adc_channel": k, "kind": "current", "scale": 0.02, "voltage": "l1_v",
         "voltage_shift_deg": CURRENTS[n][1], "phase": PHASE_OF[n]}
        for k, n in enumerate(CURRENTS, start=1)
    ),
    # a sub-circuit on L1: inside l1 already, not one of the grid channels
    {"name": "oven", "adc_channel": 5, "kind": "current", "scale": 0.02, "voltage": "l1_v",
     "phase": "L1"},
]  # fmt: skip
GRID = ["l1", "l2", "l3a", "l3b"]
SECTIONS = {"channels": CHANNELS, "dashboard": {"grid_channels": GRID, "solar_channels": []}}


@pytest.fixture(scope="module")
def analysed() -> dict:
    """One batch of the analytic waveforms, as the daemon's analysis measures it (12 bits)."""
    inputs = [Input(voltage("l1_v"), L1, 2048.0)]
    for k, (name, (wave, shift)) in enumerate(CURRENTS.items(), start=1):
        channel = current(name, voltage="l1_v", adc_channel=k, voltage_shift_deg=shift)
        inputs.append(Input(channel, wave, 2048.0))
    stats = by_name(inputs, scan(inputs, seconds=0.5, rate_hz=4000.0))
    return batch_dict(T0, 500, list(stats.values()))


def groups() -> dict[str, tuple[str, ...]]:
    return {"L1": ("l1",), "L2": ("l2",), "L3": ("l3a", "l3b")}


def test_each_phase_is_its_grid_channels_irms_added(analysed):
    phases = {p.phase: p for p in live_phases(analysed, groups())}
    assert phases["L1"].amps == pytest.approx(10.0, rel=2e-3)
    assert phases["L2"].amps == pytest.approx(6.0, rel=2e-3)
    # two CTs: the sum of their RMS, an upper bound of the 10 A through the fuse
    assert phases["L3"].amps == pytest.approx(14.0, rel=2e-3) and phases["L3"].amps >= 10.0
    assert phases["L3"].channels == 2
    assert phases["L1"].watts == pytest.approx(230.0 * 10.0 * 0.9, rel=2e-3)
    assert phases["L2"].watts == pytest.approx(230.0 * 6.0, rel=2e-3)


def test_a_channel_unknown_makes_its_phase_unknown_never_a_partial_sum(analysed):
    batch = dict(analysed, channels=[c for c in analysed["channels"] if c["name"] != "l3b"])
    phases = {p.phase: p for p in live_phases(batch, groups())}
    assert phases["L3"].amps is None and phases["L3"].watts is None
    assert imbalance(list(phases.values())) is None
    assert phases["L1"].amps == pytest.approx(10.0, rel=2e-3)


def test_headroom_is_the_fuse_less_the_higher_of_now_and_the_peak():
    now = PhaseNow("L1", 20.0, 4600.0, 1)
    assert headroom(25.0, now, None) == 5.0
    assert headroom(25.0, now, Peak(22.5, T0)) == 2.5
    assert headroom(25.0, now, Peak(12.0, T0)) == 5.0  # the current now is higher
    assert headroom(25.0, PhaseNow("L1", 30.0, None, 1), None) == -5.0
    assert (
        headroom(0.0, now, None) is None
        and headroom(25.0, PhaseNow("L1", None, None, 1), None) is None
    )


def test_the_imbalance_is_the_largest_less_the_smallest_current():
    phases = [PhaseNow("L1", 10.0, 0, 1), PhaseNow("L2", 6.0, 0, 1), PhaseNow("L3", 14.0, 0, 2)]
    assert imbalance(phases) == (8.0, "L3", "L2")
    assert imbalance(phases[:1]) is None  # one phase: nothing to balance


def cells(html: str) -> dict[str, str]:
    """Each phase's card as text, by phase (tags dropped)."""
    found = re.findall(
        r'<div class="phase[^"]*">(.*?)</div></div>(?=<div class="phase|</div>)', html
    )
    text = [re.sub(r"<[^>]+>", " ", c) for c in found]
    return {t.split()[0]: " ".join(t.split()) for t in text}


def test_with_a_fuse_each_phase_shows_its_share_headroom_and_bar(analysed):
    phases = live_phases(analysed, groups())
    peaks = {"L1": Peak(18.3, T0 - HOUR), "L2": Peak(4.0, T0 - 2 * HOUR)}
    html = balance_html(phases, peaks, 16.0, PARIS, "last batch 01:00:00")
    shown = cells(html)
    # L1: 10 A of 16 (62 %); the day's peak 18.3 A is over the fuse
    assert shown["L1"].startswith("L1 10.0 A 2070 W 62 % of 16 A · over the fuse by 2.3 A")
    assert shown["L1"].endswith("24 h peak 18.3 A at 00:00")  # T0 is 01:00 in Paris
    assert shown["L2"].startswith("L2 6.0 A 1380 W 38 % of 16 A · headroom 10.0 A")
    # L3: 14 A (an upper bound: "≤"; measured 0.1 % under) of 16 is 87 %: amber; no peak yet
    assert shown["L3"].startswith("L3 ≤ 14.0 A") and "87 % of 16 A · headroom 2.0 A" in shown["L3"]
    assert shown["L3"].endswith("no peak yet")
    assert re.search(r'<div class="phase warn">.*?≤ 14\.0 A', html)
    widths = [float(w) for w in re.findall(r'class="fill" style="width: ([0-9.]+)%"', html)]
    assert widths == pytest.approx([62.5, 37.5, 87.5], abs=0.2)
    assert re.findall(r'class="peak" style="left: ([0-9.]+)%"', html) == ["99.0", "24.8"]
    assert "Imbalance 8.0 A (L3 − L2) · most headroom: 10.0 A on L2" in html
    assert "fuse_amps" not in html


@pytest.mark.parametrize(
    ("amps", "css", "width"),
    [(12.7, "", "79.4"), (12.8, "warn", "80.0"), (16.0, "over", "100.0"), (40.0, "over", "100.0")],
)
def test_the_bar_turns_amber_at_80_and_red_at_100_percent(amps, css, width):
    html = balance_html([PhaseNow("L1", amps, None, 1)], {}, 16.0, PARIS)
    assert f'<div class="phase {css}">' in html and f'style="width: {width}%"' in html


def test_without_a_fuse_rating_the_currents_show_and_the_key_is_named(analysed):
    html = balance_html(live_phases(analysed, groups()), {}, 0.0, PARIS)
    assert "Main fuse rating not set" in html and "<code>fuse_amps = 63</code>" in html
    assert "<code>[mains]</code>" in html and 'class="bar"' not in html
    assert cells(html)["L1"] == "L1 10.0 A 2070 W 1 CT no peak yet"
    assert cells(html)["L3"].startswith("L3 ≤ 14.0 A") and cells(html)["L3"].endswith(
        "2 CTs added no peak yet"
    )
    assert "most headroom" not in html
    assert "Imbalance 8.0 A (L3 − L2)" in html


# --- the day's peaks, from the rollups -------------------------------------------------------

UTC = os.environ | {"TZ": "UTC"}


def seeded(path, minutes: int, amps_of, missing=None) -> None:
    """`minutes` of 0.5 s batches from T0 on CHANNELS; each grid channel's Irms in minute m
    is amps_of(name, m); `missing` (name, minute): that channel has no batches then."""
    config = from_dict({"channels": CHANNELS, "dashboard": {"grid_channels": GRID}})
    ends = tiled(T0, minutes * 60)
    minute = (ends - 1 - T0) // 60_000
    with Database(path) as db:
        ids = register_channels(db, config.channels, "mcp3208", T0, config.grid_channels)
        with db.atomic() as conn:
            for name in [*GRID, "oven"]:
                keep = np.ones(len(ends), bool)
                if missing and missing[0] == name:
                    keep = minute != missing[1]
                irms = np.array([amps_of(name, m) for m in minute[keep]])
                rows = current_rows(ends[keep], 230.0 * irms, channel_id=ids[name], irms=irms)
                write_rows(conn, rows, T0, Retention(None))


def ramp(name: str, minute: int) -> float:
    """Irms: L1 peaks at minute 7 (31 A), L2 rises all the time, L3's two CTs cross."""
    base = {"l1": 31.0 - abs(minute - 7), "l2": 2.0 + 0.5 * minute, "oven": 40.0}
    base |= {"l3a": 3.0 + minute, "l3b": 20.0 - minute}  # their sum is 23 A every minute
    return base[name]


def test_the_peaks_are_each_phases_highest_minute_as_the_shell_reads_it(tmp_path):
    seeded(tmp_path / "power.db", 20, ramp)
    with Database(tmp_path / "power.db", read_only=True) as db:
        peaks = read_peaks(db, T0 + 20 * 60_000)
    assert peaks["L1"] == Peak(pytest.approx(31.0), T0 + 7 * 60_000)  # the oven is inside l1
    assert peaks["L2"] == Peak(pytest.approx(2.0 + 0.5 * 19), T0 + 19 * 60_000)
    assert peaks["L3"].amps == pytest.approx(23.0)
    shell = sqlite3_shell(
        tmp_path / "power.db",
        "SELECT phase, max(current_a) FROM power_minute_phase WHERE phase != 'house' "
        f"AND ts >= {T0} GROUP BY phase ORDER BY phase",
        env=UTC,
    )
    assert {p: float(a) for p, a in (line.split("|") for line in shell.split())} == {
        p: round(peak.amps, 3) for p, peak in peaks.items()
    }


def test_the_peaks_look_back_24_hours_and_skip_a_minute_missing_a_channel(tmp_path):
    seeded(tmp_path / "power.db", 20, ramp, missing=("l3b", 3))
    with Database(tmp_path / "power.db", read_only=True) as db:
        later = read_peaks(db, T0 + 24 * HOUR + 10 * 60_000)  # minutes 0-9 are over a day old
        assert later["L1"] == Peak(pytest.approx(31.0 - 3), T0 + 10 * 60_000)
        # l3b lost minute 3, where l3a alone (6 A) would have been a partial sum: never counted
        l3 = db.query(
            "SELECT count(*) FROM rollup_1m WHERE ts = ? AND channel_id IN "
            "(SELECT id FROM channel WHERE phase = 'L3')",
            (T0 + 3 * 60_000,),
        )[0][0]
        assert l3 == 1 and read_peaks(db, T0 + 20 * 60_000)["L3"].ts != T0 + 3 * 60_000


# --- the section in a page --------------------------------------------------------------------


def section_html(page) -> str:
    return page.doc.get_model_by_name("balance_parts").data["html"][0]


def test_the_page_shows_the_balance_after_the_live_numbers_when_channels_have_phases(
    tmp_path, analysed
):
    seeded(tmp_path / "power.db", 20, ramp)
    clock = FakeClock(wall_ms=T0 + 20 * 60_000)
    page = build_page(
        tmp_path / "power.db", [analysed], clock=clock, mains={"fuse_amps": 32}, **SECTIONS
    )
    names = [c.name for c in page.doc.get_model_by_name("page").children]
    assert names.index("phases_section") == names.index("live_section") + 1
    html = section_html(page)
    shown = cells(html)
    # L1 10 A now, 31 A at minute 7 (01:07 in Paris): 1.0 A of headroom left
    assert shown["L1"].startswith("L1 10.0 A") and "31 % of 32 A · headroom 1.0 A" in shown["L1"]
    assert shown["L1"].endswith("24 h peak 31.0 A at 01:07")
    assert "9.0 A" in shown["L3"]  # 32 less L3's 23 A peak
    assert "most headroom: 20.5 A on L2" in html  # 32 less L2's 11.5 A peak
    assert page.doc.get_model_by_name("balance").text.startswith("<h3>Phase balance</h3>")


def test_stale_data_greys_the_balance_with_its_age(tmp_path, analysed):
    page = build_page(tmp_path / "none.db", [analysed], **SECTIONS)
    section = page.section("phases_section")
    assert 'class="balance"' in section_html(page)
    section.tick(page.view.stale_s + 7)
    html = section_html(page)
    assert 'class="balance stale"' in html and "no data for" in html and "last batch" in html
    assert "Main fuse rating not set" in html  # and no database: the live part still shows
    section.show(section.prepare([dict(analysed, ts=T0 + 500)]))
    assert 'class="balance"' in section_html(page)


def test_without_phases_the_section_is_hidden_and_makes_no_models(tmp_path):
    page = build_page(tmp_path / "none.db")
    part = page.doc.get_model_by_name("phases_section")
    assert part.children[0].visible is False and page.doc.get_model_by_name("balance") is None
