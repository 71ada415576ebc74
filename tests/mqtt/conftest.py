"""Fixtures of the MQTT tests: a real Mosquitto per test, and the daemon as a real process."""

from __future__ import annotations

import pytest

from tests.mqtt.needs import MISSING, paho_and_mosquitto_or_skip

# Without the mqtt extra the publisher cannot even be imported; test_config.py and
# test_discovery.py still run (and under CI=true everything is collected, and must pass).
collect_ignore = ["test_publisher.py"] if MISSING else []


@pytest.fixture
def broker(tmp_path):
    """Mosquitto on 127.0.0.1 at a free port, anonymous, no TLS; stopped after the test."""
    from tests.mqtt.broker import Mosquitto

    paho_and_mosquitto_or_skip()
    server = Mosquitto(tmp_path / "mosquitto").start()
    yield server
    server.stop()


@pytest.fixture
def mqtt_daemon(tmp_path, emulated_config):
    """mqtt_daemon(broker, **mqtt): `python mcp_rms.py` on the emulated chip publishing to
    `broker`; killed after the test if still running."""
    from tests.mqtt.daemon import Daemon

    started = []

    def start(broker, commit=0.5, channels=None, **mqtt):
        mqtt = {"publish_seconds": 0.5, "energy_seconds": 1.0, "device": "testpi"} | mqtt
        sections = {"mqtt": broker.toml(**mqtt).removeprefix("[mqtt]\n")}
        kwargs = {"channels": channels} if channels else {}
        daemon = Daemon(emulated_config(sections, commit=commit, **kwargs))
        started.append(daemon)
        return daemon

    yield start
    for daemon in started:
        daemon.kill()
