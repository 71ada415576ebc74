"""Home Assistant MQTT discovery: the sensors of this device, each a retained config message.

Single-component discovery, as Home Assistant documents it (integrations/mqtt, "Discovery
messages"): topic <discovery_prefix>/<component>/<node_id>/<object_id>/config, a JSON payload
with a unique_id (stable: made of the device and channel names), the device it belongs to,
the origin, the availability topic and the state topic with a value_template. Energy sensors
are what the Energy dashboard asks for: device_class energy, state_class total_increasing,
kWh. Entity names are the device's name plus the entity's (has_entity_name).
"""

from __future__ import annotations

from dataclasses import dataclass

from corcypower import __version__
from corcypower.mqtt.config import MqttSettings
from corcypower.mqtt.payloads import OFFLINE, ONLINE, Topics
from corcypower.settings import Config
from corcypower.settings.phases import grid_by_phase

MEASUREMENT, TOTAL_INCREASING = "measurement", "total_increasing"


@dataclass(frozen=True)
class Quantity:
    """One sensor of a channel: which field of which message, with Home Assistant's class."""

    key: str  # in the object id: "power", "energy_imported", ...
    name: str  # the entity's name after the channel's
    message: str  # "state" or "energy"
    field: str  # in that message's JSON
    device_class: str
    unit: str | None
    state_class: str
    precision: int


POWER = Quantity("power", "power", "state", "real_power_w", "power", "W", MEASUREMENT, 0)
CURRENT = Quantity("current", "current", "state", "irms", "current", "A", MEASUREMENT, 2)
POWER_FACTOR = Quantity(
    "power_factor", "power factor", "state", "power_factor", "power_factor", None, MEASUREMENT, 2
)
IMPORTED = Quantity(
    "energy_imported",
    "energy imported",
    "energy",
    "import_kwh",
    "energy",
    "kWh",
    TOTAL_INCREASING,
    3,
)
EXPORTED = Quantity(
    "energy_exported",
    "energy exported",
    "energy",
    "export_kwh",
    "energy",
    "kWh",
    TOTAL_INCREASING,
    3,
)
VOLTAGE = Quantity("voltage", "voltage", "state", "vrms", "voltage", "V", MEASUREMENT, 1)
FREQUENCY = Quantity(
    "frequency", "frequency", "state", "frequency_hz", "frequency", "Hz", MEASUREMENT, 2
)


@dataclass(frozen=True)
class Entity:
    """A Home Assistant entity: its platform, its id within this device, its own options."""

    component: str  # "sensor", "binary_sensor", ...
    object_id: str  # letters, digits, _ and -; unique within this device
    options: dict


def node_id(settings: MqttSettings) -> str:
    return f"corcypower_{settings.device}"


def unique_id(settings: MqttSettings, entity: Entity) -> str:
    return f"{node_id(settings)}_{entity.object_id}"


def config_topic(settings: MqttSettings, entity: Entity) -> str:
    return f"{settings.discovery_prefix}/{entity.component}/{node_id(settings)}/{entity.object_id}/config"


def sensor(object_id: str, label: str, topic: str, q: Quantity) -> Entity:
    options = {
        "name": f"{label} {q.name}",
        "state_topic": topic,
        "value_template": f"{{{{ value_json.{q.field} }}}}",
        "device_class": q.device_class,
        "state_class": q.state_class,
        "suggested_display_precision": q.precision,
    }
    if q.unit is not None:
        options["unit_of_measurement"] = q.unit
    return Entity("sensor", object_id, options)


def entities(config: Config, topics: Topics) -> list[Entity]:
    """Every sensor of the configured channels, then the grid's total and each phase's."""
    out = []
    for ch in config.channels:
        if ch.kind == "voltage":
            quantities = [VOLTAGE, FREQUENCY]
        else:
            measured = isinstance(ch.voltage, str) or ch.remote_voltage is not None
            quantities = [POWER, CURRENT, *([POWER_FACTOR] if measured else []), IMPORTED, EXPORTED]
        # "channel_" keeps a channel's ids apart from the total's and from other parts'
        out += [
            sensor(f"channel_{ch.name}_{q.key}", ch.name, topics.channel(ch.name, q.message), q)
            for q in quantities
        ]
    if config.grid_channels:
        out += [
            sensor(f"total_{q.key}", "total", topics.total(q.message), q)
            for q in (POWER, IMPORTED, EXPORTED)
        ]
    for phase in grid_by_phase(config):
        out += [
            sensor(f"phase_{phase}_{q.key}", f"phase {phase}", topics.phase(phase, q.message), q)
            for q in (POWER, IMPORTED, EXPORTED)
        ]
    return out


def device(config: Config, settings: MqttSettings) -> dict:
    """The Home Assistant device every entity belongs to."""
    return {
        "identifiers": [node_id(settings)],
        "name": f"CorcyPower {settings.device}",
        "manufacturer": "CorcyPower",
        "model": f"Energy monitor ({config.chip_model.upper()})",
        "sw_version": __version__,
        "configuration_url": settings.configuration_url,
    }


ORIGIN = {"name": "corcypower", "sw_version": __version__}


def payload(entity: Entity, settings: MqttSettings, dev: dict, status_topic: str) -> dict:
    """The discovery config of one entity: its options plus the ids, device and availability."""
    return {
        **entity.options,
        "unique_id": unique_id(settings, entity),
        "device": dev,
        "origin": ORIGIN,
        "availability_topic": status_topic,
        "payload_available": ONLINE,
        "payload_not_available": OFFLINE,
        "qos": settings.qos,
    }
