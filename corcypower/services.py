"""What runs beside the daemon's loop, composed once for `corcypower run` and `demo`.

The live path (ring, state API, remote voltages) always; MQTT when [mqtt] host is set. Both
show the cumulative energy committed to power.db (store/totals.py). Leaving the `with` stops
them in reverse order: MQTT first, so its last message carries the daemon's final totals.
"""

from __future__ import annotations

from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

from corcypower import mqtt
from corcypower.live import service as live
from corcypower.store.totals import EnergyTotals


@dataclass(frozen=True)
class Services:
    """What runs beside a daemon: other parts find each other here (alerts publish through
    `mqtt`, None when MQTT is off; see corcypower/mqtt/publisher.py)."""

    live: live.LiveServices
    energy: EnergyTotals
    mqtt: object | None  # a corcypower.mqtt.publisher.Publisher


@contextmanager
def attach(daemon, required: bool = False):
    """Start the services of `daemon`; yields Services.

    `required`: the state API must start (the demo's dashboard follows it), else LiveError.
    """
    with ExitStack() as stack:
        energy = stack.enter_context(EnergyTotals(daemon.config.db_path))
        services = stack.enter_context(live.attach(daemon, required=required, energy=energy.read))
        publisher = stack.enter_context(mqtt.attach(daemon, energy))
        yield Services(services, energy, publisher)
