"""The energy account of a period against analytic answers, and against the sqlite3 shell."""

from __future__ import annotations

from datetime import date

import pytest

from corcypower.energy.account import Wiring, account
from corcypower.energy.periods import Period
from corcypower.energy.tariff import Tariff
from corcypower.energy.zone import midnight_ms
from corcypower.errors import ConfigError
from corcypower.settings import from_dict
from corcypower.store.database import Database
from tests.energy.helpers import CHANNELS, PARIS, PEAK, config, fill
from tests.store.conftest import sqlite3_shell


def day_account(db, day: date, now_ms=None, **tariff):
    c = config(**tariff)
    period = Period.containing("day", day)
    t = Tariff.from_config(c)
    return account(db, Wiring.from_config(c), t, period.edges(t.tz), period.bars, now_ms)


def test_a_day_with_25_hours_adds_up(db):
    day = date(2026, 10, 25)  # summer time ends: 02:00 happens twice, before noon
    fill(db, day, 1)
    a = day_account(db, day, periods=[PEAK])
    assert len(a.labels) == 25
    assert a.total(a.grid_import) == pytest.approx(13.0)  # 13 hours before noon
    assert a.total(a.grid_export) == pytest.approx(6.0)  # 12 hours after
    assert a.total(a.solar) == pytest.approx(24.0)
    assert a.total(a.consumption) == pytest.approx(31.0)  # 13 x 1 kW + 12 x 1.5 kW
    assert a.total(a.self_consumed) == pytest.approx(18.0)
    assert a.ratio(a.self_consumed, a.solar) == pytest.approx(0.75)
    assert a.ratio(a.self_consumed, a.consumption) == pytest.approx(18 / 31)
    assert a.total(a.circuits["fridge"]) == pytest.approx(2.5)
    assert a.total(a.untracked) == pytest.approx(28.5)
    # off-peak 00:00-07:00 is 8 hours today, peak 07:00-12:00 five
    assert [a.total(k) for k in a.import_by_price] == pytest.approx([8.0, 5.0])
    assert a.total(a.energy_cost) == pytest.approx(8 * 0.18 + 5 * 0.30)
    assert a.total(a.standing_charge) == pytest.approx(0.45)
    assert a.standing_charge[0] == pytest.approx(0.45 / 25)
    assert a.total(a.export_credit) == pytest.approx(6 * 0.08)
    assert a.total(a.cost) == pytest.approx(8 * 0.18 + 5 * 0.30 + 0.45 - 6 * 0.08)
    assert a.total(a.measured_h) == pytest.approx(25.0)
    # each hour bar holds its own hour
    assert a.grid_import[:13] == pytest.approx([1.0] * 13)
    assert a.grid_export[13:] == pytest.approx([0.5] * 12)


def test_peak_applies_on_weekdays_only(db):
    fill(db, date(2026, 11, 20), 2)  # Friday and Saturday
    weekdays = [PEAK | {"days": ["weekdays"]}]
    friday = day_account(db, date(2026, 11, 20), periods=weekdays)
    saturday = day_account(db, date(2026, 11, 21), periods=weekdays)
    assert [friday.total(k) for k in friday.import_by_price] == pytest.approx([7.0, 5.0])
    assert [saturday.total(k) for k in saturday.import_by_price] == pytest.approx([12.0, 0.0])


def test_the_standing_charge_counts_the_days_begun_by_now(db):
    c = config()
    t = Tariff.from_config(c)
    month = Period.containing("month", date(2026, 11, 1))
    now = midnight_ms(date(2026, 11, 10), PARIS) + 12 * 3_600_000
    a = account(db, Wiring.from_config(c), t, month.edges(t.tz), month.bars, now)
    assert a.total(a.standing_days) == pytest.approx(10.0)
    assert a.total(a.grid_import) == 0.0 and a.total(a.measured_h) == 0.0


def test_the_same_totals_from_the_sqlite3_shell(db):
    fill(db, date(2026, 11, 16), 3)
    week = Period.containing("week", date(2026, 11, 18))
    c = config()
    t = Tariff.from_config(c)
    a = account(db, Wiring.from_config(c), t, week.edges(t.tz), week.bars)
    start, end = week.edges(t.tz)[0], week.edges(t.tz)[-1]
    out = sqlite3_shell(
        db.path,
        f"""SELECT c.name, sum(r.import_wh) / 1000, sum(r.export_wh) / 1000 FROM rollup_1m r
            JOIN channel c ON c.id = r.channel_id WHERE r.ts >= {start} AND r.ts < {end}
            GROUP BY c.name ORDER BY c.name""",
    )
    shell = {name: (float(i), float(e)) for name, i, e in (line.split("|") for line in out.split())}
    assert a.total(a.grid_import) == pytest.approx(shell["main"][0], abs=1e-9)
    assert a.total(a.grid_export) == pytest.approx(shell["main"][1], abs=1e-9)
    assert a.total(a.solar) == pytest.approx(shell["solar"][1] - shell["solar"][0], abs=1e-9)
    assert a.total(a.circuits["fridge"]) == pytest.approx(shell["fridge"][0], abs=1e-9)


def test_where_minutes_were_pruned_the_quarter_hours_give_the_same_energy(db):
    fill(db, date(2026, 11, 16), 2)
    before = day_account(db, date(2026, 11, 17), periods=[PEAK])
    cut = midnight_ms(date(2026, 11, 17), PARIS) + 10 * 3_600_000 + 7 * 60_000  # 10:07
    with db.atomic() as conn:
        conn.execute("DELETE FROM rollup_1m WHERE ts < ?", (cut,))
    after = day_account(db, date(2026, 11, 17), periods=[PEAK])
    for name in ("grid_import", "grid_export", "solar", "energy_cost", "cost", "measured_h"):
        assert getattr(after, name) == pytest.approx(getattr(before, name)), name


def test_an_empty_database_gives_zeros(tmp_path):
    with Database(tmp_path / "power.db") as db:
        a = day_account(db, date(2026, 11, 17))
    assert a.total(a.consumption) == 0 and a.ratio(a.self_consumed, a.solar) is None
    assert len(a.labels) == 24


def test_the_wiring_is_checked():
    with pytest.raises(ConfigError, match='solar_channels: "main" is in grid_channels too'):
        Wiring.from_config(
            from_dict(
                {
                    "dashboard": {"solar_channels": ["main"], "grid_channels": ["main"]},
                    "channels": CHANNELS,
                }
            )
        )
    with pytest.raises(ConfigError, match='solar_channels: "pv" is not a current channel'):
        Wiring.from_config(
            from_dict({"dashboard": {"solar_channels": ["pv"]}, "channels": CHANNELS})
        )
    default = Wiring.from_config(
        from_dict({"dashboard": {"solar_channels": ["solar"]}, "channels": CHANNELS})
    )
    assert default == Wiring(("main", "fridge"), ("solar",), ())
