"""Home Assistant discovery configs, checked against Home Assistant's documentation
(integrations/mqtt "Discovery messages", integrations/sensor "Device class", sensor.mqtt), and
their value templates rendered with Jinja2 as Home Assistant renders them. No broker needed."""

from __future__ import annotations

import json
import re

import pytest
from jinja2.sandbox import ImmutableSandboxedEnvironment

from corcypower import __version__, settings
from corcypower.mqtt import discovery, payloads
from corcypower.mqtt.config import from_config
from corcypower.mqtt.payloads import Topics
from corcypower.store.totals import Energy
from tests.live.helpers import CHANNELS, stats
from tests.mqtt.daemon import SENSORS

# The units Home Assistant accepts for each device class we use (integrations/sensor)
UNITS = {
    "power": {"mW", "W", "kW", "MW", "GW", "TW"},
    "energy": {"J", "kJ", "MJ", "GJ", "mWh", "Wh", "kWh", "MWh", "GWh", "TWh"},
    "current": {"A", "mA"},
    "voltage": {"V", "mV", "µV", "kV", "MV"},
    "frequency": {"Hz", "kHz", "MHz", "GHz"},
    "power_factor": {None, "%"},
}
# The options of an MQTT sensor we may send (sensor.mqtt, and the shared availability,
# device and origin options of integrations/mqtt); Home Assistant ignores unknown ones, so a
# misspelt key would pass silently there: it must fail here.
SENSOR_OPTIONS = {
    "name", "state_topic", "value_template", "device_class", "state_class",
    "unit_of_measurement", "suggested_display_precision", "unique_id", "device", "origin",
    "availability_topic", "payload_available", "payload_not_available", "qos",
}  # fmt: skip
DEVICE_OPTIONS = {"identifiers", "name", "manufacturer", "model", "sw_version", "configuration_url"}
ID = re.compile(r"^[a-zA-Z0-9_-]+$")  # node_id and object_id in a discovery topic

FIXED_VOLTS = {"name": "plug", "adc_channel": 2, "kind": "current", "scale": 0.02, "voltage": 230.0}


def configs(channels=CHANNELS, device="garage", **sections):
    config = settings.from_dict(
        {"mqtt": {"host": "nas", "device": device}, "channels": channels} | sections
    )
    s = from_config(config)
    topics = Topics(s.topic_prefix)
    dev = discovery.device(config, s)
    return {
        discovery.config_topic(s, e): discovery.payload(e, s, dev, topics.status)
        for e in discovery.entities(config, topics)
    }


def render(template: str, payload: dict) -> str:
    """What Home Assistant's MQTT sensor does with a message: value and value_json, sandboxed."""
    text = json.dumps(payload)
    return (
        ImmutableSandboxedEnvironment()
        .from_string(template)
        .render(value=text, value_json=json.loads(text))
    )


def test_one_sensor_per_quantity_and_the_total():
    found = {topic.split("/")[3] for topic in configs()}
    assert found == SENSORS


def test_topics_ids_and_options_follow_the_discovery_documentation():
    found = configs()
    for topic, config in found.items():
        prefix, component, node, object_id, last = topic.split("/")
        assert (prefix, component, last) == ("homeassistant", "sensor", "config")
        assert ID.match(node) and ID.match(object_id)
        assert set(config) <= SENSOR_OPTIONS, set(config) - SENSOR_OPTIONS
        assert config["unique_id"] == f"{node}_{object_id}"
        assert config["availability_topic"] == "corcypower/garage/status"
        assert (config["payload_available"], config["payload_not_available"]) == (
            "online",
            "offline",
        )
        assert config.get("unit_of_measurement") in UNITS[config["device_class"]]
        energy = config["device_class"] == "energy"
        assert config["state_class"] == ("total_increasing" if energy else "measurement")
        assert set(config["device"]) == DEVICE_OPTIONS
        assert config["device"]["identifiers"] == ["corcypower_garage"]
        assert config["origin"] == {"name": "corcypower", "sw_version": __version__}
    assert len({c["unique_id"] for c in found.values()}) == len(found)
    device = next(iter(found.values()))["device"]
    assert device["name"] == "CorcyPower garage" and device["sw_version"] == __version__
    assert device["configuration_url"].startswith("http://")


def test_unique_ids_are_stable_and_belong_to_the_device():
    assert configs() == configs()  # the same config, the same ids: a restart changes nothing
    other = configs(device="shed")
    assert not {c["unique_id"] for c in configs().values()} & {
        c["unique_id"] for c in other.values()
    }


def test_a_channel_named_total_does_not_collide_with_the_total():
    channels = [*CHANNELS, {"name": "total", "adc_channel": 3, "kind": "current", "scale": 0.02}]
    found = configs(channels)
    assert len({c["unique_id"] for c in found.values()}) == len(found) == 15


def test_a_fixed_voltage_has_no_power_factor_and_grid_channels_make_the_total():
    found = configs([*CHANNELS, FIXED_VOLTS], dashboard={"grid_channels": ["plug"]})
    ids = {t.split("/")[3] for t in found}
    assert "channel_plug_power" in ids and "channel_plug_power_factor" not in ids
    assert "channel_main_power_factor" in ids
    total = found["homeassistant/sensor/corcypower_garage/total_power/config"]
    assert total["state_topic"] == "corcypower/garage/total/state"
    assert not any("total" in t for t in configs([CHANNELS[0]]))  # no current channel, no total


def test_each_value_template_renders_its_field_from_the_message():
    ts, batch = 1_800_000_000_000, stats(watts=-812.5)
    messages = {f"corcypower/garage/channel/{s.name}/state": payloads.state(ts, s) for s in batch}
    messages["corcypower/garage/total/state"] = payloads.total_state(ts, batch, ("main",))
    energy = payloads.energy(ts, Energy(1234.567, 89.01))
    messages["corcypower/garage/channel/main/energy"] = energy
    messages["corcypower/garage/total/energy"] = energy
    expected = {
        "channel_main_power": "-812.5",
        "channel_main_power_factor": "0.9",
        "channel_mains_v_voltage": "230.0",
        "channel_mains_v_frequency": "50.0",
        "channel_main_energy_imported": "1234.567",
        "channel_main_energy_exported": "89.01",
        "total_power": "-812.5",
        "total_energy_imported": "1234.567",
    }
    for topic, config in configs().items():
        rendered = render(config["value_template"], messages[config["state_topic"]])
        float(rendered)  # a number Home Assistant can store
        key = topic.split("/")[3]
        if key in expected:
            assert rendered == expected[key], key


def test_an_unknown_power_factor_renders_none_which_home_assistant_shows_as_unknown():
    batch = stats()
    batch[1].power_factor = None
    config = configs()["homeassistant/sensor/corcypower_garage/channel_main_power_factor/config"]
    assert render(config["value_template"], payloads.state(1, batch[1])) == "None"


def test_a_custom_prefix_and_discovery_prefix():
    config = settings.from_dict(
        {
            "mqtt": {
                "host": "nas",
                "device": "g",
                "topic_prefix": "home/pi",
                "discovery_prefix": "ha",
            },
            "channels": CHANNELS,
        }
    )
    s = from_config(config)
    entity = discovery.entities(config, Topics(s.topic_prefix))[0]
    assert (
        discovery.config_topic(s, entity) == "ha/sensor/corcypower_g/channel_mains_v_voltage/config"
    )
    assert entity.options["state_topic"] == "home/pi/channel/mains_v/state"


@pytest.mark.parametrize("channel", ["main", "x-1", "A_b"])
def test_object_ids_stay_in_the_allowed_characters(channel):
    ch = {"name": channel, "adc_channel": 0, "kind": "current", "scale": 0.02}
    for topic in configs([ch]):
        assert all(ID.match(level) for level in topic.split("/"))


def test_each_phase_with_grid_channels_has_its_total_sensors():
    on_l1 = [CHANNELS[0], CHANNELS[1] | {"phase": "L1"}, FIXED_VOLTS | {"phase": "L2"}]
    found = configs(channels=on_l1, dashboard={"grid_channels": ["main"]})
    ids = {topic.split("/")[3] for topic in found}
    assert {"phase_L1_power", "phase_L1_energy_imported", "phase_L1_energy_exported"} <= ids
    assert not [i for i in ids if i.startswith("phase_L2")]  # plug is not a grid channel
    power = found["homeassistant/sensor/corcypower_garage/phase_L1_power/config"]
    assert power["state_topic"] == "corcypower/garage/phase/L1/state"
    assert power["name"] == "phase L1 power" and ID.match("phase_L1_power")
