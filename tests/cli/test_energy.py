"""`corcypower report` and `corcypower export --energy`: the same figures as text, CSV and JSON."""

from __future__ import annotations

import csv
import io
import json
from datetime import date

import pytest
import tomlkit
from click.testing import CliRunner

from corcypower.cli import cli
from corcypower.store.database import Database
from corcypower.store.writer import register_channels
from tests.energy.helpers import CHANNELS, PEAK, TARIFF, config, fill


@pytest.fixture(scope="module")
def house(tmp_path_factory):
    """A config file and a power.db holding 1 to 3 November 2026 (see tests/energy/helpers.py)."""
    tmp = tmp_path_factory.mktemp("report")
    db = tmp / "power.db"
    with Database(db) as database:
        register_channels(database, config().channels, "mcp3208", 0)
        fill(database, date(2026, 11, 2), 2)  # Monday and Tuesday
    path = tmp / "config.toml"
    data = {
        "store": {"path": str(db)},
        "dashboard": {"grid_channels": ["main"], "solar_channels": ["solar"]},
        "tariff": TARIFF | {"periods": [PEAK | {"days": ["weekdays"]}]},
        "channels": CHANNELS,
    }
    path.write_text(tomlkit.dumps(data))
    return path


def run(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    return result.exit_code, result.output


def test_the_text_report_of_a_month_adds_up_like_a_bill(house):
    code, out = run("report", "--config", house, "--month", "2026-11")
    assert code == 0, out
    assert out.startswith(
        "CorcyPower report: November 2026 (Europe/Paris): 2026-11-01 00:00 to 2026-12-01 00:00"
    )
    assert "measured 48.0 h of 720 h" in out
    # two days: 12 kWh imported before noon each (5 of them peak), 6 exported after
    assert "  from the grid                      24.00" in out
    assert "  to the grid                        12.00" in out
    assert "  solar produced                     48.00" in out
    assert "  solar used in the house            36.00  (75 % of the solar)" in out
    assert "  fridge                              4.80" in out
    assert "  standard import                    14.00 kWh × 0.1800      2.52" in out
    assert "  peak import                        10.00 kWh × 0.3000      3.00" in out
    assert "  standing charge                    30.00 days × 0.4500    13.50" in out
    assert "  export credit                      12.00 kWh × 0.0800     -0.96" in out
    assert out.rstrip().endswith("18.06 EUR")


def test_csv_and_json_carry_the_same_figures(house):
    code, out = run("report", "--config", house, "--week", "2026-W45", "--format", "csv")
    assert code == 0, out
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["bar"] for r in rows] == [
        "Mon 2 Nov",
        "Tue 3 Nov",
        "Wed 4 Nov",
        "Thu 5 Nov",
        "Fri 6 Nov",
        "Sat 7 Nov",
        "Sun 8 Nov",
        "total",
    ]
    assert float(rows[-1]["grid_import_kwh"]) == pytest.approx(24.0)
    assert float(rows[0]["import_peak_kwh"]) == pytest.approx(5.0)
    code, out = run("report", "--config", house, "--week", "2026-11-04", "--format", "json")
    doc = json.loads(out)
    assert doc["totals"]["grid_import_kwh"] == pytest.approx(24.0)
    assert doc["totals"]["self_consumption"] == pytest.approx(0.75)
    assert doc["tariff"]["periods"][0] == {
        "name": "peak",
        "price_per_kwh": 0.3,
        "start": "07:00",
        "end": "23:00",
    }
    assert len(doc["rows"]) == 7 and doc["rows"][0]["bar"] == "Mon 2 Nov"


def test_export_energy_writes_the_bars_of_the_range(house, tmp_path):
    out = tmp_path / "energy.csv"
    code, text = run(
        "export",
        "--config",
        house,
        "--energy",
        "day",
        "--start",
        "2026-11-02",
        "--end",
        "2026-11-04",
        "--out",
        out,
    )
    assert code == 0, text
    rows = list(csv.DictReader(out.open()))
    assert [r["start"] for r in rows] == ["2026-11-02T00:00:00+01:00", "2026-11-03T00:00:00+01:00"]
    assert float(rows[0]["cost"]) == pytest.approx(7 * 0.18 + 5 * 0.30 + 0.45 - 6 * 0.08)
    assert "2 rows of energy per day" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--month", "2026-13"], "Error: --month '2026-13': expected a month like 2026-11"),
        (
            ["--day", "2026-11-01", "--month", "2026-11"],
            "give one of --day, --week, --month, --year",
        ),
    ],
)
def test_a_bad_period_is_a_clear_error(house, args, message):
    code, out = run("report", "--config", house, *args)
    assert code in (1, 2) and message in out and "Traceback" not in out


def test_export_energy_takes_no_channels(house):
    code, out = run("export", "--config", house, "--energy", "day", "--channels", "main")
    assert code == 2 and "--energy takes the channels' roles from the config" in out
