"""The emulated chip: an MCP3008 or MCP3208 written from the datasheets, behind a spidev device.

It knows nothing of the driver in mcp3xxx.py. It reads MOSI bit by bit as the datasheets
describe the serial interface (section 5 of DS21295 and DS21298):

- with CS low, leading zeros are ignored; the first 1 is the start bit;
- the next four bits are SGL/DIFF, D2, D1, D0 (table 5-2 / 4-1 of the datasheets);
- the input is sampled over the next 1.5 clocks, then a null bit (0) is driven, then the
  result MSB first, one bit per clock;
- if clocks continue, the result follows again LSB first (B1 onwards), then zeros;
- before the null bit DOUT is high impedance: this model drives 1s there, so a driver that
  forgets to mask them reads garbage and fails its tests.

A conversion only starts after CS falls, so many frames sent with CS held low (one long
xfer2 buffer) give one conversion, as real hardware does. `EmulatedSpiDevice.ioctl` answers
the same SPI_IOC_MESSAGE(N) request the kernel's spidev driver does, walking the real
spi_ioc_transfer array, so the real transport code runs against it.
"""

from __future__ import annotations

import ctypes
import time
from collections.abc import Callable

import numpy as np

from corcypower.adc.spi import SPI_IOC_MAGIC, SPI_IOC_TRANSFER, TRANSFER_SIZE

VREF = 3.3

# (channel numbers, times in seconds) -> volts at those pins
Inputs = Callable[[np.ndarray, np.ndarray], np.ndarray]


class EmulatedChip:
    """MCP3008 (bits=10) or MCP3208 (bits=12): answers whole CS-low segments, vectorised."""

    def __init__(self, bits: int, inputs: Inputs, vref: float = VREF):
        self.bits = bits
        self.inputs = inputs
        self.vref = vref
        self.conversions = 0

    def code(self, volts: np.ndarray) -> np.ndarray:
        """Transfer function (datasheet eq. 4-1): code = 2**bits * VIN / VREF, truncated, in range."""
        full = 1 << self.bits
        return np.clip(np.floor(volts * full / self.vref), 0, full - 1).astype(np.int64)

    def exchange(self, mosi: np.ndarray, start_times: np.ndarray, clock_hz: float) -> np.ndarray:
        """MISO for n CS-low segments of equal length: mosi is an (n, k) uint8 array."""
        n, nbytes = mosi.shape
        nbits = nbytes * 8
        bits_in = np.unpackbits(mosi, axis=1)  # (n, nbits), MSB first
        has_start = bits_in.any(axis=1)
        start = np.argmax(bits_in, axis=1)  # index of the start bit
        config = np.zeros(n, dtype=np.int64)
        for k in range(1, 5):  # SGL, D2, D1, D0 follow the start bit
            idx = np.minimum(start + k, nbits - 1)
            bit = np.where(start + k < nbits, bits_in[np.arange(n), idx], 0)
            config = config << 1 | bit
        complete = has_start & (start + 4 < nbits)  # config fully clocked in: a conversion happens
        single = config >> 3 == 1
        channel = config & 0x7
        # sampled between the D0 clock and the null bit: 1.5 clocks after D0's rising edge
        t_sample = start_times + (start + 5.5) / clock_hz
        codes = self._convert(single, channel, t_sample, complete)
        self.conversions += int(complete.sum())

        out = np.ones((n, nbits), dtype=np.uint8)  # high impedance before the null bit
        pos = np.arange(nbits)[None, :]
        null_at = (start + 6)[:, None]
        rel = pos - null_at  # 0: null bit, 1..bits: MSB first, then LSB first from B1
        msb_first = (rel >= 1) & (rel <= self.bits)
        lsb_first = (rel > self.bits) & (rel < 2 * self.bits)
        shift_msb = np.clip(self.bits - rel, 0, self.bits - 1)
        shift_lsb = np.clip(rel - self.bits, 0, self.bits - 1)
        value = codes[:, None]
        out = np.where(rel == 0, 0, out)
        out = np.where(msb_first, (value >> shift_msb) & 1, out)
        out = np.where(lsb_first, (value >> shift_lsb) & 1, out)
        out = np.where(rel >= 2 * self.bits, 0, out)  # then zeros, indefinitely
        out = np.where(complete[:, None], out, 1)  # no conversion: DOUT stays high impedance
        return np.packbits(out.astype(np.uint8), axis=1)

    def _convert(self, single, channel, t_sample, complete) -> np.ndarray:
        # differential (table 4-1): D2 D1 pick the pair, D0 picks which of the two is IN+,
        # so IN+ is always channel D2 D1 D0 and IN- its partner
        volts = self.inputs(channel, t_sample)
        if not single.all():
            minus = self.inputs(channel ^ 1, t_sample)
            volts = np.where(single, volts, volts - minus)
        return np.where(complete, self.code(volts), 0)


class EmulatedSpiDevice:
    """What `open("/dev/spidevB.C")` plus the kernel's spidev driver would be, for the emulated chip.

    Time on the bus advances as the transfers describe it: len * 8 clocks at speed_hz plus
    delay_usecs after each transfer, starting at `clock()` when the ioctl is made.
    """

    def __init__(self, chip: EmulatedChip, clock: Callable[[], float] = time.monotonic):
        self.chip = chip
        self.clock = clock
        self.ioctl_calls = 0
        self.fail_next = 0  # for fault tests: the next N ioctls fail with EIO

    def fileno(self) -> int:
        return -1

    def close(self) -> None:
        pass

    def ioctl(self, fd: int, request: int, arg) -> int:
        """Answer SPI_IOC_MESSAGE(N): arg is the writable array of N spi_ioc_transfer structs."""
        if (request >> 8) & 0xFF != SPI_IOC_MAGIC or (request & 0xFF) != 0:
            raise OSError(22, "Invalid argument: not an SPI_IOC_MESSAGE request")
        size = (request >> 16) & 0x3FFF
        if size == 0 or size % TRANSFER_SIZE:
            raise OSError(22, f"Invalid argument: message size {size}")
        self.ioctl_calls += 1
        if self.fail_next:
            self.fail_next -= 1
            raise OSError(5, "Input/output error (emulated)")
        xfers = np.frombuffer(memoryview(arg).cast("B")[:size], dtype=SPI_IOC_TRANSFER)
        t0 = self.clock()
        durations = xfers["len"] * 8 / xfers["speed_hz"] + xfers["delay_usecs"] * 1e-6
        starts = t0 + np.concatenate(([0.0], np.cumsum(durations)[:-1]))
        mosi = _read_buffers(xfers["tx_buf"], xfers["len"])
        # CS rises after a transfer only where cs_change is set (and after the last one)
        ends = np.flatnonzero(xfers["cs_change"][:-1]).tolist() + [len(xfers) - 1]
        begin = 0
        segments = []
        for end in ends:
            segments.append((begin, end))
            begin = end + 1
        miso = self._answer(xfers, mosi, starts, segments)
        _write_buffers(xfers["rx_buf"], xfers["len"], miso)
        return 0

    def _answer(self, xfers, mosi, starts, segments) -> list[bytes]:
        speed = float(xfers["speed_hz"][0])
        single = all(b == e for b, e in segments) and len({len(m) for m in mosi}) == 1
        if single:  # the usual case: one CS-low segment per transfer, all the same length
            frames = np.frombuffer(b"".join(mosi), dtype=np.uint8).reshape(len(mosi), -1)
            out = self.chip.exchange(frames, starts, speed).tobytes()
            k = frames.shape[1]
            return [out[i : i + k] for i in range(0, len(out), k)]
        answers: list[bytes] = []
        for b, e in segments:  # CS held low across transfers: one long segment each
            data = np.frombuffer(b"".join(mosi[b : e + 1]), dtype=np.uint8)[None, :]
            out = self.chip.exchange(data, starts[b : b + 1], speed)[0].tobytes()
            offset = 0
            for m in mosi[b : e + 1]:
                answers.append(out[offset : offset + len(m)])
                offset += len(m)
        return answers


def _contiguous(addresses: np.ndarray, lengths: np.ndarray) -> bool:
    """True when buffer k starts right where buffer k-1 ends (one copy serves them all)."""
    return bool(np.all(addresses[1:] == addresses[:-1] + lengths[:-1]))


def _read_buffers(addresses: np.ndarray, lengths: np.ndarray) -> list[bytes]:
    if _contiguous(addresses, lengths):
        data = ctypes.string_at(int(addresses[0]), int(lengths.sum()))
        cuts = [0] + np.cumsum(lengths, dtype=np.int64).tolist()
        return [data[a:b] for a, b in zip(cuts[:-1], cuts[1:], strict=True)]
    return [ctypes.string_at(int(a), int(n)) for a, n in zip(addresses, lengths, strict=True)]


def _write_buffers(addresses: np.ndarray, lengths: np.ndarray, data: list[bytes]) -> None:
    if _contiguous(addresses, lengths):
        joined = b"".join(data)
        ctypes.memmove(int(addresses[0]), joined, len(joined))
        return
    for a, chunk in zip(addresses, data, strict=True):
        ctypes.memmove(int(a), chunk, len(chunk))
