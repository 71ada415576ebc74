"""The real SPI transport, down to the spi_ioc_transfer array handed to ioctl."""

from __future__ import annotations

import ctypes
import errno
import sys
import types

import numpy as np
import pytest

from corcypower.adc.mcp3xxx import MCP3008, MCP3208
from corcypower.adc.spi import (
    MAX_TRANSFERS,
    SPI_IOC_TRANSFER,
    SpiTransport,
    open_spidev,
    spi_ioc_message,
)
from corcypower.errors import SPIError


class SpiIocTransfer(ctypes.Structure):
    """struct spi_ioc_transfer, copied from linux/spi/spidev.h."""

    _fields_ = [
        ("tx_buf", ctypes.c_uint64),
        ("rx_buf", ctypes.c_uint64),
        ("len", ctypes.c_uint32),
        ("speed_hz", ctypes.c_uint32),
        ("delay_usecs", ctypes.c_uint16),
        ("bits_per_word", ctypes.c_uint8),
        ("cs_change", ctypes.c_uint8),
        ("tx_nbits", ctypes.c_uint8),
        ("rx_nbits", ctypes.c_uint8),
        ("word_delay_usecs", ctypes.c_uint8),
        ("pad", ctypes.c_uint8),
    ]


def by_hand(n: int) -> int:
    """SPI_IOC_MESSAGE(n) = _IOW('k', 0, char[n * 32]): write, size, type 'k', number 0."""
    return (1 << 30) | (n * 32 << 16) | (ord("k") << 8)


def frames(model, channels) -> np.ndarray:
    return np.frombuffer(b"".join(model.frame(c) for c in channels), np.uint8).reshape(-1, 3)


def test_transfer_layout_is_the_kernels():
    assert SPI_IOC_TRANSFER.itemsize == ctypes.sizeof(SpiIocTransfer) == 32
    for name, _ in SpiIocTransfer._fields_:
        assert SPI_IOC_TRANSFER.fields[name][1] == getattr(SpiIocTransfer, name).offset, name


@pytest.mark.parametrize("n", [1, 2, 3, 170, 256, 510, 511])
def test_spi_ioc_message_is_iow_k_0_of_n_transfers(n):
    assert spi_ioc_message(n) == by_hand(n)


def test_spi_ioc_message_literals():
    assert spi_ioc_message(1) == 0x40206B00  # _IOW(0x6B, 0, char[32])
    assert spi_ioc_message(511) == 0x7FE06B00


@pytest.mark.parametrize("n", [0, 512, 1000])
def test_spi_ioc_message_refuses_what_the_size_field_cannot_hold(n):
    assert MAX_TRANSFERS == 511  # 511 * 32 < 2**14, the ioctl's size field
    with pytest.raises(ValueError, match="expected 1 to 511"):
        spi_ioc_message(n)


@pytest.mark.parametrize("model", [MCP3008, MCP3208], ids=lambda m: m.name)
def test_one_ioctl_carries_the_block_as_the_kernel_expects(model, rig, steady, clock):
    codes = {ch: 50 * ch + 3 for ch in range(8)}
    r = rig(model.bits, steady(codes, model.bits), clock_hz=1_000_000, frame_s=100e-6)
    order = [0, 1, 2, 3, 4, 5, 6, 7] * 63 + [0, 1, 2, 3, 4, 5]  # 510 frames
    tx = frames(model, order)
    block = r.transport.read(tx)

    assert r.opened == [(0, 0, 1_000_000)]
    (call,) = r.ioctl.calls
    assert call.fd == r.device.fileno()
    assert call.request == by_hand(510)
    x = call.transfers
    assert len(x) == 510
    assert set(x["len"]) == {3}
    assert set(x["speed_hz"]) == {1_000_000}
    assert set(x["bits_per_word"]) == {8}
    assert x["cs_change"][:-1].tolist() == [1] * 509 and x["cs_change"][-1] == 0
    assert set(x["delay_usecs"]) == {76}  # 100 µs per frame - 24 clocks at 1 MHz
    assert set(x["tx_nbits"]) == set(x["rx_nbits"]) == set(x["word_delay_usecs"]) == {0}
    # each tx_buf points at its own frame, each rx_buf at its own 3 bytes
    assert call.tx == [model.frame(c) for c in order]
    rx_addresses = x["rx_buf"].astype(np.int64)
    assert np.all(np.diff(rx_addresses) >= 3)
    assert not set(rx_addresses) & set(x["tx_buf"].astype(np.int64))
    assert block.rx.shape == (510, 3)
    assert model.decode(block.rx).tolist() == [codes[c] for c in order]
    assert r.transport.ioctl_calls == r.device.ioctl_calls == 1


def test_rx_buffers_receive_the_answers(rig, steady):
    r = rig(10, steady({3: 0x2A5}, 10))
    r.transport.read(frames(MCP3008, [3, 3]))
    x = r.ioctl.calls[0].transfers
    for address in x["rx_buf"]:
        assert ctypes.string_at(int(address), 3) == bytes([0xFF, 0xFA, 0xA5])


def test_a_block_of_n_frames_takes_n_frame_times(rig, steady, clock):
    r = rig(12, steady({}, 12), clock_hz=1_000_000, frame_s=250e-6)
    tx = frames(MCP3208, [0, 1] * 200)
    start = clock.now
    first = r.transport.read(tx)
    assert first.t0 == start
    assert first.period == pytest.approx(250e-6)
    assert clock.now == pytest.approx(start + 400 * 250e-6)
    second = r.transport.read(tx)
    assert second.t0 == pytest.approx(first.t0 + 400 * first.period)  # no gap, no overlap
    assert r.chip.conversions == 800


def test_frame_time_is_what_the_controller_will_do(rig, steady):
    # 1 / 6000 s asked; 24 clocks at 1.35 MHz plus a whole number of µs is what happens
    r = rig(10, steady({}, 10), clock_hz=1_350_000, frame_s=1 / 6000)
    assert r.transport.delay_us == round((1 / 6000 - 24 / 1.35e6) * 1e6)
    assert r.transport.frame_s == pytest.approx(24 / 1.35e6 + r.transport.delay_us * 1e-6)
    block = r.transport.read(frames(MCP3008, [0]))
    assert block.period == pytest.approx(r.transport.frame_s)


def test_frames_faster_than_the_clock_allows_get_no_delay(rig, steady):
    r = rig(10, steady({}, 10), clock_hz=100_000, frame_s=100e-6)  # 24 clocks take 240 µs
    assert r.transport.delay_us == 0
    assert r.transport.frame_s == pytest.approx(240e-6)


def test_delay_shrinks_by_what_the_bus_adds_between_transfers(rig, steady, clock):
    r = rig(10, steady({}, 10), clock_hz=1_000_000, frame_s=100e-6)
    emulated = r.device.ioctl

    def slow_bus(fd, request, arg):  # the kernel's 10 µs after each CS toggle
        n = (request >> 16 & 0x3FFF) // 32
        x = np.frombuffer(memoryview(arg).cast("B"), dtype=SPI_IOC_TRANSFER)
        emulated(fd, request, arg)
        clock.now += n * (24e-6 + x["delay_usecs"][0] * 1e-6 + 10e-6)
        return 0

    r.transport.ioctl = slow_bus
    tx = frames(MCP3008, [0] * 100)
    first = r.transport.read(tx)
    assert first.period == pytest.approx(110e-6)  # measured, not assumed
    assert r.transport.delay_us == 66
    assert r.transport.transfers["delay_usecs"].tolist() == [66] * 100
    second = r.transport.read(tx)
    assert second.period == pytest.approx(100e-6)  # back to the rate asked
    assert second.t0 == pytest.approx(first.t0 + 100 * first.period)


def test_a_late_wake_up_does_not_stretch_the_block(rig, steady, clock):
    """A busy Pi returns from the ioctl late; the conversions were still evenly spaced."""
    r = rig(10, steady({}, 10), clock_hz=1_000_000, frame_s=100e-6)
    emulated = r.device.ioctl
    late = [0.0, 0.05, 0.0]

    def busy(fd, request, arg):
        emulated(fd, request, arg)
        clock.now += 100 * 100e-6 + late.pop(0)  # the bus's time, then maybe 50 ms asleep
        return 0

    r.transport.ioctl = busy
    tx = frames(MCP3008, [0] * 100)
    first, second, third = (r.transport.read(tx) for _ in range(3))
    assert first.period == second.period == third.period == pytest.approx(100e-6)
    assert third.t0 == pytest.approx(second.t0 + 100 * 100e-6 + 0.05)  # the hole is a gap


def test_the_array_is_built_once_per_block_shape(rig, steady):
    r = rig(10, steady({}, 10))
    tx = frames(MCP3008, [0, 1, 2])
    r.transport.read(tx)
    transfers = r.transport.transfers
    r.transport.read(tx.copy())
    assert r.transport.transfers is transfers
    r.transport.read(frames(MCP3008, [2, 1, 0]))
    assert r.transport.transfers is not transfers
    assert r.ioctl.calls[-1].tx == [MCP3008.frame(c) for c in (2, 1, 0)]


def test_the_transport_keeps_its_own_copy_of_the_frames(rig, steady):
    r = rig(10, steady({0: 11, 1: 22}, 10))
    tx = frames(MCP3008, [0, 1]).copy()
    r.transport.read(tx)
    tx[:] = 0  # the caller reuses its buffer: the array handed to the kernel must not change
    x = r.transport.transfers
    assert [ctypes.string_at(int(a), 3) for a in x["tx_buf"]] == [MCP3008.frame(c) for c in (0, 1)]


@pytest.mark.parametrize("shape", [(4,), (4, 2), (2, 3, 1)])
def test_read_refuses_frames_of_the_wrong_shape(rig, steady, shape):
    r = rig(10, steady({}, 10))
    with pytest.raises(ValueError, match=r"\(n, 3\)"):
        r.transport.read(np.zeros(shape, dtype=np.uint8))


def test_read_refuses_more_than_511_frames(rig, steady):
    r = rig(10, steady({}, 10))
    with pytest.raises(ValueError, match="expected 1 to 511"):
        r.transport.read(frames(MCP3008, [0] * 512))


def test_an_ioctl_error_becomes_spi_error_and_the_device_is_reopened(rig, steady):
    r = rig(10, steady({0: 99}, 10), bus=0, device=1)
    closed = []
    r.device.close = lambda: closed.append(True)
    r.device.fail_next = 1
    tx = frames(MCP3008, [0])
    with pytest.raises(SPIError, match=r"/dev/spidev0\.1: SPI transfer failed: .*Input/output"):
        r.transport.read(tx)
    assert closed == [True]
    assert r.transport.handle is None
    assert MCP3008.decode(r.transport.read(tx).rx).tolist() == [99]
    assert len(r.opened) == 2  # opened again
    assert r.transport.ioctl_calls == 1  # only the one that worked


def test_an_opener_os_error_becomes_spi_error(clock):
    def opener(bus, device, hz):
        raise OSError(errno.EBUSY, "Device or resource busy")

    transport = SpiTransport(0, 1, 1_000_000, 1e-4, opener, clock=clock)
    with pytest.raises(SPIError, match=r"/dev/spidev0\.1: cannot open: .*busy"):
        transport.read(frames(MCP3008, [0]))


def test_the_real_fcntl_ioctl_takes_the_array_and_reports_errors(clock, tmp_path):
    # /dev/null is no SPI device: the kernel answers ENOTTY, through the real fcntl.ioctl
    def opener(bus, device, hz):
        return open("/dev/null", "rb")  # noqa: SIM115

    transport = SpiTransport(0, 0, 1_000_000, 1e-4, opener, clock=clock)
    with pytest.raises(SPIError, match=r"/dev/spidev0\.0: SPI transfer failed") as info:
        transport.read(frames(MCP3008, [0, 1]))
    assert info.value.__cause__.errno == errno.ENOTTY
    assert transport.handle is None


# --- open_spidev, with a stand-in for the spidev package -------------------------


class FakeSpiDev:
    """py-spidev's SpiDev, with open() failing as told."""

    fail: OSError | None = None
    fail_setting: OSError | None = None

    def __init__(self):
        self.opened = None
        self.closed = False

    def open(self, bus, device):
        if FakeSpiDev.fail:
            raise FakeSpiDev.fail
        self.opened = (bus, device)

    def close(self):
        self.closed = True

    def __setattr__(self, name, value):
        if name == "mode" and FakeSpiDev.fail_setting:
            raise FakeSpiDev.fail_setting
        super().__setattr__(name, value)


@pytest.fixture
def fake_spidev(monkeypatch):
    module = types.ModuleType("spidev")
    module.SpiDev = FakeSpiDev
    monkeypatch.setitem(sys.modules, "spidev", module)
    monkeypatch.setattr(FakeSpiDev, "fail", None)
    monkeypatch.setattr(FakeSpiDev, "fail_setting", None)
    return FakeSpiDev


def test_open_spidev_sets_mode_0_8_bits_and_the_clock(fake_spidev):
    dev = open_spidev(0, 1, 1_350_000)
    assert dev.opened == (0, 1)
    assert (dev.mode, dev.bits_per_word, dev.max_speed_hz) == (0, 8, 1_350_000)


def test_open_spidev_without_the_package(monkeypatch):
    monkeypatch.setitem(sys.modules, "spidev", None)  # import spidev raises ImportError
    with pytest.raises(
        SPIError, match=r"spidev package is missing: pip install 'corcypower\[pi\]'"
    ):
        open_spidev(0, 0, 1_000_000)


def test_open_spidev_without_the_device(fake_spidev):
    fake_spidev.fail = FileNotFoundError(errno.ENOENT, "No such file or directory")
    with pytest.raises(SPIError, match=r"/dev/spidev0\.1 does not exist: enable SPI.*raspi-config"):
        open_spidev(0, 1, 1_000_000)


def test_open_spidev_without_permission(fake_spidev):
    fake_spidev.fail = PermissionError(errno.EACCES, "Permission denied")
    with pytest.raises(SPIError, match=r"/dev/spidev0\.0: permission denied: .*spi group"):
        open_spidev(0, 0, 1_000_000)


def test_open_spidev_other_errors_name_the_device(fake_spidev):
    fake_spidev.fail = OSError(errno.EBUSY, "Device or resource busy")
    with pytest.raises(SPIError, match=r"/dev/spidev1\.0: cannot open: Device or resource busy"):
        open_spidev(1, 0, 1_000_000)


def test_open_spidev_setting_failure_closes_the_device(fake_spidev, monkeypatch):
    devices = []
    monkeypatch.setattr(
        sys.modules["spidev"], "SpiDev", lambda: devices.append(FakeSpiDev()) or devices[-1]
    )
    fake_spidev.fail_setting = OSError(errno.EINVAL, "Invalid argument")
    with pytest.raises(SPIError, match=r"/dev/spidev0\.0: cannot set mode 0 at 1000000 Hz"):
        open_spidev(0, 0, 1_000_000)
    assert devices[0].closed


def test_errors_are_oserrors_for_callers_that_catch_those(fake_spidev):
    fake_spidev.fail = PermissionError(errno.EACCES, "Permission denied")
    with pytest.raises(OSError):
        open_spidev(0, 0, 1_000_000)
