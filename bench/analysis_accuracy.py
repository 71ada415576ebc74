#!/usr/bin/env python3
"""Accuracy of the analysis: the worst error of each quantity against its analytic answer.

    python bench/analysis_accuracy.py

1. One batch: the scenarios of tests/analysis/test_power.py and test_robustness.py (sums of
   harmonics sampled in scan order, see tests/analysis_signals.py) exact and quantised like
   an MCP3208 (12 bits) and an MCP3008 (10 bits); per quantity, the worst error and where it
   happened. Errors are relative (P and S relative to S; PF absolute; frequency relative).
2. 4 s recordings measured as the daemon measures them (tests/analysis/test_accuracy.py,
   test_noise.py, test_tiling.py): 12 bits, 1 count RMS of noise on every input; P, Irms and
   Vrms relative to their own value, PF absolute, f in Hz; no load; small loads; load steps.
3. Derived phases (tests/analysis/test_derived.py): one voltage channel, CTs on L1, L2, L3
   (voltage_shift_deg 0, 120, 240), a split-phase 240 V load across the legs (["v", "v@180"]),
   as 4 s recordings; and P's and PF's worst error on a derived phase when the supply is 2 %
   unbalanced (exact samples: the error is the unbalance's, not the analysis').
The tests assert bounds; this shows how far below them the analysis is.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from corcypower.analysis import Samples, analyze  # noqa: E402
from corcypower.settings import sources  # noqa: E402
from tests.analysis_signals import (  # noqa: E402
    SWITCH_MODE,
    T0,
    UNBALANCE_LOADS,
    Input,
    Step,
    Wave,
    adc_counts,
    apparent_power,
    current,
    lag,
    measure,
    real_power,
    scan,
    turns,
    unbalance_errors,
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


def single_batches() -> None:
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
    print(
        f"1. {count} single batches; worst error per quantity (P and S relative to S, PF absolute)"
    )
    for group, title in (("full", "every scenario but the 0.4 A load"), ("small", "0.4 A load")):
        for tag in ("exact", "12-bit", "10-bit"):
            print(f"\n{title}, {tag}:")
            for q in QUANTITIES:
                e, where = worst[(group, tag, q)]
                print(f"  {q:<18} {e:9.2e}   {where}")


RECORDINGS = {  # name: (voltage, current, nominal Hz, measure() arguments)
    "47.5 Hz, 1 A PF 0.8": (Wave(230.0, 47.5, 17.0), Wave(1.0, 47.5, -20.0), 50, {}),
    "52 Hz, 1 A PF 0.8": (Wave(230.0, 52.0, 17.0), Wave(1.0, 52.0, -20.0), 50, {}),
    "59.5 Hz, 1 A PF 0.8": (Wave(120.0, 59.5, 17.0), Wave(1.0, 59.5, -20.0), 60, {}),
    "60.5 Hz, 1 A PF 0.8": (Wave(120.0, 60.5, 17.0), Wave(1.0, 60.5, -20.0), 60, {}),
    "switch-mode, crest factor 3": (
        Wave(230.0, 49.9, 0.0, ((3, 4.6, 180.0), (5, 2.3, 0.0))),
        Wave(0.55, 49.9, 5.0, SWITCH_MODE),
        50,
        {},
    ),
    "12 counts of offset drift": (
        Wave(230.0, 49.8, 33.0),
        Wave(1.0, 49.8, 3.0),
        50,
        {"drift_counts": 12.0},
    ),
}


def recordings() -> None:
    print("\n2. 4 s recordings, 12 bits, 1 count of noise, measured as the daemon does")
    print(f"  {'':<30} {'Vrms':>9} {'f Hz':>9} {'Irms':>9} {'P':>9} {'PF':>9}")
    for name, (v, i, nominal, kw) in RECORDINGS.items():
        scale_v = 0.25 if nominal == 50 else 0.1
        inputs = [Input(voltage(scale=scale_v), v, 2048.0), Input(current(), i, 2047.3)]
        r, _ = measure(inputs, mains_hz=nominal, noise_lsb=1.0, **kw)
        p, s = real_power(v, i), apparent_power(v, i)
        print(
            f"  {name:<30} {r['v'].vrms / v.total_rms - 1:+9.1e} {r['v'].frequency_hz - v.hz:+9.4f}"
            f" {r['i'].irms / i.total_rms - 1:+9.1e} {r['i'].real_power_w / p - 1:+9.1e}"
            f" {r['i'].power_factor - p / s:+9.4f}"
        )
    flat = lambda t: np.zeros(len(t))  # noqa: E731
    for noise in (1.0, 2.0):
        inputs = [Input(voltage(), Wave(230.0, 50.0), 2048.0), Input(current(), flat, 2047.0)]
        _, batches = measure(inputs, noise_lsb=noise)
        p = max(abs(s[1].real_power_w) for _, s in batches)
        va = max(s[1].apparent_power_va for _, s in batches)
        print(f"  no load, {noise:g} counts of noise: worst batch |P| {p:.2f} W, S {va:.2f} VA")
        fixed = [Input(current("i", scale=0.27, voltage=237.0), flat, 511.0)]
        _, batches = measure(fixed, noise_lsb=noise, bits=10)
        p = max(s[0].real_power_w for _, s in batches)
        print(f"  no load at a fixed 237 V, 10 bits, 0.27 A/count: worst batch P {p:.2f} W")
    small = [Input(current("i", scale=0.27, voltage=237.0), Wave(0.2, 50.0, -20.0), 511.3)]
    r, _ = measure(small, noise_lsb=0.5, bits=10)
    print(
        f"  0.2 A on 10 bits (0.27 A/count, 0.5 count of noise): Irms {r['i'].irms / 0.2 - 1:+.2%}"
        f" (the counts' RMS: {r['i'].rms * 0.27 / 0.2 - 1:+.0%})"
    )
    v = Wave(230.0, 49.9, 10.0)
    for at in (1.008, 1.491, 1.2345):
        kettle = Step(None, Wave(10.0, 49.9, -20.0), T0 + at)
        inputs = [Input(voltage(), v, 2048.0), Input(current(scale=0.05), kettle, 2048.0)]
        _, batches = measure(inputs, noise_lsb=0.5)
        t = np.linspace(batches[0][0].start, batches[-1][0].end, 4_000_001)
        want = np.trapezoid(v(t) * kettle(t), t)
        got = sum(s[1].real_power_w * b.duration_ms / 1000 for b, s in batches)
        print(f"  a 2.3 kW step at {at:g} s: Σ P·duration over the batches {got / want - 1:+.1e}")


def derived_phases() -> None:
    print("\n3. Derived phases: 4 s recordings, 12 bits, 1 count of noise")
    print(f"  {'':<38} {'Irms':>9} {'P':>9} {'PF':>9}")
    l1 = Wave(230.0, 49.9, 10.0, ((3, 6.9, 40.0), (5, 4.6, -30.0)))
    leg1 = Wave(120.0, 60.0, 5.0, ((3, 3.6, 20.0), (5, 2.4, 70.0)))
    legs = Wave(240.0, 60.0, 5.0, ((3, 7.2, 20.0), (5, 4.8, 70.0)))  # leg1 − leg1 180° later
    cases = {  # name: (the voltage input, the load's voltage, PF, leading, its `voltage`, Hz)
        "L1, PF 0.9 lagging": (l1, l1, 0.9, False, {}, 50),
        "L2 (shift 120°), PF 1": (l1, l1.shifted(-120.0), 1.0, False, {"shift": 120.0}, 50),
        "L3 (shift 240°), PF 0.7 leading": (
            l1,
            l1.shifted(-240.0),
            0.7,
            True,
            {"shift": 240.0},
            50,
        ),
        "60 Hz 240 V across split-phase legs": (leg1, legs, 0.95, False, {"across": True}, 60),
    }
    for name, (wave, v, pf, leading, how, hz) in cases.items():
        i = Wave(8.0, wave.hz, lag(v, pf, leading))
        kw = {"voltage_shift_deg": how["shift"]} if "shift" in how else {}
        if how.get("across"):
            kw["voltage_sources"] = sources.parse(["v", "v@180"])
        scale_v = 0.25 if hz == 50 else 0.1
        inputs = [Input(voltage(scale=scale_v), wave, 2048.0), Input(current(**kw), i, 2047.3)]
        r, _ = measure(inputs, mains_hz=hz, noise_lsb=1.0)
        p, s = real_power(v, i), apparent_power(v, i)
        print(
            f"  {name:<38} {r['i'].irms / i.total_rms - 1:+9.1e} {r['i'].real_power_w / p - 1:+9.1e}"
            f" {r['i'].power_factor - p / s:+9.4f}"
        )
    print("  2 % voltage unbalance, L2 and L3 derived from L1, worst over the unbalance's angle:")
    for pf, leading in UNBALANCE_LOADS:
        p_error, pf_error = unbalance_errors(0.02, pf, leading)
        kind = "leading" if leading else "lagging" if pf < 1 else "(unity)"
        print(f"    PF {pf:g} {kind:<8} P {p_error:.1%}   PF ±{pf_error:.3f}")


def main() -> None:
    single_batches()
    recordings()
    derived_phases()


if __name__ == "__main__":
    main()
