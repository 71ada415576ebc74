"""Commands of the live view: dashboard (the Bokeh server) and demo (monitor + dashboard)."""

from __future__ import annotations

import signal
import threading

import click

from corcypower import settings
from corcypower.cli.common import cli, config_option, setup_logging

port_option = click.option(
    "--port", type=click.IntRange(1, 65535), help="Port of the page. Default: dashboard.port."
)
address_option = click.option(
    "--address", help='Address to listen on ("0.0.0.0": the LAN). Default: dashboard.address.'
)


def serve(config: settings.Config, port: int | None, address: str | None) -> None:
    """Run the dashboard's Bokeh server until SIGTERM or Ctrl-C; print its URL first."""
    from tornado.ioloop import IOLoop

    from corcypower.dashboard.app import Dashboard
    from corcypower.dashboard.server import (
        allowed_origins,
        make_server,
        page_url,
        quiet_access_log,
    )

    port = port or config["dashboard.port"]
    if address:
        config.values["dashboard.address"] = address
    quiet_access_log()
    dashboard = Dashboard(config).start()
    loop = IOLoop.current()
    try:
        server = make_server(
            dashboard, config["dashboard.address"], port, allowed_origins(config, port), loop
        )
    except OSError as exc:
        raise click.ClickException(
            f"cannot serve the dashboard on {config['dashboard.address']}:{port}: "
            f"{exc.strerror or exc} (see [dashboard] port, or --port)"
        ) from None
    server.start()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, frame: loop.add_callback_from_signal(loop.stop))
    click.echo(
        f"CorcyPower dashboard: {page_url(config, port)}  "
        f"(following {dashboard.state_url}/api/v1/live; Ctrl-C stops)",
    )
    lan = [f"http://{origin}/" for origin in config["dashboard.allow_websocket_origin"]]
    if lan:
        click.echo(f"  on the LAN: {'  '.join(lan)}")
    try:
        loop.start()
    finally:
        server.stop()
        dashboard.stop()


@cli.command()
@config_option
@port_option
@address_option
def dashboard(config_path, port, address):
    """Serve the live dashboard (Bokeh) of a running monitor, and print its URL."""
    config = settings.load(config_path)
    setup_logging(config["log.level"])
    serve(config, port, address)


@cli.command()
@config_option
@port_option
@address_option
@click.option(
    "--api-port", type=click.IntRange(1, 65535), help="Port of the state API. Default: api.port."
)
def demo(config_path, port, address, api_port):
    """Run the monitor on the emulated chip and its dashboard, and print the URL."""
    from corcypower.daemon import Daemon
    from corcypower.services import attach

    config = settings.load(config_path)
    setup_logging(config["log.level"])
    config.values["adc.chip"] = "emulated"  # whatever the file says: no hardware here
    if api_port:
        config.values["api.port"] = api_port
    if config.source is None:  # never write demo data into the default ~/power.db
        config.values["store.path"] = "power-demo.db"
    daemon = Daemon(config)
    daemon.open_store()  # the writer lock first: a second demo on the file stops here
    stop = threading.Event()
    with attach(daemon, required=True):
        thread = threading.Thread(target=daemon.run, args=(stop,), name="daemon")
        thread.start()
        try:
            serve(config, port, address)
        finally:
            stop.set()
            thread.join()
