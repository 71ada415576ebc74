"""What the dashboard tests share: configs, batches as the API sends them, a simulated history."""

from __future__ import annotations

import socket
from pathlib import Path

from corcypower import settings
from corcypower.live.ring import batch_dict
from corcypower.store.database import Database
from corcypower.store.simulate import simulate
from tests.live.helpers import stats

CHANNELS = [
    {"name": "mains_v", "adc_channel": 1, "kind": "voltage", "scale": 0.25},
    {"name": "main", "adc_channel": 0, "kind": "current", "scale": 0.02, "voltage": "mains_v"},
    {"name": "solar", "adc_channel": 2, "kind": "current", "scale": 0.01, "voltage": "mains_v"},
]

# A house with three circuits on their own channels and a time-of-use tariff: the energy
# paths' test and the screenshots (scripts/screenshots.py) draw it.
CIRCUITS = {"fridge": 3, "kettle": 4, "oven": 5}  # channel name: ADC channel
HOUSE = {
    "emulator": {
        "chip": "mcp3208",
        "circuits": {"main": "house", "solar": "solar"} | {n: n for n in CIRCUITS},
    },
    "tariff": {
        "price_per_kwh": 0.18,
        "standing_charge_per_day": 0.45,
        "export_price_per_kwh": 0.08,
        "periods": [
            {
                "name": "peak",
                "price_per_kwh": 0.30,
                "start": "07:00",
                "end": "23:00",
                "days": ["weekdays"],
            }
        ],
    },
    "channels": CHANNELS
    + [
        {"name": n, "adc_channel": a, "kind": "current", "scale": 0.01, "voltage": "mains_v"}
        for n, a in CIRCUITS.items()
    ],
}


def config(db_path: Path | str = "unused.db", **sections) -> settings.Config:
    data = {
        "adc": {"chip": "emulated"},
        "emulator": {"chip": "mcp3208"},
        "store": {"path": str(db_path)},
        "dashboard": {
            "grid_channels": ["main"],
            "solar_channels": ["solar"],
            "timezone": "Europe/Paris",
        },
        "tariff": {"price_per_kwh": 0.25, "export_price_per_kwh": 0.1},
        "channels": CHANNELS,
    }
    for section, values in sections.items():
        data[section] = values if section == "channels" else data.get(section, {}) | values
    return settings.from_dict(data)


def batch(ts: int, main_w: float = 500.0, solar_w: float = -300.0, flags: int = 0) -> dict:
    """One batch as /api/v1/live sends it."""
    volts, main = stats(main_w, flags=flags)
    solar = stats(solar_w)[1]
    solar.name = "solar"
    return batch_dict(ts, 500, [volts, main, solar])


def simulated_db(path: Path, hours: float, end_ms: int | None = None) -> Path:
    """`hours` of the synthetic household in a power.db, through the store's own write path."""
    with Database(path) as db:
        simulate(db, config(path), days=hours / 24, end_ms=end_ms)
    return path


def store_alerts(path: Path, now: int, name: str = "night-standby") -> list:
    """Alerts in power.db as the daemon's alerts store them: a kettle left on that fired 9 h
    before `now` and resolved an hour later, and `name` firing since 2 h 10 min (a config
    without that [[alerts]] rule: the daemon leaves it be). The events, oldest first."""
    from corcypower.alerts.engine import FIRING, RESOLVED, Event
    from corcypower.alerts.history import History

    hour = 3_600_000
    kettle = ("kettle-left-on", 2000.0, "kettle")
    events = [
        Event(
            kettle[0],
            FIRING,
            now - 9 * hour,
            now - 9 * hour,
            2100.0,
            *kettle[1:],
            "kettle 2100 W, above 2000 W for 10 min",
        ),
        Event(
            kettle[0],
            RESOLVED,
            now - 8 * hour,
            now - 8 * hour,
            0.0,
            *kettle[1:],
            "kettle 0 W, below 2000 W again",
        ),
        Event(
            name,
            FIRING,
            now - 2 * hour,
            now - 2 * hour - 600_000,
            212.4,
            150.0,
            None,
            "total 212 W, above 150 W for 10 min",
        ),
    ]
    history = History(path)
    for event in events:
        history.record(event)
    history.close()
    return events


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def until(condition, seconds: float = 30.0, step: float = 0.05) -> bool:
    """Wait for what another thread or process does: a bounded wait, not a timing assertion."""
    import time

    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(step)
    return True


def outside_band(cols: dict) -> list[tuple]:
    """(min, mean, max) rows whose mean is not within [min, max]."""
    return [
        (lo, m, hi)
        for lo, m, hi in zip(cols["min"], cols["mean"], cols["max"], strict=True)
        if not lo <= m <= hi
    ]


def build_page(db_path, batches=(), clock=None, **sections):
    """A Dashboard whose poller is fed by hand and whose queries run inline, and one page of it.

    Returns the Page; its sections by name are page.section(name)."""
    from bokeh.document import Document

    from corcypower.dashboard.app import Dashboard
    from corcypower.dashboard.page import make_document
    from corcypower.dashboard.poller import LivePoller

    poller = LivePoller("http://127.0.0.1:9", keep_ms=600_000)  # never started
    poller.take({"newest": None, "batches": list(batches)})
    dashboard = Dashboard(config(db_path, **sections), poller=poller, threads=0, clock=clock)
    return make_document(Document(), dashboard)
