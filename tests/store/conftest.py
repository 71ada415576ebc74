"""Fixtures of the store tests: a fresh power.db with a voltage and a current channel."""

from __future__ import annotations

import shutil
import subprocess
import time

import numpy as np
import pytest

from corcypower.settings import from_dict
from corcypower.store.batches import Batches
from corcypower.store.database import Database
from corcypower.store.writer import register_channels
from tests.helpers import skip_unless

T0 = 1_767_225_600_000  # 2026-01-01 00:00:00 UTC
CONFIG = {
    "channels": [
        {"name": "mains_v", "adc_channel": 1, "kind": "voltage", "scale": 0.25},
        {"name": "main", "adc_channel": 0, "kind": "current", "scale": 0.02, "voltage": "mains_v"},
    ]
}


@pytest.fixture
def config():
    return from_dict(CONFIG)


@pytest.fixture
def db(tmp_path, config):
    """A migrated database with channels mains_v (id 1) and main (id 2)."""
    with Database(tmp_path / "power.db") as database:
        register_channels(database, config.channels, "mcp3208", T0)
        yield database


def current_rows(ends, power_w, duration_ms=500, channel_id=2, irms=None, apparent=None, flags=0):
    """Batches of a current channel ending at `ends` (ms) with the given real power."""
    ends = np.asarray(ends, dtype=np.int64)
    power = np.broadcast_to(np.asarray(power_w, dtype=float), ends.shape)
    irms = np.abs(power) / 230.0 if irms is None else np.broadcast_to(irms, ends.shape)
    apparent = np.abs(power) if apparent is None else np.broadcast_to(apparent, ends.shape)
    return Batches.from_arrays(
        ts=ends,
        channel_id=np.full(len(ends), channel_id),
        duration_ms=np.broadcast_to(duration_ms, ends.shape),
        n=np.full(len(ends), 1000),
        mean=np.full(len(ends), 2048.0),
        min=np.full(len(ends), 1900),
        max=np.full(len(ends), 2200),
        rms=np.full(len(ends), 40.0),
        irms=irms,
        real_power_w=power,
        apparent_power_va=apparent,
        power_factor=np.where(apparent > 0, power / np.where(apparent > 0, apparent, 1), np.nan),
        flags=np.broadcast_to(flags, ends.shape),
    )


def voltage_rows(ends, vrms, duration_ms=500, channel_id=1):
    ends = np.asarray(ends, dtype=np.int64)
    return Batches.from_arrays(
        ts=ends,
        channel_id=np.full(len(ends), channel_id),
        duration_ms=np.broadcast_to(duration_ms, ends.shape),
        n=np.full(len(ends), 1000),
        mean=np.full(len(ends), 2048.0),
        min=np.full(len(ends), 700),
        max=np.full(len(ends), 3300),
        rms=np.full(len(ends), 920.0),
        vrms=np.broadcast_to(np.asarray(vrms, dtype=float), ends.shape),
        frequency_hz=np.full(len(ends), 50.0),
    )


def tiled(start_ms, seconds, duration_ms=500):
    """Ends of batches tiling [start_ms, start_ms + seconds) exactly."""
    count = round(seconds * 1000 / duration_ms)
    return start_ms + duration_ms * np.arange(1, count + 1, dtype=np.int64)


def sqlite3_shell(path, sql: str, env=None, header: bool = False) -> str:
    """Run the real sqlite3 shell on a database, as a user would."""
    skip_unless(shutil.which("sqlite3") is not None, "the sqlite3 shell is not installed")
    options = ["-readonly", "-header"] if header else ["-readonly"]
    done = subprocess.run(
        ["sqlite3", *options, str(path), sql], capture_output=True, text=True, timeout=60, env=env
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def local_tz(monkeypatch):
    """Set the process's local time zone (TZ), as the system's would be; restored afterwards."""

    def use(name: str) -> None:
        monkeypatch.setenv("TZ", name)
        time.tzset()

    yield use
    monkeypatch.undo()
    time.tzset()
