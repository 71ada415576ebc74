"""Loading a config file: TOML, validated against the table, into a Config of Channels.

Sections are flattened to dotted names (`[adc] chip` is `adc.chip`, `[export.mysql] host` is
`export.mysql.host`); `[[channels]]` is a list checked against CHANNEL_SETTINGS, `[[alerts]]`
one checked against ALERT_SETTINGS. Unknown keys are errors, and every error names the file,
the key, the bad value and what was expected.
"""

from __future__ import annotations

import difflib
import math
import os
import re
import socket
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from corcypower.errors import ConfigError
from corcypower.live import address as remote_address
from corcypower.live.address import RemoteVoltage
from corcypower.settings import sources as voltage_sources
from corcypower.settings.alerting import ALERT_SETTING_BY_NAME, REQUIRED_ALERT_KEYS
from corcypower.settings.checks import Invalid, numbered, show
from corcypower.settings.setting import Setting
from corcypower.settings.sources import VoltageSource
from corcypower.settings.table import (
    CHANNEL_SETTING_BY_NAME,
    CHIP_CLOCK_HZ,
    DEFAULT_CHANNELS,
    REQUIRED_CHANNEL_KEYS,
    SETTING_BY_NAME,
    SETTINGS,
    VOLTS,
)

DEFAULT_CONFIG_PATH = Path("/etc/corcypower/config.toml")
ENV_VAR = "CORCYPOWER_CONFIG"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
BARE_KEY = re.compile(r"[A-Za-z0-9_.-]{1,64}")
MAX_CONFIG_BYTES = 1_000_000  # a real config is a few kB


@dataclass(frozen=True)
class Channel:
    """One ADC input as configured."""

    name: str
    adc_channel: int
    kind: str
    scale: float
    cs: int = 0
    voltage: str | float | None = (
        None  # a voltage channel's name or fixed volts; None: voltage channels
    )
    phase_deg: float = 0.0
    invert: bool = False
    noise_counts: float | None = None  # measured noise (counts RMS); None: estimated
    # another device's voltage (then `voltage` is the nominal one used while it is stale)
    remote_voltage: RemoteVoltage | None = None
    voltage_shift_deg: float = 0.0  # the measured voltage delayed by this much of a cycle
    phase: str | None = None  # "L1", "L2", "L3", "leg1", "leg2" (settings/phases.py)
    # `voltage = "v@120"` or two voltages ["a", "b@180"] (then `voltage` is the first's name)
    voltage_sources: tuple[VoltageSource, ...] = ()

    @property
    def sources(self) -> tuple[VoltageSource, ...]:
        """The measured voltages whose signed sum this current is multiplied with, each with
        its whole delay (voltage_shift_deg included); none for fixed or remote volts."""
        if not isinstance(self.voltage, str):
            return ()
        given = self.voltage_sources or (VoltageSource(self.voltage),)
        return voltage_sources.shifted(given, self.voltage_shift_deg)

    @property
    def voltage_text(self) -> str | None:
        """The voltage as the config says it, for people: "leg1_v - leg1_v@180", "v@120", 230."""
        if self.remote_voltage is not None:
            return str(self.remote_voltage)
        return voltage_sources.describe(self.sources) or (
            None if self.voltage is None else str(self.voltage)
        )

    @property
    def unit(self) -> str:
        return "V" if self.kind == "voltage" else "A"


class Config:
    """Validated settings: `config["adc.chip"]`, plus the list of channels."""

    def __init__(
        self,
        values: dict[str, Any],
        channels: list[Channel],
        source: Path | None,
        alerts: list[dict[str, Any]] | None = None,
    ):
        self.values = values
        self.channels = channels
        self.source = source
        self._replayed_chip: str | None = None
        # the [[alerts]] tables, keys checked (corcypower.alerts.rules makes them rules)
        self.alerts = alerts or []

    def __getitem__(self, name: str) -> Any:
        return self.values[name]

    @property
    def where(self) -> str:
        """How errors name the config: its file, or <settings> for the defaults."""
        return describe_source(self.source)

    @property
    def chip_model(self) -> str:
        """The chip's wire format: the real chip, or the one the emulator behaves as (by
        default the chip of the capture it replays: an MCP3008 capture replayed as an
        MCP3208 would read 16 times the power)."""
        chip = self["adc.chip"]
        if chip != "emulated":
            return chip
        if self["emulator.chip"] is not None:
            return self["emulator.chip"]
        source = self["emulator.source"]
        if source == "household":
            return "mcp3208"
        if self._replayed_chip is None:
            from corcypower.capture import read_chip
            from corcypower.errors import CaptureFormatError

            try:
                self._replayed_chip = read_chip(source)
            except CaptureFormatError as exc:
                why = str(exc).removeprefix(f"{source}: ")
                raise ConfigError(
                    f"{self.where}: [emulator] source = {show(source)}: {why}"
                ) from None
        return self._replayed_chip

    @property
    def spi_clock_hz(self) -> int:
        return self["adc.spi_clock_hz"] or CHIP_CLOCK_HZ[self.chip_model]

    @property
    def db_path(self) -> Path:
        return Path(self["store.path"]).expanduser()

    def channel(self, name: str) -> Channel:
        for c in self.channels:
            if c.name == name:
                return c
        known = ", ".join(c.name for c in self.channels)
        raise ConfigError(
            f"{self.where}: no channel named {name!r} in the config; channels: {known}"
        )

    def chip_selects(self) -> list[int]:
        return sorted({c.cs for c in self.channels})

    @property
    def device_name(self) -> str:
        """This device's name: [export.mysql] point, else the host name (the state API says it,
        and the house view shows it)."""
        return self["export.mysql.point"] or socket.gethostname()

    @property
    def grid_channels(self) -> tuple[str, ...]:
        """The current channels whose sum is the grid's power ([dashboard] grid_channels);
        by default every current channel but the panels' ([dashboard] solar_channels)."""
        currents = [c.name for c in self.channels if c.kind == "current"]
        grid = self["dashboard.grid_channels"]
        for name in grid or ():
            if name not in currents:
                known = ", ".join(f'"{n}"' for n in currents) or "none configured"
                raise ConfigError(
                    f'{self.where}: [dashboard] grid_channels: "{name}" is not a current channel ({known})'
                )
        if grid is None:
            return tuple(n for n in currents if n not in self["dashboard.solar_channels"])
        return tuple(grid)


def describe_source(source: Path | None) -> str:
    return str(source) if source else "<settings>"


def config_path(explicit: str | os.PathLike | None = None) -> Path | None:
    """--config, else $CORCYPOWER_CONFIG, else /etc/corcypower/config.toml if present, else none."""
    if explicit:
        return Path(explicit)
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR])
    return DEFAULT_CONFIG_PATH if DEFAULT_CONFIG_PATH.exists() else None


def load(path: str | os.PathLike | None = None) -> Config:
    """Read and validate a config file (see config_path); no file gives the defaults."""
    source = config_path(path)
    if source is None:
        return from_dict({}, None)
    try:
        with source.open("rb") as f:
            raw = f.read(MAX_CONFIG_BYTES + 1)
        if len(raw) > MAX_CONFIG_BYTES:
            raise ConfigError(f"{source}: larger than {MAX_CONFIG_BYTES} bytes: not a config file")
        data = tomllib.loads(raw.decode("utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{source}: no such config file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{source}: cannot read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from None
    except RecursionError:  # tomllib recurses once per level of nesting
        raise ConfigError(f"{source}: arrays or tables nested too deeply for a config") from None
    return from_dict(data, source)


def from_dict(data: dict[str, Any], source: Path | None = None) -> Config:
    """Validate parsed TOML; `source` is only used to name the file in errors."""
    where = describe_source(source)
    data = dict(data)
    raw_channels = data.pop("channels", None)
    raw_alerts = data.pop("alerts", [])
    values = {s.name: s.default for s in SETTINGS}
    for name, value in _flatten(data):
        setting = SETTING_BY_NAME.get(name)
        if setting is None:
            raise ConfigError(
                f"{where}: unknown key {_show_key(name)}{_suggest(name, SETTING_BY_NAME)}"
            )
        try:
            values[name] = setting.check(value)
        except Invalid as exc:
            raise ConfigError(f"{where}: {_show_key(name)} = {show(value)}: {exc}") from None
    channels = _channels(
        raw_channels if raw_channels is not None else DEFAULT_CHANNELS, values, where
    )
    config = Config(values, channels, source, _alerts(raw_alerts, where))
    if values["adc.sample_rate_hz"] is None:
        values["adc.sample_rate_hz"] = auto_sample_rate(config)
    _check_rate(config, where)
    return config


def _flatten(data: dict[str, Any], prefix: str = ""):
    for key, value in data.items():
        name = f"{prefix}{key}"
        # a table is a section, unless the setting itself is a table (emulator.circuits)
        if isinstance(value, dict) and name not in SETTING_BY_NAME:
            yield from _flatten(value, name + ".")
        else:
            yield name, value


def _show_key(name: str) -> str:
    section, _, key = name.rpartition(".")
    return f"[{_bare(section)}] {_bare(key)}" if section else _bare(key)


def _bare(key: str) -> str:
    """A key as written in TOML: bare if it can be, else quoted (and cut short)."""
    return key if BARE_KEY.fullmatch(key) else show(key)


def _suggest(name: str, known) -> str:
    """The closest known key; else the keys of its section; else the sections (not all ~90
    keys: an error stays a line one can read)."""
    close = difflib.get_close_matches(name, list(known), n=1)
    if close:
        return f" (did you mean {_show_key(close[0])}?)"
    section = name.rpartition(".")[0]
    same = [k for k in known if k.rpartition(".")[0] == section]
    if same:
        return "; known keys: " + ", ".join(_show_key(k) for k in same)
    sections = dict.fromkeys(f"[{k.rpartition('.')[0]}]" for k in known if "." in k)
    return "; known sections: " + ", ".join(sections)


def _tables(
    raw: Any, section: str, table: dict[str, Setting], required: tuple[str, ...], where: str
) -> list[dict[str, Any]]:
    """Each [[section]] table checked against `table`: defaults filled in, a "_label" naming it."""
    parsed: list[dict[str, Any]] = []
    for i, given in enumerate(raw, start=1):
        label = numbered(f"[[{section}]] #{i}", given)
        if not isinstance(given, dict):
            raise ConfigError(f"{where}: {label}: expected a table")
        entry = {s.name: s.default for s in table.values()}
        for key, value in given.items():
            setting = table.get(key)
            if setting is None:
                raise ConfigError(
                    f"{where}: {label}: unknown key {_bare(key)}{_suggest(key, table)}"
                )
            try:
                entry[key] = setting.check(value)
            except Invalid as exc:
                raise ConfigError(f"{where}: {label}.{key} = {show(value)}: {exc}") from None
        for key in required:
            if key not in given:
                raise ConfigError(f"{where}: {label}: missing key {key} ({table[key].help})")
        if not NAME_PATTERN.match(entry["name"]):
            raise ConfigError(
                f"{where}: {label}.name = {show(entry['name'])}: expected 1 to 64 letters, digits, _ or -"
            )
        parsed.append(entry | {"_label": label})
    return parsed


def _alerts(raw: Any, where: str) -> list[dict[str, Any]]:
    """The [[alerts]] tables, keys checked; what they name is checked by corcypower.alerts.rules."""
    if not isinstance(raw, list):
        raise ConfigError(f"{where}: alerts: expected [[alerts]] tables")
    parsed = _tables(raw, "alerts", ALERT_SETTING_BY_NAME, REQUIRED_ALERT_KEYS, where)
    seen: dict[str, str] = {}
    for entry in parsed:
        if entry["name"] in seen:
            raise ConfigError(
                f'{where}: {entry["_label"]}.name = "{entry["name"]}": already used by '
                f"{seen[entry['name']]}; names must be unique"
            )
        seen[entry["name"]] = entry["_label"]
    return parsed


def _channels(raw: Any, values: dict[str, Any], where: str) -> list[Channel]:
    if not isinstance(raw, list) or not raw:
        raise ConfigError(f"{where}: channels: expected one or more [[channels]] tables")
    if len(raw) > 16:
        raise ConfigError(f"{where}: {len(raw)} [[channels]]: at most 16 (two chips of 8)")
    parsed = _tables(raw, "channels", CHANNEL_SETTING_BY_NAME, REQUIRED_CHANNEL_KEYS, where)
    _check_unique(parsed, where)
    voltage_channels = {e["name"]: e for e in parsed if e["kind"] == "voltage"}
    channels = []
    for entry in parsed:
        label = entry.pop("_label")
        entry["voltage_sources"] = voltage_sources.check(
            entry,
            lambda e, at=label: _voltage(e, voltage_channels, values, where, at),
            where,
            label,
        )
        if entry["voltage_sources"]:
            entry["voltage"] = entry["voltage_sources"][0].channel
        else:
            entry["voltage"] = _voltage(entry, voltage_channels, values, where, label)
        if isinstance(entry["voltage"], RemoteVoltage):
            entry["remote_voltage"], entry["voltage"] = entry["voltage"], values["mains.voltage"]
        voltage_sources.check_shift(entry, where, label)
        channels.append(Channel(**entry))
    return channels


def _check_unique(parsed: list[dict[str, Any]], where: str) -> None:
    seen_names: dict[str, str] = {}
    seen_inputs: dict[tuple[int, int], str] = {}
    for e in parsed:
        if e["name"] in seen_names:
            raise ConfigError(
                f'{where}: {e["_label"]}.name = "{e["name"]}": already used by {seen_names[e["name"]]}; names must be unique'
            )
        seen_names[e["name"]] = e["_label"]
        wire = (e["cs"], e["adc_channel"])
        if wire in seen_inputs:
            raise ConfigError(
                f"{where}: {e['_label']}.adc_channel = {e['adc_channel']}: already used by "
                f"{seen_inputs[wire]} on chip select {e['cs']}; each input can be read by one channel"
            )
        seen_inputs[wire] = e["_label"]


def _voltage(entry, voltage_channels, values, where, label) -> str | float | None:
    value = entry["voltage"]
    if entry["kind"] == "voltage":
        if value is not None:
            raise ConfigError(f"{where}: {label}.voltage: only current channels take a voltage")
        return None
    if value is None:  # the only voltage channel on this chip, else the nominal mains voltage
        same_chip = [n for n, v in voltage_channels.items() if v["cs"] == entry["cs"]]
        return same_chip[0] if len(same_chip) == 1 else values["mains.voltage"]
    if isinstance(value, bool):
        raise ConfigError(
            f"{where}: {label}.voltage = {show(value)}: expected a voltage channel's name or volts"
        )
    if isinstance(value, int | float):
        if not VOLTS[0] <= value <= VOLTS[1]:  # also false for nan
            raise ConfigError(
                f"{where}: {label}.voltage = {show(value)}: expected volts from {VOLTS[0]:g} to {VOLTS[1]:g}"
            )
        return float(value)
    if not isinstance(value, str):
        raise ConfigError(
            f"{where}: {label}.voltage = {show(value)}: expected a voltage channel's name or volts"
        )
    if remote_address.is_url(value):
        try:
            return remote_address.parse(value)
        except ValueError as exc:
            raise ConfigError(f"{where}: {label}.voltage = {show(value)}: {exc}") from None
    if value not in voltage_channels:
        known = ", ".join(f'"{n}"' for n in voltage_channels) or "none configured"
        raise ConfigError(
            f"{where}: {label}.voltage = {show(value)}: expected the name of a voltage channel ({known}) or a number of volts"
        )
    if voltage_channels[value]["cs"] != entry["cs"]:
        raise ConfigError(
            f"{where}: {label}.voltage = {show(value)}: that voltage channel is on chip select "
            f"{voltage_channels[value]['cs']}, this current channel on {entry['cs']}; a current and "
            "its voltage must be on the same chip to be sampled together"
        )
    return value


FRAME_BITS = 24
MIN_GAP_S = 2e-6  # chip-select high time plus the controller's gap between transfers
# The default rate (docs/measurement.md, "Sample rate"): 8 kHz per channel halves P's spread
# on dimmers and switch-mode loads against 2 kHz for a third more CPU; more channels than the
# bus can carry at that rate share what it carries, with the kernel's 10 µs after each
# chip-select toggle (spi.py) and 2 µs of the controller's counted
AUTO_RATE_HZ = 8000
AUTO_GAP_S = 12e-6


def auto_sample_rate(config: Config) -> float:
    """The default rate: AUTO_RATE_HZ, or what the bus carries for every channel (by 100 Hz)."""
    per_conversion = FRAME_BITS / config.spi_clock_hz + AUTO_GAP_S
    most = 1.0 / (per_conversion * len(config.channels))
    return float(min(AUTO_RATE_HZ, max(200, math.floor(most / 100) * 100)))


def frame_seconds(config: Config) -> float:
    """Time between successive conversions on the bus (every channel of every chip shares it)."""
    return 1.0 / (config["adc.sample_rate_hz"] * len(config.channels))


def _check_rate(config: Config, where: str) -> None:
    needed = FRAME_BITS / config.spi_clock_hz + MIN_GAP_S
    if frame_seconds(config) < needed:
        most = int(1.0 / (needed * len(config.channels)))
        raise ConfigError(
            f"{where}: [adc] sample_rate_hz = {config['adc.sample_rate_hz']:g}: too fast for "
            f"{len(config.channels)} channels at {config.spi_clock_hz} Hz SPI clock; expected at most {most}"
        )
