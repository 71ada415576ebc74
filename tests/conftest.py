"""Fixtures shared by every test: configs on disk for the emulated chip."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from tests.helpers import skip_unless

# The fuzz suite (tests/fuzz/): a quick profile for every run and CI (the suite stays under
# two minutes), and a long one on demand: pytest tests/fuzz --hypothesis-profile=long
settings.register_profile(
    "ci", max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "long", max_examples=10_000, deadline=None, suppress_health_check=list(HealthCheck)
)
settings.load_profile("ci")

CHANNELS = """
[[channels]]
name = "mains_v"
adc_channel = 1
kind = "voltage"
scale = 0.25

[[channels]]
name = "main"
adc_channel = 0
kind = "current"
scale = 0.02
voltage = "mains_v"
"""


@pytest.fixture
def emulated_config(tmp_path):
    """Write an emulated-chip config with a fresh database in tmp_path; returns its path.

    `sections` adds lines to sections, e.g. {"emulator": "flat_channels = [1]"};
    `channels` replaces the [[channels]] tables (a mains voltage and one CT by default).
    """

    def make(
        sections: dict[str, str] | None = None, commit: float = 60.0, channels: str = CHANNELS
    ) -> Path:
        merged = {
            # the rate the tests count on (the default follows the channels: settings)
            "adc": 'chip = "emulated"\nsample_rate_hz = 2000',
            "emulator": 'chip = "mcp3208"\nseed = 7',
            "store": f'path = "{tmp_path / "power.db"}"\ncommit_seconds = {commit}',
            "api": "port = 0",  # any free port: tests run side by side with real daemons
        }
        for section, lines in (sections or {}).items():
            merged[section] = (merged.get(section, "") + "\n" + lines).strip()
        text = "".join(f"[{section}]\n{lines}\n\n" for section, lines in merged.items())
        path = tmp_path / "config.toml"
        path.write_text(text + channels)
        return path

    return make


# --- a real MariaDB for the session, a fresh database per test (export and dashboard tests)

_names = itertools.count(1)


@pytest.fixture(scope="session")
def mariadb(tmp_path_factory):
    """A MariaDB server of our own (mariadb-install-db + mariadbd), removed after the session."""
    from tests.export.mariadb import MariaDB, available

    skip_unless(
        available(),
        "mariadbd and mariadb-install-db are not installed (apt-get install mariadb-server)",
    )
    server = MariaDB(tmp_path_factory.mktemp("mariadb")).start()
    yield server
    server.remove()


@pytest.fixture
def database(mariadb):
    """The name of a new, empty database on the session's server."""
    return mariadb.create_database(f"corcy_{next(_names)}")


@pytest.fixture
def central(mariadb, database):
    """The exporter's connection to a new database that `corcypower mysql init` has set up."""
    from corcypower.export.mysql import Central
    from tests.export.test_mysql import settings_for

    # generous timeouts: a test writing days of minutes on a busy machine must not flake
    c = Central(settings_for(mariadb, database, read_timeout=120.0, write_timeout=120.0))
    c.init()
    yield c
    c.close()
