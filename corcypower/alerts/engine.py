"""The rules evaluated: each batch (power, flags) and each tick (stale, unreachable) → events.

A rule fires when its condition has held for for_seconds without a break, and resolves when
it has been clear as long (hysteresis both ways, so a value hovering at the threshold does
not flap faster than that). A batch covers [ts - duration, ts]: a run of batches that hold
starts at the first one's start, and the rule fires at the end of the first batch that
completes for_seconds. Per batch this is a few comparisons per rule, in the daemon's loop.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from corcypower.alerts.rules import Rule, in_window, window_text
from corcypower.analysis import ChannelStats, flag_names

FIRING, RESOLVED = "firing", "resolved"


@dataclass(frozen=True)
class Event:
    """An alert fired or resolved."""

    alert: str
    state: str  # FIRING or RESOLVED
    ts: int  # when it was decided, ms UTC
    since: int  # when the condition began to hold (firing) or to be clear (resolved)
    value: float | None  # W (power), s (stale), min (unreachable); None for flags
    threshold: float | None
    channel: str | None
    text: str  # what happened, in words


class Hysteresis:
    """Fires when a condition has held for `for_ms`; resolves when it has been clear as long."""

    def __init__(self, for_ms: int, firing: bool = False):
        self.for_ms = for_ms
        self.firing = firing
        self.holds = firing
        self.run_start: int | None = None  # when the current run of `holds` began

    def observe(self, holds: bool, since_ms: int, now_ms: int) -> bool:
        """One observation: the condition `holds` (or not) from since_ms to now_ms; True when
        the state flips."""
        if holds != self.holds or self.run_start is None:
            self.holds, self.run_start = holds, since_ms
        if holds != self.firing and now_ms - self.run_start >= self.for_ms:
            self.firing = holds
            return True
        return False


@dataclass
class Observation:
    holds: bool
    since: int
    value: float | None
    detail: str  # what the condition saw, in words


class AlertState:
    """One rule's hysteresis, its last observation and when its state last changed."""

    def __init__(self, rule: Rule, firing: bool, changed_ms: int | None):
        self.rule = rule
        self.hysteresis = Hysteresis(rule.for_ms, firing)
        self.last: Observation | None = None
        self.changed_ms = changed_ms

    def observe(self, seen: Observation, now_ms: int) -> Event | None:
        self.last = seen
        if not self.hysteresis.observe(seen.holds, seen.since, now_ms):
            return None
        self.changed_ms = now_ms
        state = FIRING if self.hysteresis.firing else RESOLVED
        return Event(
            self.rule.name,
            state,
            now_ms,
            self.hysteresis.run_start,
            seen.value,
            self.rule.threshold,
            self.rule.channel,
            seen.detail,
        )

    def doc(self) -> dict:
        """For the state API and `corcypower alerts`."""
        return {
            "name": self.rule.name,
            "state": FIRING if self.hysteresis.firing else "ok",
            "since": self.changed_ms,
            "condition": self.rule.describe(),
            "channel": self.rule.channel,
            "value": None if self.last is None else self.last.value,
            "threshold": self.rule.threshold,
            "notify": list(self.rule.notify),
        }


def clock(ts_ms: int) -> str:
    return time.strftime("%H:%M:%S", time.localtime(ts_ms / 1000))


class Engine:
    """Every rule's state. batch() runs in the daemon's loop, tick() in the alerts' thread."""

    def __init__(
        self,
        rules: Iterable[Rule],
        firing: Mapping[str, int] | None = None,
    ):
        """`firing`: the alerts left firing by the previous run (name → when), so a restart
        neither notifies them again nor forgets to resolve them."""
        firing = firing or {}
        self.alerts = {r.name: AlertState(r, r.name in firing, firing.get(r.name)) for r in rules}
        self._lock = threading.Lock()
        self._batch_rules = [a for a in self.alerts.values() if a.rule.kind in ("power", "flags")]
        self._tick_rules = [
            a for a in self.alerts.values() if a.rule.kind not in ("power", "flags")
        ]

    def batch(self, ts: int, duration_ms: int, stats: list[ChannelStats]) -> list[Event]:
        """The power and flags rules over one batch."""
        if not self._batch_rules:
            return []
        by_name = {s.name: s for s in stats}
        events = []
        with self._lock:
            for alert in self._batch_rules:
                judge = _power if alert.rule.kind == "power" else _flags
                seen = judge(alert.rule, by_name)
                if seen is None:  # no power measured in this batch: nothing to judge
                    continue
                seen.since = ts - duration_ms
                events += _emit(alert, _in_hours(alert.rule, seen, ts), ts)
        return events

    def tick(
        self, now_ms: int, stored_ms: int, failing_since: Mapping[str, int | None]
    ) -> list[Event]:
        """The stale and unreachable rules: `stored_ms` is the newest batch stored (or the
        start), `failing_since` when each server ("mysql", "mqtt") began failing, or None."""
        events = []
        with self._lock:
            for alert in self._tick_rules:
                rule = alert.rule
                if rule.kind == "stale":
                    silent = now_ms - stored_ms
                    holds = silent >= rule.stale_ms
                    seen = Observation(
                        holds,
                        stored_ms + rule.stale_ms if holds else stored_ms,
                        round(silent / 1000, 1),
                        f"no batch stored since {clock(stored_ms)}"
                        if holds
                        else f"batches stored again ({clock(stored_ms)})",
                    )
                else:
                    failing = failing_since.get(rule.unreachable)
                    minutes = 0.0 if failing is None else (now_ms - failing) / 60_000
                    holds = failing is not None and now_ms - failing >= rule.unreachable_ms
                    seen = Observation(
                        holds,
                        failing + rule.unreachable_ms if holds else now_ms,
                        round(minutes, 1),
                        f"{rule.unreachable} unreachable since {clock(failing)}"
                        if failing is not None
                        else f"{rule.unreachable} reachable",
                    )
                events += _emit(alert, _in_hours(rule, seen, now_ms), now_ms)
        return events

    def states(self) -> list[dict]:
        with self._lock:
            return [a.doc() for a in self.alerts.values()]


def _emit(alert: AlertState, seen: Observation, now_ms: int) -> list[Event]:
    event = alert.observe(seen, now_ms)
    return [] if event is None else [event]


def _in_hours(rule: Rule, seen: Observation, ts: int) -> Observation:
    """Outside its active hours a rule's condition counts as clear."""
    if in_window(rule.active, ts):
        return seen
    return Observation(
        False,
        seen.since,
        seen.value,
        f"{seen.detail}; outside its active hours {window_text(rule.active)}",
    )


def _power(rule: Rule, by_name: Mapping[str, ChannelStats]) -> Observation | None:
    watts = [getattr(by_name.get(c), "real_power_w", None) for c in rule.channels]
    if any(w is None for w in watts):
        return None
    value = sum(watts)
    above = rule.above_w is not None and value > rule.above_w
    below = rule.below_w is not None and value < rule.below_w
    where = "above" if above else "below" if below else "within"
    limit = rule.above_w if above or rule.below_w is None else rule.below_w
    return Observation(
        above or below, 0, value, f"{rule.channel} {value:.0f} W, {where} {limit:g} W"
    )


def _flags(rule: Rule, by_name: Mapping[str, ChannelStats]) -> Observation:
    flagged = {
        c: by_name[c].flags & rule.flags
        for c in rule.channels
        if c in by_name and by_name[c].flags & rule.flags
    }
    if not flagged:
        detail = f"{rule.channel or 'every channel'}: no {' or '.join(flag_names(rule.flags))}"
    else:
        detail = "; ".join(f"{c} {', '.join(flag_names(f))}" for c, f in flagged.items())
    return Observation(bool(flagged), 0, None, detail)
