"""Retention: horizons per table, deletes in small chunks, a file that stops growing."""

from __future__ import annotations

import pytest

from corcypower import settings
from corcypower.clock import FakeClock
from corcypower.store.retention import (
    CHUNK_ROWS,
    DAY_MS,
    Retention,
    chunk_ms,
    expired,
    prune,
)
from corcypower.store.writer import Writer, write_rows
from tests.store.conftest import T0, current_rows, tiled
from tests.store.test_writer import stats

HOUR_MS = 3_600_000


def test_defaults_keep_a_month_raw_a_year_of_10s_and_the_coarse_levels_forever():
    keep = Retention().keep_ms()
    assert keep["batch"] == 31 * DAY_MS
    assert keep["rollup_10s"] == 366 * DAY_MS and keep["rollup_1m"] == 1827 * DAY_MS
    assert keep["rollup_15m"] is keep["rollup_1h"] is keep["rollup_6h"] is keep["rollup_1d"] is None


def test_retention_from_the_config_and_zero_means_forever():
    config = settings.from_dict(
        {"store": {"raw_days": 40, "rollup_10s_days": 0, "rollup_1m_days": 90}}
    )
    keep = Retention.from_config(config).keep_ms()
    assert (
        keep["batch"] == 40 * DAY_MS
        and keep["rollup_10s"] is None
        and keep["rollup_1m"] == 90 * DAY_MS
    )


def test_prune_deletes_one_chunk_of_the_oldest_per_pass(db):
    b = current_rows(tiled(T0, 3 * 3600), 100.0)  # three hours of raw rows
    with db.atomic() as conn:
        write_rows(conn, b, T0, Retention(None))
    now = T0 + int(2.5 * HOUR_MS) + DAY_MS // 2  # keep the last half day: 2.5 hours expire
    policy = Retention(raw_days=0.5)
    assert chunk_ms("batch") == CHUNK_ROWS * 500 == HOUR_MS
    counts = []
    with db.atomic() as conn:
        while expired(conn, policy, now):
            counts.append(prune(conn, policy, now))
    assert counts == [7200, 7200, 3599]  # chunk by chunk, an hour of batches each
    assert db.query("SELECT min(ts) FROM batch")[0][0] == now - DAY_MS // 2
    assert db.query("SELECT sum(import_wh) FROM rollup_1h")[0][0] == pytest.approx(
        300.0
    )  # rollups untouched


def test_the_file_stops_growing_in_steady_state(db):
    """An hour of raw rows and 10 s rollups kept: new rows reuse the freed pages."""
    policy = Retention(raw_days=1 / 24, rollup_days={"10s": 1 / 24, "1m": 1 / 24})
    writer = Writer(db, {"mains_v": 1, "main": 2}, 60.0, FakeClock(), retention=policy)
    pages = []
    for minute in range(5 * 60):
        for k in range(120):
            writer.add(T0 + minute * 60_000 + 500 * (k + 1), 500, stats(300.0))
        assert writer.flush()
        if minute % 60 == 59:
            pages.append(db.query("PRAGMA page_count")[0][0])
    raw = db.query("SELECT count(*) FROM batch")[0][0]
    assert raw <= 2 * (7200 + 1200 + 120)  # an hour, plus at most ten minutes not pruned yet
    assert pages[-1] <= pages[1] * 1.05  # after the first hour, freed pages are reused
    assert db.query("SELECT sum(import_wh) FROM rollup_1d")[0][0] == pytest.approx(300.0 * 5)
