"""Alert events in power.db: the table, the views in the sqlite3 shell, the read-only query."""

from __future__ import annotations

import shutil
import subprocess

from corcypower.alerts import history
from corcypower.alerts.engine import FIRING, RESOLVED, Event
from corcypower.store.database import Database
from tests.helpers import skip_unless

T0 = 1_767_225_600_000


def event(alert, state, ts, value=200.0) -> Event:
    return Event(alert, state, ts, ts - 60_000, value, 150.0, "main", f"{alert} {state}")


def test_recorded_events_the_active_ones_and_recent(tmp_path):
    path = tmp_path / "power.db"
    Database(path).close()  # the daemon makes and migrates the file
    h = history.History(path)
    h.record(event("standby", FIRING, T0))
    h.record(event("standby", RESOLVED, T0 + 1000))
    h.record(event("fridge", FIRING, T0 + 2000))
    h.record(event("old", FIRING, T0 - history.KEEP_MS - 1))
    h.prune(T0)
    h.close()
    assert history.firing(path) == {"fridge": T0 + 2000}
    with Database(path, read_only=True) as db:
        found = history.recent(db, T0 + 3000, hours=1)
    assert [a["alert"] for a in found["active"]] == ["fridge"]
    assert [(e["alert"], e["state"]) for e in found["recent"]] == [
        ("fridge", FIRING), ("standby", RESOLVED), ("standby", FIRING),
    ]  # fmt: skip
    assert found["recent"][0]["since_ms"] == T0 + 2000 - 60_000


def test_a_new_or_older_database_has_nothing_firing(tmp_path):
    assert history.firing(tmp_path / "none.db") == {}
    (tmp_path / "empty.db").write_bytes(b"")
    assert history.firing(tmp_path / "empty.db") == {}


def test_views_in_the_sqlite3_shell_show_local_time(tmp_path):
    skip_unless(shutil.which("sqlite3") is not None, "the sqlite3 shell is not installed")
    path = tmp_path / "power.db"
    Database(path).close()
    h = history.History(path)
    h.record(event("standby", FIRING, T0))
    h.close()
    out = subprocess.run(
        ["sqlite3", "-header", "-separator", "|", str(path),
         "SELECT * FROM alerts; SELECT * FROM alerts_active"],
        capture_output=True, text=True, check=True,
    ).stdout.splitlines()  # fmt: skip
    assert out[0] == "time|alert|state|channel|value|threshold|since|text|ts"
    local = subprocess.run(
        ["sqlite3", str(path), f"SELECT datetime({T0} / 1000, 'unixepoch', 'localtime')"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    assert out[1].split("|")[:5] == [local, "standby", "firing", "main", "200.0"]
    assert out[2] == "since|alert|channel|value|threshold|text|fired|ts"
    assert out[3].split("|")[1:4] == ["standby", "main", "200.0"]
