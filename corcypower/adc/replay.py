"""Replay of a capture file as the emulated chip's inputs, looped, faithfully between samples.

The daemon replaying a capture converts at its own times, not the capture's: another rate,
another number of channels, another phase. Holding each captured value until the next one
would move every sample by up to a capture step, and a current's samples differently from
its voltage's: ±10 % on a batch's power at PF 0.5. So the pins follow the waveform between
the captured samples: 6-point Lagrange interpolation (analysis/integration.py), which
reproduces a 50 Hz wave sampled at 2 kHz to 7e-8 and its 5th harmonic to 1e-3. At the
capture's own instants it gives the captured counts back exactly.

The capture's `t` is when each conversion began (chip select fell); the chip holds its input
a few clocks later (`sample_delay`), so that is when the captured counts were the pins'. The
loop restarts one scan after the last scan began, so a capture of whole mains cycles loops
seamlessly. Channels the capture lacks read mid-scale: a flat line, as an open input.
"""

from __future__ import annotations

import numpy as np

from corcypower.adc.mcp3xxx import MODELS, ChipModel
from corcypower.analysis import NODES, interpolate
from corcypower.capture import Capture


def sample_delay(model: ChipModel, clock_hz: float) -> float:
    """Seconds from chip select falling to the input being held: the start bit and 5.5
    clocks more (the falling edge of the 5th clock after it, datasheets' figure 6-1)."""
    start_bit = int(np.argmax(np.unpackbits(np.frombuffer(model.frame(0), np.uint8))))
    return (start_bit + 5.5) / clock_hz


class Replay:
    """Pin voltages that reproduce a capture's counts, looped."""

    def __init__(self, capture: Capture, vref: float, start: float = 0.0, delay: float = 0.0):
        self.capture, self.vref, self.start = capture, vref, start
        self.lsb = vref / (1 << MODELS[capture.chip].bits)
        self.full = MODELS[capture.chip].max_count
        self.period = capture.duration
        self.columns = {ch: k for k, ch in enumerate(capture.channels)}
        # +0.5: the middle of a code, so the chip's truncation gives that code back
        self.mid = vref / 2 + 0.5 * self.lsb
        n = len(capture.t)
        self.step = self.period / n
        # a few samples of the loop before its start and after its end, for the nodes there
        k = np.arange(-NODES, n + NODES)
        self._index, self._shift = k % n, (k // n) * self.period
        self.delay = delay

    def __call__(self, channels: np.ndarray, times: np.ndarray) -> np.ndarray:
        """Volts at ADC `channels` at monotonic `times` (the replay began at `start`)."""
        volts = np.full(len(times), self.mid)
        for ch in np.unique(channels):
            column = self.columns.get(int(ch))
            if column is None:
                continue
            sel = channels == ch
            t_cap = self.capture.sample_times(column) - self.capture.t[0] + self.delay
            t = t_cap[self._index] + self._shift
            x = self.capture.counts[self._index, column].astype(float)
            phase = np.mod(times[sel] - self.start, self.period)
            counts, valid = interpolate(t, x, phase, self.step)
            # across a hole in the capture: the nearest sample, held
            nearest = np.clip(np.searchsorted(t, phase[~valid]), 0, len(t) - 1)
            counts[~valid] = x[nearest]
            volts[sel] = (np.clip(counts, 0, self.full) + 0.5) * self.lsb
        return volts
