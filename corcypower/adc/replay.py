"""Replay of a capture file as the emulated chip's inputs, looped."""

from __future__ import annotations

import numpy as np

from corcypower.capture import Capture


class Replay:
    """Pin voltages that reproduce a capture's counts: linear between samples, looped.

    The loop restarts one scan after the last, so a capture of whole mains cycles loops
    seamlessly. Channels the capture lacks read the bias: a flat mid-scale line.
    """

    def __init__(self, capture: Capture, vref: float, start: float = 0.0):
        self.capture, self.vref, self.start = capture, vref, start
        self.bits = 10 if capture.chip == "mcp3008" else 12
        self.period = capture.duration
        self.columns = {ch: k for k, ch in enumerate(capture.channels)}

    def __call__(self, channels: np.ndarray, times: np.ndarray) -> np.ndarray:
        lsb = self.vref / (1 << self.bits)
        volts = np.full(len(times), self.vref / 2)
        for ch in np.unique(channels):
            column = self.columns.get(int(ch))
            if column is None:
                continue
            sel = channels == ch
            t_cap = self.capture.sample_times(column) - self.capture.t[0]
            counts = self.capture.counts[:, column].astype(float)
            # close the loop: the first sample again, one period later
            tt = np.append(t_cap, t_cap[0] + self.period)
            cc = np.append(counts, counts[0])
            phase = t_cap[0] + np.mod(times[sel] - self.start - t_cap[0], self.period)
            volts[sel] = (np.interp(phase, tt, cc) + 0.5) * lsb  # +0.5: the middle of the code
        return volts
