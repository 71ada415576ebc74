"""Following other devices: real state APIs (a ring we feed), and servers that misbehave."""

from __future__ import annotations

import http.server
import threading
import time

import pytest

from corcypower.clock import FakeClock
from corcypower.dashboard.devices import RemoteDevice, check_live, check_state, status
from corcypower.live.api import StateAPI
from corcypower.live.ring import Ring
from tests.dashboard.helpers import until
from tests.live.helpers import config, stats

NOW = 1_767_225_600_000


@pytest.fixture
def garage():
    """A state API named "garage" whose ring holds one batch of 321 W."""
    ring = Ring(600, 0.5)
    api = StateAPI(ring, config(export={"mysql": {"point": "garage"}}), FakeClock()).start()
    ring.add(NOW, 500, stats(watts=321.0))
    yield ring, api
    api.close()


def follow(url: str) -> RemoteDevice:
    return RemoteDevice(url, clock=FakeClock(wall_ms=NOW)).start()


def test_a_device_is_followed_by_its_name_from_its_newest_batch_on(garage):
    ring, api = garage
    device = follow(api.url)
    try:
        assert until(lambda: device.latest() is not None, 30)
        assert device.name == "garage" and device.grid == ("main",)
        assert [b["ts"] for b in device.subscribe(lambda b: None)] == [NOW]  # not the ring before
        ring.add(NOW + 500, 500, stats(watts=400.0))
        assert until(lambda: device.latest()["ts"] == NOW + 500, 30)
        s = status(device, device.name, api.url, device.grid, 60.0, NOW)
        assert s.online and s.total_w == 400.0 and s.channels == (("main", 400.0),)
    finally:
        device.stop()


def test_a_device_that_stops_answering_is_offline_since_its_last_batch(garage):
    ring, api = garage
    device = follow(api.url)
    try:
        assert until(lambda: device.latest() is not None, 30)
        api.close()
        assert until(lambda: device.error is not None, 60)
        s = status(device, device.name, api.url, device.grid, 60.0, NOW - 1)
        assert not s.online and s.total_w is None and s.channels == ()
        assert s.since_ms == NOW and s.why == device.error
    finally:
        device.stop()


def test_a_device_never_reached_is_offline_since_it_was_first_asked():
    device = follow("http://127.0.0.1:9")
    try:
        assert until(lambda: device.error is not None, 30)
        s = status(device, device.name, device.base, None, 5.0, device.asked_ms)
        assert (s.name, s.online, s.since_ms) == ("127.0.0.1", False, NOW)
        assert "refused" in s.why
    finally:
        device.stop()


def test_stale_batches_are_offline_with_how_long():
    device = RemoteDevice("http://127.0.0.1:9")
    device.take({"newest": NOW, "batches": [{"ts": NOW, "channels": []}]})
    device.last_arrival = time.monotonic() - 30
    s = status(device, "shed", device.base, None, 5.0, 0)
    assert not s.online and s.why.startswith("no data for 3") and s.since_ms == NOW


class Hostile(http.server.BaseHTTPRequestHandler):
    """Answers every request with the class's `body` (and `length`, which may lie)."""

    body = b"{}"

    def do_GET(self):  # noqa: N802
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


@pytest.mark.parametrize(
    "body, why",
    [
        (b'{"ts": "soon", "channels": []}', "not a state document"),
        (b'{"ts": 1, "channels": [{"name": "x", "kind": "current", "real_power_w": NaN}]}', "NaN"),
        (b"[" * 100_000, "nested too deeply"),
        (b'{"ts": 1, "channels": "' + b"x" * 3_000_000 + b'"}', "larger than"),
    ],
)
def test_a_hostile_device_is_offline_with_why_and_the_follower_lives_on(body, why):
    handler = type("Answer", (Hostile,), {"body": body})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    device = follow(f"http://127.0.0.1:{server.server_address[1]}")
    try:
        assert until(lambda: device.error is not None, 30)
        assert why in device.error
        assert device._thread.is_alive() and not device.connected
    finally:
        device.stop()
        server.shutdown()


def test_answers_of_the_wrong_shape_are_value_errors():
    for doc in (
        [],
        {"batches": [{"ts": 2}, {"ts": 1}]},
        {"batches": [{"ts": True, "channels": []}]},
        {"batches": [{"ts": 1, "channels": [{"name": "a", "kind": "heat"}]}]},
        {"newest": -1, "batches": []},
    ):
        with pytest.raises(ValueError):
            check_live(doc)
    hello = check_state({"ts": 5, "channels": [], "device": "x\n", "grid": "main"})
    assert (hello.name, hello.grid) == (None, None)  # an older or odd device: its host, all CTs
