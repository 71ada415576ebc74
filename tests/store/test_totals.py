"""The committed energy totals that MQTT and the state API publish: exactly `energy_total`,
re-read only after a commit, and never below an earlier answer."""

from __future__ import annotations

import os
import threading

from corcypower.store.retention import Retention
from corcypower.store.totals import Energy, EnergyTotals
from corcypower.store.writer import write_rows
from tests.store.conftest import T0, current_rows, tiled

HOUR_MS = 3_600_000


def store(db, start_ms, seconds, watts):
    with db.atomic() as conn:
        write_rows(
            conn, current_rows(tiled(start_ms, seconds, 10_000), watts, 10_000), T0, Retention()
        )


def test_the_totals_are_the_energy_total_view(db):
    store(db, T0, 3600, 1000.0)  # 1 kWh drawn
    store(db, T0 + HOUR_MS, 1800, -500.0)  # 0.25 kWh sent
    with EnergyTotals(db.path) as totals:
        assert totals.read() == {"main": Energy(1.0, 0.25)}
        view = db.query("SELECT channel, import_kwh, export_kwh FROM energy_total")
        assert [tuple(r) for r in view] == [("main", 1.0, 0.25)]
        assert totals.until_ms == T0 + HOUR_MS + 1_800_000


def test_a_commit_is_seen_and_nothing_else_is_read_again(db):
    store(db, T0, 3600, 1000.0)
    with EnergyTotals(db.path) as totals:
        assert totals.read()["main"].import_kwh == 1.0
        version = totals._version
        assert totals.read()["main"].import_kwh == 1.0 and totals._version == version
        store(db, T0 + HOUR_MS, 3600, 2000.0)
        assert totals.read()["main"].import_kwh == 3.0 and totals._version != version


def test_never_below_an_earlier_answer(db):
    store(db, T0, 3600, 1000.0)
    with EnergyTotals(db.path) as totals:
        assert totals.read()["main"] == Energy(1.0, 0.0)
        with db.atomic() as conn:  # a rebuild or a hand edit takes energy away
            conn.execute("UPDATE rollup_1d SET import_wh = import_wh / 2")
        assert totals.read()["main"] == Energy(1.0, 0.0)
        store(db, T0 + HOUR_MS, 3600, 1000.0)  # 0.5 + 1.0 is still below 1.0 + 1.0 ...
        assert totals.read()["main"] == Energy(1.5, 0.0)  # ... but above the 1.0 shown


def test_no_file_yet_is_no_answer_not_zero(tmp_path):
    with EnergyTotals(tmp_path / "power.db") as totals:
        assert totals.read() is None


def test_a_missing_file_keeps_the_last_totals(db, tmp_path):
    store(db, T0, 3600, 1000.0)
    with EnergyTotals(db.path) as totals:
        assert totals.read()["main"].import_kwh == 1.0
        os.rename(db.path, tmp_path / "moved.db")
        assert totals.read() == {"main": Energy(1.0, 0.0)}  # never zeros: a "new meter"


def test_a_replaced_file_is_read_again_but_never_steps_back(db, tmp_path, config):
    from corcypower.store.database import Database
    from corcypower.store.writer import register_channels

    store(db, T0, 3600, 1000.0)
    with EnergyTotals(db.path) as totals:
        assert totals.read()["main"].import_kwh == 1.0
        db.close()
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(f"{db.path}{suffix}"):
                os.remove(f"{db.path}{suffix}")
        with Database(db.path) as fresh:
            register_channels(fresh, config.channels, "mcp3208", T0)
            store(fresh, T0, 3600 * 3, 1000.0)  # 3 kWh in the new file
            assert totals.read()["main"].import_kwh == 3.0


def test_readers_in_several_threads(db):
    store(db, T0, 3600, 1000.0)
    with EnergyTotals(db.path) as totals:
        answers = []
        threads = [threading.Thread(target=lambda: answers.append(totals.read())) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert answers == [{"main": Energy(1.0, 0.0)}] * 8
