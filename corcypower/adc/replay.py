"""Replay of a capture file as the emulated chip's inputs, looped."""

from __future__ import annotations

import numpy as np

from corcypower.adc.mcp3xxx import MODELS
from corcypower.capture import Capture


class Replay:
    """Pin voltages that reproduce a capture's counts, looped.

    Each channel holds its captured value until its next capture sample (a zero-order hold):
    a chip reading at the capture's own times samples a few clocks into each frame, and so
    reads exactly the captured counts; linear interpolation would shift them. The loop
    restarts one scan after the last scan began, so a capture of whole mains cycles loops
    seamlessly. Channels the capture lacks read mid-scale: a flat line, as an open input.
    """

    def __init__(self, capture: Capture, vref: float, start: float = 0.0):
        self.capture, self.vref, self.start = capture, vref, start
        self.lsb = vref / (1 << MODELS[capture.chip].bits)
        self.period = capture.duration
        self.columns = {ch: k for k, ch in enumerate(capture.channels)}
        # +0.5: the middle of a code, so the chip's truncation gives that code back
        self.mid = vref / 2 + 0.5 * self.lsb

    def __call__(self, channels: np.ndarray, times: np.ndarray) -> np.ndarray:
        """Volts at ADC `channels` at monotonic `times` (the replay began at `start`)."""
        volts = np.full(len(times), self.mid)
        for ch in np.unique(channels):
            column = self.columns.get(int(ch))
            if column is None:
                continue
            sel = channels == ch
            t_cap = self.capture.sample_times(column) - self.capture.t[0]
            phase = np.mod(times[sel] - self.start, self.period)  # from the first conversion
            # the last capture sample at or before `phase`; before a column's first sample
            # of the loop, -1: the previous loop's last one
            k = np.searchsorted(t_cap, phase, side="right") - 1
            volts[sel] = (self.capture.counts[k, column] + 0.5) * self.lsb
        return volts
