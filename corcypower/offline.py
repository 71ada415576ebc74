"""A capture file analysed as the daemon would have: cut, tiled and measured the same way.

The capture's own chip decides the counts' range. A config written for another chip (or the
defaults, an MCP3008) is warned about, naming both, and its scales are converted to the
capture's counts (the same wiring read with 4 times finer counts on an MCP3208): without
that, an MCP3208 capture analysed with MCP3008 scales reads 16 times the current. A remote
voltage cannot be asked about a recording: its channels use `mains.voltage`, flagged
nominal-voltage as the daemon flags a stale one.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from corcypower.adc.mcp3xxx import MODELS
from corcypower.analysis import FLAG_FLAT, Batch, ChannelStats, Meter, analyze, combine
from corcypower.batching import capture_chunks
from corcypower.capture import Capture
from corcypower.errors import CorcyPowerError
from corcypower.settings import Channel, Config


@dataclass
class CaptureAnalysis:
    """The batches of a capture as the daemon cuts them, and all of it as one."""

    batches: list[tuple[Batch, list[ChannelStats]]]
    summary: list[ChannelStats]
    notes: list[str] = field(default_factory=list)  # warnings for the user


def capture_channels(config: Config, cap: Capture, where: str) -> tuple[list[Channel], list[str]]:
    """The channels of the config's first chip, with scales for the capture's counts."""
    notes = []
    channels = [c for c in config.channels if c.cs == config.chip_selects()[0]]
    columns = set(cap.channels)
    for ch in channels:
        if ch.adc_channel not in columns:
            raise CorcyPowerError(f"{where}: no column ch{ch.adc_channel} for channel {ch.name!r}")
    wanted, got = MODELS[config.chip_model], MODELS[cap.chip]
    if wanted.name != got.name:
        factor = 2.0 ** (wanted.bits - got.bits)
        notes.append(
            f"{where} was recorded from an {got.name} but {config.where} says {wanted.name}: "
            f"analysing it as an {got.name}, every scale × {factor:g} (the same wiring, "
            f"{got.bits}-bit counts)"
        )
        channels = [replace(c, scale=c.scale * factor) for c in channels]
    return channels, notes


def analyze_capture(config: Config, cap: Capture, where: str) -> CaptureAnalysis:
    """Every batch of the capture, as `adc.batch_seconds` cuts it, and the whole."""
    channels, notes = capture_channels(config, cap, where)
    # every column keeps its place in the scan (its time); those no channel reads are extras
    by_adc = {c.adc_channel: c.name for c in channels}
    result = measure_scans(
        channels,
        cap.t,
        cap.counts,
        [by_adc.get(adc, f"_ch{adc}") for adc in cap.channels],
        cap.frame_us * 1e-6,
        MODELS[cap.chip].max_count,
        config["mains.frequency_hz"],
        config["adc.batch_seconds"],
        fallback={c.name for c in channels if c.remote_voltage is not None},
    )
    result.notes = notes
    return result


def measure_scans(
    channels: list[Channel],
    t: np.ndarray,
    counts: np.ndarray,
    columns: list[str],
    frame_s: float,
    max_count: int,
    mains_hz: float,
    batch_s: float,
    fallback=(),
) -> CaptureAnalysis:
    """Scans (times, (scans, columns) counts, the channel name of each column, one frame
    apart) measured as the daemon measures its reads: chunks, tiles, Meter."""
    meter = Meter(channels, max_count, mains_hz)
    results = []
    for chunk in capture_chunks(t, counts, columns, frame_s, batch_s):
        results += meter.feed(chunk, fallback=fallback)
    summary = [
        _summary(c, [(b, stats[k]) for b, stats in results], meter) for k, c in enumerate(channels)
    ]
    return CaptureAnalysis(results, summary)


def _summary(channel: Channel, batches: list[tuple[Batch, ChannelStats]], meter: Meter):
    """A channel over the whole capture: its diagnostics over every sample, its quantities
    over whole cycles (a run's first and last batches, cut where sampling started and
    stopped, count by their whole cycles: the part-cycles' ripple is not the load's)."""
    if not batches:
        return ChannelStats(channel.name, channel.kind, 0, 0.0, 0, 0, 0.0, flags=FLAG_FLAT)
    every = combine([(b.end - b.start, s) for b, s in batches])
    steady = []
    for b, s in batches:
        w = b.window
        if w.is_whole:
            steady.append((b.end - b.start, s))
        elif w.cycles >= 1:
            whole = replace(w, start=w.whole_start, end=w.whole_end)
            again = analyze(
                meter.channels, b.samples, meter.max_count, meter.mains_hz, window=whole
            )
            steady.append((w.whole_end - w.whole_start, again[meter.channels.index(channel)]))
    if not steady:  # not one whole cycle: the batches as they are
        return every
    out = combine(steady)
    out.n, out.mean, out.min, out.max, out.rms, out.flags = (
        every.n,
        every.mean,
        every.min,
        every.max,
        every.rms,
        every.flags,
    )
    return out
