"""Mains cycles: the rising zero crossings of a voltage, its frequency, and the windows of
whole cycles that batches are cut on.

The reference of a batch is its first voltage channel showing mains cycles. Without one (no
voltage input, as the original CorcyPower was wired, or the AC adapter unplugged) the
fundamental of the strongest current is fitted, so windows are whole cycles of the real mains
frequency and not of the jittery crossings of a pulsed current; failing that, the nominal
frequency.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from corcypower.analysis.integration import GAP_FACTOR, interval_means, offset_line
from corcypower.analysis.samples import Samples, line_fit, median, scaled, typical_step
from corcypower.settings import Channel

HYSTERESIS = 0.25  # of the peak: a zero crossing must swing this far on both sides
NOISE_COUNTS = 3  # crossings must swing at least this many counts: noise must not add any
MIN_FIT_CYCLES = 3  # a fitted fundamental needs this many cycles
MAX_PHASE_SCATTER = 0.2  # radians: a fitted fundamental whose phase wanders more is not one


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
    period = median(adjacent) if len(adjacent) else 1.0 / nominal_hz
    whole = (np.rint(d / period) >= 1) & (np.abs(d / period - np.rint(d / period)) <= 0.2)
    crossings = crossings[np.append(whole, False) | np.insert(whole, 0, False)]
    d = np.diff(crossings)
    cycles = np.rint(d / period)
    if len(d) == 0 or np.any(cycles < 1) or np.any(np.abs(d / period - cycles) > 0.2):
        return crossings, None
    frequency = float(cycles.sum() / (crossings[-1] - crossings[0]))
    # 50 Hz mains configured as 60 (or the reverse) still counts; a harmonic does not
    return crossings, frequency if 0.7 < frequency / nominal_hz < 1.4 else None


def find_cycles(t: np.ndarray, x: np.ndarray, scale: float, step: float, nominal_hz: float):
    """Rising zero crossings of x (any DC removed) and the frequency they show, or ([], None)."""
    if len(t) < 2:
        return np.empty(0), None
    rough = x - x.mean()
    # a quarter of the peak, and never less than the noise: noise must not add crossings
    hysteresis = max(HYSTERESIS * np.sqrt(2) * rough.std(), NOISE_COUNTS * scale)
    crossings = rising_crossings(t, rough, hysteresis, GAP_FACTOR * step)
    crossings, frequency = mains_cycles(crossings, nominal_hz)
    if frequency is None:
        return np.empty(0), None
    # again about the offset of the whole cycles, a straight line (offset.py): the part-cycles
    # at the ends bias the mean of all samples by up to 1 % of the peak, and a drifting offset
    # moves the crossings at one end against those at the other (~20 µs either way)
    line = offset_line(t, x, step, crossings)
    whole = (t >= crossings[0]) & (t < crossings[-1])
    centred = x - (line if line is not None else x[whole].mean())
    again, hz = mains_cycles(
        rising_crossings(t, centred, hysteresis, GAP_FACTOR * step), nominal_hz
    )
    return (again, hz) if hz is not None else (crossings, frequency)


def fundamental_hz(t: np.ndarray, x: np.ndarray, step: float, nominal_hz: float) -> float | None:
    """The frequency of x's fundamental, fitted; None when x shows no steady one.

    x is demodulated at the nominal frequency and averaged over each nominal cycle: what is
    left turns at the difference between the real and the nominal frequency (harmonics and
    the DC average out over a cycle), so a straight line through the phases gives it. A
    pulsed current's crossings jitter by a sample or more; its fundamental does not.
    """
    hz = float(nominal_hz)
    for _ in range(2):  # again at the frequency found: the harmonics then average out exactly
        found = _demodulated_hz(t, x - x.mean(), step, hz)
        if found is None or not 0.9 < found / nominal_hz < 1.1:
            return None
        hz = found
    return hz


def _demodulated_hz(t: np.ndarray, ac: np.ndarray, step: float, hz: float) -> float | None:
    if len(t) < 4:
        return None
    cycles = int(np.floor((t[-1] - t[0]) * hz))
    if cycles < MIN_FIT_CYCLES:
        return None
    edges = t[0] + np.arange(cycles + 1) / hz
    turn = np.exp(-2j * np.pi * hz * (t - t[0]))
    re, ok = interval_means(t, ac * turn.real, step, edges)
    im, _ = interval_means(t, ac * turn.imag, step, edges)
    z = (re + 1j * im)[ok]
    if len(z) < MIN_FIT_CYCLES or np.min(np.abs(z)) <= 0:
        return None
    centres = ((edges[:-1] + edges[1:]) / 2)[ok] - t[0]
    phase = np.unwrap(np.angle(z))
    slope, intercept = line_fit(centres, phase)
    if np.std(phase - (slope * centres + intercept)) > MAX_PHASE_SCATTER:
        return None
    return float(hz + slope / (2 * np.pi))


@dataclass(frozen=True)
class Reference:
    """What a batch's windows follow: the crossings of a voltage, or a frequency alone."""

    crossings: np.ndarray  # rising zero crossings of the reference voltage (empty: none)
    hz: float
    source: str  # "voltage", "fitted" (a current's fundamental) or "nominal"
    channel: str | None = None  # the voltage channel whose crossings these are


def reference(
    channels: Sequence[Channel], samples: Mapping[str, Samples], nominal_hz: float
) -> Reference:
    """The first voltage showing mains cycles; else the strongest current's fundamental."""
    for ch in channels:
        s = samples.get(ch.name)
        if ch.kind == "voltage" and s is not None and len(s.t) >= 2:
            crossings, hz = find_cycles(s.t, scaled(ch, s), ch.scale, typical_step(s.t), nominal_hz)
            if hz is not None:
                return Reference(crossings, hz, "voltage", ch.name)
    currents = [
        (float(np.std(s.counts)), ch, s)
        for ch in channels
        if ch.kind == "current" and (s := samples.get(ch.name)) is not None and len(s.t) >= 4
    ]
    if currents:
        _, ch, s = max(currents, key=lambda c: c[0])
        hz = fundamental_hz(s.t, scaled(ch, s), typical_step(s.t), nominal_hz)
        if hz is not None:
            return Reference(np.empty(0), hz, "fitted")
    return Reference(np.empty(0), float(nominal_hz), "nominal")


@dataclass(frozen=True)
class Window:
    """A batch's interval [start, end), and the whole cycles inside it.

    Offsets, drift and noise are estimated over the whole cycles; every quantity is the
    average over [start, end), which is itself whole cycles except where sampling began
    or stopped (`cycles` then counts the whole cycles in [whole_start, whole_end] only).
    """

    start: float
    end: float
    whole_start: float
    whole_end: float
    cycles: int
    hz: float
    reference: Reference | None = None  # what the window follows (its crossings are reused)

    @property
    def is_whole(self) -> bool:
        return self.cycles >= 1 and (self.whole_start, self.whole_end) == (self.start, self.end)


def make_window(
    ref: Reference, start: float, end: float, on_crossings: tuple[bool, bool] = (True, True)
) -> Window:
    """The window [start, end) with its whole cycles: between its ends where they are the
    reference's crossings (`on_crossings`: where two batches meet, cut there, not where
    sampling began or stopped), else its first and last crossing inside; without crossings,
    whole periods of the reference's frequency from `start`."""
    inside = ref.crossings[(ref.crossings >= start) & (ref.crossings <= end)]
    first = start if on_crossings[0] else (float(inside[0]) if len(inside) else None)
    last = end if on_crossings[1] else (float(inside[-1]) if len(inside) else None)
    if first is not None and last is not None and (last - first) * ref.hz >= 0.5:
        cycles = max(1, round((last - first) * ref.hz))
        return Window(start, end, first, last, cycles, ref.hz, ref)
    cycles = whole_periods(start, end, ref.hz)
    return Window(start, end, start, start + cycles / ref.hz, cycles, ref.hz, ref)


def whole_periods(start: float, end: float, hz: float) -> int:
    """How many whole periods of hz fit between start and end (1e-9: exactly one fits)."""
    return max(0, int(np.floor((end - start) * hz + 1e-9)))


def span(samples: Mapping[str, Samples]) -> tuple[float, float] | None:
    """The time every channel has samples for: (latest first sample, earliest last one)."""
    runs = [(s.t[0], s.t[-1]) for s in samples.values() if len(s.t)]
    if not runs:
        return None
    return max(r[0] for r in runs), min(r[1] for r in runs)


def whole_cycles_window(
    channels: Sequence[Channel], samples: Mapping[str, Samples], nominal_hz: float
) -> Window:
    """The window of a lone batch: the reference's whole cycles between its first and last
    crossing, else whole periods from where every channel has samples (all of it, if less)."""
    ref = reference(channels, samples, nominal_hz)
    if len(ref.crossings) >= 2:
        return make_window(ref, float(ref.crossings[0]), float(ref.crossings[-1]))
    both = span(samples)
    if both is None:
        return Window(0.0, 0.0, 0.0, 0.0, 0, ref.hz)
    start, last = both
    cycles = whole_periods(start, last, ref.hz)
    end = start + cycles / ref.hz if cycles else max(last, start)
    return make_window(ref, start, end)
