"""The broker away for a while, then back (empty: it kept nothing): the daemon reconnects
within 10 s, sends availability, discovery, states and energy again, lost no batch in
power.db, and the energy sensors go on without a step back.

The outage lasts $CORCYPOWER_MQTT_OUTAGE_SECONDS (default 20, to keep CI short; the issue's
2 minutes: CORCYPOWER_MQTT_OUTAGE_SECONDS=120 pytest tests/mqtt/test_outage.py)."""

from __future__ import annotations

import os
import time

from tests.mqtt.broker import Subscriber, retained
from tests.mqtt.daemon import DISCOVERY, PREFIX, SENSORS, STATES

OUTAGE_S = float(os.environ.get("CORCYPOWER_MQTT_OUTAGE_SECONDS", "20"))


def test_broker_stopped_then_back(broker, mqtt_daemon):
    energy = f"{PREFIX}/channel/main/energy"
    with Subscriber(broker, f"{PREFIX}/#") as sub:
        daemon = mqtt_daemon(broker)  # reconnect_max_seconds: the default, 5
        first = sub.on(energy).json()
        before = sub.wait_for(lambda m: m.topic == energy and m.json()["ts"] > first["ts"]).json()
    stored = daemon.batches()
    broker.stop()
    stopped = time.monotonic()
    daemon.wait_until("the outage noticed", lambda: "connection lost" in daemon.text())
    # the outage itself: the daemon measures on, nothing of ours to wait for
    time.sleep(max(0.0, OUTAGE_S - (time.monotonic() - stopped)))
    assert daemon.batches() >= stored + OUTAGE_S * 2 * 0.8  # 2 batches a second, on
    broker.start()
    back = time.monotonic()
    with Subscriber(broker) as sub:
        online = sub.wait_for(lambda m: m.topic == f"{PREFIX}/status" and m.payload == "online")
        assert online.at - back < 10, f"reconnected after {online.at - back:.1f} s"
        print(f"outage {OUTAGE_S:g} s: online again {online.at - back:.2f} s after the broker")
        for key in SENSORS:
            sub.on(f"{DISCOVERY}/{key}/config")
        for topic in STATES:
            sub.on(topic)
        after = sub.on(energy).json()
    assert after["import_kwh"] >= before["import_kwh"] and after["ts"] > before["ts"]
    assert after["export_kwh"] >= before["export_kwh"]
    held = retained(broker)  # the broker kept nothing over its restart: all this is new
    assert {f"{DISCOVERY}/{k}/config" for k in SENSORS} | STATES <= set(held)
    assert daemon.stop() == 0
    # no batch lost: one span per channel, no gap, over the whole run
    assert daemon.query("SELECT count(*) FROM gaps") == [(0,)]
    spans = daemon.query(
        "SELECT min(start_ms), max(end_ms), count(*) FROM span GROUP BY channel_id"
    )
    assert all(n == 1 for _, _, n in spans)
    text = daemon.text()
    assert text.count("connection lost") == 1 and "connected to" in text and "again after" in text
