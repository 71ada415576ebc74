"""Commands of the history store: simulate, export, import, rebuild."""

from __future__ import annotations

import sys
import time

import click

from corcypower.cli.common import (
    FiniteRange,
    cli,
    config_and_db,
    config_option,
    db_option,
    setup_logging,
)
from corcypower.energy.periods import BAR_UNITS
from corcypower.errors import CorcyPowerError
from corcypower.times import parse_time

RESOLUTIONS = ("auto", "raw", "10s", "1m", "15m", "1h", "6h", "1d")
MAX_POINTS = 1_000_000


@cli.command()
@config_option
@db_option
@click.option(
    "--days",
    type=FiniteRange(min=0.001, max=3660),
    required=True,
    help="Days of history to make (at most ten years).",
)
def simulate(config_path, db_path, days):
    """Fill the database with N days of the emulated household, ending now."""
    from corcypower.store.lock import open_for_writing
    from corcypower.store.simulate import simulate as run

    config, path = config_and_db(config_path, db_path)
    setup_logging(config["log.level"])
    with open_for_writing(path, "corcypower simulate") as db:
        total = round(days * 86_400_000)
        with click.progressbar(
            length=total, label=f"simulating {days:g} days", file=sys.stderr
        ) as bar:
            rows = run(db, config, days, progress=bar.update)
    click.echo(f"{path}: {rows} batch rows of {len(config.channels)} channels simulated")


@cli.command("export")
@config_option
@db_option
@click.option(
    "--start", default="-1d", show_default=True, help="Start: local time, ISO 8601, or -2h, -30d."
)
@click.option("--end", default="now", show_default=True, help="End, as --start.")
@click.option("--channels", help="Comma-separated channel names. Default: all.")
@click.option(
    "--resolution",
    type=click.Choice(RESOLUTIONS),
    default="auto",
    show_default=True,
    help="raw batches, a rollup level, or auto: the history query's level for --points.",
)
@click.option(
    "--points",
    type=click.IntRange(min=1, max=MAX_POINTS),
    default=1000,
    show_default=True,
    help="With auto: points per channel at least.",
)
@click.option(
    "--phases",
    is_flag=True,
    help="Also a total row per phase (phase:L1...) and for the house at each time: the grid channels added up.",
)
@click.option(
    "--energy",
    type=click.Choice(BAR_UNITS),
    help="Instead of power: energy and cost per local hour, day or month (the report's columns).",
)
@click.option(
    "--out",
    "out_path",
    type=click.Path(dir_okay=False),
    default="-",
    help="CSV file. Default: stdout.",
)
def export_(
    config_path, db_path, start, end, channels, resolution, points, phases, energy, out_path
):
    """Write history to CSV (one format at every resolution), or energy and cost per bar."""
    from corcypower.energy.report import export_energy
    from corcypower.energy.tariff import Tariff
    from corcypower.store.csvexport import export_csv
    from corcypower.store.database import Database

    config, path = config_and_db(config_path, db_path)
    now = round(time.time() * 1000)
    tz = Tariff.from_config(config).tz if energy else None  # energy: the tariff's days
    start_ms, end_ms = parse_time(start, "--start", now, tz), parse_time(end, "--end", now, tz)
    if end_ms <= start_ms:
        raise CorcyPowerError(f"--end {end!r} is not after --start {start!r}")
    if energy and channels:
        raise click.UsageError(
            "--energy takes the channels' roles from the config: drop --channels"
        )
    if energy and phases:
        raise click.UsageError("--phases adds rows to the power history: drop --energy")
    names = None
    if channels is not None:
        names = [n.strip() for n in channels.split(",") if n.strip()]
        if not names:
            raise CorcyPowerError(
                f"--channels {channels!r}: expected channel names, like main,solar"
            )

    def write(db, out) -> str:
        if energy:
            rows = export_energy(db, config, out, start_ms, end_ms, energy, now)
            return f"{rows} rows of energy per {energy}"
        level, rows = export_csv(db, out, start_ms, end_ms, names, resolution, points, phases)
        return f"{rows} rows at level {level}"

    with Database(path, read_only=True) as db:
        if out_path == "-":
            done = write(db, sys.stdout)
        else:
            try:
                out = open(out_path, "w", encoding="utf-8", newline="")  # noqa: SIM115
            except OSError as exc:
                raise CorcyPowerError(
                    f"--out {out_path}: cannot write it ({exc.strerror})"
                ) from None
            with out:
                done = write(db, out)
    click.echo(done, err=True)


def _channel_names(values: tuple[str, ...]) -> dict[int, str]:
    names = {0: "main"}
    for value in values:
        number, sep, name = value.partition("=")
        if not sep or not number.strip().isdigit() or not 0 <= int(number) <= 7 or not name.strip():
            raise CorcyPowerError(f"--channel {value!r}: expected N=NAME, N an ADC channel 0 to 7")
        names[int(number)] = name.strip()
    return names


@cli.command("import")
@config_option
@db_option
@click.argument("source", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--scale",
    type=FiniteRange(min=0, max=10, min_open=True),
    default=0.27,
    show_default=True,
    help="Amps per ADC count of the old setup.",
)
@click.option(
    "--voltage",
    type=FiniteRange(min=1, max=1000),
    default=237.0,
    show_default=True,
    help="Fixed mains volts the old setup assumed.",
)
@click.option(
    "--channel",
    "channel_names",
    multiple=True,
    metavar="N=NAME",
    help="Name for ADC channel N (default 0=main; others adcN).",
)
@click.option(
    "--max-gap",
    type=FiniteRange(min=0, max=10, min_open=True),
    default=10.0,
    show_default=True,
    help="Seconds between rows beyond which there is a gap.",
)
def import_(config_path, db_path, source, scale, voltage, channel_names, max_gap):
    """Import the original CorcyPower power.db or a mongoexport JSON-lines dump (idempotent)."""
    from corcypower.store.importer import Options, import_old
    from corcypower.store.lock import open_for_writing
    from corcypower.store.retention import Retention

    config, path = config_and_db(config_path, db_path)
    options = Options(scale, voltage, _channel_names(channel_names), max_gap)
    with open_for_writing(path, "corcypower import") as db:
        bar = None

        def start(total):
            nonlocal bar
            bar = click.progressbar(
                length=max(total, 1), label=f"importing {source}", file=sys.stderr
            )
            bar.__enter__()

        try:
            report = import_old(
                db,
                source,
                options,
                Retention.from_config(config),
                start=start,
                progress=lambda n: bar.update(n),
            )
        finally:
            if bar is not None:
                bar.__exit__(None, None, None)
    click.echo(report.summary())


@cli.command()
@config_option
@db_option
def rebuild(config_path, db_path):
    """Recompute rollups and spans from the raw rows (stop the daemon first)."""
    from corcypower.store.lock import open_for_writing
    from corcypower.store.rebuild import rebuild as run

    _, path = config_and_db(config_path, db_path)
    with open_for_writing(path, "corcypower rebuild") as db, db.atomic() as conn:
        rows = run(conn)
    click.echo(f"{path}: rollups rebuilt from {rows} raw rows")
