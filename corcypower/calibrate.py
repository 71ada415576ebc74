"""`corcypower calibrate`: a channel's `scale` (and `phase_deg`) from a reference meter.

It measures with the daemon's own acquisition and analysis for a few seconds, then:

- scale: every quantity is proportional to the channel's scale (amps or volts per count),
  so new scale = old scale × reference / measured. Watts work for a current channel too:
  P = mean(v·i) is proportional to its scale, the voltage channel's being already right.
- phase_deg: with a purely resistive load the current is in phase with the voltage, so
  P(φ) = mean(v(t + φ/ω)·i(t)) = ½·V·I·cos(φ - α), where α is the lead of the current
  channel's output over the true current (CT and AC adapter together). Two evaluations
  give it exactly: α = atan2(P(90°), P(0°)). That phase_deg makes PF read 1.

The new values are written into the config with tomlkit, which keeps comments and layout,
and only after the result validates.
"""

from __future__ import annotations

import math
import os
import tempfile
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from corcypower import settings
from corcypower.acquisition import Acquisition, RawBatch
from corcypower.adc.chips import open_transports
from corcypower.adc.mcp3xxx import MODELS
from corcypower.analysis import (
    FLAG_BELOW_NOISE,
    FLAG_CLIPPED,
    FLAG_FLAT,
    ChannelStats,
    Meter,
    residual_noise,
    whole_cycles_window,
)
from corcypower.analysis.offset import remove_offset
from corcypower.analysis.samples import scaled, typical_step
from corcypower.clock import Clock
from corcypower.errors import CorcyPowerError
from corcypower.settings import Channel, Config
from corcypower.settings.table import SCALE, VOLTS

QUANTITY = {"A": "irms", "V": "vrms", "W": "real_power_w"}
MIN_SIGNAL_COUNTS = 3.0  # RMS counts below this are mostly quantisation and noise
MIN_PF = 0.9  # below this (a 26° shift) the load is not resistive enough for --phase
# The largest reading a reference meter can plausibly give, and why
REFERENCE_MAX = {
    "V": (VOLTS[1], "mains measured through an AC-AC adapter is low voltage, at most 1000 V"),
    "A": (10_000.0, "the largest CT clamps measure a few thousand amps"),
    "W": (VOLTS[1] * 10_000.0, "1000 V times 10000 A"),
}


class CalibrationError(CorcyPowerError, ValueError):
    """Calibration cannot give a trustworthy answer; the text says what to change."""


@dataclass
class Proposal:
    """A new value for one key of one channel, and the reasoning for people."""

    key: str
    old: float
    new: float
    explain: str


def default_unit(channel: Channel) -> str:
    return "V" if channel.kind == "voltage" else "A"


def measure(
    config: Config, channel: Channel, seconds: float, clock: Clock | None = None, transports=None
) -> list[RawBatch]:
    """About `seconds` of batches from the chip holding `channel` (at least two)."""
    clock = clock or Clock()
    if transports is None:
        transports = open_transports(config, clock)
    acquisition = Acquisition(config, {channel.cs: transports[channel.cs]}, clock)
    want = max(2, math.ceil(seconds / config["adc.batch_seconds"]))
    batches: list[RawBatch] = []
    try:
        while len(batches) < want:
            batches += acquisition.read_once()
    finally:
        for transport in transports.values():
            transport.close()
    return batches[:want]


def chip_channels(config: Config, channel: Channel, **change) -> list[Channel]:
    """The channels read with `channel` (same chip), `channel` with `change` applied."""
    return [
        replace(ch, **change) if ch.name == channel.name else ch
        for ch in config.channels
        if ch.cs == channel.cs
    ]


def stats_of(
    config: Config, channel: Channel, batches: list[RawBatch], **change
) -> list[ChannelStats]:
    """The channel's statistics in every batch, by the daemon's own measurement (Meter)."""
    channels = chip_channels(config, channel, **change)
    meter = Meter(channels, MODELS[config.chip_model].max_count, config["mains.frequency_hz"])
    k = [c.name for c in channels].index(channel.name)
    return [stats[k] for raw in batches for _, stats in meter.feed(raw)]


def _check_signal(channel: Channel, stats: list[ChannelStats]) -> None:
    flags = 0
    for s in stats:
        flags |= s.flags
    if flags & FLAG_CLIPPED:
        what = "CT" if channel.kind == "current" else "AC adapter"
        raise CalibrationError(
            f"{channel.name}: the signal clips at the ADC's rails: calibrating would be wrong. "
            f"Reduce the {what}'s signal (a smaller burden resistor, or a larger divider) first"
        )
    rms = float(np.mean([s.rms for s in stats]))
    if flags & FLAG_FLAT or rms < MIN_SIGNAL_COUNTS:
        load = "switch on a larger load" if channel.kind == "current" else "plug in the AC adapter"
        raise CalibrationError(
            f"{channel.name}: the signal is only {rms:.1f} ADC counts RMS, too small to "
            f"calibrate: {load} (at least {MIN_SIGNAL_COUNTS:g} counts; ideally a tenth of the range)"
        )


def _check_voltage(channel: Channel, stats: list[ChannelStats]) -> None:
    """Power needs a live voltage: the analysis leaves it None when the voltage is dead."""
    if any(s.real_power_w is None for s in stats):
        raise CalibrationError(
            f"{channel.name}: its voltage channel {channel.voltage} shows no mains cycles, so "
            "there is no power to calibrate against: plug in the AC adapter"
        )


def propose_scale(
    channel: Channel, stats: list[ChannelStats], reference: float, unit: str
) -> tuple[Proposal, list[str]]:
    """The scale that makes the measurement read `reference`; and warnings for people."""
    if channel.kind == "voltage" and unit != "V":
        raise CalibrationError(f"{channel.name} is a voltage channel: give the reference in V")
    if channel.kind == "current" and unit == "V":
        raise CalibrationError(
            f"{channel.name} is a current channel: give the reference in A (or W)"
        )
    _check_reference(reference, unit)
    _check_signal(channel, stats)
    if unit == "W":
        _check_voltage(channel, stats)
    values = np.array([getattr(s, QUANTITY[unit]) for s in stats], dtype=float)
    measured = float(values.mean())
    notes = []
    if unit == "W" and measured < 0:
        notes.append(
            f"{channel.name} measures {measured:.1f} W, negative: the CT is clamped the other "
            "way round; set invert = true (or turn it) so that drawn power is positive"
        )
        measured = -measured
    if unit == "W" and channel.kind == "current" and isinstance(channel.voltage, float):
        notes.append(
            f"{channel.name} uses a fixed {channel.voltage:g} V: watts are V × Irms here, so a "
            "reference in amps is the better calibration"
        )
    if not measured > 0:
        raise CalibrationError(
            f"{channel.name} measures {measured:g} {unit}: nothing to scale against; "
            "switch on a load that draws real power, or give the reference in A"
        )
    new = float(f"{channel.scale * reference / measured:.5g}")
    _check_new_scale(channel, new, reference, measured, unit)
    if not 0.1 <= new / channel.scale <= 10:
        notes.append(
            f"the new scale is {new / channel.scale:.3g} times the old one: make sure the "
            f"reference is in {unit} (not m{unit} or k{unit}) and measures this channel's wire"
        )
    spread = float(values.std()) / measured if measured else 0.0
    explain = (
        f"{channel.name} measured {measured:.4g} {unit} (±{spread:.2%} over {len(values)} "
        f"batches), reference {reference:.4g} {unit}: scale {channel.scale:g} → {new:g} "
        f"{channel.unit} per count ({new / channel.scale - 1:+.2%})"
    )
    return Proposal("scale", channel.scale, new, explain), notes


def _check_reference(reference: float, unit: str) -> None:
    most, why = REFERENCE_MAX[unit]
    if not 0 < reference <= most:  # also false for nan
        raise CalibrationError(
            f"--reference {reference:g}: expected a meter's reading above 0 and at most "
            f"{most:g} {unit} ({why})"
        )


def _check_new_scale(
    channel: Channel, new: float, reference: float, measured: float, unit: str
) -> None:
    low, high = SCALE
    if not low <= new <= high:
        raise CalibrationError(
            f"{channel.name}: {reference:g} {unit} against the {measured:.4g} {unit} measured "
            f"gives scale = {new:g}, outside the {low:g} to {high:g} {channel.unit} per count a "
            f"real sensor has: check that the reference is in {unit} (not m{unit} or k{unit}) "
            "and measures this channel's wire; nothing written"
        )


def estimate_phase(config: Config, channel: Channel, batches: list[RawBatch]) -> Proposal:
    """phase_deg from a purely resistive load: the φ that maximises real power."""
    if channel.kind != "current":
        raise CalibrationError(f"--phase: {channel.name} is a voltage channel; name its CT")
    if not isinstance(channel.voltage, str):
        raise CalibrationError(
            f"--phase: {channel.name} uses a fixed voltage ({channel.voltage:g} V): without "
            "a voltage channel there is no phase to correct"
        )
    now = stats_of(config, channel, batches)
    _check_signal(channel, now)
    _check_voltage(channel, now)
    p0 = sum(s.real_power_w for s in stats_of(config, channel, batches, phase_deg=0.0))
    p90 = sum(s.real_power_w for s in stats_of(config, channel, batches, phase_deg=90.0))
    alpha = math.degrees(math.atan2(p90, p0))
    pf_now = float(np.mean([s.power_factor for s in now]))
    if abs(alpha) > 135:
        raise CalibrationError(
            f"--phase: {channel.name}'s current is reversed (PF {pf_now:.3f}): the CT is clamped "
            "the other way round (set invert = true), or the load is exporting"
        )
    if abs(pf_now) < MIN_PF or abs(alpha) > 45:
        raise CalibrationError(
            f"--phase: {channel.name} reads PF {pf_now:.3f} (a {alpha:.1f}° shift): that is not "
            "a purely resistive load; use a kettle, a heater or an incandescent lamp alone"
        )
    new = round(alpha, 2)
    after = stats_of(config, channel, batches, phase_deg=new)
    pf_after = float(np.mean([s.power_factor for s in after]))
    explain = (
        f"{channel.name} on a resistive load reads PF {pf_now:.4f} with phase_deg = "
        f"{channel.phase_deg:g}; phase_deg = {new:g} makes it {pf_after:.4f}"
    )
    return Proposal("phase_deg", channel.phase_deg, new, explain)


def measure_noise(config: Config, channel: Channel, batches: list[RawBatch]) -> Proposal:
    """noise_counts: the input's noise, with nothing on it (a CT on a circuit drawing
    nothing, an AC adapter unplugged): the median over the batches of what is not periodic
    (analysis/noise.py), in counts RMS."""
    stats = stats_of(config, channel, batches, noise_counts=None)
    if any(s.flags & FLAG_CLIPPED for s in stats):
        raise CalibrationError(f"--noise: {channel.name} clips at the ADC's rails")
    loud = [s for s in stats if not s.flags & FLAG_BELOW_NOISE]
    if loud:
        what = "current" if channel.kind == "current" else "voltage"
        value = loud[0].irms if channel.kind == "current" else loud[0].vrms
        fix = (
            "switch off what the circuit feeds, or unclamp the CT"
            if channel.kind == "current"
            else "unplug the AC adapter"
        )
        raise CalibrationError(
            f"--noise: {channel.name} measures a {what} ({value:.3g} {channel.unit}) above "
            f"its noise in {len(loud)} of {len(stats)} batches: the input must carry nothing "
            f"while its noise is measured: {fix}"
        )
    estimates = []
    for raw in batches:
        s = raw.samples[channel.name]
        window = whole_cycles_window([channel], {channel.name: s}, config["mains.frequency_hz"])
        step = typical_step(s.t)
        ac = remove_offset(s.t, scaled(channel, s), step, window)
        estimate = residual_noise(s.t, ac, step, window)
        if estimate is not None:
            estimates.append(estimate / channel.scale**2)
    if not estimates:
        raise CalibrationError(f"--noise: {channel.name}: too few samples to measure its noise")
    new = float(f"{np.sqrt(np.median(estimates)):.3g}")
    old = channel.noise_counts
    explain = (
        f"{channel.name} with nothing on it: noise {new:g} counts RMS "
        f"({new * channel.scale:.3g} {channel.unit}) over {len(estimates)} batches"
        + (f", was {old:g}" if old is not None else "")
    )
    return Proposal("noise_counts", old if old is not None else float("nan"), new, explain)


# --- writing the config -----------------------------------------------------------------


def updated_text(text: str, channel: str, values: dict[str, float]) -> str:
    """The config text with `values` set in the [[channels]] table named `channel`."""
    import tomlkit

    doc = tomlkit.parse(text)
    tables = [t for t in doc.get("channels", []) if t.get("name") == channel]
    if len(tables) != 1:
        raise CalibrationError(f"the config has no [[channels]] table with name = {channel!r}")
    for key, value in values.items():
        tables[0][key] = value
    return tomlkit.dumps(doc)


def write_config(path: Path, channel: str, values: dict[str, float]) -> str:
    """Write `values` into the channel's table of the file at `path`, atomically.

    The new text must still validate; the file keeps its mode and owner (0640 root:corcypower
    on a Pi). Returns the new text.
    """
    old = path.read_text(encoding="utf-8")
    new = updated_text(old, channel, values)
    settings.from_dict(tomllib.loads(new), path)  # raises ConfigError naming the key
    st = path.stat()
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(new)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, st.st_mode & 0o7777)
        if os.geteuid() == 0:
            os.chown(tmp, st.st_uid, st.st_gid)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return new


def chip_in_use(config: Config, probe) -> str | None:
    """Why a running daemon is probably reading the same chip, or None.

    Two processes on one SPI device interleave their transfers: both would sample with gaps.
    The emulated chip is private to each process, so it is never in use.
    """
    from corcypower.live.address import STATE_PATH, local_url

    if config["adc.chip"] == "emulated":
        return None
    code, out = probe.run(["systemctl", "is-active", "mcpd.service"])
    if code == 0 and out.strip() == "active":
        return "the mcpd service is running"
    url = local_url(config["api.bind"], config["api.port"], STATE_PATH)
    try:
        probe.get(url, probe.timeout)
    except OSError:
        return None
    return f"a daemon answers at {url}"
