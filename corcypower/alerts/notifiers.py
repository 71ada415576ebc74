"""Where notifications go: the Message every notifier is handed, and log, webhook and ntfy.

A notifier has a `name` and `send(message)`, which either delivers or raises DeliveryError
saying where and why; delivery.py retries it from a thread of its own. Email is in email.py,
MQTT in mqtt.py. Only the standard library: nothing to install for alerts.
"""

from __future__ import annotations

import base64
import json
import logging
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from corcypower import __version__
from corcypower.alerts.engine import FIRING, Event
from corcypower.errors import DeliveryError
from corcypower.settings import Config

log = logging.getLogger(__name__)

NTFY_PRIORITIES = ("min", "low", "default", "high", "urgent")
STATE_TAG = {FIRING: "rotating_light", "resolved": "white_check_mark"}


def device_name(config: Config) -> str:
    """This device as notifications name it: as in MQTT and Home Assistant ([mqtt] device,
    else the MySQL point, else the host name)."""
    from corcypower.mqtt.config import default_device  # standard library only

    return config["mqtt.device"] or default_device(config)


def local_iso(ts_ms: int) -> str:
    return datetime.fromtimestamp(ts_ms / 1000).astimezone().isoformat(timespec="seconds")


@dataclass(frozen=True)
class Message:
    """An event as notifiers send it: with the device, and whether it is `alerts test`."""

    event: Event
    device: str
    condition: str  # the rule in words
    test: bool = False

    @property
    def title(self) -> str:
        state = "test" if self.test else self.event.state
        return f"CorcyPower {self.device}: {self.event.alert} {state}"

    @property
    def body(self) -> str:
        e = self.event
        lines = [e.text, f"alert: {e.alert} ({self.condition})"]
        what = "since" if e.state == FIRING else "clear since"
        lines.append(f"{e.state} at {local_iso(e.ts)}, {what} {local_iso(e.since)}")
        if self.test:
            lines.insert(0, "A test notification (corcypower alerts test): nothing is wrong.")
        return "\n".join(lines)

    def payload(self) -> dict:
        """The webhook's JSON (docs/alerts.md)."""
        e = self.event
        return {
            "alert": e.alert,
            "channel": e.channel,
            "state": e.state,
            "value": e.value,
            "threshold": e.threshold,
            "since": e.since,
            "since_time": local_iso(e.since),
            "ts": e.ts,
            "device": self.device,
            "text": e.text,
            "condition": self.condition,
            "test": self.test,
        }


class Notifier(Protocol):
    name: str

    def send(self, message: Message) -> None: ...


class LogNotifier:
    """The journal: a warning when an alert fires, an info line when it resolves."""

    name = "log"

    def send(self, message: Message) -> None:
        level = logging.WARNING if message.event.state == FIRING else logging.INFO
        log.log(level, "%s: %s", message.title, message.event.text)


def post(name: str, url: str, body: bytes, headers: dict[str, str], timeout: float) -> None:
    """POST `body`; DeliveryError unless the answer is 2xx."""
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"User-Agent": f"corcypower/{__version__}", **headers},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            answer.read()
    except urllib.error.HTTPError as exc:
        text = exc.read(200).decode("utf-8", "replace").strip()
        raise DeliveryError(f"{name} {url}: HTTP {exc.code} {exc.reason} {text}".strip()) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise DeliveryError(f"{name} {url}: {reason}") from None


class WebhookNotifier:
    """POSTs the message as JSON to [notify.webhook] url."""

    name = "webhook"

    def __init__(self, url: str, timeout: float):
        self.url, self.timeout = url, timeout

    def send(self, message: Message) -> None:
        body = json.dumps(message.payload()).encode()
        post(self.name, self.url, body, {"Content-Type": "application/json"}, self.timeout)


class NtfyNotifier:
    """Publishes to an ntfy topic: the text as the body, title, priority and tags as headers."""

    name = "ntfy"

    def __init__(self, url: str, title: str | None, priority: str, tags: list[str], timeout: float):
        self.url, self.title, self.priority, self.tags = url, title, priority, tags
        self.timeout = timeout

    def send(self, message: Message) -> None:
        priority = self.priority
        if message.event.state != FIRING:  # good news is never more urgent than "default"
            priority = min(priority, "default", key=NTFY_PRIORITIES.index)
        state = "test_tube" if message.test else STATE_TAG[message.event.state]
        title = self.title or message.title
        if self.title:
            title += f": {message.event.alert} {'test' if message.test else message.event.state}"
        headers = {
            "Title": header(title),
            "Priority": priority,
            "Tags": ",".join([*self.tags, state]),
            "Content-Type": "text/plain; charset=utf-8",
        }
        post(self.name, self.url, message.body.encode(), headers, self.timeout)


def header(text: str) -> str:
    """An HTTP header value: ASCII as it is, anything else RFC 2047-encoded (ntfy decodes it)."""
    if text.isascii():
        return text
    return f"=?UTF-8?B?{base64.b64encode(text.encode()).decode()}?="


def build(config: Config, names: set[str]) -> dict[str, Notifier]:
    """The notifiers named by some rule, from [notify.*] (rules.py has checked they are set)."""
    timeout = config["notify.timeout_seconds"]
    out: dict[str, Notifier] = {}
    if "log" in names:
        out["log"] = LogNotifier()
    if "webhook" in names:
        out["webhook"] = WebhookNotifier(config["notify.webhook.url"], timeout)
    if "ntfy" in names:
        out["ntfy"] = NtfyNotifier(
            config["notify.ntfy.url"],
            config["notify.ntfy.title"],
            config["notify.ntfy.priority"],
            config["notify.ntfy.tags"],
            timeout,
        )
    if "email" in names:
        from corcypower.alerts.email import EmailNotifier

        out["email"] = EmailNotifier.from_config(config)
    return out
