"""The views, read with the real sqlite3 shell as a user would, also while the writer writes."""

from __future__ import annotations

import os
import threading

import numpy as np
import pytest

from corcypower.clock import FakeClock
from corcypower.store.retention import Retention
from corcypower.store.writer import Writer, write_rows
from tests.store.conftest import T0, current_rows, sqlite3_shell, tiled, voltage_rows
from tests.store.test_writer import stats

UTC = os.environ | {"TZ": "UTC"}


@pytest.fixture
def filled(db):
    """2 min 30 s of batches, 10 minutes off, then 1 min 15 s more."""
    ends = np.r_[tiled(T0, 150), tiled(T0 + 750_000, 75)]
    power = np.where(ends <= T0 + 60_000, 1800.0, -600.0)
    with db.atomic() as conn:
        write_rows(conn, current_rows(ends, power), T0, Retention(None))
        write_rows(conn, voltage_rows(ends, 229.5), T0, Retention(None))
    return db


def shell(db, sql: str, header: bool = False) -> list[str]:
    return sqlite3_shell(db.path, sql, env=UTC, header=header).splitlines()


def test_readings_has_the_columns_of_the_issue(filled):
    head, row = shell(
        filled, "SELECT * FROM readings WHERE channel = 'main' ORDER BY ts LIMIT 1", header=True
    )
    assert head.split("|") == [
        "ts",
        "time",
        "channel",
        "mean",
        "min",
        "max",
        "rms",
        "vrms",
        "frequency_hz",
        "irms",
        "real_power_w",
        "apparent_power_va",
        "power_factor",
        "phase",  # (version 8)
    ]
    assert row.split("|")[:3] == [str(T0 + 500), "2026-01-01 00:00:00.500", "main"]
    assert row.split("|")[7:9] == ["", ""]  # no voltage on a current channel: NULL


def test_latest_gives_one_row_per_channel(filled):
    rows = shell(
        filled, "SELECT channel, kind, time, power_w, voltage_v FROM latest ORDER BY channel"
    )
    assert rows == [
        "main|current|2026-01-01 00:13:45|-600.0|",
        "mains_v|voltage|2026-01-01 00:13:45||229.5",
    ]


def test_power_per_minute_and_energy(filled):
    rows = shell(
        filled,
        "SELECT minute, channel, avg_w, min_w, max_w, import_wh, export_wh, measured_s FROM power_minute ORDER BY ts LIMIT 3",
    )
    assert rows == [
        "2026-01-01 00:00|main|1800.0|1800.0|1800.0|30.0|0.0|60.0",
        "2026-01-01 00:01|main|-600.0|-600.0|-600.0|0.0|10.0|60.0",
        "2026-01-01 00:02|main|-600.0|-600.0|-600.0|0.0|5.0|30.0",
    ]
    assert shell(filled, "SELECT * FROM energy_total") == [
        "main|0.03|0.028|2026-01-01 00:00:00"
    ]  # kWh to the Wh
    assert shell(
        filled, "SELECT day, channel, import_kwh, export_kwh, net_kwh FROM energy_day"
    ) == ["2026-01-01|main|0.03|0.028|0.003"]


def test_gaps_and_closed_minutes(filled):
    assert shell(
        filled, "SELECT channel, from_time, to_time, seconds FROM gaps ORDER BY channel"
    ) == [
        "main|2026-01-01 00:02:30.000|2026-01-01 00:12:30.000|600.0",
        "mains_v|2026-01-01 00:02:30.000|2026-01-01 00:12:30.000|600.0",
    ]
    minutes = shell(
        filled, "SELECT ts, channel, batches, import_wh, export_wh FROM energy_minute ORDER BY ts"
    )
    # minute 00:13 is still open (data up to 00:13:45); 00:02 and 00:12 are closed but partial
    assert [m.split("|")[0] for m in minutes] == [str(T0 + 60_000 * k) for k in (0, 1, 2, 12)]
    assert minutes[0] == f"{T0}|main|120|30.0|0.0"


def test_the_shell_reads_while_the_writer_writes(db):
    writer = Writer(db, {"mains_v": 1, "main": 2}, 60.0, FakeClock())
    stop = threading.Event()
    commits = []

    def write():
        k = 0
        while not stop.is_set() and k < 400 * 120:
            for _ in range(120):
                writer.add(T0 + 500 * (k + 1), 500, stats(250.0))
                k += 1
            commits.append(writer.flush())

    thread = threading.Thread(target=write)
    thread.start()
    counts = []
    try:
        for _ in range(8):
            counts.append(int(shell(db, "SELECT count(*) FROM readings")[0]))
            shell(db, "SELECT * FROM power_minute ORDER BY ts DESC LIMIT 5")
    finally:
        stop.set()
        thread.join()
    assert all(commits) and counts == sorted(counts)
    total = db.query("SELECT count(*) FROM readings")[0][0]
    assert (
        total == writer.rows_written and int(shell(db, "SELECT count(*) FROM readings")[0]) == total
    )
