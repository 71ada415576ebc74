"""A current channel's measured voltage: one voltage channel, delayed by some degrees of the
mains cycle, or the difference of two such voltages (a load between two phases or legs).

    voltage = "mains_v"                     # the voltage channel as measured
    voltage = "mains_v@120"                 # its waveform 120° later: L2 from L1's adapter
    voltage = ["leg1_v", "leg1_v@180"]      # leg 1 minus leg 2: a 240 V split-phase load
    voltage = ["l1_v@0", "l1_v@120"]        # L1 minus L2: a 400 V load between two phases

A channel's `voltage_shift_deg` delays the whole of it by that many more degrees. The
analysis (corcypower/analysis/derived.py) makes the waveform; this module only reads the text.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from corcypower.errors import ConfigError
from corcypower.live import address as remote_address
from corcypower.settings.checks import show

SHIFT_LIMIT = 360.0  # degrees either way: a shift beyond a whole cycle says nothing more
SYNTAX = 'a voltage channel\'s name, "NAME@DEGREES", or two of them ["NAME", "NAME@DEGREES"]'


@dataclass(frozen=True)
class VoltageSource:
    """A voltage channel's waveform `shift_deg` degrees of the mains cycle later, × sign."""

    channel: str
    shift_deg: float = 0.0
    sign: int = 1

    def __str__(self) -> str:
        return self.channel if self.shift_deg == 0 else f"{self.channel}@{self.shift_deg:g}"


def describe(sources: tuple[VoltageSource, ...]) -> str:
    """The sources as one line ("leg1_v - leg1_v@180"); "" for one unshifted channel."""
    if len(sources) == 1 and sources[0].shift_deg == 0:
        return ""
    return " - ".join(str(s) for s in sources)


def shifted(sources: tuple[VoltageSource, ...], deg: float) -> tuple[VoltageSource, ...]:
    """Every source `deg` degrees later (a channel's voltage_shift_deg)."""
    return tuple(VoltageSource(s.channel, s.shift_deg + deg, s.sign) for s in sources)


def parse(value: Any) -> tuple[VoltageSource, ...] | None:
    """The sources a `voltage` names, or None when it is not this syntax (fixed volts, a URL, or
    a plain name: config.py checks those). ValueError says what was expected."""
    if isinstance(value, list):
        if len(value) != 2:
            raise ValueError(f"expected two voltages, the load between them: {SYNTAX}")
        first, second = (_one(v) for v in value)
        if first.channel == second.channel and (first.shift_deg - second.shift_deg) % 360 == 0:
            raise ValueError("the two voltages are the same: their difference is zero")
        return first, VoltageSource(second.channel, second.shift_deg, -1)
    if isinstance(value, str) and "@" in value and not remote_address.is_url(value):
        return (_one(value),)
    return None


def _one(text: Any) -> VoltageSource:
    if not isinstance(text, str):
        raise ValueError(f"expected {SYNTAX}; {show(text)} is not text")
    name, at, degrees = text.partition("@")
    if not name:
        raise ValueError(f'expected {SYNTAX}; "{text}" names no channel')
    if not at:
        return VoltageSource(name)
    try:
        shift = float(degrees)
    except ValueError:
        shift = math.nan
    if not math.isfinite(shift) or abs(shift) > SHIFT_LIMIT:
        raise ValueError(
            f'"{text}": expected degrees from -{SHIFT_LIMIT:g} to {SHIFT_LIMIT:g} after "@"'
        )
    return VoltageSource(name, shift)


def check(entry, check_name, where, label) -> tuple[VoltageSource, ...]:
    """A [[channels]] entry's `voltage = "v@120"` or ["a", "b@180"], each channel checked by
    `check_name` (config.py's check of a plain name, given the entry with that name); () for
    every other voltage, which config.py checks."""
    value = entry["voltage"]
    try:
        parsed = parse(value)
    except ValueError as exc:
        raise ConfigError(f"{where}: {label}.voltage = {_toml(value)}: {exc}") from None
    if parsed is None:
        return ()
    if entry["kind"] == "voltage":
        raise ConfigError(f"{where}: {label}.voltage: only current channels take a voltage")
    for source in parsed:
        if remote_address.is_url(source.channel):
            raise ConfigError(
                f"{where}: {label}.voltage = {_toml(value)}: a remote voltage has no waveform "
                "to shift or subtract; expected voltage channels of this device"
            )
        check_name({**entry, "voltage": source.channel})
    return parsed


def _toml(value: Any) -> str:
    """A value as TOML writes it: a list of names as ["a", "b"] (Python would say ['a', 'b'])."""
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return show(value)


def check_shift(entry, where, label) -> None:
    """voltage_shift_deg moves a measured waveform: fixed or remote volts have none."""
    if entry["voltage_shift_deg"] == 0:
        return
    if entry["kind"] == "voltage":
        raise ConfigError(
            f"{where}: {label}.voltage_shift_deg: only current channels take a voltage_shift_deg"
        )
    if not isinstance(entry["voltage"], str):
        raise ConfigError(
            f"{where}: {label}.voltage_shift_deg = {entry['voltage_shift_deg']:g}: needs a "
            f"voltage channel's waveform to shift, and this channel's voltage is "
            f"{'remote' if entry.get('remote_voltage') else 'fixed'} volts"
        )
