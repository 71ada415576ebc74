"""CSV export: one format at every resolution, local times with their offset, energies that add up."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest

from corcypower.store.csvexport import HEADER, export_csv
from corcypower.store.retention import Retention
from corcypower.store.writer import write_rows
from tests.store.conftest import T0, current_rows, tiled, voltage_rows

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
