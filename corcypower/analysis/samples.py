"""One channel's samples in one batch, and the first conversions made on them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from corcypower.settings import Channel


@dataclass
class Samples:
    """One channel's samples in one batch: times in seconds (increasing) and raw counts."""

    t: np.ndarray
    counts: np.ndarray

    def between(self, start: float, end: float) -> Samples:
        """The samples taken in [start, end)."""
        lo, hi = np.searchsorted(self.t, (start, end), side="left")
        return Samples(self.t[lo:hi], self.counts[lo:hi])


def scaled(channel: Channel, s: Samples) -> np.ndarray:
    """Counts to volts or amps (the offset still in), with the CT's direction."""
    x = np.asarray(s.counts, dtype=float) * channel.scale
    return -x if channel.invert else x


def median(x) -> float:
    """The median of a non-empty sequence (np.median checks for NaN at ten times the cost)."""
    x = np.asarray(x, dtype=float)
    half = len(x) // 2
    part = np.partition(x, [half - 1, half] if len(x) % 2 == 0 else [half])
    return float(part[half] if len(x) % 2 else (part[half - 1] + part[half]) / 2)


def typical_step(t: np.ndarray) -> float:
    """The usual time between samples (1 s when there is no telling): the median step."""
    d = np.diff(t)
    d = d[d > 0]
    return median(d) if len(d) else 1.0


def line_fit(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Slope and intercept of the least-squares straight line y = slope·x + intercept."""
    xm, ym = x.mean(), y.mean()
    dx = x - xm
    denominator = float(dx @ dx)
    slope = float(dx @ (y - ym)) / denominator if denominator > 0 else 0.0
    return slope, float(ym - slope * xm)
