"""The publisher in this process, against a real Mosquitto: what other parts (alerts) use —
publish(), add_entity(), the connection's health — the bounded queue, and the backoff."""

from __future__ import annotations

import pytest

from corcypower import settings
from corcypower.clock import FakeClock
from corcypower.mqtt.config import from_config
from corcypower.mqtt.discovery import Entity
from corcypower.mqtt.publisher import QUEUE_MESSAGES, Publisher
from corcypower.store.totals import EnergyTotals
from tests.live.helpers import CHANNELS, stats
from tests.mqtt.broker import Mosquitto, Subscriber, retained
from tests.mqtt.needs import paho_and_mosquitto_or_skip

PREFIX = "corcypower/garage"


def config(broker: Mosquitto, **mqtt):
    values = {"host": broker.host, "port": broker.port, "device": "garage"} | mqtt
    return settings.from_dict({"mqtt": values, "channels": CHANNELS})


@pytest.fixture
def publisher(tmp_path):
    """publisher(broker, **mqtt): a started Publisher (no database: no energy yet); closed after."""
    made = []

    def make(broker, clock=None, **mqtt):
        cfg = config(broker, **mqtt)
        energy = EnergyTotals(tmp_path / "power.db")
        pub = Publisher(from_config(cfg), cfg, energy, clock, rand=lambda: 0.0).start()
        made.append(pub)
        return pub

    yield make
    for pub in made:
        pub.close()


def test_other_parts_publish_under_the_prefix_and_add_entities(broker, publisher):
    with Subscriber(broker) as sub:
        pub = publisher(broker)
        sub.on(f"{PREFIX}/status")
        topic = pub.topics.under("alert", "night-standby")
        assert topic == f"{PREFIX}/alert/night-standby"
        assert pub.publish(topic, {"state": "firing", "value": 182.5}, retain=True)
        unique_id = pub.add_entity(
            Entity(
                "binary_sensor",
                "alert_night-standby",
                {
                    "name": "night-standby",
                    "device_class": "problem",
                    "state_topic": topic,
                    "value_template": "{{ value_json.state }}",
                    "payload_on": "firing",
                    "payload_off": "resolved",
                },
            )
        )
        assert unique_id == "corcypower_garage_alert_night-standby"
        assert sub.on(topic).json() == {"state": "firing", "value": 182.5}
        config_topic = "homeassistant/binary_sensor/corcypower_garage/alert_night-standby/config"
        entity = sub.on(config_topic).json()
        assert (
            entity["unique_id"] == unique_id and entity["availability_topic"] == f"{PREFIX}/status"
        )
        assert entity["device"]["identifiers"] == ["corcypower_garage"]
        # on Home Assistant's birth message, it comes again with the device's own
        broker.publish("homeassistant/status", "online")
        sub.on(config_topic, after=sub.on(config_topic).at + 0.001)
    held = retained(broker)
    assert held[topic].payload == '{"state":"firing","value":182.5}' and config_topic in held


def test_batches_go_out_as_states_of_the_newest_batch(broker, publisher):
    with Subscriber(broker, f"{PREFIX}/#") as sub:
        pub = publisher(broker, publish_seconds=0.5)
        for ts in range(1000, 1010):  # faster than publish_seconds: only the newest goes out
            pub.listener(ts, 500, stats(watts=ts))
        state = sub.on(f"{PREFIX}/channel/main/state").json()
        assert state["ts"] == 1009 and state["real_power_w"] == 1009
        assert sub.on(f"{PREFIX}/total/state").json() == {
            "ts": 1009,
            "real_power_w": 1009,
            "channels": ["main"],
        }
        assert sub.on(f"{PREFIX}/channel/mains_v/state").json()["vrms"] == 230.0
        assert len(sub.of(f"{PREFIX}/channel/main/state")) == 1  # nothing new: nothing sent
        # no power.db yet: no energy at all, never a zero that would look like a new meter
        assert not [m for m in sub.messages if m.topic.endswith("/energy")]


def test_each_phase_goes_out_as_its_grid_channels_total(broker, tmp_path):
    channels = [CHANNELS[0], CHANNELS[1] | {"phase": "L1"}]
    cfg = settings.from_dict(
        {
            "mqtt": {"host": broker.host, "port": broker.port, "device": "garage"},
            "channels": channels,
        }
    )
    with Subscriber(broker, f"{PREFIX}/#") as sub:
        pub = Publisher(
            from_config(cfg), cfg, EnergyTotals(tmp_path / "power.db"), rand=lambda: 0.0
        )
        pub.start()
        try:
            pub.listener(1000, 500, stats(watts=321.0))
            state = sub.on(f"{PREFIX}/phase/L1/state").json()
        finally:
            pub.close()
    assert state == {"ts": 1000, "real_power_w": 321.0, "channels": ["main"]}


def test_health_and_a_bounded_queue_while_the_broker_is_away(tmp_path, publisher):
    paho_and_mosquitto_or_skip()
    broker = Mosquitto(tmp_path / "later")  # not started yet
    clock = FakeClock(wall_ms=1_800_000_000_000)
    pub = publisher(broker, clock, reconnect_max_seconds=1)
    assert not pub.connected and pub.since_ms == 1_800_000_000_000
    clock.now += 90
    assert pub.unreachable_seconds() == 90
    results = [
        pub.publish(pub.topics.under("q"), str(k), retain=True) for k in range(QUEUE_MESSAGES + 5)
    ]
    assert results.count(False) == 5 and pub.dropped == 5
    try:
        broker.start()
        with Subscriber(broker, f"{PREFIX}/q") as sub:
            # the publisher's clock stands still, so it tries again at once (attempt_at passed)
            clock.now += 2
            first = sub.wait_for(lambda m: True, timeout=30)
            assert first.payload == "5"  # the 5 oldest made room; the rest kept their order
            sub.wait_for(lambda m: m.payload == str(QUEUE_MESSAGES + 4))
            assert [int(m.payload) for m in sub.messages] == list(range(5, QUEUE_MESSAGES + 5))
        assert pub.connected and pub.unreachable_seconds() == 0 and pub.last_error is None
    finally:
        broker.stop()


def test_reconnection_waits_double_up_to_the_maximum(tmp_path):
    paho_and_mosquitto_or_skip()
    cfg = config(Mosquitto(tmp_path / "x"), reconnect_max_seconds=5)
    clock = FakeClock(start=0.0)
    pub = Publisher(from_config(cfg), cfg, EnergyTotals(tmp_path / "p.db"), clock)
    waits = []
    for _ in range(6):
        pub._retry_later()
        waits.append(pub._attempt_at - clock.now)
    assert waits == [1, 2, 4, 5, 5, 5]


def test_a_message_that_is_not_json_safe_is_refused_at_once(broker, publisher):
    pub = publisher(broker)
    with pytest.raises(ValueError):
        pub.publish(pub.topics.under("x"), {"value": float("nan")})
    assert pub.publish(pub.topics.under("x"), {"value": 1.0})  # and it carries on
