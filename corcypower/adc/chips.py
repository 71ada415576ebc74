"""From the config to the chips: one transport per chip select, real or emulated."""

from __future__ import annotations

import logging
import time

import numpy as np

from corcypower import capture
from corcypower.adc.emulated import VREF, EmulatedChip, EmulatedSpiDevice
from corcypower.adc.household import Household, Mains
from corcypower.adc.mcp3xxx import MODELS
from corcypower.adc.replay import Replay, sample_delay
from corcypower.adc.spi import SpiTransport
from corcypower.clock import Clock
from corcypower.settings import Channel, Config, frame_seconds

log = logging.getLogger(__name__)


def circuit_of(config: Config, name: str) -> str:
    """The emulated circuit a current channel measures (emulator.circuits, else by its name)."""
    circuits = config["emulator.circuits"]
    if name in circuits:
        return circuits[name]
    return "solar" if "solar" in name.lower() else "house"


def supply(channel: Channel) -> tuple[complex, ...]:
    """The voltage a current channel's emulated loads draw from, as a phasor of the mains the
    voltage inputs see: the channel's `voltage`, each source delayed by its degrees (one
    voltage input stands for every phase: the loads go where the config says they are);
    () for the mains itself."""
    z = complex(sum(s.sign * np.exp(-1j * np.radians(s.shift_deg)) for s in channel.sources))
    return () if z == 0 or abs(z - 1) < 1e-12 else (z,)


def emulator_inputs(config: Config, cs: int, clock: Clock):
    """What the emulated chip on chip select `cs` measures: the household, or a capture replayed."""
    source = config["emulator.source"]
    model = MODELS[config.chip_model]
    bits = model.bits
    if source != "household":
        delay = sample_delay(model, config.spi_clock_hz)
        replay = Replay(capture.read(source), VREF, start=clock.monotonic(), delay=delay)
        missing = [
            f"{c.name} (ch{c.adc_channel})"
            for c in config.channels
            if c.cs == cs and c.adc_channel not in replay.columns
        ]
        if missing:
            log.warning("%s has no column for %s: they read mid-scale", source, ", ".join(missing))
        return replay
    hz = config["mains.frequency_hz"]
    volts = config["emulator.mains_volts"] or (230.0 if hz == 50 else 120.0)
    wires = {
        ch.adc_channel: (
            ch.kind,
            ch.scale,
            ch.invert,
            circuit_of(config, ch.name) if ch.kind == "current" else "",
        )
        + supply(ch)
        for ch in config.channels
        if ch.cs == cs
    }
    return Household(
        wires,
        bits,
        VREF,
        Mains(volts, hz),
        wall_offset_s=clock.wall_ms() / 1000 - clock.monotonic(),
        utc_offset_s=time.localtime(clock.wall_ms() / 1000).tm_gmtoff,
        seed=config["emulator.seed"],  # one home, whichever chip watches it
        noise_stream=cs,
        solar_w=config["emulator.solar_w"],
        clip=config["emulator.clip_channels"],
        flat=config["emulator.flat_channels"],
    )


def open_transports(config: Config, clock: Clock) -> dict[int, SpiTransport]:
    """One SpiTransport per chip select in use; for "emulated", the emulated spidev behind it."""
    transports = {}
    for cs in config.chip_selects():
        kwargs = {}
        if config["adc.chip"] == "emulated":
            chip = EmulatedChip(MODELS[config.chip_model].bits, emulator_inputs(config, cs, clock))
            device = EmulatedSpiDevice(chip, clock.monotonic)
            device.max_speed_hz = config.spi_clock_hz
            kwargs = {"opener": lambda bus, dev, hz, device=device: device, "ioctl": device.ioctl}
        transports[cs] = SpiTransport(
            config["adc.spi_bus"],
            cs,
            config.spi_clock_hz,
            frame_seconds(config),
            clock=clock,
            **kwargs,
        )
    return transports
