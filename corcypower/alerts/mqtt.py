"""MQTT notifications: a retained topic per alert, and a Home Assistant binary_sensor for it.

Written against the daemon's MQTT publisher (corcypower/mqtt), which owns the connection:
its publish(topic, payload, retain), its topic and discovery prefixes, its Home Assistant
device block and availability topic, and whether it is connected (and since when).

    <topic_prefix>/alert/<name>     retained JSON, the webhook's payload (docs/alerts.md)
    <discovery_prefix>/binary_sensor/<node>/alert_<name>/config   retained discovery
"""

from __future__ import annotations

import json
from typing import Protocol

from corcypower.alerts.engine import FIRING
from corcypower.alerts.notifiers import Message
from corcypower.alerts.rules import Rule
from corcypower.errors import DeliveryError


class Publisher(Protocol):
    """What alerts need of the MQTT publisher."""

    topic_prefix: str
    discovery_prefix: str  # "": no discovery
    availability_topic: str
    node_id: str  # unique per device, for unique_ids and discovery topics
    connected: bool
    since_ms: int  # when it last connected or lost the connection

    def publish(self, topic: str, payload: str, retain: bool = False) -> None: ...

    def device(self) -> dict: ...

    def on_connect(self, callback) -> None: ...


def failing_since(publisher: Publisher) -> int | None:
    """When the broker became unreachable, or None while connected."""
    return None if publisher.connected else publisher.since_ms


class MqttNotifier:
    """Publishes each alert's state, retained, and announces a binary_sensor per alert."""

    name = "mqtt"

    def __init__(self, publisher: Publisher, rules: list[Rule]):
        self.publisher = publisher
        self.rules = [r for r in rules if "mqtt" in r.notify]
        publisher.on_connect(self.announce)  # again on every (re)connect and HA birth message

    def topic(self, alert: str) -> str:
        return f"{self.publisher.topic_prefix}/alert/{alert}"

    def send(self, message: Message) -> None:
        if not self.publisher.connected:
            raise DeliveryError("mqtt: not connected to the broker")
        payload = json.dumps(message.payload())
        # a test is not a state: it must not stay retained as the alert's last word
        self.publisher.publish(self.topic(message.event.alert), payload, retain=not message.test)

    def discovery(self) -> list[tuple[str, dict]]:
        """(topic, payload) of each alert's binary_sensor; device_class problem: on = firing."""
        p = self.publisher
        out = []
        for rule in self.rules:
            object_id = f"alert_{rule.name}"
            out.append(
                (
                    f"{p.discovery_prefix}/binary_sensor/{p.node_id}/{object_id}/config",
                    {
                        "name": f"Alert {rule.name}",
                        "unique_id": f"{p.node_id}_{object_id}",
                        "object_id": f"{p.node_id}_{object_id}",
                        "device_class": "problem",
                        "state_topic": self.topic(rule.name),
                        "value_template": f"{{{{ 'ON' if value_json.state == '{FIRING}' else 'OFF' }}}}",
                        "json_attributes_topic": self.topic(rule.name),
                        "availability_topic": p.availability_topic,
                        "device": p.device(),
                    },
                )
            )
        return out

    def announce(self) -> None:
        if not self.publisher.discovery_prefix:
            return
        for topic, payload in self.discovery():
            self.publisher.publish(topic, json.dumps(payload), retain=True)
