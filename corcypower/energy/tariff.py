"""What energy costs: a base price, time-of-use periods, a standing charge and an export credit.

    [tariff]
    price_per_kwh = 0.18              # whenever no period below applies
    standing_charge_per_day = 0.45
    export_price_per_kwh = 0.08       # a credit for each kWh sent to the grid
    [[tariff.periods]]
    name = "peak"
    price_per_kwh = 0.30
    start = "07:00"
    end = "23:00"
    days = ["weekdays"]

A minute's price is that of the first period holding its local time (in the tariff's time
zone) and weekday, else the base price; a period whose end is before its start runs across
midnight, and its days are those of the minute itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo
from math import gcd

import numpy as np

from corcypower.energy.zone import MINUTE_MS, local_zone
from corcypower.settings import Config

DAY_MINUTES = 1440
BASE_NAME = "standard"  # the name of the base price's minutes, next to named periods
EPOCH_WEEKDAY = 3  # 1970-01-01 was a Thursday (Monday is 0)


@dataclass(frozen=True)
class TimeOfUse:
    name: str
    price: float
    start: int  # minutes since local midnight
    end: int  # the same; end <= start runs across midnight (equal: all day)
    days: frozenset[int]  # weekdays, Monday 0

    def holds(self, weekday: np.ndarray, minute: np.ndarray) -> np.ndarray:
        if self.start < self.end:
            in_time = (minute >= self.start) & (minute < self.end)
        elif self.start > self.end:
            in_time = (minute >= self.start) | (minute < self.end)
        else:
            in_time = np.ones(len(minute), dtype=bool)
        return in_time & np.isin(weekday, list(self.days))


@dataclass(frozen=True)
class Tariff:
    price: float  # per kWh imported when no period applies
    periods: tuple[TimeOfUse, ...]
    standing_per_day: float
    export_price: float  # earned per kWh exported
    currency: str
    tz: tzinfo

    @classmethod
    def from_config(cls, config: Config) -> Tariff:
        periods = tuple(
            TimeOfUse(p["name"], p["price_per_kwh"], p["start"], p["end"], frozenset(p["days"]))
            for p in config["tariff.periods"]
        )
        zone = config["tariff.timezone"] or config["dashboard.timezone"]
        return cls(
            config["tariff.price_per_kwh"],
            periods,
            config["tariff.standing_charge_per_day"],
            config["tariff.export_price_per_kwh"],
            config["tariff.currency"],
            local_zone(zone),
        )

    @property
    def priced(self) -> bool:
        """Whether there is anything to show a cost for."""
        prices = [self.price, self.standing_per_day, self.export_price]
        return any(prices + [p.price for p in self.periods])

    @property
    def names(self) -> list[str]:
        """Price names, by index: the base price, then each period."""
        return [BASE_NAME] + [p.name for p in self.periods]

    @property
    def prices(self) -> np.ndarray:
        return np.array([self.price] + [p.price for p in self.periods])

    def grain_minutes(self) -> int:
        """The longest step (dividing an hour) at which the price cannot change."""
        step = 60
        for p in self.periods:
            step = gcd(step, p.start, p.end)
        return step

    def price_index(self, local_minute: np.ndarray) -> np.ndarray:
        """Index into names/prices of each local wall-clock minute (minutes since 1970, local)."""
        minute = np.mod(local_minute, DAY_MINUTES)
        weekday = np.mod(local_minute // DAY_MINUTES + EPOCH_WEEKDAY, 7)
        index = np.zeros(len(local_minute), dtype=np.int64)
        free = np.ones(len(local_minute), dtype=bool)
        for k, period in enumerate(self.periods, start=1):
            hit = free & period.holds(weekday, minute)
            index[hit] = k
            free &= ~hit
        return index


def grain_ms(tariff: Tariff, changes: list[tuple[int, int]]) -> int:
    """Buckets of this width (UTC) lie within one price, one local hour and one offset.

    Offsets and the instants they change at are whole minutes, usually quarter or whole
    hours; so is each period's start and end. The gcd of them all (and an hour) is the step.
    """
    step = tariff.grain_minutes()
    for i, (start, offset) in enumerate(changes):
        step = gcd(step, offset // MINUTE_MS % 60)
        if i:  # changes[0] starts where the range does, not where an offset changes
            step = gcd(step, start // MINUTE_MS % 60)
    return step * MINUTE_MS
