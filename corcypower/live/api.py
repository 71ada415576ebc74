"""The state API: read-only JSON from the ring, served by live/server.py from a daemon thread.

    GET /api/v1/state                  the last batch: every channel with units and health, and
                                       each current channel's cumulative energy (kWh)
    GET /api/v1/live?since=MS[&wait=S] batches with ts > MS (ms UTC), oldest first; with wait,
                                       hold the answer up to S seconds until there is one
    GET /api/v1/channels               the configured channels
    GET /api/v1/history?channel=&start=&end=&points=
                                       stored history from power.db, at the dashboard's level
                                       of detail (live/history.py, store/series.py)

Errors are JSON too: {"error": "..."} with 400 (a bad query), 404 (no such endpoint),
405 (anything but GET: nothing here changes data) or 503 (no batch analysed yet); the
server's own limits (timeouts, the connection cap, Host) are in live/server.py.

An endpoint is a line in ROUTES and a method of StateAPI taking the Request: a plain method
runs on a worker thread (it may read the database), an async one in the server's loop (it
may only wait, as the long poll of /live does).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime
from http import HTTPStatus

from corcypower import __version__
from corcypower.clock import Clock
from corcypower.errors import CorcyPowerError
from corcypower.live import query
from corcypower.live.history import HistoryEndpoint, Reader
from corcypower.live.phases import phase_totals
from corcypower.live.ring import ADC_FIELDS, KIND_FIELDS, UNITS, Ring
from corcypower.live.server import BadRequest, Handler, Request, Server
from corcypower.settings import Config
from corcypower.settings.phases import grid_by_phase

log = logging.getLogger(__name__)

MAX_WAIT_S = 30.0
MAX_MS = 2**53 - 1  # the largest whole number a JSON reader (JavaScript) holds exactly
ENERGY_UNITS = {"energy_import_kwh": "kWh", "energy_export_kwh": "kWh"}
# Each endpoint and the StateAPI method that answers it: adding one is a line here and a method
ROUTES = {
    "/api/v1/state": "state",
    "/api/v1/live": "live",
    "/api/v1/channels": "channels",
    "/api/v1/history": "history",
}
ENDPOINTS = tuple(ROUTES)

__all__ = ["BadRequest", "LiveError", "StateAPI", "channels_doc", "parse_live_query"]


class LiveError(CorcyPowerError, OSError):
    """The state API could not start (its address is taken, say)."""


def local_time(ts_ms: int) -> str:
    """ISO 8601 in the device's local time, with its UTC offset (daylight saving included)."""
    return datetime.fromtimestamp(ts_ms / 1000).astimezone().isoformat(timespec="milliseconds")


def channels_doc(config: Config) -> dict:
    channels = []
    for ch in config.channels:
        entry = {
            "name": ch.name,
            "kind": ch.kind,
            "unit": ch.unit,
            "adc_channel": ch.adc_channel,
            "cs": ch.cs,
            "scale": ch.scale,
            "fields": list(ADC_FIELDS + KIND_FIELDS[ch.kind]),
        }
        if ch.kind == "current":
            measured = isinstance(ch.voltage, str) or ch.remote_voltage is not None
            entry["voltage"] = ch.voltage_text if measured else ch.voltage  # volts: a number
        channels.append(entry)
    return {
        "chip": config["adc.chip"],
        "batch_seconds": config["adc.batch_seconds"],
        "ring_seconds": config["api.ring_seconds"],
        "units": UNITS,
        "channels": channels,
    }


def parse_live_query(text: str) -> tuple[int, float]:
    """(since ms, wait s) from a /live query string; BadRequest names the bad parameter."""
    params = query.parse(text, ("since", "wait"), usage="since=MS&wait=S")
    since = query.whole(params, "since", 0, MAX_MS, "whole milliseconds since the epoch (UTC)")
    wait = query.number(params, "wait", 0, MAX_WAIT_S, "seconds")
    return since or 0, wait or 0.0


class StateAPI:
    """The state API over the ring; `url` is where it listens."""

    def __init__(
        self,
        ring: Ring,
        config: Config,
        clock: Clock | None = None,
        energy: Callable[[], dict | None] | None = None,
        history: Reader | None = None,
    ):
        self.ring = ring
        self.clock = clock or Clock()
        # cumulative (import, export) kWh by current channel, as committed; None: unknown yet
        self.energy = energy or (lambda: None)
        # history(channels, start ms, end ms, points) → JSON (store/series.py); None: no database
        self.history_endpoint = HistoryEndpoint(history, self.clock)
        self.currents = {c.name for c in config.channels if c.kind == "current"}
        self.grid, self.phases = config.grid_channels, grid_by_phase(config)
        self.device = config.device_name
        self.started_ms = self.clock.wall_ms()
        self.channels_json = json.dumps(channels_doc(config)).encode()
        # other parts' sections of /api/v1/state (e.g. "alerts"): name → a function of nothing
        # answering from RAM, called at each request
        self.parts: dict[str, Callable[[], object]] = {}
        bind, port = config["api.bind"], config["api.port"]
        try:
            self.server = Server(
                bind,
                port,
                self.routes(),
                max_connections=config["api.max_connections"],
                timeout=config["api.timeout_seconds"],
                allowed_hosts=config["api.allowed_hosts"],
                name="state-api",
            )
        except OSError as exc:
            raise LiveError(
                f"cannot serve the state API on {bind}:{port}: {exc.strerror or exc} "
                "(is another corcypower daemon running? see [api] bind and port)"
            ) from None
        ring.watchers.append(self.server.notify)  # wakes the long polls of /live

    def routes(self) -> dict[str, Handler]:
        return {path: getattr(self, method) for path, method in ROUTES.items()}

    @property
    def url(self) -> str:
        host, port = self.server.address
        host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
        return f"http://{host}:{port}" if ":" not in host else f"http://[{host}]:{port}"

    def start(self) -> StateAPI:
        self.server.start()
        log.info("state API on %s/api/v1/state", self.url)
        return self

    def close(self) -> None:
        self.server.close()
        self.history_endpoint.close()

    # --- the answers: (status, JSON body) --------------------------------------------

    def state(self, request: Request | None = None) -> tuple[int, bytes]:
        batch = self.ring.latest()
        if batch is None:
            waited = (self.clock.wall_ms() - self.started_ms) / 1000
            body = {"error": f"no batch analysed yet (the API started {waited:.0f} s ago)"}
            return HTTPStatus.SERVICE_UNAVAILABLE, json.dumps(body).encode()
        totals = self.energy()
        doc = {
            "ts": batch["ts"],
            "time": local_time(batch["ts"]),
            "age_ms": self.clock.wall_ms() - batch["ts"],
            "duration_ms": batch["duration_ms"],
            "version": __version__,
            "device": self.device,
            "grid": list(self.grid),
            "units": UNITS | ENERGY_UNITS,
            "channels": [
                ch
                | {"unit": "V" if ch["kind"] == "voltage" else "A", "ok": not ch["flags"]}
                | self._energy(ch["name"], totals)
                for ch in batch["channels"]
            ],
        }
        doc.update(phase_totals(batch["channels"], self.phases, self.grid, totals))
        doc.update({name: part() for name, part in self.parts.items()})
        return HTTPStatus.OK, json.dumps(doc).encode()

    def _energy(self, name: str, totals: dict | None) -> dict:
        """A current channel's cumulative kWh, as committed to power.db (never backwards)."""
        if totals is None or name not in self.currents:
            return {}
        imported, exported = totals.get(name, (0.0, 0.0))
        return {"energy_import_kwh": imported, "energy_export_kwh": exported}

    def channels(self, request: Request) -> tuple[int, bytes]:
        return HTTPStatus.OK, self.channels_json

    async def live(self, request: Request) -> tuple[int, bytes]:
        since, wait = parse_live_query(request.query)
        if wait > 0:
            await self.server.news(lambda: (self.ring.newest_ts() or -1) > since, wait)
        batches = self.ring.since(since)
        newest = self.ring.newest_ts()
        head = f'{{"newest":{json.dumps(newest)},"ring_seconds":{self.ring.seconds:g},"batches":['
        return HTTPStatus.OK, head.encode() + b",".join(batches) + b"]}"

    async def history(self, request: Request) -> tuple[int, bytes]:
        return await self.history_endpoint(request)
