"""Settings: one table of (name, default, help) drives defaults, validation and the docs.

A config file is TOML. Sections are flattened to dotted names (`[adc] chip` is `adc.chip`,
`[export.mysql] host` is `export.mysql.host`); `[[channels]]` is a list checked against
CHANNEL_SETTINGS. Unknown keys are errors, and every error names the file, the key, the bad
value and what was expected.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from corcypower.errors import ConfigError
from corcypower.live import address as remote_address
from corcypower.live.address import RemoteVoltage

DEFAULT_CONFIG_PATH = Path("/etc/corcypower/config.toml")
ENV_VAR = "CORCYPOWER_CONFIG"

# The SPI clock each chip is specified for at 3.3 V (datasheets, "fCLK" at VDD = 2.7 V).
CHIP_CLOCK_HZ = {"mcp3008": 1_350_000, "mcp3208": 1_000_000}
CHIPS = ("mcp3008", "mcp3208", "emulated")
CIRCUITS = ("house", "solar", "fridge", "kettle", "oven", "washer", "lighting", "standby", "none")


class Invalid(ValueError):
    """A value failed its check; the text says what was expected."""


# --- checks: each returns the normalised value or raises Invalid("expected ...") ---


def choice(*options: Any) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if value not in options or isinstance(value, bool):
            raise Invalid("expected one of " + ", ".join(_show(o) for o in options))
        return value

    return check


def number(low: float | None = None, high: float | None = None, integer: bool = False):
    kind = "a whole number" if integer else "a number"
    bounds = (
        f" from {low} to {high}"
        if low is not None and high is not None
        else f" >= {low}"
        if low is not None
        else ""
    )

    def check(value: Any) -> Any:
        ok_type = isinstance(value, int) if integer else isinstance(value, int | float)
        if isinstance(value, bool) or not ok_type:
            raise Invalid(f"expected {kind}{bounds}")
        if (low is not None and value < low) or (high is not None and value > high):
            raise Invalid(f"expected {kind}{bounds}")
        return value if integer else float(value)

    return check


def positive(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise Invalid("expected a number > 0")
    return float(value)


def boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise Invalid("expected true or false")
    return value


def text(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise Invalid("expected a non-empty string")
    return value


def int_list(low: int, high: int) -> Callable[[Any], list[int]]:
    def check(value: Any) -> list[int]:
        if not isinstance(value, list) or not all(
            isinstance(v, int) and not isinstance(v, bool) and low <= v <= high for v in value
        ):
            raise Invalid(f"expected a list of whole numbers from {low} to {high}")
        return list(value)

    return check


def circuit_table(value: Any) -> dict[str, str]:
    if not isinstance(value, dict) or not all(v in CIRCUITS for v in value.values()):
        raise Invalid(
            "expected a table of channel name = circuit, circuit one of " + ", ".join(CIRCUITS)
        )
    return dict(value)


def log_level(value: Any) -> str:
    return choice("debug", "info", "warning", "error")(value)


def origins(value: Any) -> list[str]:
    """Websocket origins as a browser sends them: host:port (the port is part of an origin)."""
    ok = isinstance(value, list) and all(
        isinstance(v, str) and re.fullmatch(r"[^\s/:]+:\d{1,5}|\*", v) for v in value
    )
    if not ok:
        raise Invalid('expected a list of "host:port", e.g. ["192.168.1.20:5006", "pi.local:5006"]')
    return list(value)


def name_list(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise Invalid("expected a list of channel names")
    return list(value)


def time_zone(value: Any) -> str:
    from zoneinfo import ZoneInfo

    try:
        ZoneInfo(text(value))
    except (ValueError, KeyError, OSError):  # not found is a KeyError; a directory, OSError
        raise Invalid('expected a time zone name such as "Europe/Paris"') from None
    return value


def http_url(value: Any) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"https?://[^\s/]+(/\S*)?", value):
        raise Invalid('expected a URL such as "http://127.0.0.1:8070"')
    return value.rstrip("/")


def point_name(value: Any) -> str:
    """A point (device) name in the central MySQL database: VolumeData.Point is varchar(64)."""
    if not isinstance(value, str) or not 1 <= len(value) <= 64 or not value.isprintable():
        raise Invalid("expected a name of 1 to 64 printable characters")
    return value


def volume_points(value: Any) -> dict[str, dict[str, Any]]:
    """VolumeData points: Point = "channel" or Point = { channels = [...], supply = "import" }."""
    expected = (
        'expected a table of Point = "channel" or Point = { channels = ["a", "b"], '
        'supply = "import" or "export" }, each Point 1 to 64 characters'
    )
    if not isinstance(value, dict):
        raise Invalid(expected)
    points = {}
    for point, spec in value.items():
        if isinstance(spec, str):
            spec = {"channels": [spec]}
        if (
            not isinstance(spec, dict)
            or not 1 <= len(point) <= 64
            or set(spec) - {"channels", "supply"}
            or spec.get("supply", "import") not in ("import", "export")
        ):
            raise Invalid(f"{point!r}: {expected}")
        channels = spec.get("channels")
        if not isinstance(channels, list) or not channels:
            raise Invalid(f"{point!r}: expected channels = a list of one or more channel names")
        if not all(isinstance(c, str) and c for c in channels):
            raise Invalid(f"{point!r}: expected channels = a list of one or more channel names")
        points[point] = {"channels": list(channels), "supply": spec.get("supply", "import")}
    return points


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str
    check: Callable[[Any], Any] = field(repr=False)


SETTINGS: list[Setting] = [
    Setting(
        "adc.chip",
        "mcp3008",
        'The ADC: "mcp3008" (10-bit), "mcp3208" (12-bit), or "emulated" (no hardware; see [emulator]).',
        choice(*CHIPS),
    ),
    Setting(
        "adc.spi_bus",
        0,
        "SPI bus of the ADC: 0 is /dev/spidev0.*, the header pins 19/21/23.",
        number(0, 6, integer=True),
    ),
    Setting(
        "adc.spi_clock_hz",
        None,
        "SPI clock. Default: the chip's limit at 3.3 V (MCP3008 1.35 MHz, MCP3208 1 MHz).",
        number(10_000, 3_600_000, integer=True),
    ),
    Setting(
        "adc.sample_rate_hz",
        2000,
        "Samples per second of each channel (a scan reads every channel of a chip once).",
        number(200, 20_000),
    ),
    Setting(
        "adc.batch_seconds",
        0.5,
        "Length of a batch, the unit of analysis and storage (0.5 s: 1000 samples per channel at 2000 Hz).",
        number(0.1, 10.0),
    ),
    Setting(
        "mains.frequency_hz",
        50,
        "Nominal mains frequency: 50 or 60. Used where no voltage channel measures it.",
        choice(50, 60),
    ),
    Setting(
        "mains.voltage",
        230.0,
        "Nominal mains volts: used for current channels with no voltage channel (120 in North America).",
        positive,
    ),
    Setting(
        "store.path",
        "~/power.db",
        "The sqlite database. Relative paths are taken from the current directory.",
        text,
    ),
    Setting(
        "store.commit_seconds",
        60.0,
        "Seconds between commits to the database: a crash loses at most this much; fewer commits wear the SD card less.",
        number(0.0, 3600.0),
    ),
    Setting(
        "store.raw_days",
        31,
        "Days raw batches (every 0.5 s) are kept; about 14 MB per channel per day. Older history stays in the rollups.",
        number(1, 3660),
    ),
    Setting(
        "store.rollup_10s_days",
        366,
        "Days 10-second rollups are kept (0: forever); about 0.6 MB per channel per day.",
        number(0, 36_600),
    ),
    Setting(
        "store.rollup_1m_days",
        1827,
        "Days 1-minute rollups are kept (0: forever); about 0.1 MB per channel per day. 15-minute, hourly and daily rollups are kept forever.",
        number(0, 36_600),
    ),
    Setting(
        "store.buffer_rows",
        100_000,
        "Rows kept in memory while the database cannot be written (disk full), retried every commit; about 400 bytes each. Beyond, the oldest are dropped.",
        number(1000, 10_000_000, integer=True),
    ),
    Setting(
        "emulator.chip",
        "mcp3208",
        'The chip the emulator behaves as when adc.chip = "emulated".',
        choice("mcp3008", "mcp3208"),
    ),
    Setting(
        "emulator.source",
        "household",
        'What the emulated chip measures: "household" (a synthetic home), or the path of a capture file to replay, looped.',
        text,
    ),
    Setting(
        "emulator.seed",
        1,
        "Seed of the synthetic household: the same seed gives the same day.",
        number(0, 2**32 - 1, integer=True),
    ),
    Setting(
        "emulator.mains_volts",
        None,
        "Mains RMS volts of the synthetic household. Default: 230 at 50 Hz, 120 at 60 Hz.",
        number(50.0, 400.0),
    ),
    Setting(
        "emulator.solar_w",
        3000.0,
        "Peak solar power of the synthetic household at midday (0: no solar).",
        number(0.0, 50_000.0),
    ),
    Setting(
        "emulator.circuits",
        {},
        "Which circuit each current channel measures: channel name = house, solar, fridge, kettle, oven, washer, lighting, standby or none. Default: a channel named *solar* sees the panels, every other the whole house.",
        circuit_table,
    ),
    Setting(
        "emulator.clip_channels",
        [],
        "ADC channels the emulator overdrives into the rails (to see clipping flagged).",
        int_list(0, 7),
    ),
    Setting(
        "emulator.flat_channels",
        [],
        "ADC channels the emulator leaves disconnected: a flat line at mid-scale.",
        int_list(0, 7),
    ),
    Setting(
        "api.bind",
        "127.0.0.1",
        'Address the state API (/api/v1/state, /live, /channels) listens on: "127.0.0.1" for this machine only, "0.0.0.0" for the LAN.',
        text,
    ),
    Setting(
        "api.port",
        8070,
        "TCP port of the state API (0: any free port, for tests).",
        number(0, 65535, integer=True),
    ),
    Setting(
        "api.ring_seconds",
        900.0,
        "Seconds of recent batches the daemon keeps in RAM for /api/v1/live (at least 600).",
        number(600.0, 86_400.0),
    ),
    Setting(
        "remote_voltage.poll_seconds",
        1.0,
        'Seconds between polls of another device\'s state API, for channels whose voltage is "http://HOST:PORT/api/v1/state#CHANNEL" (at least 1).',
        number(1.0, 60.0),
    ),
    Setting(
        "remote_voltage.stale_seconds",
        5.0,
        "A remote voltage older than this is stale: the channel uses mains.voltage and is flagged nominal-voltage.",
        number(1.0, 3600.0),
    ),
    Setting(
        "dashboard.address",
        "127.0.0.1",
        'Address the dashboard (Bokeh server) listens on: "0.0.0.0" for the LAN (then list allow_websocket_origin).',
        text,
    ),
    Setting(
        "dashboard.port",
        5006,
        "TCP port of the dashboard.",
        number(1, 65535, integer=True),
    ),
    Setting(
        "dashboard.allow_websocket_origin",
        [],
        'Origins (host:port, as typed in the browser) allowed to open the page, e.g. ["192.168.1.20:5006", "pi.local:5006"]. localhost and 127.0.0.1 on dashboard.port are always allowed.',
        origins,
    ),
    Setting(
        "dashboard.state_url",
        None,
        "The daemon's state API, where the dashboard follows /api/v1/live. Default: http://api.bind:api.port (127.0.0.1 for 0.0.0.0).",
        http_url,
    ),
    Setting(
        "dashboard.live_minutes",
        10.0,
        "Minutes of the live plot (at most api.ring_seconds).",
        number(1.0, 1440.0),
    ),
    Setting(
        "dashboard.stale_seconds",
        5.0,
        "The page shows a banner when no batch has arrived for this many seconds.",
        number(1.0, 3600.0),
    ),
    Setting(
        "dashboard.grid_channels",
        None,
        "Current channels whose sum is the power from (+) or to (-) the grid: the total, the gauge and the daily import/export bars. Default: every current channel.",
        name_list,
    ),
    Setting(
        "dashboard.gauge_max_w",
        6000.0,
        "Full scale of the gauge: it spans -gauge_max_w (export) to +gauge_max_w (import).",
        number(100.0, 1_000_000.0),
    ),
    Setting(
        "dashboard.timezone",
        None,
        "Time zone of the page's clocks and axes, e.g. \"Europe/Paris\". Default: the machine's (TZ, else /etc/localtime), with daylight saving.",
        time_zone,
    ),
    Setting(
        "tariff.price_per_kwh",
        0.0,
        "Price of a kWh drawn from the grid, for the cost of each day (0: costs are not shown).",
        number(0.0, 1000.0),
    ),
    Setting(
        "tariff.export_price_per_kwh",
        0.0,
        "What a kWh sent to the grid earns (feed-in tariff); subtracted from the day's cost.",
        number(0.0, 1000.0),
    ),
    Setting(
        "tariff.currency",
        "EUR",
        'Currency shown with costs, e.g. "EUR", "GBP", "USD".',
        text,
    ),
    Setting(
        "export.mysql.host",
        None,
        "Central MySQL or MariaDB server (name or address) that closed minutes are sent to. Not set: no export. See docs/mysql.md.",
        text,
    ),
    Setting("export.mysql.port", 3306, "TCP port of the server.", number(1, 65535, integer=True)),
    Setting(
        "export.mysql.database",
        "EnergyMonitor",
        "Database on the server; `corcypower mysql init` creates its tables VolumeData and ChannelMinute.",
        text,
    ),
    Setting("export.mysql.user", "corcypower", "User name on the server.", text),
    Setting(
        "export.mysql.password",
        None,
        "Password. Prefer password_file, $CORCYPOWER_MYSQL_PASSWORD or systemd's LoadCredential=; a world-readable config file holding a password is warned about.",
        text,
    ),
    Setting(
        "export.mysql.password_file",
        None,
        "File holding the password (its first line). A relative name is looked up in $CREDENTIALS_DIRECTORY (systemd LoadCredential=), else next to the config file.",
        text,
    ),
    Setting(
        "export.mysql.point",
        None,
        "This device's name in the central database (up to 64 characters), so several devices share it. Default: the host name.",
        point_name,
    ),
    Setting(
        "export.mysql.volume",
        {},
        'EnergyMonitor VolumeData points: Point = "channel", or Point = { channels = ["l1", "l2"], supply = "import" }. supply = "import": SupplyWh is energy drawn from the grid (positive power), UsageWh energy sent to it; "export" swaps them. Default: one point per current channel, named "<point>-<channel>", supply = "import".',
        volume_points,
    ),
    Setting(
        "export.mysql.interval_seconds",
        60.0,
        "Seconds between exports while the server answers (a minute closes once a minute).",
        number(1.0, 86_400.0),
    ),
    Setting(
        "export.mysql.batch_rows",
        1000,
        "Rows per MySQL transaction while catching up; memory stays bounded by this.",
        number(1, 100_000, integer=True),
    ),
    Setting(
        "export.mysql.connect_timeout_seconds",
        10.0,
        "Give up connecting after this long.",
        number(0.1, 600.0),
    ),
    Setting(
        "export.mysql.read_timeout_seconds",
        30.0,
        "Give up waiting for the server's answer after this long.",
        number(0.1, 3600.0),
    ),
    Setting(
        "export.mysql.write_timeout_seconds",
        30.0,
        "Give up sending to the server after this long.",
        number(0.1, 3600.0),
    ),
    Setting(
        "export.mysql.retry_max_seconds",
        300.0,
        "Longest wait between retries after failures (the wait doubles from 2 s, with jitter).",
        number(1.0, 86_400.0),
    ),
    Setting("log.level", "info", "Log level: debug, info, warning or error.", log_level),
]

CHANNEL_SETTINGS: list[Setting] = [
    Setting(
        "name",
        None,
        "Unique name, used in the database, the API and the dashboard (letters, digits, _ and -).",
        text,
    ),
    Setting("adc_channel", None, "ADC input, 0 to 7.", number(0, 7, integer=True)),
    Setting(
        "kind",
        None,
        '"voltage" (an AC-AC adapter) or "current" (a CT clamp).',
        choice("voltage", "current"),
    ),
    Setting(
        "scale",
        None,
        "Volts (voltage) or amps (current) per ADC count, after the DC offset is removed.",
        positive,
    ),
    Setting(
        "cs",
        0,
        "SPI chip select of the chip this input is on: 0 (CE0) or 1 (CE1, a second chip).",
        number(0, 1, integer=True),
    ),
    Setting(
        "voltage",
        None,
        "Current channels: the voltage to multiply with: a voltage channel's name, fixed volts (a number), or another device's state API and its voltage channel, \"http://HOST:8070/api/v1/state#CHANNEL\" (remote voltage; mains.voltage while it is stale). Default: the only voltage channel, else mains.voltage.",
        lambda value: value,
    ),  # checked with the other channels
    Setting(
        "phase_deg",
        0.0,
        "Current channels: degrees by which the CT's output leads the current it measures; removed before computing power.",
        number(-45.0, 45.0),
    ),
    Setting("invert", False, "Flip the sign: a CT clamped on backwards.", boolean),
]

REQUIRED_CHANNEL_KEYS = ("name", "adc_channel", "kind", "scale")

# What runs when no file is given: the original CorcyPower wiring, one CT on channel 0 at
# 0.27 A per count and a fixed 237 V.
DEFAULT_CHANNELS = [
    {"name": "main", "adc_channel": 0, "kind": "current", "scale": 0.27, "voltage": 237.0}
]

SETTING_BY_NAME = {s.name: s for s in SETTINGS}
CHANNEL_SETTING_BY_NAME = {s.name: s for s in CHANNEL_SETTINGS}
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


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
    # another device's voltage (then `voltage` is the nominal one used while it is stale)
    remote_voltage: RemoteVoltage | None = None

    @property
    def unit(self) -> str:
        return "V" if self.kind == "voltage" else "A"


class Config:
    """Validated settings: `config["adc.chip"]`, plus the list of channels."""

    def __init__(self, values: dict[str, Any], channels: list[Channel], source: Path | None):
        self.values = values
        self.channels = channels
        self.source = source

    def __getitem__(self, name: str) -> Any:
        return self.values[name]

    @property
    def chip_model(self) -> str:
        """The chip's wire format: the real chip, or the one the emulator behaves as."""
        chip = self["adc.chip"]
        return self["emulator.chip"] if chip == "emulated" else chip

    @property
    def spi_clock_hz(self) -> int:
        return self["adc.spi_clock_hz"] or CHIP_CLOCK_HZ[self.chip_model]

    @property
    def db_path(self) -> Path:
        return Path(self["store.path"]).expanduser()

    def channel(self, name: str) -> Channel:
        return next(c for c in self.channels if c.name == name)

    def chip_selects(self) -> list[int]:
        return sorted({c.cs for c in self.channels})


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
        data = tomllib.loads(source.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{source}: no such config file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{source}: cannot read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from None
    return from_dict(data, source)


def from_dict(data: dict[str, Any], source: Path | None = None) -> Config:
    """Validate parsed TOML; `source` is only used to name the file in errors."""
    where = str(source) if source else "<settings>"
    data = dict(data)
    raw_channels = data.pop("channels", None)
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
            raise ConfigError(f"{where}: {_show_key(name)} = {_show(value)}: {exc}") from None
    channels = _channels(
        raw_channels if raw_channels is not None else DEFAULT_CHANNELS, values, where
    )
    config = Config(values, channels, source)
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
    return f"[{section}] {key}" if section else key


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if not isinstance(value, str) else f'"{value}"'


def _suggest(name: str, known) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    if close:
        return f" (did you mean {_show_key(close[0])}?)"
    return "; known keys: " + ", ".join(_show_key(k) for k in known)


def _channels(raw: Any, values: dict[str, Any], where: str) -> list[Channel]:
    if not isinstance(raw, list) or not raw:
        raise ConfigError(f"{where}: channels: expected one or more [[channels]] tables")
    if len(raw) > 16:
        raise ConfigError(f"{where}: {len(raw)} [[channels]]: at most 16 (two chips of 8)")
    parsed: list[dict[str, Any]] = []
    for i, table in enumerate(raw, start=1):
        label = f"[[channels]] #{i}"
        if not isinstance(table, dict):
            raise ConfigError(f"{where}: {label}: expected a table")
        if isinstance(table.get("name"), str):
            label += f' ("{table["name"]}")'
        entry = {s.name: s.default for s in CHANNEL_SETTINGS}
        for key, value in table.items():
            setting = CHANNEL_SETTING_BY_NAME.get(key)
            if setting is None:
                raise ConfigError(
                    f"{where}: {label}: unknown key {key}{_suggest(key, CHANNEL_SETTING_BY_NAME)}"
                )
            try:
                entry[key] = setting.check(value)
            except Invalid as exc:
                raise ConfigError(f"{where}: {label}.{key} = {_show(value)}: {exc}") from None
        for key in REQUIRED_CHANNEL_KEYS:
            if key not in table:
                raise ConfigError(
                    f"{where}: {label}: missing key {key} ({CHANNEL_SETTING_BY_NAME[key].help})"
                )
        if not NAME_PATTERN.match(entry["name"]):
            raise ConfigError(
                f'{where}: {label}.name = "{entry["name"]}": expected 1 to 64 letters, digits, _ or -'
            )
        parsed.append(entry | {"_label": label})

    _check_unique(parsed, where)
    voltage_channels = {e["name"]: e for e in parsed if e["kind"] == "voltage"}
    channels = []
    for entry in parsed:
        label = entry.pop("_label")
        entry["voltage"] = _voltage(entry, voltage_channels, values, where, label)
        if isinstance(entry["voltage"], RemoteVoltage):
            entry["remote_voltage"], entry["voltage"] = entry["voltage"], values["mains.voltage"]
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
            f"{where}: {label}.voltage = {_show(value)}: expected a voltage channel's name or volts"
        )
    if isinstance(value, int | float):
        if not 1 <= value <= 1000:
            raise ConfigError(f"{where}: {label}.voltage = {value}: expected volts from 1 to 1000")
        return float(value)
    if not isinstance(value, str):
        raise ConfigError(
            f"{where}: {label}.voltage = {_show(value)}: expected a voltage channel's name or volts"
        )
    if remote_address.is_url(value):
        try:
            return remote_address.parse(value)
        except ValueError as exc:
            raise ConfigError(f'{where}: {label}.voltage = "{value}": {exc}') from None
    if value not in voltage_channels:
        known = ", ".join(f'"{n}"' for n in voltage_channels) or "none configured"
        raise ConfigError(
            f'{where}: {label}.voltage = "{value}": expected the name of a voltage channel ({known}) or a number of volts'
        )
    if voltage_channels[value]["cs"] != entry["cs"]:
        raise ConfigError(
            f'{where}: {label}.voltage = "{value}": that voltage channel is on chip select '
            f"{voltage_channels[value]['cs']}, this current channel on {entry['cs']}; a current and "
            "its voltage must be on the same chip to be sampled together"
        )
    return value


FRAME_BITS = 24
MIN_GAP_S = 2e-6  # chip-select high time plus the controller's gap between transfers


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


def markdown() -> str:
    """The settings reference (docs/settings.md is this text; a test keeps them equal)."""
    lines = [
        "# Settings",
        "",
        "Generated from `corcypower/settings.py` by `corcypower settings`. Every key is optional;",
        "unknown keys are errors. The file is found by `--config`, else `$CORCYPOWER_CONFIG`,",
        "else `/etc/corcypower/config.toml`; with none, the defaults below apply.",
        "",
    ]
    section = None
    for s in SETTINGS:
        sec, _, key = s.name.rpartition(".")
        if sec != section:
            lines += ["", f"## [{sec}]", "", "| key | default | meaning |", "|---|---|---|"]
            section = sec
        lines.append(f"| `{key}` | {_doc_default(s)} | {s.help} |")
    lines += [
        "",
        "## [[channels]]",
        "",
        "One table per ADC input. `name`, `adc_channel`, `kind` and `scale` are required. With no",
        "`[[channels]]` at all, the original CorcyPower wiring applies: one CT named `main` on",
        "channel 0, 0.27 A per count, a fixed 237 V.",
        "",
        "| key | default | meaning |",
        "|---|---|---|",
    ]
    for s in CHANNEL_SETTINGS:
        default = "required" if s.name in REQUIRED_CHANNEL_KEYS else _doc_default(s)
        lines.append(f"| `{s.name}` | {default} | {s.help} |")
    return "\n".join(lines) + "\n"


def _doc_default(s: Setting) -> str:
    if s.default is None:
        return "(see meaning)"
    if isinstance(s.default, str):
        return f'`"{s.default}"`'
    if isinstance(s.default, bool):
        return "`true`" if s.default else "`false`"
    if s.default == {}:
        return "`{}`"
    return f"`{s.default}`"
