"""[export.mysql]: off by default, errors that name the key, credentials and their warnings."""

from __future__ import annotations

import logging
import socket

import pytest

from corcypower import settings
from corcypower.errors import ConfigError
from corcypower.export.config import PASSWORD_ENV, from_config
from tests.export.device import channels_toml

CHANNELS = channels_toml()


@pytest.fixture(autouse=True)
def no_password_env(monkeypatch):
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)


def write(tmp_path, mysql: str, mode=0o600):
    path = tmp_path / "config.toml"
    path.write_text(f"[export.mysql]\n{mysql}\n{CHANNELS}")
    path.chmod(mode)
    return path


def load(tmp_path, mysql: str, mode=0o600):
    return from_config(settings.load(write(tmp_path, mysql, mode)))


def test_without_a_host_nothing_is_exported(tmp_path):
    assert from_config(settings.from_dict({})) is None
    assert load(tmp_path, 'user = "x"') is None


def test_defaults_one_volume_point_per_current_channel_named_after_the_device(tmp_path):
    s = load(tmp_path, 'host = "nas.local"')
    assert (s.host, s.port, s.database, s.user, s.password) == (
        "nas.local",
        3306,
        "EnergyMonitor",
        "corcypower",
        None,
    )
    assert s.point == socket.gethostname() and s.channels == ("main", "solar")
    assert [(p.name, p.channels, p.supply) for p in s.volume] == [
        (f"{s.point}-main", ("main",), "import"),
        (f"{s.point}-solar", ("solar",), "import"),
    ]
    assert s.target == f"nas.local:3306/EnergyMonitor/{s.point}"
    assert "password" not in repr(s).lower()


def test_volume_points_as_configured(tmp_path):
    s = load(
        tmp_path,
        'host = "nas"\npoint = "garage"\n[export.mysql.volume]\n'
        'Mains = "main"\nSolarGarage = { channels = ["solar"], supply = "export" }',
    )
    assert [(p.name, p.channels, p.supply) for p in s.volume] == [
        ("Mains", ("main",), "import"),
        ("SolarGarage", ("solar",), "export"),
    ]


@pytest.mark.parametrize(
    "mysql, message",
    [
        ('host = "nas"\nport = 0', "[export.mysql] port = 0: expected a whole number from 1 to 65535"),
        ('host = "nas"\npoint = "' + "p" * 65 + '"', "[export.mysql] point = \"ppp"),
        ('host = "nas"\ninterval = 5', "unknown key [export.mysql] interval (did you mean [export.mysql] interval_seconds?)"),
        ('host = "nas"\nvolume = { Mains = { channels = [] } }', "'Mains': expected channels = a list of one or more channel names"),
        ('host = "nas"\nvolume = { Mains = { channels = ["main"], supply = "in" } }', 'supply = "import" or "export"'),
        ('host = "nas"\nvolume = { Mains = "mains_v" }', '[export.mysql] volume: point "Mains": "mains_v" is not a current channel; expected one of "main", "solar"'),
        ('host = "nas"\npoint = "' + "p" * 60 + '"', "would be longer than 64 characters"),
        ('host = "nas"\npassword_file = "missing.txt"', "[export.mysql] password_file = 'missing.txt': cannot read"),
    ],
)  # fmt: skip
def test_errors_name_the_file_the_key_and_what_was_expected(tmp_path, mysql, message):
    with pytest.raises(ConfigError) as err:
        load(tmp_path, mysql)
    assert message in str(err.value) and str(tmp_path / "config.toml") in str(err.value)


def test_a_password_in_a_world_readable_config_is_warned_about(tmp_path, caplog):
    caplog.set_level(logging.WARNING)
    s = load(tmp_path, 'host = "nas"\npassword = "pw"', mode=0o644)
    assert s.password == "pw"
    assert "anyone on this machine can read it: chmod 600" in s.warnings[0]
    assert "chmod 600" in caplog.text
    assert load(tmp_path, 'host = "nas"\npassword = "pw"', mode=0o640).warnings == ()


def test_password_file_beside_the_config_first_line(tmp_path):
    (tmp_path / "mysql-password").write_text("from-file\nignored\n")
    (tmp_path / "mysql-password").chmod(0o600)
    s = load(tmp_path, 'host = "nas"\npassword = "in-config"\npassword_file = "mysql-password"')
    assert s.password == "from-file" and s.warnings == ()


def test_a_world_readable_password_file_is_warned_about(tmp_path):
    (tmp_path / "pw").write_text("secret")
    (tmp_path / "pw").chmod(0o644)
    s = load(tmp_path, f'host = "nas"\npassword_file = "{tmp_path / "pw"}"')
    assert s.password == "secret" and "anyone can read it" in s.warnings[0]


def test_systemd_credentials_directory(tmp_path, monkeypatch):
    creds = tmp_path / "credentials"
    creds.mkdir()
    (creds / "mysql-password").write_text("from-systemd")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    s = load(tmp_path, 'host = "nas"\npassword_file = "mysql-password"')
    assert s.password == "from-systemd"


def test_the_environment_variable_wins(tmp_path, monkeypatch):
    monkeypatch.setenv(PASSWORD_ENV, "from-env")
    (tmp_path / "pw").write_text("from-file")
    assert load(tmp_path, 'host = "nas"\npassword_file = "pw"').password == "from-env"
