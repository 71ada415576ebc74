"""`corcypower alerts` and `corcypower alerts test NAME`, with CliRunner and real servers."""

from __future__ import annotations

import json

from click.testing import CliRunner

from corcypower.alerts import history
from corcypower.alerts.engine import FIRING, RESOLVED
from corcypower.cli import cli
from corcypower.store.database import Database
from tests.alerts.servers import HttpSink
from tests.alerts.test_history import event

T0 = 1_767_225_600_000

ALERTS = """
[[alerts]]
name = "standby"
channel = "main"
above_w = 150
active = "01:00-05:00"
notify = ["log", "webhook", "ntfy"]

[[alerts]]
name = "silent"
stale_seconds = 30
"""


def config(emulated_config, url="http://127.0.0.1:9"):
    from tests.conftest import CHANNELS

    return emulated_config(
        {"notify.webhook": f'url = "{url}/hook"', "notify.ntfy": f'url = "{url}/topic"'},
        channels=CHANNELS + ALERTS,
    )


def test_alerts_lists_rules_what_fires_and_recent_events(emulated_config):
    path = config(emulated_config)
    db = path.parent / "power.db"
    Database(db).close()
    h = history.History(db)
    now = int(__import__("time").time() * 1000)
    h.record(event("standby", FIRING, now - 5000))
    h.record(event("silent", FIRING, now - 4000))
    h.record(event("silent", RESOLVED, now - 3000))
    h.record(event("removed", FIRING, now - 2000))
    h.close()
    result = CliRunner().invoke(cli, ["alerts", "--config", str(path)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("standby  FIRING since ") and lines[0].endswith(
        "main above 150 W for 60 s, active 01:00-05:00 → log, webhook, ntfy"
    )
    assert lines[1].startswith("silent   ok ") and "no batch stored for 30 s" in lines[1]
    assert lines[2].startswith("removed: firing since ") and "(no longer configured)" in lines[2]
    assert "4 events in the last 24 h" in result.output
    assert lines[-1].endswith("removed  firing    removed firing")


def test_alerts_on_a_database_without_events(emulated_config):
    path = config(emulated_config)
    Database(path.parent / "power.db").close()
    result = CliRunner().invoke(cli, ["alerts", "--config", str(path), "--hours", "1"])
    assert result.exit_code == 0 and "0 events in the last 1 h" in result.output


def test_alerts_test_sends_through_each_notifier_and_says_which_failed(emulated_config):
    http = HttpSink()
    try:
        ok = CliRunner().invoke(
            cli, ["alerts", "test", "standby", "--config", str(config(emulated_config, http.url))]
        )
        hook, topic = http.wait(2)
    finally:
        http.close()
    assert ok.exit_code == 0, ok.output
    assert ok.output.splitlines() == ["✓ log: sent", "✓ webhook: sent", "✓ ntfy: sent"]
    assert json.loads(hook.body)["test"] is True and topic.headers["Tags"] == "test_tube"
    down = CliRunner().invoke(
        cli, ["alerts", "test", "standby", "--config", str(config(emulated_config))]
    )
    assert down.exit_code == 1
    assert down.output.splitlines()[1].startswith("✗ webhook: webhook http://127.0.0.1:9/hook: ")


def test_alerts_test_of_an_unknown_alert(emulated_config):
    result = CliRunner().invoke(
        cli, ["alerts", "test", "kettle", "--config", str(config(emulated_config))]
    )
    assert result.exit_code == 1
    assert "no alert named 'kettle'; alerts: standby, silent" in result.output
