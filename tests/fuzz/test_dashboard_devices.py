"""Fuzzing `[dashboard] devices`: lists of URLs near the syntax, then bent.

Properties: a one-line error that names the key and, for a bad entry, the entry; or a list
of at most MAX_DEVICES distinct http://HOST[:PORT] URLs that urllib splits to a host and a
port, so the dashboard can only ever ask http servers by name.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from hypothesis import given
from hypothesis import strategies as st

from corcypower import settings
from corcypower.errors import ConfigError
from corcypower.settings.checks import MAX_DEVICES
from tests.fuzz.test_capture import mostly

host = mostly(
    st.sampled_from(["garage-pi", "127.0.0.1", "[::1]", "pi.local", "a"]),
    st.sampled_from(["", " ", "a b", "u@h", "h#", "h?x", "[::1", "h\n", "h/", "ü"]),
    st.text(max_size=12),
)
port = mostly(
    st.integers(1, 65535).map(lambda p: f":{p}"),
    st.sampled_from(["", ":", ":0", ":65536", ":-1", ":8o70", ": 80", ":99999999999"]),
    st.text(max_size=6),
)
scheme = mostly(
    st.just("http://"), st.sampled_from(["https://", "ftp://", "", "http:/", "HTTP://"])
)
path = mostly(st.sampled_from(["", "/", "/pi"]), st.sampled_from(["?a=1", "#x", "/ x", "//"]))
url = mostly(st.builds(lambda *p: "".join(p), scheme, host, port, path), st.text(max_size=30))
devices = mostly(
    st.lists(url, max_size=4),
    st.lists(url, min_size=MAX_DEVICES + 1, max_size=MAX_DEVICES + 3),
    st.lists(st.one_of(url, st.integers(), st.none(), st.booleans(), st.lists(url)), max_size=3),
    st.one_of(url, st.integers(), st.dictionaries(st.text(max_size=3), url, max_size=2)),
)


@given(devices)
def test_devices_are_http_urls_or_a_one_line_error(value):
    try:
        urls = settings.from_dict({"dashboard": {"devices": value}})["dashboard.devices"]
    except ConfigError as exc:
        text = str(exc)
        assert "\n" not in text and text.startswith("<settings>: [dashboard] devices = ")
        assert "expected" in text or "listed twice" in text
        if isinstance(value, list) and len(value) <= MAX_DEVICES and "entry " in text:
            k = int(text.split("entry ")[1].split(",")[0])
            assert 1 <= k <= len(value)
        return
    assert isinstance(value, list) and len(urls) == len(value) <= MAX_DEVICES
    assert len(set(urls)) == len(urls)
    for u in urls:
        parts = urlsplit(u)
        assert parts.scheme == "http" and parts.hostname and not parts.query and u.isprintable()
        assert parts.port is None or 1 <= parts.port <= 65535
        assert not parts.username and not parts.fragment


def test_the_error_names_the_bad_entry():
    bad = ["http://garage-pi:8070", "ftp://shed:21"]
    try:
        settings.from_dict({"dashboard": {"devices": bad}})
    except ConfigError as exc:
        assert str(exc) == (
            "<settings>: [dashboard] devices = ['http://garage-pi:8070', 'ftp://shed:21']: "
            'entry 2, "ftp://shed:21": expected "http://HOST:PORT" (no query or user)'
        )
    else:
        raise AssertionError("ftp:// accepted")


def test_central_mysql_needs_a_server():
    from corcypower.dashboard.app import Dashboard

    config = settings.from_dict({"dashboard": {"central_mysql": True}})
    try:
        Dashboard(config, threads=0)
    except ConfigError as exc:
        assert str(exc) == (
            "<settings>: [dashboard] central_mysql = true: expected [export.mysql] host (and "
            "its user and password) to read the central database from"
        )
    else:
        raise AssertionError("central_mysql accepted without a server")
