"""The house's history: each device's total from its real history API (a real power.db), and
the totals' rules (grid channels only, a missing bucket a gap, never a smaller sum)."""

from __future__ import annotations

import time

import numpy as np
import pytest

from corcypower.clock import FakeClock
from corcypower.dashboard.house import House, device_line, total
from corcypower.dashboard.poller import LivePoller
from corcypower.live.api import StateAPI
from corcypower.live.ring import Ring
from corcypower.store.series import HistoryReader
from tests.dashboard.helpers import config, simulated_db
from tests.live.helpers import get

HOUR = 3_600_000


@pytest.fixture(scope="module")
def device(tmp_path_factory):
    """A state API serving the history of a real power.db: six hours of the emulated house."""
    now = int(time.time() * 1000)
    db = simulated_db(tmp_path_factory.mktemp("house") / "power.db", hours=6, end_ms=now - 1000)
    cfg = config(db, api={"port": 0}, export={"mysql": {"point": "shed"}})
    api = StateAPI(Ring(600, 0.5), cfg, FakeClock(), history=HistoryReader(db)).start()
    yield api, now
    api.close()


def test_a_devices_line_is_the_sum_of_its_grid_channels(device):
    api, now = device
    status, doc = get(f"{api.url}/api/v1/history?start={now - 6 * HOUR}&end={now}&points=200")
    assert status == 200
    by_name = {s["channel"]: s for s in doc["series"]}
    line = device_line("shed", doc, ("main", "solar"))
    main, solar = by_name["main"], by_name["solar"]
    assert main["ts"] == solar["ts"] and len(main["ts"]) > 100
    expected = np.array(main["mean"]) + np.array(solar["mean"])
    assert np.array_equal(line.ts, np.array(main["ts"], dtype=float))
    assert line.watts == pytest.approx(expected)
    only_main = device_line("shed", doc, ("main",))
    assert only_main.watts == pytest.approx(main["mean"])
    with pytest.raises(ValueError, match="no history of oven"):
        device_line("shed", doc, ("main", "oven"))


def test_a_bucket_one_channel_lacks_is_a_gap_not_a_smaller_sum():
    ts = np.arange(10, dtype=float) * 60_000
    a = (ts, np.full(10, 100.0))
    b = (np.delete(ts, [4, 5, 6, 7]), np.full(6, 50.0))  # b has a hole of four minutes
    out_ts, watts = total({"a": a, "b": b}, 60_000)
    finite = {t: w for t, w in zip(out_ts, watts, strict=True) if np.isfinite(w)}
    assert set(finite) == set(b[0]) and set(finite.values()) == {150.0}
    gap = out_ts[~np.isfinite(watts)]
    assert list(gap) == [4 * 60_000.0]  # the line breaks one step after the last bucket


def test_a_device_that_does_not_answer_has_a_line_saying_why(device):
    api, now = device
    house = House(
        config("unused.db", dashboard={"devices": ["http://127.0.0.1:9"]}),
        LivePoller(api.url, 60_000),
        api.url,
        threads=0,
    )
    try:
        lines = [line for f in house.history(now - HOUR, now, 100) for line in f.result()]
    finally:
        house.stop()
    here, there = lines
    assert here.why == "" and len(here.ts) > 30  # this device: the API of its own power.db
    assert there.name == "127.0.0.1" and "refused" in there.why and len(there.ts) == 0
