"""Couriers: failures retried then given up, in order, logged; a full queue never blocks."""

from __future__ import annotations

import logging
import threading

from corcypower.alerts.delivery import QUEUE_SIZE, Courier
from corcypower.alerts.notifiers import WebhookNotifier
from tests.alerts.servers import HttpSink
from tests.alerts.test_notifiers import message


def test_a_failing_server_is_retried_until_it_answers_and_order_is_kept(caplog):
    caplog.set_level(logging.INFO)
    http = HttpSink()
    http.fail = 3
    courier = Courier(WebhookNotifier(http.url, 5), 60, wait_scale=0.001).start()
    try:
        courier.post(message(alert="first"))
        courier.post(message(alert="second"))
        first, second = http.wait(2)
    finally:
        courier.close()
        http.close()
    assert b'"first"' in first.body and b'"second"' in second.body
    assert courier.delivered == 2 and courier.failed == 0
    assert "HTTP 500" in caplog.text and "first firing delivered after 3 failures" in caplog.text


def test_given_up_after_retry_minutes_and_logged_as_an_error(caplog):
    courier = Courier(WebhookNotifier("http://127.0.0.1:9/h", 1), 0.001, wait_scale=0.001)
    assert courier.deliver(message()) is False
    assert courier.failed == 1
    [error] = [r for r in caplog.records if r.levelname == "ERROR"]
    assert "webhook: gave up on standby firing after" in error.getMessage()
    assert "refused" in error.getMessage()


class Stuck:
    """A notifier whose server hangs: send() waits until released."""

    name = "stuck"

    def __init__(self):
        self.release = threading.Event()

    def send(self, message) -> None:
        self.release.wait(30)


def test_a_hung_server_fills_only_its_own_queue_and_posting_never_waits(caplog):
    stuck = Stuck()
    courier = Courier(stuck, 60).start()
    for _ in range(QUEUE_SIZE + 5):  # one in flight, QUEUE_SIZE waiting, the rest dropped
        courier.post(message())
    assert 3 <= courier.dropped <= 5 and "notifications waiting already; dropped" in caplog.text
    stuck.release.set()
    courier.close(timeout=10)
    assert courier.delivered == QUEUE_SIZE + 5 - courier.dropped
