"""The state API's docs stay in sync with its server: every status it sends, every limit."""

from __future__ import annotations

import re
from http import HTTPStatus

from corcypower import settings
from corcypower.live import messages, server
from tests.helpers import REPO

DOC = (REPO / "docs" / "dashboard.md").read_text()
README = (REPO / "README.md").read_text()
SOURCE = "".join(
    (REPO / "corcypower" / "live" / f).read_text() for f in ("server.py", "messages.py")
)


def test_every_status_the_server_sends_is_in_the_errors_table():
    sent = {HTTPStatus[name].value for name in re.findall(r"HTTPStatus\.([A-Z_]+)", SOURCE)}
    documented = {int(code) for code in re.findall(r"^\| (\d{3}) \|", DOC, re.M)}
    assert sent - {200} <= documented


def test_the_limits_are_documented_as_they_are():
    assert messages.MAX_LINE == 8192 and "8 KiB" in DOC and "8 KiB" in README
    assert messages.MAX_HEADER_BYTES == 16384 and "16 KiB and 100 fields" in DOC
    assert messages.MAX_HEADERS == 100 and "100 fields" in README
    assert f"{server.WORKERS} worker threads" in DOC
    assert f"`max_connections` + {server.RESERVED_FILES}" in DOC


def test_every_api_setting_is_in_the_readme_with_its_default():
    for s in settings.SETTINGS:
        section, _, key = s.name.rpartition(".")
        if section == "api" and key in ("allowed_hosts", "max_connections", "timeout_seconds"):
            shown = "`[]`" if s.default == [] else f"{s.default:g}"
            assert f"`[api] {key}` ({shown}" in README, s.name


def test_the_history_endpoint_is_documented_with_its_bounds():
    from corcypower.live import history
    from corcypower.store import series

    section = " ".join(DOC[DOC.index("### `GET /api/v1/history") : DOC.index("### Errors")].split())
    assert "/api/v1/history?channel=NAME[,NAME...]&start=T&end=T&points=N" in README
    assert f"1 to {history.MAX_CHANNELS}" in section and "ten years (3660 days)" in section
    assert history.MAX_RANGE_MS == 3660 * history.DAY_MS
    assert f"1 to {history.MAX_POINTS}" in section and f"| {history.DEFAULT_POINTS} |" in section
    assert f"at most {series.MAX_BUCKETS} buckets" in section
    assert f"at most {history.QUEUE} queries wait" in section
    assert f"over {series.QUERY_SECONDS:g} s" in section and f"at most {series.MAX_GAPS}" in section
