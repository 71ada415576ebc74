"""The Bokeh server of `corcypower dashboard` (and `demo`): one app at /, one shared Dashboard."""

from __future__ import annotations

import logging

from bokeh.application import Application
from bokeh.application.handlers.function import FunctionHandler
from bokeh.server.server import Server

from corcypower.dashboard.app import Dashboard
from corcypower.dashboard.page import make_document
from corcypower.settings import Config


def allowed_origins(config: Config, port: int | None = None) -> list[str]:
    """Websocket origins: this machine by name and address, plus dashboard.allow_websocket_origin.

    A browser sends its origin as host:port, as typed in its address bar; Bokeh refuses a
    page from any other, so a LAN address or name must be listed with its port.
    """
    port = port if port is not None else config["dashboard.port"]
    local = [f"localhost:{port}", f"127.0.0.1:{port}"]
    return local + [o for o in config["dashboard.allow_websocket_origin"] if o not in local]


def make_server(
    dashboard: Dashboard, address: str, port: int, origins: list[str], io_loop=None
) -> Server:
    """A started-on-demand Bokeh server at http://address:port/ (port 0: any free port)."""
    app = Application(FunctionHandler(lambda doc: make_document(doc, dashboard)))
    kwargs = {"io_loop": io_loop} if io_loop is not None else {}
    return Server(
        {"/": app},
        address=address,
        port=port,
        allow_websocket_origin=origins,
        num_procs=1,
        # gzip: BokehJS is ~1.7 MB as sent, ~0.5 MB compressed (its files are cached for
        # good: their URLs carry a hash of their content, ?v=...)
        compress_response=True,
        **kwargs,
    )


def quiet_access_log() -> None:
    """Tornado logs every request at INFO (130 characters each), Bokeh every websocket opened
    and closed: keep their warnings and errors."""
    for name in ("tornado.access", "bokeh.server.views.ws"):
        logging.getLogger(name).setLevel(logging.WARNING)


def page_url(config: Config, port: int) -> str:
    host = config["dashboard.address"]
    host = "localhost" if host in ("127.0.0.1", "0.0.0.0", "", "::") else host
    return f"http://{host}:{port}/"
