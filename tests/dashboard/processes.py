"""The monitor and the dashboard as users run them: real processes, their output watched."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import tomlkit

from tests.dashboard.helpers import CHANNELS, free_port


def write_config(
    tmp_path: Path, stale: float = 3.0, timezone: str = "Europe/Paris", rate_hz: int | None = None
) -> tuple[Path, int, int]:
    """An emulated-chip config (the channels of helpers.py) with free ports, sampling at
    `rate_hz` (None: the daemon's default); (path, api port, page port)."""
    api_port, dashboard_port = free_port(), free_port()
    data = {
        "adc": {"chip": "emulated"} | ({"sample_rate_hz": rate_hz} if rate_hz else {}),
        "emulator": {"chip": "mcp3208"},
        "store": {"path": str(tmp_path / "power.db"), "commit_seconds": 2},
        "api": {"port": api_port},
        "dashboard": {
            "port": dashboard_port,
            "stale_seconds": stale,
            "grid_channels": ["main"],
            "solar_channels": ["solar"],
            "timezone": timezone,
        },
        "tariff": {"price_per_kwh": 0.25},
        "channels": CHANNELS,
    }
    path = tmp_path / "config.toml"
    path.write_text(tomlkit.dumps(data))
    return path, api_port, dashboard_port


class Process:
    """A command in the background; every line it prints is kept."""

    def __init__(self, argv: list[str], cwd: Path | None = None, env: dict | None = None):
        self.proc = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=cwd, env=env
        )
        self.lines: list[str] = []
        self.closed = False  # its output has ended (it exited)
        self._new = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            with self._new:
                self.lines.append(line)
                self._new.notify_all()
        with self._new:
            self.closed = True
            self._new.notify_all()

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_for(self, pattern: str, seconds: float = 60.0) -> re.Match:
        """The first printed line matching `pattern`; fails if the process exits first."""
        deadline = time.monotonic() + seconds
        with self._new:
            while True:
                for line in self.lines:
                    if m := re.search(pattern, line):
                        return m
                if self.closed:
                    raise AssertionError(f"exited before printing {pattern!r}:\n{self.output}")
                if time.monotonic() > deadline:
                    raise AssertionError(f"no {pattern!r} after {seconds} s:\n{self.output}")
                self._new.wait(0.5)

    # a daemon stopping commits what it holds: seconds on a loaded machine, so a generous bound
    def stop(self, sig: int = signal.SIGTERM, seconds: float = 120.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.proc.wait(seconds)


def corcypower(*args: str, cwd: Path | None = None) -> Process:
    """`corcypower ARGS`, as a user runs it."""
    return Process([sys.executable, "-m", "corcypower", *args], cwd=cwd)


@contextmanager
def page_stack(config: Path, port: int, channels: int) -> Iterator[dict]:
    """`corcypower run` and `corcypower dashboard` on `config` (in its folder), and a headless
    Chromium: {"browser", "url", "daemon", "dashboard"}, all stopped afterwards."""
    from playwright.sync_api import sync_playwright

    from tests.dashboard.browser import launch

    daemon = corcypower("run", "--config", str(config), cwd=config.parent)
    dashboard = corcypower("dashboard", "--config", str(config), cwd=config.parent)
    try:
        url = dashboard.wait_for(r"CorcyPower dashboard: (http://\S+)").group(1)
        assert url == f"http://localhost:{port}/"
        daemon.wait_for(f"sampling {channels} channels")
        with sync_playwright() as playwright:
            browser = launch(playwright)
            try:
                yield {"browser": browser, "url": url, "daemon": daemon, "dashboard": dashboard}
            finally:
                browser.close()
    finally:
        try:
            daemon.stop()
        finally:
            dashboard.stop()
