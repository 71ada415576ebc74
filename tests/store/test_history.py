"""The history query: columns, the level chosen for each range, bounded rows, gaps stay gaps."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from corcypower.errors import StoreError
from corcypower.settings import from_dict
from corcypower.store.database import Database
from corcypower.store.history import choose_level, gaps, history
from corcypower.store.retention import Retention
from corcypower.store.writer import register_channels, write_rows
from tests.store.conftest import CONFIG, T0, current_rows, tiled, voltage_rows

HOUR = 3_600_000
DAY = 24 * HOUR
RECENT = T0 + 3 * DAY - 6 * HOUR  # 0.5 s batches from here; 10 s batches before


def hourly_power(ends: np.ndarray) -> np.ndarray:
    """100 W times the hour of the (UTC) day the batch lies in: constant within each hour."""
    return 100.0 * (((ends - 1) // HOUR) % 24)


@pytest.fixture(scope="module")
def hist(tmp_path_factory):
    """Three days of two channels: 10 s batches, then six hours of 0.5 s batches."""
    path = tmp_path_factory.mktemp("history") / "power.db"
    with Database(path) as db:
        register_channels(db, from_dict(CONFIG).channels, "mcp3208", T0)
        old = tiled(T0, (RECENT - T0) / 1000, 10_000)
        new = tiled(RECENT, 6 * 3600)
        keep = Retention(None)
        for ends, dur in ((old, 10_000), (new, 500)):
            with db.atomic() as conn:
                write_rows(conn, current_rows(ends, hourly_power(ends), duration_ms=dur), T0, keep)
                write_rows(conn, voltage_rows(ends, 230.0, duration_ms=dur), T0, keep)
    with Database(path, read_only=True) as db:
        yield db


def test_columns_and_types(hist):
    df = history(hist, None, RECENT, RECENT + HOUR)
    assert list(df.columns) == ["ts", "time", "channel", "level", "mean", "min", "max"]
    assert df["ts"].dtype == np.int64 and str(df["time"].dt.tz) == "UTC"
    assert (df["time"] == pd.to_datetime(df["ts"], unit="ms", utc=True)).all()
    assert df["mean"].dtype == float and set(df["channel"]) == {"main", "mains_v"}
    assert df.equals(df.sort_values(["ts", "channel"]))
    assert (df["level"] == "raw").all()


@pytest.mark.parametrize(
    ("start", "length", "points", "level"),
    [
        (RECENT, HOUR, 1000, "raw"),  # 10 s would give 360
        (T0, DAY, 1000, "1m"),  # 1440 minutes; 96 quarter hours
        (T0, 3 * DAY, 1000, "1m"),
        (T0, 3 * DAY, 100, "15m"),  # 288 quarter hours; 72 hours
        (T0, 3 * DAY, 50, "1h"),
        (T0, 3 * DAY, 10, "6h"),
        (T0, 3 * DAY, 3, "1d"),
        (T0 - 300 * DAY, 365 * DAY, 1000, "1m"),  # a year asked, three days exist: what exists
    ],
)
def test_the_coarsest_level_with_enough_points(hist, start, length, points, level):
    df = history(hist, ["main"], start, start + length, points)
    assert (df["level"] == level).all()
    assert len(df) >= min(points, 3 * 1440)
    assert len(df) <= 24 * points  # neighbouring levels are at most 24x apart: bounded rows


def test_values_are_the_rollups_of_the_batches(hist):
    df = history(hist, ["main"], T0, T0 + DAY, 20)  # hourly buckets
    assert (df["level"] == "1h").all() and len(df) == 24
    assert df["mean"].tolist() == pytest.approx([100.0 * h for h in range(24)])
    daily = history(hist, ["main", "mains_v"], T0, T0 + 2 * DAY, 2)
    main = daily[daily["channel"] == "main"].iloc[0]
    assert (main["mean"], main["min"], main["max"]) == (pytest.approx(1150.0), 0.0, 2300.0)
    assert daily[daily["channel"] == "mains_v"]["mean"].tolist() == pytest.approx([230.0, 230.0])


def test_raw_rows_are_batches_from_their_start(hist):
    df = history(hist, ["main"], RECENT, RECENT + 5_000, 10)
    assert df["ts"].tolist() == list(range(RECENT, RECENT + 5_000, 500))
    assert (df["mean"] == df["min"]).all() and (df["max"] == df["mean"]).all()


def test_the_cost_does_not_grow_with_the_range(hist):
    sizes = [
        len(history(hist, ["main"], T0 + 3 * DAY - n, T0 + 3 * DAY))
        for n in (HOUR, DAY, 3 * DAY, 30 * DAY)
    ]
    assert sizes == [7200, 1440, 4320, 4320]  # raw, then minutes: never more than 20x the points


def test_levels_lost_to_retention_fall_back_to_the_next(tmp_path):
    with Database(tmp_path / "p.db") as db:
        register_channels(db, from_dict(CONFIG).channels, "mcp3208", T0)
        ends = tiled(T0, 3600)
        with db.atomic() as conn:
            write_rows(conn, current_rows(ends, 500.0), T0, Retention(None))
            conn.execute("DELETE FROM batch")  # raw retention has passed
        assert choose_level(db, [2], T0, T0 + HOUR, 1000) == "10s"
        assert len(history(db, ["main"], T0, T0 + HOUR)) == 360


def test_gaps_stay_gaps(tmp_path):
    with Database(tmp_path / "p.db") as db:
        register_channels(db, from_dict(CONFIG).channels, "mcp3208", T0)
        ends = np.r_[tiled(T0, 600), tiled(T0 + 1800_000, 600)]  # 20 minutes without data
        with db.atomic() as conn:
            write_rows(conn, current_rows(ends, 700.0), T0, Retention(None))
        df = history(db, ["main"], T0, T0 + 2400_000, 15)
        assert df["level"].iloc[0] == "1m" and len(df) == 20  # no bucket is made up for the hole
        holes = gaps(db, None, T0, T0 + HOUR)
        assert holes.to_dict("records") == [
            {"channel": "main", "start_ms": T0 + 600_000, "end_ms": T0 + 1800_000}
        ]


def test_empty_ranges_and_unknown_channels(hist):
    assert history(hist, None, T0 - 10 * DAY, T0 - 9 * DAY).empty
    assert list(history(hist, None, T0, T0).columns) == [
        "ts",
        "time",
        "channel",
        "level",
        "mean",
        "min",
        "max",
    ]
    with pytest.raises(StoreError, match="no channel named kitchen .channels: mains_v, main."):
        history(hist, ["kitchen"], T0, T0 + DAY)


def test_the_daemon_and_the_write_path_do_not_import_pandas():
    code = (
        "import sys, corcypower.daemon, corcypower.store.writer, corcypower.store.retention;"
        "print(sorted(m for m in ('pandas', 'bokeh') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
