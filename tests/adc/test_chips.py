"""From the config to the chips: one transport per chip select, emulated or real."""

from __future__ import annotations

import fcntl
import logging
import sys
from dataclasses import replace

import numpy as np
import pytest

from corcypower import capture, settings
from corcypower.adc.chips import circuit_of, emulator_inputs, open_transports
from corcypower.adc.emulated import EmulatedSpiDevice
from corcypower.adc.household import Household
from corcypower.adc.mcp3xxx import MODELS
from corcypower.adc.replay import Replay
from corcypower.adc.spi import SpiTransport, open_spidev
from corcypower.errors import ConfigError, SPIError
from corcypower.settings import sources


def config(chip="emulated", emulator=None, channels=None, **sections):
    data = {"adc": {"chip": chip, **sections.pop("adc", {})}, **sections}
    data["emulator"] = emulator or {}
    data["channels"] = channels or [
        {"name": "mains_v", "adc_channel": 1, "kind": "voltage", "scale": 0.25},
        {"name": "main", "adc_channel": 0, "kind": "current", "scale": 0.02},
        {"name": "v2", "adc_channel": 7, "kind": "voltage", "scale": 0.25, "cs": 1},
        {"name": "solar", "adc_channel": 2, "kind": "current", "scale": 0.01, "cs": 1},
        {"name": "boiler", "adc_channel": 3, "kind": "current", "scale": 0.05, "cs": 1},
    ]
    return settings.from_dict(data)


def scan(transport: SpiTransport, model, channels: list[int], scans: int) -> np.ndarray:
    tx = np.frombuffer(b"".join(model.frame(c) for c in channels) * scans, np.uint8)
    return model.decode(transport.read(tx.reshape(-1, 3)).rx).reshape(scans, len(channels))


def test_one_transport_per_chip_select_on_emulated_chips(clock):
    cfg = config(emulator={"chip": "mcp3208"}, adc={"spi_bus": 1})
    transports = open_transports(cfg, clock)
    assert sorted(transports) == [0, 1]
    for cs, transport in transports.items():
        assert isinstance(transport, SpiTransport)
        assert (transport.bus, transport.device) == (1, cs)
        assert transport.clock_hz == 1_000_000  # the MCP3208's default
        rate = cfg["adc.sample_rate_hz"]  # 5 channels on MCP3208s: the bus carries 5500 Hz
        assert rate == 5500 and transport.target_s == pytest.approx(1 / (rate * 5))  # shared
        transport.open()
        assert isinstance(transport.handle, EmulatedSpiDevice)
        assert transport.ioctl == transport.handle.ioctl
        assert isinstance(transport.handle.chip.inputs, Household)
        assert transport.handle.chip.bits == 12
    assert transports[0].handle is not transports[1].handle


def test_both_chips_watch_the_same_home(clock):
    cfg = config(emulator={"chip": "mcp3208", "seed": 9})
    transports = open_transports(cfg, clock)
    homes = {cs: t.opener(0, cs, 0).chip.inputs for cs, t in transports.items()}
    assert homes[0].seed == homes[1].seed == 9
    assert homes[0].wires == {0: ("current", 0.02, False, "house"), 1: ("voltage", 0.25, False, "")}
    assert homes[1].wires == {
        7: ("voltage", 0.25, False, ""),
        2: ("current", 0.01, False, "solar"),
        3: ("current", 0.05, False, "house"),
    }
    # the mains on CE0 ch1 and CE1 ch7, read at the same instants: the same wave, own noise
    t = 1000.0 + np.arange(2000) * 1e-4
    lsb = 3.3 / 4096
    v0 = homes[0](np.full(len(t), 1), t)
    v1 = homes[1](np.full(len(t), 7), t)
    assert np.max(np.abs(v0 - v1)) < 5 * lsb and not np.array_equal(v0, v1)


def test_emulated_loads_sit_on_the_phase_their_voltage_names(clock):
    # L2 derived from L1's input: its loads draw from L1 a third of a cycle later; a load
    # across split-phase legs draws from twice the leg's voltage
    cfg = config(
        emulator={"chip": "mcp3208"},
        channels=[
            {"name": "v", "adc_channel": 0, "kind": "voltage", "scale": 0.25},
            {"name": "l1", "adc_channel": 1, "kind": "current", "scale": 0.02},
            {"name": "l2", "adc_channel": 2, "kind": "current", "scale": 0.02},
            {"name": "legs", "adc_channel": 3, "kind": "current", "scale": 0.02},
        ],
    )
    cfg.channels[2:] = [
        replace(cfg.channels[2], voltage_shift_deg=120.0),
        replace(cfg.channels[3], voltage_sources=sources.parse(["v", "v@180"])),
    ]
    wires = emulator_inputs(cfg, 0, clock).wires
    assert len(wires[1]) == 4  # on the mains itself, as single-phase wiring always was
    assert wires[2][4] == pytest.approx(np.exp(-2j * np.pi / 3))
    assert wires[3][4] == pytest.approx(2.0)


def test_emulated_chips_answer_through_the_transport(clock):
    cfg = config(emulator={"chip": "mcp3008", "flat_channels": [2], "clip_channels": [0]})
    transports = open_transports(cfg, clock)
    model = MODELS["mcp3008"]
    ce0 = scan(transports[0], model, [1, 0], 250)
    assert ce0[:, 0].min() < 300 and ce0[:, 0].max() > 700  # 325 V peak at 0.25 V/count
    assert ce0[:, 1].min() == 0 and ce0[:, 1].max() == 1023  # clipped, as asked
    ce1 = scan(transports[1], model, [2], 100)
    assert set(ce1[:, 0].tolist()) == {512}  # flat, as asked
    assert transports[0].ioctl_calls == transports[1].ioctl_calls == 1


def test_real_chips_use_spidev_and_the_real_ioctl(clock, monkeypatch):
    cfg = config(chip="mcp3008", adc={"spi_clock_hz": 1_000_000})
    transports = open_transports(cfg, clock)
    assert sorted(transports) == [0, 1]
    for transport in transports.values():
        assert transport.opener is open_spidev
        assert transport.ioctl is fcntl.ioctl
        assert transport.clock_hz == 1_000_000
    monkeypatch.setitem(sys.modules, "spidev", None)
    with pytest.raises(SPIError, match="spidev package is missing"):
        scan(transports[0], MODELS["mcp3008"], [0], 1)


def test_mains_volts_follow_the_frequency(clock):
    def volts(**kw):
        cfg = config(emulator={"chip": "mcp3208", **kw.pop("emulator", {})}, **kw)
        return emulator_inputs(cfg, 0, clock).mains

    assert (volts().volts, volts().hz) == (230.0, 50)
    sixty = volts(mains={"frequency_hz": 60})
    assert (sixty.volts, sixty.hz) == (120.0, 60)
    assert volts(emulator={"mains_volts": 240.0}).volts == 240.0


def test_circuits_of_current_channels():
    cfg = config(emulator={"circuits": {"boiler": "kettle"}})
    assert circuit_of(cfg, "boiler") == "kettle"
    assert circuit_of(cfg, "solar") == "solar"
    assert circuit_of(cfg, "Solar_roof") == "solar"
    assert circuit_of(cfg, "main") == "house"


def write_capture(path, chip, channels, counts, frame_us):
    t = np.arange(len(counts)) * len(channels) * frame_us * 1e-6
    with path.open("w") as f:
        capture.CaptureWriter(f, chip, frame_us, channels).write(t, counts)


def test_a_capture_path_as_source_is_replayed(clock, tmp_path, caplog):
    rng = np.random.default_rng(5)
    counts = rng.integers(0, 4096, size=(300, 2))
    path = tmp_path / "house.csv"
    # 2 channels at 2500 Hz: a frame every 200 µs, as the config below will read them
    write_capture(path, "mcp3208", [1, 0], counts, frame_us=200.0)
    channels = [
        {"name": "mains_v", "adc_channel": 1, "kind": "voltage", "scale": 0.25},
        {"name": "main", "adc_channel": 0, "kind": "current", "scale": 0.02},
    ]
    cfg = config(
        emulator={"chip": "mcp3208", "source": str(path)},
        channels=channels,
        adc={"sample_rate_hz": 2500},
    )
    with caplog.at_level(logging.WARNING):
        transports = open_transports(cfg, clock)
    assert not caplog.records
    transport = transports[0]
    transport.open()
    assert isinstance(transport.handle.chip.inputs, Replay)
    got = np.concatenate([scan(transport, MODELS["mcp3208"], [1, 0], 150) for _ in range(2)])
    np.testing.assert_array_equal(got, counts)


def test_a_replay_without_a_channel_warns_and_reads_mid_scale(clock, tmp_path, caplog):
    path = tmp_path / "one.csv"
    write_capture(path, "mcp3208", [1], np.full((10, 1), 3000), frame_us=100.0)
    cfg = config(emulator={"chip": "mcp3208", "source": str(path)}, channels=None)
    with caplog.at_level(logging.WARNING, logger="corcypower.adc.chips"):
        transports = open_transports(cfg, clock)
    messages = [r.getMessage() for r in caplog.records]
    assert any("main (ch0)" in m and "mid-scale" in m for m in messages), messages
    assert any("v2 (ch7)" in m and "solar (ch2)" in m for m in messages), messages
    got = scan(transports[0], MODELS["mcp3208"], [1, 0], 5)
    assert got[:, 1].tolist() == [2048] * 5


def test_a_missing_capture_file_is_a_clear_error(clock, tmp_path):
    # the chip to emulate comes from the capture's header: the config names the file at once
    with pytest.raises(
        ConfigError, match=r'\[emulator\] source = ".*gone\.csv": no such capture file'
    ):
        open_transports(config(emulator={"source": str(tmp_path / "gone.csv")}), clock)


@pytest.mark.parametrize(
    ("recorded", "explicit", "emulated"),
    [
        ("mcp3008", None, "mcp3008"),  # it once behaved as an MCP3208: 16 times the power
        ("mcp3208", None, "mcp3208"),
        ("mcp3008", "mcp3208", "mcp3208"),  # set explicitly, it is obeyed
    ],
)
def test_the_emulator_replaying_a_capture_is_that_captures_chip(
    tmp_path, recorded, explicit, emulated
):
    path = tmp_path / "c.csv"
    write_capture(path, recorded, [1, 0], np.full((10, 2), 300), frame_us=250.0)
    emulator = {"source": str(path)} | ({"chip": explicit} if explicit else {})
    assert config(emulator=emulator).chip_model == emulated
    assert config(emulator={}).chip_model == "mcp3208"  # the household: as before
