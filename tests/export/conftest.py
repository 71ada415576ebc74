"""Fixtures of the export tests: a real MariaDB for the session, a fresh database per test."""

from __future__ import annotations

import itertools

import pytest

from tests.export.mariadb import MariaDB, available
from tests.helpers import skip_unless

_names = itertools.count(1)


@pytest.fixture(scope="session")
def mariadb(tmp_path_factory):
    """A MariaDB server of our own (mariadb-install-db + mariadbd), removed after the session."""
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
