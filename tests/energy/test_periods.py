"""Periods of local days and their bars, with daylight saving."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from corcypower.energy.periods import Period, bar_label, range_edges

PARIS = ZoneInfo("Europe/Paris")


def local(*args) -> int:
    return round(datetime(*args, tzinfo=PARIS).timestamp() * 1000)


@pytest.mark.parametrize(
    ("unit", "day", "first", "end"),
    [
        ("day", date(2026, 11, 18), date(2026, 11, 18), date(2026, 11, 19)),
        ("week", date(2026, 11, 18), date(2026, 11, 16), date(2026, 11, 23)),  # Monday first
        ("month", date(2026, 11, 18), date(2026, 11, 1), date(2026, 12, 1)),
        ("year", date(2026, 11, 18), date(2026, 1, 1), date(2027, 1, 1)),
        ("month", date(2026, 12, 31), date(2026, 12, 1), date(2027, 1, 1)),
    ],
)
def test_a_period_holds_its_days(unit, day, first, end):
    period = Period.containing(unit, day)
    assert (period.first, period.end) == (first, end)
    assert period.shift(1).shift(-1) == period
    assert period.shift(-1).end == period.first


def test_previous_and_next_cross_years():
    assert Period.containing("month", date(2026, 1, 5)).shift(-1).first == date(2025, 12, 1)
    assert Period.containing("year", date(2026, 1, 5)).shift(1).first == date(2027, 1, 1)
    assert Period.containing("week", date(2026, 12, 30)).shift(1).first == date(2027, 1, 4)


@pytest.mark.parametrize(
    ("unit", "text", "first"),
    [
        ("day", "2026-11-05", date(2026, 11, 5)),
        ("week", "2026-W47", date(2026, 11, 16)),
        ("week", "2026-11-18", date(2026, 11, 16)),
        ("month", "2026-11", date(2026, 11, 1)),
        ("year", "2026", date(2026, 1, 1)),
    ],
)
def test_periods_are_named_as_people_write_them(unit, text, first):
    assert Period.parse(unit, text) == Period(unit, first)


@pytest.mark.parametrize(
    ("unit", "text"), [("month", "2026-13"), ("day", "yesterday"), ("week", "2026-W60")]
)
def test_a_bad_name_says_what_was_expected(unit, text):
    with pytest.raises(ValueError, match=f"'{text}': expected a {unit} like"):
        Period.parse(unit, text)


@pytest.mark.parametrize(("day", "hours"), [(date(2026, 3, 29), 23), (date(2026, 10, 25), 25)])
def test_a_day_with_a_clock_change_has_its_hours(day, hours):
    edges = Period.containing("day", day).edges(PARIS)
    assert len(edges) == hours + 1
    assert edges[0] == local(day.year, day.month, day.day)
    assert all(b - a == 3_600_000 for a, b in zip(edges, edges[1:], strict=False))


def test_the_hour_that_happens_twice_is_named_by_its_zone():
    edges = Period.containing("day", date(2026, 10, 25)).edges(PARIS)
    labels = [bar_label("hour", e, PARIS) for e in edges[:-1]]
    assert labels[:4] == ["00:00 CEST", "01:00 CEST", "02:00 CEST", "02:00 CET"]
    assert labels[-1] == "23:00 CET"


def test_month_and_year_bars_start_at_local_midnights():
    edges = Period.containing("year", date(2026, 6, 1)).edges(PARIS)
    assert len(edges) == 13
    assert edges[3] == local(2026, 4, 1) and edges[-1] == local(2027, 1, 1)
    assert bar_label("month", edges[10], PARIS) == "Nov 2026"
    week = Period.containing("week", date(2026, 10, 21)).edges(PARIS)
    assert week[-1] - week[0] == 7 * 86_400_000 + 3_600_000  # the week with 25 hours on Sunday


def test_range_edges_cover_the_range_with_whole_bars():
    edges = range_edges("day", local(2026, 11, 3, 13), local(2026, 11, 5, 1), PARIS)
    assert edges == [local(2026, 11, 3), local(2026, 11, 4), local(2026, 11, 5), local(2026, 11, 6)]
    hours = range_edges("hour", local(2026, 11, 3, 13, 30), local(2026, 11, 3, 15), PARIS)
    assert hours == [local(2026, 11, 3, 13), local(2026, 11, 3, 14), local(2026, 11, 3, 15)]
    months = range_edges("month", local(2026, 11, 3), local(2026, 12, 1), PARIS)
    assert months == [local(2026, 11, 1), local(2026, 12, 1)]
