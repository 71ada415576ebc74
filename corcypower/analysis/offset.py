"""The DC offset of an input (its bias), which drifts: a straight line, not a constant.

The mean of a periodic signal over one whole cycle is zero, so the mean of each whole cycle
is the offset at the cycle's middle, whatever the waveform; a straight line through those
means is the offset and its drift, exactly for a linear drift. (A line fitted to the samples
themselves would not do: a sine leaks into its slope, by 4 % of the amplitude at the ends of
25 cycles.) With fewer than 3 whole cycles the offset is the mean over the whole cycles.
"""

from __future__ import annotations

import numpy as np

from corcypower.analysis.cycles import Window
from corcypower.analysis.integration import cycle_weights, offset_line, weighted_mean

MIN_DRIFT_CYCLES = 3  # fewer whole cycles than this: a constant offset (see offset_line)


def remove_offset(t: np.ndarray, x: np.ndarray, step: float, window: Window) -> np.ndarray:
    """x less its offset, a straight line through the means of the window's whole cycles."""
    if window.cycles >= MIN_DRIFT_CYCLES:
        edges = np.linspace(window.whole_start, window.whole_end, window.cycles + 1)
        line = offset_line(t, x, step, edges)
        if line is not None:
            return x - line
    w = cycle_weights(t, window.whole_start, window.whole_end, window.cycles, step)
    if w.sum() <= 0:
        w = cycle_weights(t, window.start, window.end, 0, step)
    return x - (weighted_mean(w, x) if w.sum() > 0 else float(np.mean(x)))
