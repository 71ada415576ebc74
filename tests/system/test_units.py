"""The shipped unit files, checked by the real systemd-analyze.

`verify` exits 0 on unknown keys and typos, so any output at all fails. It also needs the
ExecStart= program to exist: the test verifies a copy whose only change is /opt/corcypower
moved under a temporary directory holding a stand-in executable.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from configparser import ConfigParser

import pytest

from tests.helpers import REPO, skip_unless

UNITS = ("mcpd.service", "dashboard.service")
MAX_EXPOSURE = 4.0


def analyze_tool() -> str:
    tool = shutil.which("systemd-analyze")
    skip_unless(tool is not None, "systemd-analyze is not installed")
    return tool


def directives(unit: str) -> dict[str, list[str]]:
    """Key → every value it is given in the unit (keys may repeat)."""
    out: dict[str, list[str]] = {}
    for line in (REPO / "systemd" / unit).read_text().splitlines():
        line = line.strip()
        if line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            out.setdefault(key, []).append(value)
    return out


@pytest.fixture
def relocated(tmp_path):
    """Copies of both units with /opt/corcypower under tmp_path, where a program stands in."""
    program = tmp_path / "opt/corcypower/venv/bin/corcypower"
    program.parent.mkdir(parents=True)
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    units = tmp_path / "units"
    units.mkdir()
    for unit in UNITS:
        text = (REPO / "systemd" / unit).read_text()
        (units / unit).write_text(text.replace("/opt/corcypower", str(tmp_path / "opt/corcypower")))
    return units


def test_verify_prints_nothing_for_either_unit(relocated):
    tool = analyze_tool()
    done = subprocess.run(
        [tool, "verify", "--man=no", *(str(relocated / u) for u in UNITS)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0 and done.stdout + done.stderr == "", done.stdout + done.stderr


def test_verify_would_catch_a_typo(relocated):
    """The check above is only worth something if a bad key makes verify speak."""
    tool = analyze_tool()
    unit = relocated / "mcpd.service"
    unit.write_text(unit.read_text().replace("NoNewPrivileges=", "NoNewPrivilege="))
    done = subprocess.run([tool, "verify", "--man=no", str(unit)], capture_output=True, text=True)
    assert "NoNewPrivilege" in done.stdout + done.stderr


@pytest.mark.parametrize("unit", UNITS)
def test_security_exposure_is_at_most_4(unit):
    tool = analyze_tool()
    done = subprocess.run(
        [tool, "security", "--offline=yes", "--no-pager", str(REPO / "systemd" / unit)],
        capture_output=True,
        text=True,
    )
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", done.stdout)
    assert match, done.stdout + done.stderr
    assert float(match.group(1)) <= MAX_EXPOSURE, done.stdout


def test_the_daemon_unit_is_a_watched_notify_service_with_spi_only():
    d = directives("mcpd.service")
    assert d["Type"] == ["notify"] and d["Restart"] == ["on-failure"]
    assert float(d["WatchdogSec"][0]) > 30  # longer than the SPI layer's longest retry wait
    assert d["User"] == ["corcypower"] and "spi" in d["SupplementaryGroups"][0].split()
    assert d["StateDirectory"] == ["corcypower"]
    assert d["DevicePolicy"] == ["closed"] and "PrivateDevices" not in d  # it would hide spidev
    assert {"/dev/spidev0.0 rw", "/dev/spidev0.1 rw"} <= set(d["DeviceAllow"])
    assert d["ExecStart"] == [
        "/opt/corcypower/venv/bin/corcypower run --config /etc/corcypower/config.toml"
    ]


def test_the_dashboard_starts_after_the_daemon_and_shares_its_state_directory():
    d = directives("dashboard.service")
    assert "mcpd.service" in d["After"][0].split() and d["Wants"] == ["mcpd.service"]
    assert d["User"] == directives("mcpd.service")["User"]
    assert d["StateDirectory"] == ["corcypower"]
    assert d["ExecStart"] == [
        "/opt/corcypower/venv/bin/corcypower dashboard --config /etc/corcypower/config.toml"
    ]


@pytest.mark.parametrize("unit, tasks", [("mcpd.service", 256), ("dashboard.service", 128)])
def test_both_bound_their_open_files_and_threads(unit, tasks):
    """A flood of clients or a leak stops at the unit's limits, not the Pi's."""
    d = directives(unit)
    assert d["LimitNOFILE"] == ["1024"] and d["TasksMax"] == [str(tasks)]


@pytest.mark.parametrize("unit", UNITS)
def test_both_are_hardened_the_same_way(unit):
    d = directives(unit)
    for key, value in {
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "NoNewPrivileges": "yes",
        "PrivateTmp": "yes",
        "RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6",
        "CapabilityBoundingSet": "",
    }.items():
        assert d[key] == [value], key
    assert "@system-service" in d["SystemCallFilter"]
    parsed = ConfigParser(strict=False, interpolation=None)
    parsed.read(REPO / "systemd" / unit)
    assert parsed["Install"]["WantedBy"] == "multi-user.target"
