"""The emulated chip: an MCP3008 or MCP3208 written from the datasheets, behind a spidev device.

It knows nothing of the driver in mcp3xxx.py. It reads MOSI bit by bit as section 5 of the
datasheets (DS21295 and DS21298) describes the serial interface:

- with CS low, leading zeros are ignored; the first 1 is the start bit;
- the next four bits are SGL/DIFF, D2, D1, D0 (the configuration-bit tables of section 5);
- the input is sampled until the falling edge of the 5th clock after the start bit, then
  a null bit (0) is driven, then the result MSB first, one bit per clock;
- if clocks continue with CS low, the result follows again LSB first (B1 onwards, B0 is
  not repeated), then zeros indefinitely;
- before the null bit DOUT is high impedance: this model drives 1s there, so a driver that
  forgets to mask them reads garbage and fails its tests.

A conversion only starts after CS falls, so many frames sent with CS held low (one long
xfer2 buffer) give one conversion, as real hardware does. `EmulatedSpiDevice.ioctl` answers
the same SPI_IOC_MESSAGE(N) request the kernel's spidev driver does, walking the real
spi_ioc_transfer array, so the real transport code runs against it.
"""

from __future__ import annotations

import ctypes
import errno
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
        """The datasheets' transfer function: code = 2**bits * VIN / VREF, truncated, in range."""
        full = 1 << self.bits
        return np.clip(np.floor(volts * full / self.vref), 0, full - 1).astype(np.int64)

    def exchange(self, mosi: np.ndarray, start_times, clock_hz) -> np.ndarray:
        """MISO for n CS-low segments of equal length: mosi is an (n, k) uint8 array.

        Segment i starts (CS falls, first clock) at start_times[i]; clock_hz is one SPI clock
        for all, or one per segment.
        """
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
        # the sample is held at the falling edge of the 5th clock after the start bit
        t_sample = np.asarray(start_times, dtype=float) + (start + 5.5) / np.asarray(clock_hz)
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
        # differential: D2 D1 pick the pair, D0 which of the two is IN+ (000: CH0+ CH1-,
        # 001: CH0- CH1+, ...), so IN+ is always channel D2 D1 D0 and IN- its partner; a
        # negative difference reads 0
        volts = self.inputs(channel, t_sample)
        if not single.all():
            minus = self.inputs(channel ^ 1, t_sample)
            volts = np.where(single, volts, volts - minus)
        return np.where(complete, self.code(volts), 0)


class EmulatedSpiDevice:
    """What `open("/dev/spidevB.C")` plus the kernel's spidev driver would be, for the emulated chip.

    Time on the bus advances as the transfers describe it: len * 8 clocks at speed_hz plus
    delay_usecs after each transfer, starting at `clock()` when the ioctl is made. Requests
    the kernel would refuse are refused with the kernel's errno, so a transport bug fails here.
    """

    BUFSIZ = 4096  # spidev's default `bufsiz`: the most bytes one message may send (or receive)

    def __init__(self, chip: EmulatedChip, clock: Callable[[], float] = time.monotonic):
        self.chip = chip
        self.clock = clock
        self.mode, self.bits_per_word, self.max_speed_hz = 0, 8, 1_000_000  # as SpiDev has them
        self.ioctl_calls = 0
        self.fail_next = 0  # for fault tests: the next N ioctls fail with EIO

    def fileno(self) -> int:
        return -1

    def close(self) -> None:
        pass

    def ioctl(self, fd: int, request: int, arg=0, mutate_flag: bool = True) -> int:
        """Answer SPI_IOC_MESSAGE(N): arg is the writable array of N spi_ioc_transfer structs."""
        # _IOC fields: direction 31..30, size 29..16, type 15..8, number 7..0 (spidev_ioctl)
        if (request >> 8) & 0xFF != SPI_IOC_MAGIC or request & 0xFF != 0 or request >> 30 != 1:
            raise OSError(errno.ENOTTY, "Inappropriate ioctl: not an SPI_IOC_MESSAGE request")
        size = (request >> 16) & 0x3FFF
        if size % TRANSFER_SIZE:
            raise OSError(errno.EINVAL, f"Invalid argument: message size {size}")
        if size == 0:
            return 0
        view = memoryview(arg).cast("B")
        if len(view) < size:
            raise OSError(errno.EFAULT, f"Bad address: {len(view)} bytes for a {size}-byte array")
        xfers = np.frombuffer(view[:size], dtype=SPI_IOC_TRANSFER)
        if np.any((xfers["bits_per_word"] != 0) & (xfers["bits_per_word"] != 8)):
            raise OSError(errno.EINVAL, "Invalid argument: the chip takes 8-bit words")
        if int(xfers["len"].sum()) > self.BUFSIZ:
            raise OSError(errno.EMSGSIZE, f"Message too long: more than {self.BUFSIZ} bytes")
        self.ioctl_calls += 1
        if self.fail_next:
            self.fail_next -= 1
            raise OSError(errno.EIO, "Input/output error (emulated)")
        speed = np.where(xfers["speed_hz"] == 0, self.max_speed_hz, xfers["speed_hz"])
        durations = xfers["len"] * 8 / speed + xfers["delay_usecs"] * 1e-6
        starts = self.clock() + np.concatenate(([0.0], np.cumsum(durations)[:-1]))
        lengths, tx, rx = xfers["len"], xfers["tx_buf"], xfers["rx_buf"]
        k = int(lengths[0])
        if (
            k
            and np.all(lengths == k)
            and np.all(xfers["cs_change"][:-1])
            and _contiguous(tx, lengths)
            and _contiguous(rx, lengths)
        ):
            # the transport's case: CS rises after every transfer, buffers back to back
            total = k * len(xfers)
            mosi = np.frombuffer(ctypes.string_at(int(tx[0]), total), np.uint8).reshape(-1, k)
            ctypes.memmove(int(rx[0]), self.chip.exchange(mosi, starts, speed).tobytes(), total)
            return 0
        # anything else, transfer by transfer; a NULL tx_buf sends zeros, a NULL rx_buf
        # discards the answer, as the SPI core does
        sent = [
            ctypes.string_at(int(a), int(n)) if a else bytes(int(n))
            for a, n in zip(tx, lengths, strict=True)
        ]
        answers = self._segments(xfers["cs_change"], sent, starts, speed)
        for a, answer in zip(rx, answers, strict=True):
            if a:
                ctypes.memmove(int(a), answer, len(answer))
        return 0

    def _segments(self, cs_change, mosi: list[bytes], starts, speed) -> list[bytes]:
        """Answers per transfer. CS rises after a transfer with cs_change set and at the end
        of the message; transfers between (cs_change = 0) make one long CS-low segment."""
        answers: list[bytes] = []
        ends = np.flatnonzero(cs_change[:-1]).tolist() + [len(mosi) - 1]
        begin = 0
        for end in ends:
            data = b"".join(mosi[begin : end + 1])
            out = b""
            if data:
                segment = np.frombuffer(data, dtype=np.uint8)[None, :]
                out = self.chip.exchange(segment, starts[begin : begin + 1], speed[begin])[0]
                out = out.tobytes()
            offset = 0
            for m in mosi[begin : end + 1]:
                answers.append(out[offset : offset + len(m)])
                offset += len(m)
            begin = end + 1
        return answers


def _contiguous(addresses: np.ndarray, lengths: np.ndarray) -> bool:
    """True when buffer k starts right where buffer k-1 ends (one copy serves them all)."""
    return bool(addresses[0] != 0 and np.all(addresses[1:] == addresses[:-1] + lengths[:-1]))
