"""The one click group, and what every command shares."""

from __future__ import annotations

import logging
import math
import sqlite3
import sys
from pathlib import Path

import click

from corcypower import __version__, settings
from corcypower.errors import CorcyPowerError
from corcypower.systemd import JournalFormatter, under_journal


class Group(click.Group):
    """Our own errors are messages for people, not tracebacks."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except CorcyPowerError as exc:
            raise click.ClickException(str(exc)) from None
        except sqlite3.DatabaseError as exc:  # one a command did not name: still one line
            raise click.ClickException(f"database: {exc}") from None


class FiniteRange(click.FloatRange):
    """A FloatRange that refuses nan too (every comparison with nan is false, so it passes)."""

    def convert(self, value, param, ctx):
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number


config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    envvar=settings.ENV_VAR,
    help="Config file (TOML). Default: $CORCYPOWER_CONFIG, else /etc/corcypower/config.toml.",
)


db_option = click.option(
    "--db",
    "db_path",
    type=click.Path(dir_okay=False),
    help="Database file. Default: store.path of the config.",
)


def config_and_db(config_path, db_path) -> tuple[settings.Config, Path]:
    """The validated config, and the database: --db, else the config's store.path."""
    config = settings.load(config_path)
    return config, Path(db_path) if db_path else config.db_path


def setup_logging(level: str) -> None:
    journal = not sys.stderr.isatty()  # the journal stamps lines itself
    fmt = (
        "%(levelname)s %(name)s: %(message)s"
        if journal
        else "%(asctime)s %(levelname)s %(message)s"
    )
    logging.basicConfig(level=level.upper(), format=fmt, stream=sys.stderr, force=True)
    if under_journal():  # "<4>" prefixes: the journal keeps each line's level (journalctl -p)
        logging.root.handlers[0].setFormatter(JournalFormatter(fmt))


@click.group(cls=Group)
@click.version_option(__version__)
def cli():
    """CorcyPower: a home energy monitor for the Raspberry Pi."""
