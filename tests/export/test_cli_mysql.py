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


def run(*args, input=None):
    result = CliRunner().invoke(cli, ["mysql", *map(str, args)], input=input)
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


def test_init_as_an_administrator_when_the_device_may_only_write(device, mariadb, database):
    mariadb.query(database, "CREATE USER IF NOT EXISTS 'dba'@'%%' IDENTIFIED BY 'dba-pw'")
    mariadb.query(database, f"GRANT ALL ON `{database}`.* TO 'dba'@'%%'")
    mariadb.query(database, "CREATE USER IF NOT EXISTS 'writer'@'%%' IDENTIFIED BY 'pw'")
    mariadb.query(database, f"GRANT SELECT, INSERT, UPDATE ON `{database}`.* TO 'writer'@'%%'")
    config = device.config_file(mariadb.host, mariadb.port, database, password="pw")
    config.write_text(config.read_text().replace('user = "corcy"', 'user = "writer"'))
    refused = run("init", "--config", config)
    assert refused.exit_code == 1 and "CREATE command denied" in refused.output
    assert "run them as an administrator (--user)" in refused.output
    done = run("init", "--config", config, "--user", "dba", input="dba-pw\n")
    assert done.exit_code == 0 and "MySQL password of dba" in done.output
    assert (
        "dba@127.0.0.1" in done.output
        and "CREATE TRIGGER ChannelMinuteSummariesInsert" in done.output
    )
    assert "sent 40 rows" in run("export-now", "--config", config).output  # the triggers' rights
    assert mariadb.query(database, "SELECT count(*), sum(ImportWh) FROM ChannelHour") == [
        (2, pytest.approx(100.0))
    ]


def test_init_sets_the_time_zone_of_the_days(device, mariadb, database):
    config = device.config_file(mariadb.host, mariadb.port, database)
    config.write_text(config.read_text() + '\n[dashboard]\ntimezone = "America/New_York"\n')
    first = run("init", "--config", config).output
    assert "ChannelDay: days of America/New_York, counted from ChannelQuarter" in first
    assert "ChannelDay" not in run("init", "--config", config).output.replace("`ChannelDay`", "")
    moved = run("init", "--config", config, "--timezone", "Europe/Brussels").output
    assert "ChannelDay: days of Europe/Brussels" in moved
    bad = run("init", "--config", config, "--timezone", "Mars/Olympus")
    assert bad.exit_code == 2
    assert "'Mars/Olympus': expected a time zone name such as Europe/Brussels" in bad.output


def test_partition_splits_the_minutes_by_month_once(device, mariadb, database):
    config = device.config_file(mariadb.host, mariadb.port, database, timeout=120)
    run("init", "--config", config)
    run("export-now", "--config", config)
    first = run("partition", "--config", config, "--keep-months", "13")
    assert (
        first.exit_code == 0 and "ChannelMinute partitioned by month: p202601 … p" in first.output
    )
    again = run("partition", "--config", config, "--keep-months", "13").output
    assert again.endswith(":\n  nothing to do\n")
    assert mariadb.query(database, "SELECT count(*) FROM ChannelMinute") == [(20,)]
    bad = run("partition", "--config", config, "--keep-months", "0")
    assert bad.exit_code == 2 and "0 is not in the range 1<=x<=1200" in bad.output


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
