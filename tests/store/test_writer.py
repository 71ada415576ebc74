"""The write path: commits, retries, bounded buffer, idempotence, rebuild; the daemon's clock."""

from __future__ import annotations

import sqlite3

import pytest

from corcypower import settings
from corcypower.analysis import ChannelStats
from corcypower.clock import FakeClock
from corcypower.daemon import Daemon
from corcypower.store.database import Database
from corcypower.store.retention import Retention
from corcypower.store.writer import Writer, last_ts, write_rows
from tests.store.conftest import T0, current_rows, tiled


def stats(power: float) -> list[ChannelStats]:
    return [
        ChannelStats(
            "mains_v", "voltage", 1000, 2048.0, 700, 3300, 920.0, vrms=230.0, frequency_hz=50.0
        ),
        ChannelStats(
            "main",
            "current",
            1000,
            2048.0,
            1900,
            2200,
            40.0,
            irms=power / 230,
            real_power_w=power,
            apparent_power_va=abs(power),
            power_factor=1.0,
        ),
    ]


def make_writer(db, clock=None, **kwargs) -> Writer:
    return Writer(db, {"mains_v": 1, "main": 2}, 60.0, clock or FakeClock(), **kwargs)


def energy_wh(conn_or_db, channel_id=2) -> tuple[float, float]:
    sql = "SELECT sum(import_wh), sum(export_wh) FROM rollup_1d WHERE channel_id = ?"
    row = conn_or_db.execute(sql, (channel_id,)).fetchone()
    return tuple(row)


def test_rows_wait_in_memory_until_the_commit(db):
    w = make_writer(db)
    for k in range(10):
        w.add(T0 + 500 * (k + 1), 500, stats(1000.0))
    assert db.query("SELECT count(*) FROM batch")[0][0] == 0
    assert w.flush() and w.commits == 1 and w.rows_written == 20
    assert db.query("SELECT count(*) FROM batch")[0][0] == 20
    assert energy_wh(db.conn) == (pytest.approx(1000 * 5 / 3600), 0.0)
    assert w.flush() and w.commits == 1  # nothing pending: no empty commit


def test_a_failed_commit_keeps_the_rows_and_the_next_one_stores_them_once(db, tmp_path):
    w = make_writer(db)
    w.db = Database(db.path, timeout=0.05)  # short wait for the lock
    blocker = sqlite3.connect(db.path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another writer holds the lock
    for k in range(6):
        w.add(T0 + 500 * (k + 1), 500, stats(-600.0))
    assert not w.flush()
    assert w.failures == 1 and "locked" in w.last_error and len(w.pending) == 12
    assert not w.db.conn.in_transaction
    blocker.execute("ROLLBACK")
    assert w.flush() and not w.pending
    assert db.query("SELECT count(*) FROM batch")[0][0] == 12
    assert energy_wh(db.conn) == (0.0, pytest.approx(600 * 3 / 3600))
    w.db.close()


def test_the_buffer_is_bounded_and_drops_the_oldest(db):
    w = make_writer(db, buffer_rows=1000)
    for k in range(600):
        w.add(T0 + 500 * (k + 1), 500, stats(1.0))
    assert len(w.pending) == 1000 and w.rows_dropped == 200
    assert w.pending[0][0] == T0 + 500 * 101  # the newest are kept


def test_the_same_rows_twice_are_stored_once(db):
    b = current_rows(tiled(T0, 120), 900.0)
    with db.atomic() as conn:
        assert write_rows(conn, b, T0, Retention()) == 240
    with db.atomic() as conn:
        assert write_rows(conn, b, T0, Retention()) == 0
        assert energy_wh(conn) == (pytest.approx(900 * 120 / 3600), 0.0)


def test_rows_older_than_raw_retention_go_to_the_rollups_only(db):
    b = current_rows(tiled(T0, 3600), 100.0)
    with db.atomic() as conn:
        write_rows(conn, b, T0 + 86_400_000 + 1_800_000, Retention(raw_days=1))
    first = db.query("SELECT min(ts) FROM batch")[0][0]
    assert first == T0 + 1_800_000  # only the last half hour is within a day of now
    assert energy_wh(db.conn)[0] == pytest.approx(100.0)  # the whole hour in the rollups


def test_last_ts_counts_what_an_import_covered(db):
    assert last_ts(db) is None
    with db.atomic() as conn:
        write_rows(conn, current_rows(tiled(T0, 10), 1.0), T0 + 40 * 86_400_000, Retention())
    assert db.query("SELECT count(*) FROM batch")[0][0] == 0  # too old for raw
    assert last_ts(db) == T0 + 10_000


# --- the daemon's stamps --------------------------------------------------------------


def daemon_run(daemon, count):
    done = 0
    while done < count:
        for raw in daemon.acquisition.read_once():
            daemon.process(raw)
            done += 1


def energy_from_raw(db, channel_id=2) -> float:
    sql = "SELECT sum(real_power_w * duration_ms) / 3600000.0 FROM batch WHERE channel_id = ?"
    return db.query(sql, (channel_id,))[0][0]


def test_energy_comes_from_durations_when_the_clock_steps_back(emulated_config, monkeypatch):
    monkeypatch.setattr("corcypower.clock.ACCEPT_STEP_AFTER_S", 1.0)
    config = settings.load(emulated_config())
    clock = FakeClock()
    daemon = Daemon(config, clock)
    daemon.open_store()
    heard = []  # the batches tile time on whole cycles: each lasts about 500 ms
    daemon.listeners.append(lambda ts, duration_ms, stats: heard.append(duration_ms))
    daemon_run(daemon, 6)
    clock.step_wall(-600_000)  # NTP steps back ten minutes: stamps advance by half a batch
    daemon_run(daemon, 8)
    daemon.writer.flush()
    db = daemon.db
    durations = db.query("SELECT sum(duration_ms) FROM batch WHERE channel_id = 2")[0][0]
    assert durations == sum(heard)
    imported, exported = energy_wh(db.conn)
    assert imported - exported == pytest.approx(energy_from_raw(db), rel=1e-9)
    assert db.query("SELECT count(*) FROM gaps")[0][0] == 0  # compressed, not missing
    assert (
        db.query("SELECT sum(duration_ms) FROM rollup_10s WHERE channel_id = 2")[0][0] == durations
    )


def test_a_restart_and_a_clock_jump_forward_that_holds_are_gaps(emulated_config, monkeypatch):
    monkeypatch.setattr("corcypower.clock.ACCEPT_STEP_AFTER_S", 1.0)
    config = settings.load(emulated_config())
    clock = FakeClock()
    daemon = Daemon(config, clock)
    daemon.open_store()
    daemon_run(daemon, 4)
    clock.step_wall(120_000)  # the clock jumps forward two minutes, and stays there
    daemon_run(daemon, 6)
    daemon.writer.flush()
    daemon.close_store()
    clock.now += 300  # stopped for five minutes
    again = Daemon(config, clock)
    again.open_store()
    daemon_run(again, 4)
    again.writer.flush()
    gaps = again.db.query(
        "SELECT channel, seconds FROM gaps WHERE channel = 'main' ORDER BY from_ms"
    )
    assert [round(g["seconds"]) for g in gaps] == [120, 300]
    imported, exported = energy_wh(again.db.conn)
    assert imported - exported == pytest.approx(energy_from_raw(again.db), rel=1e-9)
