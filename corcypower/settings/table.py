"""The table of settings: (name, default, help, check) for every key, and for [[channels]].

Defaults, validation (config.py) and the docs (docs.py, docs/settings.md) all come from here.
The [mqtt] section has its own module (mqtt_table.py), listed here in its place, and so do the
settings of alerts ([notify.*] and [[alerts]], alerting.py).
"""

from __future__ import annotations

from corcypower.settings.alerting import NOTIFY_SETTINGS
from corcypower.settings.checks import (
    boolean,
    choice,
    circuit_table,
    device_urls,
    fuse_rating,
    host_names,
    http_url,
    int_list,
    log_level,
    name_list,
    number,
    origins,
    point_name,
    tariff_periods,
    text,
    time_zone,
    volume_points,
)
from corcypower.settings.mqtt_table import MQTT_SETTINGS
from corcypower.settings.phases import PHASES
from corcypower.settings.setting import Setting

# The SPI clock each chip is specified for at 3.3 V (datasheets, "fCLK" at VDD = 2.7 V).
CHIP_CLOCK_HZ = {"mcp3008": 1_350_000, "mcp3208": 1_000_000}
CHIPS = ("mcp3008", "mcp3208", "emulated")

# What a real installation can have. Volts: up to the IEC "low voltage" limit, 1000 V AC,
# under which CorcyPower measures (through an AC-AC adapter). A scale (volts or amps per
# count) from a milliamp sensor on an MCP3208 to a 5000 A CT on an MCP3008, with room on
# both sides: 1e-6 to 100 per count (100 A per count is 51 kA at full scale).
VOLTS = (1.0, 1000.0)
SCALE = (1e-6, 100.0)


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
        None,
        "Samples per second of each channel (a scan reads every channel of a chip once). Default: 8000, or as many as the SPI bus carries for every channel (24 SPI clocks and ~12 µs a conversion): 6900 for 4 channels, 3400 for 8, 1700 for 16 on an MCP3208. Chosen by measurement: see docs/measurement.md.",
        number(200, 20_000),
    ),
    Setting(
        "adc.batch_seconds",
        0.5,
        "Length of a batch, the unit of analysis and storage; batches end on whole mains cycles, so they last this long within a cycle.",
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
        number(*VOLTS),
    ),
    Setting(
        "mains.fuse_amps",
        0,
        "Rating of the main fuse or breaker on each phase, in amps (e.g. 25, 63; 100 or 200 for a North American service): the dashboard's phase balance shows each phase's current against it. 0: not set.",
        fuse_rating,
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
        None,
        'The chip the emulator behaves as when adc.chip = "emulated": "mcp3008" or "mcp3208". Default: the capture\'s own chip when emulator.source is a capture file, else mcp3208.',
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
        "api.allowed_hosts",
        [],
        'Host names other devices use to reach the state API besides this machine\'s own (its host name, NAME.local, localhost) and IP addresses, which always work, e.g. ["house-pi.lan"]. A request naming another host gets 421, so that no web page can read the API by pointing its own name at this machine (DNS rebinding). "*" allows any name.',
        host_names,
    ),
    Setting(
        "api.max_connections",
        512,
        "Connections the state API holds open at most (each needs an open file: LimitNOFILE). At the cap, the one that has waited longest without sending a whole request is closed to make room; when all are in a request, a new one gets 503.",
        number(8, 10_000, integer=True),
    ),
    Setting(
        "api.timeout_seconds",
        10.0,
        "Seconds a client of the state API has to send a request (from connecting, or from the previous answer on a kept-alive connection), and to take each answer; a slower one is disconnected.",
        number(1.0, 300.0),
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
        "dashboard.solar_channels",
        [],
        "Current channels measuring solar panels (production is their negative power, as export is for the grid): solar production, self-consumption and self-sufficiency. Current channels in neither list are circuits: the energy bars stack them, plus what no circuit measures (untracked).",
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
        "dashboard.devices",
        [],
        'Other CorcyPower devices of the house, by their state API, e.g. ["http://garage-pi:8070"] (http only, at most 16): the house view shows their channels live and their history (/api/v1/history), beside this device\'s. A device that does not answer is shown offline, never as 0 W. See docs/dashboard.md#the-house-view.',
        device_urls,
    ),
    Setting(
        "dashboard.central_mysql",
        False,
        "The house view's history read from the central database of [export.mysql] (read-only; a user with SELECT is enough), for every device exporting there, instead of from each device's history API.",
        boolean,
    ),
    Setting(
        "tariff.price_per_kwh",
        0.0,
        "Price of a kWh drawn from the grid, whenever no time-of-use period (tariff.periods) applies. With every price and the standing charge 0, costs are not shown.",
        number(0.0, 1000.0),
    ),
    Setting(
        "tariff.export_price_per_kwh",
        0.0,
        "What a kWh sent to the grid earns (feed-in tariff): a credit, subtracted from the cost.",
        number(0.0, 1000.0),
    ),
    Setting(
        "tariff.currency",
        "EUR",
        'Currency shown with costs, e.g. "EUR", "GBP", "USD".',
        text,
    ),
    Setting(
        "tariff.standing_charge_per_day",
        0.0,
        "Fixed charge per local day, whatever the energy (each day of a period up to today).",
        number(0.0, 1000.0),
    ),
    Setting(
        "tariff.periods",
        [],
        'Time-of-use prices, as [[tariff.periods]] tables: name, price_per_kwh, start and end ("HH:MM", local; end before start crosses midnight), days (["mon", …, "sun"], "weekdays", "weekend" or "all"; default all). A minute takes the first period that holds it, else price_per_kwh. See docs/energy.md.',
        tariff_periods,
    ),
    Setting(
        "tariff.timezone",
        None,
        "Time zone of the tariff's periods and days, and of the energy bars, e.g. \"Europe/London\". Default: dashboard.timezone, else the machine's.",
        time_zone,
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
    *MQTT_SETTINGS,
    Setting("log.level", "info", "Log level: debug, info, warning or error.", log_level),
    *NOTIFY_SETTINGS,
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
        number(*SCALE),
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
        'Current channels: the voltage to multiply with: a voltage channel\'s name, fixed volts (a number), or another device\'s state API and its voltage channel, "http://HOST:8070/api/v1/state#CHANNEL" (remote voltage; mains.voltage while it is stale). A name may end in @DEGREES, its waveform that much of a cycle later ("l1_v@120": L2 derived from L1); two names are a load between them, the first less the second (["leg1_v", "leg1_v@180"]: 240 V across split-phase legs). See docs/measurement.md. Default: the only voltage channel, else mains.voltage.',
        lambda value: value,
    ),  # checked with the other channels
    Setting(
        "phase_deg",
        0.0,
        "Current channels: degrees by which the CT's output leads the current it measures; removed before computing power.",
        number(-45.0, 45.0),
    ),
    Setting(
        "voltage_shift_deg",
        0.0,
        "Current channels: delay the measured voltage by this many degrees of the mains cycle (at the frequency measured in each batch): one voltage channel serves every phase. Three-phase from L1's adapter: 120 for a CT on L2, 240 on L3; split-phase: 180 on leg 2.",
        number(-360.0, 360.0),
    ),
    Setting(
        "phase",
        None,
        'The supply phase the channel is on: "L1", "L2", "L3" (three-phase) or "leg1", "leg2" (split-phase). The grid channels on each phase add up to its total in the state API (`phases`), MQTT and the sqlite views. Default: none.',
        choice(*PHASES),
    ),
    Setting("invert", False, "Flip the sign: a CT clamped on backwards.", boolean),
    Setting(
        "noise_counts",
        None,
        "The input's noise in ADC counts RMS, removed in quadrature from Vrms and Irms; `corcypower calibrate CHANNEL --noise` measures it. Default: estimated from the signal itself, batch by batch.",
        number(0.0, 100.0),
    ),
]


REQUIRED_CHANNEL_KEYS = ("name", "adc_channel", "kind", "scale")

# What runs when no file is given: the original CorcyPower wiring, one CT on channel 0 at
# 0.27 A per count and a fixed 237 V.
DEFAULT_CHANNELS = [
    {"name": "main", "adc_channel": 0, "kind": "current", "scale": 0.27, "voltage": 237.0}
]

SETTING_BY_NAME = {s.name: s for s in SETTINGS}
CHANNEL_SETTING_BY_NAME = {s.name: s for s in CHANNEL_SETTINGS}
