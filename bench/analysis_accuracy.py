#!/usr/bin/env python3
"""Accuracy of the analysis: the worst error of each quantity against its analytic answer.

    python bench/analysis_accuracy.py

Runs the scenarios of tests/test_analysis*.py (sums of harmonics sampled in scan order, see
tests/analysis_signals.py) exact and quantised like an MCP3208 (12 bits) and an MCP3008
(10 bits), and prints, per quantity, the worst error and where it happened. Errors are
relative (P and S relative to S; PF absolute; frequency relative). The tests assert bounds;
this shows how far below them the analysis is.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from corcypower.analysis import Samples, analyze  # noqa: E402
from tests.analysis_signals import (  # noqa: E402
    T0,
    Input,
    Wave,
    adc_counts,
    apparent_power,
    current,
    real_power,
    scan,
    turns,
    voltage,
)

HARMONIC_V = ((3, 6.9, 10.0), (5, 4.6, -30.0), (7, 2.3, 60.0))
HARMONIC_I = ((3, 1.2, 200.0), (5, 0.7, 40.0), (7, 0.3, 250.0), (9, 0.15, 90.0))
QUANTITIES = ("vrms", "frequency_hz", "irms", "real_power_w", "apparent_power_va", "power_factor")
SCALES_10_BIT = 4  # an MCP3008 reads the same input in counts 4 times coarser


def pair(hz, i_rms=10.0, lag=60.0, harmonics=False, scale_v=0.25, scale_i=0.02, **kw):
    """A voltage and a current channel (12-bit scales), the waves they see, in scan order."""
    v = Wave(230.0 if hz < 55 else 120.0, hz, 33.0, HARMONIC_V if harmonics else ())
    i = Wave(i_rms, hz, 33.0 - lag, HARMONIC_I if harmonics else ())
    ch_v, ch_i = voltage(scale=scale_v), current(scale=scale_i, **kw)
    return v, i, [Input(ch_v, v, 2048.0), Input(ch_i, i, 2048.0)]


SCENARIOS = {  # name: (v, i, inputs), sign of the real power the current channel should read
    "50 Hz PF 0.5": (pair(50.0), 1),
    "49.8 Hz (24.9 cycles)": (pair(49.8), 1),
    "50.2 Hz": (pair(50.2), 1),
    "60 Hz 120 V": (pair(60.0, scale_v=0.1), 1),
    "harmonics": (pair(49.8, i_rms=2.0, lag=-15.0, harmonics=True, scale_i=0.004), 1),
    "export (150°)": (pair(50.0, i_rms=8.0, lag=150.0), 1),
    "inverted CT": (pair(50.0, lag=150.0, invert=True), -1),
    "CT leading 2°": (pair(50.0, lag=38.0, phase_deg=2.0), 1),  # truth: lag 40°, see below
    "0.4 A load": (pair(50.0, i_rms=0.4, lag=20.0, scale_i=0.0244), 1),
}


def as_10_bit(inputs: list[Input]) -> list[Input]:
    return [
        Input(replace(x.channel, scale=x.channel.scale * SCALES_10_BIT), x.wave, 511.5)
        for x in inputs
    ]


def holed(samples: dict[str, Samples], lo=T0 + 0.2, hi=T0 + 0.206) -> dict[str, Samples]:
    """The samples less a 6 ms hole in the middle of the batch."""
    keep = {n: (s.t < lo) | (s.t >= hi) for n, s in samples.items()}
    return {n: Samples(s.t[keep[n]], s.counts[keep[n]]) for n, s in samples.items()}


def jittered(inputs: list[Input], bits: int | None) -> dict[str, Samples]:
    """Every sample up to ±0.3 of a step off its place in the scan."""
    rng = np.random.default_rng(7)
    out = {}
    for pos, x in enumerate(inputs):
        t = T0 + (np.arange(1000) + pos / len(inputs) + rng.uniform(-0.3, 0.3, 1000)) / 2000
        out[x.channel.name] = Samples(t, adc_counts(x.wave(t), x.channel.scale, x.bias, bits))
    return out


def errors(r: dict, v: Wave, i: Wave, sign: int) -> dict[str, float]:
    p, s = sign * real_power(v, i), apparent_power(v, i)
    return {
        "vrms": abs(r["v"].vrms / v.total_rms - 1),
        "frequency_hz": abs(r["v"].frequency_hz / v.hz - 1),
        "irms": abs(r["i"].irms / i.total_rms - 1),
        "real_power_w": abs(r["i"].real_power_w - p) / s,
        "apparent_power_va": abs(r["i"].apparent_power_va / s - 1),
        "power_factor": abs(r["i"].power_factor - p / s),
    }


def main() -> None:
    worst: dict[tuple[str, str, str], tuple[float, str]] = {}
    count = 0
    for name, ((v, i, inputs), sign) in SCENARIOS.items():
        if name.startswith("CT leading"):  # the CT outputs the true current 2° early
            inputs[1] = Input(inputs[1].channel, i.shifted(2.0), 2048.0)
        for bits, tag in ((None, "exact"), (12, "12-bit"), (10, "10-bit")):
            ins = as_10_bit(inputs) if bits == 10 else inputs
            nominal = 60.0 if v.hz > 55 else 50.0
            batches = {
                "": scan(ins, bits=bits),
                ", 6 ms hole": holed(scan(ins, bits=bits)),
                ", jitter ±0.3 step": jittered(ins, bits),
                ", two chips": turns(ins, 2, nominal) if bits is None else None,
                ", noise 0.5 LSB": scan(ins, bits=bits, noise_lsb=0.5) if bits else None,
            }
            for suffix, samples in batches.items():
                if samples is None:
                    continue
                stats = analyze([x.channel for x in ins], samples, (1 << (bits or 12)) - 1, nominal)
                count += 1
                group = "small" if name.startswith("0.4 A") else "full"
                for q, e in errors({s.name: s for s in stats}, v, i, sign).items():
                    if e >= worst.get((group, tag, q), (-1.0, ""))[0]:
                        worst[(group, tag, q)] = (e, name + suffix)
    print(f"{count} batches; worst error per quantity (P and S relative to S, PF absolute)")
    for group, title in (("full", "every scenario but the 0.4 A load"), ("small", "0.4 A load")):
        for tag in ("exact", "12-bit", "10-bit"):
            print(f"\n{title}, {tag}:")
            for q in QUANTITIES:
                e, where = worst[(group, tag, q)]
                print(f"  {q:<18} {e:9.2e}   {where}")


if __name__ == "__main__":
    main()
