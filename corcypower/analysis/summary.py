"""Many batches of a channel as one: what `corcypower analyze FILE` reports for a capture.

Energies and mean squares add over time, so the summary is the duration-weighted mean of
the batches: P = Σ P·d / Σ d (the energy over the time), Vrms² and Irms² likewise, S the
apparent energy over the time, PF = P / S. The diagnostics are those of every count.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from corcypower.analysis.power import ChannelStats


def _mean(values: list[tuple[float, float | None]], square: bool = False) -> float | None:
    known = [(d, v) for d, v in values if v is not None]
    if not known or sum(d for d, _ in known) <= 0:
        return None
    d = np.array([d for d, _ in known])
    v = np.array([v for _, v in known])
    if square:
        return float(np.sqrt(np.dot(d, v * v) / d.sum()))
    return float(np.dot(d, v) / d.sum())


def combine(batches: Sequence[tuple[float, ChannelStats]]) -> ChannelStats:
    """One channel's batches, (duration s, stats) in time order, as one ChannelStats."""
    first = batches[0][1]
    counted = [s for _, s in batches if s.n]
    n = sum(s.n for s in counted)
    mean = sum(s.n * s.mean for s in counted) / n if n else 0.0
    square = sum(s.n * (s.rms**2 + s.mean**2) for s in counted) / n if n else 0.0
    out = ChannelStats(
        first.name,
        first.kind,
        n,
        float(mean),
        min((s.min for s in counted), default=0),
        max((s.max for s in counted), default=0),
        float(np.sqrt(max(square - mean * mean, 0.0))),
    )
    for _, s in batches:
        out.flags |= s.flags
    out.vrms = _mean([(d, s.vrms) for d, s in batches], square=True)
    out.frequency_hz = _mean([(d, s.frequency_hz) for d, s in batches])
    out.irms = _mean([(d, s.irms) for d, s in batches], square=True)
    out.real_power_w = _mean([(d, s.real_power_w) for d, s in batches])
    out.apparent_power_va = _mean([(d, s.apparent_power_va) for d, s in batches])
    if any(s.power_factor is not None for _, s in batches) and out.apparent_power_va:
        out.power_factor = out.real_power_w / out.apparent_power_va
    return out
