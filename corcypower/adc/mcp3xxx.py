"""MCP3008 / MCP3208 conversion frames: what the driver sends and how it reads the answer.

One single-ended conversion is one 3-byte SPI transfer in mode 0, MSB first, with chip
select raised between conversions. The device clocks in a start bit (the first 1 after CS
falls), then SGL/DIFF and D2 D1 D0, samples, drives a null bit, then the result MSB first.

MCP3008, 10 bits (datasheet DS21295, figure 6-1: start bit placed at the end of byte 0):

              byte 0                   byte 1                      byte 2
    MOSI  0 0 0 0 0 0 0 1 | SGL D2 D1 D0  x  x  x  x | x  x  x  x  x  x  x  x
    MISO  ? ? ? ? ? ? ? ? |  ?  ?  ?  ?  ?  0 B9 B8  | B7 B6 B5 B4 B3 B2 B1 B0

MCP3208, 12 bits (datasheet DS21298, figure 6-1: start bit placed in byte 0, bit 2):

              byte 0                   byte 1                       byte 2
    MOSI  0 0 0 0 0 1 SGL D2 | D1 D0  x   x   x  x  x  x | x  x  x  x  x  x  x  x
    MISO  ? ? ? ? ? ? ?   ?  |  ?  ?  ?   0 B11 B10 B9 B8 | B7 B6 B5 B4 B3 B2 B1 B0

SGL = 1 selects single-ended input D2 D1 D0 (0..7); "?" is high impedance: never trust it.
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral

import numpy as np


@dataclass(frozen=True)
class ChipModel:
    """The wire format and range of one chip."""

    name: str
    bits: int
    max_clock_hz: int  # the datasheets' limit at VDD = 2.7 V, so safe on the Pi's 3.3 V

    @property
    def max_count(self) -> int:
        return (1 << self.bits) - 1

    @property
    def mid_count(self) -> float:
        return (1 << self.bits) / 2

    def frame(self, channel: int) -> bytes:
        """The 3 bytes that ask for one single-ended conversion of `channel`."""
        if not isinstance(channel, Integral) or not 0 <= channel <= 7:
            raise ValueError(f"ADC channel {channel}: expected 0 to 7")
        channel = int(channel)
        if self.bits == 10:  # start bit = byte 0 bit 0; SGL D2 D1 D0 = byte 1 bits 7..4
            return bytes([0x01, 0x80 | channel << 4, 0x00])
        # start bit = byte 0 bit 2, SGL = bit 1, D2 = bit 0; D1 D0 = byte 1 bits 7..6
        return bytes([0x04 | 0x02 | channel >> 2, (channel & 0x03) << 6, 0x00])

    @property
    def high_mask(self) -> int:
        """The result bits of byte 1 (B9 B8 or B11..B8); the rest is null bit and high impedance."""
        return (1 << (self.bits - 8)) - 1  # 0x03 for 10 bits, 0x0F for 12

    def decode(self, rx: np.ndarray) -> np.ndarray:
        """Counts (int64, so arithmetic on them cannot wrap) from an (n, 3) uint8 array of answers."""
        rx = np.asarray(rx, dtype=np.uint8)
        if rx.ndim != 2 or rx.shape[1] != 3:
            raise ValueError(f"expected an (n, 3) array of answers, got shape {rx.shape}")
        return (rx[:, 1].astype(np.int64) & self.high_mask) << 8 | rx[:, 2]

    def decode_one(self, rx: bytes) -> int:
        """The count in one 3-byte answer (the one-conversion-per-call way of the originals)."""
        return (rx[1] & self.high_mask) << 8 | rx[2]


MCP3008 = ChipModel("mcp3008", 10, 1_350_000)
MCP3208 = ChipModel("mcp3208", 12, 1_000_000)
MODELS = {m.name: m for m in (MCP3008, MCP3208)}
