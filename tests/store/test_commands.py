"""The history commands (corcypower/cli/history.py): simulate, export, import, rebuild."""

from __future__ import annotations

import csv
import io
import os
import shutil
import sqlite3
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

from corcypower.cli import cli
from corcypower.cli.history import parse_time
from corcypower.errors import CorcyPowerError
from corcypower.store.database import Database
from corcypower.store.lock import WriterLock
from tests.helpers import REPO, skip_unless
from tests.store.test_importer import good_rows, original_db

NOW = 1_767_225_600_000


def run(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert "Traceback" not in result.output
    return result


@pytest.fixture
def simulated(emulated_config, tmp_path):
    config = emulated_config()
    result = run("simulate", "--config", config, "--days", 0.05)
    assert result.exit_code == 0, result.output
    return config, tmp_path / "power.db", result


def test_simulate_fills_the_configured_database(simulated):
    _, path, result = simulated
    assert f"{path}: 17280 batch rows of 2 channels simulated" in result.output
    with Database(path, read_only=True) as db:
        assert db.query("SELECT count(*) FROM span")[0][0] == 2


def test_export_to_stdout_and_to_a_file(simulated, tmp_path):
    config, _, _ = simulated
    result = run(
        "export", "--config", config, "--start", "-1h", "--channels", "main", "--resolution", "1m"
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) in (60, 61) and {r["channel"] for r in rows} == {"main"}
    out = tmp_path / "h.csv"
    result = run("export", "--config", config, "--start", "-2h", "--points", 10, "--out", out)
    assert result.exit_code == 0 and "rows at level 1m" in result.output  # 15m gives 5
    assert out.read_text().startswith("ts,time,channel,level,unit,mean,min,max")


def test_export_phases_adds_a_total_row_per_phase_and_the_house(emulated_config, tmp_path):
    channels = "".join(
        f'[[channels]]\nname = "{name}"\nadc_channel = {a}\nkind = "{kind}"\nscale = 0.02\n'
        f'phase = "{phase}"\n\n'
        for name, a, kind, phase in [("v", 0, "voltage", "L1"), ("l1", 1, "current", "L1"),
                                     ("l2", 2, "current", "L2")]
    )  # fmt: skip
    config = emulated_config(channels=channels)
    assert run("simulate", "--config", config, "--days", 0.01).exit_code == 0
    args = ("export", "--config", config, "--start", "-1h", "--resolution", "15m")
    result = run(*args, "--channels", "l2", "--phases")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    first = [r["channel"] for r in rows if r["ts"] == rows[0]["ts"]]
    assert first == ["l2", "phase:L1", "phase:L2", "house"]
    by = {r["channel"]: float(r["mean"]) for r in rows if r["ts"] == rows[0]["ts"]}
    assert by["house"] == pytest.approx(by["phase:L1"] + by["phase:L2"])
    assert by["phase:L2"] == by["l2"]
    bad = run(*args, "--phases", "--energy", "day")
    assert bad.exit_code == 2 and "--phases adds rows to the power history: drop --energy" in (
        bad.output
    )


def test_export_errors_name_the_option(simulated):
    config, _, _ = simulated
    bad = run("export", "--config", config, "--start", "last tuesday")
    assert bad.exit_code != 0 and "--start 'last tuesday': expected 'now'" in bad.output
    bad = run("export", "--config", config, "--start", "now", "--end", "-1h")
    assert bad.exit_code != 0 and "is not after --start" in bad.output
    bad = run("export", "--config", config, "--channels", "main,attic")
    assert bad.exit_code != 0 and "no channel named attic" in bad.output


def test_import_twice_and_rebuild(tmp_path, emulated_config):
    config = emulated_config()
    old = tmp_path / "old.db"
    rows = good_rows(time.time() - 3600, 1200) + [(None, 0, 1.0, 511.0, 500.0, 520.0)]
    original_db(old, rows)
    result = run("import", "--config", config, old, "--channel", "0=grid", "--scale", 0.1)
    assert result.exit_code == 0, result.output
    assert f"{old} rowid 1201: time = None: expected a number; skipped" in result.output
    assert (
        f"{old}: 1201 rows read, 1200 stored, 0 already stored, 1 bad rows skipped" in result.output
    )
    again = run("import", "--config", config, old, "--channel", "0=grid", "--scale", 0.1)
    assert "0 stored, 1200 already stored" in again.output
    db_path = tmp_path / "power.db"
    with sqlite3.connect(db_path) as conn:
        conn.execute("UPDATE rollup_1d SET import_wh = 0")  # damage, repaired below
    result = run("rebuild", "--config", config)
    assert result.exit_code == 0 and "rollups rebuilt from" in result.output
    with Database(db_path, read_only=True) as db:
        energy = db.query("SELECT sum(import_wh) FROM rollup_1d")[0][0]
    raw_wh = 1200 * 0.5 * 10 * 0.1 * 237 / 3600
    assert energy == pytest.approx(raw_wh)


def test_import_errors(tmp_path, emulated_config):
    config = emulated_config()
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    bad = run("import", "--config", config, text)
    assert bad.exit_code != 0 and "neither a sqlite database nor a mongoexport" in bad.output
    bad = run("import", "--config", config, text, "--channel", "nine=x")
    assert bad.exit_code != 0 and "--channel 'nine=x': expected N=NAME" in bad.output


def test_parse_time():
    assert parse_time("now", "--end", NOW) == NOW
    assert parse_time("-90m", "--start", NOW) == NOW - 90 * 60_000
    assert parse_time("-1.5d", "--start", NOW) == NOW - 129_600_000
    assert parse_time("2026-01-01T00:00:00+00:00", "--start", NOW) == NOW
    with pytest.raises(CorcyPowerError, match="--start 'soon'"):
        parse_time("soon", "--start", NOW)


def fails_cleanly(result, *expected: str) -> str:
    """Exit 1 or 2 with one 'Error:' line saying `expected`, never a traceback."""
    assert isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code in (1, 2), result.output
    error = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(error) == 1, result.output
    for text in expected:
        assert text in error[0], error[0]
    return error[0]


@pytest.mark.parametrize(
    "args, expected",
    [
        (["--start", "-99999999999999999999d"], "expected a time between 1970 and 2100"),
        (["--start", "0001-01-01"], "--start '0001-01-01': expected a time between 1970"),
        (["--end", "9999-12-31"], "--end '9999-12-31': expected a time between 1970"),
        (["--points", "99999999999999999999"], "--points"),
        (["--channels", ","], "--channels ',': expected channel names"),
        (["--out", "/nonexistent/dir/h.csv"], "--out /nonexistent/dir/h.csv: cannot write it"),
    ],
)
def test_export_arguments_out_of_range_are_one_line_errors(simulated, args, expected):
    config, _, _ = simulated
    fails_cleanly(run("export", "--config", config, *args), expected)


@pytest.mark.parametrize("command", ["export", "status", "rebuild", "simulate"])
def test_a_sqlite_file_that_is_not_ours_is_refused_untouched(tmp_path, command):
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE notes (text)")
    before = other.read_bytes()
    extra = ["--days", "0.01"] if command == "simulate" else []
    result = run(command, "--db", other, *extra)
    fails_cleanly(result, f"{other}: not a CorcyPower database", "it holds notes")
    assert other.read_bytes() == before  # no schema, no WAL switched on in someone else's file


def test_import_of_a_damaged_sqlite_file(tmp_path, emulated_config):
    config = emulated_config()
    old = tmp_path / "old.db"
    original_db(old, good_rows(time.time() - 86_400, 20_000))
    data = bytearray(old.read_bytes())
    data[40_000:200_000] = b"\xa5" * 160_000
    old.write_bytes(bytes(data))
    fails_cleanly(run("import", "--config", config, old), f"{old}: ", "malformed")


def test_a_database_under_a_path_that_cannot_be_a_directory(tmp_path, emulated_config):
    (tmp_path / "file").write_text("")
    config = emulated_config({"store": f'path = "{tmp_path / "file" / "power.db"}"'})
    config.write_text(config.read_text().replace(f'path = "{tmp_path / "power.db"}"\n', ""))
    for command in (["simulate", "--days", "0.01"], ["rebuild"], ["status"], ["export"]):
        fails_cleanly(run(*command, "--config", config), f"{tmp_path / 'file' / 'power.db'}")


@pytest.mark.parametrize("directory", ["writable", "read-only"])
def test_a_read_only_database_is_a_clear_error(simulated, tmp_path, directory):
    """chmod'ed read-only, as a user would find it; root writes anything, so a child drops that.

    In a writable directory sqlite opens the file read-only without a word and used to fail
    at the first write, with a traceback.
    """
    config, path, _ = simulated
    skip_unless(shutil.which("setpriv") is not None, "setpriv (util-linux) is not installed")
    path.chmod(0o444)
    if directory == "read-only":
        tmp_path.chmod(0o555)
    try:
        for command in (["rebuild"], ["simulate", "--days", "0.01"], ["run"]):
            done = subprocess.run(
                ["setpriv", "--bounding-set=-dac_override,-dac_read_search", sys.executable]
                + ["-m", "corcypower", *command, "--config", str(config)],
                capture_output=True, text=True, cwd=REPO, timeout=120,
            )  # fmt: skip
            assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
            [line] = done.stderr.strip().splitlines()
            assert line.startswith(f"Error: {path}"), line
    finally:
        tmp_path.chmod(0o755)
        path.chmod(0o644)


def test_writing_commands_refuse_while_another_writer_holds_the_database(simulated):
    config, path, _ = simulated
    with WriterLock(path, "corcypower run"):
        for command in (["simulate", "--days", "0.01"], ["rebuild"], ["import", path]):
            fails_cleanly(
                run(*command, "--config", config),
                f"{path}: in use by pid {os.getpid()} (corcypower run)",
                "sudo systemctl stop mcpd",
            )
    assert run("rebuild", "--config", config).exit_code == 0  # free again
