"""/api/v1/state's per-phase totals and the whole house (corcypower/live/phases.py)."""

from __future__ import annotations

from corcypower import settings
from corcypower.analysis import ChannelStats
from corcypower.clock import FakeClock
from corcypower.live.api import StateAPI
from corcypower.live.phases import group_total
from corcypower.live.ring import Ring
from tests.live.helpers import get

V = {"name": "v", "adc_channel": 0, "kind": "voltage", "scale": 0.25, "phase": "L1"}


def ct(name: str, adc: int, phase: str | None, **kw) -> dict:
    out = {"name": name, "adc_channel": adc, "kind": "current", "scale": 0.02} | kw
    return out | ({"phase": phase} if phase else {})


def current(name: str, watts: float | None, amps: float) -> ChannelStats:
    return ChannelStats(
        name,
        "current",
        1000,
        2048.0,
        2000,
        2100,
        30.0,
        irms=amps,
        real_power_w=watts,
        apparent_power_va=None if watts is None else abs(watts),
    )


def test_a_total_is_never_a_partial_sum():
    channels = [{"name": "a", "real_power_w": 100.0, "irms": 0.5}, {"name": "b", "irms": 0.2}]
    assert group_total(channels, ("a",), None) == {
        "channels": ["a"],
        "real_power_w": 100.0,
        "irms": 0.5,
    }
    assert group_total(channels, ("a", "b"), None)["real_power_w"] is None  # b's P unknown
    total = group_total(channels, ("a", "b"), {"a": (1.2344, 0.1), "b": (2.0, 0.0)})
    assert total["energy_import_kwh"] == 3.234 and total["energy_export_kwh"] == 0.1


def test_state_adds_up_the_grid_channels_of_each_phase_and_the_house():
    config = settings.from_dict(
        {
            "api": {"port": 0},
            "dashboard": {"grid_channels": ["l1", "l2", "l3", "l3b"]},
            "channels": [
                V,
                ct("l1", 1, "L1"),
                ct("l2", 2, "L2", voltage_shift_deg=120),
                ct("l3", 3, "L3", voltage_shift_deg=240),
                ct("l3b", 4, "L3", voltage_shift_deg=240),
                ct("oven", 5, "L1"),  # a sub-circuit inside l1: tagged, not counted twice
            ],
        }
    )
    api = StateAPI(Ring(600, 0.5), config, FakeClock(), energy=lambda: {"l1": (1.0, 0.5)})
    api.start()
    try:
        volts = ChannelStats("v", "voltage", 1000, 2048.0, 700, 3390, 920.0, 230.0, 50.0)
        watts = {"l1": 1000.0, "l2": 500.0, "l3": -200.0, "l3b": 50.0, "oven": 800.0}
        batch = [volts, *(current(n, w, abs(w) / 230) for n, w in watts.items())]
        api.ring.add(api.clock.wall_ms(), 500, batch)
        status, doc = get(api.url + "/api/v1/state")
    finally:
        api.close()
    assert status == 200
    phases = doc["phases"]
    assert list(phases) == ["L1", "L2", "L3"]
    assert phases["L1"]["channels"] == ["l1"] and phases["L1"]["real_power_w"] == 1000.0
    assert phases["L3"]["channels"] == ["l3", "l3b"] and phases["L3"]["real_power_w"] == -150.0
    assert abs(phases["L3"]["irms"] - 250 / 230) < 1e-12
    assert phases["L1"]["energy_import_kwh"] == 1.0 and phases["L2"]["energy_import_kwh"] == 0.0
    assert doc["house"]["real_power_w"] == 1350.0
    assert doc["house"]["channels"] == ["l1", "l2", "l3", "l3b"]


def test_no_phases_configured_no_totals():
    config = settings.from_dict({"api": {"port": 0}, "channels": [V, ct("main", 1, None)]})
    api = StateAPI(Ring(600, 0.5), config, FakeClock())
    api.start()
    try:
        api.ring.add(api.clock.wall_ms(), 500, [current("main", 10.0, 0.1)])
        _, doc = get(api.url + "/api/v1/state")
    finally:
        api.close()
    assert "phases" not in doc and "house" not in doc
