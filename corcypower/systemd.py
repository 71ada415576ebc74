"""Talking to systemd: sd_notify (READY, WATCHDOG, STOPPING, STATUS) and journal log levels.

The protocol is one datagram of `KEY=value` lines to the AF_UNIX socket named by
$NOTIFY_SOCKET (a leading "@" is Linux's abstract namespace), so the standard library is
enough. Outside systemd $NOTIFY_SOCKET is unset and every call does nothing.

The watchdog asks for proof of life, not of a running loop: the daemon pings only while
batches keep arriving (or the SPI layer is visibly retrying), so a read that hangs in the
kernel stops the pings and systemd restarts the service after WatchdogSec=.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Hashable, Mapping

log = logging.getLogger(__name__)


class Notifier:
    """Sends sd_notify messages; a no-op when not started by systemd with Type=notify."""

    def __init__(self, address: str | None = None, watchdog_s: float | None = None):
        self.address = address
        self.watchdog_s = watchdog_s  # systemd's WatchdogSec=, None when off
        self.sent: list[str] = []  # what was sent, for logs and tests
        self._failed = False

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Notifier:
        env = os.environ if env is None else env
        return cls(env.get("NOTIFY_SOCKET") or None, watchdog_seconds(env))

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def notify(self, message: str) -> bool:
        """Send one message; False (and one log line) if the socket cannot be reached."""
        if self.address is None:
            return False
        address = "\0" + self.address[1:] if self.address.startswith("@") else self.address
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.sendto(message.encode(), address)
        except OSError as exc:
            if not self._failed:  # once: a broken socket must not flood the journal
                log.warning("cannot notify systemd at %s: %s", self.address, exc)
                self._failed = True
            return False
        self.sent.append(message)
        return True

    def ready(self, status: str = "") -> bool:
        return self.notify("READY=1" + (f"\nSTATUS={status}" if status else ""))

    def status(self, text: str) -> bool:
        return self.notify(f"STATUS={text}")

    def watchdog(self) -> bool:
        return self.notify("WATCHDOG=1")

    def stopping(self) -> bool:
        return self.notify("STOPPING=1")


def watchdog_seconds(env: Mapping[str, str]) -> float | None:
    """WatchdogSec= of this service (from $WATCHDOG_USEC), None when there is no watchdog.

    $WATCHDOG_PID, when set, names the process the watchdog is for (sd_watchdog_enabled(3)).
    """
    usec = env.get("WATCHDOG_USEC")
    pid = env.get("WATCHDOG_PID")
    if not usec:
        return None
    if pid and pid != str(os.getpid()):
        return None
    try:
        value = int(usec)
    except ValueError:
        return None
    return value / 1e6 if value > 0 else None


class Watchdog:
    """Pings the watchdog when there was progress since the last ping, at most 4 per WatchdogSec.

    `tick(progress)` is called from the main loop with something that changes whenever the
    daemon moves forward (batch and SPI-error counters); a loop that spins while acquisition
    hangs sees the same token every time and so stays silent.
    """

    def __init__(self, notifier: Notifier, monotonic: Callable[[], float]):
        self.notifier = notifier
        self.monotonic = monotonic
        self.interval = notifier.watchdog_s / 4 if notifier.watchdog_s else None
        self.last_ping: float | None = None
        self.last_token: Hashable = None
        self.progress = False
        self.pings = 0

    def tick(self, token: Hashable) -> bool:
        """True if a ping was sent."""
        if self.interval is None:
            return False
        if self.last_ping is None and self.last_token is None:
            self.last_token = token  # where the daemon starts from: not progress yet
            return False
        if token != self.last_token:
            self.last_token = token
            self.progress = True
        now = self.monotonic()
        if not self.progress or (
            self.last_ping is not None and now - self.last_ping < self.interval
        ):
            return False
        self.notifier.watchdog()
        self.last_ping = now
        self.progress = False
        self.pings += 1
        return True


# syslog priorities (sd-daemon(3)): systemd reads a "<N>" prefix on each stderr line
PRIORITIES = {
    logging.DEBUG: 7,
    logging.INFO: 6,
    logging.WARNING: 4,
    logging.ERROR: 3,
    logging.CRITICAL: 2,
}


class JournalFormatter(logging.Formatter):
    """Prefixes every line with its syslog priority, so `journalctl -p warning` finds warnings."""

    def format(self, record: logging.LogRecord) -> str:
        priority = PRIORITIES.get(record.levelno, 6)
        text = super().format(record)
        return "\n".join(f"<{priority}>{line}" for line in text.splitlines())


def under_journal(env: Mapping[str, str] | None = None, fd: int = 2) -> bool:
    """Whether `fd` (stderr) is the journal stream systemd gave this process ($JOURNAL_STREAM)."""
    env = os.environ if env is None else env
    try:
        dev, ino = (int(part) for part in env.get("JOURNAL_STREAM", "").split(":"))
        st = os.fstat(fd)
    except (ValueError, OSError):
        return False
    return (st.st_dev, st.st_ino) == (dev, ino)
