"""docs/mqtt.md and the README keep up with the code: settings, topics, payloads, entities,
and examples that load (TOML), parse (JSON, YAML) and render (Home Assistant's templates)."""

from __future__ import annotations

import json
import tomllib

import pytest
import yaml
from jinja2.sandbox import ImmutableSandboxedEnvironment

from corcypower import settings
from corcypower.clock import FakeClock
from corcypower.live.api import StateAPI
from corcypower.live.ring import Ring
from corcypower.mqtt import discovery, payloads
from corcypower.mqtt.config import PASSWORD_ENV, from_config
from corcypower.mqtt.payloads import Topics
from corcypower.store.totals import Energy
from tests.helpers import REPO, code_blocks
from tests.live.helpers import config, get, stats

DOC = (REPO / "docs" / "mqtt.md").read_text()
README = (REPO / "README.md").read_text()


def test_every_setting_is_named():
    for s in settings.SETTINGS:
        if s.name.startswith("mqtt."):
            assert f"`{s.name.removeprefix('mqtt.')}`" in DOC, s.name


def test_every_topic_is_in_the_table():
    topics = Topics("<prefix>")
    for topic in (
        topics.status,
        topics.channel("<name>", "state"),
        topics.channel("<name>", "energy"),
        topics.total("state"),
        topics.total("energy"),
        topics.phase("<phase>", "state"),
        topics.phase("<phase>", "energy"),
    ):
        assert f"| `{topic}` |" in DOC, topic


def test_every_entity_is_in_the_table():
    for q in (
        discovery.POWER, discovery.CURRENT, discovery.POWER_FACTOR, discovery.IMPORTED,
        discovery.EXPORTED, discovery.VOLTAGE, discovery.FREQUENCY,
    ):  # fmt: skip
        row = (
            f"| `<channel> {q.name}` | {q.device_class} | {q.unit or '(none)'} | {q.state_class} |"
        )
        assert row in DOC, q.name


def test_the_payload_examples_have_the_fields_of_the_real_ones():
    examples = [json.loads(b) for b in code_blocks(DOC, "json") if b.startswith("{")]
    volts, main = stats()
    real = [
        payloads.state(1, main),
        payloads.state(1, volts),
        payloads.energy(1, Energy(1.0, 2.0)),
        payloads.total_state(1, [volts, main], ("main",)),
    ]
    assert [set(e) for e in examples] == [set(r) for r in real]


@pytest.mark.parametrize("text", [DOC, README], ids=["docs/mqtt.md", "README.md"])
def test_the_toml_examples_load(text, tmp_path, monkeypatch):
    monkeypatch.setenv(PASSWORD_ENV, "pw")  # the examples' password file is not here
    (tmp_path / "broker-ca.crt").write_text("-----BEGIN CERTIFICATE-----\n")
    examples = [b for b in code_blocks(text, "toml") if "[mqtt]" in b]
    assert examples
    for example in examples:
        path = tmp_path / "config.toml"
        path.write_text(example)
        assert from_config(settings.load(path)).host


def test_the_other_programs_examples_parse():
    (telegraf,) = [b for b in code_blocks(DOC, "toml") if "mqtt_consumer" in b]
    consumer = tomllib.loads(telegraf)["inputs"]["mqtt_consumer"][0]
    assert consumer["json_time_key"] == "ts" and consumer["json_time_format"] == "unix_ms"
    (flow,) = [json.loads(b) for b in code_blocks(DOC, "json") if b.startswith("[")]
    assert {n["type"] for n in flow} == {"mqtt in", "debug", "mqtt-broker"}


@pytest.mark.parametrize("text", [DOC, README], ids=["docs/mqtt.md", "README.md"])
def test_the_rest_sensors_render_from_a_real_state_answer(text):
    clock = FakeClock()
    api = StateAPI(Ring(600, 0.5), config(), clock, lambda: {"main": Energy(1234.567, 8.9)})
    api.ring.add(clock.wall_ms(), 500, stats(watts=161.5))
    api.start()
    try:
        status, doc = get(api.url + "/api/v1/state")
    finally:
        api.close()
    assert status == 200
    (example,) = [yaml.safe_load(b) for b in code_blocks(text, "yaml") if "rest:" in b]
    sensors = example["rest"][0]["sensor"]
    assert example["rest"][0]["resource"].endswith("/api/v1/state")
    rendered = {
        s["unique_id"]: ImmutableSandboxedEnvironment()
        .from_string(s["value_template"])
        .render(value=json.dumps(doc), value_json=doc)
        for s in sensors
    }
    assert rendered == {
        "corcypower_raspberrypi_main_energy_imported": "1234.567",
        "corcypower_raspberrypi_main_energy_exported": "8.9",
        "corcypower_raspberrypi_main_power": "161.5",
    }
    energy = [s for s in sensors if s["device_class"] == "energy"]
    assert all(
        s["state_class"] == "total_increasing" and s["unit_of_measurement"] == "kWh" for s in energy
    )


def test_the_readme_points_here():
    assert "docs/mqtt.md" in README and "[mqtt]" in README
