"""MQTT notifications: a retained topic per alert, and a Home Assistant binary_sensor for it.

Through the daemon's MQTT publisher (corcypower/mqtt), which owns the connection: its
topics.under(), publish(topic, payload, retain), add_entity() (discovery, sent again on every
reconnection and Home Assistant birth message) and its health (connected, since_ms).

    <topic_prefix>/alert/<name>    retained JSON, the webhook's payload (docs/alerts.md)
    binary_sensor "alert_<name>"   device_class problem: on while the alert fires
"""

from __future__ import annotations

import json
import threading

from corcypower.alerts.engine import FIRING
from corcypower.alerts.notifiers import Message
from corcypower.alerts.rules import Rule
from corcypower.errors import ConfigError, DeliveryError
from corcypower.settings import Config


def alert_topic(topics, alert: str, test: bool = False) -> str:
    """<topic_prefix>/alert/<name>, and /test under it for `corcypower alerts test`."""
    return topics.under("alert", alert, *(("test",) if test else ()))


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
        return alert_topic(self.publisher.topics, alert)

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
        topic = alert_topic(self.publisher.topics, message.event.alert, message.test)
        self.publisher.publish(topic, message.payload(), retain=not message.test)


class OneShotNotifier:
    """For `corcypower alerts test`: a connection of its own, beside the daemon's (another
    client id, no last will, so the device's availability is untouched), one message."""

    name = "mqtt"

    def __init__(self, config: Config, timeout: float = 10.0):
        from corcypower.mqtt.config import from_config

        settings = from_config(config)
        if settings is None:
            raise ConfigError(f"{config.where}: no [mqtt] host, so nothing is published")
        self.settings, self.timeout = settings, timeout

    def send(self, message: Message) -> None:
        try:
            import paho.mqtt.client as mqtt
        except ImportError:
            raise DeliveryError(
                "mqtt: paho-mqtt is not installed: pip install 'corcypower[mqtt]'"
            ) from None
        from corcypower.mqtt.payloads import Topics

        s = self.settings
        topic = alert_topic(Topics(s.topic_prefix), message.event.alert, message.test)
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"{s.client_id}-test")
        if s.username is not None:
            client.username_pw_set(s.username, s.password)
        answered, said = threading.Event(), []
        client.on_connect = lambda c, userdata, flags, code, props: (
            said.append(code),
            answered.set(),
        )
        try:
            if s.tls:
                client.tls_set(ca_certs=str(s.ca_file) if s.ca_file else None)
            client.connect(s.host, s.port, keepalive=10)
            client.loop_start()
            if not answered.wait(self.timeout):
                raise DeliveryError(f"mqtt {s.broker}: no answer within {self.timeout:g} s")
            if said[0].is_failure:
                raise DeliveryError(
                    f"mqtt {s.broker}: refused: {said[0]} (see [mqtt] username and password)"
                )
            info = client.publish(topic, json.dumps(message.payload()), qos=1)
            info.wait_for_publish(timeout=self.timeout)
            if not info.is_published():
                raise DeliveryError(f"mqtt {s.broker}: {topic} not acknowledged")
        except (OSError, ValueError, RuntimeError) as exc:
            raise DeliveryError(f"mqtt {s.broker}: {exc}") from None
        finally:
            client.disconnect()
            client.loop_stop()
