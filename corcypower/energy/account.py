"""The energy account of a stretch of time, bar by bar: grid, solar, circuits and what it cost.

Every figure is a sum of the minute rollups (rollup_1m; where they have been pruned, the
15-minute ones, kept forever), so it equals what the sqlite3 shell sums over the same rows:

    grid import, export   import_wh, export_wh of the grid channels (dashboard.grid_channels)
    solar production      export_wh - import_wh of the solar channels (an inverter's night draw
                          counts against it)
    consumption           grid import - grid export + solar production: what the house used
    self-consumed solar   solar production - grid export
    a circuit             import_wh - export_wh of a current channel in neither list
    untracked             consumption - the circuits
    cost                  each minute's import at its price (tariff.py) + the standing charge
                          of each local day up to now - grid export x the export price

Minutes are summed in SQL into steps within which neither the price nor the local hour can
change (tariff.grain_ms), so a year costs one pass over its minutes inside sqlite.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from corcypower.energy.periods import bar_label
from corcypower.energy.tariff import Tariff, grain_ms
from corcypower.energy.zone import local_minutes, midnight_ms, offset_changes
from corcypower.errors import ConfigError
from corcypower.settings import Config
from corcypower.store.database import Database

QUARTER_MS = 900_000


@dataclass(frozen=True)
class Wiring:
    """Which current channels are the grid, solar panels, or circuits of the house."""

    grid: tuple[str, ...]
    solar: tuple[str, ...]
    circuits: tuple[str, ...]

    @classmethod
    def from_config(cls, config: Config) -> Wiring:
        currents = [c.name for c in config.channels if c.kind == "current"]
        solar = config["dashboard.solar_channels"]
        grid = config.grid_channels  # checked there
        known = ", ".join(f'"{n}"' for n in currents) or "none configured"
        for name in solar:
            if name not in currents:
                raise ConfigError(
                    f'{config.where}: [dashboard] solar_channels: "{name}" is not a current channel ({known})'
                )
        both = [n for n in solar if n in grid]
        if both:
            raise ConfigError(
                f'{config.where}: [dashboard] solar_channels: "{both[0]}" is in grid_channels too; '
                "expected a channel to be either the grid's or the panels'"
            )
        circuits = [n for n in currents if n not in grid and n not in solar]
        return cls(tuple(grid), tuple(solar), tuple(circuits))

    @property
    def channels(self) -> tuple[str, ...]:
        return self.grid + self.solar + self.circuits


@dataclass
class Account:
    """kWh and costs per bar over edges[0] .. edges[-1] (ms UTC)."""

    edges: list[int]
    bars: str  # "hour", "day" or "month"
    wiring: Wiring
    tariff: Tariff
    grid_import: np.ndarray
    grid_export: np.ndarray
    solar: np.ndarray
    circuits: dict[str, np.ndarray]
    import_by_price: np.ndarray  # (prices, bars) kWh imported at each of tariff.names
    standing_days: np.ndarray  # days of standing charge per bar
    measured_h: np.ndarray  # hours the grid channels measured, per bar
    labels: list[str] = field(default_factory=list)

    @property
    def consumption(self) -> np.ndarray:
        return self.grid_import - self.grid_export + self.solar

    @property
    def self_consumed(self) -> np.ndarray:
        if not self.wiring.solar:  # no panels measured: nothing is known to be self-consumed
            return np.zeros(len(self.edges) - 1)
        return self.solar - self.grid_export

    @property
    def untracked(self) -> np.ndarray:
        return self.consumption - sum(self.circuits.values(), np.zeros(len(self.edges) - 1))

    @property
    def energy_cost(self) -> np.ndarray:
        return self.tariff.prices @ self.import_by_price

    @property
    def standing_charge(self) -> np.ndarray:
        return self.standing_days * self.tariff.standing_per_day

    @property
    def export_credit(self) -> np.ndarray:
        return self.grid_export * self.tariff.export_price

    @property
    def cost(self) -> np.ndarray:
        return self.energy_cost + self.standing_charge - self.export_credit

    def total(self, values: np.ndarray) -> float:
        return float(np.sum(values))

    def ratio(self, part: np.ndarray, whole: np.ndarray) -> float | None:
        """sum(part) / sum(whole), None when the whole is nothing."""
        whole_sum = self.total(whole)
        return self.total(part) / whole_sum if whole_sum > 1e-9 else None


def account(
    db: Database,
    wiring: Wiring,
    tariff: Tariff,
    edges: list[int],
    bars: str,
    now_ms: int | None = None,
) -> Account:
    """The account of the bars between `edges` (UTC ms, in the tariff's zone), read from db.

    The standing charge counts the local days that have begun by now_ms (all, if None).
    """
    n = len(edges) - 1
    start, end = edges[0], edges[-1]
    changes = offset_changes(start, end, tariff.tz)
    ids = {
        r["name"]: r["id"]
        for r in db.query("SELECT id, name FROM channel WHERE kind = 'current'")
        if r["name"] in wiring.channels
    }
    keys, cids, imp, exp, dur = minute_sums(
        db, list(ids.values()), start, end, grain_ms(tariff, changes)
    )
    bar = np.searchsorted(np.asarray(edges), keys, side="right") - 1
    per_channel = {}
    for name in wiring.channels:
        mine = cids == ids.get(name, -1)
        per_channel[name] = tuple(
            np.bincount(bar[mine], weights=v[mine], minlength=n)[:n] / 1000 for v in (imp, exp)
        ) + (np.bincount(bar[mine], weights=dur[mine], minlength=n)[:n] / 3_600_000,)

    def summed(names, k):
        return sum((per_channel[m][k] for m in names), np.zeros(n))

    grid_rows = np.isin(cids, [ids[m] for m in wiring.grid if m in ids])
    price = tariff.price_index(local_minutes(keys[grid_rows], changes))
    by_price = np.zeros((len(tariff.names), n))
    np.add.at(by_price, (price, bar[grid_rows]), imp[grid_rows] / 1000)
    return Account(
        edges=list(edges),
        bars=bars,
        wiring=wiring,
        tariff=tariff,
        grid_import=summed(wiring.grid, 0),
        grid_export=summed(wiring.grid, 1),
        solar=summed(wiring.solar, 1) - summed(wiring.solar, 0),
        circuits={m: per_channel[m][0] - per_channel[m][1] for m in wiring.circuits},
        import_by_price=by_price,
        standing_days=standing_days(edges, tariff, now_ms),
        measured_h=summed(wiring.grid, 2) / max(1, len(wiring.grid)),
        labels=[bar_label(bars, e, tariff.tz) for e in edges[:-1]],
    )


def minute_sums(db: Database, ids: list[int], start: int, end: int, grain: int):
    """(step start, channel id, import Wh, export Wh, measured ms) per step of `grain` ms.

    From the minute rollups; before the oldest minute left (retention), from the 15-minute
    ones, which are kept forever.
    """
    if not ids:
        return tuple(np.empty(0, dtype=t) for t in (np.int64, np.int64, float, float, float))
    oldest = db.query("SELECT min(ts) FROM rollup_1m")[0][0]
    cut = start if oldest is not None and oldest <= start else end
    if oldest is not None and start < oldest < end:
        cut = -(-oldest // QUARTER_MS) * QUARTER_MS  # the first whole quarter of minutes
    rows = []
    for table, lo, hi in (("rollup_15m", start, cut), ("rollup_1m", cut, end)):
        if lo < hi:
            rows += db.query(
                f"""SELECT ts / {grain} * {grain} AS step, channel_id, sum(import_wh),
                           sum(export_wh), sum(duration_ms)
                    FROM {table}
                    WHERE ts >= ? AND ts < ? AND import_wh IS NOT NULL
                      AND channel_id IN ({", ".join("?" * len(ids))})
                    GROUP BY step, channel_id""",
                (lo, hi, *ids),
            )
    table = np.array([tuple(r) for r in rows], dtype=float).reshape(-1, 5)
    return (
        table[:, 0].astype(np.int64),
        table[:, 1].astype(np.int64),
        table[:, 2],
        table[:, 3],
        table[:, 4],
    )


def standing_days(edges: list[int], tariff: Tariff, now_ms: int | None) -> np.ndarray:
    """Days of standing charge per bar: each local day that has begun by now_ms counts once,
    shared among the bars it holds in proportion to their time (an hour is 1/23, 1/24 or 1/25)."""
    lo = np.asarray(edges[:-1], dtype=float)
    hi = np.asarray(edges[1:], dtype=float)
    out = np.zeros(len(lo))
    day = datetime.fromtimestamp(edges[0] / 1000, tariff.tz).date()
    while (begin := midnight_ms(day, tariff.tz)) < edges[-1]:
        if now_ms is not None and begin > now_ms:
            break
        finish = midnight_ms(day + timedelta(days=1), tariff.tz)
        overlap = np.clip(np.minimum(hi, finish) - np.maximum(lo, begin), 0, None)
        out += overlap / (finish - begin)
        day += timedelta(days=1)
    return out


def of_config(
    db: Database, config: Config, edges: list[int], bars: str, now_ms: int | None = None
) -> Account:
    """account() with the wiring and the tariff of a config."""
    return account(db, Wiring.from_config(config), Tariff.from_config(config), edges, bars, now_ms)
