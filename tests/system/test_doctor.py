"""`corcypower doctor` against temporary directories, real local servers and a real MariaDB."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from corcypower import settings
from corcypower.cli import cli
from corcypower.clock import FakeClock
from corcypower.daemon import Daemon
from corcypower.doctor import Result, check_clock, check_mysql, diagnose, report
from corcypower.probe import Probe, describe_greeting
from tests.conftest import CHANNELS
from tests.export.mariadb import free_port
from tests.helpers import REPO, skip_unless


class Server:
    """A local HTTP server answering every GET with one status and JSON body."""

    def __init__(self, status: int = 200, body: dict | None = None):
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                data = json.dumps(outer.body).encode()
                self.send_response(outer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.status, self.body = status, body or {}
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def servers():
    api = Server(
        200, {"age_ms": 400, "channels": [{"name": "main", "kind": "current", "flags": []}]}
    )
    dashboard = Server(200, {})
    yield api, dashboard
    api.close()
    dashboard.close()


@pytest.fixture
def pi(tmp_path, servers):
    """A Pi in a temporary directory: a config, a database with rows, /dev, a unit directory."""
    api, dashboard = servers

    def config(chip: str = "mcp3208", extra: str = "") -> Path:
        path = tmp_path / "config.toml"
        path.write_text(
            f'[adc]\nchip = "{chip}"\n[emulator]\nchip = "mcp3208"\n'
            f'[store]\npath = "{tmp_path / "power.db"}"\ncommit_seconds = 60\n'
            f"[api]\nport = {api.port}\n[dashboard]\nport = {dashboard.port}\n{extra}\n{CHANNELS}"
        )
        return path

    # a database the daemon wrote: a few batches on the emulated chip
    daemon = Daemon(settings.load(config("emulated")), FakeClock())
    daemon.open_store()
    while daemon.batches < 4:
        for raw in daemon.acquisition.read_once():
            daemon.process(raw)
    daemon.writer.flush()
    last = daemon.last_ts
    daemon.close_store()

    dev = tmp_path / "dev"
    dev.mkdir()
    spidev = dev / "spidev0.0"
    spidev.touch()
    spidev.chmod(0o660)
    units = tmp_path / "units"
    units.mkdir()
    (units / "mcpd.service").touch()
    (units / "dashboard.service").touch()
    gid = spidev.stat().st_gid
    probe = Probe(
        dev=dev,
        unit_dir=units,
        timesync_flag=tmp_path / "synchronized",
        run=lambda argv: (0, "yes\n" if argv[0] == "timedatectl" else "active\n"),
        user=lambda name: (4242, {4242, gid}) if name == "corcypower" else None,
        wall_ms=lambda: last + 1500,
        has_module=lambda name: True,
    )
    return config, probe, spidev


def lines(results: list[Result]) -> str:
    return report(results)[0]


def test_a_healthy_pi_is_all_ticks_and_exits_0(pi):
    config, probe, _ = pi
    results = diagnose(config(), probe)
    text, code = report(results)
    assert code == 0, text
    assert "✗" not in text and text.endswith("all good\n")
    for expected in (
        "✓ config",
        "✓ SPI: ",
        "readable and writable by corcypower",
        "✓ mcpd.service: active",
        "integrity_check ok",
        "✓ disk: ",
        "✓ last row: 1.5 s ago",
        "✓ clock: synchronised",
        "✓ daemon API: answering",
        'from this machine only (dashboard.address = "127.0.0.1"',
        "– MySQL export: not configured",
        "– alerts: none configured",
    ):
        assert expected in text, (expected, text)


def test_spi_off_says_how_to_switch_it_on(pi):
    config, probe, spidev = pi
    spidev.unlink()
    text, code = report(diagnose(config(), probe))
    assert code == 1
    assert f"✗ SPI: {spidev} does not exist (SPI is off)" in text
    assert "fix: sudo raspi-config nonint do_spi 0" in text and "reboot" in text


def test_a_service_user_outside_the_device_group_is_told_to_join_it(pi):
    config, probe, spidev = pi
    probe.user = lambda name: (4242, {4242})
    text, _ = report(diagnose(config(), probe))
    assert "is not in it" in text and "fix: sudo usermod -aG " in text and " corcypower" in text


def test_a_device_no_group_may_use_points_at_udev(pi):
    config, probe, spidev = pi
    spidev.chmod(0o600)
    probe.user = lambda name: (4242, {4242, spidev.stat().st_gid})
    text, _ = report(diagnose(config(), probe))
    assert "is mode crw" not in text and "-rw-------: no group may use it" in text
    assert "udev" in text


def test_missing_user_and_missing_spidev_module(pi):
    config, probe, _ = pi
    probe.user = lambda name: None
    probe.has_module = lambda name: False
    text, _ = report(diagnose(config(), probe))
    assert "no user corcypower" in text and "sudo ./install.sh" in text
    assert "spidev Python package is missing" in text


def test_emulated_chip_needs_no_spi(pi):
    config, probe, spidev = pi
    spidev.unlink()
    text, code = report(diagnose(config("emulated"), probe))
    assert "– SPI: not used (adc.chip = emulated)" in text and code == 0


def test_a_bad_config_is_named_and_the_rest_waits(pi, tmp_path):
    config, probe, _ = pi
    path = config()
    path.write_text(path.read_text().replace('[adc]\nchip = "mcp3208"', '[adc]\nchip = "mcp3009"'))
    text, code = report(diagnose(path, probe))
    assert code == 1
    assert f"✗ config: {path}" in text and "chip" in text and "mcp3009" in text
    assert "corcypower settings" in text and "the other checks need a valid config" in text


def test_an_unreadable_config_says_sudo(pi):
    config, probe, _ = pi
    path = config()
    path.chmod(0o000)
    if os.geteuid() != 0:
        assert "run with sudo" in lines(diagnose(path, probe))
        return
    # root reads any file: check in a child that has lost the capabilities that allow it
    skip_unless(shutil.which("setpriv") is not None, "setpriv (util-linux) is not installed")
    code = (
        f"from corcypower.doctor import check_config; print(check_config({str(path)!r})[0].lines())"
    )
    out = subprocess.run(
        ["setpriv", "--bounding-set=-dac_override,-dac_read_search", sys.executable, "-c", code],
        capture_output=True, text=True, check=True, cwd=REPO,
    )  # fmt: skip
    assert "Permission denied" in out.stdout and "fix: run with sudo" in out.stdout


def test_database_missing_stale_and_full(pi, tmp_path):
    config, probe, _ = pi
    path = config()
    probe.wall_ms = lambda: probe_last + 3600 * 1000
    probe_last = _last_ts(tmp_path / "power.db")
    probe.min_free_bytes = 1 << 62
    text = lines(diagnose(path, probe))
    assert "✗ last row: 60 min ago (the daemon is not storing)" in text
    assert "✗ disk: " in text and "free space on the card" in text
    (tmp_path / "power.db").unlink()
    text = lines(diagnose(path, probe))
    assert "does not exist yet" in text and "journalctl -u mcpd" in text


def _last_ts(db: Path) -> int:
    import sqlite3

    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT max(ts) FROM batch").fetchone()[0]


def test_a_corrupt_database_is_caught(pi, tmp_path):
    import sqlite3

    config, probe, _ = pi
    db = tmp_path / "power.db"
    with sqlite3.connect(db) as conn:
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        [root] = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'batch'").fetchone()
    data = bytearray(db.read_bytes())
    start = (root - 1) * page_size
    data[start : start + 8] = b"\x00" * 8  # the b-tree page header of the batch table: gone
    db.write_bytes(bytes(data))
    text, code = report(diagnose(config(), probe))
    assert code == 1
    assert "✗ database" in text and "integrity_check found problems" in text
    assert "malformed" in text and ".recover" in text and "last row" not in text


def test_garbage_instead_of_a_database(pi, tmp_path):
    config, probe, _ = pi
    (tmp_path / "power.db").write_bytes(b"this is not sqlite" * 100)
    text = lines(diagnose(config(), probe))
    assert "✗ database" in text and "file is not a database" in text and ".recover" in text


def test_clock_states(tmp_path):
    flag = tmp_path / "synchronized"
    probe = Probe(timesync_flag=flag, run=lambda argv: (0, "no\n"))
    result = check_clock(probe)
    assert result.ok is False and "timedatectl set-ntp true" in result.fix
    probe.run = lambda argv: (127, "")  # no timedatectl (no systemd, no D-Bus)
    assert check_clock(probe).ok is None
    flag.touch()  # but systemd-timesyncd says it synchronised
    assert check_clock(probe).ok is True


def test_daemon_api_states(pi, servers):
    config, probe, _ = pi
    api, _ = servers
    api.status, api.body = 503, {"error": "no batch analysed yet (the API started 1 s ago)"}
    text = lines(diagnose(config(), probe))
    assert "✗ daemon API: answering, but no batch analysed yet" in text
    api.status = 200
    api.body = {
        "age_ms": 300,
        "channels": [{"name": "main", "kind": "current", "flags": ["clipped"]}],
    }
    text = lines(diagnose(config(), probe))
    assert "main clipped" in text and "journalctl -u mcpd -p warning" in text
    # a solar CT at night reads flat: that is no fault
    api.body = {
        "age_ms": 300,
        "channels": [{"name": "solar", "kind": "current", "flags": ["flat"]}],
    }
    assert "✓ daemon API" in lines(diagnose(config(), probe))
    api.close()
    text = lines(diagnose(config(), probe))
    assert "✗ daemon API: nothing answers at http://127.0.0.1:" in text


def test_services_not_running(pi):
    config, probe, _ = pi
    probe.run = lambda argv: (0, "yes\n") if argv[0] == "timedatectl" else (3, "failed\n")
    text = lines(diagnose(config(), probe))
    assert "✗ mcpd.service: failed" in text and "sudo systemctl enable --now mcpd.service" in text


def test_greeting_packets():
    handshake = b"\x0a" + b"11.4.2-MariaDB\0" + b"\x01\x00\x00\x00"
    assert describe_greeting(handshake) == (True, "11.4.2-MariaDB")
    refused = b"\xff" + (1130).to_bytes(2, "little") + b"Host '10.0.0.7' is not allowed to connect"
    assert describe_greeting(refused) == (
        False,
        "error 1130: Host '10.0.0.7' is not allowed to connect",
    )
    assert describe_greeting(b"HTTP/1.1 400")[0] is False


@pytest.fixture(scope="module")
def mariadb(tmp_path_factory):
    from tests.export.mariadb import MariaDB, available

    skip_unless(available(), "mariadbd and mariadb-install-db are not installed")
    server = MariaDB(tmp_path_factory.mktemp("doctor-mariadb")).start()
    server.create_database("doctor")
    yield server
    server.remove()


def mysql_config(tmp_path, host, port, password) -> settings.Config:
    path = tmp_path / "mysql.toml"
    (tmp_path / "mysql-password").write_text(password + "\n")
    path.write_text(
        f'[adc]\nchip = "emulated"\n[export.mysql]\nhost = "{host}"\nport = {port}\n'
        f'database = "doctor"\nuser = "corcy"\npassword_file = "mysql-password"\n'
    )
    (tmp_path / "mysql-password").chmod(0o600)
    return settings.load(path)


def test_mysql_reachable_and_logged_in(mariadb, tmp_path):
    from tests.export.mariadb import PASSWORD

    result = check_mysql(mysql_config(tmp_path, "127.0.0.1", mariadb.port, PASSWORD), Probe())
    assert result.ok is True and "logged in as corcy@127.0.0.1" in result.text, result


def test_mysql_wrong_password(mariadb, tmp_path):
    result = check_mysql(mysql_config(tmp_path, "127.0.0.1", mariadb.port, "wrong"), Probe())
    assert result.ok is False and "the login fails" in result.text, result
    assert "password" in result.fix


def test_mysql_nobody_listening(tmp_path):
    result = check_mysql(mysql_config(tmp_path, "127.0.0.1", free_port(), "x"), Probe())
    assert result.ok is False and "cannot reach 127.0.0.1" in result.text
    assert "outbox" in result.fix


def test_the_command_prints_the_report_and_exits_1_on_a_problem(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[adc]\nchip = 3\n")
    result = CliRunner().invoke(cli, ["doctor", "--config", str(bad)])
    assert result.exit_code == 1
    assert result.output.startswith(f"✗ config: {bad}") and "Traceback" not in result.output


def test_the_dashboard_is_said_to_be_reachable_only_from_where_it_is(pi):
    config, probe, _ = pi
    lan = '[dashboard]\naddress = "0.0.0.0"\n'
    text, code = report(diagnose(config(), probe))
    assert "from this machine only" in text and ".local:" not in text
    path = config()
    path.write_text(
        path.read_text().replace(
            "[dashboard]\n", lan + 'allow_websocket_origin = ["pi.local:5006"]\n'
        )
    )
    text, code = report(diagnose(path, probe))
    assert "from the LAN: http://pi.local:5006/" in text and code == 0
    path.write_text(path.read_text().replace('allow_websocket_origin = ["pi.local:5006"]\n', ""))
    text, code = report(diagnose(path, probe))
    assert code == 1 and "a browser on the LAN would get an empty page" in text
    assert "fix: [dashboard] allow_websocket_origin = [" in text


def test_alerts_are_checked_against_the_config(tmp_path):
    from corcypower.doctor import check_alerts

    good = tmp_path / "good.toml"
    good.write_text('[[alerts]]\nname = "silent"\nstale_seconds = 30\n')
    result = check_alerts(settings.load(good))
    assert result.ok and result.text.startswith("alerts: 1 rule (silent) to log;")
    bad = tmp_path / "bad.toml"
    bad.write_text('[[alerts]]\nname = "x"\non_flags = ["clipt"]\n')
    result = check_alerts(settings.load(bad))
    assert result.ok is False and "on_flags = ['clipt']: expected health flags" in result.text
