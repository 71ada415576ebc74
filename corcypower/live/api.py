"""The state API: read-only HTTP + JSON from the ring, in a thread of the daemon (stdlib only).

    GET /api/v1/state                  the last batch: every channel with units and health, and
                                       each current channel's cumulative energy (kWh)
    GET /api/v1/live?since=MS[&wait=S] batches with ts > MS (ms UTC), oldest first; with wait,
                                       hold the answer up to S seconds until there is one
    GET /api/v1/channels               the configured channels

Errors are JSON too: {"error": "..."} with 400 (a bad query), 404 (no such endpoint),
405 (anything but GET: nothing here changes data) or 503 (no batch analysed yet).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from datetime import datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from corcypower import __version__
from corcypower.clock import Clock
from corcypower.errors import CorcyPowerError
from corcypower.live.ring import ADC_FIELDS, KIND_FIELDS, UNITS, Ring
from corcypower.settings import Config

log = logging.getLogger(__name__)

MAX_WAIT_S = 30.0
ENERGY_UNITS = {"energy_import_kwh": "kWh", "energy_export_kwh": "kWh"}
ENDPOINTS = ("/api/v1/state", "/api/v1/live", "/api/v1/channels")


class BadRequest(ValueError):
    """A query the API cannot answer; the text says what was expected."""


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
            entry["voltage"] = str(ch.remote_voltage) if ch.remote_voltage else ch.voltage
        channels.append(entry)
    return {
        "chip": config["adc.chip"],
        "batch_seconds": config["adc.batch_seconds"],
        "ring_seconds": config["api.ring_seconds"],
        "units": UNITS,
        "channels": channels,
    }


def _one(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    if values is None:
        return None
    if len(values) > 1:
        raise BadRequest(f"{name} is given {len(values)} times; expected it once")
    return values[0]


def parse_live_query(text: str) -> tuple[int, float]:
    """(since ms, wait s) from a /live query string; BadRequest names the bad parameter."""
    try:
        query = parse_qs(text, keep_blank_values=True, strict_parsing=bool(text))
    except ValueError:
        raise BadRequest(f"cannot read the query {text!r}; expected since=MS&wait=S") from None
    unknown = sorted(set(query) - {"since", "wait"})
    if unknown:
        raise BadRequest(f"unknown parameter {unknown[0]!r}; expected since and wait")
    since_text, wait_text = _one(query, "since"), _one(query, "wait")
    since = 0
    if since_text is not None:
        if not (since_text.isascii() and since_text.isdigit()):
            raise BadRequest(
                f"since={since_text!r}: expected whole milliseconds since the epoch (UTC), >= 0"
            )
        since = int(since_text)
    wait = 0.0
    if wait_text is not None:
        try:
            wait = float(wait_text)
        except ValueError:
            wait = -1.0
        if not 0 <= wait <= MAX_WAIT_S:  # also false for NaN
            raise BadRequest(f"wait={wait_text!r}: expected seconds from 0 to {MAX_WAIT_S:g}")
    return since, wait


class StateAPI:
    """The HTTP server and its thread; `url` is where it listens."""

    def __init__(
        self,
        ring: Ring,
        config: Config,
        clock: Clock | None = None,
        energy: Callable[[], dict | None] | None = None,
    ):
        self.ring = ring
        self.clock = clock or Clock()
        # cumulative (import, export) kWh by current channel, as committed; None: unknown yet
        self.energy = energy or (lambda: None)
        self.currents = {c.name for c in config.channels if c.kind == "current"}
        self.started_ms = self.clock.wall_ms()
        self.channels = json.dumps(channels_doc(config)).encode()
        # other parts' sections of /api/v1/state (e.g. "alerts"): name → a function of nothing
        # answering from RAM, called at each request
        self.parts: dict[str, Callable[[], object]] = {}
        bind, port = config["api.bind"], config["api.port"]
        try:
            self.server = ThreadingHTTPServer((bind, port), Handler)
        except OSError as exc:
            raise LiveError(
                f"cannot serve the state API on {bind}:{port}: {exc.strerror or exc} "
                "(is another corcypower daemon running? see [api] bind and port)"
            ) from None
        self.server.daemon_threads = True  # a waiting /live poll never holds up a stop
        self.server.api = self
        self.thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        host = "127.0.0.1" if host in ("0.0.0.0", "") else host
        return f"http://{host}:{port}" if ":" not in host else f"http://[{host}]:{port}"

    def start(self) -> StateAPI:
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.2}, name="state-api"
        )
        self.thread.daemon = True
        self.thread.start()
        log.info("state API on %s/api/v1/state", self.url)
        return self

    def close(self) -> None:
        self.ring.close()
        if self.thread is not None:
            self.server.shutdown()
            self.thread.join(timeout=2)
        self.server.server_close()

    # --- the answers: (status, JSON body) --------------------------------------------

    def answer(self, path: str, query: str) -> tuple[int, bytes]:
        if path == "/api/v1/state":
            return self.state()
        if path == "/api/v1/live":
            since, wait = parse_live_query(query)
            return self.live(since, wait)
        if path == "/api/v1/channels":
            return HTTPStatus.OK, self.channels
        raise LookupError(f"no such endpoint {path}; expected one of {', '.join(ENDPOINTS)}")

    def state(self) -> tuple[int, bytes]:
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
            "units": UNITS | ENERGY_UNITS,
            "channels": [
                ch
                | {"unit": "V" if ch["kind"] == "voltage" else "A", "ok": not ch["flags"]}
                | self._energy(ch["name"], totals)
                for ch in batch["channels"]
            ],
        }
        doc.update({name: part() for name, part in self.parts.items()})
        return HTTPStatus.OK, json.dumps(doc).encode()

    def _energy(self, name: str, totals: dict | None) -> dict:
        """A current channel's cumulative kWh, as committed to power.db (never backwards)."""
        if totals is None or name not in self.currents:
            return {}
        imported, exported = totals.get(name, (0.0, 0.0))
        return {"energy_import_kwh": imported, "energy_export_kwh": exported}

    def live(self, since: int, wait: float) -> tuple[int, bytes]:
        batches = self.ring.since(since, wait)
        newest = self.ring.newest_ts()
        head = f'{{"newest":{json.dumps(newest)},"ring_seconds":{self.ring.seconds:g},"batches":['
        return HTTPStatus.OK, head.encode() + b",".join(batches) + b"]}"


class Handler(BaseHTTPRequestHandler):
    """GET only; every answer is JSON."""

    server_version = f"corcypower/{__version__}"
    protocol_version = "HTTP/1.1"  # keep-alive: a poller reuses its connection

    def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
        self._respond(send_body=True)

    def do_HEAD(self) -> None:  # noqa: N802
        self._respond(send_body=False)

    def _respond(self, send_body: bool) -> None:
        parts = urlsplit(self.path)
        try:
            status, body = self.server.api.answer(parts.path.rstrip("/") or "/", parts.query)
        except BadRequest as exc:
            status, body = HTTPStatus.BAD_REQUEST, _error(str(exc))
        except LookupError as exc:
            status, body = HTTPStatus.NOT_FOUND, _error(str(exc))
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def _refuse(self) -> None:
        body = _error(f"{self.command} is not allowed: the state API is read-only; use GET")
        self.send_response(HTTPStatus.METHOD_NOT_ALLOWED)
        self.send_header("Allow", "GET, HEAD")
        self.send_header("Connection", "close")  # its body is not read: end the connection
        self.close_connection = True
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _refuse

    def log_message(self, format, *args) -> None:  # noqa: A002 (the stdlib's signature)
        log.debug("%s %s", self.address_string(), format % args)


def _error(message: str) -> bytes:
    return json.dumps({"error": message}).encode()
