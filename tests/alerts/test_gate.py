"""Rate limits and quiet hours: held firings go later if they still hold; resolutions follow."""

from __future__ import annotations

import time

from corcypower.alerts.engine import FIRING, RESOLVED, Event
from corcypower.alerts.gate import HOUR_MS, Gate
from corcypower.alerts.rules import Rule

T0 = 1_767_225_600_000


def rule(**kw) -> Rule:
    return Rule("r", "stale", None, (), stale_ms=1000, **kw)


def event(state, ts) -> Event:
    return Event("r", state, ts, ts, 1.0, 1.0, None, "silent")


def test_a_flapping_alert_is_notified_max_per_hour_then_held_and_sent_when_allowed():
    gate = Gate([rule(max_per_hour=2)])
    sent = []
    for k in range(5):  # fires and resolves every minute
        sent += gate.admit(event(FIRING, T0 + k * 60_000), T0 + k * 60_000)
        sent += gate.admit(event(RESOLVED, T0 + k * 60_000 + 1), T0 + k * 60_000 + 1)
    assert [e.state for e in sent] == [FIRING, RESOLVED, FIRING, RESOLVED]
    # a third firing that holds: held back, sent once the first of the hour has aged out
    assert gate.admit(event(FIRING, T0 + 600_000), T0 + 600_000) == []
    assert gate.due(T0 + HOUR_MS - 1) == []
    [late] = gate.due(T0 + HOUR_MS)
    assert late.ts == T0 + 600_000 and "(held from " in late.text
    assert [e.state for e in gate.admit(event(RESOLVED, T0 + HOUR_MS + 5), T0 + HOUR_MS + 5)] == [
        RESOLVED
    ]


def test_quiet_hours_hold_a_firing_until_they_end():
    t = time.localtime()
    at = lambda h: int(time.mktime((t.tm_year, t.tm_mon, t.tm_mday, h, 0, 0, 0, 0, -1)) * 1000)  # noqa: E731
    gate = Gate([rule(quiet=(22 * 60, 7 * 60))])
    assert gate.admit(event(FIRING, at(23)), at(23)) == []
    assert gate.due(at(23) + 3_600_000) == []
    [sent] = gate.due(at(23) + 8 * 3_600_000)  # 07:00
    assert sent.state == FIRING
    # one that fires and resolves within quiet hours is never notified
    assert gate.admit(event(RESOLVED, at(23) + 9 * 3_600_000), at(8)) != []
    assert gate.admit(event(FIRING, at(22)), at(22)) == []
    assert gate.admit(event(RESOLVED, at(22) + 1), at(22) + 1) == []
    assert gate.due(at(22) + 10 * 3_600_000) == []
