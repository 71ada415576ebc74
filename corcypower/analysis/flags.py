"""Health flags of a channel in a batch: a bit set, stored in `batch.flags`, named for people.

Bits keep their values forever (they are in every power.db); new flags take new bits. A
current channel inherits what makes its power doubtful from the voltage it is multiplied
with (clipped, within its noise, no cycles), under a name of its own.
"""

from __future__ import annotations

FLAG_CLIPPED = 1  # a sample sat on a rail: the signal is larger than the input range
FLAG_FLAT = 2  # no signal at all: a disconnected input (or a circuit drawing nothing)
FLAG_LATE = 4  # sampling fell behind: the batch ends at a hole in the sampling
FLAG_NO_CYCLES = 8  # no mains cycles found on the voltage: windows use the nominal frequency
FLAG_VOLTAGE_FALLBACK = 16  # the voltage used is the nominal one, not a measurement
FLAG_BELOW_NOISE = 32  # the signal is within the input's noise: reported as zero
FLAG_VOLTAGE_CLIPPED = 64  # current channels: their voltage clipped, so P and S read low
FLAG_VOLTAGE_BELOW_NOISE = 128  # current channels: their voltage is within its noise
FLAG_DEAD_READ = 256  # every count 0 (or full scale): the chip did not answer

FLAG_NAMES = {
    FLAG_CLIPPED: "clipped",
    FLAG_FLAT: "flat",
    FLAG_LATE: "late",
    FLAG_NO_CYCLES: "no-cycles",
    FLAG_VOLTAGE_FALLBACK: "nominal-voltage",
    FLAG_BELOW_NOISE: "below-noise",
    FLAG_VOLTAGE_CLIPPED: "voltage-clipped",
    FLAG_VOLTAGE_BELOW_NOISE: "voltage-below-noise",
    FLAG_DEAD_READ: "dead-read",
}

# what a current channel inherits from its voltage channel's flags
INHERITED = {
    FLAG_CLIPPED: FLAG_VOLTAGE_CLIPPED,
    FLAG_BELOW_NOISE: FLAG_VOLTAGE_BELOW_NOISE,
    FLAG_DEAD_READ: FLAG_VOLTAGE_BELOW_NOISE,
    FLAG_NO_CYCLES: FLAG_NO_CYCLES,
}


def flag_names(flags: int) -> list[str]:
    return [name for bit, name in FLAG_NAMES.items() if flags & bit]


def inherited(voltage_flags: int) -> int:
    """The flags a current channel takes from the voltage it is multiplied with."""
    out = 0
    for bit, carried in INHERITED.items():
        if voltage_flags & bit:
            out |= carried
    return out
