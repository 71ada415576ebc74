"""Calendar periods people ask about (a day, a week, a month, a year) and their bars.

A period is a run of local days; its bars are local hours (a day), days (a week, a month) or
months (a year). Their edges are UTC ms, so the day daylight saving starts has 23 hourly bars
and the day it ends 25, and every edge falls where the local clock says.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

from corcypower.energy.zone import HOUR_MS, midnight_ms

UNITS = ("day", "week", "month", "year")
BARS = {"day": "hour", "week": "day", "month": "day", "year": "month"}
BAR_UNITS = ("hour", "day", "month")


@dataclass(frozen=True)
class Period:
    """The local days [first, end) of one day, ISO week (Monday first), month or year."""

    unit: str
    first: date

    @classmethod
    def containing(cls, unit: str, day: date) -> Period:
        if unit == "day":
            return cls(unit, day)
        if unit == "week":
            return cls(unit, day - timedelta(days=day.weekday()))
        if unit == "month":
            return cls(unit, day.replace(day=1))
        if unit == "year":
            return cls(unit, day.replace(month=1, day=1))
        raise ValueError(f"unit {unit!r}: expected one of {', '.join(UNITS)}")

    @classmethod
    def parse(cls, unit: str, text: str) -> Period:
        """The period of `unit` named by text: 2026-11-05 (any unit: the one holding that day),
        2026-W47 (a week), 2026-11 (a month), 2026 (a year)."""
        text = text.strip()
        try:
            if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
                return cls.containing(unit, date.fromisoformat(text))
            if unit == "week" and re.fullmatch(r"\d{4}-W\d{2}", text):
                return cls.containing(unit, datetime.strptime(text + "-1", "%G-W%V-%u").date())
            if unit == "month" and re.fullmatch(r"\d{4}-\d{2}", text):
                return cls.containing(unit, date.fromisoformat(text + "-01"))
            if unit == "year" and re.fullmatch(r"\d{4}", text):
                return cls.containing(unit, date(int(text), 1, 1))
        except ValueError:
            pass
        examples = {
            "day": "2026-11-05",
            "week": "2026-W47 or a day in it, 2026-11-18",
            "month": "2026-11",
            "year": "2026",
        }
        raise ValueError(f"{text!r}: expected a {unit} like {examples[unit]}")

    @property
    def end(self) -> date:
        """The first day after the period."""
        return self.shift(1).first

    def shift(self, n: int) -> Period:
        """The period n units later (earlier when n < 0)."""
        if self.unit == "day":
            return Period(self.unit, self.first + timedelta(days=n))
        if self.unit == "week":
            return Period(self.unit, self.first + timedelta(weeks=n))
        months = (
            self.first.year * 12 + self.first.month - 1 + n * (12 if self.unit == "year" else 1)
        )
        return Period(self.unit, date(months // 12, months % 12 + 1, 1))

    @property
    def label(self) -> str:
        if self.unit == "day":
            return self.first.strftime("%a %-d %b %Y")
        if self.unit == "week":
            iso = self.first.isocalendar()
            last = self.end - timedelta(days=1)
            return f"{self.first:%-d %b} – {last:%-d %b %Y} (week {iso.week})"
        if self.unit == "month":
            return self.first.strftime("%B %Y")
        return str(self.first.year)

    @property
    def bars(self) -> str:
        return BARS[self.unit]

    def edges(self, tz: tzinfo) -> list[int]:
        """UTC ms of the edges of the period's bars (one more edge than bars)."""
        return day_edges(self.bars, self.first, self.end, tz)

    def days(self) -> int:
        return (self.end - self.first).days


def day_edges(bars: str, first: date, end: date, tz: tzinfo) -> list[int]:
    """Edges (UTC ms) of hourly, daily or monthly bars from local day `first` to day `end`."""
    if bars == "hour":  # whole hours of the UTC timeline from local midnight: 23, 24 or 25 a day
        start, stop = midnight_ms(first, tz), midnight_ms(end, tz)
        return list(range(start, stop, HOUR_MS)) + [stop]
    if bars == "day":
        return [midnight_ms(first + timedelta(days=k), tz) for k in range((end - first).days + 1)]
    if bars == "month":
        days = [first]
        while days[-1] < end:
            d = days[-1]
            days.append(date(d.year + d.month // 12, d.month % 12 + 1, 1))
        return [midnight_ms(d, tz) for d in days]
    raise ValueError(f"bars {bars!r}: expected one of {', '.join(BAR_UNITS)}")


def range_edges(bars: str, start_ms: int, end_ms: int, tz: tzinfo) -> list[int]:
    """Edges of whole bars covering [start_ms, end_ms): the first bar holds start_ms."""
    first = datetime.fromtimestamp(start_ms / 1000, tz).date()
    last = datetime.fromtimestamp((end_ms - 1) / 1000, tz).date()
    if bars == "month":
        first, last = first.replace(day=1), Period.containing("month", last).end
    else:
        last += timedelta(days=1)
    edges = day_edges(bars, first, last, tz)
    lo = max(i for i, e in enumerate(edges) if e <= start_ms)
    hi = min(i for i, e in enumerate(edges) if e >= end_ms)
    return edges[lo : hi + 1]


def bar_label(bars: str, start_ms: int, tz: tzinfo) -> str:
    """How a bar is named: 14:00, Mon 16 Nov, Nov 2026 (hours carry their zone: 02:00 CET)."""
    when = datetime.fromtimestamp(start_ms / 1000, tz)
    if bars == "hour":
        return when.strftime("%H:%M %Z")
    if bars == "day":
        return when.strftime("%a %-d %b")
    return when.strftime("%b %Y")
