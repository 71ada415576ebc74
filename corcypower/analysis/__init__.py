"""Batch analysis: raw counts in, per-channel statistics and power out. Pure numpy, no I/O.

One concept per module:

- samples: a channel's samples in a batch, scaled to volts or amps
- integration: exact time averages over unevenly spaced samples; the voltage at other times
- cycles: zero crossings, mains frequency, the reference and the window of whole cycles
- offset: the input's drifting DC offset, from the means of whole cycles
- noise: each input's noise floor, removed in quadrature; signals within it read zero
- derived: the voltage a current multiplies: measured, delayed by degrees, or a difference
- power: Vrms, Irms, P, S, PF, frequency of one batch (IEEE 1459)
- tiling: batches cut on whole cycles that tile time (the part-cycle is carried over); Meter
- summary: many batches as one
- flags: the health flags and their names
"""

from corcypower.analysis.cycles import (
    Reference,
    Window,
    find_cycles,
    fundamental_hz,
    mains_cycles,
    make_window,
    reference,
    rising_crossings,
    whole_cycles_window,
)
from corcypower.analysis.derived import DerivedVoltage, VoltageWave, derive
from corcypower.analysis.flags import (
    FLAG_BELOW_NOISE,
    FLAG_CLIPPED,
    FLAG_DEAD_READ,
    FLAG_FLAT,
    FLAG_LATE,
    FLAG_NAMES,
    FLAG_NO_CYCLES,
    FLAG_VOLTAGE_BELOW_NOISE,
    FLAG_VOLTAGE_CLIPPED,
    FLAG_VOLTAGE_FALLBACK,
    flag_names,
)
from corcypower.analysis.integration import (
    GAP_FACTOR,
    NODES,
    cycle_weights,
    interpolate,
    interval_means,
    weighted_mean,
)
from corcypower.analysis.noise import NoiseFloor, residual_noise
from corcypower.analysis.power import ChannelStats, analyze
from corcypower.analysis.samples import Samples
from corcypower.analysis.summary import combine
from corcypower.analysis.tiling import Batch, Meter, Tiler

__all__ = [
    "FLAG_BELOW_NOISE",
    "FLAG_CLIPPED",
    "FLAG_DEAD_READ",
    "FLAG_FLAT",
    "FLAG_LATE",
    "FLAG_NAMES",
    "FLAG_NO_CYCLES",
    "FLAG_VOLTAGE_BELOW_NOISE",
    "FLAG_VOLTAGE_CLIPPED",
    "FLAG_VOLTAGE_FALLBACK",
    "GAP_FACTOR",
    "NODES",
    "Batch",
    "ChannelStats",
    "DerivedVoltage",
    "Meter",
    "NoiseFloor",
    "Reference",
    "Samples",
    "Tiler",
    "VoltageWave",
    "Window",
    "analyze",
    "combine",
    "derive",
    "cycle_weights",
    "find_cycles",
    "flag_names",
    "fundamental_hz",
    "interpolate",
    "interval_means",
    "mains_cycles",
    "make_window",
    "reference",
    "residual_noise",
    "rising_crossings",
    "weighted_mean",
    "whole_cycles_window",
]
