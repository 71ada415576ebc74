"""`corcypower alerts`: the rules, which fire, what happened; `alerts test NAME` tries a rule's
notifiers."""

from __future__ import annotations

import sqlite3
from datetime import datetime

import click

from corcypower import settings
from corcypower.cli.common import cli, config_and_db, config_option, db_option
from corcypower.errors import ConfigError, CorcyPowerError


def local(ms: int) -> str:
    return f"{datetime.fromtimestamp(ms / 1000).astimezone():%Y-%m-%d %H:%M:%S}"


@cli.group(invoke_without_command=True)
@config_option
@db_option
@click.option(
    "--hours",
    type=click.FloatRange(0.01, 24 * 366),
    default=24.0,
    show_default=True,
    help="How far back to list events.",
)
@click.pass_context
def alerts(ctx, config_path, db_path, hours):
    """List the [[alerts]], those firing, and the events of the last hours (docs/alerts.md)."""
    if ctx.invoked_subcommand is not None:
        return
    from corcypower.alerts.history import recent
    from corcypower.alerts.rules import from_config
    from corcypower.store.database import Database

    config, path = config_and_db(config_path, db_path)
    found = from_config(config)
    if not found:
        click.echo(f"{config.where}: no [[alerts]] configured (see docs/alerts.md)")
    try:
        with Database(path, read_only=True) as db:
            seen = recent(db, datetime.now().timestamp() * 1000, hours, limit=100)
    except sqlite3.OperationalError:  # a database the daemon has not upgraded yet
        seen = {"active": [], "recent": []}
    firing = {a["alert"]: a for a in seen["active"]}
    width = max((len(r.name) for r in found), default=0)
    for rule in found:
        now = firing.pop(rule.name, None)
        state = f"FIRING since {local(now['since_ms'])}" if now else "ok"
        click.echo(
            f"{rule.name:<{width}}  {state:<29}  {rule.describe()} → {', '.join(rule.notify)}"
        )
    for name, now in firing.items():
        click.echo(f"{name}: firing since {local(now['since_ms'])} (no longer configured)")
    click.echo(f"\n{len(seen['recent'])} events in the last {hours:g} h ({path}):")
    for e in reversed(seen["recent"]):
        click.echo(f"{local(e['ts'])}  {e['alert']}  {e['state']:<8}  {e['text']}")


@alerts.command("test")
@click.argument("name")
@config_option
def test(name, config_path):
    """Send a test notification for alert NAME through each of its notifiers, now."""
    from corcypower.alerts.engine import FIRING, Event
    from corcypower.alerts.notifiers import Message, build, device_name
    from corcypower.alerts.rules import from_config
    from corcypower.clock import Clock

    config = settings.load(config_path)
    rules = {r.name: r for r in from_config(config)}
    if name not in rules:
        known = ", ".join(rules) or "none configured"
        raise ConfigError(f"{config.where}: no alert named {name!r}; alerts: {known}")
    rule = rules[name]
    now = Clock().wall_ms()
    text = f"a test of alert {name}: nothing is wrong"
    event = Event(name, FIRING, now, now, None, rule.threshold, rule.channel, text)
    message = Message(event, device_name(config), rule.describe(), test=True)
    notifiers = build(config, set(rule.notify))
    if "mqtt" in rule.notify:
        from corcypower.alerts.mqtt import OneShotNotifier

        notifiers["mqtt"] = OneShotNotifier(config)
    failed = 0
    for target in rule.notify:
        try:
            notifiers[target].send(message)
            click.echo(f"✓ {target}: sent")
        except CorcyPowerError as exc:
            failed += 1
            click.echo(f"✗ {target}: {exc}")
    if failed:
        raise SystemExit(1)
