"""The ring of recent batches: order, window, JSON encoding, watchers."""

from __future__ import annotations

import json
import math

from corcypower.live.ring import Ring, batch_dict
from tests.live.helpers import CLIPPED, stats


def decoded(items):
    return [json.loads(b) for b in items]


def test_since_returns_newer_batches_oldest_first():
    ring = Ring(600, 0.5)
    for ts in (1000, 1500, 2000):
        ring.add(ts, 500, stats(watts=ts / 10))
    assert [b["ts"] for b in decoded(ring.since(1000))] == [1500, 2000]
    assert [b["ts"] for b in decoded(ring.since(0))] == [1000, 1500, 2000]
    assert ring.since(2000) == []
    assert ring.newest_ts() == 2000 and ring.latest()["ts"] == 2000


def test_the_ring_keeps_its_window_and_drops_the_oldest():
    ring = Ring(600, 0.5)
    for k in range(2000):
        ring.add(k * 500, 500, stats())
    kept = decoded(ring.since(-1))
    assert kept[-1]["ts"] == 1999 * 500
    assert kept[-1]["ts"] - kept[0]["ts"] >= 600_000  # at least ring_seconds
    assert len(kept) < 2000


def test_a_batch_carries_units_of_its_kind_and_flag_names():
    batch = batch_dict(1000, 500, stats(flags=CLIPPED))
    volts, main = batch["channels"]
    assert volts["vrms"] == 230.0 and "irms" not in volts
    assert main["real_power_w"] == 200.0 and "vrms" not in main
    assert main["flags"] == ["clipped"] and volts["flags"] == []


def test_not_a_number_becomes_null_so_the_json_stays_valid():
    s = stats()
    s[1].power_factor = math.nan
    ring = Ring(600, 0.5)
    ring.add(1000, 500, s)
    assert json.loads(ring.since(0)[0])["channels"][1]["power_factor"] is None


def test_watchers_are_called_after_each_batch_is_kept():
    ring = Ring(600, 0.5)
    seen = []
    ring.watchers.append(lambda: seen.append(ring.newest_ts()))
    ring.add(1000, 500, stats())
    ring.add(1500, 500, stats())
    assert seen == [1000, 1500]
