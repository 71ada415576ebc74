"""The data half of the dashboard: batches, database rows and accounts in, plain columns out.
No Bokeh.

Bokeh draws datetimes as UTC. People read local time, with daylight saving, so every x the
page draws is "local wall-clock ms": ts (ms UTC) plus the UTC offset in force at ts. Stored
and streamed times stay ms UTC (the `ts` column); only x is shifted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, tzinfo

import numpy as np

from corcypower.energy.account import Account, Wiring
from corcypower.energy.zone import local_ms
from corcypower.errors import ConfigError
from corcypower.settings import Config

# imported here, once, in the server's main thread: a first import of pandas racing between a
# query thread and Bokeh's own lazy import leaves one of them a half-initialised module
from corcypower.store.history import history

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


def clock_text(ts_ms: float, tz: tzinfo) -> str:
    return datetime.fromtimestamp(ts_ms / 1000, tz).strftime("%Y-%m-%d %H:%M:%S %Z")


# --- what the page shows, from the config ---------------------------------------------------


@dataclass(frozen=True)
class View:
    """Which channels the page shows and how; the settings it draws with."""

    currents: tuple[str, ...]
    voltages: tuple[str, ...]
    wiring: Wiring
    live_ms: int
    stale_s: float
    gauge_max_w: float

    @property
    def grid(self) -> tuple[str, ...]:
        """The current channels that sum to the grid's power."""
        return self.wiring.grid

    @classmethod
    def from_config(cls, config: Config) -> View:
        live_ms = int(config["dashboard.live_minutes"] * 60_000)
        if live_ms > config["api.ring_seconds"] * 1000:
            raise ConfigError(
                f"{config.where}: [dashboard] live_minutes = "
                f"{config['dashboard.live_minutes']:g}: expected at most api.ring_seconds / 60 "
                f"= {config['api.ring_seconds'] / 60:g}"
            )
        return cls(
            tuple(c.name for c in config.channels if c.kind == "current"),
            tuple(c.name for c in config.channels if c.kind == "voltage"),
            Wiring.from_config(config),
            live_ms,
            config["dashboard.stale_seconds"],
            config["dashboard.gauge_max_w"],
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


# --- history: the history store's query -------------------------------------------------------


def history_columns(
    db, view: View, start_ms: int, end_ms: int, tz: tzinfo, points: int = HISTORY_POINTS
) -> dict[str, dict[str, list]]:
    """Per current channel: x (local ms of the bucket's start), mean, min and max W.

    The store's level holds `points` to ~20 times as many buckets; neighbours are merged
    here (means averaged, the band's extremes kept) so a phone gets `points` to 2 x `points`.
    """
    frame = history(db, list(view.currents), int(start_ms), int(end_ms), points)
    out = {}
    for name in view.currents:
        rows = frame[frame["channel"] == name]  # sorted by ts
        ts = rows["ts"].to_numpy(dtype=float)
        values = {k: rows[k].to_numpy(dtype=float) for k in ("mean", "min", "max")}
        step = float(np.median(np.diff(ts))) if len(ts) > 2 else 0.0
        if len(ts) >= 2 * points and step > 0:
            ts, values, step = merge(ts, values, step * (len(ts) // points))
        ts, values = with_gaps(ts, values, step)
        out[name] = {"x": [local_ms(t, tz) for t in ts]} | {
            k: v.tolist() for k, v in values.items()
        }
    return out


def with_gaps(ts: np.ndarray, values: dict[str, np.ndarray], step: float):
    """(ts, values) with a row of NaN one step after the last bucket before each gap (buckets
    more than GAP_STEPS steps apart): the line breaks there instead of bridging it."""
    if len(ts) <= 2 or step <= 0:
        return ts, values
    gaps = np.flatnonzero(np.diff(ts) > GAP_STEPS * step)
    ts = np.insert(ts, gaps + 1, ts[gaps] + step)
    return ts, {k: np.insert(v, gaps + 1, np.nan) for k, v in values.items()}


def merge(ts: np.ndarray, values: dict[str, np.ndarray], width: float):
    """Buckets merged into buckets of `width` ms (aligned to the epoch): mean of the means,
    min of the mins, max of the maxes. Returns (ts, values, width)."""
    key = np.floor(ts / width)
    starts, first = np.unique(key, return_index=True)
    counts = np.diff(np.append(first, len(ts)))
    merged = {
        "mean": np.add.reduceat(values["mean"], first) / counts,
        "min": np.minimum.reduceat(values["min"], first),
        "max": np.maximum.reduceat(values["max"], first),
    }
    return starts * width, merged, width


# --- energy: an account's bars ------------------------------------------------------------------


def energy_columns(a: Account, tz: tzinfo) -> dict[str, list]:
    """The bars of an account: x (local ms, middle of the bar), width, and kWh per series.

    Circuits are `c_<name>` and `untracked` (stacked); import up, export down, solar.
    """
    lo = np.array([local_ms(e, tz) for e in a.edges[:-1]])
    hi = np.array([local_ms(e, tz) for e in a.edges[1:]])
    if a.bars == "hour":  # an hour is an hour, even the one a clock change repeats
        hi = lo + HOUR_MS
    unmeasured = a.measured_h <= 0  # the future, or a gap: no bar rather than a bar of 0

    def bars(kwh: np.ndarray) -> list:
        return np.where(unmeasured, np.nan, kwh).tolist()

    cols = {
        "x": ((lo + hi) / 2).tolist(),
        "width": (0.8 * (hi - lo)).tolist(),
        "bar": list(a.labels),
        "import_kwh": bars(a.grid_import),
        "export_kwh": bars(-a.grid_export),
        "solar_kwh": bars(a.solar),
        "untracked": bars(a.untracked),
        "cost": a.cost.tolist(),
    }
    cols |= {f"c_{name}": bars(kwh) for name, kwh in a.circuits.items()}
    return cols


def empty_energy_columns(view: View) -> dict[str, list]:
    keys = ["x", "width", "bar", "import_kwh", "export_kwh", "solar_kwh", "untracked", "cost"]
    return {k: [] for k in keys} | {f"c_{n}": [] for n in view.wiring.circuits}
