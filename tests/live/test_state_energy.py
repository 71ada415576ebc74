"""The state API's cumulative energy: each current channel's committed kWh, for a Home
Assistant REST sensor; its template rendered with Jinja2 as Home Assistant does."""

from __future__ import annotations

import json

from jinja2.sandbox import ImmutableSandboxedEnvironment

from corcypower.clock import FakeClock
from corcypower.live.api import StateAPI
from corcypower.live.ring import Ring
from corcypower.store.totals import Energy
from tests.live.helpers import config, get, stats

# the REST sensor of docs/mqtt.md picks its channel out of the list by name
REST_TEMPLATE = (
    "{{ (value_json.channels | selectattr('name', 'eq', 'main') | first).energy_import_kwh }}"
)


def serve(energy):
    clock = FakeClock()
    api = StateAPI(Ring(600, 0.5), config(), clock, energy).start()
    api.ring.add(clock.wall_ms(), 500, stats(watts=200.0))
    return api


def test_current_channels_carry_their_committed_kwh():
    api = serve(lambda: {"main": Energy(1234.567, 8.9)})
    try:
        status, doc = get(api.url + "/api/v1/state")
    finally:
        api.close()
    assert status == 200
    volts, main = doc["channels"]
    assert (main["energy_import_kwh"], main["energy_export_kwh"]) == (1234.567, 8.9)
    assert "energy_import_kwh" not in volts
    assert doc["units"]["energy_import_kwh"] == doc["units"]["energy_export_kwh"] == "kWh"
    rendered = (
        ImmutableSandboxedEnvironment()
        .from_string(REST_TEMPLATE)
        .render(value=json.dumps(doc), value_json=doc)
    )
    assert rendered == "1234.567"


def test_no_energy_committed_yet_is_zero_and_unknown_is_left_out():
    api = serve(lambda: {})  # power.db read: this channel has no energy yet
    try:
        assert get(api.url + "/api/v1/state")[1]["channels"][1]["energy_import_kwh"] == 0.0
        api.energy = lambda: None  # power.db not readable yet: no number rather than a wrong one
        assert "energy_import_kwh" not in get(api.url + "/api/v1/state")[1]["channels"][1]
    finally:
        api.close()
