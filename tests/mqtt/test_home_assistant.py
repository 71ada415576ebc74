"""Home Assistant's Energy dashboard takes a sensor with device_class energy, state_class
total_increasing and a unit of energy, whose value never falls (a fall is a new meter, and
the whole value would be counted again). Checked on what a real daemon publishes to a real
broker: the value rendered from each energy sensor's value_template with Jinja2, as Home
Assistant renders it, equals `energy_total` in power.db after a stop, and never steps back,
not even across a kill -9 and a restart."""

from __future__ import annotations

import json

from jinja2.sandbox import ImmutableSandboxedEnvironment

from tests.export.device import START_MS, Device, channels_toml
from tests.mqtt.broker import Subscriber, retained
from tests.mqtt.daemon import PREFIX

DAY_MIN = 24 * 60


def seeded(tmp_path) -> None:
    """Two days of history before the daemon starts: energy_total is far from zero."""
    device = Device(tmp_path, "testpi")
    device.write(START_MS, DAY_MIN, {"main": 1500.0, "solar": -800.0})
    device.write(START_MS + DAY_MIN * 60_000, DAY_MIN, {"main": -300.0, "solar": -800.0})


def render(config: dict, payload: str) -> float:
    """The sensor's state, as Home Assistant's MQTT sensor renders it from a message."""
    template = ImmutableSandboxedEnvironment().from_string(config["value_template"])
    return float(template.render(value=payload, value_json=json.loads(payload)))


def energy_sensors(messages) -> dict[str, dict]:
    found = {
        m.topic: m.json() for m in messages if m.topic.startswith("homeassistant/") and m.payload
    }
    return {t: c for t, c in found.items() if c.get("device_class") == "energy"}


def readings(sub, config: dict) -> list[float]:
    return [render(config, m.payload) for m in sub.of(config["state_topic"])]


def expected(totals: dict, config: dict) -> float:
    """energy_total's value for the sensor: a channel's, or the grid channels' sum."""
    column = 0 if config["value_template"].endswith("import_kwh }}") else 1
    name = config["state_topic"].split("/")[-2]
    names = ["main", "solar"] if name == "total" else [name]
    return sum(totals[n][column] for n in names)


def test_energy_sensors_meet_the_energy_dashboard_prerequisites(tmp_path, broker, mqtt_daemon):
    seeded(tmp_path)
    with Subscriber(broker) as sub:
        daemon = mqtt_daemon(broker, channels=channels_toml())
        first = sub.on(f"{PREFIX}/channel/main/energy").json()
        sub.wait_for(
            lambda m: m.topic.endswith("main/energy") and m.json()["ts"] > first["ts"] + 2000
        )
        assert daemon.stop() == 0
        sub.wait_for(lambda m: m.topic == f"{PREFIX}/status" and m.payload == "offline")
        sensors = energy_sensors(sub.messages)
        assert len(sensors) == 6  # imported and exported: main, solar, the total
        totals = daemon.energy_total()
        assert totals["main"][0] > 35 and totals["solar"][1] > 38  # the history counts
        for topic, config in sensors.items():
            assert config["device_class"] == "energy", topic
            assert config["state_class"] == "total_increasing", topic
            assert config["unit_of_measurement"] == "kWh", topic
            values = readings(sub, config)
            assert values == sorted(values), f"{topic} stepped back: {values}"
            assert abs(values[-1] - expected(totals, config)) <= 0.001, topic  # 1 Wh
    # Home Assistant restarting now finds the same values, retained
    held = retained(broker)
    for config in sensors.values():
        value = render(config, held[config["state_topic"]].payload)
        assert abs(value - expected(totals, config)) <= 0.001


def test_energy_never_steps_back_across_kill_9_and_a_restart(tmp_path, broker, mqtt_daemon):
    seeded(tmp_path)
    with Subscriber(broker, f"{PREFIX}/#") as sub:
        # a commit every 3 s, energy every second: a kill loses up to 3 s of rows, and what
        # was published must not be more than what survives
        daemon = mqtt_daemon(broker, commit=3, channels=channels_toml())
        topic = f"{PREFIX}/channel/main/energy"
        first = sub.on(topic).json()
        sub.wait_for(lambda m: m.topic == topic and m.json()["ts"] > first["ts"] + 4000)
        daemon.kill()
        killed = sub.wait_for(lambda m: m.topic == f"{PREFIX}/status" and m.payload == "offline")
        before = sub.of(topic)[-1].json()
        # what was published had been committed: it survived the kill
        assert daemon.query("SELECT max(end_ms) FROM span")[0][0] >= before["ts"]
        daemon.start()
        after = sub.wait_for(lambda m: m.topic == topic, after=killed.at).json()
        assert after["import_kwh"] >= before["import_kwh"]
        assert after["export_kwh"] >= before["export_kwh"]
        sub.wait_for(lambda m: m.topic == topic and m.json()["ts"] > after["ts"] + 2000)
        assert daemon.stop() == 0
        sub.wait_for(lambda m: m.payload == "offline", after=killed.at + 0.001)
        for name in ("main", "solar", "total"):
            for column in ("import_kwh", "export_kwh"):
                values = [m.json()[column] for m in sub.of(f"{PREFIX}/{_path(name)}/energy")]
                assert values == sorted(values), f"{name} {column} stepped back: {values}"
    final = sub.of(topic)[-1].json()
    assert (final["import_kwh"], final["export_kwh"]) == daemon.energy_total()["main"]


def _path(name: str) -> str:
    return "total" if name == "total" else f"channel/{name}"
