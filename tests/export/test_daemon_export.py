"""`corcypower run` with [export.mysql], as a real process: it exports, and whatever the server
does (a wrong password, an unknown host, a server that never answers) it keeps measuring."""

from __future__ import annotations

import signal
import socket
import sqlite3
import subprocess
import sys
import time

import pytest

from corcypower.export.mysql import Central
from tests.export.device import START_MS, Device
from tests.export.mariadb import PASSWORD
from tests.helpers import REPO

POWER = {"main": 600.0, "solar": -1200.0}


def wait_until(what, check, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, f"no {what} after {timeout} s"
        time.sleep(0.1)
    return found


def batches(db) -> int:
    """Batches the daemon measured (not the old ones written before it started)."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return conn.execute(
            "SELECT count(DISTINCT ts) FROM batch WHERE ts > ?", (START_MS + 86_400_000,)
        ).fetchone()[0]


def export_state(db):
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return conn.execute("SELECT error, failures, sent_ts FROM mysql_export").fetchone()


class Running:
    """`python mcp_rms.py --config FILE` until stop(); its log in a file."""

    def __init__(self, config_path):
        self.log = config_path.parent / "daemon.log"
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(
                [sys.executable, str(REPO / "mcp_rms.py"), "--config", str(config_path)],
                stderr=log,
                cwd=config_path.parent,
            )

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=30)

    def text(self) -> str:
        return self.log.read_text()


def test_the_daemon_sends_its_backlog_and_new_minutes(tmp_path, mariadb, database):
    device = Device(tmp_path, "garage")
    device.write(START_MS, 20, POWER)  # minutes measured while no server was configured
    config = device.config_file(mariadb.host, mariadb.port, database)
    Central(Device(tmp_path / "x", "garage", mariadb, database).settings).init()
    daemon = Running(config)
    try:
        wait_until("backlog in MySQL", lambda: mariadb.query(database, "SELECT count(*) FROM ChannelMinute") == [(40,)])  # fmt: skip
        wait_until("batches", lambda: batches(device.db_path) >= 4)
    finally:
        assert daemon.stop() == 0
    # the backlog's day (2026-01-01) only: a minute the daemon measured and completed while
    # it ran is exported too, with the emulated house's power at this hour
    backlog = (
        "SELECT sum(ImportWh), sum(ExportWh) FROM ChannelMinute WHERE TimeStamp < '2026-01-02'"
    )
    assert mariadb.query(database, backlog) == [(pytest.approx(200.0), pytest.approx(400.0))]
    error, failures, sent_ts = export_state(device.db_path)
    assert (error, failures) == (None, 0) and sent_ts >= START_MS + 19 * 60_000


@pytest.mark.parametrize("fault", ["wrong password", "unknown host", "silent server"])
def test_the_daemon_keeps_measuring_whatever_the_server_does(tmp_path, mariadb, database, fault):
    device = Device(tmp_path, "garage")
    device.write(START_MS, 5, POWER)
    with socket.socket() as hole:  # accepts connections and never answers
        hole.bind(("127.0.0.1", 0))
        hole.listen()
        host, port, password, expected = {
            "wrong password": (mariadb.host, mariadb.port, "wrong", "access denied: check [export.mysql] user and the password"),
            "unknown host": ("no-such-host.invalid", 3306, PASSWORD, "unknown host 'no-such-host.invalid'"),
            "silent server": ("127.0.0.1", hole.getsockname()[1], PASSWORD, "lost the connection (Lost connection to MySQL server during query (timed out))"),
        }[fault]  # fmt: skip
        daemon = Running(device.config_file(host, port, database, password))
        try:
            error = wait_until("export error", lambda: (export_state(device.db_path) or [None])[0])
            before = batches(device.db_path)
            wait_until("more batches", lambda: batches(device.db_path) >= before + 4)
        finally:
            assert daemon.stop() == 0
    assert expected in error
    log = daemon.text()
    assert expected in log and "measuring goes on, export retries" in log
    assert "Traceback" not in log
    assert export_state(device.db_path)[2] == -1  # nothing marked as sent
