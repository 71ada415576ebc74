"""The daemon as users run it, `python mcp_rms.py --config FILE`, for the MQTT tests."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from tests.helpers import REPO

# what the test daemon (device "testpi", a voltage and a current channel) publishes
PREFIX = "corcypower/testpi"
DISCOVERY = "homeassistant/sensor/corcypower_testpi"
SENSORS = {
    "channel_mains_v_voltage",
    "channel_mains_v_frequency",
    "channel_main_power",
    "channel_main_current",
    "channel_main_power_factor",
    "channel_main_energy_imported",
    "channel_main_energy_exported",
    "total_power",
    "total_energy_imported",
    "total_energy_exported",
}
STATES = {
    f"{PREFIX}/channel/mains_v/state",
    f"{PREFIX}/channel/main/state",
    f"{PREFIX}/channel/main/energy",
    f"{PREFIX}/total/state",
    f"{PREFIX}/total/energy",
}


class Daemon:
    """A running daemon; its log in daemon.log beside the config."""

    def __init__(self, config: Path):
        self.config = config
        self.db = config.parent / "power.db"
        self.log = config.parent / "daemon.log"
        self.start()

    def start(self) -> None:
        with open(self.log, "a") as log:
            self.proc = subprocess.Popen(
                [sys.executable, str(REPO / "mcp_rms.py"), "--config", str(self.config)],
                stderr=log,
                cwd=self.config.parent,
            )

    def stop(self, sig=signal.SIGTERM, timeout: float = 30.0) -> int:
        self.proc.send_signal(sig)
        return self.proc.wait(timeout=timeout)

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def text(self) -> str:
        return self.log.read_text()

    def query(self, sql: str, params=()) -> list[tuple]:
        with sqlite3.connect(f"file:{self.db}?mode=ro", uri=True) as conn:
            return conn.execute(sql, params).fetchall()

    def batches(self) -> int:
        """Batches stored so far (0 while the database is being created)."""
        try:
            return self.query("SELECT count(DISTINCT ts) FROM batch")[0][0]
        except sqlite3.OperationalError:
            return 0

    def energy_total(self) -> dict[str, tuple[float, float]]:
        """The energy_total view, as the sqlite3 shell shows it: kWh by channel."""
        return {
            c: (i, e)
            for c, i, e in self.query("SELECT channel, import_kwh, export_kwh FROM energy_total")
        }

    def wait_until(self, what: str, check, timeout: float = 30.0):
        deadline = time.monotonic() + timeout
        while not (found := check()):
            assert self.proc.poll() is None, f"the daemon exited:\n{self.text()[-3000:]}"
            assert time.monotonic() < deadline, (
                f"no {what} after {timeout} s:\n{self.text()[-3000:]}"
            )
            time.sleep(0.1)
        return found
