"""The dashboard's Bokeh server in this process, following a state API whose ring a test feeds."""

from __future__ import annotations

import asyncio
import threading

from tornado.ioloop import IOLoop

from corcypower.clock import FakeClock
from corcypower.dashboard.app import Dashboard
from corcypower.dashboard.server import allowed_origins, make_server
from corcypower.live.api import StateAPI
from corcypower.live.ring import Ring
from tests.dashboard.helpers import config
from tests.live.helpers import config as api_config


class Served:
    """A state API with a ring we feed, and the dashboard's server following it, in threads."""

    def __init__(self, db_path, port, clock=None, **sections):
        self.ring = Ring(600, 0.5)
        self.api = StateAPI(self.ring, api_config(), FakeClock()).start()
        dashboard = sections.pop("dashboard", {}) | {"state_url": self.api.url, "port": port}
        self.config = config(db_path, dashboard=dashboard, **sections)
        self.dashboard = Dashboard(self.config, clock=clock).start()
        self.port = port
        self.url = f"http://127.0.0.1:{port}/"
        ready = threading.Event()
        self.thread = threading.Thread(target=self._serve, args=(ready,), daemon=True)
        self.thread.start()
        assert ready.wait(30)

    def _serve(self, ready):
        asyncio.set_event_loop(asyncio.new_event_loop())
        self.loop = IOLoop.current()
        origins = allowed_origins(self.config, self.port)
        self.server = make_server(self.dashboard, "127.0.0.1", self.port, origins, self.loop)
        self.server.start()
        ready.set()
        self.loop.start()

    def server_docs(self):
        return [s.document for s in self.server.get_sessions("/")]

    def close(self):
        self.loop.add_callback(self.server.stop)
        self.loop.add_callback(self.loop.stop)
        self.thread.join(10)
        self.dashboard.stop()
        self.api.close()
