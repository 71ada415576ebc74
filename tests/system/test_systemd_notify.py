"""sd_notify over a real AF_UNIX datagram socket, the watchdog's rule, and the daemon's hooks."""

from __future__ import annotations

import logging
import os
import socket
import sqlite3
import threading

import pytest

from corcypower import settings
from corcypower.adc.chips import open_transports
from corcypower.clock import FakeClock
from corcypower.daemon import Daemon
from corcypower.systemd import (
    JournalFormatter,
    Notifier,
    Watchdog,
    under_journal,
    watchdog_seconds,
)


@pytest.fixture
def listener(tmp_path):
    """A datagram socket where systemd would listen; recv() returns the next message."""
    path = str(tmp_path / "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(10)
    yield path, lambda: sock.recv(4096).decode()
    sock.close()


def test_messages_arrive_as_systemd_reads_them(listener):
    path, recv = listener
    notifier = Notifier(path)
    assert notifier.ready("sampling 2 channels")
    assert recv() == "READY=1\nSTATUS=sampling 2 channels"
    notifier.watchdog()
    assert recv() == "WATCHDOG=1"
    notifier.status("last minute: main 230 W")
    assert recv() == "STATUS=last minute: main 230 W"
    notifier.stopping()
    assert recv() == "STOPPING=1"


def test_an_abstract_socket_name_starts_with_at():
    name = f"corcypower-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(10)
        assert Notifier("@" + name).watchdog()
        assert sock.recv(100) == b"WATCHDOG=1"


def test_outside_systemd_nothing_is_sent():
    notifier = Notifier.from_env({})
    assert not notifier.enabled and notifier.watchdog_s is None
    assert notifier.ready() is False and notifier.sent == []


def test_a_missing_socket_is_logged_once_and_never_raises(tmp_path, caplog):
    notifier = Notifier(str(tmp_path / "gone"))
    with caplog.at_level(logging.WARNING):
        assert notifier.watchdog() is False
        assert notifier.watchdog() is False
    assert len([r for r in caplog.records if "cannot notify systemd" in r.message]) == 1


@pytest.mark.parametrize(
    "env, seconds",
    [
        ({"WATCHDOG_USEC": "60000000"}, 60.0),
        ({"WATCHDOG_USEC": "60000000", "WATCHDOG_PID": str(os.getpid())}, 60.0),
        ({"WATCHDOG_USEC": "60000000", "WATCHDOG_PID": "1"}, None),  # for another process
        ({"WATCHDOG_USEC": "0"}, None),
        ({"WATCHDOG_USEC": "soon"}, None),
        ({}, None),
    ],
)
def test_watchdog_interval_from_the_environment(env, seconds):
    assert watchdog_seconds(env) == seconds
    assert Notifier.from_env({"NOTIFY_SOCKET": "/run/x", **env}).watchdog_s == seconds


def test_the_watchdog_pings_only_after_progress_and_at_most_4_times_per_period():
    clock = FakeClock()
    notifier = Notifier(None, watchdog_s=8.0)  # a ping is due every 2 s at most
    watchdog = Watchdog(notifier, clock.monotonic)
    assert not watchdog.tick((0, 0))  # where the daemon starts: no batch yet, no ping
    assert not watchdog.tick((0, 0))
    assert watchdog.tick((1, 0))  # the first batch: ping
    clock.now += 1
    assert not watchdog.tick((2, 0))  # progress, but too soon
    clock.now += 1
    assert watchdog.tick((2, 0))  # the progress above is still owed a ping
    for _ in range(10):  # acquisition hangs: the loop spins on, the token stays the same
        clock.now += 3
        assert not watchdog.tick((2, 0))
    assert watchdog.tick((2, 1))  # an SPI error retried with backoff is progress too
    assert watchdog.pings == 3


def test_without_a_watchdog_tick_does_nothing():
    watchdog = Watchdog(Notifier(None), FakeClock().monotonic)
    assert not watchdog.tick((1, 0)) and watchdog.pings == 0


def test_journal_lines_carry_their_syslog_priority():
    formatter = JournalFormatter("%(levelname)s %(message)s")
    record = logging.LogRecord("x", logging.WARNING, __file__, 1, "clipped\nsecond line", (), None)
    assert formatter.format(record) == "<4>WARNING clipped\n<4>second line"
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "last minute", (), None)
    assert formatter.format(record) == "<6>INFO last minute"


def test_under_journal_compares_the_stream_with_stderr(tmp_path):
    with open(tmp_path / "stream", "w") as f:
        st = os.fstat(f.fileno())
        assert under_journal({"JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"}, f.fileno())
        assert not under_journal({"JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino + 1}"}, f.fileno())
        assert not under_journal({}, f.fileno())
        assert not under_journal({"JOURNAL_STREAM": "garbage"}, f.fileno())


# --- the daemon's hooks ------------------------------------------------------------------


class CountingClock(FakeClock):
    """A FakeClock that counts how often it is read: the main loop reads it every turn."""

    def __init__(self):
        super().__init__()
        self.reads = 0
        self.changed = threading.Condition()

    def monotonic(self) -> float:
        with self.changed:
            self.reads += 1
            self.changed.notify_all()
        return super().monotonic()

    def wait_reads(self, more: int) -> None:
        with self.changed:
            target = self.reads + more
            assert self.changed.wait_for(lambda: self.reads >= target, timeout=30)


class HangingTransport:
    """A transport whose read blocks, as a stuck SPI ioctl would, after `after` reads."""

    def __init__(self, inner, after: int):
        self.inner, self.after, self.reads = inner, after, 0
        self.hung = threading.Event()
        self.release = threading.Event()

    def read(self, tx):
        self.reads += 1
        if self.reads > self.after:
            self.hung.set()
            self.release.wait()
        return self.inner.read(tx)

    def __getattr__(self, name):
        return getattr(self.inner, name)


def test_the_daemon_is_ready_once_stored_pings_while_sampling_and_stops_when_hung(
    emulated_config, listener
):
    path, recv = listener
    config = settings.load(emulated_config())
    clock = CountingClock()
    transport = HangingTransport(open_transports(config, clock)[0], after=40)
    daemon = Daemon(config, clock, transports={0: transport})
    daemon.notifier = Notifier(path, watchdog_s=2.0)
    stop = threading.Event()
    thread = threading.Thread(target=daemon.run, args=(stop,))
    thread.start()
    try:
        first = recv()
        assert first.startswith("READY=1\nSTATUS=sampling 2 channels")
        # ready means stored: the first batch is in the file already, not in a minute
        with sqlite3.connect(f"file:{config.db_path}?mode=ro", uri=True) as conn:
            assert conn.execute("SELECT count(*) FROM batch").fetchone()[0] >= 2
        assert recv() == "WATCHDOG=1"

        assert transport.hung.wait(timeout=30)
        clock.wait_reads(20)  # the batches read before the hang are processed
        clock.now += 10  # long past the ping interval: a ping owed for them goes out now
        clock.wait_reads(6)
        sent = len(daemon.notifier.sent)
        clock.now += 10
        clock.wait_reads(6)  # the loop keeps turning, but nothing arrives: no more pings
        assert "WATCHDOG=1" not in daemon.notifier.sent[sent:]
        assert daemon.notifier.sent.count("WATCHDOG=1") >= 1
    finally:
        transport.release.set()
        stop.set()
        thread.join(timeout=10)
    assert daemon.notifier.sent[-1] == "STOPPING=1"


def test_the_daemon_process_talks_to_systemd_as_a_notify_service(
    emulated_config, listener, tmp_path
):
    """`corcypower run` as systemd starts it: $NOTIFY_SOCKET, $WATCHDOG_USEC, $JOURNAL_STREAM."""
    import signal
    import subprocess
    import sys

    from tests.helpers import REPO

    path, recv = listener
    config = emulated_config()
    log_path = tmp_path / "journal"
    with open(log_path, "w") as log_file:
        st = os.fstat(log_file.fileno())
        env = dict(
            os.environ,
            NOTIFY_SOCKET=path,
            WATCHDOG_USEC="2000000",
            JOURNAL_STREAM=f"{st.st_dev}:{st.st_ino}",
        )
        proc = subprocess.Popen(
            [sys.executable, str(REPO / "mcp_rms.py"), "--config", str(config)],
            stderr=log_file,
            env=env,
            cwd=tmp_path,
        )
        try:
            assert recv().startswith("READY=1\nSTATUS=sampling 2 channels")
            assert recv() == "WATCHDOG=1"
            proc.send_signal(signal.SIGTERM)
            while (message := recv()) == "WATCHDOG=1":
                pass
            assert message == "STOPPING=1"
            assert proc.wait(timeout=10) == 0
        finally:
            proc.kill()
    lines = log_path.read_text().splitlines()
    assert lines and all(line.startswith("<") for line in lines), lines  # "<6>INFO ...": a level
    assert any(line.startswith("<6>INFO corcypower.daemon: sampling 2 channels") for line in lines)


def test_journal_warnings_say_what_to_check(emulated_config):
    from corcypower.daemon import MinuteSummary

    config = settings.load(
        emulated_config({"emulator": "flat_channels = [1]\nclip_channels = [0]"})
    )
    daemon = Daemon(config, FakeClock())
    daemon.open_store()
    summary = MinuteSummary(config)
    while summary.batches < 3:
        for raw in daemon.acquisition.read_once():
            summary.add(raw.duration_ms, daemon.process(raw))
    warnings = summary.warnings()
    # the emulated chip has no adapter or burden resistor: the advice names its settings
    assert any(
        w.startswith("mains_v (voltage) flat: the emulated chip leaves this input unconnected")
        and "emulator.flat_channels" in w
        for w in warnings
    ), warnings
    assert any(
        w.startswith("main (current) clipped: ") and "emulator.clip_channels" in w for w in warnings
    )
    assert not any("adapter" in w or "burden" in w for w in warnings)
    # on a real chip the same flags say what to check on the wiring
    config.values["adc.chip"] = "mcp3208"
    real = MinuteSummary(config)
    real.flags = dict(summary.flags)
    warnings = real.warnings()
    assert any(
        w.startswith("mains_v (voltage) flat: no mains waveform: check the AC-AC adapter")
        for w in warnings
    ), warnings
    assert any(
        w.startswith("main (current) clipped: ") and "smaller burden resistor" in w
        for w in warnings
    )
