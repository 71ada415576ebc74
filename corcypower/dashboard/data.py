"""The data half of the dashboard: batches and database rows in, plain columns out. No Bokeh.

Bokeh draws datetimes as UTC. People read local time, with daylight saving, so every x the
page draws is "local wall-clock ms": ts (ms UTC) plus the UTC offset in force at ts. Stored
and streamed times stay ms UTC (the `ts` column); only x is shifted.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

import numpy as np

from corcypower.errors import ConfigError
from corcypower.settings import Config

# imported here, once, in the server's main thread: a first import of pandas racing between a
# query thread and Bokeh's own lazy import leaves one of them a half-initialised module
from corcypower.store.history import daily_energy, history

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
RANGES_MS = {
    "hour": HOUR_MS,
    "day": DAY_MS,
    "week": 7 * DAY_MS,
    "month": 30 * DAY_MS,
    "year": 365 * DAY_MS,
}
GAP_STEPS = 3  # buckets further apart than this many usual steps have a gap between them
HISTORY_POINTS = 1000  # per channel and view: more than a phone's pixels, little to send


# --- time ------------------------------------------------------------------------------


def local_zone(name: str | None = None) -> tzinfo:
    """dashboard.timezone, else $TZ, else /etc/localtime (a DST-aware zone), else UTC."""
    for candidate in (name, os.environ.get("TZ", "").lstrip(":")):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ValueError, KeyError, OSError):
                pass  # a POSIX TZ string ("CET-1CEST"): try the system's file
    try:
        real = os.path.realpath("/etc/localtime")
        if "/zoneinfo/" in real:
            return ZoneInfo(real.split("/zoneinfo/", 1)[1])
        with open("/etc/localtime", "rb") as f:
            return ZoneInfo.from_file(f, key="localtime")
    except (ValueError, KeyError, OSError):
        return UTC


def offset_ms(ts_ms: float, tz: tzinfo) -> int:
    """The UTC offset in force at ts_ms, in ms (+3_600_000 for CET, +7_200_000 for CEST)."""
    return int(datetime.fromtimestamp(ts_ms / 1000, tz).utcoffset() / timedelta(milliseconds=1))


def local_ms(ts_ms: float, tz: tzinfo) -> float:
    """ms UTC → local wall-clock ms, what a datetime axis should show for ts_ms."""
    return ts_ms + offset_ms(ts_ms, tz)


def utc_ms(wall_ms: float, tz: tzinfo) -> int:
    """The inverse of local_ms (in a DST overlap, the first of the two instants)."""
    guess = wall_ms - offset_ms(wall_ms, tz)
    return int(wall_ms - offset_ms(guess, tz))


def days_window(now_ms: float, tz: tzinfo, days: int) -> tuple[float, float]:
    """Local ms from the start of the day `days - 1` days ago to the end of today."""
    today = datetime.fromtimestamp(now_ms / 1000, tz).date()
    midnight = (today - datetime(1970, 1, 1).date()) / timedelta(milliseconds=1)
    return midnight - (days - 1) * DAY_MS, midnight + DAY_MS


def clock_text(ts_ms: float, tz: tzinfo) -> str:
    return datetime.fromtimestamp(ts_ms / 1000, tz).strftime("%Y-%m-%d %H:%M:%S %Z")


# --- what the page shows, from the config ---------------------------------------------------


@dataclass(frozen=True)
class View:
    """Which channels the page shows and how; the settings it draws with."""

    currents: tuple[str, ...]
    voltages: tuple[str, ...]
    grid: tuple[str, ...]  # the current channels that sum to the grid's power
    live_ms: int
    stale_s: float
    gauge_max_w: float
    price: float
    export_price: float
    currency: str

    @classmethod
    def from_config(cls, config: Config) -> View:
        currents = tuple(c.name for c in config.channels if c.kind == "current")
        grid = config.grid_channels
        live_ms = int(config["dashboard.live_minutes"] * 60_000)
        if live_ms > config["api.ring_seconds"] * 1000:
            raise ConfigError(
                f"{config.where}: [dashboard] live_minutes = "
                f"{config['dashboard.live_minutes']:g}: expected at most api.ring_seconds / 60 "
                f"= {config['api.ring_seconds'] / 60:g}"
            )
        return cls(
            currents,
            tuple(c.name for c in config.channels if c.kind == "voltage"),
            tuple(grid),
            live_ms,
            config["dashboard.stale_seconds"],
            config["dashboard.gauge_max_w"],
            config["tariff.price_per_kwh"],
            config["tariff.export_price_per_kwh"],
            config["tariff.currency"],
        )


# --- live: batches from the state API -------------------------------------------------------


def live_columns(view: View, batches: list[dict], tz: tzinfo) -> dict[str, list]:
    """Rows for the `live` source: ts (ms UTC, end of batch), x (local ms), W and V by channel."""
    cols: dict[str, list] = {"ts": [], "x": [], "total_w": []}
    cols |= {f"w_{n}": [] for n in view.currents} | {f"v_{n}": [] for n in view.voltages}
    for batch in batches:
        by_name = {c["name"]: c for c in batch["channels"]}
        cols["ts"].append(batch["ts"])
        cols["x"].append(local_ms(batch["ts"], tz))
        for n in view.currents:
            cols[f"w_{n}"].append(_get(by_name, n, "real_power_w"))
        for n in view.voltages:
            cols[f"v_{n}"].append(_get(by_name, n, "vrms"))
        grid = [w for n in view.grid if math.isfinite(w := _get(by_name, n, "real_power_w"))]
        cols["total_w"].append(sum(grid) if grid else math.nan)
    return cols


def _get(by_name: dict, name: str, key: str):
    value = by_name.get(name, {}).get(key)
    return math.nan if value is None else value


@dataclass
class Reading:
    """One big number block: a channel, or the total."""

    name: str
    kind: str  # "current", "voltage" or "total"
    watts: float | None = None
    amps: float | None = None
    volts: float | None = None
    pf: float | None = None
    hz: float | None = None
    flags: tuple[str, ...] = ()


def readings(view: View, batch: dict) -> list[Reading]:
    """The big numbers of a batch: the total first, then each channel."""
    out = []
    total_w = total_va = total_a = 0.0
    mains_v = None
    for ch in batch["channels"]:
        if ch["kind"] == "voltage":
            r = Reading(ch["name"], "voltage", volts=ch.get("vrms"), hz=ch.get("frequency_hz"))
            mains_v = mains_v if mains_v is not None else r.volts
        else:
            irms, va = ch.get("irms"), ch.get("apparent_power_va")
            # S = Vrms·Irms whatever the voltage's source (measured, fixed, remote, nominal)
            volts = va / irms if irms and va is not None and irms > 1e-6 else None
            r = Reading(
                ch["name"], "current", ch.get("real_power_w"), irms, volts, ch.get("power_factor")
            )
            if ch["name"] in view.grid:
                total_w += r.watts or 0.0
                total_va += va or 0.0
                total_a += irms or 0.0
                mains_v = mains_v if mains_v is not None else volts
        r.flags = tuple(ch.get("flags", ()))
        out.append(r)
    pf = total_w / total_va if total_va > 0 else None
    return [Reading("total", "total", total_w, total_a, mains_v, pf), *out]


# --- history and energy: the history store's queries ------------------------------------------


def history_columns(
    db, view: View, start_ms: int, end_ms: int, tz: tzinfo, points: int = HISTORY_POINTS
) -> dict[str, dict[str, list]]:
    """Per current channel: x (local ms of the bucket's start), mean, min and max W."""
    frame = history(db, list(view.currents), int(start_ms), int(end_ms), points)
    out = {}
    for name in view.currents:
        rows = frame[frame["channel"] == name]  # sorted by ts
        ts = rows["ts"].to_numpy(dtype=float)
        values = {k: rows[k].to_numpy(dtype=float) for k in ("mean", "min", "max")}
        if len(ts) > 2:  # a row of NaN one step after the last bucket before a gap breaks the line
            step = float(np.median(np.diff(ts)))
            gaps = np.flatnonzero(np.diff(ts) > GAP_STEPS * step)
            ts = np.insert(ts, gaps + 1, ts[gaps] + step)
            values = {k: np.insert(v, gaps + 1, np.nan) for k, v in values.items()}
        out[name] = {"x": [local_ms(t, tz) for t in ts]} | {
            k: v.tolist() for k, v in values.items()
        }
    return out


def daily_columns(db, view: View, end_ms: int, tz: tzinfo, days: int = 30) -> dict[str, list]:
    """Energy per local day over the grid channels: import up, export down (kWh), and cost."""
    frame = daily_energy(db, days=days, end_ms=end_ms, channels=list(view.grid), tz=tz)
    per_day = frame.groupby("day")[["import_wh", "export_wh"]].sum().sort_index()
    imported = (per_day["import_wh"] / 1000).tolist()
    exported = (per_day["export_wh"] / 1000).tolist()
    days_ = per_day.index.tolist()
    return {
        "day": days_,
        # noon, local: the middle of the bar
        "x": [
            (datetime.fromisoformat(d) - datetime(1970, 1, 1)) / timedelta(milliseconds=1)
            + DAY_MS / 2
            for d in days_
        ],
        "import_kwh": imported,
        "export_kwh": [-e for e in exported],
        "cost": [
            i * view.price - e * view.export_price for i, e in zip(imported, exported, strict=True)
        ],
    }
