"""Alerts in the daemon as users run it: a real process on the emulated chip replaying a capture
that switches a 2 kW load on and off, notifying a real webhook, ntfy and SMTP server."""

from __future__ import annotations

import json
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from corcypower.capture import CaptureWriter
from tests.alerts.servers import PASSWORD, USER, HttpSink, Mailbox
from tests.helpers import REPO, skip_unless

VOLTS, SCALE, RATE = 230.0, 0.02, 2000
ON_W, LIMIT_W, FOR_S = 2000.0, 1000.0, 2.0
SLACK_S = 2.0  # "fires within for_seconds + 2 s of its condition"
PATHS = ("/hook", "/house")  # webhook, ntfy


def on_off_capture(path, off_s=4.0, on_s=4.0) -> None:
    """One CT on an MCP3208: nothing for off_s, then ON_W at VOLTS for on_s (looped by the
    replay, so the load goes on and off for as long as the daemon runs)."""
    t = np.arange(int((off_s + on_s) * RATE)) / RATE
    amplitude = ON_W / VOLTS / SCALE * np.sqrt(2)  # counts
    wave = np.where(t >= off_s, amplitude * np.sin(2 * np.pi * 50 * t), 0.0)
    with open(path, "w") as f:
        CaptureWriter(f, "mcp3208", 1e6 / RATE, [0]).write(t, np.round(2048 + wave)[:, None])


CHANNEL = f"""
[[channels]]
name = "main"
adc_channel = 0
kind = "current"
scale = {SCALE}
voltage = {VOLTS}

[[alerts]]
name = "kettle"
channel = "main"
above_w = {LIMIT_W}
for_seconds = {FOR_S}
notify = ["log", "webhook", "ntfy", "email"]
"""


def spawn(config) -> tuple[subprocess.Popen, str]:
    """`python mcp_rms.py --config ...`, and its state API's URL once it serves."""
    proc = subprocess.Popen(
        [sys.executable, str(REPO / "mcp_rms.py"), "--config", str(config)],
        stderr=subprocess.PIPE,
        text=True,
        cwd=config.parent,
    )
    api = None
    while api is None:
        line = proc.stderr.readline()
        assert line, "the daemon exited before its state API started"
        api = re.search(r"state API on (http://\S+)/api/v1/state", line)
    return proc, api.group(1)


def peak_rss_mb(pid: int) -> float:
    """A process's peak resident memory so far (VmHWM), in MB."""
    status = (Path("/proc") / str(pid) / "status").read_text()
    return int(re.search(r"^VmHWM:\s+(\d+) kB", status, re.M).group(1)) / 1024


@pytest.fixture
def servers(tmp_path):
    http, mail = HttpSink(), Mailbox(tmp_path)
    yield http, mail
    http.close()
    mail.close()


def test_an_alert_fires_and_resolves_in_time_through_every_notifier(
    tmp_path, emulated_config, servers
):
    http, mail = servers
    on_off_capture(tmp_path / "kettle.csv")
    (tmp_path / "smtp-password").write_text(PASSWORD + "\n")
    (tmp_path / "smtp-password").chmod(0o600)
    config = emulated_config(
        {
            "emulator": f'source = "{tmp_path / "kettle.csv"}"',
            "notify.webhook": f'url = "{http.url}/hook"',
            "notify.ntfy": f'url = "{http.url}/house"\npriority = "high"\ntags = ["zap"]',
            "notify.email": (
                f'host = "127.0.0.1"\nport = {mail.port}\nuser = "{USER}"\n'
                f'password_file = "smtp-password"\nca_file = "{mail.cert}"\n'
                'from = "pi@example.com"\nto = ["me@example.com"]'
            ),
        },
        commit=0.5,
        channels=CHANNEL,
    )
    proc, api = spawn(config)
    try:
        # webhook and ntfy, firing and resolved
        http.wait_for(lambda got: all(sum(r.path == p for r in got) >= 2 for p in PATHS), 90)
        mails = mail.wait(2, timeout=30)
        with urllib.request.urlopen(api + "/api/v1/state", timeout=10) as answer:
            state = json.load(answer)
        peak_mb = peak_rss_mb(proc.pid)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        proc.kill()
        log = proc.stderr.read()
    db = tmp_path / "power.db"
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        batches = conn.execute(
            "SELECT ts - duration_ms, ts, real_power_w FROM batch ORDER BY ts"
        ).fetchall()

    by_path = {path: [] for path in PATHS}
    for request, at in zip(http.received, http.arrived, strict=True):
        by_path[request.path].append((request, at))
    hooks = [(json.loads(r.body), at) for r, at in by_path["/hook"]]
    fired, resolved = hooks[0][0], hooks[1][0]
    assert (fired["state"], resolved["state"]) == ("firing", "resolved")
    assert fired["alert"] == "kettle" and fired["threshold"] == LIMIT_W and fired["value"] > LIMIT_W

    # the condition held (and was clear) from `since` to the decision, and for for_seconds
    for event in (e for e, _ in hooks):
        run = [p for start, end, p in batches if event["since"] <= start and end <= event["ts"]]
        assert run and all((p > LIMIT_W) == (event["state"] == "firing") for p in run), event
        assert event["ts"] - event["since"] >= FOR_S * 1000
        before = [p for start, end, p in batches if start < event["since"]]
        assert before and (before[-1] > LIMIT_W) != (event["state"] == "firing")  # a run's start
    # every notifier within for_seconds + 2 s of the condition, firing and resolved
    arrivals = {
        "webhook": [at for _, at in by_path["/hook"][:2]],
        "ntfy": [at for _, at in by_path["/house"][:2]],
        "email": mail.arrived[:2],
    }
    for name, (fired_at, resolved_at) in arrivals.items():
        assert fired_at - fired["since"] / 1000 <= FOR_S + SLACK_S, name
        assert resolved_at - resolved["since"] / 1000 <= FOR_S + SLACK_S, name
    ntfy = by_path["/house"][0][0]
    assert ntfy.headers["Priority"] == "high" and ntfy.headers["Tags"] == "zap,rotating_light"
    assert mails[0]["Subject"].endswith("kettle firing") and mails[1]["Subject"].endswith(
        "kettle resolved"
    )
    assert re.search(r"WARNING .*kettle firing: main \d+ W, above 1000 W", log), log

    assert peak_mb <= 60, f"the daemon's peak RSS with alerts on: {peak_mb:.1f} MB"
    assert [r["name"] for r in state["alerts"]["rules"]] == ["kettle"]
    assert state["alerts"]["recent"][-1]["state"] == "firing"
    skip_unless(shutil.which("sqlite3") is not None, "the sqlite3 shell is not installed")
    shell = subprocess.run(
        ["sqlite3", str(db), "SELECT alert, state FROM alerts ORDER BY ts LIMIT 2"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert shell.stdout.splitlines() == ["kettle|firing", "kettle|resolved"]


def test_mysql_unreachable_fires_and_the_daemon_measures_on(tmp_path, emulated_config):
    pytest.importorskip("pymysql")  # the mysql extra; tests/export says why it is missing
    from tests.alerts.servers import free_port

    http = HttpSink()
    config = emulated_config(
        {
            "export.mysql": f'host = "127.0.0.1"\nport = {free_port()}\npassword = "pw"',
            "notify.webhook": f'url = "{http.url}/hook"',
        },
        commit=0.5,
        channels=CHANNEL.split("[[alerts]]")[0]
        + '[[alerts]]\nname = "nas"\nunreachable = "mysql"\nunreachable_minutes = 0\n'
        'for_seconds = 1\nnotify = ["webhook"]\n',
    )
    # ten minutes of history: closed minutes to send at once (the exporter connects only then)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "corcypower",
            "simulate",
            "--config",
            str(config),
            "--days",
            "0.007",
        ],
        check=True,
        capture_output=True,
    )
    proc, _ = spawn(config)
    try:
        [request] = http.wait(1, timeout=60)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        proc.kill()
        http.close()
        log = proc.stderr.read()
    event = json.loads(request.body)
    assert (event["alert"], event["state"], event["channel"]) == ("nas", "firing", None)
    assert event["text"].startswith("mysql unreachable since ") and event["threshold"] == 0
    assert "measuring goes on, export retries" in log
