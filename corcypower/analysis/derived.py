"""The voltage a current is multiplied with, at the current's sample times: its voltage
channel's waveform as measured, delayed by some degrees of the mains cycle (another phase's
voltage, derived), or the difference of two such (a load between two phases or legs).

A delay of θ degrees is θ/360 of the period measured in the batch (the window's frequency,
from the reference voltage's crossings). The waveform is periodic, so a delay and the same
delay less a whole period are the same voltage: the nearer of the two is used (at most half
a cycle away, which bounds the margin a batch keeps around it: tiling.py), and the farther
where the nearer falls outside the samples (where sampling starts or stops), so every
current sample the plain voltage would pair has a derived voltage too.

The whole waveform moves by one time delay: its h-th harmonic moves by h·θ, as the
harmonics of a balanced three-phase supply do (the 3rd of L2 is 3·120° = 360° behind L1's:
in phase with it). A supply that is not balanced differs from the derived voltage by its
unbalance: docs/measurement.md gives the error measured at 2 %.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from corcypower.analysis.integration import interpolate
from corcypower.settings import Channel
from corcypower.settings.sources import VoltageSource


@dataclass
class VoltageWave:
    """A voltage made ready to multiply with currents: volts less the offset, over time."""

    t: np.ndarray
    v: np.ndarray
    step: float
    noise: float  # volts², the noise power in v, taken out of Vrms²
    flags: int  # the voltage channel's own; its currents inherit some (flags.INHERITED)
    live: bool  # a voltage to speak of: not within its noise, not a dead read

    def at(self, t: np.ndarray, hz: float, shift_deg: float = 0.0):
        """The waveform `shift_deg` degrees of a cycle of `hz` later, at times t; and where
        valid (samples near enough to interpolate from)."""
        turn = float(np.mod(shift_deg, 360.0)) / 360.0
        if turn == 0.0:
            return interpolate(self.t, self.v, t, self.step)
        period = 1.0 / hz
        near, far = (turn, turn - 1.0) if turn <= 0.5 else (turn - 1.0, turn)
        v, valid = interpolate(self.t, self.v, t - near * period, self.step)
        if not valid.all():
            missing = ~valid
            v[missing], valid[missing] = interpolate(
                self.t, self.v, t[missing] - far * period, self.step
            )
        return v, valid


@dataclass
class DerivedVoltage:
    """Σ sign · (a voltage channel's waveform, delayed): what a current's `voltage` names."""

    parts: list[tuple[VoltageWave, VoltageSource]]

    @property
    def flags(self) -> int:
        return int(np.bitwise_or.reduce([w.flags for w, _ in self.parts]))

    @property
    def live(self) -> bool:
        return all(w.live for w, _ in self.parts)

    @property
    def noise(self) -> float:
        """The noise power of the sum: each part's, independent (other samples, or other
        channels)."""
        return sum(w.noise for w, _ in self.parts)

    def at(self, t: np.ndarray, hz: float) -> tuple[np.ndarray, np.ndarray]:
        """The voltage at times t, and where every part of it is valid."""
        total, valid = np.zeros(len(t)), np.ones(len(t), dtype=bool)
        for wave, source in self.parts:
            v, ok = wave.at(t, hz, source.shift_deg)
            total += source.sign * v
            valid &= ok
        return total, valid


def derive(channel: Channel, waves: Mapping[str, VoltageWave]) -> DerivedVoltage | None:
    """The voltage of a current channel from the batch's voltage waves; None when one of the
    channels it names gave none (nothing read)."""
    sources = channel.sources
    if not sources or any(s.channel not in waves for s in sources):
        return None
    return DerivedVoltage([(waves[s.channel], s) for s in sources])


def reach_deg(channel: Channel) -> float:
    """How far, in degrees of a cycle, from a current sample its voltage may be taken: the
    CT's lead, and half a cycle when the voltage is delayed (the nearer of two delays)."""
    shifted = any(np.mod(s.shift_deg, 360.0) != 0 for s in channel.sources)
    return abs(channel.phase_deg) + (180.0 if shifted else 0.0)
