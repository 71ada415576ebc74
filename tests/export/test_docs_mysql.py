"""docs/mysql.md and the README keep up with the code: settings, commands, columns, examples."""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib

import pytest

from corcypower import settings
from corcypower.cli.mysql import mysql
from corcypower.export.config import from_config
from corcypower.export.tables import COLUMNS
from tests.helpers import REPO, skip_unless

DOC = (REPO / "docs" / "mysql.md").read_text()
README = (REPO / "README.md").read_text()
PHASES = [
    {"name": n, "adc_channel": k, "kind": "current", "scale": 0.02, "voltage": 230}
    for k, n in enumerate(["l1", "l2", "l3", "solar"])
]


def blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", text, re.S)


def test_every_setting_is_named():
    for s in settings.SETTINGS:
        if s.name.startswith("export.mysql."):
            assert f"`{s.name.removeprefix('export.mysql.')}`" in DOC, s.name


def test_every_command_is_documented():
    for name in mysql.commands:
        assert f"`corcypower mysql {name}" in DOC, name
        assert name in README, name


def test_every_column_is_documented():
    for table, columns in COLUMNS.items():
        assert f"### {table}" in DOC
        for column in columns:
            assert f"`{column}`" in DOC, column


@pytest.mark.parametrize("text", [DOC, README], ids=["docs/mysql.md", "README.md"])
def test_the_toml_examples_are_valid(text, monkeypatch):
    monkeypatch.setenv("CORCYPOWER_MYSQL_PASSWORD", "pw")  # the examples' password file is not here
    examples = [b for b in blocks(text, "toml") if "[export.mysql]" in b]
    assert examples
    for example in examples:
        config = settings.from_dict(tomllib.loads(example) | {"channels": PHASES})
        assert from_config(config).host == "nas.local"


def test_the_systemd_drop_in_verifies(tmp_path):
    tool = shutil.which("systemd-analyze")
    skip_unless(tool is not None, "systemd-analyze is not installed")
    (drop_in,) = [b for b in blocks(DOC, "ini") if "LoadCredential=" in b]
    program = tmp_path / "opt/corcypower/venv/bin/corcypower"
    program.parent.mkdir(parents=True)
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    unit = (REPO / "systemd" / "mcpd.service").read_text()
    unit = unit.replace("/opt/corcypower", str(tmp_path / "opt/corcypower"))
    (tmp_path / "mcpd.service").write_text(unit + "\n" + drop_in)  # as a drop-in merges
    done = subprocess.run(
        [tool, "verify", "--man=no", str(tmp_path / "mcpd.service")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0 and done.stdout + done.stderr == ""
