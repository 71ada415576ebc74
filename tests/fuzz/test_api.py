"""Fuzz: the state API's query strings and raw HTTP requests get a correct answer or a clean
JSON error, never a traceback, a dropped request, or a server that stops answering.

History queries go to a real StateAPI reading a real power.db (an hour of two channels).
Raw requests go over real sockets to a real StateAPI (with batches in its ring): generated
request lines, methods, targets, versions, headers (Host, Content-Length, Transfer-Encoding
among them), bodies, line endings, requests cut short, and plain bytes.
"""

from __future__ import annotations

import json
import logging
import math
import string
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from corcypower.clock import FakeClock
from corcypower.live.api import MAX_MS, MAX_WAIT_S, BadRequest, StateAPI, parse_live_query
from corcypower.live.history import MAX_CHANNELS, MAX_POINTS, MAX_RANGE_MS, parse_history_query
from corcypower.live.messages import MAX_LINE
from corcypower.live.ring import Ring
from corcypower.store.database import Database
from corcypower.store.retention import Retention
from corcypower.store.series import HistoryReader
from corcypower.store.writer import register_channels, write_rows
from corcypower.times import LAST_MS
from tests.live.helpers import config, stats
from tests.live.helpers import raw as send
from tests.store.conftest import current_rows, tiled, voltage_rows

NEWEST = 1_800_000_000_000
PRINTABLE = "".join(c for c in string.printable if c not in " #\t\n\r\x0b\x0c")


@pytest.fixture(scope="module")
def api():
    ring = Ring(600, 0.5)
    for i in range(5):
        ring.add(NEWEST - 2000 + 500 * i, 500, stats())
    server = StateAPI(ring, config(), FakeClock()).start()
    yield server
    server.close()


@pytest.fixture
def quiet(caplog):
    """Nothing the fuzzed server logs may be a warning or worse."""
    caplog.set_level(logging.DEBUG, logger="corcypower")
    yield
    bad = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert not bad, bad


fuzz = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])

# --- query strings ------------------------------------------------------------------------

QUERY_CHARS = st.sampled_from(list("sinceaitw=&;%+-.0123456789eEnaNINFxX_ \x00\u00e9/?#"))
VALUE = st.one_of(
    st.integers(-(10**20), 10**20).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.text(QUERY_CHARS, max_size=12),
    st.integers(1, 6000).map(lambda n: "9" * n),
)
QUERIES = st.one_of(
    st.text(QUERY_CHARS, max_size=40),
    st.lists(
        st.tuples(st.sampled_from(["since", "wait", "limit", "", "since "]), VALUE), max_size=3
    ).map(lambda pairs: "&".join(f"{k}={v}" for k, v in pairs)),
)


def ask(server: StateAPI, path: str, query: str, expected: int) -> tuple[int, dict]:
    """GET path?query over a raw socket: (status, JSON), the status the one `expected`
    (or 414 when the request line is over the limit)."""
    target = f"{path}?" + quote(query, safe=PRINTABLE)  # what cannot go raw, encoded
    if len(f"GET {target} HTTP/1.1\r\n") > MAX_LINE:
        expected = 414
    [(status, _, body)] = send(
        server.server.address, f"GET {target} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode()
    )
    doc = json.loads(body)
    assert status == expected, doc
    return status, doc


@fuzz
@given(query=QUERIES)
@example(query="since=" + "9" * 5000)
@example(query="wait=1e400")
def test_a_live_query_parses_within_bounds_or_is_a_one_line_400(query):
    try:
        since, wait = parse_live_query(query)
    except BadRequest as exc:
        assert exc.status == 400 and "\n" not in str(exc) and len(str(exc)) < 300, str(exc)
        return
    assert isinstance(since, int) and 0 <= since <= MAX_MS
    assert math.isfinite(wait) and 0 <= wait <= MAX_WAIT_S


@fuzz
@given(query=QUERIES)
def test_a_live_query_over_http_is_the_parsers_answer(api, quiet, query):
    try:
        since, wait = parse_live_query(query)
        expected = 200
    except BadRequest:
        since, wait, expected = 0, 0.0, 400
    assume(wait == 0 or since < NEWEST)  # a poll for news that never come: tests/live has it
    status, doc = ask(api, "/api/v1/live", query, expected)
    if status == 200:
        assert all(b["ts"] > since for b in doc["batches"]) and doc["newest"] == NEWEST
    else:
        assert isinstance(doc["error"], str)


# --- history queries ------------------------------------------------------------------------

HISTORY_END = 1_767_225_600_000  # the history's last batch, 2026-01-01 00:00 UTC
TIMES = st.one_of(
    VALUE,
    st.integers(HISTORY_END - 10**8, HISTORY_END + 10**8).map(str),
    st.sampled_from(["now", "-2h", "-1.5d", "-0s", "2026-01-01", "2025-12-31T23:30Z", "1969"]),
    st.from_regex(r"-\d{1,6}(\.\d{1,3})?[smhdwx ]", fullmatch=True),
    st.datetimes().map(lambda d: d.isoformat()),
)
CHANNEL_NAMES = st.lists(
    st.sampled_from(["main", "mains_v", "kitchen", "", " main", "main,main"]), max_size=4
).map(",".join)
HISTORY_QUERIES = st.one_of(
    st.text(QUERY_CHARS, max_size=40),
    st.lists(
        st.one_of(
            st.tuples(st.sampled_from(["start", "end"]), TIMES),
            st.tuples(st.just("points"), VALUE),
            st.tuples(st.just("channel"), CHANNEL_NAMES),
            st.tuples(st.sampled_from(["since", "", "start "]), VALUE),
        ),
        max_size=4,
    ).map(lambda pairs: "&".join(f"{k}={v}" for k, v in pairs)),
)


@pytest.fixture(scope="module")
def history_api(tmp_path_factory):
    path = tmp_path_factory.mktemp("fuzz-history") / "power.db"
    ends = tiled(HISTORY_END - 3_600_000, 3600)
    with Database(path) as db:
        register_channels(db, config().channels, "mcp3208", 0)  # mains_v 1, main 2
        with db.atomic() as conn:
            for rows in (voltage_rows(ends, 230.0), current_rows(ends, 300.0)):
                write_rows(conn, rows, 0, Retention(None))
    clock = FakeClock(wall_ms=HISTORY_END)
    server = StateAPI(Ring(600, 0.5), config(), clock, history=HistoryReader(path)).start()
    yield server
    server.close()


@fuzz
@given(query=HISTORY_QUERIES)
@example(query="start=" + "9" * 5000)
@example(query="start=-" + "9" * 400 + "d")
@example(query="end=9999-12-31T23:59:59")
def test_a_history_query_parses_within_bounds_or_is_a_one_line_400(query):
    try:
        asked = parse_history_query(query, HISTORY_END)
    except BadRequest as exc:
        assert exc.status == 400 and "\n" not in str(exc) and len(str(exc)) < 300, str(exc)
        return
    assert 0 <= asked.start_ms < asked.end_ms <= LAST_MS
    assert asked.end_ms - asked.start_ms <= MAX_RANGE_MS and 1 <= asked.points <= MAX_POINTS
    assert asked.channels is None or 1 <= len(asked.channels) <= MAX_CHANNELS


@fuzz
@given(query=HISTORY_QUERIES)
def test_a_history_query_over_http_is_json_or_a_one_line_400(history_api, quiet, query):
    try:
        asked = parse_history_query(query, HISTORY_END)
        known = asked.channels is None or set(asked.channels) <= {"main", "mains_v"}
        expected = 200 if known else 400
    except BadRequest:
        expected = 400
    status, doc = ask(history_api, "/api/v1/history", query, expected)
    if status == 200:
        for s in doc["series"]:
            assert len(s["ts"]) == len(s["mean"]) == len(s["measured_ms"])
            assert all(math.isfinite(v) for v in s["mean"])
    else:
        assert list(doc) == ["error"] and "\n" not in doc["error"]


# --- raw requests ---------------------------------------------------------------------------

TOKEN = st.text(st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcxyz-_!~"), min_size=1, max_size=10)
METHODS = st.one_of(
    st.sampled_from(
        ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT"]
    ),
    TOKEN,
    st.text(max_size=6),
)
PATHS = st.sampled_from(["/api/v1/state", "/api/v1/live", "/api/v1/channels", "/", "/api/v2/x"])
TARGETS = st.one_of(
    st.tuples(PATHS, st.one_of(st.just(""), QUERIES.map(lambda q: "?" + q))).map("".join),
    st.sampled_from(["*", "http://localhost:8070/api/v1/state", "http://evil.example/", "x"]),
    st.text(max_size=30),
    st.text(st.sampled_from("/[]:@?#%.:hHtTpP19x"), max_size=20),
    st.integers(8000, 9000).map(lambda n: "/api/v1/state?" + "x" * n),
)
VERSIONS = st.one_of(
    st.sampled_from(["HTTP/1.1", "HTTP/1.0", "HTTP/2.0", "HTTP/0.9", "HTTP/1.10", "http/1.1"]),
    st.text(max_size=9),
)
HOSTS = st.one_of(
    st.sampled_from(["127.0.0.1:8070", "localhost", "[::1]", "evil.example", "", "a b", "u@h"]),
    st.text(max_size=20),
)
HEADERS = st.lists(
    st.one_of(
        st.tuples(st.just("Host"), HOSTS),
        st.tuples(
            st.sampled_from(["Content-Length", "Transfer-Encoding", "Connection", "Expect"]),
            st.one_of(st.sampled_from(["0", "5", "-1", "chunked", "close", "keep-alive"]), VALUE),
        ),
        st.tuples(st.one_of(TOKEN, st.text(max_size=8)), st.text(max_size=20)),
        st.tuples(st.just("X-Big"), st.integers(1, 20_000).map(lambda n: "y" * n)),
    ),
    max_size=6,
)


@st.composite
def requests(draw) -> tuple[bytes, bool]:
    """(bytes to send, whether they hold a whole request head)."""
    if draw(st.booleans()) and draw(st.booleans()):
        return draw(st.binary(max_size=200)), False
    eol = draw(st.sampled_from(["\r\n", "\r\n", "\n"]))
    line = f"{draw(METHODS)} {draw(TARGETS)} {draw(VERSIONS)}"
    headers = "".join(f"{name}: {value}{eol}" for name, value in draw(HEADERS))
    if draw(st.booleans()):  # often a Host it answers, so that requests get past it
        headers = f"Host: localhost{eol}" + headers
    body = draw(st.binary(max_size=20)) if draw(st.booleans()) else b""
    data = (line + eol + headers + eol).encode("utf-8", "surrogatepass") + body
    whole = line.strip() != "" and "\n" not in line and "\r" not in line
    if draw(st.booleans()) and draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
        whole = False
    if draw(st.booleans()) and draw(st.booleans()):
        data += data  # pipelined
    return data, whole


@fuzz
@given(request=requests())
@example(request=(b"TRACE / HTTP/1.1\r\nHost: localhost\r\n\r\n", True))
@example(request=(b"HEAD http://localhost:8070/api/v1/state HTTP/1.1\r\n\r\n" * 2, True))
@example(request=(b"GET /api/v1/live?since=" + b"9" * 5000 + b" HTTP/1.1\r\n\r\n", True))
def test_a_raw_request_gets_a_json_answer_or_a_quiet_close(api, quiet, capfd, request):
    data, whole = request
    answers = send(api.server.address, data)
    for status, headers, body in answers:
        assert 200 <= status < 600 and headers["content-type"] == "application/json"
        if body:
            doc = json.loads(body)
            assert status < 400 or isinstance(doc["error"], str)
    if whole and data.count(b"\n") >= 2:  # a whole request head is always answered
        assert answers, data[:200]
    assert capfd.readouterr().err == ""
    [(status, _, _)] = send(
        api.server.address, b"GET /api/v1/channels HTTP/1.1\r\nHost: localhost\r\n\r\n"
    )
    assert status == 200  # and the server still answers
