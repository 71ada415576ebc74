"""`corcypower dashboard` and `corcypower demo`: the URL printed, the page and API served, clear errors."""

from __future__ import annotations

import re
import socket
import subprocess
import urllib.request

import pytest
from click.testing import CliRunner

from corcypower.cli import cli
from tests.dashboard.helpers import free_port, until
from tests.dashboard.processes import corcypower, write_config
from tests.helpers import REPO
from tests.live.helpers import get


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_demo_runs_the_monitor_and_the_dashboard_and_prints_the_url(tmp_path):
    config, _, _ = write_config(tmp_path)
    api_port, dashboard_port = free_port(), free_port()  # as `make run PORT=… API_PORT=…` asks
    options = ["--port", str(dashboard_port), "--api-port", str(api_port)]
    demo = corcypower("demo", "--config", str(config), *options, cwd=tmp_path)
    try:
        url = demo.wait_for(r"CorcyPower dashboard: (http://\S+)").group(1)
        assert url == f"http://localhost:{dashboard_port}/"
        assert f"following http://127.0.0.1:{api_port}/api/v1/live" in demo.output
        for _ in range(3):
            with urllib.request.urlopen(url, timeout=30) as page:
                assert "CorcyPower" in page.read().decode()
        demo.wait_for("sampling 3 channels")
        state = f"http://127.0.0.1:{api_port}/api/v1/state"
        assert until(lambda: get(state)[0] == 200)  # the first batch, half a second in
        assert [c["name"] for c in get(state)[1]["channels"]] == ["mains_v", "main", "solar"]
    finally:
        code = demo.stop()
    assert code == 0, demo.output
    assert "stopped after" in demo.output and (tmp_path / "power.db").exists()
    assert not re.search(r"\b200 GET\b", demo.output), demo.output  # no access log


def test_make_run_passes_the_ports_on():
    done = subprocess.run(
        ["make", "-n", "run", "PORT=5007", "API_PORT=8071"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert (
        "corcypower demo --config examples/emulator.toml --port 5007 --api-port 8071" in done.stdout
    )


@pytest.mark.parametrize(
    "command, which, message",
    [
        ("demo", 1, "cannot serve the state API on 127.0.0.1:{port}"),
        ("dashboard", 2, "cannot serve the dashboard on 127.0.0.1:{port}"),
    ],
)
def test_a_port_taken_is_a_clear_error(tmp_path, command, which, message):
    written = write_config(tmp_path)
    port = written[which]
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        result = invoke(command, "--config", written[0])
    assert result.exit_code == 1
    assert f"Error: {message.format(port=port)}" in result.output
    assert "Traceback" not in result.output


def test_dashboard_prints_its_lan_addresses(tmp_path):
    config, _, port = write_config(tmp_path)
    config.write_text(
        config.read_text().replace(
            "[dashboard]\n", f'[dashboard]\nallow_websocket_origin = ["pi.local:{port}"]\n'
        )
    )
    dashboard = corcypower("dashboard", "--config", str(config), cwd=tmp_path)
    try:
        assert dashboard.wait_for(r"on the LAN: (\S+)").group(1) == f"http://pi.local:{port}/"
    finally:
        assert dashboard.stop() == 0


def test_a_bad_dashboard_setting_names_the_key(tmp_path):
    config, _, _ = write_config(tmp_path)
    config.write_text(
        config.read_text().replace('grid_channels = ["main"]', 'grid_channels = ["nope"]')
    )
    result = invoke("dashboard", "--config", config)
    assert result.exit_code == 1
    assert (
        '[dashboard] grid_channels: "nope" is not a current channel ("main", "solar")'
        in result.output
    )
