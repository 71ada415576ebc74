"""CSV export: one format at every resolution, local times with their offset, energies that add up."""

from __future__ import annotations

import csv
import io
import os

import numpy as np
import pytest

from corcypower.settings import from_dict
from corcypower.store.csvexport import HEADER, export_csv
from corcypower.store.database import Database
from corcypower.store.retention import Retention
from corcypower.store.writer import register_channels, write_rows
from tests.store.conftest import T0, current_rows, sqlite3_shell, tiled, voltage_rows

HOUR = 3_600_000


@pytest.fixture
def two_hours(db):
    ends = tiled(T0, 2 * 3600)
    power = np.where(ends <= T0 + HOUR, 1200.0, -300.0)
    with db.atomic() as conn:
        write_rows(conn, current_rows(ends, power), T0, Retention(None))
        write_rows(conn, voltage_rows(ends, 231.0), T0, Retention(None))
    return db


def export(db, **kwargs) -> tuple[str, list[dict]]:
    out = io.StringIO()
    level, count = export_csv(db, out, **kwargs)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert len(rows) == count
    assert out.getvalue().splitlines()[0] == ",".join(HEADER)
    return level, rows


@pytest.mark.parametrize("resolution", ["raw", "10s", "1m", "15m", "1h", "1d"])
def test_every_resolution_holds_the_same_energy(two_hours, resolution):
    level, rows = export(
        two_hours, start_ms=T0, end_ms=T0 + 2 * HOUR, channels=["main"], resolution=resolution
    )
    assert level == resolution and {r["level"] for r in rows} == {resolution}
    assert sum(float(r["import_wh"]) for r in rows) == pytest.approx(1200.0, rel=1e-6)
    assert sum(float(r["export_wh"]) for r in rows) == pytest.approx(300.0, rel=1e-6)
    assert sum(float(r["seconds"]) for r in rows) == pytest.approx(7200)


def test_rows_name_their_channel_unit_and_local_time(two_hours, local_tz):
    local_tz("Europe/Brussels")
    _, rows = export(two_hours, start_ms=T0, end_ms=T0 + 60_000, resolution="10s")
    first = rows[0]
    assert first["ts"] == str(T0) and first["time"] == "2026-01-01T01:00:00+01:00"
    by_channel = {r["channel"]: r for r in rows if r["ts"] == str(T0)}
    assert by_channel["main"]["unit"] == "W" and float(by_channel["main"]["mean"]) == 1200.0
    volts = by_channel["mains_v"]
    assert volts["unit"] == "V" and float(volts["mean"]) == 231.0
    assert volts["import_wh"] == volts["export_wh"] == ""
    _, raw = export(two_hours, start_ms=T0, end_ms=T0 + 1000, channels=["main"], resolution="raw")
    assert [r["time"] for r in raw] == [
        "2026-01-01T01:00:00.000+01:00",
        "2026-01-01T01:00:00.500+01:00",
    ]


def test_auto_uses_the_history_query_level(two_hours):
    level, rows = export(
        two_hours, start_ms=T0, end_ms=T0 + 2 * HOUR, channels=["main"], max_points=100
    )
    assert level == "1m" and len(rows) == 120


def test_a_long_raw_range_streams_in_windows(two_hours, monkeypatch):
    from corcypower.store import csvexport

    monkeypatch.setattr(csvexport, "WINDOW_ROWS", 7)  # many small windows, no row twice
    _, rows = export(
        two_hours, start_ms=T0, end_ms=T0 + 2 * HOUR, channels=["main"], resolution="raw"
    )
    assert len(rows) == 14_400 and len({r["ts"] for r in rows}) == 14_400


def test_rows_carry_their_channels_phase(two_hours):
    two_hours.conn.execute("UPDATE channel SET phase = 'L2' WHERE name = 'main'")
    _, rows = export(two_hours, start_ms=T0, end_ms=T0 + 60_000, resolution="1m")
    assert {(r["channel"], r["phase"]) for r in rows} == {("main", "L2"), ("mains_v", "")}


# --- per-phase totals (phases=True) ----------------------------------------------------------

UTC = os.environ | {"TZ": "UTC"}
THREE_PHASE = {
    "dashboard": {"grid_channels": ["l1", "l2", "l3", "solar"]},
    "channels": [
        {"name": "v", "adc_channel": 0, "kind": "voltage", "scale": 0.25, "phase": "L1"},
        *({"name": f"l{k}", "adc_channel": k, "kind": "current", "scale": 0.02, "phase": f"L{k}"}
          for k in (1, 2, 3)),
        {"name": "oven", "adc_channel": 4, "kind": "current", "scale": 0.02, "phase": "L1"},
        {"name": "solar", "adc_channel": 5, "kind": "current", "scale": 0.02},  # no phase said
    ],
}  # fmt: skip
# watts of each current channel at a batch ending at `ends`: a ramp each, solar exporting
RAMPS = {"l1": (1234.567, 3.1), "l2": (456.789, -1.7), "l3": (2345.678, 0.9),
         "oven": (800.0, 0.0), "solar": (-321.123, -0.3)}  # fmt: skip


def three_phase_db(path, seconds: int, missing: tuple[str, int, int] | None = None):
    """`seconds` of 0.5 s batches from T0 on THREE_PHASE's channels, Irms = |P| / 230; with
    `missing` (channel, from ms, to ms), that channel has no batches then."""
    config = from_dict(THREE_PHASE)
    ends = tiled(T0, seconds)
    minute = (ends - 1 - T0) // 60_000  # the minute a batch ends in, as the rollups count it
    with Database(path) as db:
        ids = register_channels(db, config.channels, "mcp3208", T0, config.grid_channels)
        with db.atomic() as conn:
            for name, (watts, slope) in RAMPS.items():
                keep = np.ones(len(ends), bool)
                if missing and missing[0] == name:
                    keep = (ends <= missing[1]) | (ends > missing[2])
                power = (watts + slope * minute)[keep]
                rows = current_rows(ends[keep], power, channel_id=ids[name])
                write_rows(conn, rows, T0, Retention(None))
            write_rows(conn, voltage_rows(ends, 230.0, channel_id=ids["v"]), T0, Retention(None))
    return Database(path, read_only=True)


def close_to(value: str, shown: str, decimals: int) -> bool:
    """A CSV cell (full precision) against the view's figure, rounded to `decimals`."""
    return abs(float(value) - float(shown)) <= 0.5 * 10.0**-decimals + 1e-9


def test_phase_totals_equal_what_the_sqlite3_shell_sums_per_minute(tmp_path):
    with three_phase_db(tmp_path / "power.db", 3 * 3600) as db:
        _, rows = export(db, start_ms=T0, end_ms=T0 + 3 * HOUR, resolution="1m", phases=True)
    totals = [r for r in rows if r["channel"].startswith("phase:") or r["channel"] == "house"]
    assert [r["channel"] for r in totals[:4]] == ["phase:L1", "phase:L2", "phase:L3", "house"]
    assert len(totals) == 4 * 180 and {r["phase"] for r in totals} == {""}
    assert {r["min"] for r in totals} == {r["max"] for r in totals} == {""}
    assert len(rows) - len(totals) == 6 * 180  # every channel's rows as before
    shown = sqlite3_shell(
        tmp_path / "power.db",
        f"SELECT ts, phase, avg_w, current_a, import_wh, export_wh FROM power_minute_phase "
        f"WHERE ts >= {T0} AND ts < {T0 + 3 * HOUR} ORDER BY ts, phase",
        env=UTC,
    )
    view = {(int(ts), p): rest for ts, p, *rest in (line.split("|") for line in shown.split())}
    assert len(view) == len(totals)
    for r in totals:
        phase = r["channel"].removeprefix("phase:")
        avg_w, current_a, import_wh, export_wh = view[int(r["ts"]), phase]
        assert close_to(r["mean"], avg_w, 1) and close_to(r["rms"], current_a, 3)
        assert close_to(r["import_wh"], import_wh, 3) and close_to(r["export_wh"], export_wh, 3)
        assert float(r["seconds"]) == 60.0
    # the analytic answer of the first minute: L1 is l1 alone (the oven is inside it)
    first = {r["channel"]: r for r in totals[:4]}
    assert float(first["phase:L1"]["mean"]) == pytest.approx(1234.567)
    assert float(first["phase:L1"]["rms"]) == pytest.approx(1234.567 / 230)
    house_w = 1234.567 + 456.789 + 2345.678 - 321.123
    assert float(first["house"]["mean"]) == pytest.approx(house_w)
    assert float(first["house"]["export_wh"]) == pytest.approx(321.123 / 60)


def test_phase_energy_adds_up_to_the_shells_energy_day_phase(tmp_path):
    with three_phase_db(tmp_path / "power.db", 3 * 3600) as db:
        _, rows = export(db, start_ms=T0, end_ms=T0 + 24 * HOUR, resolution="15m", phases=True)
    shown = sqlite3_shell(
        tmp_path / "power.db",
        "SELECT phase, import_kwh, export_kwh FROM energy_day_phase WHERE day = '2026-01-01'",
        env=UTC,
    )
    view = {p: (imp, exp) for p, imp, exp in (line.split("|") for line in shown.split())}
    assert set(view) == {"L1", "L2", "L3", "house"}
    for phase, (imported, exported) in view.items():
        name = "house" if phase == "house" else f"phase:{phase}"
        mine = [r for r in rows if r["channel"] == name]
        assert len(mine) == 12  # three hours of 15 min
        assert close_to(sum(float(r["import_wh"]) for r in mine) / 1000, imported, 3)
        assert close_to(sum(float(r["export_wh"]) for r in mine) / 1000, exported, 3)


@pytest.mark.parametrize("resolution", ["raw", "10s"])
def test_a_time_missing_one_of_a_totals_channels_has_no_total_row(tmp_path, resolution):
    """l2 lost a minute: no L2 or house total then (never a partial sum); L1 and L3 still."""
    hole = (T0 + 60_000, T0 + 120_000)
    with three_phase_db(tmp_path / "power.db", 180, missing=("l2", *hole)) as db:
        _, rows = export(db, start_ms=T0, end_ms=T0 + 180_000, resolution=resolution, phases=True)
    per_row = 500 if resolution == "raw" else 10_000
    times = {name: [int(r["ts"]) for r in rows if r["channel"] == name] for name in
             ("phase:L1", "phase:L2", "phase:L3", "house")}  # fmt: skip
    assert len(times["phase:L1"]) == len(times["phase:L3"]) == 180_000 // per_row
    assert len(times["phase:L2"]) == len(times["house"]) == 120_000 // per_row
    inside = [t for t in times["phase:L2"] if hole[0] <= t < hole[1]]
    assert inside == [] and times["phase:L2"] == times["house"]


def test_totals_count_every_grid_channel_whichever_channels_are_written(tmp_path):
    with three_phase_db(tmp_path / "power.db", 60) as db:
        _, rows = export(
            db, start_ms=T0, end_ms=T0 + 60_000, channels=["oven"], resolution="1m", phases=True
        )
    assert [r["channel"] for r in rows] == ["oven", "phase:L1", "phase:L2", "phase:L3", "house"]
    assert float(rows[-1]["mean"]) == pytest.approx(1234.567 + 456.789 + 2345.678 - 321.123)


def test_without_phases_there_are_no_total_rows(tmp_path):
    with three_phase_db(tmp_path / "power.db", 60) as db:
        _, rows = export(db, start_ms=T0, end_ms=T0 + 60_000, resolution="1m")
    assert [r["channel"] for r in rows] == ["v", "l1", "l2", "l3", "oven", "solar"]
