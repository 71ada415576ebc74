"""The [mqtt] section as the publisher uses it: broker, credentials, names and pace, checked.

Only the standard library here: the daemon reads this whether or not paho-mqtt is installed.
"""

from __future__ import annotations

import logging
import re
import socket
from dataclasses import dataclass
from pathlib import Path

from corcypower.errors import ConfigError
from corcypower.settings import Config, passwords

log = logging.getLogger(__name__)

PASSWORD_ENV = "CORCYPOWER_MQTT_PASSWORD"
NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
LOOPBACK = ("127.0.0.1", "0.0.0.0", "localhost", "::", "::1", "")


@dataclass(frozen=True)
class MqttSettings:
    """Everything the publisher needs, resolved and checked."""

    host: str
    port: int = 1883
    username: str | None = None
    password: str | None = None
    tls: bool = False
    ca_file: Path | None = None
    device: str = "corcypower"  # in topics, ids and Home Assistant's device
    client_id: str = "corcypower-corcypower"
    topic_prefix: str = "corcypower/corcypower"
    discovery_prefix: str = "homeassistant"  # "": no discovery
    publish_seconds: float = 1.0
    energy_seconds: float = 60.0
    qos: int = 1
    keepalive_seconds: int = 60
    reconnect_max_seconds: int = 5
    configuration_url: str = "http://corcypower:5006/"

    @property
    def broker(self) -> str:
        return f"{self.host}:{self.port}" if ":" not in self.host else f"[{self.host}]:{self.port}"

    def __repr__(self) -> str:  # never print the password
        return f"MqttSettings({self.username or ''}@{self.broker} as {self.client_id})"


def configured(config: Config) -> bool:
    return config["mqtt.host"] is not None


def from_config(config: Config) -> MqttSettings | None:
    """The MQTT settings, or None when [mqtt] has no host (MQTT off); ConfigError if bad."""
    if not configured(config):
        return None
    where = config.where
    device = config["mqtt.device"] or default_device(config)
    ca_file = None
    if config["mqtt.ca_file"] is not None:
        if not config["mqtt.tls"]:
            raise ConfigError(
                f"{where}: [mqtt] ca_file is set but tls = false; expected tls = true "
                "(or no ca_file)"
            )
        ca_file = passwords.beside_config(config["mqtt.ca_file"], config.source)
        try:
            ca_file.read_bytes()
        except OSError as exc:
            raise ConfigError(
                f"{where}: [mqtt] ca_file = {config['mqtt.ca_file']!r}: cannot read {ca_file}: "
                f"{exc.strerror or exc}"
            ) from None
    password, warnings = passwords.password(config, "mqtt", PASSWORD_ENV, "the MQTT password")
    if password is not None and config["mqtt.username"] is None:
        raise ConfigError(
            f'{where}: [mqtt] has a password but no username; expected username = "..." too'
        )
    for warning in warnings:
        log.warning(warning)
    return MqttSettings(
        host=config["mqtt.host"],
        port=config["mqtt.port"],
        username=config["mqtt.username"],
        password=password,
        tls=config["mqtt.tls"],
        ca_file=ca_file,
        device=device,
        client_id=config["mqtt.client_id"] or f"corcypower-{device}",
        topic_prefix=config["mqtt.topic_prefix"] or f"corcypower/{device}",
        discovery_prefix=config["mqtt.discovery_prefix"],
        publish_seconds=config["mqtt.publish_seconds"],
        energy_seconds=config["mqtt.energy_seconds"],
        qos=config["mqtt.qos"],
        keepalive_seconds=config["mqtt.keepalive_seconds"],
        reconnect_max_seconds=config["mqtt.reconnect_max_seconds"],
        configuration_url=config["mqtt.configuration_url"] or dashboard_url(config),
    )


def default_device(config: Config) -> str:
    """[export.mysql] point when it fits in a topic and an id, else the host name."""
    point = config["export.mysql.point"]
    if point and NAME.match(point):
        return point
    host = socket.gethostname().split(".")[0]
    return re.sub(r"[^A-Za-z0-9_-]", "-", host)[:64] or "corcypower"


def dashboard_url(config: Config) -> str:
    """Where people on the LAN open this device's dashboard (Home Assistant links to it)."""
    host = config["dashboard.address"]
    if host in LOOPBACK:
        host = socket.gethostname()
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{config['dashboard.port']}/"
