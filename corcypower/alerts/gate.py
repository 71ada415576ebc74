"""Rate limits and quiet hours: which events are notified now, and which wait.

Per alert, at most max_per_hour firings are notified in any hour, and none in its quiet
hours. A firing that may not go now is held; it is sent when it may, if the alert is still
firing then, and dropped (it is in power.db and the log all the same) if it resolved first.
A resolution is notified exactly when its firing was, so nobody is told "resolved" about an
alert they never heard of, nor left believing an alert is still firing.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterable
from dataclasses import replace

from corcypower.alerts.engine import FIRING, Event, clock
from corcypower.alerts.rules import Rule, in_window, window_text

log = logging.getLogger(__name__)

HOUR_MS = 3_600_000


class Gate:
    """Decides, per alert, whether an event is notified now (the log is never held)."""

    def __init__(self, rules: Iterable[Rule], notified: Iterable[str] = ()):
        """`notified`: alerts whose firing was notified before a restart."""
        self.rules = {r.name: r for r in rules}
        self.sent: dict[str, deque[int]] = {name: deque() for name in self.rules}
        # whether each alert's current firing was notified (then its resolution is too)
        notified = set(notified)
        self.told: dict[str, bool] = {name: name in notified for name in self.rules}
        self.held: dict[str, Event] = {}

    def admit(self, event: Event, now_ms: int) -> list[Event]:
        """The events to notify now, given this new one."""
        name = event.alert
        if event.state == FIRING:
            reason = self._closed(name, now_ms)
            if reason is None:
                return [self._send(event, now_ms)]
            log.info("alert %s fired; notification held: %s", name, reason)
            self.held[name] = event
            return []
        if self.told[name]:
            self.told[name] = False
            return [event]
        if self.held.pop(name, None) is not None:
            log.info("alert %s resolved before its notification could go: not notified", name)
        return []

    def due(self, now_ms: int) -> list[Event]:
        """Held firings that may go now (the alert still firing: it would have resolved them)."""
        out = []
        for name, event in list(self.held.items()):
            if self._closed(name, now_ms) is None:
                del self.held[name]
                note = f" (held from {clock(event.ts)})"
                out.append(self._send(replace(event, text=event.text + note), now_ms))
        return out

    def _send(self, event: Event, now_ms: int) -> Event:
        self.sent[event.alert].append(now_ms)
        self.told[event.alert] = True
        return event

    def _closed(self, name: str, now_ms: int) -> str | None:
        """Why a firing of `name` may not be notified now, or None."""
        rule = self.rules[name]
        if rule.quiet is not None and in_window(rule.quiet, now_ms):
            return f"quiet hours {window_text(rule.quiet)}"
        sent = self.sent[name]
        while sent and sent[0] <= now_ms - HOUR_MS:
            sent.popleft()
        if len(sent) >= rule.max_per_hour:
            return f"rate limit of {rule.max_per_hour} per hour"
        return None
