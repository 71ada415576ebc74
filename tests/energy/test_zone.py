"""Time zones: offsets and the instants they change, to the minute."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import numpy as np

from corcypower.energy import zone


def ms(*args, tz=UTC) -> int:
    return round(datetime(*args, tzinfo=tz).timestamp() * 1000)


def test_the_changes_of_a_year_in_paris_are_found_to_the_minute():
    paris = ZoneInfo("Europe/Paris")
    changes = zone.offset_changes(ms(2026, 1, 1), ms(2027, 1, 1), paris)
    assert changes == [
        (ms(2026, 1, 1), 3_600_000),
        (ms(2026, 3, 29, 1), 7_200_000),  # 02:00 CET becomes 03:00 CEST
        (ms(2026, 10, 25, 1), 3_600_000),  # 03:00 CEST becomes 02:00 CET
    ]


def test_a_half_hour_change_is_found_too():
    lord_howe = ZoneInfo("Australia/Lord_Howe")  # +10:30 in winter, +11:00 in summer
    changes = zone.offset_changes(ms(2026, 9, 1), ms(2026, 12, 1), lord_howe)
    assert [c[1] for c in changes] == [37_800_000, 39_600_000]
    # 02:00 local (+10:30) on the first Sunday of October is 15:30 UTC the day before
    assert changes[1][0] == ms(2026, 10, 3, 15, 30)


def test_local_minutes_follow_the_offset_in_force():
    paris = ZoneInfo("Europe/Paris")
    start, end = ms(2026, 10, 24), ms(2026, 10, 27)
    changes = zone.offset_changes(start, end, paris)
    ts = np.array([ms(2026, 10, 25, 0, 59), ms(2026, 10, 25, 1, 0)], dtype=np.int64)
    local = zone.local_minutes(ts, changes)
    # 02:59 CEST, then 02:00 CET: the same wall-clock hour twice
    expected = [ms(2026, 10, 25, 2, 59) // 60_000, ms(2026, 10, 25, 2, 0) // 60_000]
    assert local.tolist() == expected


def test_local_and_utc_ms_are_inverses_and_midnights_are_local():
    paris = ZoneInfo("Europe/Paris")
    ts = ms(2026, 7, 15, 12)
    assert zone.local_ms(ts, paris) - ts == 7_200_000
    assert zone.utc_ms(zone.local_ms(ts, paris), paris) == ts
    assert zone.midnight_ms(datetime(2026, 7, 15).date(), paris) == ms(2026, 7, 14, 22)
    assert zone.local_date(ms(2026, 7, 14, 22), paris).isoformat() == "2026-07-15"


def test_the_zone_comes_from_the_name_else_tz(monkeypatch):
    assert zone.local_zone("Asia/Kolkata") == ZoneInfo("Asia/Kolkata")
    monkeypatch.setenv("TZ", "America/New_York")
    assert zone.local_zone(None) == ZoneInfo("America/New_York")
    assert zone.zone_name(ZoneInfo("Europe/Paris")) == "Europe/Paris"
