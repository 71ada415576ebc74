"""Bokeh's server hooks of the directory app: the shared Dashboard lives as long as the server."""

from corcypower.dashboard import app


def on_server_loaded(server_context) -> None:
    app.shared()  # the config is read and the poller started once, before the first page


def on_server_unloaded(server_context) -> None:
    app.shared().stop()
