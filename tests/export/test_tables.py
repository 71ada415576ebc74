"""Rows of the central tables from closed minutes: EnergyMonitor's Supply/Usage, analytically."""

from __future__ import annotations

import math
from datetime import datetime

import pytest

from corcypower.export.config import VolumePoint
from corcypower.export.tables import (
    CHANNEL_MINUTE,
    COLUMNS,
    VOLUME_DATA,
    MinuteRow,
    channel_records,
    utc,
    volume_records,
)

TS = 1_767_225_600_000  # 2026-01-01 00:00 UTC


def minute(channel, import_wh, export_wh, min_w, max_w, ts=TS, batches=120):
    avg = None if import_wh is None else (import_wh - export_wh) * 60
    return MinuteRow(ts, channel, import_wh, export_wh, min_w, max_w, avg, batches, 60_000)


def as_dict(record):
    return dict(zip(COLUMNS[record.table], record.values, strict=True))


def test_times_are_naive_utc_datetimes():
    assert utc(TS) == datetime(2026, 1, 1, 0, 0)
    assert utc(TS + 90_500) == datetime(2026, 1, 1, 0, 1, 30, 500_000)


def test_channel_minute_rows_are_the_minute_as_stored():
    (record,) = channel_records("garage", [minute("main", 10.0, 0.0, 550.0, 650.0)])
    assert record.table == CHANNEL_MINUTE and record.name == "main"
    row = as_dict(record)
    assert row["Point"] == "garage" and row["Channel"] == "main"
    assert (row["ImportWh"], row["ExportWh"], row["MinW"], row["MaxW"]) == (10.0, 0.0, 550.0, 650.0)
    assert row["AvgW"] == 600.0 and row["NumReads"] == 120 and row["MeasuredSeconds"] == 60.0


def test_what_mysql_cannot_store_becomes_null_so_the_server_refuses_that_row():
    (record,) = channel_records("p", [minute("main", math.inf, 0.0, math.nan, None)])
    row = as_dict(record)
    assert row["ImportWh"] is None and row["MinW"] is None and row["MaxW"] is None


@pytest.mark.parametrize(
    "p_watts, supply, expected",
    [
        # a steady 600 W drawn from the grid for the minute: 10 Wh of supply
        (600.0, "import", dict(SupplyWh=10.0, SupplyMaxW=600.0, SupplyMinW=600.0, SupplyAvgW=600.0,
                               UsageWh=0.0, UsageMaxW=0.0, UsageMinW=0.0, UsageAvgW=0.0)),
        # 1200 W sent to the grid: 20 Wh of usage, as EnergyMonitor's |P| for P < 0
        (-1200.0, "import", dict(SupplyWh=0.0, SupplyMaxW=0.0, SupplyMinW=0.0, SupplyAvgW=0.0,
                                 UsageWh=20.0, UsageMaxW=1200.0, UsageMinW=1200.0, UsageAvgW=1200.0)),
        # the same, seen from a solar point (supply = "export"): what the panels supply
        (-1200.0, "export", dict(SupplyWh=20.0, SupplyMaxW=1200.0, SupplyMinW=1200.0, SupplyAvgW=1200.0,
                                 UsageWh=0.0, UsageMaxW=0.0, UsageMinW=0.0, UsageAvgW=0.0)),
    ],
)  # fmt: skip
def test_steady_power_splits_into_supply_or_usage(p_watts, supply, expected):
    wh = abs(p_watts) / 60  # one minute
    row = minute("main", wh if p_watts > 0 else 0.0, wh if p_watts < 0 else 0.0, p_watts, p_watts)
    (record,) = volume_records([VolumePoint("Mains", ("main",), supply)], [row])
    assert record.table == VOLUME_DATA and record.name == "Mains"
    values = as_dict(record)
    assert values["TimeStamp"] == datetime(2026, 1, 1) and values["NumReads"] == 120
    assert {k: values[k] for k in expected} == pytest.approx(expected)


def test_a_minute_crossing_zero_has_supply_and_usage():
    # 30 s at +600 W then 30 s at -600 W: 5 Wh each way; min -600, max +600
    row = minute("main", 5.0, 5.0, -600.0, 600.0)
    (record,) = volume_records([VolumePoint("Mains", ("main",), "import")], [row])
    v = as_dict(record)
    assert (v["SupplyWh"], v["SupplyMaxW"], v["SupplyMinW"], v["SupplyAvgW"]) == (5, 600, 0, 300)
    assert (v["UsageWh"], v["UsageMaxW"], v["UsageMinW"], v["UsageAvgW"]) == (5, 600, 0, 300)


def test_a_point_of_three_phases_adds_them():
    rows = [
        minute("l1", 10.0, 0.0, 500.0, 700.0),
        minute("l2", 5.0, 0.0, 250.0, 350.0),
        minute("l3", 0.0, 2.0, -150.0, -90.0),
        minute("solar", 0.0, 50.0, -3000.0, -3000.0),  # not in the point
    ]
    (record,) = volume_records([VolumePoint("Mains", ("l1", "l2", "l3"), "import")], rows)
    v = as_dict(record)
    assert v["SupplyWh"] == 15.0 and v["UsageWh"] == 2.0
    assert v["SupplyMaxW"] == 960.0 and v["SupplyMinW"] == 600.0  # sums of the extremes
    assert v["UsageMaxW"] == 0.0 and v["UsageMinW"] == 0.0


def test_one_row_per_point_per_minute_and_none_for_a_minute_without_its_channels():
    rows = [minute("main", 1.0, 0.0, 60.0, 60.0, ts=TS + k * 60_000) for k in range(3)]
    rows.append(minute("solar", 0.0, 1.0, -60.0, -60.0, ts=TS))
    points = [VolumePoint("a", ("main",), "import"), VolumePoint("b", ("solar",), "export")]
    records = volume_records(points, rows)
    assert [(r.name, r.ts) for r in records] == [
        ("a", TS),
        ("b", TS),
        ("a", TS + 60_000),
        ("a", TS + 120_000),
    ]


def test_a_missing_value_leaves_the_point_row_null_not_invented():
    rows = [minute("l1", 10.0, 0.0, 500.0, 700.0), minute("l2", None, 0.0, 250.0, 350.0)]
    (record,) = volume_records([VolumePoint("Mains", ("l1", "l2"), "import")], rows)
    v = as_dict(record)
    assert v["SupplyWh"] is None and v["SupplyAvgW"] is None and v["UsageWh"] == 0.0
