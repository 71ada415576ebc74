"""What the energy tests share: a house with a grid meter, panels and a fridge, and its days."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

import numpy as np

from corcypower.energy.zone import local_minutes, midnight_ms, offset_changes
from corcypower.settings import from_dict
from corcypower.store.retention import Retention
from corcypower.store.writer import write_rows
from tests.store.conftest import current_rows

PARIS = ZoneInfo("Europe/Paris")
CHANNELS = [
    {"name": "main", "adc_channel": 0, "kind": "current", "scale": 0.02},
    {"name": "solar", "adc_channel": 1, "kind": "current", "scale": 0.01},
    {"name": "fridge", "adc_channel": 2, "kind": "current", "scale": 0.01},
]
PEAK = {"name": "peak", "price_per_kwh": 0.30, "start": "07:00", "end": "23:00"}
TARIFF = {
    "price_per_kwh": 0.18,
    "standing_charge_per_day": 0.45,
    "export_price_per_kwh": 0.08,
    "timezone": "Europe/Paris",
}


def config(**tariff):
    return from_dict(
        {
            "dashboard": {"grid_channels": ["main"], "solar_channels": ["solar"]},
            "tariff": TARIFF | tariff,
            "channels": CHANNELS,
        }
    )


def fill(db, first: date, days: int) -> None:
    """Each local day: the house draws 1000 W before noon; after noon the panels make 2000 W,
    the house uses 1500 W and sends 500 W to the grid. The fridge draws 100 W all the time."""
    start, end = (
        midnight_ms(first, PARIS),
        midnight_ms(date.fromordinal(first.toordinal() + days), PARIS),
    )
    ends = np.arange(start + 10_000, end + 1, 10_000, dtype=np.int64)
    hour = local_minutes(ends - 5_000, offset_changes(start, end, PARIS)) % 1440 // 60
    morning = hour < 12
    rows = [
        current_rows(ends, np.where(morning, 1000.0, -500.0), 10_000, channel_id=1),
        current_rows(ends, np.where(morning, 0.0, -2000.0), 10_000, channel_id=2),
        current_rows(ends, 100.0, 10_000, channel_id=3),
    ]
    with db.atomic() as conn:
        for batch in rows:
            write_rows(conn, batch, end, Retention(None))
