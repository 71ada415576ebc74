"""The whole house: this device and the others of `[dashboard] devices`, live and in history.

House is shared by every tab (Dashboard.house): the devices' pollers, and a small pool of
threads for history, so that no network call runs on the Bokeh IOLoop and a slow device holds
up nothing but its own line. History comes from each device's /api/v1/history (this one's
too: the same answer for every device), or, with `[dashboard] central_mysql = true`, from the
central database (export/central.py) for every point exporting there.

A device's history line is its total: the sum of its grid channels (what its state API says
they are; every current channel of a point the dashboard does not follow live), over the
buckets all of them have: a bucket missing from one channel is a gap, never a smaller sum.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from functools import reduce
from typing import Any
from urllib.parse import urlencode

import numpy as np
import pandas as pd

from corcypower.clock import Clock
from corcypower.dashboard.data import with_gaps
from corcypower.dashboard.devices import RemoteDevice, status
from corcypower.dashboard.poller import LivePoller
from corcypower.energy.zone import zone_name
from corcypower.errors import ConfigError, CorcyPowerError
from corcypower.live.remote import fetch_json
from corcypower.settings import Config

HISTORY_TIMEOUT_S = 60.0  # a device answers a year in about a second; a loaded one, in more
HISTORY_BYTES = 8_000_000  # store/series.py's cap, 60,000 buckets, is about 4 MB of JSON
# Rows of the central database one history of every point may read: its buckets grow coarser
# (down to days) as the fleet grows: 200 devices' month took 138 ms (docs/mysql.md#sizing)
CENTRAL_ROWS = 25_000
ENERGY_DAYS = 30
ENERGY_FRESH_MS = 60_000
TOP = 10


def wanted(config: Config) -> bool:
    """Whether the page has a house view: other devices, or the central database."""
    return bool(config["dashboard.devices"]) or config["dashboard.central_mysql"]


def central_settings(config: Config):
    """[export.mysql] as the house view reads it; ConfigError when central_mysql has no server."""
    from corcypower.export.config import from_config

    settings = from_config(config)
    if settings is None:
        raise ConfigError(
            f"{config.where}: [dashboard] central_mysql = true: expected [export.mysql] host "
            "(and its user and password) to read the central database from"
        )
    return settings


@dataclass
class Line:
    """A device's total power over time (ts ms UTC, W; NaN breaks the line at a gap), or why not."""

    name: str
    ts: np.ndarray
    watts: np.ndarray
    why: str = ""


@dataclass
class FleetEnergy:
    """Every point's days of the central database, added up per day, and yesterday's top."""

    days: pd.DataFrame  # day ('YYYY-MM-DD'), import_wh, export_wh, points (how many had data)
    top: pd.DataFrame  # point, import_wh, export_wh: the most imported first
    yesterday: str
    zone: str  # the days' zone: the central database's
    why: str = ""


def total(series: dict[str, tuple[np.ndarray, np.ndarray]], width_ms: float | None) -> tuple:
    """(ts, W): the sum of the series over the buckets all of them have, NaN after a bucket
    that is followed by a gap (more than 3 widths: data.GAP_STEPS)."""
    if not series:
        return np.empty(0), np.empty(0)
    common = reduce(np.intersect1d, [ts for ts, _ in series.values()])
    watts = sum(w[np.searchsorted(ts, common)] for ts, w in series.values())
    step = width_ms or (float(np.median(np.diff(common))) if len(common) > 2 else 0.0)
    ts, values = with_gaps(common.astype(float), {"w": np.asarray(watts, dtype=float)}, step)
    return ts, values["w"]


def device_line(name: str, doc: Any, grid: tuple[str, ...] | None) -> Line:
    """A device's total from its /api/v1/history answer; ValueError if it is not one."""
    if not isinstance(doc, dict) or not isinstance(doc.get("series"), list):
        raise ValueError("not a history answer (expected an object with series)")
    found: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    width = None
    for s in doc["series"]:
        if not isinstance(s, dict) or not isinstance(s.get("channel"), str):
            raise ValueError("a series without a channel")
        if s["kind"] != "current" or (grid is not None and s["channel"] not in grid):
            continue
        ts = np.asarray(s.get("ts"), dtype=float)
        mean = np.asarray(s.get("mean"), dtype=float)
        if ts.ndim != 1 or ts.shape != mean.shape or not np.all(np.isfinite(ts)):
            raise ValueError(f"{s['channel']}: ts and mean are not lists of numbers of one length")
        if len(ts) > 1 and np.any(np.diff(ts) <= 0):
            raise ValueError(f"{s['channel']}: ts not in order")
        found[s["channel"]] = (ts, mean)
        width = s.get("width_ms") if isinstance(s.get("width_ms"), int | float) else width
    if grid is not None and set(grid) - set(found):
        raise ValueError(f"no history of {', '.join(sorted(set(grid) - set(found)))}")
    return Line(name, *total(found, width))


class House:
    """The devices of the house as the dashboard follows them (started on first use)."""

    def __init__(
        self,
        config: Config,
        local: LivePoller,
        local_url: str,
        clock: Clock | None = None,
        threads: int = 4,
        fetch=fetch_json,
    ):
        self.clock = clock or Clock()
        self.stale_s = config["dashboard.stale_seconds"]
        self.local, self.local_url = local, local_url
        self.local_name, self.local_grid = config.device_name, config.grid_channels
        self.started_ms = self.clock.wall_ms()
        self.fetch = fetch
        self.remotes = [RemoteDevice(u, fetch, self.clock) for u in config["dashboard.devices"]]
        self.central = None
        if config["dashboard.central_mysql"]:
            from corcypower.export.central import Reader

            self.central = Reader(central_settings(config))
        self.lock = threading.Lock()
        self.energy_asked: tuple[int, Future] | None = None
        # threads=0: history read inline (a document built in a test, without a server)
        self.executor = ThreadPoolExecutor(threads, "dashboard-house") if threads else None

    def start(self) -> House:
        for device in self.remotes:
            device.start()
        return self

    def stop(self) -> None:
        for device in self.remotes:
            device.stop()
        if self.central is not None:
            self.central.close()
        if self.executor is not None:
            self.executor.shutdown(wait=False, cancel_futures=True)

    def statuses(self) -> list:
        """Every device now (this one first): DeviceStatus."""
        here = status(
            self.local,
            self.local_name,
            self.local_url,
            self.local_grid,
            self.stale_s,
            self.started_ms,
        )
        return [here] + [
            status(d, d.name, d.base, d.grid, self.stale_s, d.asked_ms) for d in self.remotes
        ]

    # --- history, on the house's threads ----------------------------------------------

    def submit(self, fn, *args) -> Future:
        """fn(*args) on a house thread (inline without threads); the future holds its result."""
        if self.executor is not None:
            return self.executor.submit(fn, *args)
        future: Future = Future()
        future.set_result(fn(*args))
        return future

    def history(self, start_ms: int, end_ms: int, points: int) -> list[Future]:
        """One future per device (or one for the central database) of a list of Lines."""
        if self.central is not None:
            return [self.submit(self.central_lines, start_ms, end_ms, points)]
        devices = [(self.local_name, self.local_url, self.local_grid)]
        devices += [(d.name, d.base, d.grid) for d in self.remotes]
        return [self.submit(self.device_lines, *d, start_ms, end_ms, points) for d in devices]

    def device_lines(self, name, url, grid, start_ms, end_ms, points) -> list[Line]:
        query = urlencode({"start": start_ms, "end": end_ms, "points": points})
        try:
            doc = self.fetch(f"{url}/api/v1/history?{query}", HISTORY_TIMEOUT_S, HISTORY_BYTES)
            return [device_line(name, doc, grid)]
        except (OSError, ValueError) as exc:
            return [Line(name, np.empty(0), np.empty(0), str(exc) or type(exc).__name__)]

    def central_lines(self, start_ms, end_ms, points) -> list[Line]:
        """Every point of the central database, each its grid channels' total when a device of
        that name is followed here, else all its channels'."""
        grids = {self.local_name: self.local_grid} | {d.name: d.grid for d in self.remotes}
        try:
            # means only: the lines draw no extremes
            frame = self.central.history(None, start_ms, end_ms, points, CENTRAL_ROWS, False)
        except CorcyPowerError as exc:
            return [Line("central database", np.empty(0), np.empty(0), str(exc))]
        lines = []
        for point, rows in frame.groupby("point", sort=True):
            grid = grids.get(point)
            series = {
                ch: (g["ts"].to_numpy(dtype=float), g["mean"].to_numpy(dtype=float))
                for ch, g in rows.groupby("channel")
                if grid is None or ch in grid
            }
            lines.append(Line(str(point), *total(series, None)))
        return lines

    def energy(self, end_ms: int) -> Future:
        """The central database's last ENERGY_DAYS days up to end_ms, in a future shared by
        every tab for ENERGY_FRESH_MS."""
        with self.lock:
            asked = self.energy_asked
            if asked is None or not 0 <= end_ms - asked[0] < ENERGY_FRESH_MS:
                self.energy_asked = (end_ms, self.submit(self.central_energy, end_ms))
            return self.energy_asked[1]

    def central_energy(self, end_ms: int) -> FleetEnergy:
        """Every point's daily energy (Reader.point_energy) added up per day, and the TOP
        points of yesterday (Reader.top_points), or why not.

        The days are the central database's (`corcypower mysql init --timezone`): rows of
        ChannelDay, a quick read for any fleet; days of another zone are sums of hours,
        seconds of the server's time for 200 devices (docs/mysql.md#sizing)."""
        empty = pd.DataFrame(columns=["day", "import_wh", "export_wh", "points"])
        try:
            zone = self.central.zone()
            each = self.central.point_energy(None, ENERGY_DAYS, end_ms, zone)
            days = each.groupby("day", as_index=False).agg(
                import_wh=("import_wh", "sum"),
                export_wh=("export_wh", "sum"),
                points=("point", "count"),
            )
            yesterday = pd.Timestamp(end_ms, unit="ms", tz=zone).date() - timedelta(days=1)
            top = self.central.top_points(yesterday, zone, TOP)
        except CorcyPowerError as exc:
            return FleetEnergy(empty, empty, "", "", str(exc))
        return FleetEnergy(days, top, yesterday.isoformat(), zone_name(zone))
