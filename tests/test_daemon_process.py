"""The daemon as users run it: a real process on the emulated chip, stopped by signals."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request

import pytest

from corcypower.analysis import FLAG_LATE
from tests.helpers import REPO, skip_unless


@pytest.fixture
def spawn():
    """spawn(config): start `python mcp_rms.py --config ...`, wait until it samples; killed after."""
    started = []

    def start(config_path):
        proc = subprocess.Popen(
            [sys.executable, str(REPO / "mcp_rms.py"), "--config", str(config_path)],
            stderr=subprocess.PIPE,
            text=True,
            cwd=config_path.parent,
        )
        started.append(proc)
        seen = []
        while not seen or "sampling 2 channels on emulated" not in seen[-1]:
            line = proc.stderr.readline()
            assert line, "the daemon exited before sampling:\n" + "".join(seen)
            seen.append(line)
        proc.api = next(  # its state API's address, from the line announcing it
            (m[1] for line in seen if (m := re.search(r"state API on (http://\S+)/api", line))),
            None,
        )
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def sqlite3_shell(db, sql: str) -> list[list[str]]:
    skip_unless(shutil.which("sqlite3") is not None, "the sqlite3 shell is not installed")
    out = subprocess.run(
        ["sqlite3", "-separator", "|", str(db), sql], capture_output=True, text=True, check=True
    )
    return [line.split("|") for line in out.stdout.splitlines()]


def wait_for_batches(db, count: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if db.exists():
            try:
                if int(sqlite3_shell(db, "SELECT count(DISTINCT ts) FROM batch")[0][0]) >= count:
                    return
            except subprocess.CalledProcessError:
                pass  # the schema is still being created
        time.sleep(0.2)
    raise AssertionError(f"fewer than {count} batches in {db} after {timeout} s")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_flushes_everything_and_exits_0_within_2_s(emulated_config, spawn, sig):
    config = emulated_config(commit=3600)  # nothing would reach the disk without the flush
    proc = spawn(config)
    time.sleep(1.5)
    proc.send_signal(sig)
    try:
        code = proc.wait(timeout=2)
    finally:
        proc.kill()
    log = proc.stderr.read()
    assert code == 0, log
    batches, written = map(
        int, re.search(r"stopped after (\d+) batches; (\d+) rows written", log).groups()
    )
    assert batches >= 2 and written == 2 * batches
    db = config.parent / "power.db"
    assert sqlite3_shell(db, "SELECT count(*) FROM batch") == [[str(written)]]
    # batches tile time: each starts where the one before ended, on whole cycles (25 of
    # them, within a cycle of 500 ms), unless the one before ended at a hole in the sampling
    # (late: a busy machine); the last ends where sampling stopped, not dropped
    sql = "SELECT ts, duration_ms, flags FROM batch WHERE channel_id = 1 ORDER BY ts"
    rows = [tuple(map(int, r)) for r in sqlite3_shell(db, sql)]
    for (ts, _, flags), (next_ts, duration, _) in zip(rows, rows[1:], strict=False):
        assert next_ts - duration > ts if flags & FLAG_LATE else next_ts - duration == ts
    whole = [d for k, (_, d, f) in enumerate(rows[1:-1], 1) if not (f | rows[k - 1][2]) & FLAG_LATE]
    assert all(480 <= d <= 520 for d in whole) and 0 < rows[-1][1] <= 520


def test_kill_9_loses_at_most_the_commit_interval(emulated_config, spawn):
    config = emulated_config(commit=1)
    db = config.parent / "power.db"
    proc = spawn(config)
    wait_for_batches(db, 6)
    killed_ms = time.time_ns() // 1_000_000
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=5)
    assert sqlite3_shell(db, "PRAGMA integrity_check") == [["ok"]]
    [[last]] = sqlite3_shell(db, "SELECT max(ts) FROM batch")
    # at risk: one commit interval (1 s), the batch being filled (0.5 s), the analysis queue
    assert killed_ms - int(last) <= 1000 + 500 + 500


def test_readings_view_in_the_sqlite3_shell(emulated_config, spawn):
    config = emulated_config(commit=0.5)
    db = config.parent / "power.db"
    proc = spawn(config)
    wait_for_batches(db, 3)
    proc.terminate()
    assert proc.wait(timeout=5) == 0
    header = subprocess.run(
        ["sqlite3", "-header", str(db), "SELECT * FROM readings LIMIT 1"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert header.stdout.splitlines()[0].split("|") == [
        "ts", "time", "channel", "mean", "min", "max", "rms", "vrms", "frequency_hz",
        "irms", "real_power_w", "apparent_power_va", "power_factor", "phase",
    ]  # fmt: skip
    # not the last batch: cut short by the stop, it may hold too few cycles for volts
    rows = sqlite3_shell(
        db,
        "SELECT * FROM readings WHERE ts < (SELECT max(ts) FROM readings) "
        "ORDER BY ts DESC, channel LIMIT 2",
    )
    by_channel = {r[2]: r for r in rows}
    volts, main = by_channel["mains_v"], by_channel["main"]
    assert 225 < float(volts[7]) < 235 and 49.9 < float(volts[8]) < 50.1
    assert volts[9:13] == ["", "", "", ""]  # current quantities are NULL on a voltage channel
    assert main[7:9] == ["", ""] and float(main[9]) > 0 and float(main[11]) > 0
    assert -1 <= float(main[12]) <= 1
    # local time for people, ms UTC for programs
    local = subprocess.run(
        ["sqlite3", str(db), f"SELECT strftime('%Y-%m-%d %H:%M:%f', {volts[0]} / 1000.0, 'unixepoch', 'localtime')"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert volts[1] == local.stdout.strip()


def test_a_second_daemon_on_the_same_database_exits_at_once_naming_the_first(
    emulated_config, spawn
):
    """Three daemons once ran on one file, each claiming rows the others had stored."""
    config = emulated_config(commit=1)
    first = spawn(config)
    started = time.monotonic()
    second = subprocess.run(
        [sys.executable, str(REPO / "mcp_rms.py"), "--config", str(config)],
        capture_output=True, text=True, cwd=config.parent, timeout=60,
    )  # fmt: skip
    assert second.returncode == 1 and time.monotonic() - started < 30
    db = config.parent / "power.db"
    assert second.stderr.strip() == (
        f"Error: {db}: in use by pid {first.pid} (corcypower run); only one program may write "
        "it at a time: stop that one first (the daemon: sudo systemctl stop mcpd)"
    )
    assert first.poll() is None  # the first one goes on


def test_deleting_the_database_under_a_running_daemon_loses_nothing_pending(emulated_config, spawn):
    config = emulated_config(commit=3600)
    db = config.parent / "power.db"
    proc = spawn(config)
    wait_for_batches(db, 1)  # the first batch is committed at once
    for path in config.parent.glob("power.db*"):
        path.unlink()
    deleted_ms = time.time_ns() // 1_000_000
    # batches meanwhile, held in memory until the SIGTERM's commit: seen on the state API
    url = f"{proc.api}/api/v1/live?since={deleted_ms}&wait=5"
    deadline = time.monotonic() + 30
    while len(json.load(urllib.request.urlopen(url, timeout=10))["batches"]) < 3:
        assert time.monotonic() < deadline, "no batches after the deletion"
    proc.terminate()
    assert proc.wait(timeout=10) == 0
    log = proc.stderr.read()
    assert f"ERROR corcypower.store.writer: {db} was deleted while the daemon was running" in log
    written = int(re.search(r"stopped after \d+ batches; (\d+) rows written$", log, re.M)[1])
    stored = int(sqlite3_shell(db, "SELECT count(*) FROM batch")[0][0])
    assert (
        stored >= 2 and written == stored + 2
    )  # the 2 rows of the first commit went with the file
    assert sqlite3_shell(db, "PRAGMA integrity_check") == [["ok"]]


def test_the_daemons_api_serves_the_history_it_committed(emulated_config, spawn):
    config = emulated_config(commit=0.5)
    db = config.parent / "power.db"
    proc = spawn(config)
    wait_for_batches(db, 3)
    stored = sqlite3_shell(
        db,
        "SELECT b.ts - b.duration_ms, b.real_power_w FROM batch AS b JOIN channel AS c "
        "ON c.id = b.channel_id WHERE c.name = 'main' ORDER BY b.ts",
    )
    with urllib.request.urlopen(f"{proc.api}/api/v1/history?channel=main&start=-1h") as answer:
        doc = json.load(answer)
    [main] = doc["series"]
    assert doc["level"] == "raw" and main["unit"] == "W"
    assert main["ts"][: len(stored)] == [int(ts) for ts, _ in stored]  # and newer ones since
    assert main["mean"][: len(stored)] == pytest.approx([float(w) for _, w in stored], abs=1e-3)
