"""The history store's tables, views, commands and settings are all documented."""

from __future__ import annotations

from click.testing import CliRunner

from corcypower.cli import cli
from corcypower.settings import SETTINGS
from corcypower.store.database import Database
from tests.helpers import REPO

HISTORY_DOC = (REPO / "docs" / "history.md").read_text()
README = (REPO / "README.md").read_text()
COMMANDS = ("simulate", "export", "import", "rebuild")


def test_every_table_and_view_of_the_store_is_in_docs_history(tmp_path):
    with Database(tmp_path / "p.db") as db:
        names = db.query("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")
    # the exporter's and the alerts' tables are in docs/mysql.md and docs/alerts.md
    ours = {r[0] for r in names} - {"mysql_export", "mysql_rejected"}
    ours -= {"alert_event", "alerts", "alerts_active"}
    missing = sorted(n for n in ours if f"`{n}`" not in HISTORY_DOC)
    assert not missing


def test_every_history_command_is_in_the_readme_and_its_options_in_the_docs():
    for name in COMMANDS:
        assert f"`corcypower {name}" in README
        help_text = CliRunner().invoke(cli, [name, "--help"]).output
        for option in (
            ("--start", "--end", "--channels", "--resolution", "--out") if name == "export" else ()
        ):
            assert option in help_text and f"`{option}" in HISTORY_DOC


def test_every_store_setting_is_in_docs_history():
    for s in SETTINGS:
        if s.name.startswith("store.") and s.name not in ("store.path",):
            assert f"`{s.name}`" in HISTORY_DOC, s.name
