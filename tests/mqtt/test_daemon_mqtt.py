"""`corcypower run` with [mqtt], a real process, a real Mosquitto and a real subscriber
(mosquitto_sub): discovery, states, energy, retained flags, availability on a stop and on
kill -9 (the last will), Home Assistant's birth message, TLS with a test CA and a password."""

from __future__ import annotations

import signal
import subprocess
import sys

from tests.helpers import REPO
from tests.mqtt.broker import Mosquitto, Subscriber, retained
from tests.mqtt.daemon import DISCOVERY, PREFIX, SENSORS, STATES


def test_discovery_states_and_energy_are_published_retained(broker, mqtt_daemon):
    with Subscriber(broker) as sub:
        daemon = mqtt_daemon(broker)
        for topic in STATES:
            sub.on(topic)
        for key in SENSORS:
            config = sub.on(f"{DISCOVERY}/{key}/config").json()
            assert config["unique_id"] == f"corcypower_testpi_{key}"
            assert config["availability_topic"] == f"{PREFIX}/status"
            assert config["state_topic"] in STATES
        assert sub.on(f"{PREFIX}/status").payload == "online"
        state = sub.on(f"{PREFIX}/channel/main/state").json()
        # the emulated house exports around midday (solar): power is signed, never nothing
        assert state["name"] == "main" and abs(state["real_power_w"]) > 1 and state["unit"] == "A"
        # states follow the batches: a newer one within a few publish_seconds
        later = sub.wait_for(
            lambda m: m.topic.endswith("main/state") and m.json()["ts"] > state["ts"]
        )
        assert later.json()["ts"] - state["ts"] <= 3000
    # a subscriber arriving now gets all of it at once, retained
    held = retained(broker)
    assert {f"{DISCOVERY}/{k}/config" for k in SENSORS} | STATES | {f"{PREFIX}/status"} <= set(held)
    assert held[f"{PREFIX}/status"].payload == "online"
    assert daemon.stop() == 0


def test_a_stop_says_offline_with_the_final_energy(broker, mqtt_daemon):
    with Subscriber(broker, f"{PREFIX}/#") as sub:
        daemon = mqtt_daemon(broker, commit=3600)  # the first batch, then only the stop commits
        first = sub.on(f"{PREFIX}/channel/main/energy").json()
        sub.wait_for(
            lambda m: m.topic.endswith("main/state") and m.json()["ts"] > first["ts"] + 2000
        )
        assert daemon.stop() == 0
        offline = sub.wait_for(lambda m: m.topic == f"{PREFIX}/status" and m.payload == "offline")
        last = [m for m in sub.of(f"{PREFIX}/channel/main/energy") if m.at <= offline.at][-1].json()
    # the last totals were read after the stop's commit: they reach its last batch
    assert last["ts"] == daemon.query("SELECT max(end_ms) FROM span")[0][0] > first["ts"]
    assert (last["import_kwh"], last["export_kwh"]) == daemon.energy_total()["main"]
    assert retained(broker, f"{PREFIX}/status")[f"{PREFIX}/status"].payload == "offline"
    assert "connection lost" not in daemon.text()


def test_kill_9_leaves_the_last_will_offline(broker, mqtt_daemon):
    with Subscriber(broker, f"{PREFIX}/status") as sub:
        daemon = mqtt_daemon(broker, keepalive_seconds=5)
        online = sub.wait_for(lambda m: m.payload == "online")
        daemon.kill()  # SIGKILL: no code of ours runs; the broker sees the socket close
        will = sub.wait_for(lambda m: m.payload == "offline", timeout=20, after=online.at)
        assert will.at - online.at < 20
    assert retained(broker, f"{PREFIX}/status")[f"{PREFIX}/status"].payload == "offline"


def test_home_assistant_birth_message_brings_discovery_again(broker, mqtt_daemon):
    with Subscriber(broker) as sub:
        mqtt_daemon(broker)
        first = sub.on(f"{DISCOVERY}/channel_main_power/config")
        broker.publish("homeassistant/status", "online")  # Home Assistant (re)started
        again = sub.on(f"{DISCOVERY}/channel_main_power/config", after=first.at + 0.001)
        assert again.payload == first.payload
        assert again.at - first.at < 10  # within the random delay (2 s) plus the start
        sub.on(f"{PREFIX}/channel/main/energy", after=again.at)  # and the states after it


def test_an_entity_left_from_a_removed_channel_is_deleted(broker, mqtt_daemon):
    stale = f"{DISCOVERY}/channel_old_power/config"
    broker.publish(stale, '{"name": "old power"}', retain=True)
    other = "homeassistant/sensor/someone_else/x/config"
    broker.publish(other, '{"name": "not ours"}', retain=True)
    with Subscriber(broker, "homeassistant/#") as sub:
        mqtt_daemon(broker)
        sub.wait_for(lambda m: m.topic == stale and m.payload == "" and not m.retained)
    held = retained(broker, "homeassistant/#")
    assert stale not in held and other in held and f"{DISCOVERY}/channel_main_power/config" in held


def test_discovery_off_with_an_empty_prefix(broker, mqtt_daemon):
    with Subscriber(broker) as sub:
        daemon = mqtt_daemon(broker, discovery_prefix="")
        sub.on(f"{PREFIX}/channel/main/energy")
        assert not [m for m in sub.messages if m.topic.startswith("homeassistant/")]
        assert "discovery: off" in daemon.text()


def test_tls_with_a_test_ca_and_a_password_file(tmp_path, mqtt_daemon):
    broker = Mosquitto(tmp_path / "tls", users={"corcy": "mqtt-s3cret"}, tls=True).start()
    try:
        secret = tmp_path / "mqtt-password"
        secret.write_text("mqtt-s3cret\n")
        secret.chmod(0o600)
        with Subscriber(broker, f"{PREFIX}/#") as sub:
            daemon = mqtt_daemon(broker, username="corcy", password_file=str(secret))
            assert sub.on(f"{PREFIX}/status").payload == "online"
            sub.on(f"{PREFIX}/channel/main/energy")
        assert "anyone can read" not in daemon.text()
        log = (broker.base / "mosquitto.log").read_text()
        assert "as corcypower-testpi" in log and "u'corcy'" in log
    finally:
        broker.stop()


def test_a_wrong_password_is_logged_and_measuring_goes_on(tmp_path, mqtt_daemon):
    broker = Mosquitto(tmp_path / "auth", users={"corcy": "right"}).start()
    try:
        daemon = mqtt_daemon(broker, username="corcy", password="wrong")
        daemon.wait_until(
            "the refusal in the log", lambda: "refused the connection" in daemon.text()
        )
        assert "check [mqtt] username and password" in daemon.text()
        daemon.wait_until("batches stored", lambda: daemon.batches() >= 3)
        assert daemon.stop() == 0
    finally:
        broker.stop()


def test_a_broker_that_is_not_there_is_logged_once_and_measuring_goes_on(tmp_path, mqtt_daemon):
    nobody = Mosquitto(tmp_path / "never-started")  # a free port nothing listens on
    daemon = mqtt_daemon(nobody, reconnect_max_seconds=1)
    daemon.wait_until("batches stored", lambda: daemon.batches() >= 5)
    assert daemon.text().count("Connection refused") == 1  # once per outage, not per attempt
    assert daemon.stop(timeout=10) == 0


def test_without_mqtt_host_paho_is_never_imported(tmp_path, emulated_config):
    config = emulated_config()
    code = (
        "import sys, threading\n"
        "from corcypower import settings\n"
        "from corcypower.daemon import Daemon\n"
        "from corcypower.services import attach\n"
        f"daemon = Daemon(settings.load({str(config)!r}))\n"
        "with attach(daemon):\n"
        "    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('paho')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_without_paho_the_daemon_says_how_to_install_it_and_measures(tmp_path, emulated_config):
    config = emulated_config({"mqtt": 'host = "127.0.0.1"'})
    code = (
        "import sys\n"
        "sys.modules['paho'] = None  # as if the mqtt extra were not installed\n"
        "from corcypower.cli import cli\n"
        f"cli(['run', '--config', {str(config)!r}])\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stderr=subprocess.PIPE, text=True, cwd=tmp_path
    )
    lines = []
    while not lines or "sampling" not in lines[-1]:
        line = proc.stderr.readline()
        assert line, "".join(lines)
        lines.append(line)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    text = "".join(lines)
    assert "paho-mqtt is missing" in text and "pip install 'corcypower[mqtt]'" in text


def test_the_demo_publishes_too(broker, tmp_path):
    import importlib.util

    from tests.dashboard.processes import corcypower, write_config
    from tests.helpers import skip_unless

    skip_unless(importlib.util.find_spec("bokeh") is not None, "bokeh is not installed")
    config, _, _ = write_config(tmp_path)
    config.write_text(config.read_text() + "\n" + broker.toml(device="demo"))
    with Subscriber(broker, "corcypower/demo/#") as sub:
        demo = corcypower("demo", "--config", str(config), cwd=tmp_path)
        try:
            demo.wait_for("CorcyPower dashboard: ")  # signals are handled from here on
            assert sub.on("corcypower/demo/status").payload == "online"
            assert sub.on("corcypower/demo/channel/main/state").json()["name"] == "main"
        finally:
            assert demo.stop() == 0, demo.output
        sub.wait_for(lambda m: m.topic == "corcypower/demo/status" and m.payload == "offline")
