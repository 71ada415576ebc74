"""Rollups against analytic answers: energy split at bucket boundaries, weighted means, RMS."""

from __future__ import annotations

import math

import numpy as np
import pytest

from corcypower.settings import from_dict
from corcypower.store import rollups
from corcypower.store.batches import Batches
from corcypower.store.database import Database
from corcypower.store.retention import Retention
from corcypower.store.writer import register_channels, write_rows
from tests.store.conftest import CONFIG, T0, current_rows, tiled, voltage_rows

FOREVER = Retention(None, {name: None for name in rollups.LEVEL_BY_NAME})


def store(db, batches: Batches) -> int:
    with db.atomic() as conn:
        return write_rows(conn, batches, int(batches["ts"].max()), FOREVER)


def table(db, level: str) -> list[dict]:
    return [dict(r) for r in db.query(f"SELECT * FROM rollup_{level} ORDER BY ts, channel_id")]


def test_energy_is_split_at_bucket_boundaries_in_proportion_to_time(db):
    # 1000 W from 00:00:00.300 for 150 s: batches straddle every 10 s and minute boundary
    store(db, current_rows(tiled(T0 + 300, 150), 1000.0))
    minutes = table(db, "1m")
    assert [m["ts"] - T0 for m in minutes] == [0, 60_000, 120_000]
    assert [m["duration_ms"] for m in minutes] == [59_700, 60_000, 30_300]
    for m in minutes:  # E = P t, exactly, whatever the batches' phase against the clock
        assert m["import_wh"] == pytest.approx(1000.0 * m["duration_ms"] / 3.6e6, rel=1e-12)
        assert m["export_wh"] == 0.0
    assert sum(m["n"] for m in minutes) == 300  # each batch counted once, where it ends
    tens = table(db, "10s")
    assert tens[0]["duration_ms"] == 9_700 and all(t["duration_ms"] == 10_000 for t in tens[1:-1])
    assert sum(t["import_wh"] for t in tens) == pytest.approx(1000.0 * 150 / 3600, rel=1e-12)


def test_import_and_export_are_kept_apart(db):
    # +2000 W then -1000 W (solar exporting), 30 s each within one minute
    ends = tiled(T0, 60)
    power = np.where(ends <= T0 + 30_000, 2000.0, -1000.0)
    store(db, current_rows(ends, power))
    (m,) = table(db, "1m")
    assert m["import_wh"] == pytest.approx(2000 * 30 / 3600)
    assert m["export_wh"] == pytest.approx(1000 * 30 / 3600)
    assert m["mean"] == pytest.approx(500.0)  # time-weighted: (2000 - 1000) / 2
    assert (m["min"], m["max"]) == (-1000.0, 2000.0)


def test_rms_combines_as_the_root_of_the_mean_of_squares(db):
    ends = tiled(T0, 60)
    irms = np.where(ends <= T0 + 20_000, 3.0, 4.0)  # 20 s at 3 A, 40 s at 4 A
    store(db, current_rows(ends, 100.0, irms=irms))
    (m,) = table(db, "1m")
    assert m["rms"] == pytest.approx(math.sqrt((9 * 20 + 16 * 40) / 60))
    assert m["apparent_vah"] == pytest.approx(100 * 60 / 3600)


def test_voltage_channels_roll_up_vrms_and_have_no_energy(db):
    ends = tiled(T0, 60)
    store(db, voltage_rows(ends, np.where(ends <= T0 + 30_000, 220.0, 240.0)))
    (m,) = table(db, "1m")
    assert m["mean"] == pytest.approx(230.0)
    assert m["rms"] == pytest.approx(math.sqrt((220**2 + 240**2) / 2))
    assert m["import_wh"] is None and m["export_wh"] is None
    assert (m["min"], m["max"]) == (220.0, 240.0)


def test_commits_add_up_to_the_same_buckets_as_one_write(db, tmp_path):
    ends = tiled(T0 + 123, 3 * 3600)
    rng = np.random.default_rng(3)
    power = rng.uniform(-3000, 3000, len(ends))
    flags = np.where(np.arange(len(ends)) == 5000, 4, 0)
    for part in np.array_split(np.arange(len(ends)), 97):  # commits of odd sizes
        store(db, current_rows(ends[part], power[part], flags=flags[part]))
    with Database(tmp_path / "once.db") as once:
        register_channels(once, from_dict(CONFIG).channels, "mcp3208", T0)
        store(once, current_rows(ends, power, flags=flags))
        for level in rollups.LEVEL_BY_NAME:
            a, b = table(db, level), table(once, level)
            assert [(r["ts"], r["n"], r["duration_ms"], r["flags"]) for r in a] == [
                (r["ts"], r["n"], r["duration_ms"], r["flags"]) for r in b
            ]
            for x, y in zip(a, b, strict=True):
                for key in ("mean", "min", "max", "rms", "import_wh", "export_wh"):
                    assert x[key] == pytest.approx(y[key], rel=1e-9, abs=1e-9)
    hour = table(db, "1h")
    assert sum(h["flags"] for h in hour) == 4  # the late batch's flag reaches its hour
    total = sum(h["import_wh"] - h["export_wh"] for h in hour)
    assert total == pytest.approx(power.sum() * 0.5 / 3600, rel=1e-9)


def test_levels_hold_the_same_energy(db):
    store(
        db,
        current_rows(tiled(T0 - 7_777, 2 * 86_400, duration_ms=10_000), 1500.0, duration_ms=10_000),
    )
    sums = {
        level: db.query(f"SELECT sum(import_wh), sum(duration_ms), sum(n) FROM rollup_{level}")[0]
        for level in rollups.LEVEL_BY_NAME
    }
    for energy, duration, n in sums.values():
        assert energy == pytest.approx(1500 * 2 * 24)
        assert (duration, n) == (2 * 86_400_000, 2 * 8640)


def test_buckets_before_the_horizon_are_not_written(db):
    b = current_rows(tiled(T0, 120), 100.0)
    with db.atomic() as conn:
        rollups.add(conn, rollups.LEVEL_BY_NAME["1m"], b, since_ms=T0 + 60_000)
    assert [r["ts"] for r in table(db, "1m")] == [T0 + 60_000]


def test_levels_are_a_small_factor_apart():
    widths = [500] + [level.width_ms for level in rollups.LEVELS]
    assert all(b % a == 0 and b // a <= 24 for a, b in zip(widths, widths[1:], strict=False))


def test_the_mean_of_equal_values_is_that_value_not_one_rounding_step_above():
    # (0.1 * 1 + 0.1 * 2) / 3 is 0.10000000000000002 in floating point: above the max
    parts = {
        "ts": np.array([0, 0]),
        "channel_id": np.array([1, 1]),
        "n": np.array([1, 1]),
        "duration_ms": np.array([1, 2]),
        **{name: np.array([0.1, 0.1]) for name in ("mean", "min", "max", "rms")},
        **{name: np.array([0.0, 0.0]) for name in ("import_wh", "export_wh", "apparent_vah")},
        "flags": np.array([0, 0]),
    }
    row = rollups.combine(parts)
    assert row["min"][0] <= row["mean"][0] <= row["max"][0]
