"""Wiring the live path into a daemon: the ring as a listener, the API, the remote-voltage poller."""

from __future__ import annotations

import logging
import threading

from corcypower.live.api import LiveError, StateAPI
from corcypower.live.remote import RemoteVoltages
from corcypower.live.ring import Ring

log = logging.getLogger(__name__)


class LiveServices:
    """What `attach` started; close() (or leaving the `with`) stops it all."""

    def __init__(self, ring: Ring, api: StateAPI | None, remote: RemoteVoltages):
        self.ring = ring
        self.api = api
        self.remote = remote
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if remote:
            self._thread = threading.Thread(
                target=remote.run, args=(self._stop,), name="remote-voltage", daemon=True
            )
            self._thread.start()

    def __enter__(self) -> LiveServices:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._stop.set()
        if self.api is not None:
            self.api.close()
        if self._thread is not None:
            self._thread.join(timeout=3)


def attach(
    daemon, api: bool = True, required: bool = False, energy=None, history=None
) -> LiveServices:
    """Give `daemon` a live ring, a state API (unless api=False) and its remote voltages.

    The API failing to start (its port taken) is logged and sampling goes on, unless
    `required`: then the LiveError is raised for the caller to report. `energy()` gives the
    cumulative kWh by channel the state API shows (corcypower/store/totals.py); `history`
    answers /api/v1/history (corcypower/store/series.py).
    """
    config = daemon.config
    ring = Ring(config["api.ring_seconds"], config["adc.batch_seconds"])
    daemon.listeners.append(ring.add)
    remote = RemoteVoltages(
        config.channels,
        config["mains.voltage"],
        config["remote_voltage.poll_seconds"],
        config["remote_voltage.stale_seconds"],
        daemon.clock,
    )
    if remote:
        daemon.volts = remote.volts
        daemon.volts_fallback = remote.fallback
    server = None
    if api:
        try:
            server = StateAPI(ring, config, daemon.clock, energy, history).start()
        except LiveError as exc:
            if required:
                raise
            log.error("%s; sampling and storing go on without it", exc)
    return LiveServices(ring, server, remote)
