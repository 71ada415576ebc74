"""The [mqtt] settings: the publisher's broker, credentials, topics and pace (docs/mqtt.md)."""

from __future__ import annotations

from corcypower.settings.checks import (
    boolean,
    choice,
    client_id,
    http_url,
    identifier,
    mqtt_topic,
    number,
    text,
)
from corcypower.settings.setting import Setting

MQTT_SETTINGS: list[Setting] = [
    Setting(
        "mqtt.host",
        None,
        "MQTT broker (name or address) the daemon publishes to: state, cumulative energy and Home Assistant discovery. Not set: no MQTT. Needs `pip install 'corcypower[mqtt]'`; see docs/mqtt.md.",
        text,
    ),
    Setting(
        "mqtt.port",
        1883,
        "TCP port of the broker (8883 is the usual one with tls = true).",
        number(1, 65535, integer=True),
    ),
    Setting("mqtt.username", None, "User name on the broker. Not set: no login.", text),
    Setting(
        "mqtt.password",
        None,
        "Password. Prefer password_file, $CORCYPOWER_MQTT_PASSWORD or systemd's LoadCredential=; a world-readable config file holding a password is warned about.",
        text,
    ),
    Setting(
        "mqtt.password_file",
        None,
        "File holding the password (its first line). A relative name is looked up in $CREDENTIALS_DIRECTORY (systemd LoadCredential=), else next to the config file.",
        text,
    ),
    Setting(
        "mqtt.tls",
        False,
        "Connect with TLS; the broker's certificate and host name are checked against ca_file, else the system's CAs.",
        boolean,
    ),
    Setting(
        "mqtt.ca_file",
        None,
        "PEM file of the CA that signed the broker's certificate (a broker with its own CA). Relative to the config file. Default: the system's CAs.",
        text,
    ),
    Setting(
        "mqtt.device",
        None,
        "This device's name in topics, the client id and Home Assistant (letters, digits, _ and -). Default: [export.mysql] point if it is such a name, else the host name.",
        identifier,
    ),
    Setting(
        "mqtt.client_id",
        None,
        "Client id on the broker (two clients with the same id push each other off). Default: corcypower-<device>.",
        client_id,
    ),
    Setting(
        "mqtt.topic_prefix",
        None,
        "Every topic starts with this. Default: corcypower/<device>.",
        mqtt_topic(),
    ),
    Setting(
        "mqtt.discovery_prefix",
        "homeassistant",
        'Home Assistant\'s discovery prefix: sensors appear there by themselves. "" turns discovery off.',
        mqtt_topic(allow_empty=True),
    ),
    Setting(
        "mqtt.publish_seconds",
        1.0,
        "Seconds between state messages (power, current, voltage, power factor, frequency of every channel).",
        number(0.5, 3600.0),
    ),
    Setting(
        "mqtt.energy_seconds",
        60.0,
        "Seconds between cumulative energy messages (kWh imported and exported, as committed to power.db).",
        number(1.0, 86_400.0),
    ),
    Setting(
        "mqtt.qos",
        1,
        "MQTT quality of service of every message: 0 (at most once), 1 (at least once) or 2 (exactly once).",
        choice(0, 1, 2),
    ),
    Setting(
        "mqtt.keepalive_seconds",
        60,
        "Seconds between keep-alive pings; the broker sends the last will (offline) after 1.5 times this without news.",
        number(5, 3600, integer=True),
    ),
    Setting(
        "mqtt.reconnect_max_seconds",
        5,
        "Longest wait between attempts to reconnect (the wait doubles from 1 s): a broker back after an outage is found within this.",
        number(1, 3600, integer=True),
    ),
    Setting(
        "mqtt.configuration_url",
        None,
        "The link Home Assistant shows on the device page. Default: the dashboard, http://<host name>:<dashboard.port>/.",
        http_url,
    ),
]
