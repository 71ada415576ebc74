"""The views per phase (schema/sqlite/0008_phases.sql), read with the real sqlite3 shell:
each phase's grid channels added up, and the whole house; sub-circuits not counted twice."""

from __future__ import annotations

import os

from corcypower.settings import from_dict
from corcypower.store.database import Database
from corcypower.store.retention import Retention
from corcypower.store.writer import register_channels, write_rows
from tests.store.conftest import T0, current_rows, sqlite3_shell, tiled

UTC = os.environ | {"TZ": "UTC"}
V = {"name": "v", "adc_channel": 0, "kind": "voltage", "scale": 0.25, "phase": "L1"}
CONFIG = {
    "dashboard": {"grid_channels": ["l1", "l2", "solar"]},
    "channels": [
        V,
        {"name": "l1", "adc_channel": 1, "kind": "current", "scale": 0.02, "phase": "L1"},
        {"name": "l2", "adc_channel": 2, "kind": "current", "scale": 0.02, "phase": "L2",
         "voltage_shift_deg": 120},
        {"name": "oven", "adc_channel": 3, "kind": "current", "scale": 0.02, "phase": "L1"},
        {"name": "solar", "adc_channel": 4, "kind": "current", "scale": 0.02},  # no phase said
    ],
}  # fmt: skip
WATTS = {"l1": 1000.0, "l2": 500.0, "oven": 800.0, "solar": -300.0}


def test_phases_and_the_house_per_minute_and_per_day(tmp_path):
    config = from_dict(CONFIG)
    with Database(tmp_path / "power.db") as db:
        ids = register_channels(db, config.channels, "mcp3208", T0, config.grid_channels)
        with db.atomic() as conn:
            for name, watts in WATTS.items():  # two whole minutes of batches
                write_rows(conn, current_rows(tiled(T0, 120), watts, channel_id=ids[name]), T0,
                           Retention(None))  # fmt: skip
        path = db.path
    shell = lambda sql: sqlite3_shell(path, sql, env=UTC).splitlines()  # noqa: E731
    assert shell("SELECT name, phase, grid FROM channel ORDER BY id") == [
        "v|L1|0", "l1|L1|1", "l2|L2|1", "oven|L1|0", "solar||1"
    ]  # fmt: skip
    minutes = shell(
        "SELECT minute, phase, avg_w, channels FROM power_minute_phase ORDER BY ts, phase"
    )
    assert minutes == [
        "2026-01-01 00:00|L1|1000.0|1", "2026-01-01 00:00|L2|500.0|1",
        "2026-01-01 00:00|house|1200.0|3",
        "2026-01-01 00:01|L1|1000.0|1", "2026-01-01 00:01|L2|500.0|1",
        "2026-01-01 00:01|house|1200.0|3",
    ]  # fmt: skip
    days = shell("SELECT * FROM energy_day_phase ORDER BY phase")
    # 2 minutes: L1 1000 W is 33.3 Wh; the house imports 50 Wh and exports 10 Wh (solar)
    assert days == ["2026-01-01|L1|0.033|0.0|0.033", "2026-01-01|L2|0.017|0.0|0.017",
                    "2026-01-01|house|0.05|0.01|0.04"]  # fmt: skip
    assert shell("SELECT DISTINCT channel, phase FROM power_minute ORDER BY channel") == [
        "l1|L1", "l2|L2", "oven|L1", "solar|"
    ]  # fmt: skip
    assert shell("SELECT channel, phase FROM energy_day ORDER BY channel LIMIT 1") == ["l1|L1"]
