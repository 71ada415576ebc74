"""Time averages over samples that need not be evenly spaced: exact integrals of the straight
lines through them, with holes left out and whole cycles kept whole; and the voltage
interpolated onto other samples' times.
"""

from __future__ import annotations

import numpy as np

from corcypower.analysis.samples import line_fit, median

GAP_FACTOR = 3.0  # a step longer than this many sample periods is a gap
NODES = 6  # Lagrange nodes for the voltage at the current's times (see interpolate)


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
    out. Every phase then counts equally, as in a window of whole cycles. With `cycles` 0
    (a window that is not whole cycles: the first batch after a gap) the stretches are kept
    as they are.
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


def interval_means(
    t: np.ndarray, x: np.ndarray, step: float, edges: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The mean of the straight lines through (t, x) over each [edges[j], edges[j + 1]], and
    whether that interval is fully covered (inside the samples, with no gap in it)."""
    n = len(edges) - 1
    if len(t) < 2 or n < 1:
        return np.zeros(max(n, 0)), np.zeros(max(n, 0), dtype=bool)
    dt = np.diff(t)
    gap = (dt <= 0) | (dt > GAP_FACTOR * step)
    area = np.where(gap, 0.0, (x[:-1] + x[1:]) / 2 * dt)
    integral = np.concatenate(([0.0], np.cumsum(area)))  # at each sample
    gaps = np.concatenate(([0], np.cumsum(gap)))
    k = np.clip(np.searchsorted(t, edges, side="right") - 1, 0, len(t) - 2)
    s = np.where(gap[k], 0.0, (edges - t[k]) / np.where(gap[k], 1.0, dt[k]))
    at = integral[k] + dt[k] * (s * x[k] + s * s / 2 * (x[k + 1] - x[k]))
    means = np.diff(at) / np.diff(edges)
    covered = (edges[:-1] >= t[0]) & (edges[1:] <= t[-1]) & (gaps[k[1:]] == gaps[k[:-1]])
    covered &= ~gap[k[1:]] & ~gap[k[:-1]]
    return means, covered


def interpolate(t: np.ndarray, x: np.ndarray, tq: np.ndarray, step: float):
    """x at times tq by Lagrange interpolation through 6 nearby samples; and where valid.

    Linear interpolation would shrink a 50 Hz wave sampled at 2 kHz by up to 0.3 %, cubic
    (4 nodes) by 1.4e-5; 6 nodes, by 7e-8 (error ~ (ωh)^6 / 200), and the 5th harmonic by
    1e-3. The nodes are taken from one unbroken run of samples, moved inward at its ends;
    a time up to one step beyond a run's end is extrapolated (a current sample converted
    just after the last voltage sample before a gap); farther, it is not valid. A run of
    fewer than 6 samples (a batch cut short by a hole) gives what it can: as many nodes as
    it has, down to the one sample held.
    """
    n = len(t)
    out = np.zeros(len(tq))
    if n == 0 or len(tq) == 0:
        return out, np.zeros(len(tq), dtype=bool)
    dt = np.diff(t)
    run = np.concatenate(([0], np.cumsum((dt > GAP_FACTOR * step) | (dt <= 0))))
    run_start = np.searchsorted(run, run, "left")
    run_end = np.searchsorted(run, run, "right") - 1
    k = np.clip(np.searchsorted(t, tq), 1, n - 1) if n > 1 else np.zeros(len(tq), dtype=int)
    k = np.where(tq - t[k - 1] < t[k] - tq, k - 1, k) if n > 1 else k  # the nearest sample
    rs, re = run_start[k], run_end[k]
    valid = (tq >= t[rs] - step) & (tq <= t[re] + step)
    nodes_n = np.minimum(re - rs + 1, NODES)
    for m in np.unique(nodes_n[valid]):  # almost always one size: 6
        sel = valid & (nodes_n == m)
        lo = k[sel] - m // 2 + (tq[sel] >= t[k[sel]])  # centred on the interval that holds tq
        lo = np.clip(lo, rs[sel], re[sel] - m + 1)
        out[sel] = _lagrange(t, x, lo[:, None] + np.arange(m), tq[sel])
    return out, valid


def _lagrange(t: np.ndarray, x: np.ndarray, nodes: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Σ_m x_m · Π_{j≠m} (q − t_j) / (t_m − t_j) over the rows of node indices."""
    tn, xn = t[nodes], x[nodes]
    acc = np.zeros(len(q))
    for m in range(nodes.shape[1]):
        basis = np.ones(len(q))
        for j in range(nodes.shape[1]):
            if j != m:
                basis *= (q - tn[:, j]) / (tn[:, m] - tn[:, j])
        acc += basis * xn[:, m]
    return acc


def offset_line(t: np.ndarray, x: np.ndarray, step: float, edges: np.ndarray) -> np.ndarray | None:
    """The straight line through the means of x over the whole cycles between `edges`,
    at times t: the offset and its drift (the periodic part averages out over each cycle);
    None with fewer than 3 fully sampled cycles."""
    means, covered = interval_means(t, x, step, edges)
    middle = (edges[:-1] + edges[1:]) / 2 - edges[0]
    for _ in range(2):  # once more without the cycles far off the line (a glitch in one)
        if covered.sum() < 3:
            return None
        slope, offset = line_fit(middle[covered], means[covered])
        off = np.abs(means - (offset + slope * middle))
        spread = median(off[covered])
        far = covered & (off > 6 * spread + 1e-12 * np.abs(means).max())
        if not far.any():
            break
        covered = covered & ~far
    return offset + slope * (t - edges[0])
