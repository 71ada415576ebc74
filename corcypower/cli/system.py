"""Commands for running on a Pi: doctor and calibrate (install is ./install.sh)."""

from __future__ import annotations

import click

from corcypower import settings
from corcypower.cli.common import cli, config_option


@cli.command()
@config_option
@click.option(
    "--user",
    "service_user",
    default="corcypower",
    show_default=True,
    help="The user the daemon runs as (whose access to /dev/spidev* is checked).",
)
@click.option(
    "--quick",
    is_flag=True,
    help="PRAGMA quick_check instead of integrity_check (faster on a large database).",
)
def doctor(config_path, service_user, quick):
    """Check SPI, config, database, clock, daemon, dashboard and MySQL; say how to fix each."""
    from corcypower.doctor import diagnose, report
    from corcypower.probe import Probe

    text, code = report(diagnose(config_path, Probe(service_user=service_user, quick=quick)))
    click.echo(text, nl=False)
    raise SystemExit(code)


@cli.command()
@click.argument("channel")
@config_option
@click.option(
    "--reference",
    type=float,
    help="What a reference meter reads meanwhile, in --unit (a clamp meter, a plug-in watt meter).",
)
@click.option(
    "--unit",
    type=click.Choice(["A", "V", "W"]),
    help="Unit of --reference. Default: V for a voltage channel, A for a current channel.",
)
@click.option(
    "--phase",
    is_flag=True,
    help="Estimate phase_deg too, with a purely resistive load on (a kettle or heater: PF 1).",
)
@click.option(
    "--noise",
    is_flag=True,
    help="Measure noise_counts too, with nothing on the input (the CT's circuit drawing nothing).",
)
@click.option(
    "--seconds",
    type=click.FloatRange(1.0, 120.0),
    default=5.0,
    show_default=True,
    help="How long to measure.",
)
@click.option("--yes", "-y", is_flag=True, help="Write the config without asking.")
def calibrate(channel, config_path, reference, unit, phase, noise, seconds, yes):
    """Measure CHANNEL, compare with a reference reading, propose scale (and phase_deg,
    noise_counts), write them."""
    from corcypower import calibrate as cal
    from corcypower.probe import Probe

    if reference is None and not phase and not noise:
        raise click.UsageError("give --reference VALUE (and --unit), --phase or --noise")
    config = settings.load(config_path)
    ch = config.channel(channel)
    busy = cal.chip_in_use(config, Probe())
    if busy:
        raise cal.CalibrationError(
            f"{busy}, reading the same chip: stop it first (sudo systemctl stop mcpd), "
            "calibrate, then start it again (sudo systemctl start mcpd)"
        )
    unit = unit or cal.default_unit(ch)
    click.echo(f"measuring {ch.name} ({ch.kind}, ADC channel {ch.adc_channel}) for {seconds:g} s …")
    batches = cal.measure(config, ch, seconds)
    proposals = []
    if reference is not None:
        proposal, notes = cal.propose_scale(ch, cal.stats_of(config, ch, batches), reference, unit)
        proposals.append(proposal)
        for note in notes:
            click.echo(f"note: {note}")
    if phase:
        proposals.append(cal.estimate_phase(config, ch, batches))
    if noise:
        proposals.append(cal.measure_noise(config, ch, batches))
    for proposal in proposals:
        click.echo(proposal.explain)
    values = {p.key: p.new for p in proposals}
    shown = ", ".join(f"{k} = {v:g}" for k, v in values.items())
    if config.source is None:
        click.echo(f"no config file to write: add {shown} to channel {ch.name!r} of yours")
        return
    if not yes and not click.confirm(f"write {shown} for {ch.name} into {config.source}?"):
        click.echo("nothing written")
        return
    cal.write_config(config.source, ch.name, values)
    click.echo(
        f"wrote {shown} into {config.source}; the daemon uses it from its next start "
        "(sudo systemctl restart mcpd)"
    )
