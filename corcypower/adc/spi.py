"""The SPI transport: many conversions per system call, through spidev's SPI_IOC_MESSAGE ioctl.

py-spidev's xfer2 keeps chip select low for its whole buffer, so it cannot carry more than
one conversion. The spidev driver itself takes an array of spi_ioc_transfer structs in one
ioctl; with cs_change = 1 on every transfer but the last, CS rises between them and each
3-byte transfer is a conversion. delay_usecs after each transfer paces the conversions, so
a block of up to 511 of them is evenly spaced in time by the SPI controller, not by Python.
"""

from __future__ import annotations

import fcntl
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from corcypower.clock import Clock
from corcypower.errors import SPIError

log = logging.getLogger(__name__)

# linux/spi/spidev.h: struct spi_ioc_transfer, 32 bytes, native byte order
SPI_IOC_TRANSFER = np.dtype(
    [
        ("tx_buf", "=u8"),
        ("rx_buf", "=u8"),
        ("len", "=u4"),
        ("speed_hz", "=u4"),
        ("delay_usecs", "=u2"),
        ("bits_per_word", "u1"),
        ("cs_change", "u1"),
        ("tx_nbits", "u1"),
        ("rx_nbits", "u1"),
        ("word_delay_usecs", "u1"),
        ("pad", "u1"),
    ]
)
TRANSFER_SIZE = SPI_IOC_TRANSFER.itemsize
SPI_IOC_MAGIC = ord("k")
# SPI_MSGSIZE(N) must fit the ioctl's 14-bit size field: N * 32 < 16384
MAX_TRANSFERS = (1 << 14) // TRANSFER_SIZE - 1
FRAME_BYTES = 3


def spi_ioc_message(n: int) -> int:
    """SPI_IOC_MESSAGE(n) = _IOW('k', 0, char[n * 32])."""
    size = n * TRANSFER_SIZE
    if not 0 < n <= MAX_TRANSFERS:
        raise ValueError(f"SPI_IOC_MESSAGE({n}): expected 1 to {MAX_TRANSFERS} transfers")
    return (1 << 30) | (size << 16) | (SPI_IOC_MAGIC << 8)


def open_spidev(bus: int, device: int, clock_hz: int):
    """Open /dev/spidev<bus>.<device> with py-spidev: mode 0, 8-bit words, the clock."""
    try:
        import spidev
    except ImportError:
        raise SPIError(
            "the spidev package is missing: pip install 'corcypower[pi]' (or apt install "
            'python3-spidev), or set [adc] chip = "emulated" to run without hardware'
        ) from None
    path = f"/dev/spidev{bus}.{device}"
    dev = spidev.SpiDev()
    try:
        dev.open(bus, device)
    except FileNotFoundError:
        raise SPIError(
            f"{path} does not exist: enable SPI (raspi-config → Interface Options → SPI, or "
            "dtparam=spi=on in /boot/firmware/config.txt) and reboot"
        ) from None
    except PermissionError:
        raise SPIError(
            f"{path}: permission denied: add the user to the spi group "
            "(sudo adduser $USER spi) and log in again"
        ) from None
    except OSError as exc:
        raise SPIError(f"{path}: cannot open: {exc.strerror or exc}") from None
    try:
        dev.mode = 0
        dev.bits_per_word = 8
        dev.max_speed_hz = clock_hz
    except OSError as exc:
        dev.close()
        raise SPIError(
            f"{path}: cannot set mode 0 at {clock_hz} Hz: {exc.strerror or exc}"
        ) from None
    return dev


@dataclass
class Block:
    """Raw answers of one ioctl: conversion k started at t0 + k * period (monotonic seconds)."""

    rx: np.ndarray  # (n, 3) uint8
    t0: float
    period: float


class SpiTransport:
    """One chip on one chip select; reads blocks of conversions with one ioctl each.

    The spi_ioc_transfer array is built once per block shape and reused; `transfers`,
    `request` and `delay_us` show exactly what the next ioctl will carry.
    """

    def __init__(
        self,
        bus: int,
        device: int,
        clock_hz: int,
        frame_s: float,
        opener: Callable = open_spidev,
        ioctl: Callable = fcntl.ioctl,
        clock: Clock | None = None,
    ):
        self.bus, self.device, self.clock_hz = bus, device, clock_hz
        self.opener, self.ioctl = opener, ioctl
        self.clock = clock or Clock()
        self.transfer_s = FRAME_BYTES * 8 / clock_hz
        self.target_s = frame_s  # the asked-for time between conversions
        self.overheads: deque[float] = deque(maxlen=8)  # the bus's own gap per conversion, s
        self.delay_us = self._delay_us(0.0)
        self.handle = None
        self.transfers = np.zeros(0, dtype=SPI_IOC_TRANSFER)
        self.request = 0
        self.ioctl_calls = 0
        self._tx = np.zeros((0, FRAME_BYTES), dtype=np.uint8)

    @property
    def name(self) -> str:
        return f"/dev/spidev{self.bus}.{self.device}"

    @property
    def frame_s(self) -> float:
        """Time between conversions as the transfers ask for it (the bus may add a little)."""
        return self.transfer_s + self.delay_us * 1e-6

    def _delay_us(self, overhead_s: float) -> int:
        return max(0, min(0xFFFF, round((self.target_s - self.transfer_s - overhead_s) * 1e6)))

    def open(self) -> None:
        if self.handle is None:
            try:
                self.handle = self.opener(self.bus, self.device, self.clock_hz)
            except SPIError:
                raise
            except OSError as exc:
                raise SPIError(f"{self.name}: cannot open: {exc}") from exc

    def close(self) -> None:
        if self.handle is not None:
            try:
                self.handle.close()
            finally:
                self.handle = None

    def _prepare(self, tx: np.ndarray) -> None:
        """Build the spi_ioc_transfer array for these frames; blocks reuse it."""
        n = len(tx)
        self.request = spi_ioc_message(n)  # refuses n > MAX_TRANSFERS before anything else
        self._tx = np.array(tx, dtype=np.uint8, order="C")  # our own copy: the kernel reads it
        self._rx = np.zeros_like(self._tx)
        xfers = np.zeros(n, dtype=SPI_IOC_TRANSFER)
        offsets = FRAME_BYTES * np.arange(n, dtype=np.uint64)
        xfers["tx_buf"] = self._tx.ctypes.data + offsets
        xfers["rx_buf"] = self._rx.ctypes.data + offsets
        xfers["len"] = FRAME_BYTES
        xfers["speed_hz"] = self.clock_hz
        xfers["delay_usecs"] = self.delay_us
        xfers["bits_per_word"] = 8
        xfers["cs_change"] = 1  # CS rises after each transfer: each one is a conversion
        xfers["cs_change"][-1] = 0  # the message's end raises CS; 1 here would keep it low
        self.transfers = xfers

    def read(self, tx: np.ndarray) -> Block:
        """Send the (n, 3) frames in one SPI_IOC_MESSAGE(n); paced to one frame per frame_s."""
        tx = np.asarray(tx)
        if tx.ndim != 2 or tx.shape[1] != FRAME_BYTES:
            raise ValueError(f"expected an (n, {FRAME_BYTES}) array of frames, got {tx.shape}")
        if tx.shape != self._tx.shape or not np.array_equal(tx, self._tx):
            self._prepare(tx)
        self.open()
        n = len(self._tx)
        nominal = self.frame_s
        t0 = self.clock.monotonic()
        try:
            self.ioctl(self.handle.fileno(), self.request, self.transfers)
        except OSError as exc:
            self.close()  # reopen on the next try: the device may have gone and come back
            raise SPIError(f"{self.name}: SPI transfer failed: {exc}") from exc
        self.ioctl_calls += 1
        measured = (self.clock.monotonic() - t0) / n
        self._adapt(measured - nominal)
        # A real ioctl returns when the bus is done, but a busy Pi may wake us late, which
        # would stretch this block's time axis; the smallest recent excess is the bus's own.
        # An emulated bus answers at once (no excess): pace it here, as a controller would.
        period = nominal + min(self.overheads)
        self.clock.sleep_until(t0 + n * period)
        return Block(self._rx.copy(), t0, period)

    def _adapt(self, extra_s: float) -> None:
        """Shorten delay_usecs by what the bus adds between transfers, so the rate is the one asked.

        The kernel waits after each CS toggle (10 µs unless told otherwise, which spidev
        cannot: _spi_transfer_cs_change_delay in drivers/spi/spi.c) and the controller needs
        set-up time; none of it is in delay_usecs. Scheduling noise only ever makes a block
        longer, so the smallest recent excess is the bus's own.
        """
        self.overheads.append(max(0.0, extra_s))
        delay = self._delay_us(min(self.overheads))
        if delay != self.delay_us:
            self.delay_us = delay
            self.transfers["delay_usecs"] = delay
