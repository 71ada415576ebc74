"""What the MQTT tests need that a laptop may lack: the `mqtt` extra, and Mosquitto."""

from __future__ import annotations

import importlib.util

from tests.helpers import IN_CI, skip_unless
from tests.mqtt import broker

MISSING = importlib.util.find_spec("paho") is None and not IN_CI


def paho_and_mosquitto_or_skip() -> None:
    """Skip without paho-mqtt or Mosquitto; under CI that is a failure, never a skip."""
    skip_unless(
        importlib.util.find_spec("paho") is not None,
        "paho-mqtt is not installed (pip install -e '.[mqtt]'; `make test` does)",
    )
    skip_unless(
        broker.available(),
        "mosquitto, mosquitto-clients and openssl are not installed "
        "(apt-get install mosquitto mosquitto-clients openssl)",
    )
