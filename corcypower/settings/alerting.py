"""The settings of alerts: [notify.*] (where notifications go) and each [[alerts]] table.

Part of the one table of settings (table.py adds NOTIFY_SETTINGS to SETTINGS); kept apart
because alerts bring two dozen keys of their own.
"""

from __future__ import annotations

from corcypower.settings.checks import (
    choice,
    clock_window,
    email_address,
    email_list,
    number,
    text,
    web_url,
    word_list,
)
from corcypower.settings.setting import Setting

NOTIFY_SETTINGS: list[Setting] = [
    Setting(
        "notify.webhook.url",
        None,
        'Where alerts with notify = ["webhook"] are POSTed as JSON (see docs/alerts.md). Not set: no webhook.',
        web_url,
    ),
    Setting(
        "notify.ntfy.url",
        None,
        'An ntfy topic URL, e.g. "https://ntfy.sh/my-house-3f9a", for alerts with notify = ["ntfy"].',
        web_url,
    ),
    Setting(
        "notify.ntfy.title",
        None,
        'Title of ntfy messages. Default: "CorcyPower <device>: <alert> firing" (or resolved).',
        text,
    ),
    Setting(
        "notify.ntfy.priority",
        "default",
        'ntfy priority of a firing alert: "min", "low", "default", "high" or "urgent"; resolved ones are sent at "default" or lower.',
        choice("min", "low", "default", "high", "urgent"),
    ),
    Setting(
        "notify.ntfy.tags",
        [],
        'ntfy tags (emoji short codes or words), e.g. ["zap", "house"]; "rotating_light" or "white_check_mark" is added for the state.',
        word_list(),
    ),
    Setting(
        "notify.email.host",
        None,
        'SMTP server for alerts with notify = ["email"], e.g. "smtp.example.com". Not set: no e-mail.',
        text,
    ),
    Setting(
        "notify.email.port", 587, "TCP port of the SMTP server.", number(1, 65535, integer=True)
    ),
    Setting(
        "notify.email.security",
        "starttls",
        '"starttls" (port 587: plain connection upgraded to TLS), "tls" (port 465: TLS from the start) or "none" (a local relay only).',
        choice("starttls", "tls", "none"),
    ),
    Setting(
        "notify.email.ca_file",
        None,
        "CA certificate (PEM) the SMTP server's certificate must chain to. Default: the system's CAs.",
        text,
    ),
    Setting("notify.email.user", None, "User name on the SMTP server. Not set: no login.", text),
    Setting(
        "notify.email.password",
        None,
        "SMTP password. Prefer password_file, $CORCYPOWER_SMTP_PASSWORD or systemd's LoadCredential=; a world-readable config file holding a password is warned about.",
        text,
    ),
    Setting(
        "notify.email.password_file",
        None,
        "File holding the SMTP password (its first line). A relative name is looked up in $CREDENTIALS_DIRECTORY (systemd LoadCredential=), else next to the config file.",
        text,
    ),
    Setting(
        "notify.email.from",
        None,
        'Sender address, e.g. "corcypower@example.com" (required with e-mail).',
        email_address,
    ),
    Setting(
        "notify.email.to",
        None,
        'Recipients, e.g. ["me@example.com"] (required with e-mail).',
        email_list,
    ),
    Setting(
        "notify.timeout_seconds",
        10.0,
        "Give up one attempt to deliver a notification (webhook, ntfy, e-mail) after this long.",
        number(1.0, 300.0),
    ),
    Setting(
        "notify.retry_minutes",
        60.0,
        "A notification that fails is retried (waits doubling from 2 s up to 5 min) for this long, then given up and logged as an error.",
        number(0.0, 10_080.0),
    ),
]

# One [[alerts]] table per rule (docs/alerts.md). Exactly one condition: above_w and/or below_w
# (with channel), on_flags, stale_seconds, or unreachable. Cross-checks (channel names, flag
# names, configured notifiers) are made by corcypower/alerts/rules.py when the daemon starts.
NOTIFIERS = ("log", "mqtt", "webhook", "ntfy", "email")

ALERT_SETTINGS: list[Setting] = [
    Setting(
        "name",
        None,
        "Unique name, used in notifications, the database and MQTT topics (letters, digits, _ and -).",
        text,
    ),
    Setting(
        "channel",
        None,
        'The channel watched: a channel\'s name, or "total" (the sum of dashboard.grid_channels). Required with above_w/below_w; with on_flags, default every channel.',
        text,
    ),
    Setting(
        "above_w",
        None,
        "Fires when the channel's real power (W) is above this for for_seconds.",
        number(-1_000_000.0, 1_000_000.0),
    ),
    Setting(
        "below_w",
        None,
        "Fires when the power (W) is below this for for_seconds. With above_w too: outside below_w..above_w.",
        number(-1_000_000.0, 1_000_000.0),
    ),
    Setting(
        "on_flags",
        None,
        'Fires when a batch of the channel carries any of these health flags, e.g. ["clipped", "flat", "nominal-voltage"].',
        word_list(),
    ),
    Setting(
        "stale_seconds",
        None,
        "Fires when no batch has been stored for this long (sampling or the database stuck).",
        number(1.0, 86_400.0),
    ),
    Setting(
        "unreachable",
        None,
        '"mysql" or "mqtt": fires when that server has been unreachable for unreachable_minutes.',
        choice("mysql", "mqtt"),
    ),
    Setting(
        "unreachable_minutes",
        10.0,
        "Minutes the server must have failed for before an unreachable alert holds.",
        number(0.0, 10_080.0),
    ),
    Setting(
        "for_seconds",
        60.0,
        "Hysteresis: the condition must hold this long to fire, and be clear this long to resolve.",
        number(0.0, 86_400.0),
    ),
    Setting(
        "active",
        None,
        'Local hours when the rule is watched, "HH:MM-HH:MM", e.g. "01:00-05:00" or "22:00-06:00" (across midnight). Outside them the condition counts as clear. Default: all day.',
        clock_window,
    ),
    Setting(
        "quiet",
        None,
        'Local hours with no notification but the log, e.g. "22:00-07:00". An alert still firing when they end is sent then. Default: none.',
        clock_window,
    ),
    Setting(
        "notify",
        ["log"],
        'Where it is sent: any of "log", "mqtt", "webhook", "ntfy", "email" (each configured in [notify.*] or [mqtt]).',
        word_list(*NOTIFIERS),
    ),
    Setting(
        "max_per_hour",
        6,
        "Rate limit: at most this many firings notified in any hour; one beyond waits, and is sent if it still holds when allowed.",
        number(1, 3600, integer=True),
    ),
]

ALERT_SETTING_BY_NAME = {s.name: s for s in ALERT_SETTINGS}
REQUIRED_ALERT_KEYS = ("name",)
