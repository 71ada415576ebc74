"""Cumulative energy per current channel as committed in power.db: what may be published.

Home Assistant reads a fall of a `total_increasing` sensor as a new meter and counts the new
value all over again, so a total that leaves the device must never go backwards, not even
across a crash. A crash loses the rows not yet committed (store.commit_seconds), so only
committed energy is ever shown: the `energy_total` view (kWh to the Wh, kept forever), read
through a read-only connection of its own. It lags the live power by at most commit_seconds;
a clean stop commits everything first. Within a process, each total is also held at its
highest value, so nothing (a rebuild, a replaced file) can make it step back.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from pathlib import Path
from typing import NamedTuple

from corcypower.errors import StoreError
from corcypower.store.database import Database

log = logging.getLogger(__name__)


class Energy(NamedTuple):
    """kWh drawn from the grid and sent to it since the database began."""

    import_kwh: float
    export_kwh: float


class EnergyTotals:
    """The committed totals of a power.db, re-read only when another connection committed."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.until_ms: int | None = None  # the end of the newest committed batch
        self._lock = threading.Lock()
        self._db: Database | None = None
        self._file: tuple[int, int] | None = None  # the (device, inode) the connection reads
        self._version: int | None = None
        self._totals: dict[str, Energy] | None = None
        self._error: str | None = None

    def __enter__(self) -> EnergyTotals:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            self._disconnect()

    def read(self) -> dict[str, Energy] | None:
        """kWh per current channel, never below an earlier answer; None until power.db is read.

        Thread-safe. While the file cannot be read, the last totals are returned (never zeros,
        which Home Assistant would take for a new meter).
        """
        with self._lock:
            try:
                self._refresh()
            except (sqlite3.Error, StoreError, OSError) as exc:
                # before the first answer, the daemon may still be creating the file
                level = logging.DEBUG if self._totals is None else logging.WARNING
                if str(exc) != self._error:
                    log.log(level, "cannot read the energy totals in %s: %s", self.path, exc)
                self._error = str(exc)
                self._disconnect()
            else:
                self._error = None
            return None if self._totals is None else dict(self._totals)

    def _refresh(self) -> None:
        stat = os.stat(self.path)  # a file replaced at the path is a new file to read
        if self._db is None or self._file != (stat.st_dev, stat.st_ino):
            self._disconnect()
            self._db = Database(self.path, read_only=True, timeout=5.0)
            self._file = (stat.st_dev, stat.st_ino)
        version = self._db.query("PRAGMA data_version")[0][0]
        if version == self._version:
            return  # nothing committed since the last answer
        rows = self._db.query("SELECT channel, import_kwh, export_kwh FROM energy_total")
        until = self._db.query("SELECT max(end_ms) FROM span")[0][0]
        if until is None:
            return  # the daemon has registered its channels but committed no batch yet
        old = self._totals or {}
        new = {r[0]: Energy(r[1] or 0.0, r[2] or 0.0) for r in rows}
        zero = Energy(0.0, 0.0)
        self._totals = {
            name: Energy(*map(max, old.get(name, zero), new.get(name, zero))) for name in old | new
        }
        self.until_ms = (
            until if self.until_ms is None or until is None else max(until, self.until_ms)
        )
        self._version = version

    def _disconnect(self) -> None:
        if self._db is not None:
            self._db.close()
        self._db = self._file = self._version = None
