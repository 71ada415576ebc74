"""Each notifier against a real server: webhook and ntfy over HTTP, e-mail over SMTP (aiosmtpd)."""

from __future__ import annotations

import json
import logging

import pytest

from corcypower.alerts.email import EmailNotifier
from corcypower.alerts.engine import FIRING, RESOLVED, Event
from corcypower.alerts.notifiers import LogNotifier, Message, NtfyNotifier, WebhookNotifier
from corcypower.errors import DeliveryError
from tests.alerts.servers import PASSWORD, USER, HttpSink, Mailbox

T0 = 1_767_225_600_000


def message(state=FIRING, test=False, alert="standby") -> Message:
    event = Event(alert, state, T0 + 60_000, T0, 212.5, 150.0, "main", "main 212 W, above 150 W")
    return Message(event, "garage", "main above 150 W for 60 s", test)


@pytest.fixture
def http():
    sink = HttpSink()
    yield sink
    sink.close()


def test_webhook_posts_the_documented_json(http):
    WebhookNotifier(http.url + "/hook/", 5).send(message())
    [req] = http.wait(1)
    assert req.path == "/hook/" and req.headers["Content-Type"] == "application/json"
    body = json.loads(req.body)
    assert {k: body[k] for k in ("alert", "channel", "state", "value", "threshold", "since", "device")} == {
        "alert": "standby", "channel": "main", "state": "firing", "value": 212.5,
        "threshold": 150.0, "since": T0, "device": "garage",
    }  # fmt: skip
    assert body["test"] is False and body["since_time"].startswith("20")


def test_ntfy_sends_title_priority_and_tags_as_headers(http):
    ntfy = NtfyNotifier(http.url + "/house", None, "urgent", ["zap"], 5)
    ntfy.send(message())
    ntfy.send(message(RESOLVED))
    fired, resolved = http.wait(2)
    assert fired.headers["Title"] == "CorcyPower garage: standby firing"
    assert (fired.headers["Priority"], fired.headers["Tags"]) == ("urgent", "zap,rotating_light")
    assert fired.body.decode().startswith("main 212 W, above 150 W\nalert: standby")
    assert (resolved.headers["Priority"], resolved.headers["Tags"]) == (
        "default",
        "zap,white_check_mark",
    )


def test_ntfy_title_in_utf8_is_encoded(http):
    NtfyNotifier(http.url + "/t", "Maison Élise", "low", [], 5).send(message(test=True))
    [req] = http.wait(1)
    assert req.headers["Title"].startswith("=?UTF-8?B?") and req.headers["Tags"] == "test_tube"


def test_an_http_error_or_no_server_is_a_delivery_error(http):
    http.fail = 1
    with pytest.raises(DeliveryError, match=r"webhook http://127.0.0.1:\d+/h: HTTP 500"):
        WebhookNotifier(http.url + "/h", 5).send(message())
    with pytest.raises(DeliveryError, match="ntfy http://127.0.0.1:9/x: .*refused"):
        NtfyNotifier("http://127.0.0.1:9/x", None, "default", [], 5).send(message())


def test_log_warns_when_firing_and_informs_when_resolved(caplog):
    caplog.set_level(logging.INFO)
    LogNotifier().send(message())
    LogNotifier().send(message(RESOLVED))
    assert [r.levelname for r in caplog.records] == ["WARNING", "INFO"]
    assert "CorcyPower garage: standby firing: main 212 W" in caplog.text


# aiosmtpd warns of AUTH without STARTTLS, not counting TLS from the start as TLS
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
@pytest.mark.parametrize("implicit_tls", [False, True], ids=["starttls", "tls"])
def test_email_over_tls_with_a_password(tmp_path, implicit_tls):
    box = Mailbox(tmp_path, implicit_tls)
    try:
        notifier = EmailNotifier(
            "127.0.0.1", box.port, "tls" if implicit_tls else "starttls",
            "corcypower@example.com", ["me@example.com", "you@example.com"],
            USER, PASSWORD, str(box.cert), 10,
        )  # fmt: skip
        notifier.send(message())
        [mail] = box.wait(1)
    finally:
        box.close()
    assert box.logins == [USER]
    assert mail["Subject"] == "CorcyPower garage: standby firing"
    assert mail["To"] == "me@example.com, you@example.com"
    assert "main 212 W, above 150 W" in mail.get_payload()
    assert "password" not in repr(notifier) and PASSWORD not in repr(notifier)


def test_email_errors_say_what_to_check(tmp_path):
    box = Mailbox(tmp_path)
    try:
        args = ("127.0.0.1", box.port)
        wrong = EmailNotifier(
            *args, "starttls", "a@b.c", ["d@e.f"], USER, "wrong", str(box.cert), 10
        )
        with pytest.raises(
            DeliveryError, match="login refused .*check \\[notify.email\\] user and the password"
        ):
            wrong.send(message())
        plain = EmailNotifier(*args, "none", "a@b.c", ["d@e.f"], None, None, None, 10)
        with pytest.raises(DeliveryError, match=f"email via 127.0.0.1:{box.port}: .*STARTTLS"):
            plain.send(message())
        untrusted = EmailNotifier(*args, "starttls", "a@b.c", ["d@e.f"], USER, PASSWORD, None, 10)
        with pytest.raises(DeliveryError, match="CERTIFICATE_VERIFY_FAILED"):
            untrusted.send(message())
    finally:
        box.close()
