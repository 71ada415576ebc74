"""MCP3008 / MCP3208 frames, bit-exact against the datasheets' figure 6-1.

Every expected byte below is written out from the datasheets, not computed by the code
under test: a wrong shift in mcp3xxx.py must fail here.
"""

from __future__ import annotations

import numpy as np
import pytest

from corcypower.adc.emulated import EmulatedChip
from corcypower.adc.mcp3xxx import MCP3008, MCP3208, MODELS

# MCP3008 (DS21295, fig. 6-1): byte 0 = 0000 0001 (start bit last), byte 1 = SGL D2 D1 D0 xxxx
MCP3008_MOSI = {
    0: bytes([0b0000_0001, 0b1000_0000, 0x00]),
    1: bytes([0b0000_0001, 0b1001_0000, 0x00]),
    2: bytes([0b0000_0001, 0b1010_0000, 0x00]),
    3: bytes([0b0000_0001, 0b1011_0000, 0x00]),
    4: bytes([0b0000_0001, 0b1100_0000, 0x00]),
    5: bytes([0b0000_0001, 0b1101_0000, 0x00]),
    6: bytes([0b0000_0001, 0b1110_0000, 0x00]),
    7: bytes([0b0000_0001, 0b1111_0000, 0x00]),
}

# MCP3208 (DS21298, fig. 6-1): byte 0 = 0000 0 start SGL D2, byte 1 = D1 D0 xx xxxx
MCP3208_MOSI = {
    0: bytes([0b0000_0110, 0b0000_0000, 0x00]),
    1: bytes([0b0000_0110, 0b0100_0000, 0x00]),
    2: bytes([0b0000_0110, 0b1000_0000, 0x00]),
    3: bytes([0b0000_0110, 0b1100_0000, 0x00]),
    4: bytes([0b0000_0111, 0b0000_0000, 0x00]),
    5: bytes([0b0000_0111, 0b0100_0000, 0x00]),
    6: bytes([0b0000_0111, 0b1000_0000, 0x00]),
    7: bytes([0b0000_0111, 0b1100_0000, 0x00]),
}

# What the chip answers to those frames when channel N reads code[N]. The "?" (high
# impedance) bits are what the emulator drives there: 1s.
# MCP3008 MISO: ???????? | ????? 0 B9 B8 | B7..B0
MCP3008_CODES = [0x000, 0x001, 0x155, 0x2AA, 0x100, 0x0FF, 0x3FE, 0x3FF]
MCP3008_MISO = {
    0: bytes([0b1111_1111, 0b1111_1000, 0b0000_0000]),
    1: bytes([0b1111_1111, 0b1111_1000, 0b0000_0001]),
    2: bytes([0b1111_1111, 0b1111_1001, 0b0101_0101]),
    3: bytes([0b1111_1111, 0b1111_1010, 0b1010_1010]),
    4: bytes([0b1111_1111, 0b1111_1001, 0b0000_0000]),
    5: bytes([0b1111_1111, 0b1111_1000, 0b1111_1111]),
    6: bytes([0b1111_1111, 0b1111_1011, 0b1111_1110]),
    7: bytes([0b1111_1111, 0b1111_1011, 0b1111_1111]),
}
# MCP3208 MISO: ???????? | ??? 0 B11 B10 B9 B8 | B7..B0
MCP3208_CODES = [0x000, 0x001, 0x555, 0xAAA, 0x800, 0x7FF, 0xFFE, 0xFFF]
MCP3208_MISO = {
    0: bytes([0b1111_1111, 0b1110_0000, 0b0000_0000]),
    1: bytes([0b1111_1111, 0b1110_0000, 0b0000_0001]),
    2: bytes([0b1111_1111, 0b1110_0101, 0b0101_0101]),
    3: bytes([0b1111_1111, 0b1110_1010, 0b1010_1010]),
    4: bytes([0b1111_1111, 0b1110_1000, 0b0000_0000]),
    5: bytes([0b1111_1111, 0b1110_0111, 0b1111_1111]),
    6: bytes([0b1111_1111, 0b1110_1111, 0b1111_1110]),
    7: bytes([0b1111_1111, 0b1110_1111, 0b1111_1111]),
}

CHIPS = [
    pytest.param(MCP3008, MCP3008_MOSI, MCP3008_CODES, MCP3008_MISO, id="mcp3008"),
    pytest.param(MCP3208, MCP3208_MOSI, MCP3208_CODES, MCP3208_MISO, id="mcp3208"),
]


@pytest.mark.parametrize("model, mosi, codes, miso", CHIPS)
@pytest.mark.parametrize("channel", range(8))
def test_frame_is_the_datasheet_frame(model, mosi, codes, miso, channel):
    assert model.frame(channel) == mosi[channel]


@pytest.mark.parametrize("model, mosi, codes, miso", CHIPS)
@pytest.mark.parametrize("channel", range(8))
def test_decode_reads_the_datasheet_answer(model, mosi, codes, miso, channel):
    rx = np.frombuffer(miso[channel], dtype=np.uint8).reshape(1, 3)
    assert model.decode(rx).tolist() == [codes[channel]]
    assert model.decode_one(miso[channel]) == codes[channel]


@pytest.mark.parametrize("model, mosi, codes, miso", CHIPS)
def test_emulated_chip_answers_the_datasheet_bytes_on_every_channel(
    model, mosi, codes, miso, steady
):
    chip = EmulatedChip(model.bits, steady(dict(enumerate(codes)), model.bits))
    frames = np.frombuffer(b"".join(mosi[ch] for ch in range(8)), dtype=np.uint8).reshape(8, 3)
    out = chip.exchange(frames, np.arange(8) * 1e-4, 1e6)
    assert [bytes(row) for row in out] == [miso[ch] for ch in range(8)]
    assert chip.conversions == 8


@pytest.mark.parametrize("model, mosi, codes, miso", CHIPS)
def test_driver_frames_through_the_emulated_chip_give_the_codes(model, mosi, codes, miso, steady):
    chip = EmulatedChip(model.bits, steady(dict(enumerate(codes)), model.bits))
    order = [3, 0, 7, 1, 6, 2, 5, 4] * 4
    tx = np.frombuffer(b"".join(model.frame(ch) for ch in order), dtype=np.uint8).reshape(-1, 3)
    rx = chip.exchange(tx, np.arange(len(order)) * 1e-4, 1e6)
    assert model.decode(rx).tolist() == [codes[ch] for ch in order]


def unmasked(rx: np.ndarray) -> np.ndarray:
    """A decoder that forgot the high-impedance bits: byte 1 taken whole."""
    return rx[:, 1].astype(np.int64) << 8 | rx[:, 2]


def mcp3008_mask_on_mcp3208(rx: np.ndarray) -> np.ndarray:
    """A decoder with the MCP3008's two result bits, used on an MCP3208."""
    return (rx[:, 1].astype(np.int64) & 0x03) << 8 | rx[:, 2]


@pytest.mark.parametrize("model", [MCP3008, MCP3208], ids=lambda m: m.name)
def test_a_decoder_that_forgets_the_mask_fails_on_the_emulated_chip(model, steady):
    codes = {ch: 37 * ch + 5 for ch in range(8)}
    chip = EmulatedChip(model.bits, steady(codes, model.bits))
    tx = np.frombuffer(b"".join(model.frame(ch) for ch in range(8)), np.uint8).reshape(-1, 3)
    rx = chip.exchange(tx, np.zeros(8), 1e6)
    assert model.decode(rx).tolist() == list(codes.values())
    assert not np.any(unmasked(rx) == np.array(list(codes.values())))  # every one wrong


def test_a_decoder_with_the_wrong_width_fails_on_the_mcp3208(steady):
    codes = {0: 0x000, 1: 0xC34}
    chip = EmulatedChip(12, steady(codes, 12))
    tx = np.frombuffer(MCP3208.frame(0) + MCP3208.frame(1), np.uint8).reshape(-1, 3)
    rx = chip.exchange(tx, np.zeros(2), 1e6)
    assert MCP3208.decode(rx).tolist() == [0x000, 0xC34]
    assert mcp3008_mask_on_mcp3208(rx).tolist() != [0x000, 0xC34]


def test_decode_gives_integers_that_do_not_wrap():
    rx = np.array([[0xFF, 0xF8, 0x00]], dtype=np.uint8)  # MCP3008, code 0
    counts = MCP3008.decode(rx)
    assert counts.dtype == np.int64
    assert (counts - 512).tolist() == [-512]


def test_decode_refuses_a_wrong_shape():
    with pytest.raises(ValueError, match=r"\(n, 3\)"):
        MCP3008.decode(np.zeros((4, 2), dtype=np.uint8))


@pytest.mark.parametrize("channel", [-1, 8, 1.5, "0"])
def test_frame_refuses_a_channel_outside_0_to_7(channel):
    with pytest.raises(ValueError, match="expected 0 to 7"):
        MCP3008.frame(channel)


def test_frame_takes_numpy_integers():
    assert MCP3208.frame(np.int64(5)) == MCP3208_MOSI[5]


def test_models_range_and_clock():
    assert (MODELS["mcp3008"].bits, MODELS["mcp3008"].max_count) == (10, 1023)
    assert (MODELS["mcp3208"].bits, MODELS["mcp3208"].max_count) == (12, 4095)
    assert (MCP3008.max_clock_hz, MCP3208.max_clock_hz) == (1_350_000, 1_000_000)
    assert (MCP3008.mid_count, MCP3208.mid_count) == (512, 2048)
