"""The MQTT publisher: one thread of its own that owns the paho-mqtt 2.x client.

The daemon's listener only keeps a reference to the newest batch, so sampling never waits on
the network. The thread connects, and after a failure tries again after 1, 2, 4 … s (at most
reconnect_max_seconds), logging why once per outage. While connected, every publish_seconds it
sends each channel's newest state and every energy_seconds the committed energy totals. On
every connection, and when Home Assistant announces itself (its birth message, `online` on
<discovery_prefix>/status), it sends availability, the discovery configs, the states and the
energy again. While the broker is away nothing piles up: states and totals are sent fresh
when it is back, and other parts' messages wait in a bounded queue.

For other parts (alerts), thread-safe and never blocking:
    publisher.topics.under("alert", name)      a topic under this device's prefix
    publisher.publish(topic, payload, retain)  queue a message (a dict is sent as JSON)
    publisher.add_entity(Entity(...))          a Home Assistant entity of this device
    publisher.connected, publisher.since_ms    the connection's health (and last_error)
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections import deque

import paho.mqtt.client as mqtt

from corcypower.analysis import ChannelStats
from corcypower.clock import Clock
from corcypower.mqtt import discovery, payloads
from corcypower.mqtt.config import MqttSettings
from corcypower.mqtt.discovery import Entity
from corcypower.mqtt.payloads import NO_ENERGY, OFFLINE, ONLINE, Topics
from corcypower.settings import Config
from corcypower.settings.phases import grid_by_phase
from corcypower.store.totals import EnergyTotals

log = logging.getLogger(__name__)

QUEUE_MESSAGES = 1000  # other parts' messages kept while the broker is away; then the oldest go
CONNECT_TIMEOUT_S = 3.0  # a stop waits at most this for a connection attempt under way
STOP_WAIT_S = 1.5  # for the broker to acknowledge the last messages and "offline"
TICK_S = 0.1  # the network is serviced at least this often
BIRTH_DELAY_S = 2.0  # Home Assistant asks for a random delay before answering its birth message


class Publisher:
    """Publishes a daemon's batches and energy to one broker, from its own thread."""

    def __init__(
        self,
        settings: MqttSettings,
        config: Config,
        energy: EnergyTotals,
        clock: Clock | None = None,
        rand=random.random,
    ):
        self.settings = settings
        self.energy = energy
        self.clock = clock or Clock()
        self.rand = rand
        self.topics = Topics(settings.topic_prefix)
        self.grid = config.grid_channels
        self.phases = grid_by_phase(config)  # phase → its grid channels
        self.currents = [c.name for c in config.channels if c.kind == "current"]
        self.device = discovery.device(config, settings)
        self._entities: dict[str, Entity] = {}  # by discovery topic
        if settings.discovery_prefix:
            for entity in discovery.entities(config, self.topics):
                self._entities[discovery.config_topic(settings, entity)] = entity
        self._latest: tuple[int, list[ChannelStats]] | None = None  # set by the daemon
        self._sent_ts: int | None = None
        self._outbox: deque[tuple[str, bytes, bool]] = deque(maxlen=QUEUE_MESSAGES)
        self._lock = threading.Lock()  # the outbox and the entities, shared with other parts
        self._stop = threading.Event()
        self.thread: threading.Thread | None = None
        self._announce_at: float | None = None  # when to send everything again
        self._next_state = self._next_energy = 0.0
        self._retry_s = 1.0
        self._attempt_at = 0.0
        self.connected = False
        self.since_ms = self.clock.wall_ms()  # when the current state (up or down) began
        self.last_error: str | None = None
        self.dropped = 0  # other parts' messages lost to a full queue
        self.client = self._client()

    # --- what other threads call ------------------------------------------------------------

    def listener(self, ts: int, duration_ms: int, stats: list[ChannelStats]) -> None:
        """A daemon listener: keeps the newest batch, nothing else (sampling never waits)."""
        self._latest = (ts, stats)

    def publish(self, topic: str, payload: str | bytes | dict, retain: bool = False) -> bool:
        """Queue a message for the broker (a dict goes as JSON); False if the queue was full
        and its oldest message was dropped for this one."""
        if isinstance(payload, dict):
            payload = json.dumps(payload, separators=(",", ":"), allow_nan=False)
        data = payload.encode() if isinstance(payload, str) else bytes(payload)
        with self._lock:
            full = len(self._outbox) == self._outbox.maxlen
            if full:
                self.dropped += 1
            self._outbox.append((topic, data, retain))
        if full:
            log.warning("MQTT queue full (%d messages): dropped the oldest", QUEUE_MESSAGES)
        return not full

    def add_entity(self, entity: Entity) -> str:
        """A Home Assistant entity of this device (discovery), sent now if connected and on
        every (re)connection and birth message; its unique_id."""
        topic = discovery.config_topic(self.settings, entity)
        with self._lock:
            self._entities[topic] = entity
        if self.settings.discovery_prefix:
            self.publish(topic, self._config_payload(entity), retain=True)
        return discovery.unique_id(self.settings, entity)

    def unreachable_seconds(self) -> float:
        """How long the broker has been out of reach (0 while connected)."""
        return 0.0 if self.connected else (self.clock.wall_ms() - self.since_ms) / 1000

    # --- life -------------------------------------------------------------------------------

    def start(self) -> Publisher:
        s = self.settings
        log.info(
            "publishing to MQTT %s under %s/ (discovery: %s)",
            s.broker,
            s.topic_prefix,
            s.discovery_prefix or "off",
        )
        self.client.connect_async(s.host, s.port, s.keepalive_seconds)
        self.thread = threading.Thread(target=self._run, name="mqtt", daemon=True)
        self.thread.start()
        return self

    def __enter__(self) -> Publisher:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Send the last states and energy, then "offline", and disconnect."""
        self._stop.set()
        if self.thread is not None:
            self.thread.join(timeout=CONNECT_TIMEOUT_S + STOP_WAIT_S + 1)

    # --- the thread ---------------------------------------------------------------------------

    def _client(self) -> mqtt.Client:
        s = self.settings
        client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=s.client_id,
            protocol=mqtt.MQTTv311,
            clean_session=True,
        )
        if s.username is not None:
            client.username_pw_set(s.username, s.password)
        if s.tls:
            client.tls_set(ca_certs=str(s.ca_file) if s.ca_file else None)
        # a crash, a cut cable or kill -9: the broker says "offline" for us
        client.will_set(self.topics.status, OFFLINE, qos=s.qos, retain=True)
        client.connect_timeout = CONNECT_TIMEOUT_S
        client.max_queued_messages_set(QUEUE_MESSAGES)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        return client

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._step()
            except Exception:  # a bug here must not end publishing, nor the daemon
                log.exception("MQTT publisher error; carrying on")
                self._stop.wait(1.0)
        try:
            self._finish()
        except Exception:
            log.exception("MQTT publisher error while stopping")

    def _step(self) -> None:
        if self.client.socket() is None:  # no connection: try one when it is time
            now = self.clock.monotonic()
            if now < self._attempt_at:
                self._stop.wait(min(self._attempt_at - now, 1.0))
                return
            self._connect()
            return
        self.client.loop(timeout=TICK_S)  # acknowledgements, pings, and what arrives
        if self.connected:
            self._work(self.clock.monotonic())

    def _connect(self) -> None:
        try:
            self.client.reconnect()
        except (OSError, ValueError) as exc:  # refused, unreachable, unknown host, TLS
            self._retry_later()
            self._went_down(f"cannot connect: {exc}")

    def _retry_later(self) -> None:
        """The next attempt after 1, 2, 4 … s, at most reconnect_max_seconds."""
        self._attempt_at = self.clock.monotonic() + self._retry_s
        self._retry_s = min(self._retry_s * 2, self.settings.reconnect_max_seconds)

    def _work(self, now: float) -> None:
        if self._announce_at is not None and now >= self._announce_at:
            self._announce_at = None
            self._announce()
            self._next_state = now + self.settings.publish_seconds
            self._next_energy = now + self.settings.energy_seconds
        self._drain()
        if now >= self._next_state:
            self._publish_states()
            self._next_state = _next(self._next_state, self.settings.publish_seconds, now)
        if now >= self._next_energy:
            self._publish_energy()
            self._next_energy = _next(self._next_energy, self.settings.energy_seconds, now)

    def _finish(self) -> None:
        if not self.connected:
            if self.client.socket() is not None:
                self.client.disconnect()
            return
        self._drain()
        self._publish_states()
        self._publish_energy()  # the daemon has committed everything: the final totals
        info = self.client.publish(self.topics.status, OFFLINE, self.settings.qos, retain=True)
        deadline = time.monotonic() + STOP_WAIT_S  # the network's time, not the daemon's
        while (
            not info.is_published()
            and self.client.socket() is not None
            and time.monotonic() < deadline
        ):
            self.client.loop(timeout=0.05)
        self.client.disconnect()
        self.connected = False
        log.info("MQTT: offline, disconnected from %s", self.settings.broker)

    # --- messages -------------------------------------------------------------------------------

    def _send(self, topic: str, payload: str | bytes | dict, retain: bool = True) -> bool:
        if isinstance(payload, dict):
            payload = json.dumps(payload, separators=(",", ":"), allow_nan=False)
        info = self.client.publish(topic, payload, self.settings.qos, retain)
        return info.rc == mqtt.MQTT_ERR_SUCCESS

    def _announce(self) -> None:
        """Everything again: online, the discovery configs, then fresh states and energy."""
        self._send(self.topics.status, ONLINE)
        if self.settings.discovery_prefix:
            with self._lock:
                entities = list(self._entities.items())
            for topic, entity in entities:
                self._send(topic, self._config_payload(entity))
        self._sent_ts = None
        self._publish_states()
        self._publish_energy()

    def _config_payload(self, entity: Entity) -> dict:
        return discovery.payload(entity, self.settings, self.device, self.topics.status)

    def _publish_states(self) -> None:
        if self._latest is None or self._latest[0] == self._sent_ts:
            return  # nothing new since the last time
        ts, stats = self._latest
        for s in stats:
            self._send(self.topics.channel(s.name, "state"), payloads.state(ts, s))
        if self.grid:
            self._send(self.topics.total("state"), payloads.total_state(ts, stats, self.grid))
        for phase, names in self.phases.items():
            self._send(self.topics.phase(phase, "state"), payloads.total_state(ts, stats, names))
        self._sent_ts = ts

    def _publish_energy(self) -> None:
        totals = self.energy.read()
        if totals is None:
            return  # power.db not readable yet: nothing rather than a zero (a "new meter")
        until = self.energy.until_ms
        for name in self.currents:
            energy = payloads.energy(until, totals.get(name, NO_ENERGY))
            self._send(self.topics.channel(name, "energy"), energy)
        if self.grid:
            total = payloads.total_energy(totals, self.grid)
            self._send(self.topics.total("energy"), payloads.energy(until, total))
        for phase, names in self.phases.items():
            total = payloads.total_energy(totals, names)
            self._send(self.topics.phase(phase, "energy"), payloads.energy(until, total))

    def _drain(self) -> None:
        """Other parts' messages, oldest first, while the broker takes them."""
        while True:
            with self._lock:
                if not self._outbox:
                    return
                topic, data, retain = self._outbox.popleft()
            if not self._send(topic, data, retain):
                with self._lock:
                    self._outbox.appendleft((topic, data, retain))
                return

    # --- paho's callbacks (they run in this thread, inside client.loop) ------------------------

    def _on_connect(self, client, userdata, flags, reason, properties) -> None:
        if reason.is_failure:
            hint = " (check [mqtt] username and password)" if reason.value in (134, 135) else ""
            self._went_down(f"the broker refused the connection: {reason}{hint}")
            return
        self._retry_s = 1.0
        down_s = (self.clock.wall_ms() - self.since_ms) / 1000
        self.connected = True
        self.since_ms = self.clock.wall_ms()
        if self.last_error is not None:
            log.warning("MQTT: connected to %s again after %.0f s", self.settings.broker, down_s)
        else:
            log.info("MQTT: connected to %s", self.settings.broker)
        self.last_error = None
        if self.settings.discovery_prefix:
            dp, node = self.settings.discovery_prefix, discovery.node_id(self.settings)
            # Home Assistant's birth message, and our own configs left from an earlier run
            client.subscribe([(f"{dp}/status", 0), (f"{dp}/+/{node}/+/config", 0)])
        self._announce_at = self.clock.monotonic()

    def _on_disconnect(self, client, userdata, flags, reason, properties) -> None:
        self._retry_later()
        if self.connected and not self._stop.is_set():
            self._went_down(f"connection lost: {reason}")

    def _went_down(self, why: str) -> None:
        """Log the first failure of an outage, and a new reason; `since_ms` is when it began."""
        if self.connected or self.last_error is None:
            log.warning(
                "MQTT %s: %s; retrying every %d s at most, measuring goes on",
                self.settings.broker,
                why,
                self.settings.reconnect_max_seconds,
            )
        elif why != self.last_error:
            log.warning("MQTT %s: %s", self.settings.broker, why)
        if self.connected:
            self.since_ms = self.clock.wall_ms()
        self.connected = False
        self.last_error = why

    def _on_message(self, client, userdata, message) -> None:
        dp = self.settings.discovery_prefix
        if message.topic == f"{dp}/status":
            # a retained "online" is an old one: every connection announces anyway
            if message.payload == b"online" and not message.retain:
                self._announce_at = self.clock.monotonic() + self.rand() * BIRTH_DELAY_S
            return
        with self._lock:
            ours = message.topic in self._entities
        if message.retain and message.payload and not ours:
            # a sensor of a channel no longer configured: an empty config removes it
            log.info("MQTT: removing the stale Home Assistant entity %s", message.topic)
            self._send(message.topic, b"", retain=True)


def _next(due: float, period: float, now: float) -> float:
    """The next time on a period's grid; after a long pause, a period from now."""
    due += period
    return due if due > now else now + period
