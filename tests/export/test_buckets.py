"""The buckets of a central history: the finest widths within the points asked for, their
names, and the rows a history reads (what bounds a view of every device)."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from corcypower.export.buckets import (
    WIDTHS,
    bucket_width,
    coarse_enough,
    day_buckets,
    day_width,
    label,
    rows_read,
)
from corcypower.store.energy import local_midnight_ms

MIN = 60_000
HOUR = 3_600_000
DAY = 86_400_000
T0 = 1_767_225_600_000  # 2026-01-01 00:00 UTC


@given(
    start=st.integers(0, 4_000_000_000_000),
    length=st.integers(1, 3 * 365 * DAY),
    points=st.integers(1, 5000),
)
def test_buckets_are_the_finest_that_stay_within_the_points_asked(start, length, points):
    width = bucket_width(start, start + length, points)

    def buckets(w):
        return (start + length - 1) // (w * 1000) - start // (w * 1000) + 1

    if width != WIDTHS[-1]:
        assert buckets(width) <= points
    finer = [w for w in WIDTHS if w < width]
    assert all(buckets(w) > points for w in finer)


def test_bucket_widths_are_named_as_the_store_names_levels():
    assert [label(w) for w in (60, 900, 3600, 6 * 3600, 86_400, 7 * 86_400)] == [
        "1m", "15m", "1h", "6h", "1d", "7d",
    ]  # fmt: skip


def test_rows_read_are_the_tables_rows_in_the_whole_buckets():
    assert rows_read(4, T0, T0 + DAY, 120) == 4 * 1440  # 2-minute buckets: minutes
    assert rows_read(4, T0, T0 + DAY, 900) == 4 * 96  # quarter-hours
    assert rows_read(4, T0, T0 + DAY, 3600) == 4 * 24
    assert rows_read(4, T0 + 30 * MIN, T0 + DAY, 3600) == 4 * 24  # whole buckets: from 00:00
    assert rows_read(4, T0, T0 + 7 * DAY, 86_400) == 4 * 7  # days: ChannelDay


def test_coarse_enough_stops_at_the_first_width_within_the_rows_or_at_days():
    assert coarse_enough(12, T0, T0 + DAY, 120, 20_000) == 120  # a house's day: 17,280 minutes
    assert coarse_enough(800, T0, T0 + DAY, 120, 25_000) == 3600  # 200 devices: 19,200 hours
    assert coarse_enough(800, T0, T0 + 7 * DAY, 900, 25_000) == 86_400  # a week: days
    assert coarse_enough(800, T0, T0 + 30 * DAY, 3600, 1) == 86_400  # never past days


def test_whole_days_are_counted_in_the_databases_zone():
    brussels = ZoneInfo("Europe/Brussels")
    start = local_midnight_ms(date(2026, 3, 28), brussels)
    end = local_midnight_ms(date(2026, 3, 31), brussels)  # 3 days, 4 in UTC (23:00 to 22:00)
    assert len(day_buckets(start, end, 86_400, brussels)) == 3
    assert bucket_width(start, end, 3) == 2 * 86_400  # counted in UTC days: 2
    assert day_width(start, end, 3, brussels) == 86_400  # in Brussels' days: 1 fits
    assert day_width(start, end, 1, brussels) == 7 * 86_400
