"""The exporter against a real MariaDB: exact Wh, outages, crashes, several devices at once."""

from __future__ import annotations

import dataclasses
import pickle
import subprocess
import sys
import threading
from datetime import UTC, datetime

import pytest

from corcypower.export.exporter import backoff
from corcypower.export.mysql import Central
from corcypower.export.outbox import NOTHING_SENT
from corcypower.store.database import Database
from tests.export.device import START_MS, Device
from tests.helpers import REPO

MIN = 60_000
POWER = {"main": 600.0, "solar": -1200.0}  # 10 Wh imported, 20 Wh exported per minute


def channel_minutes(server, database, point):
    """(minute ms, channel) → (import Wh, export Wh, NumReads) in the central database."""
    rows = server.query(
        database,
        "SELECT TimeStamp, Channel, ImportWh, ExportWh, NumReads FROM ChannelMinute WHERE Point = %s",
        (point,),
    )
    return {(ms(t), ch): (imp, exp, n) for t, ch, imp, exp, n in rows}


def ms(naive_utc: datetime) -> int:
    return int(naive_utc.replace(tzinfo=UTC).timestamp() * 1000)


def local_minutes(device):
    rows = device.query("SELECT ts, channel, import_wh, export_wh, batches FROM energy_minute")
    return {(ts, ch): (imp, exp, n) for ts, ch, imp, exp, n in rows}


@pytest.fixture
def device(tmp_path, mariadb, database):
    d = Device(tmp_path / "garage", "garage", mariadb, database)
    Central(d.settings).init()
    return d


def test_backoff_doubles_from_two_seconds_up_to_the_cap_with_jitter():
    assert [backoff(n, 300, lambda: 1.0) for n in range(1, 6)] == [2, 4, 8, 16, 32]
    assert backoff(1, 300, lambda: 0.0) == 1.0  # the upper half of each wait
    assert backoff(40, 300, lambda: 1.0) == 300 and backoff(40, 300, lambda: 0.0) == 150


def test_exported_wh_equal_the_wh_in_power_db(tmp_path, mariadb, database):
    device = Device(tmp_path / "pi", "pi", mariadb, database)  # the daemon's own code
    Central(device.settings).init()
    device.emulate(130)  # minutes 0 and 1 closed
    sent = device.exporter().run_once()
    local = local_minutes(device)
    assert len(local) == 4 and sent == 4 + 4  # ChannelMinute + VolumeData rows
    assert channel_minutes(mariadb, database, "pi") == local  # exactly: floats travel whole
    main_import = sum(imp for (_, ch), (imp, _, _) in local.items() if ch == "main")
    assert main_import > 1.0  # the emulated house draws power
    (supply,) = mariadb.query(
        database, "SELECT sum(SupplyWh) FROM VolumeData WHERE Point = 'pi-main'"
    )[0]
    assert supply == pytest.approx(main_import, rel=1e-12)


def test_steady_power_arrives_as_its_analytic_energy(device, mariadb, database):
    device.write(START_MS, 30, POWER)
    device.exporter().run_once()
    assert mariadb.query(
        database, "SELECT count(*), sum(ImportWh), sum(ExportWh), min(MeasuredSeconds) FROM ChannelMinute"
    ) == [(60, pytest.approx(300.0), pytest.approx(600.0), 60.0)]  # fmt: skip
    assert mariadb.query(
        database, "SELECT Point, sum(SupplyWh), sum(UsageWh), max(TotalAvgW) FROM VolumeData GROUP BY Point"
    ) == [("garage-main", pytest.approx(300.0), 0.0, 600), ("garage-solar", 0.0, pytest.approx(600.0), -1200)]  # fmt: skip


def test_batches_stay_within_batch_rows(tmp_path, mariadb, database):
    device = Device(tmp_path / "d", "d", mariadb, database, batch_rows=10)
    Central(device.settings).init()
    device.write(START_MS, 30, POWER)
    exporter = device.exporter()
    sizes = []
    write = exporter.central.write
    exporter.central.write = lambda records: sizes.append(len(records)) or write(records)
    assert exporter.run_once() == 120
    assert max(sizes) == 20 and len(sizes) == 6  # 5 minutes x (2 channels + 2 points)


def test_a_server_stopped_for_a_while_gets_every_row_exactly_once(device, mariadb, database):
    exporter = device.exporter()
    device.write(START_MS, 10, POWER)
    assert exporter.attempt() == 60.0  # the interval: all is well
    mariadb.stop()
    try:
        device.write(START_MS + 10 * MIN, 20, POWER)  # measuring goes on
        waits = [exporter.attempt() for _ in range(3)]
        assert waits == [1.5, 3.0, 6.0]  # 2, 4, 8 s, jitter 0.5 (of the upper half)
        state = device.query("SELECT error, failures, sent_ts FROM mysql_export")[0]
        assert "cannot connect" in state[0] and "is the server running" in state[0]
        assert state[1:] == (3, START_MS + 9 * MIN)  # the mark stays at the last commit
    finally:
        mariadb.start()
    assert exporter.attempt() == 60.0
    assert channel_minutes(mariadb, database, "garage") == local_minutes(device)
    assert mariadb.query(database, "SELECT count(*), sum(ImportWh) FROM ChannelMinute") == [
        (60, pytest.approx(300.0))
    ]
    assert device.query("SELECT error, failures, sent_ts, rows_sent FROM mysql_export") == [
        (None, 0, START_MS + 29 * MIN, 120)
    ]


CRASH = """
import os, pickle, sys
from corcypower.export.exporter import Exporter
from corcypower.export.outbox import Outbox
settings, db = pickle.loads(bytes.fromhex(sys.argv[1]))
Outbox.mark_sent = lambda *args, **kwargs: os._exit(9)  # dies after the MySQL commit
Exporter(settings, db).run_once()
"""


def test_a_crash_between_the_mysql_commit_and_the_mark_duplicates_nothing(
    device, mariadb, database
):
    device.write(START_MS, 10, POWER)
    arg = pickle.dumps((device.settings, device.db_path)).hex()
    crashed = subprocess.run([sys.executable, "-c", CRASH, arg], cwd=REPO, capture_output=True)
    assert crashed.returncode == 9, crashed.stderr
    committed = channel_minutes(mariadb, database, "garage")
    assert len(committed) == 20  # in MySQL, but power.db does not know it
    assert device.query("SELECT sent_ts FROM mysql_export") == []
    assert device.exporter().run_once() == 40  # sent again after the restart
    assert channel_minutes(mariadb, database, "garage") == committed == local_minutes(device)
    assert mariadb.query(database, "SELECT count(*), sum(SupplyWh) FROM VolumeData") == [
        (20, pytest.approx(100.0))
    ]


def test_a_refused_row_is_set_aside_and_the_rows_behind_it_go(device, mariadb, database):
    device.write(START_MS, 10, POWER)
    with device.edit() as conn:  # a value the store never makes: a damaged file
        conn.execute(
            "UPDATE rollup_1m SET import_wh = -1 WHERE ts = ? AND channel_id = ?",
            (START_MS + 3 * MIN, device.ids["main"]),
        )
    assert device.exporter().run_once() == 39
    assert len(channel_minutes(mariadb, database, "garage")) == 19
    ((tbl, ts, name, error),) = device.query("SELECT tbl, ts, name, error FROM mysql_rejected")
    assert (tbl, ts, name) == ("ChannelMinute", START_MS + 3 * MIN, "main")
    assert "ChannelMinuteEnergy" in error
    assert device.query("SELECT sent_ts FROM mysql_export") == [(START_MS + 9 * MIN,)]


def test_three_devices_export_into_one_database_at_once(tmp_path, mariadb, database):
    devices = [
        Device(tmp_path / name, name, mariadb, database, batch_rows=2)  # a minute per commit
        for name in ("Mains", "SolarGarage", "SolarHome")
    ]
    Central(devices[0].settings).init()
    for d in devices:
        d.emulate(65)  # the daemon's code: minute 0
        d.write(START_MS + 65_000, 20, POWER)  # and 20 more minutes
    start = threading.Barrier(len(devices))
    results, errors = {}, []

    def export(d):
        try:
            start.wait()
            results[d] = d.exporter().run_once()
        except Exception as exc:  # noqa: BLE001  (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=export, args=(d,)) for d in devices]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for d in devices:
        point = d.settings.point
        assert channel_minutes(mariadb, database, point) == local_minutes(d)
        assert results[d] == 2 * len(local_minutes(d))
        assert d.query("SELECT failures FROM mysql_export") == [(0,)]
    assert mariadb.query(database, "SELECT count(DISTINCT Point) FROM VolumeData") == [(6,)]


def test_nothing_to_send_is_quick_and_quiet(device):
    exporter = device.exporter()
    assert exporter.run_once() == 0
    assert exporter.outbox.state().sent_ts == NOTHING_SENT


def test_the_exporter_leaves_no_read_snapshot_behind(device):
    device.write(START_MS, 10, POWER)
    exporter = device.exporter()
    exporter.run_once()
    exporter.outbox.backlog()
    with device.edit() as conn:  # the daemon's next commit
        conn.execute("UPDATE channel SET updated_ms = updated_ms + 1")
    with Database(device.db_path) as db:  # open: the exporter's connection still is
        busy, _, _ = db.query("PRAGMA wal_checkpoint(TRUNCATE)")[0]
    assert busy == 0  # the WAL could be emptied: no reader pinned an old snapshot


def test_the_same_error_is_logged_once_an_hour_a_new_one_at_once(
    tmp_path, mariadb, database, caplog
):
    device = Device(tmp_path / "d", "d", mariadb, database, password="wrong")
    device.write(START_MS, 5, POWER)
    exporter = device.exporter()
    for _ in range(3):
        exporter.attempt()
    assert caplog.text.count("access denied") == 1
    exporter.clock.now += 3600
    exporter.attempt()
    assert caplog.text.count("access denied") == 2 and "(attempt 4)" in caplog.text
    exporter.settings = dataclasses.replace(exporter.settings, host="no-such-host.invalid")
    exporter.central = Central(exporter.settings)
    exporter.attempt()
    assert "unknown host" in caplog.text
