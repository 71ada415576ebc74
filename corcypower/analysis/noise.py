"""The noise floor of each input, removed in quadrature, and signals within it reported as zero.

An input's noise (the ADC's, the bias divider's, pick-up; in counts RMS) adds to every mean
square: Irms² measured = Irms² + σ². With no load at all, 1 to 2 counts of noise read as
30-odd VA, and in the fixed-voltage mode as 30-odd W of "real" power. So:

- **Estimate.** The noise is what is not periodic: in a few stretches of whole cycles, a
  least-squares fit of the offset, its drift and every harmonic the sampling can carry is
  taken out; the rest, per degree of freedom, is the noise power. The median over the
  stretches ignores one that a load switching in disturbs. `NoiseFloor` keeps each input's
  recent estimates; a measured value (`noise_counts`, written by `corcypower calibrate
  --noise`) replaces them.
- **Remove.** σ² (the measured value, else the median of the recent estimates, this
  batch's among them: a batch a load disturbs removes no more than usual) is subtracted
  from the mean square.
- **Below the noise.** A mean square that does not stand out of this batch's own noise
  estimate by a margin is no signal at all: flagged below-noise and reported as 0, so a
  circuit drawing nothing reads 0 A and 0 W, not the noise's RMS.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from corcypower.analysis.cycles import Window
from corcypower.analysis.integration import GAP_FACTOR
from corcypower.analysis.samples import median

PART_SAMPLES = 200  # samples per stretch fitted (at least; whole cycles)
PARTS = 3  # stretches per batch: the median ignores one a load switching in disturbs
MAX_HARMONICS = 25  # 1.25 kHz at 50 Hz: more than any household current carries in power
BELOW_NOISE = 0.5  # a signal whose power is under half the noise's is within it
FLOOR_COUNTS = 0.25  # a signal under a quarter count RMS is never measured
KEEP = 120  # estimates per input NoiseFloor keeps: a minute of batches
# A signal this large (RMS counts) has no use for its noise (at most 1e-4 of its power): its
# estimate is skipped (and would be poor: the fit's own errors grow with the signal)
LARGE_COUNTS = 200


def residual_noise(t: np.ndarray, ac: np.ndarray, step: float, window: Window) -> float | None:
    """The power of what is not periodic in `ac` (x less its offset), in x's units squared:
    the median over stretches of whole cycles; None when the batch has no stretch to fit."""
    if window.cycles < 1:
        return None
    period = (window.whole_end - window.whole_start) / window.cycles
    per_cycle = period / step
    harmonics = int(min(MAX_HARMONICS, math.floor(per_cycle / 2) - 1))
    if harmonics < 1:
        return None
    cycles = min(window.cycles, max(1, math.ceil(PART_SAMPLES / per_cycle)))
    parts = window.cycles // cycles
    estimates = []
    for j in np.unique(np.linspace(0, parts - 1, min(parts, PARTS)).round().astype(int)):
        lo = window.whole_start + j * cycles * period
        estimate = _fit_residual(t, ac, step, lo, lo + cycles * period, period, harmonics)
        if estimate is not None:
            estimates.append(estimate)
    return median(estimates) if estimates else None


def _fit_residual(t, ac, step, lo, hi, period, harmonics) -> float | None:
    a, b = np.searchsorted(t, (lo, hi))
    ts, xs = t[a:b], ac[a:b]
    columns = 2 + 2 * harmonics
    if len(ts) < columns + 10 or np.any(np.diff(ts) > GAP_FACTOR * step):
        return None
    # e^{i·h·φ} for h = 1..H by repeated products: cheaper than H cosines and sines
    turn = np.exp(2j * np.pi * (ts - lo) / period)
    waves = np.cumprod(np.broadcast_to(turn[:, None], (len(ts), harmonics)), axis=1)
    basis = np.column_stack(
        [np.ones(len(ts)), (ts - (lo + hi) / 2) / (hi - lo), waves.real, waves.imag]
    )
    # normal equations (the columns are nearly orthogonal over whole cycles), summed by
    # einsum: lstsq's SVD costs 50 times more, and a multithreaded BLAS on such small
    # matrices spends more on its threads than on the sums (20 times, on a busy machine)
    try:
        coef = np.linalg.solve(
            np.einsum("ij,ik->jk", basis, basis), np.einsum("ij,i->j", basis, xs)
        )
    except np.linalg.LinAlgError:
        return None
    rest = xs - np.einsum("ij,j->i", basis, coef)
    return float(rest @ rest / (len(ts) - columns))


class NoiseFloor:
    """Each input's recent noise estimates (counts²); its noise is their median."""

    def __init__(self, keep: int = KEEP):
        self.keep = keep
        self.recent: dict[str, deque[float]] = {}

    def add(self, name: str, counts2: float) -> None:
        self.recent.setdefault(name, deque(maxlen=self.keep)).append(counts2)

    def get(self, name: str) -> float | None:
        recent = self.recent.get(name)
        return median(recent) if recent else None


@dataclass
class Denoised:
    """A mean square with the noise taken out: `power`, 0 when `below` the noise."""

    power: float
    noise: float  # what was subtracted
    below: bool


def denoise(
    mean_square: float,
    own: float | None,
    recent: float | None,
    measured: float | None,
    n: int,
    floor: float,
) -> Denoised:
    """Take the noise out of a mean square (all in the signal's units squared).

    `own`: this batch's estimate; `recent`: NoiseFloor's; `measured`: the configured value.
    `n`: samples averaged; `floor`: the smallest power ever measured (FLOOR_COUNTS²).
    """
    known = [x for x in (measured, recent, own) if x is not None]
    subtract = known[0] if known else 0.0
    judge = own if own is not None else subtract
    margin = max(BELOW_NOISE, 10 * math.sqrt(2 / max(n, 1))) * judge + floor
    power = mean_square - subtract
    below = mean_square - judge <= margin or power <= 0
    return Denoised(0.0 if below else power, subtract, below)
