"""Remote voltage: fresh, stale, broken peers; and two daemons on emulated chips over real HTTP."""

from __future__ import annotations

import logging
import re
import sqlite3
import time

import pytest

from corcypower import settings
from corcypower.analysis import FLAG_VOLTAGE_FALLBACK
from corcypower.clock import FakeClock
from corcypower.daemon import Daemon
from corcypower.live.api import StateAPI
from corcypower.live.remote import RemoteVoltages, fetch_json
from corcypower.live.ring import Ring
from corcypower.live.service import attach
from tests.live.helpers import HostilePeer

PEER = "http://peer:8070/api/v1/state"


def remote_config(url=f"{PEER}#mains_v", **sections):
    channels = [
        {"name": "main", "adc_channel": 0, "kind": "current", "scale": 0.02, "voltage": url}
    ]
    return settings.from_dict({"channels": channels} | sections)


def state(vrms=231.5, age_ms=300, flags=(), name="mains_v", kind="voltage"):
    return {
        "age_ms": age_ms,
        "channels": [{"name": name, "kind": kind, "vrms": vrms, "flags": list(flags)}],
    }


class Peer:
    """A fake fetch: answers what it is told, or fails."""

    def __init__(self, answer):
        self.answer, self.asked = answer, []

    def __call__(self, url, timeout):
        self.asked.append(url)
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def voltages(answer, clock=None, stale=5.0):
    config = remote_config()
    clock = clock or FakeClock()
    return RemoteVoltages(config.channels, 230.0, 1.0, stale, clock, Peer(answer)), clock


def test_a_fresh_peer_reading_is_used():
    rv, _ = voltages(state(231.5))
    rv.poll_once()
    assert rv.volts() == {"main": 231.5}
    assert rv.fallback() == frozenset()
    assert rv.fetch.asked == [PEER]


def test_before_the_first_answer_the_nominal_voltage_is_used_and_flagged():
    rv, _ = voltages(state())
    assert rv.volts() == {"main": 230.0} and rv.fallback() == {"main"}


def test_a_reading_goes_stale_by_the_peers_age_plus_ours(caplog):
    rv, clock = voltages(state(231.5, age_ms=3000), stale=5.0)
    rv.poll_once()
    clock.now += 1.9
    assert rv.volts() == {"main": 231.5}  # 3.0 + 1.9 s old
    clock.now += 0.2
    with caplog.at_level(logging.WARNING):
        assert rv.volts() == {"main": 230.0}  # 5.1 s old: stale
    assert rv.fallback() == {"main"}
    assert "no fresh voltage from http://peer:8070/api/v1/state#mains_v" in caplog.text


def test_an_old_answer_from_a_stuck_peer_is_stale_at_once():
    rv, _ = voltages(state(age_ms=60_000))
    rv.poll_once()
    assert rv.fallback() == frozenset({"main"}) and rv.volts() == {"main": 230.0}


@pytest.mark.parametrize(
    "answer, logged",
    [
        (OSError("connection refused"), "cannot read it: connection refused"),
        (state(name="other_v"), "no voltage channel 'mains_v' there (it has: other_v)"),
        (state(kind="current"), "no voltage channel 'mains_v' there"),
        ({"unexpected": 1}, "cannot read it"),
    ],
)
def test_a_broken_peer_is_logged_once_and_the_channel_falls_back(caplog, answer, logged):
    rv, _ = voltages(answer)
    with caplog.at_level(logging.WARNING):
        rv.poll_once()
        rv.poll_once()
    assert caplog.text.count(logged) == 1
    assert rv.volts() == {"main": 230.0} and rv.fallback() == {"main"}


def test_a_peer_that_sees_no_mains_is_not_used():
    rv, _ = voltages(state(vrms=0.3, flags=["flat"]))
    rv.poll_once()
    assert rv.fallback() == {"main"}


def test_peers_are_polled_at_most_once_a_second():
    config = remote_config()
    rv = RemoteVoltages(config.channels, 230.0, poll_seconds=0.01)
    assert rv.poll_seconds == 1.0


def test_attach_gives_the_daemon_the_remote_volts(tmp_path):
    config = remote_config(store={"path": str(tmp_path / "p.db")}, adc={"chip": "emulated"})
    daemon = Daemon(config, FakeClock())
    with attach(daemon, api=False) as live:
        assert daemon.volts == live.remote.volts
        assert daemon.volts_fallback == live.remote.fallback
        assert live.ring.add in daemon.listeners


# --- two devices: a peer with a voltage input, a device without one ----------------------


def run_batches(daemon, count):
    stats = []
    while len(stats) < count:
        for raw in daemon.acquisition.read_once():
            stats.append(daemon.process(raw))
    return stats


def test_a_device_takes_its_volts_from_a_peer_and_flags_the_fallback(tmp_path, caplog):
    emulated = {"adc": {"chip": "emulated"}, "emulator": {"chip": "mcp3208", "mains_volts": 240.0}}
    peer_config = settings.from_dict(
        emulated
        | {
            "store": {"path": str(tmp_path / "peer.db")},
            "api": {"port": 0},
            "channels": [{"name": "mains_v", "adc_channel": 1, "kind": "voltage", "scale": 0.25}],
        }
    )
    peer = Daemon(peer_config, FakeClock())
    peer.open_store()
    ring = Ring(600, 0.5)
    peer.listeners.append(ring.add)
    api = StateAPI(ring, peer_config, peer.clock).start()
    try:
        run_batches(peer, 3)
        config = remote_config(
            f"{api.url}/api/v1/state#mains_v",
            store={"path": str(tmp_path / "here.db")},
            **emulated,
        )
        here = Daemon(config, FakeClock())
        here.open_store()
        remote = RemoteVoltages(config.channels, 230.0, 1.0, 5.0, here.clock)
        here.volts, here.volts_fallback = remote.volts, remote.fallback
        remote.poll_once()  # the thread's work, done here: over real HTTP
    finally:
        api.close()
    peer_volts = ring.latest()["channels"][0]["vrms"]
    assert 238 < peer_volts < 242

    (main,) = run_batches(here, 1)[0]
    assert main.apparent_power_va == pytest.approx(peer_volts * main.irms)
    assert not main.flags & FLAG_VOLTAGE_FALLBACK

    here.clock.now += 6  # no answer for longer than stale_seconds (the peer is gone)
    with caplog.at_level(logging.WARNING):
        remote.poll_once()
        (main,) = run_batches(here, 1)[0]
    assert "cannot read it" in caplog.text
    assert main.flags & FLAG_VOLTAGE_FALLBACK
    assert main.apparent_power_va == pytest.approx(230.0 * main.irms)
    here.writer.flush()
    with sqlite3.connect(config.db_path) as conn:
        flags = [f for (f,) in conn.execute("SELECT flags FROM batch ORDER BY ts")]
        voltage = conn.execute("SELECT voltage FROM channel WHERE name = 'main'").fetchone()[0]
    assert [bool(f & FLAG_VOLTAGE_FALLBACK) for f in flags][-1] is True
    assert voltage == f"{api.url}/api/v1/state#mains_v"


def test_the_api_and_the_database_name_the_remote_voltage(tmp_path):
    from corcypower.live.api import channels_doc

    (main,) = channels_doc(remote_config())["channels"]
    assert main["voltage"] == "http://peer:8070/api/v1/state#mains_v"


# --- a hostile or broken peer, over real sockets -------------------------------------------


def http_answer(body: bytes, status: str = "200 OK") -> bytes:
    head = f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    return head.encode() + b"Connection: close\r\n\r\n" + body


def state_json(vrms="231.5", age_ms="300", extra="") -> bytes:
    return (
        f'{{"age_ms": {age_ms}, "channels": [{{"name": "mains_v", "kind": "voltage", '
        f'"vrms": {vrms}, "flags": []{extra}}}]}}'
    ).encode()


@pytest.mark.parametrize(
    "body, logged",
    [
        (b'{"pad": "' + b"x" * 10_000_000 + b'"}', "an answer larger than 256000 bytes"),
        (b"[" * 100_000 + b"]" * 100_000, "JSON nested too deeply"),
        (state_json(vrms="NaN"), "NaN is not a number in JSON"),
        (state_json(vrms="Infinity"), "Infinity is not a number in JSON"),
        (state_json(vrms="1e400"), "1e400 is too large a number"),
        (state_json(vrms="5000"), "mains_v.vrms = 5000: expected volts from 1 to 1000"),
        (state_json(vrms='"231"'), "mains_v.vrms = 231: expected volts from 1 to 1000"),
        (state_json(age_ms="-Infinity"), "-Infinity is not a number in JSON"),
        (state_json(age_ms="1" * 5000), "cannot read it"),
        (state_json(age_ms="[1]"), "age_ms = [1]: expected milliseconds"),
        (state_json(extra=', "flags": {"a": 1}'), "mains_v.flags: expected a list of names"),
        (b'{"age_ms": 1, "channels": [1, "x", {"name": ["a"]}]}', "no voltage channel 'mains_v'"),
        (b'{"age_ms": 1, "channels": {"mains_v": 230}}', "not a state document"),
        (b"[1, 2]", "not a state document"),
        (b"\xff\xfe", "cannot read it"),
    ],
)
def test_a_hostile_peer_is_refused_and_the_nominal_voltage_used(caplog, body, logged):
    peer = HostilePeer(http_answer(body))
    try:
        config = remote_config(f"{peer.url}#mains_v")
        rv = RemoteVoltages(config.channels, 230.0, 1.0, 5.0, FakeClock())
        with caplog.at_level(logging.WARNING):
            rv.poll_once()
    finally:
        peer.close()
    assert logged in caplog.text
    assert rv.volts() == {"main": 230.0} and rv.fallback() == {"main"}


@pytest.mark.parametrize(
    "answer, expected",
    [
        (http_answer(b"{}", "500 Internal Server Error"), "HTTP 500 Internal Server Error"),
        (  # a state API's reason comes with its status
            http_answer(b'{"error": "no batch analysed yet"}', "503 Service Unavailable"),
            "HTTP 503 Service Unavailable: no batch analysed yet",
        ),
        (b"hello\r\n\r\n", "not an HTTP answer (BadStatusLine)"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{", "the answer ended 99 bytes short"),
    ],
)
def test_a_broken_http_answer_is_a_clear_error(answer, expected):
    peer = HostilePeer(answer)
    try:
        with pytest.raises(ValueError, match=re.escape(expected)):
            fetch_json(peer.url, 5.0)
    finally:
        peer.close()


def test_an_error_answer_gives_the_status_and_nothing_that_is_not_its_reason():
    for body in (b'{"error": "\\u001b[2Jwiped"}', b"<html>busy</html>", b'{"error": 3}'):
        peer = HostilePeer(http_answer(body, "503 Service Unavailable"))
        try:
            with pytest.raises(ValueError) as caught:
                fetch_json(peer.url, 5.0)
        finally:
            peer.close()
        assert str(caught.value) == "HTTP 503 Service Unavailable", body


def test_a_state_api_without_a_batch_says_why(tmp_path):
    config = settings.from_dict(
        {
            "adc": {"chip": "emulated"},
            "store": {"path": str(tmp_path / "power.db")},
            "api": {"port": 0},
        }
    )
    api = StateAPI(Ring(600, 0.5), config, FakeClock()).start()
    try:
        with pytest.raises(
            ValueError, match=r"^HTTP 503 Service Unavailable: no batch analysed yet"
        ):
            fetch_json(f"{api.url}/api/v1/state", 5.0)
    finally:
        api.close()


def test_a_peer_that_trickles_its_answer_is_cut_at_the_timeout():
    peer = HostilePeer(http_answer(state_json()), pace=0.2)  # a byte every 0.2 s: 35 s
    try:
        started = time.monotonic()
        with pytest.raises(TimeoutError, match=r"no whole answer within 1 s"):
            fetch_json(peer.url, 1.0)  # each byte comes well within the socket's timeout
        assert time.monotonic() - started < 10
    finally:
        peer.close()


def test_a_good_answer_parses():
    peer = HostilePeer(http_answer(state_json()))
    try:
        assert fetch_json(peer.url, 5.0)["channels"][0]["vrms"] == 231.5
    finally:
        peer.close()
