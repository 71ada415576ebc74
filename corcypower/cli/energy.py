"""The energy report: what a day, week, month or year used, produced and cost."""

from __future__ import annotations

import sys
import time

import click

from corcypower.cli.common import cli, config_and_db, config_option, db_option
from corcypower.errors import CorcyPowerError

FORMATS = ("text", "csv", "json")


def period_option(unit: str, example: str):
    return click.option(
        f"--{unit}",
        unit,
        metavar=unit.upper(),
        help=f"A {unit}: {example}, 'this' or 'last'.",
    )


@cli.command()
@config_option
@db_option
@period_option("day", "2026-11-05")
@period_option("week", "2026-W47 or a day in it")
@period_option("month", "2026-11")
@period_option("year", "2026")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True)
@click.option(
    "--out", "out_path", type=click.Path(dir_okay=False), default="-", help="File. Default: stdout."
)
def report(config_path, db_path, day, week, month, year, fmt, out_path):
    """Energy and cost of a day, week, month or year (default: this month), to compare with a bill."""
    from corcypower.energy import report as formats
    from corcypower.energy.account import of_config
    from corcypower.energy.periods import Period
    from corcypower.energy.tariff import Tariff
    from corcypower.energy.zone import local_date
    from corcypower.store.database import Database

    given = {u: v for u, v in (("day", day), ("week", week), ("month", month), ("year", year)) if v}
    if len(given) > 1:
        raise click.UsageError("give one of --day, --week, --month, --year")
    unit, text = next(iter(given.items()), ("month", "this"))
    config, path = config_and_db(config_path, db_path)
    now = round(time.time() * 1000)
    tz = Tariff.from_config(config).tz
    if text.strip() in ("this", "last"):
        period = Period.containing(unit, local_date(now, tz)).shift(-(text.strip() == "last"))
    else:
        try:
            period = Period.parse(unit, text)
        except ValueError as exc:
            raise CorcyPowerError(f"--{unit} {exc}") from None
    with Database(path, read_only=True) as db:
        account = of_config(db, config, period.edges(tz), period.bars, now)
    title = f"CorcyPower report: {period.label}"
    out = sys.stdout if out_path == "-" else open(out_path, "w", encoding="utf-8", newline="")
    try:
        if fmt == "text":
            out.write(formats.text(account, title))
        elif fmt == "json":
            out.write(formats.as_json(account, title))
        else:
            formats.write_csv(account, out, total=True)
    finally:
        if out is not sys.stdout:
            out.close()
