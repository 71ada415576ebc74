"""MQTT notifications: a retained topic per alert, and a Home Assistant binary_sensor for it.

Through the daemon's MQTT publisher (corcypower/mqtt), which owns the connection: its
topics.under(), publish(topic, payload, retain), add_entity() (discovery, sent again on every
reconnection and Home Assistant birth message) and its health (connected, since_ms).

    <topic_prefix>/alert/<name>    retained JSON, the webhook's payload (docs/alerts.md)
    binary_sensor "alert_<name>"   device_class problem: on while the alert fires
"""

from __future__ import annotations

from corcypower.alerts.engine import FIRING
from corcypower.alerts.notifiers import Message
from corcypower.alerts.rules import Rule
from corcypower.errors import DeliveryError


def failing_since(publisher) -> int | None:
    """When the broker became unreachable, or None while connected."""
    return None if publisher.connected else publisher.since_ms


class MqttNotifier:
    """Publishes each alert's state, retained, and announces a binary_sensor per alert."""

    name = "mqtt"

    def __init__(self, publisher, rules: list[Rule]):
        from corcypower.mqtt.discovery import Entity

        self.publisher = publisher
        for rule in rules:
            if "mqtt" in rule.notify:
                publisher.add_entity(
                    Entity("binary_sensor", f"alert_{rule.name}", self.options(rule))
                )

    def topic(self, alert: str) -> str:
        return self.publisher.topics.under("alert", alert)

    def options(self, rule: Rule) -> dict:
        """The binary_sensor's discovery options: on while firing, the event as attributes."""
        return {
            "name": f"alert {rule.name}",
            "device_class": "problem",
            "state_topic": self.topic(rule.name),
            "value_template": f"{{{{ 'ON' if value_json.state == '{FIRING}' else 'OFF' }}}}",
            "json_attributes_topic": self.topic(rule.name),
        }

    def send(self, message: Message) -> None:
        # queued by the publisher while the broker is away; but a notification that would
        # wait in a queue for an outage's length is better retried (and given up) here
        if not self.publisher.connected:
            raise DeliveryError("mqtt: not connected to the broker")
        # a test is not a state: it must not stay retained as the alert's last word
        topic = self.topic(message.event.alert) + ("/test" if message.test else "")
        self.publisher.publish(topic, message.payload(), retain=not message.test)
