"""The dashboard's shared state, loaded once per server process, and `make_document`.

Every browser tab gets a Page (page.py); they all share one Dashboard: the config, one
poller of the daemon's live API, and a small pool of threads that query power.db, each with
its own read-only connection, so a year-long query never holds up the live streams.
Pages import this module, never the other way round.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from corcypower import settings
from corcypower.clock import Clock
from corcypower.dashboard.data import View
from corcypower.dashboard.house import House, central_settings
from corcypower.dashboard.poller import LivePoller
from corcypower.energy.tariff import Tariff
from corcypower.energy.zone import local_zone
from corcypower.errors import CorcyPowerError
from corcypower.live.address import local_url
from corcypower.settings import Config

log = logging.getLogger(__name__)


def default_state_url(config: Config) -> str:
    """dashboard.state_url, else the daemon's own API address (seen from this machine)."""
    if config["dashboard.state_url"]:
        return config["dashboard.state_url"]
    return local_url(config["api.bind"], config["api.port"], "")


class Dashboard:
    """What every session of one server shares."""

    def __init__(
        self,
        config: Config,
        poller: LivePoller | None = None,
        threads: int = 2,
        clock: Clock | None = None,
    ):
        self.config = config
        self.view = View.from_config(config)
        self.tariff = Tariff.from_config(config)
        self.clock = clock or Clock()
        self.tz = local_zone(config["dashboard.timezone"])
        self.state_url = default_state_url(config)
        self.poller = poller or LivePoller(self.state_url, self.view.live_ms)
        if config["dashboard.central_mysql"]:
            central_settings(config)  # a missing server is an error now, not on the first page
        self.batch_ms = config["adc.batch_seconds"] * 1000
        self.db_path = config.db_path
        # threads=0: queries run inline (a document built in a test, without a server)
        self.executor = ThreadPoolExecutor(threads, "dashboard-db") if threads else None
        self._local = threading.local()
        # the optional BokehJS bundles the page does without (learnt from the first page)
        self.unused_bundles: list[str] | None = None
        self._once: dict[str, tuple[list, Any]] = {}
        self._house = None
        self._house_lock = threading.Lock()

    def once(self, batches: list, key: str, make: Callable[[list], Any]) -> Any:
        """make(batches), made once per key for the list of batches the poller hands every tab.

        Tabs take batches on the server's one IOLoop thread, one after another, so one slot
        per key is enough; it holds the list itself, so identity cannot be reused meanwhile.
        """
        slot = self._once.get(key)
        if slot is None or slot[0] is not batches:
            slot = self._once[key] = (batches, make(batches))
        return slot[1]

    def start(self) -> Dashboard:
        self.poller.start()
        return self

    @property
    def house(self):
        """The other devices of the house (house.py), followed from the first page showing them."""
        with self._house_lock:
            if self._house is None:
                threads = 4 if self.executor is not None else 0
                self._house = House(self.config, self.poller, self.state_url, self.clock, threads)
                self._house.start()
            return self._house

    def stop(self) -> None:
        self.poller.stop()
        if self._house is not None:
            self._house.stop()
        if self.executor is not None:
            self.executor.shutdown(wait=False, cancel_futures=True)

    def _db(self):
        from corcypower.store.database import Database

        db = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = Database(self.db_path, read_only=True)
        return db

    def query(self, fn: Callable[[Any], Any]) -> Future:
        """fn(db) on a query thread; the future holds its result, or a text saying why not."""
        future: Future = Future()

        def work():
            try:
                future.set_result(fn(self._db()))
            except (CorcyPowerError, sqlite3.Error) as exc:
                self._local.db = None  # the file may appear, or come back, later
                future.set_result(QueryFailed(str(exc)))
            except Exception as exc:  # a bug: say so on the page, and in the log
                log.exception("dashboard query failed")
                future.set_result(QueryFailed(f"query failed: {exc}"))

        if self.executor is None:
            work()
        else:
            self.executor.submit(work)
        return future


class QueryFailed(str):
    """Why history could not be read (no database yet, say): shown on the page."""


_shared: Dashboard | None = None
_shared_lock = threading.Lock()


def shared(config: Config | None = None) -> Dashboard:
    """The one Dashboard of this server process, created (and its poller started) on first use."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = Dashboard(config or settings.load()).start()
        return _shared
