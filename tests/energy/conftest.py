"""Fixtures of the energy tests: a power.db with the channels of helpers.CHANNELS."""

from __future__ import annotations

import pytest

from corcypower.store.database import Database
from corcypower.store.writer import register_channels
from tests.energy.helpers import config


@pytest.fixture
def db(tmp_path):
    with Database(tmp_path / "power.db") as database:
        register_channels(database, config().channels, "mcp3208", 0)
        yield database
