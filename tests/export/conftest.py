"""Fixtures of the export tests: a real MariaDB for the session, a fresh database per test."""

from __future__ import annotations

import itertools

import pytest

from tests.export.needs import MISSING
from tests.helpers import skip_unless

_names = itertools.count(1)

# Without the mysql extra these cannot even be imported; test_start.py says why they are
# missing (and under CI=true they are collected, and fail).
collect_ignore = (
    [
        "test_mysql.py",
        "test_exporter.py",
        "test_outbox.py",
        "test_cli_mysql.py",
        "test_daemon_export.py",
    ]
    if MISSING
    else []
)


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
