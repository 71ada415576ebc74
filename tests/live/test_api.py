"""The state API over real HTTP: its three answers, long polls, and its errors as JSON."""

from __future__ import annotations

import threading
from datetime import datetime

import pytest

from corcypower.clock import FakeClock
from corcypower.live.api import LiveError, StateAPI, parse_live_query
from corcypower.live.ring import Ring
from tests.live.helpers import CLIPPED, config, get, stats


@pytest.fixture(scope="module")
def server():
    server = StateAPI(Ring(600, 0.5), config(), FakeClock()).start()
    yield server
    server.close()


@pytest.fixture
def api(server):
    """The module's server with an empty ring and a fresh clock."""
    server.ring = Ring(600, 0.5)
    server.clock = server.clock_ = FakeClock()
    return server


def test_state_is_the_last_batch_with_units_time_age_and_health(api):
    ts = api.clock_.wall_ms() - 250
    api.ring.add(ts - 500, 500, stats(watts=100.0))
    api.ring.add(ts, 500, stats(watts=200.0, flags=CLIPPED))
    status, doc = get(api.url + "/api/v1/state")
    assert status == 200
    assert doc["ts"] == ts and doc["age_ms"] == 250 and doc["duration_ms"] == 500
    assert datetime.fromisoformat(doc["time"]).timestamp() * 1000 == ts  # local, with offset
    assert doc["units"]["real_power_w"] == "W" and doc["units"]["vrms"] == "V"
    volts, main = doc["channels"]
    assert (volts["name"], volts["unit"], volts["vrms"], volts["ok"]) == (
        "mains_v",
        "V",
        230.0,
        True,
    )
    assert (main["unit"], main["real_power_w"], main["ok"], main["flags"]) == (
        "A",
        200.0,
        False,
        ["clipped"],
    )


def test_state_before_the_first_batch_is_503_with_a_reason(api):
    status, doc = get(api.url + "/api/v1/state")
    assert status == 503 and "no batch analysed yet" in doc["error"]


def test_live_returns_batches_newer_than_since(api):
    for ts in (1000, 1500, 2000):
        api.ring.add(ts, 500, stats())
    status, doc = get(api.url + "/api/v1/live?since=1000")
    assert status == 200
    assert [b["ts"] for b in doc["batches"]] == [1500, 2000]
    assert doc["newest"] == 2000 and doc["ring_seconds"] == 600
    assert [b["ts"] for b in get(api.url + "/api/v1/live")[1]["batches"]] == [1000, 1500, 2000]


def test_live_with_wait_answers_as_soon_as_a_batch_arrives(api):
    api.ring.add(1000, 500, stats())
    answer = {}
    poll = threading.Thread(
        target=lambda: answer.update(doc=get(api.url + "/api/v1/live?since=1000&wait=30")[1])
    )
    poll.start()
    api.ring.add(1500, 500, stats())
    poll.join(timeout=20)
    assert [b["ts"] for b in answer["doc"]["batches"]] == [1500]


def test_channels_describes_the_configured_channels(api):
    status, doc = get(api.url + "/api/v1/channels")
    assert status == 200 and doc["ring_seconds"] == 900
    assert [(c["name"], c["kind"], c["unit"]) for c in doc["channels"]] == [
        ("mains_v", "voltage", "V"),
        ("main", "current", "A"),
    ]
    assert doc["channels"][1]["voltage"] == "mains_v"


def test_channels_show_a_derived_or_line_to_line_voltage_as_the_config_writes_it():
    from corcypower import settings
    from corcypower.live.api import channels_doc

    volts = {"name": "v", "adc_channel": 0, "kind": "voltage", "scale": 0.25}
    cts = [
        {
            "name": "l2",
            "adc_channel": 1,
            "kind": "current",
            "scale": 0.02,
            "voltage_shift_deg": 120,
        },
        {
            "name": "pump",
            "adc_channel": 2,
            "kind": "current",
            "scale": 0.02,
            "voltage": ["v", "v@120"],
        },
        {"name": "fixed", "adc_channel": 3, "kind": "current", "scale": 0.02, "voltage": 230},
    ]
    doc = channels_doc(settings.from_dict({"channels": [volts, *cts]}))
    assert [c.get("voltage") for c in doc["channels"]] == [None, "v@120", "v - v@120", 230.0]


@pytest.mark.parametrize(
    "query, expected",
    [
        ("since=abc", "since='abc': expected whole milliseconds since the epoch (UTC), >= 0"),
        ("since=-5", "since='-5': expected whole milliseconds"),
        ("since=1.5", "since='1.5': expected whole milliseconds"),
        ("since=1&since=2", "since is given 2 times; expected it once"),
        ("wait=60", "wait='60': expected seconds from 0 to 30"),
        ("wait=soon", "wait='soon': expected seconds from 0 to 30"),
        ("wait=nan", "wait='nan': expected seconds from 0 to 30"),
        ("limit=5", "unknown parameter 'limit'; expected since and wait"),
    ],
)
def test_a_bad_query_is_400_with_a_json_error_saying_what_was_wrong(api, query, expected):
    status, doc = get(f"{api.url}/api/v1/live?{query}")
    assert status == 400
    assert doc["error"].startswith(expected)


def test_an_unknown_endpoint_is_404_naming_the_real_ones(api):
    status, doc = get(api.url + "/api/v2/state")
    assert status == 404
    assert doc["error"] == (
        "no such endpoint /api/v2/state; expected one of /api/v1/state, /api/v1/live, /api/v1/channels"
    )


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_the_api_is_read_only(api, method):
    status, doc = get(api.url + "/api/v1/state", method=method)
    assert status == 405 and "read-only" in doc["error"]


def test_the_query_parser_defaults():
    assert parse_live_query("") == (0, 0.0)
    assert parse_live_query("since=5&wait=2.5") == (5, 2.5)


def test_a_taken_port_is_a_clear_error(api):
    port = api.server.server_address[1]
    with pytest.raises(LiveError, match=f"cannot serve the state API on 127.0.0.1:{port}"):
        StateAPI(Ring(600, 0.5), config(api={"port": port}))


def test_the_api_binds_to_this_machine_by_default():
    assert config(api={})["api.bind"] == "127.0.0.1"
    assert config(api={})["api.port"] == 8070
