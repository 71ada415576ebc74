"""Tariffs: the price of each local minute, and the settings that describe them."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from corcypower.energy.tariff import BASE_NAME, Tariff, grain_ms
from corcypower.energy.zone import offset_changes
from corcypower.errors import ConfigError
from corcypower.settings import from_dict

CHANNELS = [{"name": "main", "adc_channel": 0, "kind": "current", "scale": 0.02}]
PEAK = {
    "name": "peak",
    "price_per_kwh": 0.30,
    "start": "07:00",
    "end": "23:00",
    "days": ["weekdays"],
}


def tariff(**values) -> Tariff:
    return Tariff.from_config(from_dict({"tariff": values, "channels": CHANNELS}))


def minute(*args) -> int:
    """Local wall-clock minutes since 1970 of a naive local time."""
    return round(datetime(*args, tzinfo=ZoneInfo("UTC")).timestamp()) // 60


def names(t: Tariff, *times) -> list[str]:
    index = t.price_index(np.array([minute(*when) for when in times]))
    return [t.names[i] for i in index]


def test_peak_on_weekdays_from_seven_to_eleven():
    t = tariff(price_per_kwh=0.18, periods=[PEAK])
    monday = (2026, 11, 16)
    assert names(t, (*monday, 6, 59), (*monday, 7, 0), (*monday, 22, 59), (*monday, 23, 0)) == [
        BASE_NAME,
        "peak",
        "peak",
        BASE_NAME,
    ]
    assert names(t, (2026, 11, 20, 12), (2026, 11, 21, 12), (2026, 11, 22, 12)) == [
        "peak",  # Friday
        BASE_NAME,  # Saturday
        BASE_NAME,  # Sunday
    ]
    assert t.prices.tolist() == [0.18, 0.30]


def test_a_period_may_cross_midnight_and_the_first_that_holds_a_minute_wins():
    night = {"name": "night", "price_per_kwh": 0.10, "start": "23:00", "end": "07:00"}
    sunday = {
        "name": "sunday",
        "price_per_kwh": 0.05,
        "start": "00:00",
        "end": "00:00",
        "days": ["sun"],
    }
    t = tariff(price_per_kwh=0.2, periods=[night, sunday, PEAK])
    assert names(t, (2026, 11, 16, 23, 30), (2026, 11, 17, 6, 59), (2026, 11, 17, 7, 0)) == [
        "night",
        "night",
        "peak",
    ]
    assert names(t, (2026, 11, 22, 3), (2026, 11, 22, 12)) == ["night", "sunday"]


@pytest.mark.parametrize(
    ("zone", "periods", "minutes"),
    [
        ("Europe/Paris", [PEAK], 60),
        ("Europe/Paris", [PEAK | {"start": "07:30"}], 30),
        ("Asia/Kolkata", [PEAK], 30),  # +05:30
        ("Asia/Kathmandu", [], 15),  # +05:45
        ("Europe/Paris", [PEAK | {"end": "23:10"}], 10),
    ],
)
def test_the_grain_is_where_neither_price_nor_hour_can_change(zone, periods, minutes):
    t = tariff(periods=periods, timezone=zone)
    changes = offset_changes(1_767_225_600_000, 1_798_761_600_000, t.tz)  # 2026
    assert grain_ms(t, changes) == minutes * 60_000


def test_the_tariff_zone_defaults_to_the_dashboard_zone():
    config = from_dict({"dashboard": {"timezone": "Europe/Paris"}, "channels": CHANNELS})
    assert Tariff.from_config(config).tz == ZoneInfo("Europe/Paris")
    assert not Tariff.from_config(config).priced
    assert tariff(standing_charge_per_day=0.4).priced


@pytest.mark.parametrize(
    ("periods", "message"),
    [
        ("peak", "expected a list of [[tariff.periods]] tables"),
        (
            [PEAK | {"start": "7am"}],
            'period #1 ("peak"): start and end: expected a time of day "HH:MM"',
        ),
        ([PEAK | {"end": "24:01"}], "start and end: expected a time of day"),
        ([PEAK | {"days": ["monday"]}], "days = ['monday']: expected a list of \"mon\""),
        ([PEAK | {"price_per_kwh": -1}], "price_per_kwh: expected a number from 0.0 to 1000.0"),
        ([PEAK | {"price": 1}], "unknown key price; expected name, price_per_kwh"),
        ([{"name": "x", "start": "01:00", "end": "02:00"}], "missing key price_per_kwh"),
        ([PEAK, PEAK], 'period #2 ("peak"): name: expected a name not used by another period'),
    ],
)
def test_bad_periods_are_refused_with_what_was_expected(periods, message):
    with pytest.raises(
        ConfigError, match=r"<settings>: \[tariff\] periods = .*" + re.escape(message)
    ):
        tariff(periods=periods)
