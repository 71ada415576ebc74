"""Fixtures of the ADC tests: a fake clock, steady pin voltages, a transport on the emulated chip."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytest

from corcypower.adc.emulated import VREF, EmulatedChip, EmulatedSpiDevice
from corcypower.adc.spi import SPI_IOC_TRANSFER, SpiTransport
from corcypower.clock import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def steady():
    """steady({channel: code}, bits): pin voltages at the middle of each code, whenever asked.

    Channels not named read 0 V. The times asked are kept in `.times`, by channel.
    """

    def make(codes: dict[int, int], bits: int, vref: float = VREF):
        lsb = vref / (1 << bits)
        table = np.zeros(8)
        for ch, code in codes.items():
            table[ch] = (code + 0.5) * lsb

        def inputs(channels: np.ndarray, times: np.ndarray) -> np.ndarray:
            inputs.calls += 1
            for ch, t in zip(channels.tolist(), times.tolist(), strict=True):
                inputs.times.setdefault(ch, []).append(t)
            return table[channels]

        inputs.calls = 0
        inputs.times = {}
        return inputs

    return make


@dataclass
class Call:
    """One ioctl as the kernel would see it."""

    fd: int
    request: int
    transfers: np.ndarray  # a copy of the spi_ioc_transfer array
    tx: list[bytes] = field(default_factory=list)  # the bytes each tx_buf pointed to


class RecordingIoctl:
    """A fake `fcntl.ioctl`: records each request and its spi_ioc_transfer array, then lets
    the emulated chip answer it."""

    def __init__(self, device: EmulatedSpiDevice):
        self.device = device
        self.calls: list[Call] = []

    def __call__(self, fd: int, request: int, arg) -> int:
        import ctypes

        xfers = np.frombuffer(memoryview(arg).cast("B"), dtype=SPI_IOC_TRANSFER).copy()
        tx = [
            ctypes.string_at(int(a), int(n))
            for a, n in zip(xfers["tx_buf"], xfers["len"], strict=True)
        ]
        self.calls.append(Call(fd, request, xfers, tx))
        return self.device.ioctl(fd, request, arg)


@dataclass
class Rig:
    """A real SpiTransport whose ioctl reaches the emulated chip through a recorder."""

    transport: SpiTransport
    device: EmulatedSpiDevice
    chip: EmulatedChip
    ioctl: RecordingIoctl
    opened: list[tuple[int, int, int]]


@pytest.fixture
def rig(clock):
    """rig(bits, inputs, clock_hz=1_000_000, frame_s=100e-6): a transport on the emulated chip."""

    def make(bits, inputs, clock_hz=1_000_000, frame_s=100e-6, bus=0, device=0) -> Rig:
        chip = EmulatedChip(bits, inputs)
        dev = EmulatedSpiDevice(chip, clock.monotonic)
        recorder = RecordingIoctl(dev)
        opened = []

        def opener(b, d, hz):
            opened.append((b, d, hz))
            return dev

        transport = SpiTransport(bus, device, clock_hz, frame_s, opener, recorder, clock)
        return Rig(transport, dev, chip, recorder, opened)

    return make
