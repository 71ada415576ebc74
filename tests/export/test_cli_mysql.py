"""`corcypower mysql init|status|export-now|resend` against a real MariaDB."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from corcypower.cli import cli
from tests.export.device import START_MS, Device

POWER = {"main": 600.0, "solar": -1200.0}


@pytest.fixture
def device(tmp_path):
    d = Device(tmp_path, "garage")
    d.write(START_MS, 10, POWER)
    return d


def run(*args):
    result = CliRunner().invoke(cli, ["mysql", *map(str, args)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def test_init_export_now_and_status(device, mariadb, database):
    config = device.config_file(mariadb.host, mariadb.port, database)
    first = run("init", "--config", config)
    assert first.exit_code == 0
    assert "CREATE TABLE IF NOT EXISTS `VolumeData`" in first.output and "MariaDB" in first.output
    assert run("init", "--config", config).exit_code == 0  # again: harmless

    before = run("status", "--config", config)
    assert before.exit_code == 0
    assert f"target:  corcy@127.0.0.1:{mariadb.port}/{database}, point 'garage'" in before.output
    assert "VolumeData point 'garage-main' = main, supply = import" in before.output
    assert "sent:    nothing yet; 0 rows in all" in before.output
    assert "backlog: 20 closed minutes of channels, oldest 2026-01-01" in before.output
    assert "error:   none" in before.output

    sent = run("export-now", "--config", config)
    assert sent.exit_code == 0
    assert f"sent 40 rows to 127.0.0.1:{mariadb.port}/{database} as point 'garage'" in sent.output
    assert mariadb.query(database, "SELECT count(*) FROM ChannelMinute") == [(20,)]

    after = run("status", "--config", config, "--ping").output
    assert "40 rows in all" in after and "backlog: 0 closed minutes" in after
    assert "server:  answers (10." in after


def test_errors_are_messages_not_tracebacks(device, mariadb, database):
    config = device.config_file(mariadb.host, mariadb.port, database, password="wrong")
    result = run("export-now", "--config", config)
    assert result.exit_code == 1
    assert "Error: MySQL corcy@127.0.0.1" in result.output and "access denied" in result.output
    status = run("status", "--config", config, "--ping").output
    assert "error:   MySQL corcy@127.0.0.1" in status and "1 failures in a row" in status
    assert "server:  MySQL corcy@" in status


def test_resend_sends_again_from_a_local_time(device, mariadb, database):
    config = device.config_file(mariadb.host, mariadb.port, database)
    run("init", "--config", config)
    run("export-now", "--config", config)
    result = run("resend", "--config", config, "--since", "all")
    assert result.exit_code == 0 and "will be sent again" in result.output
    assert "backlog: 20 closed minutes" in run("status", "--config", config).output
    assert "sent 40 rows" in run("export-now", "--config", config).output
    assert mariadb.query(database, "SELECT count(*), sum(ImportWh) FROM ChannelMinute") == [
        (20, pytest.approx(100.0))
    ]
    bad = run("resend", "--config", config, "--since", "yesterday")
    assert bad.exit_code == 2
    assert 'expected a date "YYYY-MM-DD", a time "YYYY-MM-DD HH:MM", or "all"' in bad.output


def test_refused_rows_are_listed(device, mariadb, database):
    config = device.config_file(mariadb.host, mariadb.port, database)
    run("init", "--config", config)
    with device.edit() as conn:
        conn.execute("UPDATE rollup_1m SET export_wh = -2 WHERE ts = ?", (START_MS,))
    assert "sent 38 rows" in run("export-now", "--config", config).output
    status = run("status", "--config", config).output
    assert "refused: 2 rows, set aside" in status
    assert "ChannelMinute main 2026-01-01" in status and "ChannelMinuteEnergy" in status


def test_world_readable_config_is_warned_about(device, tmp_path):
    config = device.config_file("127.0.0.1", 1, "db", mode=0o644)
    text = config.read_text().replace('password_file = "mysql-password"', 'password = "pw"')
    config.write_text(text)
    status = run("status", "--config", config).output
    assert "warning: " in status and "anyone on this machine can read it: chmod 600" in status


def test_without_the_section_nothing_is_exported(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('[adc]\nchip = "emulated"\n')
    result = run("status", "--config", config)
    assert result.exit_code == 1
    assert f"Error: {config}: no [export.mysql] host, so nothing is exported" in result.output
