"""Alerts through MQTT, against a real Mosquitto: the alert's retained topic and its Home
Assistant binary_sensor, the broker's outage as an alert, and `alerts test` over MQTT."""

from __future__ import annotations

import json
import signal
import time

from click.testing import CliRunner
from jinja2.sandbox import ImmutableSandboxedEnvironment

from corcypower.cli import cli
from tests.alerts.servers import HttpSink
from tests.alerts.test_daemon_alerts import (
    CHANNEL,
    FOR_S,
    LIMIT_W,
    SLACK_S,
    on_off_capture,
    peak_rss_mb,
    spawn,
)
from tests.mqtt.broker import Mosquitto, Subscriber, retained
from tests.mqtt.needs import paho_and_mosquitto_or_skip

PREFIX = "corcypower/testpi"
DISCOVERY = "homeassistant/binary_sensor/corcypower_testpi/alert_kettle/config"
ALERTS = CHANNEL.replace(
    'notify = ["log", "webhook", "ntfy", "email"]', 'notify = ["log", "mqtt"]'
) + (
    '\n[[alerts]]\nname = "broker"\nunreachable = "mqtt"\nunreachable_minutes = 0\n'
    'for_seconds = 1\nnotify = ["webhook"]\n'
)


def ready(broker: Mosquitto, sub: Subscriber) -> bool:
    """Wait until `sub` receives what is published (mosquitto_sub has connected and subscribed)."""
    deadline = time.monotonic() + 30
    while not sub.of("test/ready"):
        assert time.monotonic() < deadline, "the subscriber never listened"
        broker.publish("test/ready", "x")
        time.sleep(0.1)
    return True


def render(template: str, payload: dict) -> str:
    """A value_template as Home Assistant renders it (a sandboxed Jinja2)."""
    return ImmutableSandboxedEnvironment().from_string(template).render(value_json=payload)


def test_an_alert_over_mqtt_with_its_binary_sensor_and_the_broker_outage(tmp_path, emulated_config):
    paho_and_mosquitto_or_skip()
    broker = Mosquitto(tmp_path / "mosquitto").start()
    http = HttpSink()
    on_off_capture(tmp_path / "kettle.csv")
    config = emulated_config(
        {
            "emulator": f'source = "{tmp_path / "kettle.csv"}"',
            "mqtt": broker.toml(device="testpi", publish_seconds=0.5).removeprefix("[mqtt]\n"),
            "notify.webhook": f'url = "{http.url}/hook"',
        },
        commit=0.5,
        channels=ALERTS,
    )
    wall = time.time() - time.monotonic()  # Subscriber's times are monotonic
    with Subscriber(broker, "#") as sub:
        proc, _ = spawn(config)
        try:
            discovery = sub.on(DISCOVERY).json()
            fired = sub.wait_for(
                lambda m: m.topic == f"{PREFIX}/alert/kettle" and '"firing"' in m.payload, 60
            )
            resolved = sub.wait_for(
                lambda m: m.topic == f"{PREFIX}/alert/kettle" and '"resolved"' in m.payload,
                30,
                fired.at,
            )
            held = retained(broker, f"{PREFIX}/alert/#")
            peak_mb = peak_rss_mb(proc.pid)
            broker.stop()  # the broker goes away: the "broker" alert fires through the webhook
            [down] = http.wait(1, timeout=30)
            broker.start()
            up = http.wait(2, timeout=60)[1]
            sub_after = Subscriber(broker, "#")  # discovery again after the reconnection
            sub_after.on(DISCOVERY, timeout=30)
            sub_after.stop()
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=10) == 0
        finally:
            proc.kill()
            http.close()
            broker.stop()
    assert (
        discovery["device_class"] == "problem"
        and discovery["unique_id"] == "corcypower_testpi_alert_kettle"
    )
    assert (
        discovery["state_topic"] == discovery["json_attributes_topic"] == f"{PREFIX}/alert/kettle"
    )
    assert peak_mb <= 60, f"the daemon's peak RSS with MQTT and alerts on: {peak_mb:.1f} MB"
    assert discovery["availability_topic"] == f"{PREFIX}/status"
    assert discovery["device"]["identifiers"] == ["corcypower_testpi"]
    on, off = fired.json(), resolved.json()
    assert (
        render(discovery["value_template"], on) == "ON"
        and render(discovery["value_template"], off) == "OFF"
    )
    assert on["alert"] == "kettle" and on["device"] == "testpi" and on["value"] > LIMIT_W
    # within for_seconds + 2 s of the condition, both ways
    assert fired.at + wall - on["since"] / 1000 <= FOR_S + SLACK_S
    assert resolved.at + wall - off["since"] / 1000 <= FOR_S + SLACK_S
    assert held[f"{PREFIX}/alert/kettle"].json()["state"] == "resolved"  # retained: its last word
    down, up = json.loads(down.body), json.loads(up.body)
    assert (down["alert"], down["state"], up["state"]) == ("broker", "firing", "resolved")
    assert down["text"].startswith("mqtt unreachable since")


def test_alerts_test_over_mqtt_leaves_nothing_retained(tmp_path, emulated_config):
    paho_and_mosquitto_or_skip()
    broker = Mosquitto(tmp_path / "mosquitto").start()
    config = emulated_config(
        {
            "mqtt": broker.toml(device="testpi").removeprefix("[mqtt]\n"),
            "notify.webhook": 'url = "http://127.0.0.1:9/hook"',
        },
        channels=ALERTS,
    )
    try:
        with Subscriber(broker, "#") as sub:
            ready(broker, sub)
            result = CliRunner().invoke(cli, ["alerts", "test", "kettle", "--config", str(config)])
            assert result.exit_code == 0, result.output
            message = sub.on(f"{PREFIX}/alert/kettle/test", timeout=30)
        assert result.output.splitlines() == ["✓ log: sent", "✓ mqtt: sent"]
        assert message.json()["test"] is True
        assert retained(broker, f"{PREFIX}/alert/#") == {}
        broker.stop()
        down = CliRunner().invoke(cli, ["alerts", "test", "kettle", "--config", str(config)])
        assert down.exit_code == 1 and down.output.splitlines()[1].startswith(
            "✗ mqtt: mqtt 127.0.0.1:"
        )
    finally:
        broker.stop()
