"""MQTT ([mqtt]; off unless host is set): state, cumulative energy, Home Assistant discovery.

config.py     the [mqtt] section, checked (standard library only)
payloads.py   the topics and their JSON
discovery.py  Home Assistant's discovery configs
publisher.py  the thread that owns the paho-mqtt client

paho-mqtt (the `mqtt` extra) is imported only when [mqtt] host is set. docs/mqtt.md.
"""

from __future__ import annotations

import logging
from contextlib import nullcontext

from corcypower.store.totals import EnergyTotals

log = logging.getLogger(__name__)

INSTALL_HINT = "pip install 'corcypower[mqtt]'"


def attach(daemon, energy: EnergyTotals):
    """Start publishing `daemon`'s batches and `energy` when [mqtt] host is set.

    A context manager: `with attach(daemon, energy) as publisher:` (None when MQTT is off).
    A bad [mqtt] section raises ConfigError before anything starts. Without paho-mqtt the
    daemon measures on and logs why nothing is published.
    """
    from corcypower.mqtt.config import from_config

    settings = from_config(daemon.config)
    if settings is None:
        return nullcontext(None)
    try:
        from corcypower.mqtt.publisher import Publisher
    except ImportError as exc:
        log.error(
            "[mqtt] host is set but paho-mqtt is missing (%s): %s; measuring goes on without MQTT",
            exc,
            INSTALL_HINT,
        )
        return nullcontext(None)
    publisher = Publisher(settings, daemon.config, energy, daemon.clock)
    daemon.listeners.append(publisher.listener)
    return publisher.start()
