"""Energy per local day, with daylight saving, in Python and in the sqlite3 shell's view."""

from __future__ import annotations

import os
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from corcypower.store.energy import daily_energy
from corcypower.store.retention import Retention
from corcypower.store.writer import write_rows
from tests.store.conftest import current_rows, sqlite3_shell


def midnight_ms(day: date, tz: str) -> int:
    return round(datetime.combine(day, datetime.min.time(), ZoneInfo(tz)).timestamp() * 1000)


def fill_days(db, first: date, days: int, tz: str) -> None:
    """+1000 W and -500 W alternating every 10 s, from local midnight for `days` local days."""
    start, end = midnight_ms(first, tz), midnight_ms(first + timedelta(days=days), tz)
    ends = np.arange(start + 10_000, end + 1, 10_000, dtype=np.int64)
    power = np.where((ends // 10_000) % 2 == 0, 1000.0, -500.0)
    with db.atomic() as conn:
        write_rows(conn, current_rows(ends, power, duration_ms=10_000), end, Retention(None))


@pytest.mark.parametrize(
    ("tz", "first", "hours"),
    [
        ("Europe/Brussels", date(2026, 3, 28), [24, 23, 24]),  # summer time starts
        ("Europe/Brussels", date(2026, 10, 24), [24, 25, 24]),  # and ends
        ("America/New_York", date(2026, 3, 7), [24, 23, 24]),
        ("Asia/Kolkata", date(2026, 3, 28), [24, 24, 24]),  # +05:30: half-hour offsets
        ("Asia/Kathmandu", date(2026, 3, 28), [24, 24, 24]),  # +05:45: quarter-hour offsets
    ],
)
def test_local_days_have_the_hours_of_the_calendar(db, local_tz, tz, first, hours):
    local_tz(tz)
    fill_days(db, first, 3, tz)
    end = midnight_ms(first + timedelta(days=3), tz) - 1
    df = daily_energy(db, days=3, end_ms=end)
    days = [(first + timedelta(days=k)).isoformat() for k in range(3)]
    assert df["day"].tolist() == days and (df["channel"] == "main").all()
    assert df["import_wh"].tolist() == pytest.approx([1000 * h / 2 for h in hours])
    assert df["export_wh"].tolist() == pytest.approx([500 * h / 2 for h in hours])
    # the same days from the sqlite3 shell, in the same time zone
    out = sqlite3_shell(
        db.path,
        "SELECT day, import_kwh, export_kwh, measured_h FROM energy_day",
        env=os.environ | {"TZ": tz},
    )
    rows = [line.split("|") for line in out.split()]
    assert [r[0] for r in rows] == days
    assert [[float(x) for x in r[1:]] for r in rows] == [[h / 2, h / 4, h] for h in hours]


def test_a_time_zone_can_be_named_instead_of_the_systems(db, local_tz):
    local_tz("UTC")
    fill_days(db, date(2026, 3, 28), 3, "Europe/Brussels")
    end = midnight_ms(date(2026, 3, 31), "Europe/Brussels") - 1
    df = daily_energy(db, days=3, end_ms=end, tz="Europe/Brussels")
    assert df["import_wh"].tolist() == pytest.approx([12_000, 11_500, 12_000])
    utc = daily_energy(db, days=4, end_ms=end)  # UTC days cut the same energy differently
    assert utc["day"].tolist() == ["2026-03-27", "2026-03-28", "2026-03-29", "2026-03-30"]
    assert utc["import_wh"].sum() == pytest.approx(35_500)


def test_only_days_with_data_and_only_current_channels(db, local_tz):
    local_tz("Europe/Brussels")
    fill_days(db, date(2026, 1, 10), 1, "Europe/Brussels")
    df = daily_energy(db, days=30, end_ms=midnight_ms(date(2026, 1, 20), "Europe/Brussels"))
    assert df.to_dict("records") == [
        {
            "day": "2026-01-10",
            "channel": "main",
            "import_wh": pytest.approx(12_000),
            "export_wh": pytest.approx(6_000),
        }
    ]
    assert daily_energy(db, days=5, end_ms=midnight_ms(date(2025, 1, 1), "UTC")).empty
