"""The alerts section: the alerts firing highlighted, the day's events in local time."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from zoneinfo import ZoneInfo

from corcypower.alerts.engine import FIRING, RESOLVED, Event
from corcypower.alerts.history import History
from corcypower.clock import FakeClock
from corcypower.store.database import Database
from tests.dashboard.helpers import build_page

PARIS = ZoneInfo("Europe/Paris")
NOW = round(datetime(2026, 11, 18, 15, 0, tzinfo=PARIS).timestamp() * 1000)
HOUR = 3_600_000


def ms(hour: int, minute: int = 0, day: int = 18) -> int:
    return round(datetime(2026, 11, day, hour, minute, tzinfo=PARIS).timestamp() * 1000)


def store(path, *events: Event) -> None:
    history = History(path)
    for event in events:
        history.record(event)
    history.close()


def alerts_text(tmp_path, *events: Event, **sections) -> str:
    path = tmp_path / "power.db"
    Database(path).close()  # made and migrated, as the daemon does
    store(path, *events)
    page = build_page(path, clock=FakeClock(wall_ms=NOW), **sections)
    return page.doc.get_model_by_name("alerts").text


def event(alert: str, state: str, ts: int, text: str, since: int | None = None) -> Event:
    return Event(alert, state, ts, since or ts, 212.4, 150.0, "main", text)


def test_the_alerts_firing_are_highlighted_and_the_days_events_listed_in_local_time(tmp_path):
    text = alerts_text(
        tmp_path,
        event("old", FIRING, NOW - 30 * HOUR, "long ago"),  # before the last 24 h
        event("old", RESOLVED, NOW - 29 * HOUR, "long ago, over"),
        event("night-standby", FIRING, ms(1, 22), "total 212 W, above 150 W", since=ms(1, 12)),
        event("kettle<&>", FIRING, ms(13, 0), "on <b>too</b> long"),
        event("kettle<&>", RESOLVED, ms(14, 0), "off again"),
    )
    active, recent = text.split("<h4>")
    # firing now: night-standby alone, since 01:12 Paris time (00:12 UTC), 13.8 h ago
    assert active.count('<li class="alert">') == 1
    assert "night-standby</span> firing since" in active and "Wed 18 Nov 01:12" in active
    assert "(13.8 h)" in active and "total 212 W, above 150 W" in active
    assert "kettle" not in active and "old" not in active
    # the last 24 h, newest first, names and texts escaped
    assert recent.startswith("Last 24 h</h4>")
    items = recent.split("<li ")[1:]
    assert [i.split('"')[1] for i in items] == [RESOLVED, FIRING, FIRING]
    assert "Wed 18 Nov 14:00" in items[0] and "kettle&lt;&amp;&gt;" in items[0]
    assert "on &lt;b&gt;too&lt;/b&gt; long" in items[1]
    assert "Wed 18 Nov 01:22" in items[2]
    assert "long ago" not in text
    assert "No [[alerts]] configured" in text  # this config has none


def test_no_alerts_says_so(tmp_path):
    text = alerts_text(tmp_path)
    assert "No alert firing." in text and "No events in the last 24 h." in text


def test_a_database_without_alert_events_yet_has_no_alerts(tmp_path):
    path = tmp_path / "power.db"
    Database(path).close()
    with sqlite3.connect(path) as conn:  # as before the migration that added them
        conn.executescript("DROP VIEW alerts; DROP VIEW alerts_active; DROP TABLE alert_event;")
    page = build_page(path, clock=FakeClock(wall_ms=NOW))
    assert "No alert firing." in page.doc.get_model_by_name("alerts").text


def test_no_database_is_said_on_the_page(tmp_path):
    page = build_page(tmp_path / "none.db", clock=FakeClock(wall_ms=NOW))
    text = page.doc.get_model_by_name("alerts").text
    assert text.startswith('<p class="none">Alerts cannot be read: ') and "none.db" in text
