"""Commands of the central MySQL/MariaDB export: `corcypower mysql init|status|export-now|resend`."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from zoneinfo import ZoneInfo

import click

from corcypower import settings
from corcypower.cli.common import cli, config_option, setup_logging
from corcypower.errors import ConfigError, CorcyPowerError


def _settings(config_path):
    from corcypower.export.config import from_config

    config = settings.load(config_path)
    found = from_config(config)
    if found is None:
        where = config.source or "the default settings"
        raise ConfigError(
            f"{where}: no [export.mysql] host, so nothing is exported (see docs/mysql.md)"
        )
    return config, found


def _central(export_settings):
    try:
        from corcypower.export.mysql import Central
    except ImportError:
        from corcypower.export import INSTALL_HINT

        raise CorcyPowerError(f"PyMySQL is not installed: {INSTALL_HINT}") from None
    return Central(export_settings)


def _as_admin(export_settings, admin: str | None):
    """The settings with another user, whose password is asked for (--user)."""
    if admin is None:
        return export_settings
    password = click.prompt(
        f"MySQL password of {admin}", hide_input=True, default="", show_default=False
    )
    return dataclasses.replace(export_settings, user=admin, password=password)


def local(ms: int | None) -> str:
    if ms is None:
        return "never"
    return f"{datetime.fromtimestamp(ms / 1000).astimezone():%Y-%m-%d %H:%M:%S %Z}"


admin_option = click.option(
    "--user",
    "admin",
    metavar="NAME",
    help="Connect as this user (an administrator: asks for the password) instead of [export.mysql] user.",
)


@cli.group()
def mysql():
    """Send closed minutes to a central MySQL/MariaDB ([export.mysql]; docs/mysql.md)."""


@mysql.command()
@config_option
@admin_option
@click.option(
    "--timezone",
    "zone_name",
    metavar="ZONE",
    help="Time zone of the days in ChannelDay, e.g. Europe/Brussels. Default: the database's; "
    "for a new one, dashboard.timezone or this machine's.",
)
def init(config_path, admin, zone_name):
    """Create the tables and triggers, or bring older ones up to date (safe to run again)."""
    from corcypower.energy.zone import local_zone

    config, s = _settings(config_path)
    zone = None
    if zone_name is not None:
        try:
            zone = ZoneInfo(zone_name)
        except (ValueError, KeyError, OSError):
            raise click.BadParameter(
                f"{zone_name!r}: expected a time zone name such as Europe/Brussels",
                param_hint="--timezone",
            ) from None
    s = _as_admin(s, admin)
    central = _central(s)
    try:
        done = central.init(zone, local_zone(config["dashboard.timezone"]))
        click.echo(f"{s.user}@{s.host}:{s.port}/{s.database} ({central.version}):")
    finally:
        central.close()
    for line in done:
        click.echo(f"  {line}")


@mysql.command()
@config_option
@click.option(
    "--keep-months",
    type=click.IntRange(1, 1200),
    help="Drop the minutes of months that ended more than N months ago "
    "(their quarter-hours, hours and days stay). Default: keep every minute.",
)
@admin_option
def partition(config_path, keep_months, admin):
    """Split ChannelMinute by month, add the coming months, drop expired ones (run monthly)."""
    from corcypower.export.partitions import maintain

    _, s = _settings(config_path)
    s = _as_admin(s, admin)
    central = _central(s)
    try:
        done = central.run(maintain, datetime.now().date(), keep_months)
        click.echo(f"{s.user}@{s.host}:{s.port}/{s.database} ({central.version}):")
    finally:
        central.close()
    for line in done or ["nothing to do"]:
        click.echo(f"  {line}")


@mysql.command()
@config_option
@click.option("--ping", is_flag=True, help="Also connect to the server and say if it answers.")
def status(config_path, ping):
    """Show how far power.db has been sent, the backlog, the last error and refused rows."""
    from corcypower.export.outbox import NOTHING_SENT, Outbox

    config, s = _settings(config_path)
    for warning in s.warnings:
        click.echo(f"warning: {warning}")
    click.echo(f"target:  {s.user}@{s.host}:{s.port}/{s.database}, point {s.point!r}")
    for p in s.volume:
        click.echo(f"  VolumeData point {p.name!r} = {' + '.join(p.channels)}, supply = {p.supply}")
    with Outbox(config.db_path, s.target, s.channels, read_only=True) as outbox:
        state = outbox.state()
        rows, oldest = outbox.backlog()
        rejected = outbox.rejected()
    sent = (
        "nothing yet"
        if state.sent_ts == NOTHING_SENT
        else f"up to the minute of {local(state.sent_ts)}"
    )
    click.echo(f"sent:    {sent}; {state.rows_sent} rows in all")
    click.echo(f"last:    rows committed {local(state.sent_at_ms)}")
    click.echo(
        f"backlog: {rows} closed minutes of channels"
        + (f", oldest {local(oldest)}" if oldest else "")
    )
    if state.error:
        click.echo(
            f"error:   {state.error} ({local(state.error_at_ms)}, {state.failures} failures in a row)"
        )
    else:
        click.echo("error:   none")
    if rejected:
        click.echo(
            f"refused: {len(rejected)} rows, set aside (`corcypower mysql resend` retries them):"
        )
        for table, ts, name, error, _ in rejected[:10]:
            click.echo(f"  {table} {name} {local(ts)}: {error}")
    if ping:
        central = _central(s)
        try:
            central.connect()
            click.echo(f"server:  answers ({central.version})")
        except CorcyPowerError as exc:
            click.echo(f"server:  {exc}")
        finally:
            central.close()


@mysql.command("export-now")
@config_option
def export_now(config_path):
    """Send every closed minute not sent yet, now, and say how many rows went."""
    from corcypower.export.exporter import Exporter
    from corcypower.store.database import Database

    config, s = _settings(config_path)
    setup_logging(config["log.level"])
    Database(config.db_path).close()  # brings an older file up to date (migrations)
    _central(s)
    exporter = Exporter(s, config.db_path)
    try:
        sent = exporter.run_once()
    except CorcyPowerError as exc:
        if exporter.outbox is not None:  # `mysql status` shows it, as it shows the daemon's
            exporter.outbox.mark_failed(str(exc), exporter.clock.wall_ms())
        raise
    finally:
        exporter.central.close()
    click.echo(f"sent {sent} rows to {s.host}:{s.port}/{s.database} as point {s.point!r}")


@mysql.command()
@config_option
@click.option(
    "--since",
    required=True,
    help='Local date or time to send again from ("2026-01-31", "2026-01-31 14:00"), or "all".',
)
def resend(config_path, since):
    """Send closed minutes again from a time on (after an import, a rebuild or a new server)."""
    from corcypower.export.outbox import Outbox

    config, s = _settings(config_path)
    if since == "all":
        since_ms = 0
    else:
        try:
            since_ms = int(datetime.fromisoformat(since).astimezone().timestamp() * 1000)
        except ValueError:
            raise click.BadParameter(
                f'{since!r}: expected a date "YYYY-MM-DD", a time "YYYY-MM-DD HH:MM", or "all"',
                param_hint="--since",
            ) from None
    with Outbox(config.db_path, s.target, s.channels) as outbox:
        outbox.resend(since_ms)
    click.echo(f"closed minutes from {local(since_ms)} on will be sent again to {s.target}")
