"""The dashboard's Bokeh server, in-process: sessions over a real websocket, one shared poller."""

from __future__ import annotations

import asyncio
import os
import re
import sys
import time
import urllib.request
import zlib

import pytest
from bokeh.client import pull_session
from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.websocket import websocket_connect

from corcypower.clock import FakeClock
from corcypower.dashboard.server import allowed_origins, page_url
from corcypower.live.api import StateAPI
from corcypower.live.ring import Ring
from tests.dashboard.helpers import config, free_port, simulated_db, until
from tests.dashboard.processes import Process, write_config
from tests.dashboard.served import Served
from tests.helpers import REPO
from tests.live.helpers import config as api_config
from tests.live.helpers import stats

NOW = int(time.time() * 1000)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    db = simulated_db(tmp_path_factory.mktemp("served") / "power.db", hours=1, end_ms=NOW)
    served = Served(db, free_port())
    served.ring.add(NOW, 500, stats(watts=321.0))
    yield served
    served.close()


def test_a_session_gets_the_page_with_the_live_source(served):
    assert until(lambda: served.dashboard.poller.last_ts == NOW)
    session = pull_session(url=served.url)
    try:
        live = session.document.get_model_by_name("live")
        assert live.data["ts"][-1] == NOW
        assert live.data["w_main"][-1] == 321.0
        # the other sections follow once the browser says it drew the first (a Python client
        # never does: then after REST_AFTER_MS)
        assert until(
            lambda: all(
                d.get_model_by_name("history_main") is not None for d in served.server_docs()
            )
        )
    finally:
        session.close()


def fetch(url: str, gzip: bool = True):
    """(status, headers, body as sent) of a GET, as a browser asks."""
    request = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"} if gzip else {})
    with urllib.request.urlopen(request, timeout=30) as answer:
        return answer.status, answer.headers, answer.read()


def test_the_page_is_dressed_for_phones_without_mathjax(served):
    status, headers, body = fetch(served.url)
    html = (
        zlib.decompress(body, 16 + zlib.MAX_WBITS).decode()
        if headers["Content-Encoding"] == "gzip"
        else body.decode()
    )
    assert status == 200
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert "<title>CorcyPower · " in html and 'rel="icon"' in html
    assert "bokeh.min.js" in html and "mathjax" not in html


def test_bokehjs_is_compressed_and_cached_for_good(served):
    _, _, body = fetch(served.url, gzip=False)
    script = re.search(r'src="(/static/js/bokeh\.min\.js\?v=[0-9a-f]+)"', body.decode()).group(1)
    status, headers, sent = fetch(f"http://127.0.0.1:{served.port}{script}")
    assert status == 200 and headers["Content-Encoding"] == "gzip"
    assert int(headers["Content-Length"] or len(sent)) < 0.4 * 1_268_134  # bokeh.min.js, 3.9.2
    assert "max-age=315360000" in headers["Cache-Control"]  # ten years: the URL names the content


def test_every_session_streams_from_the_one_poller(served):
    sessions = [pull_session(url=served.url) for _ in range(3)]
    try:
        served.ring.add(NOW + 500, 500, stats(watts=400.0))
        # a session without a browser gets the live plot's source with the rest of the page
        # (after page.REST_AFTER_MS): None until then
        assert until(
            lambda: all(
                (live := d.get_model_by_name("live")) is not None
                and live.data["ts"][-1] == NOW + 500
                for d in served.server_docs()
            )
        )
        assert len(served.server_docs()) >= 3
        assert len(served.dashboard.poller._subscribers) == len(served.server_docs())
    finally:
        for s in sessions:
            s.close()


def test_a_page_from_another_origin_is_refused(served):
    async def connect(origin):
        request = HTTPRequest(f"ws://127.0.0.1:{served.port}/ws", headers={"Origin": origin})
        return await websocket_connect(request)

    with pytest.raises(HTTPClientError) as refused:
        asyncio.run(connect("http://evil.example:5006"))
    assert refused.value.code == 403


def test_origins_always_include_this_machine_and_the_configured_ones():
    cfg = config(dashboard={"allow_websocket_origin": ["192.168.1.20:5006", "pi.local:5006"]})
    assert allowed_origins(cfg) == [
        "localhost:5006",
        "127.0.0.1:5006",
        "192.168.1.20:5006",
        "pi.local:5006",
    ]
    assert page_url(cfg, 5006) == "http://localhost:5006/"


@pytest.mark.parametrize(
    "app, args",
    [
        ("bokeh_dashboard.py", ["--args", "--config", "{config}"]),  # the original's name
        ("corcypower/dashboard", []),  # the directory app; the config from $CORCYPOWER_CONFIG
    ],
)
def test_bokeh_serve_runs_the_app(tmp_path, app, args):
    config, api_port, port = write_config(tmp_path)
    env = dict(os.environ, CORCYPOWER_CONFIG=str(config))
    argv = [sys.executable, "-m", "bokeh", "serve", str(REPO / app), "--port", str(port)]
    bokeh = Process(argv + [a.format(config=config) for a in args], cwd=tmp_path, env=env)
    ring = Ring(600, 0.5)
    api = StateAPI(ring, api_config(api={"port": api_port}), FakeClock()).start()
    ring.add(NOW, 500, stats(watts=123.0))
    try:
        bokeh.wait_for("Bokeh app running at")
        name = "bokeh_dashboard" if app.endswith(".py") else "dashboard"
        session = pull_session(url=f"http://localhost:{port}/{name}")
        try:
            assert until(
                lambda: session.document.get_model_by_name("live").data["ts"][-1:] == [NOW]
            )
        finally:
            session.close()
    finally:
        bokeh.stop()
        api.close()
