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
        raise SPIError("the spidev package is missing: pip install 'corcypower[pi]'") from None
    dev = spidev.SpiDev()
    try:
        dev.open(bus, device)
    except FileNotFoundError:
        raise SPIError(
            f"/dev/spidev{bus}.{device} does not exist: enable SPI (raspi-config → Interface "
            "Options → SPI, or dtparam=spi=on in /boot/firmware/config.txt) and reboot"
        ) from None
    except PermissionError:
        raise SPIError(
            f"/dev/spidev{bus}.{device}: permission denied: add the user to the spi group"
        ) from None
    dev.mode = 0
    dev.bits_per_word = 8
    dev.max_speed_hz = clock_hz
    return dev


@dataclass
class Block:
    """Raw answers of one ioctl: conversion k started at t0 + k * period (monotonic seconds)."""

    rx: np.ndarray  # (n, 3) uint8
    t0: float
    period: float


class SpiTransport:
    """One chip on one chip select; reads blocks of conversions with one ioctl each."""

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
        transfer_s = FRAME_BYTES * 8 / clock_hz
        self.delay_us = max(0, min(0xFFFF, round((frame_s - transfer_s) * 1e6)))
        self.frame_s = transfer_s + self.delay_us * 1e-6  # what the controller will do
        self.handle = None
        self.ioctl_calls = 0
        self._n = 0

    @property
    def name(self) -> str:
        return f"/dev/spidev{self.bus}.{self.device}"

    def open(self) -> None:
        if self.handle is None:
            self.handle = self.opener(self.bus, self.device, self.clock_hz)

    def close(self) -> None:
        if self.handle is not None:
            try:
                self.handle.close()
            finally:
                self.handle = None

    def _prepare(self, tx: np.ndarray) -> None:
        """Build the spi_ioc_transfer array once per block shape; blocks reuse it."""
        n = len(tx)
        self._tx = np.ascontiguousarray(tx, dtype=np.uint8)
        self._rx = np.zeros_like(self._tx)
        xfers = np.zeros(n, dtype=SPI_IOC_TRANSFER)
        xfers["tx_buf"] = self._tx.ctypes.data + FRAME_BYTES * np.arange(n, dtype=np.uint64)
        xfers["rx_buf"] = self._rx.ctypes.data + FRAME_BYTES * np.arange(n, dtype=np.uint64)
        xfers["len"] = FRAME_BYTES
        xfers["speed_hz"] = self.clock_hz
        xfers["delay_usecs"] = self.delay_us
        xfers["bits_per_word"] = 8
        xfers["cs_change"] = 1
        xfers["cs_change"][-1] = 0  # the message's end raises CS anyway
        self.transfers = xfers
        self._request = spi_ioc_message(n)
        self._n = n
        self._tx_key = tx.tobytes()

    def read(self, tx: np.ndarray) -> Block:
        """Send the (n, 3) frames in one SPI_IOC_MESSAGE(n); paced to one frame per frame_s."""
        if len(tx) != self._n or tx.tobytes() != self._tx_key:
            self._prepare(tx)
        self.open()
        t0 = self.clock.monotonic()
        try:
            self.ioctl(self.handle.fileno(), self._request, self.transfers)
        except OSError as exc:
            self.close()  # reopen on the next try: the device may have gone and come back
            raise SPIError(f"{self.name}: SPI transfer failed: {exc}") from exc
        self.ioctl_calls += 1
        t1 = self.clock.monotonic()
        n = self._n
        # The controller spaces transfers by delay_usecs; a real bus adds its own gaps, which
        # the measured duration shows. An emulated bus answers at once: pace it here.
        period = max(self.frame_s, (t1 - t0) / n)
        self.clock.sleep_until(t0 + n * period)
        return Block(self._rx.copy(), t0, period)
