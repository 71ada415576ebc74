"""The emulated chip against the datasheets' serial interface, independent of the driver.

MOSI and MISO are written as bit strings, in the order they cross the wire ("|" between
bytes, spaces for the reader), from section 5 of DS21295 (MCP3008) and DS21298 (MCP3208).
"""

from __future__ import annotations

import ctypes
import errno

import numpy as np
import pytest

from corcypower.adc.emulated import EmulatedChip, EmulatedSpiDevice
from corcypower.adc.spi import SPI_IOC_TRANSFER


def wire(text: str) -> np.ndarray:
    """'0000 0001 | 1000 0000' -> a (1, n) uint8 array, first bit on the wire first."""
    s = text.replace(" ", "").replace("|", "")
    assert len(s) % 8 == 0 and set(s) <= {"0", "1"}, text
    return np.array([[int(s[i : i + 8], 2) for i in range(0, len(s), 8)]], dtype=np.uint8)


def bits_of(out: np.ndarray) -> str:
    return " | ".join(f"{b:08b}" for b in out.ravel())


def spi_ioc_message(n: int) -> int:
    """By hand, from linux/spi/spidev.h: _IOW('k', 0, char[n * 32])."""
    return (1 << 30) | (n * 32 << 16) | (ord("k") << 8)


class Message:
    """A hand-built spi_ioc_transfer array over our own tx and rx buffers: back to back in
    one buffer each (as the transport lays them out), or each transfer its own buffer."""

    def __init__(self, frames, cs_change, speed=1_000_000, delay_us=0, separate=False):
        lengths = [len(f) for f in frames]
        if separate:
            self.tx = [ctypes.create_string_buffer(f, len(f)) for f in frames]
            self.rx = [ctypes.create_string_buffer(n) for n in lengths]
            tx = [ctypes.addressof(b) for b in self.tx]
            rx = [ctypes.addressof(b) for b in self.rx]
        else:
            self.tx = [ctypes.create_string_buffer(b"".join(frames), sum(lengths))]
            self.rx = [ctypes.create_string_buffer(sum(lengths))]
            offsets = np.concatenate(([0], np.cumsum(lengths)[:-1])).astype(int).tolist()
            tx = [ctypes.addressof(self.tx[0]) + o for o in offsets]
            rx = [ctypes.addressof(self.rx[0]) + o for o in offsets]
        self.lengths = lengths
        self.xfers = np.zeros(len(frames), dtype=SPI_IOC_TRANSFER)
        self.xfers["tx_buf"] = tx
        self.xfers["rx_buf"] = rx
        self.xfers["len"] = lengths
        self.xfers["speed_hz"] = speed
        self.xfers["delay_usecs"] = delay_us
        self.xfers["bits_per_word"] = 8
        self.xfers["cs_change"] = cs_change

    def send(self, device: EmulatedSpiDevice) -> list[bytes]:
        """The answer of each transfer."""
        assert device.ioctl(3, spi_ioc_message(len(self.xfers)), self.xfers) == 0
        rx = zip(self.xfers["rx_buf"].tolist(), self.lengths, strict=True)
        return [ctypes.string_at(a, n) if a else None for a, n in rx]


def chip_reading(bits: int, codes: dict[int, int], steady, vref=3.3) -> EmulatedChip:
    return EmulatedChip(bits, steady(codes, bits, vref), vref)


# --- the serial interface ---------------------------------------------------------


def test_leading_zeros_before_the_start_bit_are_ignored(steady):
    chip = chip_reading(10, {5: 0x2A5}, steady)  # 0x2A5 = 10 1010 0101
    #              15 zeros, start, SGL, D2 D1 D0 = 101 (CH5), don't care
    mosi = wire("0000 0000 | 0000 0001 | 1101 0000 | 0000 0000")
    #             high impedance (1s) ... null, B9 B8    | B7 .. B0
    expected = "11111111 | 11111111 | 11111 0 10 | 1010 0101"
    assert bits_of(chip.exchange(mosi, [0.0], 1e6)) == bits_of(wire(expected))


def test_start_bit_anywhere_in_a_byte(steady):
    chip = chip_reading(12, {0: 0xABC}, steady)  # 0xABC = 1010 1011 1100
    #            3 zeros, start, SGL, D2 D1 D0 = 000 (CH0)
    mosi = wire("0001 1000 | 0000 0000 | 0000 0000")
    # 9 x high impedance, null, B11 .. B0, then B1 B2 (LSB first)
    expected = "11111111 | 1 0 101010 | 111100 0 1"
    assert bits_of(chip.exchange(mosi, [0.0], 1e6)) == bits_of(wire(expected))


def test_result_continues_lsb_first_after_b0_then_zeros(steady):
    chip = chip_reading(10, {0: 0x2A5}, steady)  # B9..B0 = 1 0 1 0 1 0 0 1 0 1
    mosi = wire("0000 0001 | 1000 0000 | 0000 0000 | 0000 0000 | 0000 0000 | 0000 0000")
    expected = (
        "11111111 | 11111 0 10 | 1010 0101"  # null, then B9 .. B0
        " | 0100 1010 | 1 000 0000"  # B1 .. B9 (B0 is not repeated)
        " | 0000 0000"  # then zeros, indefinitely
    )
    assert bits_of(chip.exchange(mosi, [0.0], 1e6)) == bits_of(wire(expected))


def test_segment_without_start_bit_converts_nothing(steady):
    chip = chip_reading(10, {0: 0x155}, steady)
    out = chip.exchange(wire("0000 0000 | 0000 0000 | 0000 0000"), [0.0], 1e6)
    assert bits_of(out) == "11111111 | 11111111 | 11111111"  # DOUT never leaves high impedance
    assert chip.conversions == 0


def test_segment_ending_before_d0_converts_nothing(steady):
    chip = chip_reading(12, {0: 0x155}, steady)
    out = chip.exchange(wire("0000 0000 | 0000 0000 | 0000 0011"), [0.0], 1e6)  # start, SGL
    assert bits_of(out) == "11111111 | 11111111 | 11111111"
    assert chip.conversions == 0


# MCP3008/MCP3208 configuration bits with SGL/DIFF = 0: D2 D1 D0 -> (IN+, IN-)
DIFFERENTIAL = {
    0b000: (0, 1),
    0b001: (1, 0),
    0b010: (2, 3),
    0b011: (3, 2),
    0b100: (4, 5),
    0b101: (5, 4),
    0b110: (6, 7),
    0b111: (7, 6),
}


@pytest.mark.parametrize("bits", [10, 12])
def test_differential_mode_follows_the_configuration_table(bits):
    # vref 4.0 V: one LSB is 2**-8 V (10 bits) or 2**-10 V (12 bits), exact in binary
    lsb = 4.0 / (1 << bits)
    pins = np.array([300, 100, 50, 400, 7, 7, 900, 0]) * lsb  # CH0..CH7, in LSBs
    chip = EmulatedChip(bits, lambda ch, t: pins[ch], vref=4.0)
    for config, (plus, minus) in DIFFERENTIAL.items():
        if bits == 10:  # start bit, then 0 D2 D1 D0
            frame = [0b0000_0001, config << 4, 0]
        else:
            frame = [0b0000_0100 | config >> 2, (config & 0b11) << 6, 0]
        rx = chip.exchange(np.array([frame], dtype=np.uint8), [0.0], 1e6)
        code = (int(rx[0, 1]) & ((1 << (bits - 8)) - 1)) << 8 | int(rx[0, 2])
        expected = max(0, round((pins[plus] - pins[minus]) / lsb))  # IN- above IN+ reads 0
        assert code == expected, f"D2 D1 D0 = {config:03b}"


@pytest.mark.parametrize("bits", [10, 12])
def test_transfer_function_is_floor_of_2_to_the_bits_vin_over_vref_clipped(bits):
    chip = EmulatedChip(bits, lambda ch, t: ch * 0.0, vref=4.0)
    full = 1 << bits
    lsb = 4.0 / full
    exact = np.array([0, 1, 2, full // 2, full - 1]) * lsb
    assert chip.code(exact).tolist() == [0, 1, 2, full // 2, full - 1]
    below = exact[1:] - lsb / 1024  # a hair under each code edge
    assert chip.code(below).tolist() == [0, 1, full // 2 - 1, full - 2]
    assert chip.code(np.array([-0.5, -1e-9, 4.0, 5.0])).tolist() == [0, 0, full - 1, full - 1]


# --- the spidev ioctl ----------------------------------------------------------------

MCP3008_CH = {0: bytes([0x01, 0x80, 0x00]), 1: bytes([0x01, 0x90, 0x00]), 2: bytes([0x01, 0xA0, 0])}


def three_channels(steady, clock=None) -> EmulatedSpiDevice:
    chip = chip_reading(10, {0: 100, 1: 200, 2: 300}, steady)
    return EmulatedSpiDevice(chip, clock.monotonic if clock else lambda: 0.0)


def test_xfer2_pitfall_one_transfer_of_three_frames_is_one_conversion(steady):
    device = three_channels(steady)
    (rx,) = Message([MCP3008_CH[0] + MCP3008_CH[1] + MCP3008_CH[2]], [0]).send(device)
    assert device.chip.conversions == 1
    # code 100 = 00 0110 0100 MSB first, then B1..B9 = 0 1 0 0 1 1 0 0 0, then zeros
    assert rx == bytes([0xFF, 0xF8, 0x64, 0b0100_1100, 0x00, 0x00, 0x00, 0x00, 0x00])


def test_xfer2_pitfall_transfers_with_cs_held_low_are_one_conversion(steady):
    device = three_channels(steady)
    rx = Message([MCP3008_CH[0], MCP3008_CH[1], MCP3008_CH[2]], [0, 0, 0]).send(device)
    assert device.chip.conversions == 1
    assert rx == [bytes([0xFF, 0xF8, 0x64]), bytes([0b0100_1100, 0, 0]), bytes(3)]


@pytest.mark.parametrize("separate", [False, True], ids=["one-buffer", "own-buffers"])
def test_cs_change_between_transfers_gives_one_conversion_each(steady, separate):
    device = three_channels(steady)
    msg = Message([MCP3008_CH[0], MCP3008_CH[1], MCP3008_CH[2]], [1, 1, 0], separate=separate)
    rx = msg.send(device)
    assert device.chip.conversions == 3
    assert rx == [bytes([0xFF, 0xF8, 100]), bytes([0xFF, 0xF8, 200]), bytes([0xFF, 0xF9, 44])]


def test_cs_change_mixed_runs_form_segments(steady):
    device = three_channels(steady)
    rx = Message([MCP3008_CH[0], MCP3008_CH[1], MCP3008_CH[2]], [0, 1, 0]).send(device)
    assert device.chip.conversions == 2  # (ch0, ch1 ignored), (ch2)
    assert rx == [bytes([0xFF, 0xF8, 100]), bytes([0b0100_1100, 0, 0]), bytes([0xFF, 0xF9, 44])]


@pytest.mark.parametrize("separate", [False, True], ids=["one-buffer", "own-buffers"])
@pytest.mark.parametrize("bits, start_bit", [(10, 7), (12, 5)])
def test_each_conversion_samples_at_the_5th_clock_after_its_start_bit(
    bits, start_bit, separate, steady
):
    inputs = steady({}, bits)
    device = EmulatedSpiDevice(EmulatedChip(bits, inputs), lambda: 1000.0)
    frame = bytes([0x01, 0x80, 0]) if bits == 10 else bytes([0x06, 0x00, 0])
    Message([frame] * 4, [1, 1, 1, 0], delay_us=76, separate=separate).send(device)
    # 24 clocks at 1 MHz + 76 µs = 100 µs per frame; held at the falling edge of clock start+5
    expected = [1000.0 + k * 100e-6 + (start_bit + 5.5) * 1e-6 for k in range(4)]
    assert inputs.times[0] == pytest.approx(expected, abs=1e-9)


def test_speed_zero_means_the_device_clock(steady):
    inputs = steady({}, 10)
    device = EmulatedSpiDevice(EmulatedChip(10, inputs), lambda: 0.0)
    device.max_speed_hz = 500_000
    Message([bytes([0x01, 0x80, 0])] * 2, [1, 0], speed=0).send(device)
    assert inputs.times[0] == pytest.approx([12.5 * 2e-6, 24 * 2e-6 + 12.5 * 2e-6])


def test_a_block_is_answered_with_one_vectorised_call(steady):
    inputs = steady({0: 7}, 12)
    device = EmulatedSpiDevice(EmulatedChip(12, inputs), lambda: 0.0)
    rx = Message([bytes([0x06, 0x00, 0])] * 511, [1] * 510 + [0]).send(device)
    assert inputs.calls == 1
    assert device.chip.conversions == 511
    assert set(rx) == {bytes([0xFF, 0xE0, 7])}


def test_null_buffers_send_zeros_and_discard_the_answer(steady):
    device = three_channels(steady)
    msg = Message([MCP3008_CH[0], MCP3008_CH[1]], [1, 0], separate=True)
    msg.xfers["tx_buf"][0] = 0  # sends zeros: no start bit
    msg.xfers["rx_buf"][1] = 0  # answer dropped
    assert msg.send(device) == [bytes([0xFF, 0xFF, 0xFF]), None]
    assert device.chip.conversions == 1
    assert msg.rx[1].raw == bytes(3)  # the second answer was not written


def refused(device, request, arg) -> int:
    with pytest.raises(OSError) as info:
        device.ioctl(3, request, arg)
    return info.value.errno


def test_ioctl_refuses_what_the_kernel_refuses(steady):
    device = three_channels(steady)
    msg = Message([MCP3008_CH[0]], [0])
    assert refused(device, (1 << 30) | (32 << 16) | (ord("j") << 8), msg.xfers) == errno.ENOTTY
    assert refused(device, (2 << 30) | (32 << 16) | (ord("k") << 8), msg.xfers) == errno.ENOTTY
    assert refused(device, spi_ioc_message(1) | 1, msg.xfers) == errno.ENOTTY  # not number 0
    assert refused(device, (1 << 30) | (40 << 16) | (ord("k") << 8), msg.xfers) == errno.EINVAL
    assert refused(device, spi_ioc_message(2), msg.xfers) == errno.EFAULT  # array too short
    msg.xfers["bits_per_word"] = 16
    assert refused(device, spi_ioc_message(1), msg.xfers) == errno.EINVAL
    big = Message([bytes(2100), bytes(2100)], [1, 0])  # more than spidev's 4096-byte buffer
    assert refused(device, spi_ioc_message(2), big.xfers) == errno.EMSGSIZE
    assert device.ioctl_calls == 0 and device.chip.conversions == 0


def test_fail_next_makes_ioctls_fail_with_eio(steady):
    device = three_channels(steady)
    device.fail_next = 2
    msg = Message([MCP3008_CH[0]], [0])
    assert refused(device, spi_ioc_message(1), msg.xfers) == errno.EIO
    assert refused(device, spi_ioc_message(1), msg.xfers) == errno.EIO
    assert msg.send(device) == [bytes([0xFF, 0xF8, 100])]
    assert device.ioctl_calls == 3
