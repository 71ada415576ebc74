"""What every command shares: --config, as the README says."""

from __future__ import annotations

import click
from click.testing import CliRunner

from corcypower.cli import cli
from tests.helpers import REPO


def commands(group: click.Group, prefix: str = ""):
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from commands(command, f"{prefix}{name} ")
        else:
            yield f"{prefix}{name}", command


def test_every_command_takes_config():
    lacking = [
        name
        for name, command in commands(cli)
        if "--config" not in [o for p in command.params for o in getattr(p, "opts", [])]
    ]
    assert lacking == []


def test_settings_with_a_config_checks_it_and_lists_what_it_sets(tmp_path):
    result = CliRunner().invoke(
        cli, ["settings", "--config", str(REPO / "examples" / "emulator.toml")]
    )
    assert result.exit_code == 0, result.output
    assert result.output.startswith("# Settings")
    assert "- `dashboard.solar_channels` = `['solar']`" in result.output
    bad = tmp_path / "bad.toml"
    bad.write_text("[tariff]\nprice_per_kwh = -1\n")
    result = CliRunner().invoke(cli, ["settings", "--config", str(bad)])
    assert result.exit_code == 1
    assert "[tariff] price_per_kwh = -1: expected a number from 0.0 to 1000.0" in result.output
