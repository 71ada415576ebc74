"""Simulated history: rows like the daemon's, tiling time up to now, energy of the model."""

from __future__ import annotations

import numpy as np
import pytest

from corcypower.adc.household import circuit_watts
from corcypower.settings import DEFAULT_CHANNELS, from_dict
from corcypower.store.database import Database
from corcypower.store.retention import Retention
from corcypower.store.simulate import local_seconds, simulate
from tests.store.conftest import T0

HOUSE = {
    "adc": {"chip": "emulated", "sample_rate_hz": 2000},
    "emulator": {"chip": "mcp3208", "seed": 3},
    "channels": [
        {"name": "mains_v", "adc_channel": 1, "kind": "voltage", "scale": 0.25},
        {"name": "main", "adc_channel": 0, "kind": "current", "scale": 0.02, "voltage": "mains_v"},
        {"name": "solar", "adc_channel": 2, "kind": "current", "scale": 0.01, "voltage": "mains_v"},
    ],
}
END = T0 + 11 * 3_600_000 + 123  # 11:00 UTC: the sun is up


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    path = tmp_path_factory.mktemp("sim") / "power.db"
    done = []
    with Database(path) as db:
        stored = simulate(db, from_dict(HOUSE), 0.25, END, progress=done.append)
    with Database(path, read_only=True) as db:
        yield db, stored, done


def test_batches_tile_time_and_end_now(sim):
    db, stored, done = sim
    assert stored == 3 * 43_200 and sum(done) == 6 * 3_600_000
    spans = [tuple(r) for r in db.query("SELECT channel_id, start_ms, end_ms FROM span")]
    assert spans == [(c, END - 6 * 3_600_000, END) for c in (1, 2, 3)]
    assert db.query("SELECT count(*) FROM gaps")[0][0] == 0


def test_rows_are_like_the_daemons(sim):
    db, _, _ = sim
    rows = {r["channel"]: dict(r) for r in db.query("SELECT * FROM readings WHERE ts = ?", (END,))}
    v, main, solar = rows["mains_v"], rows["main"], rows["solar"]
    assert 225 < v["vrms"] < 235 and 49.9 < v["frequency_hz"] < 50.1
    assert v["irms"] is None and v["real_power_w"] is None
    assert v["rms"] == pytest.approx(v["vrms"] / 0.25, rel=0.01)
    for c in (main, solar):
        assert c["vrms"] is None and c["irms"] > 0
        assert abs(c["real_power_w"]) <= c["apparent_power_va"] + 1e-9
        assert c["power_factor"] == pytest.approx(c["real_power_w"] / c["apparent_power_va"])
        assert 0 <= c["min"] < c["mean"] < c["max"] <= 4095
    assert solar["real_power_w"] < -100  # exporting at 11:00
    n = db.query("SELECT DISTINCT n, duration_ms FROM batch")
    assert [tuple(r) for r in n] == [(1000, 500)]


def test_energy_is_the_household_models(sim):
    db, _, _ = sim
    mids = END - 6 * 3_600_000 + 250 + 500 * np.arange(43_200)
    for cid, circuit in ((2, "house"), (3, "solar")):
        watts = circuit_watts(circuit, local_seconds(mids), seed=3)
        expected_in = watts.clip(min=0).sum() * 0.5 / 3600
        expected_out = (-watts).clip(min=0).sum() * 0.5 / 3600
        got = db.query(
            "SELECT sum(import_wh), sum(export_wh) FROM rollup_1d WHERE channel_id = ?", (cid,)
        )[0]
        assert got[0] == pytest.approx(expected_in, rel=1e-9, abs=1e-9)
        assert got[1] == pytest.approx(expected_out, rel=1e-9, abs=1e-9)


def test_running_it_again_adds_nothing(sim, tmp_path):
    db, _, _ = sim
    with Database(db.path) as again:
        assert simulate(again, from_dict(HOUSE), 0.25, END) == 0


def test_raw_rows_only_within_their_retention(tmp_path):
    config = from_dict({"channels": DEFAULT_CHANNELS})  # the original: fixed 237 V
    with Database(tmp_path / "p.db") as db:
        simulate(db, config, 1.0, END, Retention(raw_days=0.25))
        assert db.query("SELECT min(ts) FROM batch")[0][0] == END - 6 * 3_600_000
        assert db.query("SELECT sum(duration_ms) FROM rollup_1d")[0][0] == 86_400_000
        row = db.query(
            "SELECT real_power_w, apparent_power_va, power_factor, irms FROM batch LIMIT 1"
        )[0]
        assert row[0] == row[1] == pytest.approx(237 * row[3]) and row[2] is None
