"""What runs beside the daemon's loop, composed once for `corcypower run` and `demo`.

The live path (ring, state API, remote voltages) always, the API answering history from
power.db too (store/series.py); MQTT when [mqtt] host is set. Both show the cumulative energy
committed to power.db (store/totals.py). Then the [[alerts]], which
show in the state API and may notify through MQTT. Leaving the `with` stops them in reverse
order: alerts first (their last notifications can still go out over MQTT), then MQTT, so its
last message carries the daemon's final totals.
"""

from __future__ import annotations

from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

from corcypower import mqtt
from corcypower.alerts import service as alerts
from corcypower.live import service as live
from corcypower.store.series import HistoryReader
from corcypower.store.totals import EnergyTotals


@dataclass(frozen=True)
class Services:
    """What runs beside a daemon: other parts find each other here (alerts publish through
    `mqtt`, None when MQTT is off; see corcypower/mqtt/publisher.py)."""

    live: live.LiveServices
    energy: EnergyTotals
    mqtt: object | None  # a corcypower.mqtt.publisher.Publisher
    alerts: alerts.AlertService | None  # None without [[alerts]]


@contextmanager
def attach(daemon, required: bool = False):
    """Start the services of `daemon`; yields Services.

    `required`: the state API must start (the demo's dashboard follows it), else LiveError.
    """
    with ExitStack() as stack:
        energy = stack.enter_context(EnergyTotals(daemon.config.db_path))
        history = HistoryReader(daemon.config.db_path)
        services = stack.enter_context(
            live.attach(daemon, required=required, energy=energy.read, history=history)
        )
        publisher = stack.enter_context(mqtt.attach(daemon, energy))
        rules = stack.enter_context(alerts.attached(daemon, services, publisher))
        yield Services(services, energy, publisher, rules)
