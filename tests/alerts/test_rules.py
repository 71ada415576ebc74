"""[[alerts]] tables into rules: every mistake a one-line error naming the file, alert and key."""

from __future__ import annotations

import pytest

from corcypower import settings
from corcypower.alerts.rules import from_config, in_window
from corcypower.errors import ConfigError
from tests.conftest import CHANNELS as CONFTEST_CHANNELS

# the conftest's mains voltage and CT, and a second CT
CHANNELS = (
    CONFTEST_CHANNELS
    + """
[[channels]]
name = "solar"
adc_channel = 2
kind = "current"
scale = 0.02
"""
)


def load(tmp_path, alerts: str, extra: str = ""):
    path = tmp_path / "config.toml"
    path.write_text(extra + "\n" + CHANNELS + "\n" + alerts)
    return settings.load(path)


def rules(tmp_path, alerts: str, extra: str = ""):
    return from_config(load(tmp_path, alerts, extra))


def test_every_kind_of_condition(tmp_path):
    found = rules(
        tmp_path,
        """
[[alerts]]
name = "standby"
channel = "total"
above_w = 150
active = "01:00-05:00"

[[alerts]]
name = "adapter"
on_flags = ["flat", "nominal-voltage"]
channel = "mains_v"
for_seconds = 5
notify = ["log", "webhook"]

[[alerts]]
name = "silent"
stale_seconds = 30
for_seconds = 0

[[alerts]]
name = "nas"
unreachable = "mysql"
unreachable_minutes = 15
""",
        '[notify.webhook]\nurl = "http://127.0.0.1:9/hook/"\n[export.mysql]\nhost = "nas"\n',
    )
    standby, adapter, silent, nas = found
    assert standby.channels == ("main", "solar") and standby.active == (60, 300)
    assert standby.describe() == "total above 150 W for 60 s, active 01:00-05:00"
    assert adapter.flags == 2 | 16 and adapter.channels == ("mains_v",)
    assert adapter.notify == ("log", "webhook") and adapter.for_ms == 5000
    assert silent.describe() == "no batch stored for 30 s for 0 s"
    assert nas.unreachable_ms == 900_000 and nas.threshold == 15


@pytest.mark.parametrize(
    "alerts, extra, message",
    [
        ('name = "a"\nchannel = "main"', "", "expected exactly one condition"),
        (
            'name = "a"\nchannel = "main"\nabove_w = 1\non_flags = ["flat"]',
            "",
            "it has power and flags",
        ),
        (
            'name = "a"\nchannel = "mains"\nabove_w = 1',
            "",
            '.channel = "mains": expected a current channel or "total"',
        ),
        (
            'name = "a"\nchannel = "mains_v"\nabove_w = 1',
            "",
            '.channel = "mains_v": expected a current channel',
        ),
        ('name = "a"\nabove_w = 1', "", "missing key channel"),
        (
            'name = "a"\nchannel = "main"\nabove_w = 1\nbelow_w = 5',
            "",
            "below_w must be less than above_w",
        ),
        (
            'name = "a"\non_flags = ["clipt"]',
            "",
            "on_flags = ['clipt']: expected health flags among \"clipped\"",
        ),
        ('name = "a"\non_flags = []', "", "expected health flags"),
        (
            'name = "a"\nstale_seconds = 5\nchannel = "main"',
            "",
            "a stale alert is about the device",
        ),
        (
            'name = "a"\nunreachable = "mysql"',
            "",
            '.unreachable = "mysql": mysql is not configured ([export.mysql] host',
        ),
        ('name = "a"\nunreachable = "mqtt"', "", "[mqtt] host is not set"),
        (
            'name = "a"\nstale_seconds = 5\nnotify = ["ntfy"]',
            "",
            '"ntfy" needs [notify.ntfy] url set',
        ),
        (
            'name = "a"\nstale_seconds = 5\nnotify = ["email"]',
            '[notify.email]\nhost = "x"',
            '"email" needs [notify.email] host, from and to',
        ),
    ],
)
def test_cross_checks(tmp_path, alerts, extra, message):
    with pytest.raises(ConfigError) as err:
        rules(tmp_path, "[[alerts]]\n" + alerts, extra)
    text = str(err.value)
    assert (
        message in text and str(tmp_path / "config.toml") in text and '[[alerts]] #1 ("a")' in text
    )
    assert "\n" not in text


@pytest.mark.parametrize(
    "alerts, message",
    [
        ('name = "a"\nabove = 5', '[[alerts]] #1 ("a"): unknown key above (did you mean above_w?)'),
        ('name = "a b"\nstale_seconds = 5', 'name = "a b": expected 1 to 64 letters'),
        ("stale_seconds = 5", "[[alerts]] #1: missing key name"),
        ('name = "a"\nstale_seconds = 0.5', "stale_seconds = 0.5: expected a number from 1.0"),
        (
            'name = "a"\nstale_seconds = 5\nactive = "1:00-5:00"',
            'active = "1:00-5:00": expected "HH:MM-HH:MM"',
        ),
        ('name = "a"\nstale_seconds = 5\nactive = "25:00-05:00"', 'expected "HH:MM-HH:MM"'),
        ('name = "a"\nstale_seconds = 5\nquiet = "05:00-05:00"', "start and end must differ"),
        (
            'name = "a"\nstale_seconds = 5\nnotify = ["sms"]',
            "notify = ['sms']: expected a list of any of \"log\"",
        ),
        ('name = "a"\nstale_seconds = 5\nnotify = ["log", "log"]', "each once"),
        (
            'name = "a"\nstale_seconds = 5\nmax_per_hour = 0',
            "max_per_hour = 0: expected a whole number from 1",
        ),
        (
            'name = "a"\nstale_seconds = 5\n[[alerts]]\nname = "a"\nstale_seconds = 6',
            '#2 ("a").name = "a": already used by [[alerts]] #1',
        ),
    ],
)
def test_key_checks_when_loading(tmp_path, alerts, message):
    with pytest.raises(ConfigError) as err:
        load(tmp_path, "[[alerts]]\n" + alerts)
    assert message in str(err.value)


@pytest.mark.parametrize(
    "extra, message",
    [
        ('[notify.webhook]\nurl = "ftp://x"', '[notify.webhook] url = "ftp://x": expected a URL'),
        (
            '[notify.email]\nto = "me@example.com"',
            'to = "me@example.com": expected a list of one or more e-mail addresses',
        ),
        (
            '[notify.email]\nsecurity = "ssl"',
            'security = "ssl": expected one of "starttls", "tls", "none"',
        ),
        ("[notify.ntfy]\npriority = 9", "priority = 9: expected one of"),
        ("[notify]\nretry_minutes = -1", "retry_minutes = -1: expected a number from 0.0"),
    ],
)
def test_notify_settings(tmp_path, extra, message):
    with pytest.raises(ConfigError) as err:
        load(tmp_path, "", extra)
    assert message in str(err.value)


def test_windows_include_the_start_and_exclude_the_end():
    import time

    t = time.localtime()
    at = lambda h, m: int(time.mktime((t.tm_year, t.tm_mon, t.tm_mday, h, m, 0, 0, 0, -1)) * 1000)  # noqa: E731
    night = (22 * 60, 7 * 60)
    assert (
        in_window(night, at(22, 0)) and in_window(night, at(0, 0)) and in_window(night, at(6, 59))
    )
    assert not in_window(night, at(7, 0)) and not in_window(night, at(21, 59))
    day = (9 * 60, 24 * 60)
    assert in_window(day, at(23, 59)) and not in_window(day, at(0, 0))
    assert in_window(None, at(12, 0))


# ---- any [[alerts]] table: a rule, or one clean line naming the alert ---------------------

from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["main", "total", "mains_v", "solar", "01:00-05:00", "24:00-01:00", "mysql"]),
    st.lists(st.sampled_from(["flat", "clipped", "log", "webhook", "x", ""]), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
KEYS = st.sampled_from(
    ["name", "channel", "above_w", "below_w", "on_flags", "stale_seconds", "unreachable",
     "unreachable_minutes", "for_seconds", "active", "quiet", "notify", "max_per_hour", "bogus"]
)  # fmt: skip


@given(tables=st.lists(st.dictionaries(KEYS, VALUES, max_size=6), max_size=3))
def test_any_alerts_table_is_a_rule_or_one_clean_line(tables):
    import math

    data = {"channels": [
        {"name": "mains_v", "adc_channel": 1, "kind": "voltage", "scale": 0.25},
        {"name": "main", "adc_channel": 0, "kind": "current", "scale": 0.02},
    ], "alerts": [{k: v for k, v in t.items() if v is not None} for t in tables]}  # fmt: skip
    try:
        found = from_config(settings.from_dict(data))
    except ConfigError as exc:
        text = str(exc)
        assert "\n" not in text and ("[[alerts]]" in text or "alerts:" in text), text
        return
    for rule in found:
        numbers = [rule.for_ms, rule.stale_ms, rule.unreachable_ms, rule.max_per_hour]
        numbers += [x for x in (rule.above_w, rule.below_w) if x is not None]
        assert all(math.isfinite(x) for x in numbers)
        assert rule.kind in ("power", "flags", "stale", "unreachable") and rule.describe()
