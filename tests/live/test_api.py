"""The state API over real HTTP: its three answers, long polls, and its errors as JSON."""

from __future__ import annotations

import re
import socket
import statistics
import struct
import threading
import time
from datetime import datetime
from pathlib import Path

import pytest

from corcypower.clock import FakeClock
from corcypower.live.api import LiveError, StateAPI, parse_live_query
from corcypower.live.ring import Ring
from corcypower.live.server import WORKERS
from tests.dashboard.processes import corcypower
from tests.live.helpers import CLIPPED, config, get, raise_open_files, request, stats


@pytest.fixture
def api():
    """A state API on a free port of 127.0.0.1 over an empty ring, its clock fake."""
    server = StateAPI(Ring(600, 0.5), config(), FakeClock())
    server.clock_ = server.clock
    yield server.start()
    server.close()


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
        (
            "since=abc",
            "since='abc': expected whole milliseconds since the epoch (UTC) from 0 to 9007199254740991",
        ),
        ("since=-5", "since='-5': expected whole milliseconds"),
        ("since=1.5", "since='1.5': expected whole milliseconds"),
        ("since=9007199254740992", "since='9007199254740992': expected whole milliseconds"),
        ("since=" + "9" * 5000, "since='9999999999999999999999999999999999999999'...: expected"),
        ("since=1&since=2", "since is given 2 times; expected it once"),
        ("wait=60", "wait='60': expected seconds from 0 to 30"),
        ("wait=soon", "wait='soon': expected seconds from 0 to 30"),
        ("wait=nan", "wait='nan': expected seconds from 0 to 30"),
        ("wait=inf", "wait='inf': expected seconds from 0 to 30"),
        ("wait=1e1", "wait='1e1': expected seconds from 0 to 30"),
        ("wait=" + "0" * 5000, "wait='0000000000000000000000000000000000000000'...: expected"),
        ("limit=5", "unknown parameter 'limit'; expected since and wait"),
        ("since", "cannot read the query 'since'; expected since=MS&wait=S"),
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
        "no such endpoint /api/v2/state; expected one of /api/v1/state, /api/v1/live, "
        "/api/v1/channels, /api/v1/history"
    )


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_the_api_is_read_only(api, method):
    status, doc = get(api.url + "/api/v1/state", method=method)
    assert status == 405 and "read-only" in doc["error"]


def test_the_query_parser_defaults():
    assert parse_live_query("") == (0, 0.0)
    assert parse_live_query("since=5&wait=2.5") == (5, 2.5)
    assert parse_live_query("since=0009007199254740991&wait=.5") == (2**53 - 1, 0.5)


def test_a_taken_port_is_a_clear_error(api):
    port = api.server.address[1]
    with pytest.raises(LiveError, match=f"cannot serve the state API on 127.0.0.1:{port}"):
        StateAPI(Ring(600, 0.5), config(api={"port": port}))


def test_the_api_binds_to_this_machine_by_default():
    assert config(api={})["api.bind"] == "127.0.0.1"
    assert config(api={})["api.port"] == 8070


# --- the daemon's API under a thousand half-open connections, as a real process ----------


def threads_of(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"^Threads:\s+(\d+)", status, re.M)[1])


def test_the_daemon_answers_through_a_thousand_half_open_connections_quietly(emulated_config):
    """Before: a thread per connection (1,019 threads), requests timed out, and ~900
    BrokenPipe tracebacks reached stderr when the clients went away."""
    raise_open_files(4000)
    daemon = corcypower("run", "--config", str(emulated_config()))
    try:
        port = int(daemon.wait_for(r"state API on http://127\.0\.0\.1:(\d+)/")[1])
        url = f"http://127.0.0.1:{port}/api/v1/state"
        deadline = time.monotonic() + 30
        while get(url)[0] != 200:  # the first batch
            assert time.monotonic() < deadline
        threads = threads_of(daemon.proc.pid)
        half_open = [socket.create_connection(("127.0.0.1", port), timeout=60) for _ in range(1000)]
        took = []
        for _ in range(20):
            started = time.monotonic()
            assert get(url)[0] == 200
            took.append(time.monotonic() - started)
        # every one answered, most at once (the machine may be loaded: generous bounds)
        assert statistics.median(took) < 1.0 and max(took) < 30, took
        assert threads_of(daemon.proc.pid) <= threads + WORKERS
        for sock in half_open:  # gone at once, with a reset, as a killed client goes
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()
        for _ in range(50):  # and clients that leave before their answer
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            sock.sendall(request("/api/v1/live"))
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()
        assert get(url)[0] == 200
    finally:
        code = daemon.stop()
    assert code == 0, daemon.output
    assert "Traceback" not in daemon.output and "Error" not in daemon.output, daemon.output
