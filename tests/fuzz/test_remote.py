"""Fuzz: whatever a remote-voltage peer answers, the daemon gets finite volts it can use,
or the nominal voltage and a one-line problem in the log; never an exception past the poller.

Answers are generated JSON (state documents, near ones, and any value), NaN, Infinity and
huge numbers, nesting deeper than Python recurses, and plain bytes.
"""

from __future__ import annotations

import json
import logging
import math

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from corcypower import settings as config_settings
from corcypower.clock import FakeClock
from corcypower.live.remote import RemoteVoltages, fetch_json, parse_json
from corcypower.settings.table import VOLTS
from tests.live.helpers import HostilePeer

URL = "http://peer:8070/api/v1/state"
CONFIG = config_settings.from_dict(
    {
        "channels": [
            {
                "name": "main",
                "adc_channel": 0,
                "kind": "current",
                "scale": 0.02,
                "voltage": f"{URL}#mains_v",
            }
        ]
    }
)

NUMBER_TEXT = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.integers(-(10**30), 10**30).map(str),
    st.sampled_from(["NaN", "Infinity", "-Infinity", "1e400", "-1e400", "1" * 5000, "230.0"]),
)
JSON_VALUES = st.recursive(
    st.one_of(
        st.none(), st.booleans(), st.floats(allow_nan=False), st.integers(), st.text(max_size=8)
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)


@st.composite
def answers(draw) -> bytes:
    """A peer's answer: a state document with fields replaced, any JSON, deep JSON, or bytes."""
    kind = draw(st.integers(0, 3))
    if kind == 0:
        channel = {
            "name": draw(st.sampled_from(["mains_v", "other"])),
            "kind": draw(st.sampled_from(["voltage", "current", 1])),
            "vrms": "@VRMS@",
            "flags": draw(st.one_of(st.lists(st.sampled_from(["flat", "late", "x"])), JSON_VALUES)),
        }
        extra = draw(
            st.dictionaries(
                st.sampled_from(["name", "kind", "flags", "vrms"]), JSON_VALUES, max_size=1
            )
        )
        doc = {
            "age_ms": "@AGE@",
            "channels": [channel | extra, *draw(st.lists(JSON_VALUES, max_size=2))],
        }
        text = (
            json.dumps(doc)
            .replace('"@VRMS@"', draw(NUMBER_TEXT))
            .replace('"@AGE@"', draw(NUMBER_TEXT))
        )
        return text.encode()
    if kind == 1:
        return json.dumps(draw(JSON_VALUES)).encode()
    if kind == 2:
        depth = draw(st.integers(1, 200_000))
        return b'{"a":' * depth + b"1" + b"}" * depth
    return draw(st.binary(max_size=100))


fuzz = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])


@fuzz
@given(body=answers())
@example(body=b"[" * 100_000 + b"]" * 100_000)
@example(body=b'{"age_ms": 1, "channels": [{"name": "mains_v", "kind": "voltage", "vrms": NaN}]}')
def test_any_answer_gives_usable_volts_or_the_nominal_voltage(caplog, body):
    def fetch(url, timeout):
        return parse_json(body)

    voltages = RemoteVoltages(CONFIG.channels, 230.0, 1.0, 5.0, FakeClock(), fetch)
    with caplog.at_level(logging.WARNING, logger="corcypower"):
        voltages.poll_once()  # raises nothing, whatever the answer
    volts = voltages.volts()["main"]
    assert math.isfinite(volts) and VOLTS[0] <= volts <= VOLTS[1]
    if "main" in voltages.fallback():
        assert volts == 230.0
    problems = [r.getMessage() for r in caplog.records if r.name == "corcypower.live.remote"]
    assert all("\n" not in p and len(p) < 500 for p in problems), problems
    caplog.clear()


@pytest.fixture(scope="module")
def peer():
    peer = HostilePeer(b"")
    yield peer
    peer.close()


STATUS_LINES = st.one_of(
    st.sampled_from(["HTTP/1.1 200 OK", "HTTP/1.0 200 OK", "HTTP/1.1 500 Oops", "HTTP/9 200", ""]),
    st.text(max_size=20),
)
HTTP_HEADERS = st.lists(
    st.one_of(
        st.tuples(
            st.sampled_from(["Content-Length", "Transfer-Encoding", "Content-Type"]),
            st.one_of(
                st.sampled_from(["0", "10", "999999", "-1", "chunked", "x"]), st.text(max_size=8)
            ),
        ),
        st.tuples(st.text(max_size=8), st.text(max_size=20)),
    ),
    max_size=4,
)


@fuzz
@given(status=STATUS_LINES, headers=HTTP_HEADERS, body=answers(), chunked=st.booleans())
def test_any_http_answer_is_json_or_a_clean_error(peer, status, headers, body, chunked):
    if chunked:
        body = f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n"
    head = status + "\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n"
    peer.answer = head.encode("utf-8", "surrogatepass") + body
    try:
        fetch_json(peer.url, 5.0)
    except (OSError, ValueError) as exc:
        assert "\n" not in str(exc) and len(str(exc)) < 500, str(exc)
