"""The shared poller: one request per batch for every viewer, a window kept, restarts followed."""

from __future__ import annotations

import threading

from corcypower.clock import FakeClock
from corcypower.dashboard.poller import LivePoller
from corcypower.live.api import StateAPI
from corcypower.live.ring import Ring
from tests.dashboard.helpers import batch
from tests.live.helpers import config, stats


def answer(*ts, newest=None):
    return {
        "newest": newest if newest is not None else (ts[-1] if ts else None),
        "batches": [batch(t) for t in ts],
    }


def test_new_batches_go_to_every_subscriber_once():
    poller = LivePoller("http://x:8070", keep_ms=600_000)
    got_a, got_b = [], []
    poller.subscribe(got_a.extend)
    poller.subscribe(got_b.extend)
    poller.take(answer(1000, 1500))
    poller.take(answer(1500, 2000))  # 1500 again: already handed out
    assert [b["ts"] for b in got_a] == [1000, 1500, 2000] == [b["ts"] for b in got_b]
    assert poller.last_ts == 2000 and poller.seconds_since_data() is not None


def test_a_new_subscriber_gets_the_kept_window_then_only_news():
    poller = LivePoller("http://x:8070", keep_ms=1000)
    poller.take(answer(1000, 1500, 2000, 2500))
    got = []
    kept = poller.subscribe(got.extend)
    assert [b["ts"] for b in kept] == [1500, 2000, 2500]  # within keep_ms of the newest
    poller.take(answer(3000))
    assert [b["ts"] for b in got] == [3000]
    poller.unsubscribe(got.extend)
    poller.take(answer(3500))
    assert len(got) == 1


def test_a_daemon_with_an_older_newest_batch_starts_the_window_over():
    poller = LivePoller("http://x:8070", keep_ms=600_000)
    poller.take(answer(5000))
    poller.take(answer(newest=1000))
    assert poller.last_ts == 0 and poller.subscribe(lambda b: None) == []


def test_a_broken_subscriber_does_not_starve_the_others():
    poller = LivePoller("http://x:8070", keep_ms=600_000)
    got = []

    def broken(batches):
        raise RuntimeError("session gone")

    poller.subscribe(broken)
    poller.subscribe(got.extend)
    poller.take(answer(1000))
    assert len(got) == 1


def test_the_poller_follows_a_real_state_api_with_long_polls():
    ring = Ring(600, 0.5)
    api = StateAPI(ring, config(), FakeClock()).start()
    poller = LivePoller(api.url, keep_ms=600_000)
    arrived = threading.Event()
    seen = []
    poller.subscribe(lambda batches: (seen.extend(batches), arrived.set()))
    try:
        ring.add(1000, 500, stats())
        poller.start()
        assert arrived.wait(10)
        arrived.clear()
        ring.add(1500, 500, stats())  # the poll waiting on the daemon answers at once
        assert arrived.wait(10)
        assert poller.error is None
    finally:
        poller.stop()
        api.close()
    assert [b["ts"] for b in seen] == [1000, 1500]


def test_an_unreachable_daemon_is_an_error_to_show_not_a_crash():
    poller = LivePoller("http://127.0.0.1:9", keep_ms=600_000)  # nothing listens on port 9
    thread = threading.Thread(target=poller.run)
    calls = []

    def fetch(url, timeout):
        calls.append(url)
        poller.stop()
        raise ConnectionRefusedError("connection refused")

    poller.fetch = fetch
    thread.start()
    thread.join(10)
    assert calls == ["http://127.0.0.1:9/api/v1/live?since=0&wait=5"]
    assert "connection refused" in poller.error
