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


def typical_step(t: np.ndarray) -> float:
    """The usual time between samples (1 s when there is no telling)."""
    d = np.diff(t)
    d = d[d > 0]
    return float(np.median(d)) if len(d) else 1.0
