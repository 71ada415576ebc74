"""Per-channel statistics and power of one batch: Vrms, Irms, P, S, PF, frequency.

Definitions are IEEE 1459-2010's for a single-phase circuit:

    Vrms = sqrt(mean(v²))   Irms = sqrt(mean(i²))   P = mean(v·i)   S = Vrms·Irms   PF = P / S

with v and i the scaled signals less their offset (the input's bias, a drifting straight
line: offset.py) and less their noise in quadrature (noise.py); whole waveforms, so harmonics
count with no special case (P = Σ V_h·I_h·cos θ_h). "mean" is the time average over the
batch's window [start, end), which is whole mains cycles (cycles.py, tiling.py): the exact
integral of the straight lines through the samples (integration.py).

The current is converted after its voltage (one channel at a time), so the voltage is
interpolated onto each current sample's time, moved on by `phase_deg` (the CT's lead); it may
be another phase's, derived from a voltage channel, or a difference of two (derived.py). P > 0
is drawn from the grid, P < 0 exported (or `invert`); PF carries P's sign. S uses the same
interpolated voltage over the same samples as P, so |PF| <= 1.

A fixed voltage (`voltage = 237.0`, the original CorcyPower's way) has no waveform to
multiply with: S = V·Irms is reported as P too, and PF is None. A current whose voltage is
within its noise (the AC adapter unplugged) or a dead read reports Irms only: its power is
unknown, not zero. The original's diagnostics stay as they were: n, mean, min, max of the
counts and `rms`, their standard deviation, over the batch's samples.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from corcypower.analysis.cycles import Window, find_cycles, mains_cycles, whole_cycles_window
from corcypower.analysis.derived import DerivedVoltage, VoltageWave, derive
from corcypower.analysis.flags import (
    FLAG_BELOW_NOISE,
    FLAG_CLIPPED,
    FLAG_DEAD_READ,
    FLAG_FLAT,
    FLAG_NO_CYCLES,
    inherited,
)
from corcypower.analysis.integration import cycle_weights, weighted_mean
from corcypower.analysis.noise import (
    FLOOR_COUNTS,
    LARGE_COUNTS,
    NoiseFloor,
    denoise,
    residual_noise,
)
from corcypower.analysis.offset import remove_offset
from corcypower.analysis.samples import Samples, scaled, typical_step
from corcypower.settings import Channel

FLAT_SPREAD_COUNTS = 1  # max - min at or below this: flat


@dataclass
class ChannelStats:
    """What a batch says about one channel; fields that do not apply to its kind are None."""

    name: str
    kind: str
    n: int
    mean: float
    min: int
    max: int
    rms: float
    vrms: float | None = None
    frequency_hz: float | None = None
    irms: float | None = None
    real_power_w: float | None = None
    apparent_power_va: float | None = None
    power_factor: float | None = None
    flags: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class _Signal:
    """An input over the window: the samples less their offset, the weights of the window's
    time average, and its mean square with the noise taken out."""

    ac: np.ndarray
    w: np.ndarray
    power: float
    noise: float  # the noise power taken out
    below: bool


class _Batch:
    """What every channel of one batch shares: the window, the chip, the noise estimates."""

    def __init__(self, window: Window, max_count: int, noise: NoiseFloor | None, whole: bool):
        self.window, self.max_count, self.noise = window, max_count, noise
        self.whole = whole  # diagnostics over all samples (a lone batch), else over the window

    def diagnostics(self, channel: Channel, s: Samples) -> ChannelStats:
        c = np.asarray(s.counts if self.whole else s.between(*self.span).counts)
        if len(c) == 0:  # nothing to say, but say it without a NaN (the columns are NOT NULL)
            return ChannelStats(channel.name, channel.kind, 0, 0.0, 0, 0, 0.0, flags=FLAG_FLAT)
        lo, hi = int(c.min()), int(c.max())
        flags = FLAG_CLIPPED if lo <= 0 or hi >= self.max_count else 0
        if hi - lo <= FLAT_SPREAD_COUNTS:
            flags |= FLAG_FLAT
        if hi == lo and lo in (0, self.max_count):  # MISO stuck low (or floating high)
            flags |= FLAG_DEAD_READ
        return ChannelStats(
            channel.name, channel.kind, len(c), float(c.mean()), lo, hi, float(c.std()), flags=flags
        )

    @property
    def span(self) -> tuple[float, float]:
        return self.window.start, self.window.end

    def signal(self, channel: Channel, s: Samples, n: int, valid=None) -> _Signal:
        """The input over the window, its offset and noise taken out."""
        x, step, window = scaled(channel, s), typical_step(s.t), self.window
        ac = remove_offset(s.t, x, step, window)
        w = cycle_weights(s.t, *self.span, window.cycles if window.is_whole else 0, step, valid)
        if w.sum() <= 0:  # no time to average over (one sample): its value stands for the batch
            w = valid.astype(float) if valid is not None and valid.any() else np.ones(len(ac))
        scale2 = channel.scale**2
        mean_square = weighted_mean(w, ac * ac)
        large = mean_square > LARGE_COUNTS**2 * scale2
        own = None if large else residual_noise(s.t, ac, step, window)
        recent = None
        if self.noise is not None:
            if own is not None:
                self.noise.add(channel.name, own / scale2)
            recent = self.noise.get(channel.name)
        measured = None if channel.noise_counts is None else channel.noise_counts**2 * scale2
        d = denoise(
            mean_square,
            own,
            None if recent is None else recent * scale2,
            measured,
            n,
            FLOOR_COUNTS**2 * scale2,
        )
        return _Signal(ac, w, d.power, d.noise, d.below)


def _voltage(batch: _Batch, ch: Channel, s: Samples) -> tuple[ChannelStats, VoltageWave | None]:
    stats = batch.diagnostics(ch, s)
    if stats.n == 0:
        return stats, None
    if stats.flags & FLAG_DEAD_READ:
        return stats, VoltageWave(s.t, np.zeros(len(s.t)), 1.0, 0.0, stats.flags, False)
    step, window = typical_step(s.t), batch.window
    sig = batch.signal(ch, s, stats.n)
    stats.vrms = float(np.sqrt(sig.power))
    # the frequency of the cycles inside the window (a cycle on its edge is in both batches)
    ref = window.reference
    if ref is not None and ref.channel == ch.name:
        crossings = ref.crossings  # found when the window was cut, in the same samples
    else:
        crossings, _ = find_cycles(s.t, scaled(ch, s), ch.scale, step, window.hz)
    inside = crossings[(crossings >= window.start - step) & (crossings <= window.end + step)]
    stats.frequency_hz = mains_cycles(inside, window.hz)[1]
    if sig.below:
        stats.flags |= FLAG_BELOW_NOISE
        stats.frequency_hz = None
    if stats.frequency_hz is None and (window.end - window.start) * window.hz >= 2:
        stats.flags |= FLAG_NO_CYCLES  # (a batch cut shorter than two cycles cannot show them)
    return stats, VoltageWave(s.t, sig.ac, step, sig.noise, stats.flags, not sig.below)


def _current(
    batch: _Batch, ch: Channel, s: Samples, wave: DerivedVoltage | None, volts: float | None
) -> ChannelStats:
    stats = batch.diagnostics(ch, s)
    if stats.n == 0 or stats.flags & FLAG_DEAD_READ:
        return stats  # nothing was read: power unknown, not zero
    if volts is not None:  # fixed volts: no waveform to multiply with, so S is all we know
        sig = batch.signal(ch, s, stats.n)
        stats.irms = float(np.sqrt(sig.power))
        stats.real_power_w = stats.apparent_power_va = volts * stats.irms
        stats.flags |= FLAG_BELOW_NOISE if sig.below else 0
        return stats
    stats.flags |= FLAG_NO_CYCLES if wave is None else inherited(wave.flags)
    if wave is None or not wave.live:  # no voltage to speak of: power is unknown, not zero
        sig = batch.signal(ch, s, stats.n)
        stats.irms = float(np.sqrt(sig.power))
        stats.flags |= FLAG_BELOW_NOISE if sig.below else 0
        return stats
    _power(batch, ch, s, wave, stats)
    return stats


def _power(batch: _Batch, ch: Channel, s: Samples, wave: DerivedVoltage, stats: ChannelStats):
    """Irms, P, S and PF of a current multiplied with a voltage waveform.

    The CT's output leads by phase_deg: the true current at t is the output at t − lead, so
    each current sample is paired with the voltage `lead` later (which also removes the
    multiplexing skew). Any window of whole cycles averages the product of two periodic
    signals exactly, so the current keeps the batch's window as it is. The voltage may be
    derived: delayed, or a difference of two (derived.py).
    """
    hz = batch.window.hz
    v_at, valid = wave.at(s.t + ch.phase_deg / (360.0 * hz), hz)
    sig = batch.signal(ch, s, stats.n, valid)
    stats.irms = float(np.sqrt(sig.power))
    if sig.below:
        stats.flags |= FLAG_BELOW_NOISE
    if not valid.any():  # no voltage sample near enough to pair with
        return
    real = weighted_mean(sig.w, v_at * sig.ac)
    vrms = float(np.sqrt(max(weighted_mean(sig.w, v_at * v_at) - wave.noise, 0.0)))
    apparent = max(vrms * stats.irms, abs(real))  # noise taken out of both may leave |P| > S
    stats.real_power_w, stats.apparent_power_va = real, apparent
    stats.power_factor = real / apparent if apparent > 0 and not sig.below else None


def analyze(
    channels: Sequence[Channel],
    samples: Mapping[str, Samples],
    max_count: int,
    mains_hz: float = 50.0,
    volts: Mapping[str, float] | None = None,
    window: Window | None = None,
    noise: NoiseFloor | None = None,
) -> list[ChannelStats]:
    """Statistics of every channel in one batch, in the order of `channels`.

    `window`: the batch's interval and its whole cycles (tiling.py cuts them); without one,
    the whole cycles between the first and last crossing of the samples' reference voltage,
    with the diagnostics over every sample. `volts` overrides the voltage of current
    channels by name (remote or fallback volts). `noise` keeps each input's recent noise.
    """
    volts = volts or {}
    batch = _Batch(
        window or whole_cycles_window(channels, samples, mains_hz), max_count, noise, window is None
    )
    results: dict[str, ChannelStats] = {}
    waves: dict[str, VoltageWave] = {}
    for ch in channels:  # voltages first: currents need them
        if ch.kind == "voltage":
            results[ch.name], wave = _voltage(batch, ch, samples[ch.name])
            if wave is not None:
                waves[ch.name] = wave
    for ch in channels:
        if ch.kind == "current":
            fixed = volts.get(ch.name, ch.voltage if not isinstance(ch.voltage, str) else None)
            wave = derive(ch, waves) if fixed is None else None
            results[ch.name] = _current(batch, ch, samples[ch.name], wave, fixed)
    return [results[ch.name] for ch in channels]
