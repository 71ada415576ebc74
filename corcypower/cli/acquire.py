"""Commands of the acquisition daemon: run, capture, analyze, status, settings."""

from __future__ import annotations

import json
import sys
import threading

import click

from corcypower import capture as capture_file
from corcypower import settings
from corcypower.cli.common import cli, config_and_db, config_option, db_option, setup_logging
from corcypower.errors import CorcyPowerError


@cli.command()
@config_option
def run(config_path):
    """Run the monitor: sample, analyse and store until stopped (SIGTERM or Ctrl-C)."""
    from corcypower.daemon import Daemon, install_signal_handlers
    from corcypower.services import attach

    config = settings.load(config_path)
    setup_logging(config["log.level"])
    stop = threading.Event()
    install_signal_handlers(stop)
    daemon = Daemon(config)
    daemon.open_store()  # the writer lock first: a second daemon on the file stops here
    with attach(daemon):  # the live ring, the state API, remote voltages and MQTT
        daemon.run(stop)


@cli.command()
@config_option
@click.option(
    "--seconds",
    type=click.FloatRange(min=0.01),
    default=2.0,
    show_default=True,
    help="How long to record.",
)
@click.option(
    "--out",
    "out_path",
    type=click.Path(dir_okay=False, writable=True),
    required=True,
    help="CSV file to write ('-' for stdout).",
)
@click.option(
    "--cs",
    type=click.IntRange(0, 1),
    default=0,
    show_default=True,
    help="Chip select of the chip to record.",
)
def capture(config_path, seconds, out_path, cs):
    """Record raw ADC counts to a capture file (CSV), from the chip or the emulator."""
    from corcypower.acquisition import Acquisition
    from corcypower.adc.chips import open_transports
    from corcypower.clock import Clock

    config = settings.load(config_path)
    if cs not in config.chip_selects():
        raise CorcyPowerError(f"--cs {cs}: no channel is configured on chip select {cs}")
    clock = Clock()
    transports = open_transports(config, clock)
    chip = Acquisition(config, {cs: transports[cs]}, clock).chips[0]
    adc_channels = [config.channel(n).adc_channel for n in chip.names]
    stream = sys.stdout if out_path == "-" else open(out_path, "w", encoding="utf-8", newline="")  # noqa: SIM115
    try:
        block = chip.read()
        writer = capture_file.CaptureWriter(
            stream, config.chip_model, block.period * 1e6, adc_channels
        )
        t_start = block.t[0]
        scans = 0
        while True:
            writer.write(block.t - t_start, block.counts)
            scans += len(block.t)
            if block.end - t_start >= seconds:
                break
            block = chip.read()
    finally:
        chip.transport.close()
        if stream is not sys.stdout:
            stream.close()
    if out_path != "-":
        click.echo(f"wrote {scans} scans of {len(adc_channels)} channels to {out_path}", err=True)


KIND_FIELDS = {
    "voltage": ("vrms", "frequency_hz"),
    "current": ("irms", "real_power_w", "apparent_power_va", "power_factor"),
}


def channel_row(stats) -> dict:
    """One channel's statistics as `analyze` shows them (JSON objects, table lines)."""
    from corcypower.analysis import flag_names

    row = {key: getattr(stats, key) for key in ("name", "kind", "n", "mean", "min", "max", "rms")}
    row.update({key: getattr(stats, key) for key in KIND_FIELDS[stats.kind]})
    row["flags"] = flag_names(stats.flags)
    return row


@cli.command()
@click.argument("capture_path", metavar="FILE", type=click.Path(dir_okay=False))
@config_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option(
    "--batches",
    "per_batch",
    is_flag=True,
    help="Also every batch, as the daemon cuts the capture (adc.batch_seconds, whole cycles).",
)
def analyze(capture_path, config_path, as_json, per_batch):
    """Analyse a capture file with the daemon's own analysis: its batches, and all of it."""
    from corcypower.offline import analyze_capture

    config = settings.load(config_path)
    cap = capture_file.read(capture_path)
    result = analyze_capture(config, cap, capture_path)
    for note in result.notes:
        click.echo(f"warning: {note}", err=True)
    rows = [channel_row(s) for s in result.summary]
    batches = [
        {
            "start_s": batch.start,
            "duration_s": batch.end - batch.start,
            "channels": [channel_row(s) for s in stats],
        }
        for batch, stats in result.batches
    ]
    if as_json:
        out = {"channels": rows} | ({"batches": batches} if per_batch else {})
        click.echo(json.dumps(out, indent=2))
        return
    click.echo(
        f"{capture_path}: {len(cap.t)} scans, {cap.duration:.3f} s, {cap.chip}, "
        f"{len(batches)} batches"
    )
    for row in rows:
        click.echo(describe(row))
    if per_batch:
        click.echo(batch_table(batches))


def batch_table(batches: list[dict]) -> str:
    """One line per batch: its start and length, each channel's main value, its flags."""
    if not batches:
        return "no batches"
    names = [ch["name"] for ch in batches[0]["channels"]]
    head = f"{'start s':>9} {'length s':>8} " + " ".join(f"{n[:12]:>12}" for n in names)
    lines = [head + "  flags"]
    for b in batches:
        values, flags = [], set()
        for ch in b["channels"]:
            value = ch.get("real_power_w") if ch["kind"] == "current" else ch.get("vrms")
            unit = "W" if ch["kind"] == "current" else "V"
            values.append(f"{'–' if value is None else f'{value:.1f} {unit}':>12}")
            flags.update(f"{ch['name']} {f}" for f in ch["flags"])
        lines.append(
            f"{b['start_s']:9.3f} {b['duration_s']:8.3f} "
            + " ".join(values)
            + ("  " + ", ".join(sorted(flags)) if flags else "")
        )
    return "\n".join(lines)


UNITS = {
    "vrms": ("V", "{:.2f}"),
    "frequency_hz": ("Hz", "{:.3f}"),
    "irms": ("A", "{:.3f}"),
    "real_power_w": ("W", "{:.1f}"),
    "apparent_power_va": ("VA", "{:.1f}"),
    "power_factor": ("PF", "{:.3f}"),
}


def describe(row: dict) -> str:
    """One line of a channel's values with units, for people."""
    values = []
    for key, (unit, fmt) in UNITS.items():
        value = row.get(key)
        if value is None:
            continue
        values.append(f"PF {fmt.format(value)}" if unit == "PF" else f"{fmt.format(value)} {unit}")
    adc = f"ADC mean {row['mean']:.1f} min {row['min']} max {row['max']} rms {row['rms']:.2f}"
    flags = f"  [{', '.join(row['flags'])}]" if row.get("flags") else ""
    return f"{row['name']:<12} {row['kind']:<8} {'  '.join(values):<44} {adc}{flags}"


@cli.command()
@config_option
@db_option
def status(config_path, db_path):
    """Show the latest batch of every channel, in local time."""
    from corcypower.analysis import flag_names
    from corcypower.store.database import Database
    from corcypower.store.queries import latest

    _, path = config_and_db(config_path, db_path)
    with Database(path, read_only=True) as db:
        rows = latest(db)
    if not rows:
        click.echo(f"{path}: no batches stored yet")
        return
    from datetime import datetime

    newest = max(r["ts"] for r in rows)
    when = datetime.fromtimestamp(newest / 1000).astimezone()
    click.echo(f"{path}: latest batch {when:%Y-%m-%d %H:%M:%S %Z}")
    for r in rows:
        row = dict(r) | {"flags": flag_names(r["flags"])}
        if row["ts"] != newest:
            row["name"] += "*"
        click.echo(describe(row))


@cli.command("settings")
@config_option
def settings_doc(config_path):
    """Print every setting with its default and meaning (Markdown); with --config, check that
    file and list what it sets."""
    click.echo(settings.markdown(), nl=False)
    if config_path:
        config = settings.load(config_path)
        click.echo(settings.given(config), nl=False)
