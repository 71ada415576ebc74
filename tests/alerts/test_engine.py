"""The engine against a reference model: hysteresis both ways, never an alert that did not hold."""

from __future__ import annotations

import time

from hypothesis import given
from hypothesis import strategies as st

from corcypower.alerts.engine import FIRING, RESOLVED, Engine, Hysteresis
from corcypower.alerts.rules import Rule
from corcypower.analysis import FLAG_CLIPPED, FLAG_FLAT, ChannelStats

T0 = 1_767_225_600_000  # 2026-01-01 00:00 UTC


def power_rule(for_ms=1000, above=100.0, below=None, **kw) -> Rule:
    return Rule("r", "power", "main", ("main",), above_w=above, below_w=below, for_ms=for_ms, **kw)


def stats(watts=None, flags=0, name="main") -> list[ChannelStats]:
    return [
        ChannelStats(name, "current", 1000, 2047.0, 0, 4095, 1.0, real_power_w=watts, flags=flags)
    ]


def feed(engine, values, duration=500, start=T0, name="main"):
    events, ts = [], start
    for v in values:
        ts += duration
        events += engine.batch(ts, duration, stats(v, name=name))
    return events


def test_fires_when_held_for_for_seconds_and_resolves_when_clear_as_long():
    engine = Engine([power_rule(for_ms=1000)])
    events = feed(engine, [50, 150, 150, 150, 50, 150, 50, 50, 50])
    assert [(e.state, e.ts - T0, e.since - T0, e.value) for e in events] == [
        (FIRING, 1500, 500, 150),  # above from 500 ms: 1 s later, at the end of that batch
        (RESOLVED, 4000, 3000, 50),  # the 150 ending at 3000 broke the first clear run
    ]
    assert "main 150 W, above 100 W" in events[0].text and events[0].threshold == 100


def test_a_value_hovering_at_the_threshold_never_fires():
    engine = Engine([power_rule(for_ms=2000)])
    assert feed(engine, [101, 99] * 50) == []


def test_outside_a_band_and_below():
    band = power_rule(for_ms=0, above=200.0, below=10.0)
    engine = Engine([band])
    events = feed(engine, [100, 5, 100, 300])
    assert [e.state for e in events] == [FIRING, RESOLVED, FIRING]
    assert "below 10 W" in events[0].text and "above 200 W" in events[2].text


def test_the_total_sums_its_channels_and_a_batch_without_power_is_skipped():
    rule = Rule("t", "power", "total", ("a", "b"), above_w=100.0, for_ms=0)
    engine = Engine([rule])
    both = stats(60, name="a") + stats(60, name="b")
    assert engine.batch(T0, 500, both)[0].value == 120
    assert engine.batch(T0 + 500, 500, stats(None, name="a") + stats(0, name="b")) == []


def test_flags_on_the_watched_channels_only():
    rule = Rule("f", "flags", None, ("main", "mains_v"), flags=FLAG_CLIPPED, for_ms=0)
    engine = Engine([rule])
    assert engine.batch(T0, 500, stats(1, flags=FLAG_FLAT)) == []
    [event] = engine.batch(T0 + 500, 500, stats(1, flags=FLAG_CLIPPED | FLAG_FLAT))
    assert event.state == FIRING and event.text == "main clipped"


def local_ms(hour, minute=0) -> int:
    """ms UTC of today's local hour:minute (the schedule is in local time)."""
    t = time.localtime()
    return int(time.mktime((t.tm_year, t.tm_mon, t.tm_mday, hour, minute, 0, 0, 0, -1)) * 1000)


def test_active_hours_across_midnight():
    rule = power_rule(for_ms=0, active=(23 * 60, 5 * 60))  # "23:00-05:00"
    engine = Engine([rule])
    assert engine.batch(local_ms(22, 59), 500, stats(500)) == []
    [fired] = engine.batch(local_ms(23, 0), 500, stats(500))
    assert engine.batch(local_ms(4, 59) + 86_400_000, 500, stats(500)) == []
    [resolved] = engine.batch(local_ms(5, 0) + 86_400_000, 500, stats(500))
    assert (fired.state, resolved.state) == (FIRING, RESOLVED)
    assert "outside its active hours 23:00-05:00" in resolved.text


def test_stale_and_unreachable_on_ticks():
    stale = Rule("s", "stale", None, (), stale_ms=10_000, for_ms=0)
    down = Rule("m", "unreachable", None, (), unreachable="mysql", unreachable_ms=60_000, for_ms=0)
    engine = Engine([stale, down])
    assert engine.tick(T0 + 9_999, T0, {"mysql": T0}) == []
    [fired] = engine.tick(T0 + 10_000, T0, {"mysql": T0})
    assert (fired.alert, fired.since, fired.value) == ("s", T0 + 10_000, 10.0)
    [down_fired] = engine.tick(T0 + 60_000, T0, {"mysql": T0})
    assert (down_fired.alert, down_fired.since, down_fired.value) == ("m", T0 + 60_000, 1.0)
    resolved = engine.tick(T0 + 61_000, T0 + 61_000, {"mysql": None})
    assert sorted((e.alert, e.state) for e in resolved) == [("m", RESOLVED), ("s", RESOLVED)]
    assert {e.alert: e.text for e in resolved} == {
        "m": "mysql reachable",
        "s": f"batches stored again ({time.strftime('%H:%M:%S', time.localtime((T0 + 61_000) / 1000))})",
    }


def test_a_restart_remembers_what_was_firing():
    engine = Engine([power_rule(for_ms=0)], firing={"r": T0})
    assert feed(engine, [500]) == []  # still firing: not notified again
    assert [e.state for e in feed(engine, [5], start=T0 + 500)] == [RESOLVED]
    assert engine.states()[0]["state"] == "ok"


# ---- the property: the engine equals a simple model, and never fires without cause --------


def reference(batches, for_ms):
    """Events (state, index, since) by brute force: at each batch, look back over the run."""
    firing, out = False, []
    for i, (_start, end, holds) in enumerate(batches):
        if holds == firing:
            continue
        j = i
        while j > 0 and batches[j - 1][2] == holds:
            j -= 1
        if end - batches[j][0] >= for_ms:
            firing = holds
            out.append((FIRING if holds else RESOLVED, i, batches[j][0]))
    return out


@given(
    values=st.lists(
        st.tuples(st.sampled_from([0.0, 99.0, 100.0, 100.5, 250.0]), st.integers(1, 6)),
        max_size=40,
    ),
    durations=st.lists(st.sampled_from([100, 250, 500, 500, 500, 1000]), min_size=1),
    gaps=st.lists(st.sampled_from([0, 0, 0, 0, 1, 700]), min_size=1),
    for_ms=st.sampled_from([0, 400, 500, 1000, 2500, 7000]),
)
def test_engine_matches_the_reference_and_never_fires_for_what_did_not_hold(
    values, durations, gaps, for_ms
):
    powers = [v for v, repeat in values for _ in range(repeat)]
    engine = Engine([power_rule(for_ms=for_ms, above=100.0)])
    batches, events, end = [], [], T0
    for i, watts in enumerate(powers):
        start = end + gaps[i % len(gaps)]  # a late batch leaves a hole; the run goes on
        end = start + durations[i % len(durations)]
        batches.append((start, end, watts > 100.0))
        for e in engine.batch(end, end - start, stats(watts)):
            events.append((e.state, i, e.since))
    assert events == reference(batches, for_ms)
    for state, i, since in events:
        # every batch from the run's start to the decision holds (or is clear) throughout
        window = [
            holds for (start, end, holds) in batches if since <= start and end <= batches[i][1]
        ]
        assert window and all(h == (state == FIRING) for h in window)
        assert batches[i][1] - since >= for_ms
    assert [s for s, _, _ in events] == [FIRING, RESOLVED] * (len(events) // 2) + [FIRING] * (
        len(events) % 2
    )


def test_hysteresis_with_no_delay_follows_the_condition():
    h = Hysteresis(0)
    assert [h.observe(x, t, t) for t, x in enumerate([False, True, True, False])] == [
        False,
        True,
        False,
        True,
    ]
