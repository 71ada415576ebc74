"""docs/energy.md keeps up with the code: settings, CSV columns, report options, figures."""

from __future__ import annotations

from click.testing import CliRunner

from corcypower.cli import cli
from corcypower.energy.account import of_config
from corcypower.energy.report import csv_header
from corcypower.settings import SETTINGS
from corcypower.store.database import Database
from tests.energy.helpers import PEAK, config
from tests.helpers import REPO

DOC = (REPO / "docs" / "energy.md").read_text()
README = (REPO / "README.md").read_text()


def test_every_tariff_setting_is_in_the_example():
    for s in SETTINGS:
        if s.name.startswith("tariff."):
            key = s.name.split(".", 1)[1]
            assert f"{key} = " in DOC or f"[[tariff.{key}]]" in DOC, s.name
    assert "solar_channels" in DOC and "grid_channels" in DOC


def test_every_csv_column_is_explained(tmp_path):
    with Database(
        tmp_path / "power.db"
    ) as db:  # a house with a circuit (fridge) and a period (peak)
        a = of_config(db, config(periods=[PEAK]), [0, 3_600_000], "hour")
    for column in csv_header(a):
        shown = {"circuit_fridge_kwh": "circuit_<name>_kwh"}.get(column, column)
        if column.startswith("import_"):
            shown = "import_<price>_kwh"
        assert f"`{shown}`" in DOC, column


def test_the_report_and_its_options_are_documented():
    assert "`corcypower report" in README and "`corcypower export --energy" in DOC
    help_text = CliRunner().invoke(cli, ["report", "--help"]).output
    for option in ("--day", "--week", "--month", "--year", "--format", "--out"):
        assert option in help_text and f"`{option}" in DOC, option
