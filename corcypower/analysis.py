"""Batch analysis: raw counts in, per-channel statistics and power out. Pure numpy, no I/O.

Definitions are IEEE 1459-2010's for a single-phase circuit, over whole mains cycles:

    Vrms = sqrt(mean(v²))   Irms = sqrt(mean(i²))   P = mean(v·i)   S = Vrms·Irms   PF = P / S

with v and i the scaled signals less their DC offset (the input's bias), whole waveforms,
so harmonics count with no special case (P = Σ V_h·I_h·cos θ_h). "mean" is the time average
between the first and the last rising zero crossing of the voltage in the batch: a batch of
24.9 cycles is not biased by its part-cycle. It is the exact integral of the straight lines
through the samples, which need not be evenly spaced. A step over three sample periods is a
gap, not bridged: the part-cycles beside it are dropped or completed (`cycle_weights`), so a
hole of a few ms, or two chips taking turns on the bus, leaves whole cycles.

The current is converted after its voltage (one channel at a time), so the voltage is
interpolated onto each current sample's time, moved on by `phase_deg` (the CT's lead). P > 0
is drawn from the grid, P < 0 exported (or `invert`); PF carries P's sign. S uses the same
interpolated voltage over the same window as P, so |PF| <= 1.

A fixed voltage (`voltage = 237.0`, the original CorcyPower's way) has no waveform to
multiply with: S = V·Irms (Irms over the current's own whole cycles, else nominal ones) is
reported as P too, and PF is None. A current whose voltage
channel is dead (the AC adapter unplugged) reports Irms only, flagged no-cycles: its power
is unknown, not zero. The original's diagnostics stay as they were: n, mean, min, max of the
counts and `rms`, their standard deviation, over the whole batch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from corcypower.settings import Channel

FLAG_CLIPPED = 1  # a sample sat on a rail: the signal is larger than the input range
FLAG_FLAT = 2  # no signal at all: a disconnected input (or a circuit drawing nothing)
FLAG_LATE = 4  # sampling fell behind: the batch holds a gap
FLAG_NO_CYCLES = 8  # no mains cycles found on the voltage: windows use the nominal frequency
FLAG_VOLTAGE_FALLBACK = 16  # the voltage used is the nominal one, not a measurement

FLAG_NAMES = {
    FLAG_CLIPPED: "clipped",
    FLAG_FLAT: "flat",
    FLAG_LATE: "late",
    FLAG_NO_CYCLES: "no-cycles",
    FLAG_VOLTAGE_FALLBACK: "nominal-voltage",
}

FLAT_SPREAD_COUNTS = 1  # max - min at or below this: flat
NOISE_COUNTS = 3  # a signal this small (RMS) is indistinguishable from an input's noise
GAP_FACTOR = 3.0  # a step longer than this many sample periods is a gap
HYSTERESIS = 0.25  # of the peak: a zero crossing must swing this far on both sides
NODES = 6  # Lagrange nodes for the voltage at the current's times (see interpolate)


def flag_names(flags: int) -> list[str]:
    return [name for bit, name in FLAG_NAMES.items() if flags & bit]


@dataclass
class Samples:
    """One channel's samples in one batch: times in seconds (increasing) and raw counts."""

    t: np.ndarray
    counts: np.ndarray


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
class _Wave:
    """A voltage channel made ready for its current channels."""

    t: np.ndarray
    v: np.ndarray  # volts, DC removed
    crossings: np.ndarray  # rising zero crossings; empty when no cycles were found
    frequency: float | None
    step: float  # the typical time between samples
    dead: bool  # no voltage to speak of: no cycles, and within the noise


# --- integration over whole cycles ----------------------------------------------------


def cycle_weights(
    t: np.ndarray, a: float, b: float, cycles: int, step: float, valid: np.ndarray | None = None
) -> np.ndarray:
    """w with sum(w * f) / sum(w) = the mean of f over [a, b], which holds `cycles` periods.

    The integral is that of the straight lines through (t, f), clipped to [a, b]. Segments
    longer than GAP_FACTOR steps, or with an end not `valid`, carry no weight: the time
    they hid is a hole. A sample beside a hole stands for half a step beyond itself (so a
    run of k samples covers k steps, as a chip's turn of one whole cycle should).

    A hole takes some phases of the cycle and not others, which would bias the mean of a
    periodic signal. So each stretch of kept time is made whole periods again: a stretch
    longer than a period is cut down to whole periods (the partial period beside a hole is
    dropped); a shorter one (a chip's turn, when the mains runs a little slow) is completed
    by the phases it misses, taken from a neighbouring stretch; one that cannot be is left
    out. Every phase then counts equally, as in a window of whole cycles.
    """
    n = len(t)
    if n < 2 or b <= a:
        return np.zeros(n)
    pieces = _Pieces(t, step, valid)
    start, end = pieces.kept(a, b)
    if cycles < 1 or (len(start) == 1 and start[0] == a and end[0] == b):
        return pieces.weights(a, b)  # no holes: the window is whole cycles already
    period = (b - a) / cycles
    whole = np.floor((end - start) / period + 1e-9)  # 1e-9: a turn of exactly one period
    w = np.zeros(n)
    for j in range(len(start)):
        if whole[j] >= 1:  # centred, so that the ends fall between samples, not on half steps
            margin = (end[j] - start[j] - whole[j] * period) / 2
            pieces.weights(start[j] + margin, start[j] + margin + whole[j] * period, w)
        elif (donor := _donor(j, start, end, period)) is not None:
            pieces.weights(start[j], end[j], w)
            pieces.weights(*donor, w)
    return w


def _donor(j: int, start: np.ndarray, end: np.ndarray, period: float):
    """Where a nearby stretch covers the phases that stretch j misses, or None.

    Stretch j misses the phases of [end[j], start[j] + period); times a whole number of
    periods apart have the same phase.
    """
    missing = period - (end[j] - start[j])
    for i in (j + 1, j - 1, j + 2, j - 2, j + 3, j - 3):
        if 0 <= i < len(start):
            lo = start[i] + np.mod(end[j] - start[i], period)
            if lo + missing <= end[i]:
                return lo, lo + missing
    return None


class _Pieces:
    """Samples as pieces of time: straight segments between them, half steps beside holes."""

    def __init__(self, t: np.ndarray, step: float, valid: np.ndarray | None):
        self.t, self.half = t, step / 2
        ok_sample = np.ones(len(t), dtype=bool) if valid is None else valid
        dt = np.diff(t)
        self.ok = (dt > 0) & (dt <= GAP_FACTOR * step) & ok_sample[:-1] & ok_sample[1:]
        self.dt = np.where(self.ok, dt, 1.0)
        beside_hole = ~self.ok & (dt > 0)  # (and beyond the first and last samples)
        self.after = np.where(ok_sample & np.append(beside_hole, True), self.half, 0.0)
        self.before = np.where(ok_sample & np.insert(beside_hole, 0, True), self.half, 0.0)

    def kept(self, a: float, b: float) -> tuple[np.ndarray, np.ndarray]:
        """The stretches of [a, b] the samples cover: [a, b] less the holes."""
        t, ok = self.t, self.ok
        hole_lo = np.concatenate(([-np.inf], (t + self.after)[:-1][~ok], [t[-1] + self.after[-1]]))
        hole_hi = np.concatenate(([t[0] - self.before[0]], (t - self.before)[1:][~ok], [np.inf]))
        start, end = np.maximum(hole_hi[:-1], a), np.minimum(hole_lo[1:], b)
        return start[end > start], end[end > start]

    def weights(self, a: float, b: float, w: np.ndarray | None = None) -> np.ndarray:
        """w with sum(w * f) = the integral of the pieces through f over [a, b] (added to w).

        Only the samples within a step of [a, b] are touched, so many short stretches
        (a long capture of chips in turns) cost what their samples do.
        """
        w = np.zeros(len(self.t)) if w is None else w
        lo = max(int(np.searchsorted(self.t, a - self.half)) - 1, 0)
        hi = min(int(np.searchsorted(self.t, b + self.half)) + 1, len(self.t) - 1)
        t, ok, dt = self.t[lo : hi + 1], self.ok[lo:hi], self.dt[lo:hi]
        t0, t1 = t[:-1], t[1:]
        s0 = (np.clip(t0, a, b) - t0) / dt  # covered part of the segment, 0..1
        s1 = (np.clip(t1, a, b) - t0) / dt
        right = np.where(ok, dt * (s1 * s1 - s0 * s0) / 2, 0.0)
        left = np.where(ok, dt * (s1 - s0), 0.0) - right
        part = w[lo : hi + 1]  # a view: adds go to w
        part[:-1] += left
        part[1:] += right
        after, before = self.after[lo : hi + 1], self.before[lo : hi + 1]
        part += np.clip(np.minimum(t + after, b) - np.maximum(t, a), 0.0, None)
        part += np.clip(np.minimum(t, b) - np.maximum(t - before, a), 0.0, None)
        return w


def weighted_mean(w: np.ndarray, x: np.ndarray) -> float:
    return float(np.dot(w, x) / w.sum())


# --- cycles ---------------------------------------------------------------------------


def rising_crossings(
    t: np.ndarray, x: np.ndarray, hysteresis: float, max_step: float
) -> np.ndarray:
    """Times where x rises through 0, interpolated; it must fall below -h between two of them."""
    state = np.where(x < -hysteresis, -1, np.where(x > hysteresis, 1, 0))
    idx = np.flatnonzero(state)
    if len(idx) < 2:
        return np.empty(0)
    s = state[idx]
    rises = idx[1:][(s[:-1] == -1) & (s[1:] == 1)]  # first sample above +h after one below -h
    # the last sample below 0 before each rise; the crossing lies between it and the next
    below = np.where(x < 0, np.arange(len(x)), -1)
    last_below = np.maximum.accumulate(below)
    k = last_below[rises - 1] if len(rises) else np.empty(0, dtype=int)
    k = k[(k >= 0) & (k + 1 < len(x))]
    dt = t[k + 1] - t[k]
    k = k[dt <= max_step]  # never interpolate across a gap
    frac = -x[k] / (x[k + 1] - x[k])
    return t[k] + frac * (t[k + 1] - t[k])


def mains_cycles(crossings: np.ndarray, nominal_hz: float) -> tuple[np.ndarray, float | None]:
    """The crossings that are mains cycles, and their frequency: cycles over the time spanned.

    Two crossings are a whole number of periods apart: one period normally, more across a
    gap or between two turns of a chip. That number comes from the typical one-period
    spacing (or the nominal period, when no two crossings are adjacent). A crossing that is
    a whole number of periods from neither neighbour is a glitch (a bad sample swinging past
    the hysteresis) and is dropped. None when what is left is not mains cycles.
    """
    if len(crossings) < 2:
        return crossings, None
    d = np.diff(crossings)
    adjacent = d[d < 1.5 / nominal_hz]
    period = float(np.median(adjacent)) if len(adjacent) else 1.0 / nominal_hz
    whole = (np.rint(d / period) >= 1) & (np.abs(d / period - np.rint(d / period)) <= 0.2)
    crossings = crossings[np.append(whole, False) | np.insert(whole, 0, False)]
    d = np.diff(crossings)
    cycles = np.rint(d / period)
    if len(d) == 0 or np.any(cycles < 1) or np.any(np.abs(d / period - cycles) > 0.2):
        return crossings, None
    frequency = float(cycles.sum() / (crossings[-1] - crossings[0]))
    # 50 Hz mains configured as 60 (or the reverse) still counts; a harmonic does not
    return crossings, frequency if 0.7 < frequency / nominal_hz < 1.4 else None


def _cycles(t: np.ndarray, x: np.ndarray, scale: float, step: float, nominal_hz: float):
    """Rising zero crossings of x (any DC removed) and the frequency they show, or ([], None)."""
    rough = x - x.mean()
    # a quarter of the peak, and never less than the noise: noise must not add crossings
    hysteresis = max(HYSTERESIS * np.sqrt(2) * rough.std(), NOISE_COUNTS * scale)
    crossings = rising_crossings(t, rough, hysteresis, GAP_FACTOR * step)
    crossings, frequency = mains_cycles(crossings, nominal_hz)
    return (crossings, frequency) if frequency is not None else (np.empty(0), None)


def _weights(t, step, edges, hz, valid=None) -> np.ndarray:
    """Weights over the whole cycles between the first and last of `edges` inside the samples,
    or else over whole nominal cycles from the first sample (or all of it, if less)."""
    edges = edges[(edges >= t[0]) & (edges <= t[-1])] if len(t) else edges
    if len(edges) >= 2:
        a, b = edges[0], edges[-1]
        cycles = round((b - a) * hz)
    else:
        a, b = (t[0], t[-1]) if len(t) else (0.0, 0.0)
        cycles = int(np.floor((b - a) * hz))
        b = a + cycles / hz if cycles >= 1 else b
    w = cycle_weights(t, a, b, cycles, step, valid)
    if w.sum() > 0:
        return w
    return valid.astype(float) if valid is not None and valid.any() else np.ones(len(t))


def interpolate(t: np.ndarray, x: np.ndarray, tq: np.ndarray, step: float):
    """x at times tq by Lagrange interpolation through 6 nearby samples; and where valid.

    Linear interpolation would shrink a 50 Hz wave sampled at 2 kHz by up to 0.3 %, cubic
    (4 nodes) by 1.4e-5; 6 nodes, by 7e-8 (error ~ (ωh)^6 / 200), and the 5th harmonic by
    1e-3. The nodes are taken from one unbroken run of samples, moved inward at its ends;
    a time up to one step beyond a run's end is extrapolated (a current sample converted
    just after the last voltage sample before a gap); farther, it is not valid.
    """
    n = len(t)
    out = np.zeros(len(tq))
    if n < NODES or len(tq) == 0:
        return out, np.zeros(len(tq), dtype=bool)
    dt = np.diff(t)
    run = np.concatenate(([0], np.cumsum((dt > GAP_FACTOR * step) | (dt <= 0))))
    run_start = np.searchsorted(run, run, "left")
    run_end = np.searchsorted(run, run, "right") - 1
    k = np.clip(np.searchsorted(t, tq), 1, n - 1)
    k = np.where(tq - t[k - 1] < t[k] - tq, k - 1, k)  # the nearest sample
    rs, re = run_start[k], run_end[k]
    valid = (re - rs + 1 >= NODES) & (tq >= t[rs] - step) & (tq <= t[re] + step)
    lo = k - NODES // 2 + (tq >= t[k])  # centred on the interval that holds tq
    lo = np.clip(lo, rs, re - NODES + 1)[valid]
    nodes = lo[:, None] + np.arange(NODES)
    tn, xn, q = t[nodes], x[nodes], tq[valid]
    acc = np.zeros(len(q))
    for m in range(NODES):  # Σ_m x_m · Π_{j≠m} (q − t_j) / (t_m − t_j)
        basis = np.ones(len(q))
        for j in range(NODES):
            if j != m:
                basis *= (q - tn[:, j]) / (tn[:, m] - tn[:, j])
        acc += basis * xn[:, m]
    out[valid] = acc
    return out, valid


# --- per-channel analysis -------------------------------------------------------------


def _step(t: np.ndarray) -> float:
    d = np.diff(t)
    d = d[d > 0]
    return float(np.median(d)) if len(d) else 1.0


def _diagnostics(channel: Channel, s: Samples, max_count: int) -> ChannelStats:
    c = np.asarray(s.counts)
    if len(c) == 0:  # nothing to say, but say it without a NaN (the columns are NOT NULL)
        return ChannelStats(channel.name, channel.kind, 0, 0.0, 0, 0, 0.0, flags=FLAG_FLAT)
    flags = 0
    if np.any(c <= 0) or np.any(c >= max_count):
        flags |= FLAG_CLIPPED
    lo, hi = int(c.min()), int(c.max())
    if hi - lo <= FLAT_SPREAD_COUNTS:
        flags |= FLAG_FLAT
    return ChannelStats(
        channel.name, channel.kind, len(c), float(c.mean()), lo, hi, float(c.std()), flags=flags
    )


def _scaled(channel: Channel, s: Samples) -> np.ndarray:
    x = np.asarray(s.counts, dtype=float) * channel.scale
    return -x if channel.invert else x


def _rms_about_mean(w: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, float]:
    """x less its mean over the window (the DC offset), and its RMS there."""
    ac = x - weighted_mean(w, x)
    return ac, float(np.sqrt(max(weighted_mean(w, ac * ac), 0.0)))


def _voltage(channel: Channel, s: Samples, stats: ChannelStats, mains_hz: float) -> _Wave:
    x, step = _scaled(channel, s), _step(s.t)
    crossings, frequency = _cycles(s.t, x, channel.scale, step, mains_hz)
    if frequency is None:
        stats.flags |= FLAG_NO_CYCLES
    stats.frequency_hz = frequency
    v, stats.vrms = _rms_about_mean(_weights(s.t, step, crossings, frequency or mains_hz), x)
    dead = frequency is None and stats.vrms <= NOISE_COUNTS * channel.scale
    return _Wave(s.t, v, crossings, frequency, step, dead)


def _current(channel: Channel, s: Samples, stats: ChannelStats, wave, volts, mains_hz) -> None:
    """Irms, and with a voltage waveform P, S and PF; `volts`: a fixed voltage, or None."""
    x, t, step = _scaled(channel, s), s.t, _step(s.t)
    if volts is not None:  # fixed volts: no waveform to multiply with, so S is all we know
        # whole cycles of the current itself where it shows them, else of the nominal frequency
        crossings, frequency = _cycles(t, x, channel.scale, step, mains_hz)
        _, stats.irms = _rms_about_mean(_weights(t, step, crossings, frequency or mains_hz), x)
        stats.apparent_power_va = volts * stats.irms
        stats.real_power_w = stats.apparent_power_va
        return
    if wave is None or wave.frequency is None:
        stats.flags |= FLAG_NO_CYCLES  # the windows are as uncertain as the voltage's
    if wave is None or wave.dead:  # no voltage to speak of: power is unknown, not zero
        _, stats.irms = _rms_about_mean(_weights(t, step, np.empty(0), mains_hz), x)
        return
    hz = wave.frequency or mains_hz
    # the CT's output leads by phase_deg: the true current at t is the output at t - lead, so
    # pair each current sample with the voltage `lead` later (which also removes the skew),
    # and shift the voltage's cycles by as much, so that windows start where v_at crosses 0
    lead = channel.phase_deg / (360.0 * hz)
    v_at, valid = interpolate(wave.t, wave.v, t + lead, wave.step)
    w = _weights(t, step, wave.crossings - lead, hz, valid)
    i, stats.irms = _rms_about_mean(w, x)
    if not valid.any():  # too few voltage samples to pair with
        return
    real = stats.real_power_w = weighted_mean(w, v_at * i)
    apparent = stats.apparent_power_va = float(np.sqrt(weighted_mean(w, v_at * v_at))) * stats.irms
    stats.power_factor = real / apparent if apparent > 0 else None


def analyze(
    channels: Sequence[Channel],
    samples: Mapping[str, Samples],
    max_count: int,
    mains_hz: float = 50.0,
    volts: Mapping[str, float] | None = None,
) -> list[ChannelStats]:
    """Statistics of every channel in one batch, in the order of `channels`.

    `volts` overrides the voltage of current channels by name (remote or fallback volts).
    """
    volts = volts or {}
    results: dict[str, ChannelStats] = {}
    waves: dict[str, _Wave] = {}
    for ch in channels:  # voltages first: currents need them
        if ch.kind == "voltage":
            results[ch.name] = stats = _diagnostics(ch, samples[ch.name], max_count)
            if stats.n:
                waves[ch.name] = _voltage(ch, samples[ch.name], stats, mains_hz)
    for ch in channels:
        if ch.kind == "current":
            results[ch.name] = stats = _diagnostics(ch, samples[ch.name], max_count)
            fixed = volts.get(ch.name, ch.voltage if not isinstance(ch.voltage, str) else None)
            wave = waves.get(ch.voltage) if fixed is None else None
            if stats.n:
                _current(ch, samples[ch.name], stats, wave, fixed, mains_hz)
    return [results[ch.name] for ch in channels]
