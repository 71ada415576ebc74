"""The alerts in a daemon, in-process on the emulated chip and a FakeClock: listener, ticks,
history across a restart, the state API's part."""

from __future__ import annotations

import logging

from corcypower import settings
from corcypower.alerts.service import AlertService, prepare
from corcypower.clock import FakeClock
from corcypower.daemon import Daemon
from tests.conftest import CHANNELS
from tests.test_daemon import run_batches

ALERTS = """
[[alerts]]
name = "adapter"
channel = "mains_v"
on_flags = ["flat"]
for_seconds = 1

[[alerts]]
name = "silent"
stale_seconds = 5
for_seconds = 0
"""


def start(emulated_config, alerts=ALERTS, flat="[1]", clock=None) -> tuple[Daemon, AlertService]:
    path = emulated_config({"emulator": f"flat_channels = {flat}"}, channels=CHANNELS + alerts)
    daemon = Daemon(settings.load(path), clock or FakeClock())
    return daemon, prepare(daemon)


def test_flags_fire_through_the_listener_and_are_stored(emulated_config, caplog):
    caplog.set_level(logging.INFO)
    daemon, service = start(emulated_config)
    try:
        run_batches(daemon, 4)
        service.drain()  # stores what the listener queued
        assert "adapter firing: mains_v flat" in caplog.text
        doc = service.state_doc()
        assert doc["firing"] == ["adapter"] and doc["recent"][0]["alert"] == "adapter"
        assert {r["name"]: r["state"] for r in doc["rules"]} == {
            "adapter": "firing",
            "silent": "ok",
        }
    finally:
        daemon.close_store()
    rows = daemon.db.path  # the events are in power.db
    import sqlite3

    with sqlite3.connect(rows) as conn:
        assert conn.execute("SELECT alert, state FROM alert_event").fetchall() == [
            ("adapter", "firing")
        ]


def test_a_restart_neither_notifies_again_nor_forgets_and_resolves_removed_rules(
    emulated_config, caplog
):
    daemon, service = start(emulated_config)
    run_batches(daemon, 4)
    service.close()
    daemon.close_store()
    caplog.clear()
    caplog.set_level(logging.INFO)
    # the adapter is plugged in again, and the silent rule is taken out of the config
    daemon, service = start(emulated_config, ALERTS.split('[[alerts]]\nname = "silent"')[0], "[]")
    try:
        assert {r["name"]: r["state"] for r in service.state_doc()["rules"]} == {
            "adapter": "firing"
        }
        service.resolve_orphans()
        run_batches(daemon, 4)
        service.drain()
    finally:
        service.close()
        daemon.close_store()
    assert "adapter firing" not in caplog.text and "adapter resolved" in caplog.text


def test_stale_fires_when_no_batch_comes_and_resolves_when_they_do(emulated_config, caplog):
    caplog.set_level(logging.INFO)
    clock = FakeClock()
    daemon, service = start(emulated_config, ALERTS, "[]", clock)
    try:
        run_batches(daemon, 1)
        service.tick()
        clock.now += 5  # the chip stops answering for 5 s
        service.tick()
        assert service.state_doc()["firing"] == ["silent"]
        while daemon.last_ts < clock.wall_ms() - 1000:  # sampling catches up
            run_batches(daemon, 1)
        service.tick()
        assert service.state_doc()["firing"] == []
    finally:
        service.close()
        daemon.close_store()
    assert "silent firing: no batch stored since" in caplog.text
    assert "silent resolved: batches stored again" in caplog.text


def test_no_alerts_no_service(emulated_config):
    daemon = Daemon(settings.load(emulated_config()), FakeClock())
    assert prepare(daemon) is None and daemon.listeners == []
