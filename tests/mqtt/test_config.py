"""The [mqtt] section: defaults, names derived from the device, and errors that name the file,
the key, the value and what was expected. No broker and no paho-mqtt needed."""

from __future__ import annotations

import logging
import socket

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from corcypower import settings
from corcypower.errors import ConfigError
from corcypower.mqtt.config import PASSWORD_ENV, configured, from_config


@pytest.fixture(autouse=True)
def no_password_in_the_environment(monkeypatch):
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)


def load(tmp_path, mqtt: str, extra: str = "", mode: int = 0o600):
    path = tmp_path / "config.toml"
    path.write_text(f"{extra}\n[mqtt]\n{mqtt}\n")
    path.chmod(mode)
    return from_config(settings.load(path))


def test_off_unless_host_is_set(tmp_path):
    config = settings.from_dict({})
    assert not configured(config) and from_config(config) is None
    assert configured(settings.from_dict({"mqtt": {"host": "nas"}}))


def test_defaults_follow_the_device_name(tmp_path):
    s = load(tmp_path, 'host = "nas.local"\ndevice = "garage"')
    assert (s.host, s.port, s.tls, s.qos, s.keepalive_seconds) == ("nas.local", 1883, False, 1, 60)
    assert s.client_id == "corcypower-garage" and s.topic_prefix == "corcypower/garage"
    assert s.discovery_prefix == "homeassistant"
    assert (s.publish_seconds, s.energy_seconds, s.reconnect_max_seconds) == (1.0, 60.0, 5)
    assert s.configuration_url == f"http://{socket.gethostname()}:5006/"


def test_the_device_is_the_mysql_point_else_the_host_name(tmp_path):
    point = load(tmp_path, 'host = "nas"', '[export.mysql]\npoint = "shed-2"')
    assert point.device == "shed-2" and point.topic_prefix == "corcypower/shed-2"
    spaced = load(tmp_path, 'host = "nas"', '[export.mysql]\npoint = "the shed"')
    host = socket.gethostname().split(".")[0]
    assert spaced.device == host  # a point with a space cannot be a topic level or an id


def test_explicit_names_win(tmp_path):
    s = load(
        tmp_path,
        'host = "nas"\nclient_id = "pi-1"\ntopic_prefix = "home/energy"\n'
        'discovery_prefix = "ha"\nconfiguration_url = "http://pi.lan:5006/"',
    )
    assert (s.client_id, s.topic_prefix, s.discovery_prefix) == ("pi-1", "home/energy", "ha")
    assert s.configuration_url == "http://pi.lan:5006"
    assert load(tmp_path, 'host = "nas"\ndiscovery_prefix = ""').discovery_prefix == ""


def test_the_dashboard_address_makes_the_configuration_url(tmp_path):
    s = load(tmp_path, 'host = "nas"', '[dashboard]\naddress = "192.168.1.20"\nport = 8080')
    assert s.configuration_url == "http://192.168.1.20:8080/"


@pytest.mark.parametrize(
    ("mqtt", "message"),
    [
        ('host = ""', "[mqtt] host = \"\": expected a non-empty string"),
        ('host = "nas"\nport = 0', "[mqtt] port = 0: expected a whole number from 1 to 65535"),
        ('host = "nas"\nqos = 3', "[mqtt] qos = 3: expected one of 0, 1, 2"),
        ('host = "nas"\nqos = true', "[mqtt] qos = true: expected one of 0, 1, 2"),
        ('host = "nas"\ntopic_prefix = "home/+/x"', 'topic_prefix = "home/+/x": expected a topic'),
        ('host = "nas"\ntopic_prefix = "home/"', 'topic_prefix = "home/": expected a topic'),
        ('host = "nas"\ndiscovery_prefix = "#"', 'discovery_prefix = "#": expected a topic'),
        ('host = "nas"\ndevice = "my pi"', 'device = "my pi": expected 1 to 64 letters, digits, _ or -'),
        ('host = "nas"\npublish_seconds = 0.1', "publish_seconds = 0.1: expected a number from 0.5 to 3600.0"),
        ('host = "nas"\nenergy_seconds = nan', "energy_seconds = nan: expected a number from 1.0 to 86400.0"),
        ('host = "nas"\nkeepalive_seconds = 2', "keepalive_seconds = 2: expected a whole number from 5 to 3600"),
        ('host = "nas"\ntls = "yes"', 'tls = "yes": expected true or false'),
        ('host = "nas"\nconfiguration_url = "pi:5006"', 'configuration_url = "pi:5006": expected a URL'),
        ('host = "nas"\nretain = true', "unknown key [mqtt] retain"),
        ('host = "nas"\nca_file = "ca.crt"', "[mqtt] ca_file is set but tls = false"),
        ('host = "nas"\ntls = true\nca_file = "missing.crt"', "[mqtt] ca_file = 'missing.crt': cannot read"),
        ('host = "nas"\npassword = "pw"', "[mqtt] has a password but no username"),
        ('host = "nas"\nusername = "u"\npassword_file = "nope"', "[mqtt] password_file = 'nope': cannot read"),
    ],
)  # fmt: skip
def test_errors_name_the_file_the_key_and_what_was_expected(tmp_path, mqtt, message):
    with pytest.raises(ConfigError) as err:
        load(tmp_path, mqtt)
    assert message in str(err.value) and str(tmp_path / "config.toml") in str(err.value)


def test_ca_file_beside_the_config(tmp_path):
    (tmp_path / "ca.crt").write_text("-----BEGIN CERTIFICATE-----\n")
    s = load(tmp_path, 'host = "nas"\ntls = true\nca_file = "ca.crt"\nport = 8883')
    assert s.ca_file == tmp_path / "ca.crt" and s.tls and s.port == 8883


def test_password_rules_are_the_mysql_ones(tmp_path, monkeypatch, caplog):
    caplog.set_level(logging.WARNING)
    (tmp_path / "mqtt-password").write_text("from-file\nignored\n")
    (tmp_path / "mqtt-password").chmod(0o600)
    s = load(tmp_path, 'host = "nas"\nusername = "u"\npassword_file = "mqtt-password"')
    assert s.password == "from-file" and not caplog.records
    (tmp_path / "mqtt-password").chmod(0o644)
    load(tmp_path, 'host = "nas"\nusername = "u"\npassword_file = "mqtt-password"')
    assert "holds the MQTT password and anyone can read it: chmod 600" in caplog.text
    caplog.clear()
    assert (
        load(tmp_path, 'host = "nas"\nusername = "u"\npassword = "pw"', mode=0o644).password == "pw"
    )
    assert "holds [mqtt] password and anyone on this machine can read it" in caplog.text
    creds = tmp_path / "credentials"
    creds.mkdir()
    (creds / "mqtt-password").write_text("from-systemd")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    s = load(tmp_path, 'host = "nas"\nusername = "u"\npassword_file = "mqtt-password"')
    assert s.password == "from-systemd"
    monkeypatch.setenv(PASSWORD_ENV, "from-env")
    assert (
        load(tmp_path, 'host = "nas"\nusername = "u"\npassword_file = "x"').password == "from-env"
    )


def test_the_password_is_never_printed(tmp_path):
    s = load(tmp_path, 'host = "nas"\nusername = "u"\npassword = "s3cret"')
    assert "s3cret" not in repr(s) and "u@nas:1883" in repr(s)


MQTT_KEYS = [s.name.removeprefix("mqtt.") for s in settings.SETTINGS if s.name.startswith("mqtt.")]
VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=300),
    st.lists(st.text(max_size=5), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


@given(st.dictionaries(st.sampled_from(MQTT_KEYS), VALUES, max_size=5))
@example({"publish_seconds": float("nan")})
@example({"energy_seconds": float("inf"), "port": 1.5e9})
def test_any_mqtt_section_is_a_clean_error_or_finite_settings(section):
    section = {k: v for k, v in section.items() if v is not None}  # TOML has no null
    section.setdefault("host", "nas")
    try:
        s = from_config(settings.from_dict({"mqtt": section}))
    except ConfigError as exc:
        assert "[mqtt]" in str(exc) and "\n" not in str(exc)
        return
    assert s.host and 1 <= s.port <= 65535 and s.qos in (0, 1, 2)
    for number in (
        s.publish_seconds,
        s.energy_seconds,
        s.keepalive_seconds,
        s.reconnect_max_seconds,
    ):
        assert 0 < number < 1e6  # finite, bounded
    assert "+" not in s.topic_prefix and "#" not in s.topic_prefix
