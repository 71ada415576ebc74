#!/usr/bin/env python3
"""The sample rate, chosen by measurement: accuracy and the daemon's CPU at 2 to 16 kHz.

    python bench/sample_rate.py [--seconds S] [--cpu-seconds S]

Accuracy: 4 s recordings of realistic loads on an MCP3208 (12 bits, 0.02 A per count), each
input with 2 counts RMS of noise and the chip's truncation, mains at 50.02 Hz (not locked to
the sample clock), measured as the daemon measures (batches tiled on whole cycles, noise
taken out): a leading-edge dimmer firing at 90° and at 135° on a 2 A lamp, a switch-mode
supply drawing 1 A at a crest factor of 3, 1 A at PF 0.8, 2 A at PF 1. For each: the spread
of P from batch to batch (its standard deviation, % of the true P) and the error of the 4 s
whole; the truth is the integral of the analytic waves on a fine grid.

CPU: the daemon's own CPU (bench/daemon_cpu.py, the emulated chip's share left out), in % of
one core of this machine, for 2 and 8 channels; "-" where the bus cannot carry the rate
(24 SPI clocks and 2 µs a conversion: 38 kS/s in all on an MCP3208 at 1 MHz).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.daemon_cpu import config_for, cpu_by_part  # noqa: E402
from corcypower.errors import ConfigError  # noqa: E402
from tests.analysis_signals import SWITCH_MODE, Input, Wave, current, measure, voltage  # noqa: E402

RATES = (2000, 4000, 8000, 16000)
HZ = 50.02
V = Wave(230.0, HZ, 0.0, ((3, 4.6, 180.0), (5, 2.3, 0.0)))


def dimmer(amps: float, firing_deg: float):
    """A leading-edge dimmer on a resistive load: the current starts at `firing_deg` of each
    half-cycle of the (fundamental of the) voltage and follows it to the zero crossing."""
    lamp = Wave(amps, HZ)

    def current_at(t):
        phase = np.mod(360.0 * HZ * np.asarray(t), 180.0)
        return np.where(phase >= firing_deg, lamp(t), 0.0)

    return current_at


LOADS = {
    "dimmer 90°": dimmer(2.0, 90.0),
    "dimmer 135°": dimmer(2.0, 135.0),
    "switch-mode 1 A": Wave(0.55, HZ, 5.0, SWITCH_MODE),
    "1 A PF 0.8": Wave(1.0, HZ, -36.87),
    "2 A PF 1": Wave(2.0, HZ, 0.0),
}


def truth(load) -> float:
    """P = mean(v·i) over 50 whole cycles, on a grid of 2 µs."""
    t = 1000.0 + np.arange(0, 50 / HZ, 2e-6)
    return float(np.mean(V(t) * load(t)))


def accuracy(seconds: float) -> None:
    print(f"P: batch-to-batch spread / error over {seconds:g} s, % of the true P")
    print(f"{'load':<16}" + "".join(f"{r / 1000:>10g} kHz      " for r in RATES))
    for name, load in LOADS.items():
        p = truth(load)
        cells = []
        for rate in RATES:
            inputs = [Input(voltage(), V, 2048.0), Input(current(), load, 2047.4)]
            whole, batches = measure(inputs, seconds=seconds, rate_hz=rate, noise_lsb=2.0)
            per = np.array([s[1].real_power_w for b, s in batches[1:-1]]) / p - 1
            cells.append(
                f"{100 * per.std():6.3f} / {100 * (whole['i'].real_power_w / p - 1):+6.3f}"
            )
        print(f"{name:<16}" + "".join(f"{c:>19}" for c in cells))


def cpu(seconds: float) -> None:
    print(f"\ndaemon CPU, % of one core of this machine ({seconds:g} s of signal each)")
    print(f"{'channels':<16}" + "".join(f"{r / 1000:>9g} kHz" for r in RATES))
    for channels in (2, 8):
        cells = []
        for rate in RATES:
            try:
                config_for(channels, Path("/nonexistent/x.db"), rate)
            except ConfigError:
                cells.append("-")
                continue
            r = cpu_by_part(channels, rate, seconds)
            own = sum(v for k, v in r["cpu"].items() if k != "chip")
            cells.append(f"{100 * own / r['seconds']:.1f} %")
        print(f"{channels:<16}" + "".join(f"{c:>13}" for c in cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--cpu-seconds", type=float, default=20.0)
    args = parser.parse_args()
    accuracy(args.seconds)
    cpu(args.cpu_seconds)


if __name__ == "__main__":
    main()
