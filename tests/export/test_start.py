"""Starting the exporter from the daemon: only when configured, PyMySQL only then, bad config first."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest

from corcypower import settings
from corcypower.clock import FakeClock
from corcypower.daemon import Daemon
from corcypower.errors import ConfigError
from tests.export.needs import pymysql_or_skip
from tests.helpers import REPO

CHANNELS = [
    {"name": "mains_v", "adc_channel": 1, "kind": "voltage", "scale": 0.25},
    {"name": "main", "adc_channel": 0, "kind": "current", "scale": 0.02},
]


def run_python(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    return done.stdout + done.stderr


def test_pymysql_is_installed_for_the_export_tests():
    pymysql_or_skip()  # else the modules that need it are not collected (conftest.py)


def test_without_the_section_pymysql_is_never_imported():
    out = run_python(
        "import sys\n"
        "from corcypower import settings\n"
        "from corcypower.export import start_exporter\n"
        "import corcypower.daemon\n"
        "assert start_exporter(settings.from_dict({})) is None\n"
        "print(sorted(m for m in ('pymysql', 'pandas', 'bokeh') if m in sys.modules))"
    )
    assert out.strip() == "[]"


def test_without_pymysql_the_daemon_measures_on_and_says_what_to_install(tmp_path):
    out = run_python(
        "import logging, sys\n"
        "sys.modules['pymysql'] = None  # not installed\n"
        "logging.basicConfig(level=logging.INFO, format='%(levelname)s %(message)s')\n"
        "from corcypower import settings\n"
        "from corcypower.export import start_exporter\n"
        f"config = settings.from_dict({{'export': {{'mysql': {{'host': 'nas'}}}}, 'store': {{'path': {str(tmp_path / 'p.db')!r}}}}})\n"
        "print('exporter', start_exporter(config))"
    )
    assert "exporter None" in out
    assert "ERROR [export.mysql] is configured but PyMySQL is missing" in out
    assert "pip install 'corcypower[mysql]'; measuring goes on" in out


def test_a_bad_section_stops_the_daemon_before_it_samples(tmp_path):
    config = settings.from_dict(
        {
            "adc": {"chip": "emulated"},
            "store": {"path": str(tmp_path / "power.db")},
            "export": {"mysql": {"host": "nas", "volume": {"Mains": "mains_v"}}},
            "channels": CHANNELS,
        }
    )
    threads = threading.active_count()
    with pytest.raises(ConfigError, match='point "Mains": "mains_v" is not a current channel'):
        Daemon(config, FakeClock()).run(threading.Event())
    assert threading.active_count() == threads  # no acquisition, no exporter
