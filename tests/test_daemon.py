"""The daemon in-process on the emulated chip and a FakeClock: analysis to rows, stamps, flags."""

from __future__ import annotations

import logging
import os
import re
import sqlite3
import subprocess
import sys
import threading

import numpy as np
import pytest

from corcypower import settings
from corcypower.analysis import FLAG_LATE
from corcypower.clock import FakeClock
from corcypower.daemon import Daemon, MinuteSummary
from corcypower.errors import DatabaseBusy, ForeignDatabase, StoreError
from corcypower.store.batches import Batches
from corcypower.store.database import Database
from corcypower.store.lock import WriterLock
from corcypower.store.retention import Retention
from corcypower.store.writer import register_channels, write_rows
from tests.helpers import REPO


def start(emulated_config, sections=None):
    config = settings.load(emulated_config(sections))
    clock = FakeClock()
    daemon = Daemon(config, clock)
    daemon.open_store()
    return daemon, clock


def run_batches(daemon, count):
    done = []
    while len(done) < count:
        for raw in daemon.acquisition.read_once():
            done.append((raw, daemon.process(raw)))
    return done


def rows(daemon, sql="SELECT ts, channel_id FROM batch ORDER BY ts, channel_id"):
    with sqlite3.connect(daemon.config.db_path) as conn:
        return conn.execute(sql).fetchall()


def test_batches_become_rows_and_reach_listeners(emulated_config):
    daemon, _ = start(emulated_config)
    heard = []
    daemon.listeners.append(
        lambda ts, duration, stats: heard.append((ts, duration, [s.name for s in stats]))
    )
    run_batches(daemon, 5)
    assert daemon.writer.pending and not rows(daemon)  # held in memory until the commit is due
    daemon.writer.flush()
    stored = rows(daemon)
    assert len(stored) == 2 * len(heard) and len(heard) >= 5
    assert heard[1][1] == 500 and heard[1][2] == ["mains_v", "main"]
    assert [ts for ts, _, _ in heard] == sorted({ts for ts, _ in stored})


def test_commits_come_every_commit_seconds(emulated_config):
    daemon, clock = start(emulated_config)
    run_batches(daemon, 3)
    assert not daemon.writer.due()
    clock.now += 60
    assert daemon.writer.due()


def test_wall_clock_stepping_back_keeps_rows_in_order_half_a_batch_apart(
    emulated_config, monkeypatch
):
    """A step back that holds: stamps advance by half a batch, never 1 ms, until caught up."""
    monkeypatch.setattr("corcypower.clock.ACCEPT_STEP_AFTER_S", 2.0)  # believed after 4 batches
    daemon, clock = start(emulated_config)
    stamps, durations = [], []
    daemon.listeners.append(
        lambda ts, duration, stats: (stamps.append(ts), durations.append(duration))
    )
    run_batches(daemon, 4)
    clock.step_wall(-5_000)  # NTP steps the clock back 5 s
    run_batches(daemon, 4 + 2 * 10 + 4)  # probation, then 5 s absorbed in 10 s, then steady
    daemon.writer.flush()
    assert stamps == sorted(set(stamps))  # in acquisition order, none repeated
    spacing = np.diff(stamps)
    assert spacing.min() >= 249 and spacing.max() <= 501, spacing  # (ms rounding)
    assert 499 <= spacing[-1] <= 501 and clock.wall_ms() - 1000 < stamps[-1] <= clock.wall_ms()
    stored = rows(daemon, "SELECT count(*), sum(duration_ms) FROM batch WHERE channel_id = 1")
    assert stored[0] == (len(stamps), sum(durations))  # every batch stored, durations intact
    assert rows(daemon, "PRAGMA integrity_check") == [("ok",)]


def test_a_brief_forward_jump_of_the_wall_clock_dates_nothing_in_the_future(emulated_config):
    """+1 day for 6 s (a bad NTP answer) used to stamp every later batch 1 ms after tomorrow."""
    daemon, clock = start(emulated_config)
    true_start = clock.wall_ms()
    run_batches(daemon, 4)
    clock.step_wall(86_400_000)
    run_batches(daemon, 12)
    clock.step_wall(-86_400_000)
    run_batches(daemon, 6)
    daemon.writer.flush()
    stamps = [ts for (ts,) in rows(daemon, "SELECT DISTINCT ts FROM batch ORDER BY ts")]
    assert max(stamps) <= clock.wall_ms() and min(stamps) > true_start
    assert set(np.diff(stamps).tolist()) <= {499, 500, 501}  # neither a gap nor a squeeze
    assert rows(daemon, "SELECT count(*) FROM gaps") == [(0,)]


def test_a_database_from_the_future_is_continued_not_overwritten(emulated_config):
    daemon, clock = start(emulated_config)
    run_batches(daemon, 2)
    daemon.writer.flush()
    daemon.close_store()
    clock.step_wall(-86_400_000)  # rebooted with the clock a day behind
    again = Daemon(daemon.config, clock)
    again.open_store()
    last = again.last_ts
    run_batches(again, 2)
    again.writer.flush()
    stamps = [ts for (ts,) in rows(again, "SELECT DISTINCT ts FROM batch ORDER BY ts")]
    assert len(stamps) >= 4 and stamps[-1] > last


def test_late_batches_are_flagged(emulated_config):
    daemon, clock = start(emulated_config)
    run_batches(daemon, 2)
    clock.now += 0.05
    late = [stats for raw, stats in run_batches(daemon, 2) if raw.late]
    assert late and all(s.flags & FLAG_LATE for s in late[0])


def test_minute_summary_gives_power_and_volts(emulated_config):
    daemon, _ = start(emulated_config)
    summary = MinuteSummary(daemon.config)
    for _, stats in run_batches(daemon, 4):
        summary.add(500, stats)
    line = summary.line(2.0)
    assert re.match(
        r"last minute: main -?\d+ W, mains_v 2\d\d\.\d V; [45] batches, 0 late$", line
    ), line


def test_minute_summary_names_what_to_check(emulated_config):
    daemon, _ = start(emulated_config, {"emulator": "flat_channels = [1]"})
    summary = MinuteSummary(daemon.config)
    for _, stats in run_batches(daemon, 4):
        summary.add(500, stats)
    assert "; check mains_v: flat, no-cycles" in summary.line(2.0)


def test_the_daemon_imports_neither_pandas_nor_bokeh():
    # services: the state API, its history endpoint (store/series.py) included
    code = "import sys, corcypower.daemon, corcypower.cli, corcypower.services; print(sorted(m for m in ('pandas', 'bokeh') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --- the database under the daemon: deleted, replaced, failing --------------------------


def db_files(daemon):
    return sorted(daemon.config.db_path.parent.glob("power.db*"))


def test_a_deleted_database_is_recreated_with_the_rows_not_yet_committed(emulated_config, caplog):
    """`rm power.db*` while it ran: it used to go on writing into the deleted file, silently."""
    daemon, _ = start(emulated_config)
    run_batches(daemon, 4)
    assert daemon.writer.flush()
    committed = daemon.writer.rows_written
    for path in db_files(daemon):
        path.unlink()  # the database, its WAL and shared memory, and the lock file
    run_batches(daemon, 6)
    pending = len(daemon.writer.pending)
    assert daemon.writer.flush()
    assert f"{daemon.config.db_path} was deleted while the daemon was running" in caplog.text
    assert [r.levelname for r in caplog.records if "was deleted" in r.getMessage()] == ["ERROR"]
    assert rows(daemon, "SELECT count(*) FROM batch") == [(pending,)]
    assert rows(daemon, "SELECT name FROM channel ORDER BY id") == [("mains_v",), ("main",)]
    assert daemon.writer.rows_written == committed + pending
    with pytest.raises(DatabaseBusy, match=f"pid {os.getpid()}"):  # the lock is held again
        WriterLock(daemon.config.db_path, "a second daemon")


def test_a_database_replaced_by_another_is_written_with_its_own_channel_ids(emulated_config):
    daemon, _ = start(emulated_config)
    run_batches(daemon, 2)
    assert daemon.writer.flush()
    other = daemon.config.db_path.with_name("other.db")
    with Database(other) as db:  # its channels registered in another order: other ids
        register_channels(db, daemon.config.channels[::-1], "emulated", 0)
    os.replace(other, daemon.config.db_path)
    run_batches(daemon, 3)
    pending = len(daemon.writer.pending)
    assert daemon.writer.flush()
    by_name = rows(
        daemon,
        "SELECT c.name, count(*) FROM batch b JOIN channel c ON c.id = b.channel_id GROUP BY c.name",
    )
    assert sorted(by_name) == [("main", pending // 2), ("mains_v", pending // 2)]
    assert rows(daemon, "PRAGMA integrity_check") == [("ok",)]


def test_a_database_replaced_by_a_foreign_file_stops_the_daemon(emulated_config):
    daemon, _ = start(emulated_config)
    run_batches(daemon, 2)
    daemon.writer.flush()
    daemon.config.db_path.unlink()
    with sqlite3.connect(daemon.config.db_path) as conn:
        conn.execute("CREATE TABLE notes (text)")
    run_batches(daemon, 2)
    with pytest.raises(ForeignDatabase, match="not a CorcyPower database"):
        daemon.writer.flush()
    assert daemon.writer.pending  # still in memory, for the final line to count


def test_any_error_in_a_commit_keeps_the_rows(emulated_config, monkeypatch, caplog):
    """Writer.flush caught only sqlite3.Error; anything else escaped, rows and all."""
    daemon, _ = start(emulated_config)
    run_batches(daemon, 3)
    real_write = daemon.writer._write
    monkeypatch.setattr(daemon.writer, "_write", lambda conn, rows: 1 / 0)
    assert not daemon.writer.flush()
    pending = len(daemon.writer.pending)
    assert pending and "ZeroDivisionError" in caplog.text  # a bug: its traceback, logged
    monkeypatch.setattr(daemon.writer, "_write", real_write)
    assert daemon.writer.flush() and daemon.writer.rows_written == pending
    assert rows(daemon, "SELECT count(*) FROM batch") == [(pending,)]


def test_a_failing_final_commit_still_closes_the_file_and_stops_the_exporter(
    emulated_config, monkeypatch, caplog
):
    """The final flush in `finally` raised again, skipping db.close() and exporter.stop()."""
    stopped = []

    class Exporter:
        def stop(self):
            stopped.append(True)

    monkeypatch.setattr("corcypower.daemon.start_exporter", lambda config, clock: Exporter())
    caplog.set_level(logging.INFO)
    daemon, _ = start(emulated_config)
    monkeypatch.setattr(daemon.writer, "_write", lambda conn, rows: 1 / 0)
    stop = threading.Event()
    daemon.listeners.append(lambda *batch: daemon.batches >= 3 and stop.set())
    with pytest.raises(StoreError, match=r"\d+ rows could not be stored \(division by zero\)"):
        daemon.run(stop)
    assert stopped == [True]
    with pytest.raises(sqlite3.ProgrammingError):  # closed
        daemon.writer.db.conn.execute("SELECT 1")
    WriterLock(daemon.config.db_path, "the next daemon").release()  # released
    final = [r.getMessage() for r in caplog.records if r.getMessage().startswith("stopped")]
    assert re.match(r"stopped after \d+ batches; 0 rows written; \d+ rows NOT stored", final[0])


def test_rows_written_counts_only_rows_the_database_took(emulated_config):
    """Another writer had stored the same time: they used to be counted as written anyway."""
    daemon, _ = start(emulated_config)
    run_batches(daemon, 4)
    rows_now = list(daemon.writer.pending)
    with daemon.db.atomic() as conn:  # stored meanwhile by someone else
        write_rows(conn, Batches.from_rows(rows_now[:4]), 0, Retention())
    assert daemon.writer.flush()
    assert (daemon.writer.rows_written, daemon.writer.rows_skipped) == (len(rows_now) - 4, 4)
    assert "4 rows already stored by another writer" in daemon._final_line()


def test_three_phases_from_one_voltage_input_on_the_emulated_chip(tmp_path):
    # examples/three-phase.toml on the emulated chip: the household's loads sit on the phase
    # each CT's voltage names, so the same circuit on L1, L2, L3 and across L1-L2 draws the
    # same power, which the daemon must find through the derived voltages
    text = (REPO / "examples" / "three-phase.toml").read_text()
    text = text.replace('chip = "mcp3208"', 'chip = "emulated"\nsample_rate_hz = 2000')
    text = text.replace("/var/lib/corcypower/power.db", str(tmp_path / "power.db"))
    path = tmp_path / "three-phase.toml"
    path.write_text(text + '\n[emulator]\nchip = "mcp3208"\nseed = 7\n[api]\nport = 0\n')
    daemon = Daemon(settings.load(path), FakeClock())
    daemon.open_store()
    for _, stats in run_batches(daemon, 4)[1:]:
        by = {s.name: s for s in stats}
        assert by["l1"].flags == by["l2"].flags == by["l3"].flags == 0
        for name in ("l2", "l3", "heat_pump"):
            gap = abs(by[name].real_power_w - by["l1"].real_power_w)
            assert gap <= 0.02 * by["l1"].apparent_power_va + 2.0, (name, by)
    daemon.writer.flush()
    assert {c for (c,) in rows(daemon, "SELECT DISTINCT channel_id FROM batch")} == {1, 2, 3, 4, 5}
