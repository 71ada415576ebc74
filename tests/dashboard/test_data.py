"""The data half: local time with daylight saving, live rows, big numbers, history, energy."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from corcypower import settings
from corcypower.dashboard import data
from corcypower.energy.account import of_config
from corcypower.energy.periods import Period
from corcypower.errors import ConfigError
from corcypower.store.database import Database
from tests.dashboard.helpers import CHANNELS, batch, config, outside_band, simulated_db

PARIS = ZoneInfo("Europe/Paris")


def ms(*args, tz=UTC) -> int:
    return int(datetime(*args, tzinfo=tz).timestamp() * 1000)


def test_clock_text_names_the_zone():
    assert data.clock_text(ms(2026, 7, 15, 12), PARIS) == "2026-07-15 14:00:00 CEST"
    assert data.clock_text(ms(2026, 1, 15, 12), PARIS) == "2026-01-15 13:00:00 CET"


def test_the_view_checks_its_settings():
    view = data.View.from_config(config())
    assert view.currents == ("main", "solar") and view.voltages == ("mains_v",)
    assert view.grid == ("main",) and view.live_ms == 600_000
    assert view.wiring.solar == ("solar",) and view.wiring.circuits == ()
    default = settings.from_dict({"channels": CHANNELS})  # no grid_channels: every current one
    assert data.View.from_config(default).grid == ("main", "solar")
    with pytest.raises(
        ConfigError, match=r'\[dashboard\] grid_channels: "mains_v" is not a current channel'
    ):
        data.View.from_config(config(dashboard={"grid_channels": ["mains_v"]}))
    with pytest.raises(
        ConfigError, match=r"live_minutes = 20: expected at most api.ring_seconds / 60 = 15"
    ):
        data.View.from_config(config(dashboard={"live_minutes": 20}))


def test_live_columns_have_ts_in_utc_and_x_in_local_time():
    view = data.View.from_config(config())
    ts = ms(2026, 7, 15, 12)
    cols = data.live_columns(
        view, [batch(ts, 500.0, -300.0), batch(ts + 500, 600.0, -200.0)], PARIS
    )
    assert cols["ts"] == [ts, ts + 500]
    assert cols["x"] == [ts + 7_200_000, ts + 7_200_500]
    assert cols["w_main"] == [500.0, 600.0] and cols["w_solar"] == [-300.0, -200.0]
    assert cols["total_w"] == [500.0, 600.0]  # the grid is "main" alone
    assert cols["v_mains_v"] == [230.0, 230.0]


def test_a_channel_missing_from_a_batch_is_nan_not_an_error():
    view = data.View.from_config(config())
    b = batch(1000)
    b["channels"] = b["channels"][:1]
    cols = data.live_columns(view, [b], PARIS)
    assert math.isnan(cols["w_main"][0]) and math.isnan(cols["total_w"][0])


def test_readings_total_the_grid_channels_and_derive_volts_from_s_over_i():
    view = data.View.from_config(
        config(dashboard={"grid_channels": ["main", "solar"], "solar_channels": []})
    )
    total, mains, main, solar = data.readings(view, batch(1000, 460.0, -230.0))
    assert (mains.kind, mains.volts, mains.hz) == ("voltage", 230.0, 50.0)
    assert main.watts == 460.0 and main.volts == pytest.approx(230.0) and main.pf == 0.9
    assert main.amps == pytest.approx(460.0 / 230.0 / 0.9)
    assert total.watts == pytest.approx(230.0)
    assert total.amps == pytest.approx(main.amps + solar.amps)
    assert total.volts == 230.0
    # PF of the total: net real power over the sum of apparent powers
    assert total.pf == pytest.approx(230.0 / ((460.0 + 230.0) / 0.9))


def test_flags_reach_the_readings():
    view = data.View.from_config(config())
    _, _, main, _ = data.readings(view, batch(1000, flags=1))
    assert main.flags == ("clipped",)


# --- against a real power.db -----------------------------------------------------------------


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    path = simulated_db(
        tmp_path_factory.mktemp("history") / "power.db", hours=3, end_ms=ms(2026, 7, 15, 12)
    )
    with Database(path, read_only=True) as db:
        yield db


def test_history_columns_give_each_channel_a_band_in_local_time(db):
    view = data.View.from_config(config())
    end = ms(2026, 7, 15, 12)
    cols = data.history_columns(db, view, end - 3_600_000, end, PARIS, points=100)
    main = cols["main"]
    assert set(cols) == {"main", "solar"}
    assert 100 <= len(main["x"]) <= 1000
    assert main["x"][0] >= end - 3_600_000 + 7_200_000 - 60_000  # local, CEST
    assert outside_band(main) == []
    assert max(cols["solar"]["mean"]) <= 0  # panels only export


def test_history_resolution_follows_the_range(db):
    view = data.View.from_config(config())
    end = ms(2026, 7, 15, 12)
    hour = data.history_columns(db, view, end - 3_600_000, end, PARIS, points=100)["main"]
    three = data.history_columns(db, view, end - 3 * 3_600_000, end, PARIS, points=100)["main"]
    step = lambda cols: (cols["x"][-1] - cols["x"][0]) / (len(cols["x"]) - 1)  # noqa: E731
    assert step(three) > step(hour)


def test_a_gap_in_the_data_breaks_the_line(tmp_path):
    end = ms(2026, 7, 15, 12)
    path = simulated_db(tmp_path / "gap.db", hours=0.5, end_ms=end - 5_400_000)
    simulated_db(path, hours=0.5, end_ms=end)  # the hour between is a gap: the daemon was off
    view = data.View.from_config(config())
    with Database(path, read_only=True) as db:
        cols = data.history_columns(db, view, end - 7_200_000, end, PARIS, points=100)["main"]
    breaks = [k for k, m in enumerate(cols["mean"]) if math.isnan(m)]
    assert len(breaks) == 1
    k = breaks[0]
    assert cols["x"][k - 1] < cols["x"][k] < cols["x"][k + 1]
    assert cols["x"][k + 1] - cols["x"][k - 1] >= 3_600_000


def test_a_long_history_is_merged_into_at_most_twice_the_points(db):
    view = data.View.from_config(config())
    end = ms(2026, 7, 15, 12)
    cols = data.history_columns(db, view, end - 3_600_000, end, PARIS, points=300)["main"]
    assert 300 <= len(cols["x"]) <= 600  # 7200 raw batches an hour
    assert outside_band(cols) == []


def test_merge_keeps_the_band_and_averages_the_means():
    ts = np.arange(0.0, 60_000.0, 10_000.0)  # six 10 s buckets
    values = {"mean": np.arange(6.0), "min": np.arange(6.0) - 1, "max": np.arange(6.0) + 1}
    merged_ts, merged, width = data.merge(ts, values, 30_000.0)
    assert merged_ts.tolist() == [0.0, 30_000.0] and width == 30_000.0
    assert merged["mean"].tolist() == [1.0, 4.0]
    assert merged["min"].tolist() == [-1.0, 2.0] and merged["max"].tolist() == [3.0, 6.0]


def test_energy_columns_are_the_bars_of_an_account_in_local_time(db):
    cfg = config()
    period = Period.containing("day", date(2026, 7, 15))
    a = of_config(db, cfg, period.edges(PARIS), period.bars)
    cols = data.energy_columns(a, PARIS)
    assert len(cols["x"]) == 24 and cols["bar"][0] == "00:00 CEST"
    midnight = ms(2026, 7, 15)  # local midnight as wall-clock ms reads 00:00 on the axis
    assert cols["x"][0] == midnight + 1_800_000 and cols["width"][0] == 0.8 * 3_600_000
    measured = a.measured_h > 0  # 09:00 to 12:00 UTC; no bar where nothing was measured
    assert measured.sum() == 3
    assert np.array(cols["import_kwh"])[measured].tolist() == a.grid_import[measured].tolist()
    assert np.array(cols["export_kwh"])[measured].tolist() == (-a.grid_export[measured]).tolist()
    assert np.isnan(np.array(cols["solar_kwh"])[~measured]).all()
    assert set(cols) == set(data.empty_energy_columns(data.View.from_config(cfg)))
