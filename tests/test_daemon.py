"""The daemon in-process on the emulated chip and a FakeClock: analysis to rows, stamps, flags."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys

from corcypower import settings
from corcypower.analysis import FLAG_LATE
from corcypower.clock import FakeClock
from corcypower.daemon import Daemon, MinuteSummary


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


def test_wall_clock_stepping_back_keeps_rows_in_order(emulated_config):
    daemon, clock = start(emulated_config)
    stamps, durations = [], []
    daemon.listeners.append(
        lambda ts, duration, stats: (stamps.append(ts), durations.append(duration))
    )
    run_batches(daemon, 4)
    before = daemon.last_ts
    clock.step_wall(-3_600_000)  # NTP steps the clock back an hour
    run_batches(daemon, 6)
    daemon.writer.flush()
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)  # in acquisition order
    assert stamps[stamps.index(before) + 1] == before + 1
    stored = rows(daemon, "SELECT count(*), sum(duration_ms) FROM batch WHERE channel_id = 1")
    assert stored[0] == (len(stamps), sum(durations))  # every batch stored, durations intact
    assert rows(daemon, "PRAGMA integrity_check") == [("ok",)]


def test_a_database_from_the_future_is_continued_not_overwritten(emulated_config):
    daemon, clock = start(emulated_config)
    run_batches(daemon, 2)
    daemon.writer.flush()
    daemon.db.close()
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
    code = "import sys, corcypower.daemon, corcypower.cli; print(sorted(m for m in ('pandas', 'bokeh') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
