"""Wiring alerts into a daemon: the engine as a listener, a thread for the rest.

In the daemon's loop, per batch, only the engine's comparisons run; events go on a bounded
queue. The alerts' thread takes them from there, stores them in power.db, logs them, passes
them through the gate (rate limits, quiet hours) and hands them to each notifier's courier.
Once a second it also judges the conditions no batch brings (stale, unreachable).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections import deque
from collections.abc import Callable
from contextlib import contextmanager, suppress

from corcypower.alerts import history, rules
from corcypower.alerts.delivery import Courier
from corcypower.alerts.engine import RESOLVED, Engine, Event
from corcypower.alerts.gate import Gate
from corcypower.alerts.notifiers import LogNotifier, Message, Notifier, build, device_name
from corcypower.errors import CorcyPowerError

log = logging.getLogger(__name__)

TICK_SECONDS = 1.0
QUEUE_SIZE = 1000
RECENT = 20  # events kept in RAM for the state API
WAKE = None  # queued by close(): the thread stops at once instead of at its next tick
PRUNE_MS = 86_400_000
CLOSE_SECONDS = 0.5  # a stop gives notifications this long to go


class AlertService:
    """The rules of one daemon, their state, and where their events go."""

    def __init__(
        self,
        daemon,
        found: list[rules.Rule],
        notifiers: dict[str, Notifier],
        failing: dict[str, Callable[[], int | None]] | None = None,
        wait_scale: float = 1.0,
    ):
        self.daemon = daemon
        self.clock = daemon.clock
        self.rules = {r.name: r for r in found}
        self.db_path = daemon.config.db_path
        self.device = device_name(daemon.config)
        left = history.firing(self.db_path)
        self.orphans = {name: ts for name, ts in left.items() if name not in self.rules}
        self.engine = Engine(found, {n: ts for n, ts in left.items() if n in self.rules})
        self.gate = Gate(found, notified=left)  # their resolutions are owed
        self.log_notifier = notifiers.get("log", LogNotifier())
        retry = daemon.config["notify.retry_minutes"]
        self.couriers = {
            name: Courier(n, retry, self.clock, wait_scale)
            for name, n in notifiers.items()
            if name != "log"
        }
        self.failing = failing or {}
        self.events: queue.Queue[Event] = queue.Queue(QUEUE_SIZE)
        self.recent: deque[Event] = deque(maxlen=RECENT)
        self.stored_ms = self.clock.wall_ms()
        self.history: history.History | None = None
        self._pruned: int | None = None
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self.run, name="alerts", daemon=True)

    # ---- in the daemon's loop ------------------------------------------------------------

    def listener(self, ts: int, duration_ms: int, stats) -> None:
        writer = self.daemon.writer
        if writer is None or writer.last_error is None:  # what is kept for a failing commit
            self.stored_ms = ts  # is not stored yet
        for event in self.engine.batch(ts, duration_ms, stats):
            try:
                self.events.put_nowait(event)
            except queue.Full:
                log.error(
                    "alerts: %d events waiting; dropped %s %s", QUEUE_SIZE, event.alert, event.state
                )

    # ---- in the alerts' thread -----------------------------------------------------------

    def start(self) -> AlertService:
        for courier in self.couriers.values():
            courier.start()
        self.thread.start()
        return self

    def run(self) -> None:
        self.resolve_orphans()
        next_tick = self.clock.monotonic()
        while not self._stop.is_set():
            self.drain(timeout=max(0.0, next_tick - self.clock.monotonic()))
            if self.clock.monotonic() >= next_tick:
                next_tick = self.clock.monotonic() + TICK_SECONDS
                self.tick()

    def drain(self, timeout: float = 0.0) -> None:
        """Handle the events the listener queued (waiting up to `timeout` s for the first)."""
        try:
            self.handle(self.events.get(timeout=timeout) if timeout else self.events.get_nowait())
            while True:
                self.handle(self.events.get_nowait())
        except queue.Empty:
            pass

    def tick(self) -> None:
        """The conditions no batch brings (stale, unreachable), held notifications now due,
        and once a day the deletion of events older than a year."""
        now = self.clock.wall_ms()
        health = {server: since() for server, since in self.failing.items()}
        for event in self.engine.tick(now, self.stored_ms, health):
            self.handle(event)
        for event in self.gate.due(now):
            self.dispatch(event)
        if self._pruned is None or now - self._pruned >= PRUNE_MS:
            self._store(lambda h: h.prune(now))
            self._pruned = now

    def handle(self, event: Event | None) -> None:
        """Store, log, and notify now or later (the gate)."""
        if event is WAKE:
            return
        self.recent.append(event)
        self._store(lambda h: h.record(event))
        self.log_notifier.send(self.message(event))
        for admitted in self.gate.admit(event, self.clock.wall_ms()):
            self.dispatch(admitted)

    def dispatch(self, event: Event) -> None:
        message = self.message(event)
        for name in self.rules[event.alert].notify:
            if name in self.couriers:
                self.couriers[name].post(message)

    def message(self, event: Event, test: bool = False) -> Message:
        rule = self.rules.get(event.alert)
        condition = rule.describe() if rule else "no longer configured"
        return Message(event, self.device, condition, test)

    def _store(self, write: Callable[[history.History], None]) -> None:
        try:
            if self.history is None:
                self.history = history.History(self.db_path)
            write(self.history)
        except CorcyPowerError as exc:  # the database is busy or full: the event stays in the log
            log.error("alerts: %s", exc)

    def resolve_orphans(self) -> None:
        """Alerts left firing by the last run whose rule is gone are resolved, once."""
        now = self.clock.wall_ms()
        for name in self.orphans:
            event = Event(name, RESOLVED, now, now, None, None, None, "no longer configured")
            self.recent.append(event)
            self._store(lambda h, e=event: h.record(e))
            log.info("alert %s was firing and is no longer configured: resolved", name)

    # ---- for the state API and the end ----------------------------------------------------

    def state_doc(self) -> dict:
        """What /api/v1/state says of alerts: every rule's state, and the latest events."""
        states = self.engine.states()
        return {
            "firing": sorted(s["name"] for s in states if s["state"] == "firing"),
            "rules": states,
            "recent": [
                {
                    "alert": e.alert,
                    "state": e.state,
                    "ts": e.ts,
                    "since": e.since,
                    "value": e.value,
                    "text": e.text,
                }
                for e in reversed(self.recent)
            ],
        }

    def close(self) -> None:
        """Stop: store the events still queued, give notifiers a moment to deliver."""
        self._stop.set()
        with suppress(queue.Full):  # a full queue wakes the thread anyway
            self.events.put_nowait(WAKE)
        if self.thread.is_alive():
            self.thread.join(timeout=2)
        self.drain()
        deadline = self.clock.monotonic() + CLOSE_SECONDS  # for all notifiers together
        for courier in self.couriers.values():
            courier.drain(max(0.0, deadline - self.clock.monotonic()))
        for courier in self.couriers.values():
            courier.stop()
        if self.history is not None:
            self.history.close()


def attach(daemon, live=None, publisher=None) -> AlertService | None:
    """Give `daemon` its [[alerts]], started: None when there are none. A bad rule raises
    ConfigError before anything starts. `live` (live.service.attach's answer) gets the alerts
    into /api/v1/state; `publisher` is the MQTT publisher, for notify = ["mqtt"] and
    unreachable = "mqtt"."""
    service = prepare(daemon, live, publisher)
    return service.start() if service is not None else None


def prepare(daemon, live=None, publisher=None, wait_scale: float = 1.0) -> AlertService | None:
    """attach() without starting the threads (tests drive drain() and tick() themselves)."""
    found = rules.from_config(daemon.config)
    if not found:
        return None
    names = {n for r in found for n in r.notify}
    notifiers = build(daemon.config, names)
    failing: dict[str, Callable[[], int | None]] = {
        "mysql": lambda: getattr(getattr(daemon, "exporter", None), "failing_since_ms", None)
    }
    if publisher is not None:
        from corcypower.alerts.mqtt import MqttNotifier, failing_since

        failing["mqtt"] = lambda: failing_since(publisher)
        if "mqtt" in names:
            notifiers["mqtt"] = MqttNotifier(publisher, found)
    elif "mqtt" in names or any(r.unreachable == "mqtt" for r in found):
        log.error("alerts use MQTT but the MQTT publisher is not running: those parts are off")
    if daemon.writer is None:  # the events' table exists from here on
        daemon.open_store()
    service = AlertService(daemon, found, notifiers, failing, wait_scale)
    daemon.listeners.append(service.listener)
    if live is not None and getattr(live, "api", None) is not None:
        live.api.parts["alerts"] = service.state_doc
    log.info("%d alerts: %s", len(found), ", ".join(found_names(found)))
    return service


@contextmanager
def attached(daemon, live=None, publisher=None):
    """attach() for a `with`: the service (or None) while it runs, closed after."""
    service = attach(daemon, live, publisher)
    try:
        yield service
    finally:
        if service is not None:
            service.close()


def found_names(found: list[rules.Rule]) -> list[str]:
    return [f"{r.name} ({'+'.join(r.notify)})" for r in found]
